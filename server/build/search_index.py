"""The search index of a release (`search-index.bin`), made from the sorted N-Triples lines of
the union graph that the publish step writes its dumps from.

The server maps this file instead of asking the store for every label of the graph (at 10^6
triples that answer is 281 MB of JSON, past the result cap and the time limit). One pass over
the lines picks the labels, types and countries of every IRI (server/search/tables.py says what
the file holds); the same function reads a release's `kzcn-kg.nt.gz` when a release has no index
file (one published before the file existed).

The pass itself (`subjects`) is shared by every file computed from the union lines
(server_files.py): the lines are grouped by subject and only the properties a file reads are
kept, as bytes — a term is decoded only by the file that needs it as text.
"""

import gzip
import re
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

from server.search import tables
from server.search.tables import COUNTRY, NAME_PROPERTIES, RDF_TYPE, canonical_tag
from server.search.text import MAX_REMEMBERED

# <property> → the objects of a subject's lines with that property, each as its line has it
# after the property (the term, then " .\n"), in the order of the lines.
Values = dict[bytes, list[bytes]]
# A file's bytes in pieces, to be written one after the other (not joined: a copy of the whole).
Pieces = list[bytes | memoryview]

_TYPE, _COUNTRY = f"<{RDF_TYPE}>".encode(), f"<{COUNTRY}>".encode()
_NAMES = {f"<{p}>".encode(): i for i, p in enumerate(NAME_PROPERTIES)}
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


class SubjectFile(Protocol):
    """A file computed from the union lines one subject at a time."""

    properties: frozenset[bytes]  # the <property> terms whose values it reads

    def add(self, subject: bytes, values: Values) -> None:
        """Each IRI subject once (its IRI without brackets), with the values it has of
        `properties` (maybe none)."""

    def file(self) -> Pieces: ...


def computed(lines: Iterable[bytes], file: SubjectFile) -> bytes:
    """One file, whole."""
    return b"".join(written(lines, file)[0])


def written(lines: Iterable[bytes], *files: SubjectFile) -> list[Pieces]:
    """`files` computed in one pass over sorted canonical N-Triples lines."""
    properties = frozenset().union(*(f.properties for f in files))
    for subject, values in subjects(lines, properties):
        for found in files:
            found.add(subject, values)
    return [found.file() for found in files]


def subjects(
    lines: Iterable[bytes], properties: frozenset[bytes]
) -> Iterator[tuple[bytes, Values]]:
    """Each IRI subject (without its brackets) with its values of `properties`, out of sorted
    canonical N-Triples lines (one triple per line, IRIs without spaces, the object last): a
    subject's lines are adjacent, and so are its lines of one property."""
    current, values, seen, kept = b"", {}, b"", None
    for line in lines:
        subject, prop, rest = line.split(b" ", 2)
        if subject != current:
            if current[:1] == b"<":
                yield current[1:-1], values
            current, values, seen = subject, {}, b""
        if prop != seen:
            seen, kept = prop, values.setdefault(prop, []) if prop in properties else None
        if kept is not None:
            kept.append(rest)
    if current[:1] == b"<":
        yield current[1:-1], values


def term_iri(term: bytes) -> bytes:
    """The IRI of an <iri> term (a line's rest: what follows is not part of it)."""
    return term[1 : term.index(b">")]


def term_literal(term: bytes) -> tuple[bytes, bytes]:
    """The value (UTF-8, unescaped) of a literal term (a line's rest), and what follows its
    closing quote: its language tag or datatype, then " ." and the line's end."""
    head, _, after = term.rpartition(b'"')  # neither a tag nor a datatype IRI holds a quote
    value = head[1:]
    if b"\\" in value:
        value = _ESCAPE.sub(_unescape, value.decode()).encode()
    return value, after


def _unescape(match: re.Match[str]) -> str:
    code = match[1] or match[2]
    return chr(int(code, 16)) if code else _ECHAR.get(match[3], match[0])


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Remembered(dict[K, V]):
    """`compute` of each key, remembered: for what comes back on most subjects (types, tags,
    statuses…). Bounded, as some keys are mostly new."""

    def __init__(self, compute: Callable[[K], V]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: K) -> V:
        if len(self) > MAX_REMEMBERED:
            self.clear()
        value = self[key] = self.compute(key)
        return value


def _tag(after: bytes) -> str | None:
    """The language tag (`canonical_tag`) in what follows a literal's closing quote, if any."""
    tagged = after[:1] == b"@"
    return canonical_tag(after[1 : after.rindex(b" .")].decode()) if tagged else None


class IndexFile:
    """The labels, types and countries of each subject, into the index tables."""

    properties = frozenset((_TYPE, _COUNTRY, *_NAMES))

    def __init__(self) -> None:
        self.builder = tables.Builder()
        self.sets = Remembered(self._set)  # the terms of a set of types or countries → its id
        self.tags = Remembered(_tag)

    def add(self, subject: bytes, values: Values) -> None:
        labels: list[tables.Label] = []
        for prop, terms in values.items():
            index = _NAMES.get(prop)
            if index is not None:
                for term in terms:
                    if term[:1] == b'"':
                        value, after = term_literal(term)
                        labels.append((value, self.tags[after], index))
        types = self.sets[tuple(values.get(_TYPE, ()))]
        countries = self.sets[tuple(values.get(_COUNTRY, ()))]
        self.builder.add(subject, types, countries, labels)

    def _set(self, terms: tuple[bytes, ...]) -> int:
        return self.builder.set(term_iri(term) for term in terms if term[:1] == b"<")

    def file(self) -> Pieces:
        return tables.pieces(self.builder.tables())


def search_index(union: Iterable[bytes]) -> bytes:
    """The index file of the union graph, from its sorted canonical N-Triples lines
    (`SortedLines`: any iterable of lines will do)."""
    return computed(union, IndexFile())


def from_dump(path: Path) -> tables.Tables:
    """The index tables of a release's gzipped N-Triples dump (for a release without an
    index file)."""
    index = IndexFile()
    with gzip.open(path, "rb") as lines:
        for subject, values in subjects(lines, index.properties):
            index.add(subject, values)
    return index.builder.tables()
