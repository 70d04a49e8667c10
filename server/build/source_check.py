"""`kzcn-kg check-source`: hold the data against the article it claims to come from.

Every kzcn:mentionText must occur, letter for letter, in one of the paragraphs its node cites
(kzcn:sourceParagraph), and every cited paragraph must exist. This catches a typo in a name, a
wrong paragraph number, or a "fact" the article never states.
"""

from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal

from ..vocab import KZCN
from .validate import qname


@dataclass(frozen=True)
class Mismatch:
    node: str
    message: str

    def __str__(self) -> str:
        return f"{self.node}: {self.message}"


def article_file(path: Path) -> Path:
    """A file is the article; a folder must hold exactly one .txt file."""
    if path.is_dir():
        texts = sorted(path.glob("*.txt"))
        if len(texts) != 1:
            raise FileNotFoundError(
                f"{path}: expected exactly one .txt article, found {len(texts)}"
            )
        return texts[0]
    return path


def paragraphs(text: str) -> list[str]:
    """One paragraph a line; paragraph 1 is the line with the date."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_source(data: Graph, article: str) -> list[Mismatch]:
    paras = paragraphs(article)
    mismatches = []
    for node in sorted(set(data.subjects(KZCN.sourceParagraph, None))):
        cited = [int(p) for p in data.objects(node, KZCN.sourceParagraph) if isinstance(p, Literal)]
        for number in cited:
            if not 1 <= number <= len(paras):
                mismatches.append(
                    Mismatch(
                        qname(node),
                        f"paragraph {number} is out of range (the article has {len(paras)})",
                    )
                )
        texts = [paras[n - 1] for n in cited if 1 <= n <= len(paras)]
        for mention in sorted(data.objects(node, KZCN.mentionText)):
            if not any(str(mention) in text for text in texts):
                mismatches.append(
                    Mismatch(
                        qname(node),
                        f"mention {str(mention)!r} does not occur in paragraph(s) {sorted(cited)}",
                    )
                )
    return mismatches
