"""Step 1 of the build: read ontology/, data/ and shapes/ into graphs.

A syntax error is reported as `file:line: what went wrong`, so that whoever edits the data
can jump straight to it; nothing is published from a tree that does not parse. So is what
rdflib lets through with no more than a logged warning — an IRI that is not one
(`<…/zhejiang university>`) and a literal that is not of its datatype (`"three"^^xsd:integer`)
— since later steps would fail on it, or silently compare it as a string.
"""

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from ..config import Paths
from .validate import qname, silenced

RDF_SUFFIXES = {".ttl": "turtle", ".nt": "nt", ".trig": "trig", ".jsonld": "json-ld"}


class SourceError(Exception):
    """An input file that cannot be read, located by file and line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Sources:
    ontology: Graph
    data: Graph
    shapes: Graph
    files: tuple[Path, ...]
    version: str  # content hash of every input file and example query: the dataset version


def load_sources(paths: Paths) -> Sources:
    groups = {
        name: rdf_files(folder)
        for name, folder in (
            ("ontology", paths.ontology),
            ("data", paths.data),
            ("shapes", paths.shapes),
        )
    }
    for name, files in groups.items():
        if not files:
            raise SourceError(paths.root / name, None, "no RDF files found")
    graphs = {name: parse_files(files) for name, files in groups.items()}
    files = tuple(f for group in groups.values() for f in group)
    # The example queries are published too, so they are part of what the version names.
    hashed = files + tuple(sorted(paths.queries.glob("*.rq")))
    return Sources(**graphs, files=files, version=content_hash(hashed, paths.root))


def rdf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in RDF_SUFFIXES and p.is_file())


def parse_files(files: list[Path]) -> Graph:
    graph = Graph()
    for path in files:
        parse_file(path, graph)
    return graph


def parse_file(path: Path, into: Graph | None = None) -> Graph:
    graph = into if into is not None else Graph()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(
            path, line_of_offset(path.read_bytes(), error.start), "not valid UTF-8"
        ) from error
    parsed = Graph()
    try:
        # rdflib logs an invalid IRI or an ill-typed literal (with a traceback) and goes on;
        # check_terms reports them instead, as errors with file and line.
        with silenced("rdflib.term"):
            parsed.parse(data=text, format=RDF_SUFFIXES[path.suffix], publicID=path.as_uri())
    except Exception as error:  # rdflib raises many types; all mean "this file is broken"
        line = error_line(error)
        raise SourceError(path, line, error_message(error, text, line)) from error
    check_terms(path, text, parsed)
    graph += parsed
    return graph


def check_terms(path: Path, text: str, graph: Graph) -> None:
    """An IRI that is not a valid IRI, or a literal not of its datatype, is an error."""
    terms = {term for triple in graph for term in triple}
    bad = [found for found in map(bad_term, terms) if found is not None]
    if bad:
        message, needles = min(bad)  # one error; the same one every time
        line = line_of(text, *needles)
        raise SourceError(path, line, quoted(message, text, line))


def bad_term(term: object) -> tuple[str, tuple[str, ...]] | None:
    """What is wrong with a term, and how it may be written in the file (to find its line)."""
    if isinstance(term, URIRef):
        try:
            ox.NamedNode(str(term))  # as strict as the publish step, which would fail on it
        except ValueError as error:
            return f"invalid IRI <{term}>: {error}", (str(term), str(term).rsplit("/", 1)[-1])
    elif isinstance(term, Literal) and term.ill_typed:
        datatype = term.datatype
        written = [f'"{term}"^^{form}' for form in (qname(datatype), f"<{datatype}>", "")]
        return f"{str(term)!r} is not a valid {qname(datatype)}", (*written, f'"{term}"')
    return None


def line_of(text: str, *needles: str) -> int | None:
    """The line of the first needle found in the text: where to look for a bad term."""
    for needle in needles:
        offset = text.find(needle)
        if offset >= 0:
            return text.count("\n", 0, offset) + 1
    return None


def error_line(error: Exception) -> int | None:
    """rdflib's Turtle parser knows the line (BadSyntax.lines is 0-based); others say it."""
    lines = getattr(error, "lines", None)
    if isinstance(lines, int):
        return lines + 1
    match = re.search(r"line (\d+)", str(error))
    return int(match.group(1)) if match else None


def error_message(error: Exception, text: str, line: int | None) -> str:
    """The parser's own words without its dump of the buffer, plus the offending line."""
    message = " ".join(str(getattr(error, "message", None) or error).split())
    bad_syntax = re.search(r"Bad syntax \((.*?)\) at \^", message)
    if bad_syntax:
        message = bad_syntax.group(1)
    return quoted(message, text, line)


def quoted(message: str, text: str, line: int | None) -> str:
    """The message followed by the offending line, so that the error can be read alone."""
    lines = text.splitlines()
    if line and 0 < line <= len(lines):
        message += f" — in: {lines[line - 1].strip()[:120]}"
    return message


def line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def content_hash(files: tuple[Path, ...], root: Path) -> str:
    """Names and bytes of every input, in a fixed order: same inputs, same version."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
