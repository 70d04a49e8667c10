"""The release's formats written from sorted canonical N-Triples lines (lines.py): N-Quads,
Turtle, TriG and JSON-LD. Each is written piece by piece, so memory does not grow with the
graph, and from the text of the lines rather than parsed terms (twice as fast); every term is
written the one canonical way, so the same lines always give the same bytes."""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib.namespace import RDF

from server.build.lines import READ_BUFFER, SortedLines, joined, sort_unique
from server.build.metadata import split_iri
from server.vocab import GRAPHS, PREFIXES

__all__ = ["json_bytes", "jsonld", "nquads", "trig", "turtle"]

_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}
# Conservative PN_LOCAL (ASCII, no escapes): anything else is written as a full <IRI>.
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_INDENT = "    "
_LINE_WIDTH = 100


def json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1)
    return (text + "\n").encode("utf-8")


def nquads(named: Mapping[str, SortedLines]) -> Iterator[bytes]:
    """N-Quads by inserting the graph IRI into each canonical N-Triples line. Each graph's
    quads stay sorted (the same suffix on every line), so merging them sorts them all."""
    return heapq.merge(*(_with_graph(lines, name) for name, lines in named.items()))


def _with_graph(lines: Iterable[bytes], name: str) -> Iterator[bytes]:
    suffix = f" <{GRAPHS[name]}> .\n".encode()
    for line in lines:
        yield line[:-3] + suffix


# --------------------------------------------------------------------------- Turtle / TriG


@lru_cache(maxsize=1 << 16)  # predicates, classes and linked things recur on many lines
def _pname(iri: str) -> str | None:
    """`prefix:local` for IRIs in a PREFIXES namespace with a plain local name."""
    namespace, local = split_iri(iri)
    prefix = _PREFIX_OF.get(namespace)
    if prefix is None or not _LOCAL_NAME.fullmatch(local):
        return None
    return f"{prefix}:{local}"


# Turtle and JSON-LD are written from the text of the lines, not from parsed terms (twice as
# fast): a canonical N-Triples line is `subject predicate object .`, the subject and predicate
# without spaces, and each term is written the one canonical way.
Triple = list[str]  # [subject, predicate, object] as written in a line
_RDF_TYPE_TEXT = f"<{RDF.type}>"


def _by_subject(lines: Iterable[bytes]) -> Iterator[tuple[str, Iterator[Triple]]]:
    """Each subject with its triples (adjacent once sorted), whose predicates come grouped.
    Line by line: decoding and splitting blocks of lines instead was slower (the substrings
    of a block with non-Latin text are built scanning for their widest character)."""
    triples = (line[:-3].decode("utf-8").split(" ", 2) for line in lines)
    return groupby(triples, key=itemgetter(0))


@lru_cache(maxsize=1 << 16)
def _ttl_iri(term: str) -> str:
    """An <IRI> of a line as Turtle: a prefixed name where possible."""
    return _pname(term[1:-1]) or term


def _ttl_term(term: str) -> str:
    """A term of a line as Turtle: IRIs and datatypes as prefixed names where possible."""
    if term[0] == "<":
        return _ttl_iri(term)
    if term[-1] == ">":  # "lexical"^^<datatype>; no '^' in an IRI
        lexical, datatype = term.rsplit("^^", 1)
        return f"{lexical}^^{_ttl_iri(datatype)}"
    return term  # blank nodes, language-tagged and plain literals: canonical form


def _subject_block(subject: str, triples: Iterable[Triple], indent: str) -> str:
    """One subject's predicates in line order, but rdf:type first (as `a`)."""
    parts = []
    for predicate, group in groupby(triples, key=itemgetter(1)):
        objects = [_ttl_term(triple[2]) for triple in group]
        verb = "a" if predicate == _RDF_TYPE_TEXT else _ttl_iri(predicate)
        part = f"{verb} {', '.join(objects)}"
        if len(indent) + len(_INDENT) + len(part) > _LINE_WIDTH and len(objects) > 1:
            part = f"{verb} " + f",\n{indent}{_INDENT * 2}".join(objects)
        if verb == "a":  # one group per predicate: lines are sorted
            parts.insert(0, part)
        else:
            parts.append(part)
    body = f" ;\n{indent}{_INDENT}".join(parts)
    return f"{indent}{_ttl_term(subject)} {body} .\n"


def _turtle_body(lines: Iterable[bytes], indent: str = "") -> Iterator[bytes]:
    """Subjects in line order, a blank line between two."""
    for index, (subject, triples) in enumerate(_by_subject(lines)):
        block = _subject_block(subject, triples, indent)
        yield (f"\n{block}" if index else block).encode()


def _prefix_header() -> bytes:
    return ("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n").encode()


def turtle(lines: Iterable[bytes]) -> Iterator[bytes]:
    yield _prefix_header()
    yield from joined(_turtle_body(lines), READ_BUFFER)


def trig(named: Mapping[str, SortedLines]) -> Iterator[bytes]:
    yield _prefix_header()
    for index, (name, lines) in enumerate(named.items()):
        yield (f"\n<{GRAPHS[name]}> {{\n" if index else f"<{GRAPHS[name]}> {{\n").encode()
        yield from joined(_turtle_body(lines, _INDENT), READ_BUFFER)
        yield b"}\n"


