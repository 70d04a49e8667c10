"""The release's formats written from sorted canonical N-Triples lines (lines.py): N-Quads,
Turtle, TriG and JSON-LD. Each is written piece by piece, so memory does not grow with the
graph, and from the bytes of the lines rather than parsed terms (several times faster): every
term is written the one canonical way, so the same lines always give the same bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pyoxigraph as ox
from rdflib.namespace import RDF

from server.build.lines import READ_BUFFER, SortedLines, joined, sort_unique
from server.vocab import GRAPHS, PREFIXES

__all__ = ["by_subject", "json_bytes", "jsonld", "nquads", "trig", "turtle"]

_PREFIX_OF = {namespace.encode(): f"{prefix}:".encode() for prefix, namespace in PREFIXES.items()}
# Conservative PN_LOCAL (ASCII, no escapes): anything else is written as a full <IRI>.
_LOCAL_NAME = re.compile(rb"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_RDF_TYPE = f"<{RDF.type}>".encode()
_INDENT = b"    "
_LINE_WIDTH = 100

K = TypeVar("K")
V = TypeVar("V")


def json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1)
    return (text + "\n").encode("utf-8")


def nquads(named: Mapping[str, SortedLines]) -> Iterator[bytes]:
    """N-Quads graph by graph, in the order of `named` (as TriG), each graph's lines in their
    order, the graph IRI put before each line's final " .": a canonical N-Triples line has no
    other newline (N-Triples escapes it in literals), so whole pieces are rewritten at once.
    A graph added later (the metadata) is appended, not merged into millions of lines."""
    for name, lines in named.items():
        suffix = f" <{GRAPHS[name]}> .\n".encode()
        for block in lines.blocks():
            yield block.replace(b" .\n", suffix)


# --------------------------------------------------------------------------- lines by subject

# Turtle and JSON-LD are written from the bytes of the lines, not from parsed terms: a
# canonical N-Triples line is `subject predicate object .`, the subject and predicate without
# spaces, and each term is written the one canonical way.
Groups = list[tuple[bytes, list[bytes]]]  # (predicate, its objects) in line order


def by_subject(lines: Iterable[bytes]) -> Iterator[tuple[bytes, Groups]]:
    """Each subject (adjacent once sorted) with its predicates in line order, each with its
    objects: terms as the lines write them. One split per line, and no generator per group
    (cheaper than groupby, or than testing whether a line starts as the one before)."""
    subject, predicate = b"", b""  # no line has an empty term
    groups: Groups = []
    objects: list[bytes] = []
    for line in lines:
        s, p, o = line[:-3].split(b" ", 2)
        if s != subject:
            if groups:
                yield subject, groups
            subject, predicate, groups = s, b"", []
        if p != predicate:
            predicate, objects = p, []
            groups.append((p, objects))
        objects.append(o)
    if groups:
        yield subject, groups


class _Memo(dict[K, V]):
    """`compute` of a term, remembered: predicates, classes and linked things recur on many
    lines. A dict lookup costs less than lru_cache's bookkeeping; past `size` entries all are
    forgotten at once (memory stays bounded; the frequent terms come straight back)."""

    def __init__(self, compute: Callable[[K], V], size: int = 1 << 16) -> None:
        super().__init__()
        self.compute = compute
        self.size = size

    def __missing__(self, key: K) -> V:
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.compute(key)
        return value


def _pname(iri: bytes) -> bytes | None:
    """`prefix:local` for an IRI in a PREFIXES namespace with a plain local name. Cut at the
    last '#' or '/', the way PREFIXES are cut (metadata.split_iri)."""
    cut = max(iri.rfind(b"#"), iri.rfind(b"/")) + 1
    prefix = _PREFIX_OF.get(iri[:cut])
    if prefix is None or _LOCAL_NAME.fullmatch(iri, cut) is None:
        return None
    return prefix + iri[cut:]


# --------------------------------------------------------------------------- Turtle / TriG


def _ttl_closed(term: bytes) -> bytes:
    """A term ending in '>' (an <IRI> or "lexical"^^<datatype>; no '^' in an IRI) as Turtle:
    IRIs as prefixed names where possible."""
    if term[0] == 0x3C:  # "<"
        return _pname(term[1:-1]) or term
    lexical, _, datatype = term.rpartition(b"^^")
    return lexical + b"^^" + _TTL_CLOSED[datatype]


# Other terms (blank nodes, language-tagged and plain literals) are canonical Turtle as written.
_TTL_CLOSED = _Memo(_ttl_closed)
# A predicate as a verb, with the space after it.
_VERBS = _Memo(lambda predicate: b"a " if predicate == _RDF_TYPE else _TTL_CLOSED[predicate] + b" ")


@dataclass(frozen=True)
class _Layout:
    """Where a subject block starts (Turtle: column 0; TriG: inside a graph's braces)."""

    indent: bytes

    @cached_property
    def width(self) -> int:  # what a predicate's line may hold after the indent
        return _LINE_WIDTH - len(self.indent) - len(_INDENT)

    @cached_property
    def next_predicate(self) -> bytes:
        return b" ;\n" + self.indent + _INDENT

    @cached_property
    def next_object(self) -> bytes:  # when a predicate's objects are too wide for one line
        return b",\n" + self.indent + _INDENT * 2

    @cached_property
    def types(self) -> _Memo[tuple[bytes, ...], bytes]:
        """A subject's `a` and its classes: the same few sets of classes recur."""
        return _Memo(lambda classes: self.part(_RDF_TYPE, classes))

    def part(self, predicate: bytes, terms: Iterable[bytes]) -> bytes:
        """A predicate and its objects, on one line unless that would pass _LINE_WIDTH
        characters, then one per line."""
        objects = [_TTL_CLOSED[term] if term[-1] == 0x3E else term for term in terms]  # ">"
        verb, width = _VERBS[predicate], self.width
        part = verb + b", ".join(objects)
        # UTF-8 has 1 to 4 bytes a character: decode only a part that may be too wide.
        if len(part) > width and (len(part) > 4 * width or len(part.decode()) > width):
            return verb + self.next_object.join(objects)
        return part


def _subject_block(subject: bytes, groups: Groups, layout: _Layout) -> bytes:
    """One subject's predicates in line order, but rdf:type first (as `a`)."""
    closed, verbs = _TTL_CLOSED, _VERBS
    parts: list[bytes] = []
    for predicate, terms in groups:
        if predicate == _RDF_TYPE:  # one group per predicate: lines are sorted
            parts.insert(0, layout.types[tuple(terms)])
        elif len(terms) == 1:
            term = terms[0]
            parts.append(verbs[predicate] + (closed[term] if term[-1] == 0x3E else term))
        else:
            parts.append(layout.part(predicate, terms))
    if subject[0] == 0x3C:  # an IRI; a blank node is written as it is
        subject = _pname(subject[1:-1]) or subject
    body = layout.next_predicate.join(parts)
    return b"".join((layout.indent, subject, b" ", body, b" .\n"))


def _turtle_body(lines: Iterable[bytes], layout: _Layout) -> Iterator[bytes]:
    """Subjects in line order, a blank line between two, in pieces of about READ_BUFFER."""
    blocks: list[bytes] = []
    held = 0
    for subject, groups in by_subject(lines):
        block = _subject_block(subject, groups, layout)
        blocks.append(block)
        held += len(block)
        if held >= READ_BUFFER:
            yield b"\n".join(blocks)
            blocks, held = [b""], 0  # the next piece starts with the blank line
    if blocks and blocks != [b""]:
        yield b"\n".join(blocks)


_TURTLE, _TRIG = _Layout(b""), _Layout(_INDENT)


def _prefix_header() -> bytes:
    return ("".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n").encode()


def turtle(lines: Iterable[bytes]) -> Iterator[bytes]:
    yield _prefix_header()
    yield from _turtle_body(lines, _TURTLE)


def trig(named: Mapping[str, SortedLines]) -> Iterator[bytes]:
    yield _prefix_header()
    for index, (name, lines) in enumerate(named.items()):
        yield from trig_graph(name, lines, first=index == 0)


def trig_graph(name: str, lines: Iterable[bytes], first: bool = False) -> Iterator[bytes]:
    """One graph's block of a TriG document (`trig`): a document may be written a graph at a
    time."""
    yield (f"<{GRAPHS[name]}> {{\n" if first else f"\n<{GRAPHS[name]}> {{\n").encode()
    yield from _turtle_body(lines, _TRIG)
    yield b"}\n"


# --------------------------------------------------------------------------- JSON-LD

# JSON-LD is written from the bytes of the lines too, as Turtle is; a literal's lexical form
# is its line text unless that holds an N-Triples escape, then the line is parsed. Each node
# is the text json.dumps(node, sort_keys=True, ensure_ascii=False, indent=1) would write at
# its place in the document, written here directly: json's indenting encoder is pure Python,
# and going through dicts cost twice as much as this. Nodes are sorted as lines
# "@id TAB node", so a node's newlines travel as _NL (no raw control character is left in
# JSON text).
_NL = b"\x01"
_VALUE_END = _NL + b"    }"
_QUOTE_END = b'"' + _VALUE_END
_JSON_SPECIAL = re.compile(rb'[\x00-\x1f"\\]')


def _json_text(raw: bytes) -> bytes:
    """The JSON string of UTF-8 text, as json.dumps(ensure_ascii=False) writes it."""
    if _JSON_SPECIAL.search(raw) is None:
        return b'"' + raw + b'"'
    return _json_string(raw.decode("utf-8")).encode("utf-8")


def _jsonld_id(term: bytes) -> bytes:
    """An <IRI> or blank node of a line as a JSON-LD @id: a prefixed name where possible."""
    if term[0] == 0x3C:
        return _pname(term[1:-1]) or term[1:-1]
    return term  # _:label, as written


# A value in a node's list is (sort key, JSON text). The key orders values as sorting their
# sorted items would: ("@id", id) < ("@language", tag, lexical) < ("@type", datatype,
# lexical) < ("@value", lexical). A NUL ends the tag or datatype (which hold none; a '"'
# would not do: '!' may end an IRI), and a '"' opens the lexical form, as in the line.
Value = tuple[bytes, bytes]


def _reference(term: bytes) -> Value:
    node_id = _jsonld_id(term)
    return b"0" + node_id, b"{" + _NL + b'     "@id": ' + _json_text(node_id) + _VALUE_END


def _class(term: bytes) -> tuple[bytes, bytes]:
    """A class of a node: its @id, and that as JSON."""
    class_id = _jsonld_id(term)
    return class_id, _json_text(class_id)


def _types(terms: tuple[bytes, ...]) -> tuple[tuple[bytes, bytes] | None, list[bytes]]:
    """A node's rdf:type objects as its "@type" member (IRIs), and those that are literals."""
    literals = [term for term in terms if term[0] != 0x3C]  # "<"
    if not (classes := sorted([_CLASSES[term] for term in terms if term[0] == 0x3C])):
        return None, literals
    types = _LIST_SEPARATOR.join([class_json for _, class_json in classes])
    return (b"@type", b'   "@type": ' + _LIST_START + types + _LIST_END), literals


def _literal_head(suffix: bytes) -> Value:
    """What a literal's sort key and JSON text begin with, up to its opening quote, from what
    follows its closing quote: nothing (canonical N-Triples writes xsd:string literals without
    a datatype), @tag or ^^<datatype>."""
    if not suffix:
        return b"3", b"{" + _NL + b'     "@value": '
    if suffix[0] == 0x40:  # "@"
        name, tag = b"@language", suffix[1:]
        key = b"1" + tag
    else:
        name, tag = b"@type", _jsonld_id(suffix[2:])
        key = b"2" + tag
    head = b"{" + _NL + b'     "' + name + b'": ' + _json_text(tag) + b"," + _NL
    return key + b"\x00", head + b'     "@value": '


_CLASSES = _Memo(_class)
_TYPES = _Memo(_types)  # the same few sets of classes recur
_LITERAL_HEADS = _Memo(_literal_head)


def _value(term: bytes) -> Value:
    """An object of a line as a value. Canonical N-Triples escapes '"', '\\' and every
    control character, so a lexical form without a backslash is JSON text as it is."""
    if term[0] != 0x22:  # not a literal: no '"' opens an IRI or a blank node
        return _reference(term)
    quoted, _, suffix = term.rpartition(b'"')  # no '"' in a language tag or datatype IRI
    key, head = _LITERAL_HEADS[suffix]
    if b"\\" not in quoted:
        return key + quoted, head + quoted + _QUOTE_END  # quoted: '"' and the lexical form
    lexical = _literal_value(b"<s:> <p:> " + term + b" .\n")
    return key + b'"' + lexical, head + _json_text(lexical) + _VALUE_END


# Linked things recur, and so do literals within a node (rdfs:label and skos:prefLabel).
_VALUES = _Memo(_value)


def _literal_value(line: bytes) -> bytes:
    (quad,) = ox.parse(line, format=ox.RdfFormat.N_TRIPLES, rename_blank_nodes=False)
    return quad.object.value.encode("utf-8")


_LIST_START, _LIST_SEPARATOR, _LIST_END = b"[" + _NL + b"    ", b"," + _NL + b"    ", _NL + b"   ]"


def _property(predicate: bytes) -> tuple[bytes, bytes]:
    """A predicate of a line as a node's member: its name, and the text that opens it."""
    name = _jsonld_id(predicate)
    return name, b"   " + _json_text(name) + b": " + _LIST_START


_PROPERTIES = _Memo(_property)


def _jsonld_node(subject: bytes, groups: Groups) -> bytes:
    """One subject's node as a line "@id TAB node" (every value list sorted, so the document
    depends on content only)."""
    values = _VALUES
    node_id = _jsonld_id(subject)
    members = [(b"@id", b'   "@id": ' + _json_text(node_id))]  # (name, text): sorted by name
    for predicate, objects in groups:
        if predicate == _RDF_TYPE:
            types, objects = _TYPES[tuple(objects)]
            if types:
                members.append(types)
            if not objects:
                continue  # else literals, kept under the property as any other value
        name, opening = _PROPERTIES[predicate]
        if len(objects) == 1:
            text = values[objects[0]][1]
        else:
            text = _LIST_SEPARATOR.join([text for _, text in sorted([values[o] for o in objects])])
        members.append((name, opening + text + _LIST_END))
    members.sort()  # no two members share a name
    body = (b"," + _NL).join([text for _, text in members])
    return b"".join((node_id, b"\t", _NODE_START, body, _NL, b"  }\n"))


_NODE_START = b"," + _NL + b"  {" + _NL  # a comma first: the nodes are joined as they come


def jsonld(lines: SortedLines, workdir: Path) -> Iterator[bytes]:
    """The document json.dumps(indent=1) would write for {"@context", "@graph"}, with nodes
    sorted by @id, written node by node. The lines' order is not the @id order (<…/a-b>
    sorts before <…/a>, but "a" before "a-b"; prefixes sort apart from their namespaces)."""
    nodes = (_jsonld_node(subject, groups) for subject, groups in by_subject(lines))
    sorted_nodes = sort_unique(nodes, workdir, "jsonld")
    head = json_bytes({"@context": dict(PREFIXES)})[: -len(b"\n}\n")]
    yield head + b',\n "@graph": ['
    texts = (line[line.index(b"\t") + 1 : -1] for line in sorted_nodes)
    first = True
    for piece in joined(texts, READ_BUFFER):
        text = piece.replace(_NL, b"\n")
        yield text[1:] if first else text  # no comma before the first node
        first = False
    yield b"]\n}\n" if first else b"\n ]\n}\n"


_json_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses (C)
