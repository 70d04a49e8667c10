"""The search index of a release (`search-index.bin`), made from the sorted N-Triples lines of
the union graph that the publish step writes its dumps from.

The server maps this file instead of asking the store for every label of the graph (at 10^6
triples that answer is 281 MB of JSON, past the result cap and the time limit). One pass over
the lines picks the labels, types and countries of every IRI (server/search/tables.py says what
the file holds); the same function reads a release's `kzcn-kg.nt.gz` when a release has no index
file (one published before the file existed).
"""

import gzip
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from server.search import tables
from server.search.tables import INDEXED_PROPERTIES, Fact

_PROPERTIES = frozenset(f"<{p}>".encode() for p in INDEXED_PROPERTIES)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def search_index(union: Iterable[bytes]) -> bytes:
    """The index file of the union graph, from its sorted canonical N-Triples lines
    (`SortedLines`: any iterable of lines will do)."""
    return tables.encode(tables.build(facts(union)))


def facts(lines: Iterable[bytes]) -> Iterator[Fact]:
    """The triples the index keeps."""
    return triples(lines, _PROPERTIES)


def triples(lines: Iterable[bytes], properties: frozenset[bytes]) -> Iterator[Fact]:
    """The triples of IRI subjects with one of `properties` (each as <iri>), out of canonical
    N-Triples lines (one triple per line, IRIs without spaces, the object last)."""
    iris = _Decoded()  # a subject comes on consecutive lines, a type or property on many
    for line in lines:
        subject, prop, rest = line.split(b" ", 2)
        if prop in properties and subject[:1] == b"<":
            term = rest[: rest.rindex(b" .")]
            if term[:1] == b"<":
                yield (iris[subject], iris[prop], iris[term], None, False)
            else:
                yield _literal(iris[subject], iris[prop], term)


class _Decoded(dict[bytes, str]):
    """<iri> → iri, remembered: the few thousand types, properties and countries of a graph
    come back on most lines. Bounded, as subjects are mostly new."""

    def __missing__(self, term: bytes) -> str:
        if len(self) > 100_000:
            self.clear()
        iri = self[term] = term[1:-1].decode()
        return iri


def _literal(subject: str, prop: str, term: bytes) -> Fact:
    close = term.rindex(b'"')  # neither a tag nor a datatype IRI holds a quote
    value = term[1:close].decode()
    if "\\" in value:
        value = _ESCAPE.sub(_unescape, value)
    after = term[close + 1 :]
    lang = after[1:].decode() if after[:1] == b"@" else None
    return (subject, prop, value, lang, True)


def _unescape(match: re.Match[str]) -> str:
    code = match[1] or match[2]
    return chr(int(code, 16)) if code else _ECHAR.get(match[3], match[0])


def from_dump(path: Path) -> tables.Tables:
    """The index tables of a release's gzipped N-Triples dump (for a release without an
    index file)."""
    with gzip.open(path, "rb") as lines:
        return tables.build(facts(lines))
