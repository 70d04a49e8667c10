"""The example queries of queries/: one `.rq` file each, with a header the pages show.

    # title: Who signed with whom
    # question-en: …
    # question-kk: …
    # shows: …

The build checks every header and copies the files into the release; the server lists and
runs them from there (like Datasette's canned queries)."""

import re
from dataclasses import dataclass
from pathlib import Path

HEADER_FIELDS = ("title", "question-en", "question-kk", "shows")
HEADER_LINE = re.compile(r"#\s*([a-z][a-z0-9-]*)\s*:\s*(.*)")
NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
RELEASE_FOLDER = "queries"


class ExampleError(ValueError):
    """An example query file without a complete header, located by file and line."""


@dataclass(frozen=True)
class Example:
    name: str  # the file name without .rq: the page's address
    title: str
    question_en: str
    question_kk: str
    shows: str
    text: str


def read_header(text: str) -> dict[str, str]:
    """The `# key: value` lines a query starts with, up to the first line that is not one."""
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = HEADER_LINE.fullmatch(line.strip())
        if match is None:
            break
        key, value = match.group(1), match.group(2).strip()
        if key in header:
            raise ExampleError(f"header field {key!r} given twice")
        header[key] = value
    return header


def parse_example(path: Path) -> Example:
    text = path.read_text(encoding="utf-8")
    if not NAME.fullmatch(path.stem):
        raise ExampleError(f"{path}: a query's name is lowercase words joined by hyphens")
    try:
        header = read_header(text)
    except ExampleError as error:
        raise ExampleError(f"{path}: {error}") from None
    missing = [field for field in HEADER_FIELDS if not header.get(field)]
    if missing:
        raise ExampleError(f"{path}:1: the header lacks {', '.join(missing)}")
    return Example(
        path.stem,
        header["title"],
        header["question-en"],
        header["question-kk"],
        header["shows"],
        text,
    )


def load_examples(folder: Path) -> list[Example]:
    """Every example in a folder, by name; none if the folder does not exist."""
    return [parse_example(path) for path in sorted(folder.glob("*.rq"))]