# --------------------------------------------------------------------------- JSON-LD


# JSON-LD is written from the text of the lines too, as Turtle is; a literal's lexical form
# is its line text unless that holds an N-Triples escape, then the line is parsed. Each node
# is the text json.dumps(node, sort_keys=True, ensure_ascii=False, indent=1) would write at
# its place in the document, written here directly: json's indenting encoder is pure Python,
# and going through dicts cost twice as much as this.
@lru_cache(maxsize=1 << 16)
def _jsonld_iri(term: str) -> str:
    """An <IRI> or blank node of a line as a JSON-LD @id: a prefixed name where possible."""
    if term[0] == "<":
        return _pname(term[1:-1]) or term[1:-1]
    return term  # _:label, as written


# A value in a node's list, as (sort key, JSON text). The sort key is the value object's
# members sorted by name and flattened, which orders values as sorting their sorted items would.
Value = tuple[tuple[str, ...], str]


@lru_cache(maxsize=1 << 16)  # classes and linked things recur on many lines
def _jsonld_reference(term: str) -> Value:
    iri = _jsonld_iri(term)
    return ("@id", iri), f'{{\n   "@id": {_json_string(iri)}\n  }}'


def _jsonld_value(subject: str, predicate: str, term: str) -> Value:
    if term[0] != '"':
        return _jsonld_reference(term)
    end = term.rindex('"')  # the closing quote: no '"' in a language tag or datatype IRI
    suffix = term[end + 1 :]
    lexical = term[1:end]
    if "\\" in lexical:
        lexical = _literal_value(f"{subject} {predicate} {term} .\n")
    value = _json_string(lexical)
    if not suffix:  # canonical N-Triples writes xsd:string literals without a datatype
        return ("@value", lexical), f'{{\n   "@value": {value}\n  }}'
    if suffix[0] == "@":
        tag = suffix[1:]
        return ("@language", tag, lexical), _tagged_json("@language", tag, value)
    datatype = _jsonld_iri(suffix[2:])
    return ("@type", datatype, lexical), _tagged_json("@type", datatype, value)


def _tagged_json(name: str, tag: str, value: str) -> str:
    return f'{{\n   "{name}": {_json_string(tag)},\n   "@value": {value}\n  }}'


def _literal_value(line: str) -> str:
    (quad,) = ox.parse(line.encode(), format=ox.RdfFormat.N_TRIPLES, rename_blank_nodes=False)
    return quad.object.value


def _jsonld_node(subject: str, triples: Iterable[Triple]) -> tuple[str, str]:
    """One subject's node: its @id, and its JSON (every value list sorted, so the document
    depends on content only)."""
    node_id = _jsonld_iri(subject)
    members = [("@id", f' "@id": {_json_string(node_id)}')]  # (name, text): sorted by name
    for predicate, group in groupby(triples, key=itemgetter(1)):
        objects = [triple[2] for triple in group]
        if predicate == _RDF_TYPE_TEXT:
            if classes := sorted([_jsonld_iri(o) for o in objects if o[0] == "<"]):
                types = _json_list([_json_string(name) for name in classes])
                members.append(("@type", f' "@type": {types}'))
            if not (objects := [o for o in objects if o[0] != "<"]):
                continue  # else literals, kept under the property as any other value
        name, opening = _jsonld_property(predicate)
        values = sorted([_jsonld_value(subject, predicate, o) for o in objects])
        members.append((name, opening + _json_list([text for _, text in values])))
    members.sort()  # no two members share a name
    return node_id, "{\n" + ",\n".join([text for _, text in members]) + "\n}"


@lru_cache(maxsize=1 << 12)
def _jsonld_property(predicate: str) -> tuple[str, str]:
    """A predicate of a line as a node's member: its name, and the text that opens it."""
    name = _jsonld_iri(predicate)
    return name, f" {_json_string(name)}: "


def _json_list(items: list[str]) -> str:
    return "[\n  " + ",\n  ".join(items) + "\n ]"


def jsonld(lines: SortedLines, workdir: Path) -> Iterator[bytes]:
    """The document json.dumps(indent=1) would write for {"@context", "@graph"}, with nodes
    sorted by @id, written node by node. Nodes are sorted as lines "@id TAB node": a node's
    JSON holds no raw control character, so its newlines can travel as \\x01."""
    keyed = (
        _jsonld_node_line(*_jsonld_node(subject, triples))
        for subject, triples in _by_subject(lines)
    )
    head = json_bytes({"@context": dict(PREFIXES)})[: -len(b"\n}\n")]
    yield head + b',\n "@graph": ['
    separator = b"\n  "
    for line in sort_unique(keyed, workdir, "jsonld"):
        yield separator + line.split(b"\t", 1)[1][:-1].replace(b"\x01", b"\n  ")
        separator = b",\n  "
    yield b"]\n}\n" if separator == b"\n  " else b"\n ]\n}\n"


def _jsonld_node_line(node_id: str, text: str) -> bytes:
    return f"{node_id}\t{text.replace(chr(10), chr(1))}\n".encode()


_json_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses (C)
