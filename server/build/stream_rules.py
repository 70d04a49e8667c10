"""Step 2 of the scalable build, streamed: rules.materialize's inferred graph in one pass over
the parsed N-Triples lines, without a rule ever running as a join over the data.

Every rule of rules.RULES on the data, but kzcn-partner, has a single data premise joined with
schema triples (prp-spo1, prp-inv1/2, prp-symp, prp-dom, prp-rng, cax-sco). So:
1. the schema (the triples those rules and rules.SCHEMA_RULES read) is closed apart, in a tiny
   Store, by rules.Closure with SCHEMA_RULES;
2. per predicate (per class for rdf:type), what one statement entails under the one-premise
   rules is compiled once from the closed schema, its subject and object left as slots
   (`Compiler`);
3. every asserted line is read once (big input in parts, one process per core: `read_parts`):
   its conclusions are written to a file, the kzcn:party statements among them (and among the
   asserted ones) to a side file, which GNU sort groups by agreement for the partner rule,
   whose conclusions are closed the same way;
4. GNU sort removes repeats, and a merge with the sorted asserted lines (comm) removes what was
   asserted. The publishing filter of rules.publish_derived applies to what the rules derived,
   not to the kk-Latn label twins (as in rules.add_latin_labels).

A conclusion that is itself a schema triple (`x a owl:Class` through a subclass of owl:Class,
a subproperty of rdfs:subClassOf, …) changes the schema: it is added, and the pass starts again
until the schema holds still — the fixpoint rules.close reaches. A partner conclusion that
would entail a kzcn:party statement (the partner rule feeding itself) is refused.

Lines stay bytes throughout, in the form the parser writes them with the language tags put in
BCP 47 case (lines.with_tag_case), which is how sorted_graph publishes them: the result is the
sorted, distinct lines of the inferred graph, ready to publish.

One known difference with the store: pyoxigraph keeps "+07"^^xsd:positiveInteger as
"7"^^xsd:integer (rules.STORED_AS). A literal of such a datatype that reaches another property
through a subproperty stays here as written, as owlrl (reason.py) keeps it.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import BinaryIO

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import OWL, RDF, RDFS

from ..child_process import python_module, same_code
from ..kazakh import kk_latin
from ..vocab import BASE, KZCN
from .labels import LABEL_PREDICATES, SOURCE_LANG, TARGET_LANG
from .lines import READ_BUFFER, LineFile, count_lines, sort_file, whole_lines, with_tag_case
from .reason import REFLEXIVE_TRIVIA, TRIVIAL_TYPES
from .rules import (
    DERIVED,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    PLAIN_LITERAL,
    SCHEMA_RULES,
    UNSUPPORTED_PREDICATES,
    UNSUPPORTED_TYPES,
    Closure,
    OxConverter,
    TermConverter,
    UnsupportedVocabulary,
    bcp47_case,
    literal_values_refusal,
    unsupported_refusal,
)

Term = bytes  # one N-Triples term: <iri>, _:b or "literal"…
Triple = tuple[Term, Term, Term]
# In a compiled conclusion, the terms of the statement it comes from are slots.
SUBJECT, OBJECT = 0, 1
Slot = int
Pattern = tuple[Slot | Term, Term, Slot | Term]


END = b" .\n"


def iri(term: object) -> Term:
    return f"<{term}>".encode()


TYPE = iri(RDF.type)
PARTY, PARTNER = iri(KZCN.party), iri(KZCN.partner)
SAME_AS, NOTHING = iri(OWL.sameAs), iri(OWL.Nothing)
OURS = iri(BASE)[:-1]  # "<https://w3id.org/kzcn/" : our IRIs start so
SUBCLASS, SUBPROPERTY, DOMAIN, RANGE = (
    iri(RDFS[n]) for n in ("subClassOf", "subPropertyOf", "domain", "range")
)
INVERSE, SYMMETRIC = iri(OWL.inverseOf), iri(OWL.SymmetricProperty)
# What SCHEMA_RULES and the schema premises of the data rules read.
SCHEMA_PREDICATES = frozenset({SUBCLASS, SUBPROPERTY, DOMAIN, RANGE, INVERSE})
SCHEMA_TYPES = frozenset({iri(OWL.Class), SYMMETRIC})
TRIVIA = frozenset(map(iri, REFLEXIVE_TRIVIA))
TRIVIAL = frozenset(map(iri, TRIVIAL_TYPES))
LABELS = frozenset(map(iri, LABEL_PREDICATES))
TWIN_TAG = b"@" + bcp47_case(TARGET_LANG).encode()  # "@kk-Latn", as lines.with_tag_case writes it
XSD_PREFIX = b"<http://www.w3.org/2001/XMLSchema#"
REFUSED_TYPES = frozenset(map(iri, UNSUPPORTED_TYPES)) | {iri(PLAIN_LITERAL)}
REFUSED_PREDICATES = frozenset(map(iri, UNSUPPORTED_PREDICATES))

# How a schema triple shows in a line (`schema_lines` checks that the match is the predicate).
_SCHEMA_MARKS = tuple(b" " + p + b" " for p in sorted(SCHEMA_PREDICATES)) + tuple(
    b" " + TYPE + b" " + t + END for t in sorted(SCHEMA_TYPES)
)
# Conclusions are remembered this long to drop repeats early (most repeats are near: the
# types of one subject); GNU sort removes the rest.
RECENT_LINES = 200_000


def split(line: bytes) -> Triple:
    """The terms of one N-Triples line without its newline (IRIs and blank node labels hold
    no space; the object, last, takes the rest)."""
    subject, predicate, rest = line.split(b" ", 2)
    return subject, predicate, rest[:-2]


def is_literal(term: Term) -> bool:
    return term[:1] == b'"'


# --------------------------------------------------------------------------- the schema


@dataclass
class Schema:
    """The closed schema, as maps from a term to the terms the rules join it with."""

    triples: set[Triple]  # asserted and derived schema triples
    derived: list[Triple]  # the schema rules' conclusions (scm-*), not asserted
    superproperties: dict[Term, set[Term]] = field(default_factory=dict)
    inverses: dict[Term, set[Term]] = field(default_factory=dict)
    symmetric: set[Term] = field(default_factory=set)
    domains: dict[Term, set[Term]] = field(default_factory=dict)
    ranges: dict[Term, set[Term]] = field(default_factory=dict)
    superclasses: dict[Term, set[Term]] = field(default_factory=dict)

    @classmethod
    def closed(cls, asserted: Iterable[Triple]) -> Schema:
        """The closure of `asserted` schema triples under SCHEMA_RULES (run by rules.Closure
        in a Store of their own: a few hundred triples)."""
        given = set(asserted)
        store = ox.Store()
        lines = b"".join(b" ".join(triple) + b" .\n" for triple in given)
        store.load(lines, format=ox.RdfFormat.N_TRIPLES, to_graph=ONTOLOGY_GRAPH)
        Closure(store, [ONTOLOGY_GRAPH]).run(SCHEMA_RULES)
        out = io.BytesIO()
        quads = store.quads_for_pattern(None, None, None, DERIVED)
        ox.serialize(
            (ox.Triple(q.subject, q.predicate, q.object) for q in quads),
            out,
            format=ox.RdfFormat.N_TRIPLES,
        )
        derived = [split(line) for line in with_tag_case(out.getvalue()).splitlines()]
        schema = cls(given | set(derived), [t for t in derived if t not in given])
        for triple in schema.triples:
            schema.index(triple)
        return schema

    def index(self, triple: Triple) -> None:
        subject, predicate, obj = triple
        if predicate == SUBPROPERTY and subject != obj:
            self.superproperties.setdefault(subject, set()).add(obj)
        elif predicate == INVERSE:  # prp-inv1 and prp-inv2: each way
            self.inverses.setdefault(subject, set()).add(obj)
            self.inverses.setdefault(obj, set()).add(subject)
        elif predicate == TYPE and obj == SYMMETRIC:
            self.symmetric.add(subject)
        elif predicate == DOMAIN:
            self.domains.setdefault(subject, set()).add(obj)
        elif predicate == RANGE:
            self.ranges.setdefault(subject, set()).add(obj)
        elif predicate == SUBCLASS and subject != obj:
            self.superclasses.setdefault(subject, set()).add(obj)


def is_schema(triple: Triple) -> bool:
    _, predicate, obj = triple
    return predicate in SCHEMA_PREDICATES or (predicate == TYPE and obj in SCHEMA_TYPES)


def schema_lines(paths: Iterable[Path]) -> Iterator[Triple]:
    """The schema triples among N-Triples files: each mark is searched for in whole blocks
    (bytes.find runs at memory speed; a regular expression over every line did not)."""
    for block in blocks(paths, tag_case=False):
        for mark in _SCHEMA_MARKS:
            found = block.find(mark)
            while found >= 0:
                start = block.rfind(b"\n", 0, found) + 1
                end = block.index(b"\n", found)
                triple = split(with_tag_case(block[start : end + 1])[:-1])
                if is_schema(triple):  # not the text of a literal
                    yield triple
                found = block.find(mark, end)


def blocks(paths: Iterable[Path], *, tag_case: bool = True) -> Iterator[bytes]:
    """Whole lines of files, in blocks of about 16 MB, language tags in BCP 47 case."""
    for path in paths:
        with path.open("rb") as source:
            for block in whole_lines(source, 16 * READ_BUFFER):
                block = block if block.endswith(b"\n") else block + b"\n"
                yield with_tag_case(block) if tag_case else block


# --------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class Entry:
    """What a statement with one predicate (and, where cax-sco looks at them, given terms)
    entails, its subject and object left as slots."""

    # Derived triples the publishing filter may keep, after their subject: the statement's
    # subject, its object, or a constant (kept only if ours). Those that depend on no other
    # term (types, mostly) are apart: they are the same for every statement of that node.
    subject_alone: tuple[Piece, ...]
    from_subject: tuple[Piece, ...]
    object_alone: tuple[Piece, ...]
    from_object: tuple[Piece, ...]
    from_constant: tuple[tuple[Term, Piece], ...]
    parties: tuple[tuple[Slot | Term, Slot | Term], ...]  # kzcn:party: (agreement, party)
    schema: tuple[Pattern, ...]  # schema triples among the statement and its conclusions
    literal_refusals: frozenset[Term]  # symmetric or inverse properties with a literal value
    labels: bool  # a label predicate with a literal: kk values get kk-Latn twins
    needs: frozenset[Slot]  # slots whose value decides cax-sco: compiled per value
    rare: bool  # from_constant, parties, schema or literal_refusals to see to


class Compiler:
    """Entries per predicate, compiled once when first met (see `entry`)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.resource: dict[Term, Entry] = {}  # statements whose object is not a literal
        self.literal: dict[Term, Entry] = {}
        self.specific: dict[tuple[Term, Term | None, Term | None], Entry] = {}

    def entry(self, subject: Term, predicate: Term, obj: Term) -> Entry:
        literal = is_literal(obj)
        table = self.literal if literal else self.resource
        found = table.get(predicate)
        if found is None:
            found = table[predicate] = self.compile(predicate, literal, {})
        if not found.needs:
            return found
        values = {SUBJECT: subject, OBJECT: obj}
        given = {slot: values[slot] for slot in found.needs}
        key = (predicate, given.get(SUBJECT), given.get(OBJECT))
        specific = self.specific.get(key)
        if specific is None:
            specific = self.specific[key] = self.compile(predicate, literal, given)
        return specific

    def compile(self, predicate: Term, literal: bool, values: dict[Slot, Term]) -> Entry:
        start: Pattern = (SUBJECT, predicate, OBJECT)
        reached, needs = self.conclusions(start, literal, values)
        derived = sorted((p for p in reached - {start} if _kept(p)), key=repr)
        symmetric, inverses = self.schema.symmetric, self.schema.inverses
        from_constant = tuple((p[0], _piece(p)) for p in derived if isinstance(p[0], bytes))
        parties = tuple((s, o) for s, p, o in sorted(reached, key=repr) if p == PARTY)
        schema = tuple(p for p in reached if is_schema(p))  # type: ignore[arg-type]
        literal_refusals = frozenset(
            p
            for _, p, o in reached
            if literal and o == OBJECT and (p in symmetric or p in inverses)
        )
        return Entry(
            subject_alone=_alone(derived, SUBJECT, True),
            from_subject=_alone(derived, SUBJECT, False),
            object_alone=_alone(derived, OBJECT, True),
            from_object=_alone(derived, OBJECT, False),
            from_constant=from_constant,
            parties=parties,
            schema=schema,
            literal_refusals=literal_refusals,
            labels=literal and predicate in LABELS,
            needs=frozenset(needs),
            rare=bool(from_constant or parties or schema or literal_refusals),
        )

    def conclusions(
        self, start: Pattern, literal: bool, values: dict[Slot, Term]
    ) -> tuple[set[Pattern], set[Slot]]:
        """Everything the one-premise rules give from `start` (itself included), and the
        slots whose value cax-sco needs and `values` lacks."""
        reached, todo, needs = {start}, [start], set[Slot]()
        while todo:
            for pattern in self.step(todo.pop(), literal, values, needs):
                if pattern not in reached:
                    reached.add(pattern)
                    todo.append(pattern)
        return reached, needs

    def step(
        self, pattern: Pattern, literal: bool, values: dict[Slot, Term], needs: set[Slot]
    ) -> Iterator[Pattern]:
        """prp-spo1, prp-dom, prp-inv1/2, prp-symp, prp-rng and cax-sco on one pattern."""
        schema = self.schema
        subject, predicate, obj = pattern
        yield from ((subject, q, obj) for q in schema.superproperties.get(predicate, ()))
        yield from ((subject, TYPE, c) for c in schema.domains.get(predicate, ()))
        if not (literal and obj == OBJECT) and not (isinstance(obj, bytes) and is_literal(obj)):
            # the rules that make the object a subject (FILTER (!isLiteral(?y)) in rules.py)
            yield from ((obj, q, subject) for q in schema.inverses.get(predicate, ()))
            if predicate in schema.symmetric:
                yield (obj, predicate, subject)
            yield from ((obj, TYPE, c) for c in schema.ranges.get(predicate, ()))
        if predicate == TYPE:
            if isinstance(obj, int) and obj not in values:
                needs.add(obj)
                return
            cls = values[obj] if isinstance(obj, int) else obj
            yield from ((subject, TYPE, c) for c in schema.superclasses.get(cls, ()))


def _kept(pattern: Pattern) -> bool:
    """reason.is_worth_publishing, as far as a pattern tells (subjects in slots are checked
    per line)."""
    subject, predicate, obj = pattern
    if isinstance(subject, bytes) and not subject.startswith(OURS):
        return False
    if predicate in TRIVIA and subject == obj:
        return False
    return not (predicate == TYPE and obj in TRIVIAL)


Piece = tuple[bytes, Slot | None, Slot | Term | None]


def _alone(patterns: Iterable[Pattern], slot: Slot, alone: bool) -> tuple[Piece, ...]:
    """The pieces of the patterns whose subject is `slot` that depend on it alone, or not."""
    pieces = (_piece(p) for p in patterns if p[0] == slot)
    return tuple(p for p in pieces if (p[1] is None and p[2] is None) == alone)


def _piece(pattern: Pattern) -> Piece:
    """How to write a pattern after its subject: the middle of the line, the slot of its
    object (None when the middle ends the line), and what to compare the subject with when
    the triple would be reflexive trivia."""
    _, predicate, obj = pattern
    trivia = obj if predicate in TRIVIA else None
    if isinstance(obj, bytes):
        return b" " + predicate + b" " + obj + b" .\n", None, trivia
    return b" " + predicate + b" ", obj, trivia


# --------------------------------------------------------------------------- streaming


@dataclass
class Inference:
    """The inferred graph as sorted, distinct N-Triples lines, and what it took."""

    lines: LineFile
    asserted: dict[str, LineFile]  # the sorted, distinct lines of each asserted graph
    passes: int = 0  # over the asserted lines: more than one if conclusions grew the schema
    schema_triples: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def inferred(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class Part:
    """A share of the asserted lines, read by one process: a range of bytes of each file
    (graph name, file, start, end), cut after a newline."""

    index: int
    ranges: tuple[tuple[str, Path, int, int], ...]


def parts(parsed: Mapping[str, Path], count: int) -> list[Part]:
    """`parsed` cut into `count` parts of about the same size."""
    cuts: dict[str, list[int]] = {}
    for name, path in parsed.items():
        size = path.stat().st_size
        cuts[name] = [0]
        with path.open("rb") as file:
            for index in range(1, count):
                file.seek(max(size * index // count - 1, cuts[name][-1]))
                file.readline()  # to the end of the line the cut falls in
                cuts[name].append(min(file.tell(), size))
        cuts[name].append(size)
    return [
        Part(
            index,
            tuple((n, path, cuts[n][index], cuts[n][index + 1]) for n, path in parsed.items()),
        )
        for index in range(count)
    ]


@dataclass
class PartRead:
    """What reading a part found besides its files (see Pass.read)."""

    derived: Path  # the conclusions
    parties: Path  # the kzcn:party statements, asserted and derived
    pending: set[Triple]
    refused: set[str]
    literal_refusals: set[Term]


def read_part(schema: Schema, part: Part, workdir: Path) -> PartRead:
    """Pass.read, here or in a process of read_parts."""
    return Pass(schema, workdir, part.index).read(part, workdir)


class Pass:
    """One pass over the asserted lines, under one closed schema, or a part of it."""

    def __init__(self, schema: Schema, workdir: Path, index: int | str) -> None:
        self.schema, self.compiler = schema, Compiler(schema)
        self.derived_path = workdir / f"reason-derived-{index}.unsorted"
        self.parties_path = workdir / f"reason-parties-{index}.unsorted"
        self.out: list[bytes] = []  # lines to write, flushed per block
        self.recent: set[bytes] = set()
        self.written: set[tuple[Term, int]] = set()  # see write_once
        self.pending: set[Triple] = set()  # schema triples the schema lacks
        self.refused: set[str] = set()  # as rules.check_supported names them
        self.literal_refusals: set[Term] = set()
        self.twins: dict[bytes, bytes] = {}  # kk literal → its kk-Latn twin (or b"")
        self.parties: list[bytes] = []  # "agreement party" lines to write

    def read(self, part: Part, workdir: Path) -> PartRead:
        """Conclusions of the part's lines to `derived_path`, their kzcn:party statements to
        `parties_path`; the lines, tags in their case, to the same place of `workdir`/{name}
        .unsorted (with_tag_case keeps lengths)."""
        with (
            self.derived_path.open("wb", buffering=READ_BUFFER) as derived,
            self.parties_path.open("wb", buffering=READ_BUFFER) as parties,
        ):
            for name, path, start, end in part.ranges:
                with path.open("rb") as source, (workdir / f"{name}.unsorted").open("r+b") as out:
                    source.seek(start)
                    out.seek(start)
                    for block in whole_lines(_Range(source, end), 16 * READ_BUFFER):
                        block = with_tag_case(block)
                        out.write(block)
                        for line in block.splitlines():
                            self.asserted(*split(line))
                        self.flush(derived, parties)
        self.note_refusals()
        paths = (self.derived_path, self.parties_path)
        return PartRead(*paths, self.pending, self.refused, self.literal_refusals)

    def finish(self, reads: Sequence[PartRead], workdir: Path) -> None:
        """After every part: the schema rules' conclusions and the partner rule, on all the
        parties found."""
        for read in reads:
            self.pending |= read.pending
            self.literal_refusals |= read.literal_refusals
        refused = {term for read in reads for term in read.refused}
        if refused:
            raise unsupported_refusal(refused)
        with (
            self.derived_path.open("wb", buffering=READ_BUFFER) as derived,
            self.parties_path.open("wb", buffering=READ_BUFFER) as out,
        ):
            for triple in self.schema.derived:
                self.derived(*triple)
            self.flush(derived, out)
            for path in (read.parties for read in reads):
                with path.open("rb") as found:
                    shutil.copyfileobj(found, out)
                path.unlink()
        self.partners(workdir)

    def flush(self, derived: io.BufferedWriter, parties: io.BufferedWriter) -> None:
        derived.writelines(self.out)
        parties.writelines(self.parties)
        self.out, self.parties = [], []

    def asserted(self, subject: Term, predicate: Term, obj: Term) -> None:
        compiler = self.compiler
        entry = (compiler.literal if obj[:1] == b'"' else compiler.resource).get(predicate)
        if entry is None or entry.needs:
            entry = compiler.entry(subject, predicate, obj)
        self.conclude(entry, subject, obj)
        if entry.labels:
            self.twin(subject, predicate, obj)
        if subject == SAME_AS or obj == NOTHING:
            self.refused.add((subject if subject == SAME_AS else obj)[1:-1].decode())
        if predicate == SAME_AS and obj.startswith(OURS):
            self.refused.add(f"owl:sameAs between our own IRIs ({_text(subject)} {_text(obj)})")

    def derived(self, subject: Term, predicate: Term, obj: Term) -> Entry | None:
        """A triple derived by other rules than the compiled ones: it and its conclusions;
        the entry of its predicate."""
        if is_literal(subject):  # owlrl's generalized RDF; the store cannot hold it
            return None
        entry = self.compiler.entry(subject, predicate, obj)
        if _kept((subject, predicate, obj)):
            self.keep(subject + b" " + predicate + b" " + obj + END)
        self.conclude(entry, subject, obj)
        return entry

    def conclude(self, entry: Entry, subject: Term, obj: Term) -> None:
        terms = (subject, obj)
        if subject.startswith(OURS):
            if entry.subject_alone:
                self.write_once(subject, entry.subject_alone)
            if entry.from_subject:
                self.write(subject, entry.from_subject, terms)
        if (entry.object_alone or entry.from_object) and obj.startswith(OURS):
            if entry.object_alone:
                self.write_once(obj, entry.object_alone)
            self.write(obj, entry.from_object, terms)
        if entry.rare:
            self.conclude_rarely(entry, terms)

    def conclude_rarely(self, entry: Entry, terms: tuple[Term, Term]) -> None:
        """What few statements entail: constant subjects, parties, schema, refusals."""
        for constant, piece in entry.from_constant:
            self.write(constant, (piece,), terms)
        for agreement, party in entry.parties:
            self.parties.append(_term(agreement, terms) + b" " + _term(party, terms) + b"\n")
        for pattern in entry.schema:
            triple = (_term(pattern[0], terms), pattern[1], _term(pattern[2], terms))
            if triple not in self.schema.triples and not is_literal(triple[0]):
                self.pending.add(triple)
        self.literal_refusals |= entry.literal_refusals

    def write_once(self, node: Term, pieces: tuple[Piece, ...]) -> None:
        """Pieces that depend on `node` alone: written once per node while remembered."""
        key = (node, id(pieces))  # entries, and so their pieces, live as long as the pass
        if key not in self.written:
            if len(self.written) >= RECENT_LINES:
                self.written.clear()
            self.written.add(key)
            self.write(node, pieces, (node, node))

    def write(self, subject: Term, pieces: Iterable[Piece], terms: tuple[Term, Term]) -> None:
        recent, out = self.recent, self.out
        for middle, obj, trivia in pieces:
            if trivia is not None and _term(trivia, terms) == subject:
                continue
            line = subject + middle + (terms[obj] + END if obj is not None else b"")
            if line not in recent:
                if len(recent) >= RECENT_LINES:
                    recent.clear()
                recent.add(line)
                out.append(line)

    def keep(self, line: bytes) -> None:
        self.write(line, ((b"", None, None),), (b"", b""))

    def twin(self, subject: Term, predicate: Term, obj: Term) -> None:
        """rules.add_latin_labels for one asserted label: not filtered for publishing."""
        quote = obj.rfind(b'"@')
        if obj[quote + 2 :].lower() != SOURCE_LANG.encode():
            return
        twin = self.twins.get(obj)
        if twin is None:
            twin = self.twins[obj] = _latin_twin(subject, predicate, obj, quote)
            if len(self.twins) > RECENT_LINES:
                self.twins.clear()
        if twin:
            self.keep(subject + b" " + predicate + b" " + twin + END)

    def note_refusals(self) -> None:
        """What rules.check_supported refuses among the predicates and classes the lines
        used (each compiled once, when first met)."""
        refused = self.refused
        refused |= {p[1:-1].decode() for p in self.compiler.resource if p in REFUSED_PREDICATES}
        refused |= {p[1:-1].decode() for p in self.compiler.literal if p in REFUSED_PREDICATES}
        refused |= {
            obj[1:-1].decode()
            for predicate, _, obj in self.compiler.specific
            if predicate == TYPE and obj and (obj in REFUSED_TYPES or obj.startswith(XSD_PREFIX))
        }

    def partners(self, workdir: Path) -> None:
        """The kzcn-partner rule over the kzcn:party statements, grouped by agreement by GNU
        sort, and the conclusions of its conclusions."""
        grouped = sort_file(self.parties_path, workdir / "reason-parties.sorted", workdir)
        with self.derived_path.open("ab", buffering=READ_BUFFER) as derived:
            for _, group in groupby(grouped, key=lambda line: line.split(b" ", 1)[0]):
                parties = [line.rstrip(b"\n").split(b" ", 1)[1] for line in group]
                for a in parties:
                    for b in parties:
                        if a != b:
                            self.partner(a, b)
                derived.writelines(self.out)
                self.out = []
        grouped.path.unlink()

    def partner(self, a: Term, b: Term) -> None:
        entry = self.derived(a, PARTNER, b)
        if entry and entry.parties:
            raise UnsupportedVocabulary(
                "kzcn:partner statements entail kzcn:party statements, so the partner rule "
                "feeds itself; build with the reference reasoner (reason.py) instead"
            )


def _term(term: Slot | Term, terms: tuple[Term, Term]) -> Term:
    return terms[term] if isinstance(term, int) else term


def _text(term: Term) -> str:
    """How rules._internal_identity_links names a node: an IRI without its brackets."""
    return term[1:-1].decode() if term[:1] == b"<" else term.decode()


def _latin_twin(subject: Term, predicate: Term, obj: Term, quote: int) -> bytes:
    """The kk-Latn twin literal of a kk one, or b"" if transliteration changes nothing."""
    raw = obj[1:quote]
    if b"\\" in raw:  # escapes: let the parser read them
        line = subject + b" " + predicate + b" " + obj + END
        text = next(ox.parse(line, format=ox.RdfFormat.N_TRIPLES)).object.value
    else:
        text = raw.decode()
    latin = latin_text(text)
    if latin == text:
        return b""
    return str(ox.Literal(latin)).encode() + TWIN_TAG


def latin_text(text: str) -> str:
    """kazakh.kk_latin, a space-separated token at a time: it transliterates each word on its
    own and no word holds a space, so this is the same text; and names share most tokens
    ("университеті"), which are transliterated once (4× faster on generated labels)."""
    return " ".join(map(_latin_token, text.split(" ")))


@functools.lru_cache(maxsize=1 << 16)
def _latin_token(token: str) -> str:
    return kk_latin(token)


# Input beyond this size is read by several processes (one per core, at most MAX_PARTS): the
# rules cost ~10 µs of Python per line, and starting a process ~0.6 s.
PARALLEL_BYTES = 32 << 20
MAX_PARTS = 4


def infer_lines(parsed: Mapping[str, Path], workdir: Path) -> Inference:
    """The inferred graph of the asserted graphs (ontology and data: their N-Triples files by
    name), as rules.materialize would write it, sorted into `workdir`/inferred.sorted; and
    the asserted graphs sorted as well, into `workdir`/{name}.sorted (see Inference)."""
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    given = set(schema_lines(parsed.values()))
    workers = _workers(parsed)

    def one_pass() -> tuple[Pass, list[PartRead]]:
        final = Pass(Schema.closed(given), workdir, "final")
        reads = read_parts(final.schema, parsed, workdir, workers)
        final.finish(reads, workdir)
        return final, reads

    final, reads = one_pass()
    passes = 1
    while final.pending:  # the schema grew: start again
        given |= final.pending
        final, reads = one_pass()
        passes += 1
    if final.literal_refusals:
        raise literal_values_refusal(p[1:-1].decode() for p in final.literal_refusals)
    seconds["rules"] = time.perf_counter() - clock
    clock = time.perf_counter()
    asserted = {
        name: sort_file(workdir / f"{name}.unsorted", workdir / f"{name}.sorted", workdir)
        for name in parsed
    }
    derived = _joined([read.derived for read in reads] + [final.derived_path], workdir)
    derived = sort_file(derived, workdir / "reason-derived.sorted", workdir)
    lines = subtract(derived, list(asserted.values()), workdir / "inferred.sorted")
    derived.path.unlink()
    seconds["sort"] = time.perf_counter() - clock
    return Inference(lines, asserted, passes, len(final.schema.triples), seconds)


def _workers(parsed: Mapping[str, Path]) -> int:
    """How many processes besides this one read the lines: none for small input."""
    size = sum(path.stat().st_size for path in parsed.values())
    cores = min(len(os.sched_getaffinity(0)), MAX_PARTS)
    return cores - 1 if size > PARALLEL_BYTES else 0


def read_parts(
    schema: Schema, parsed: Mapping[str, Path], workdir: Path, workers: int
) -> list[PartRead]:
    """Every line read once, in parts: one here, the others by `workers` processes. Each
    asserted graph's lines go to the same offsets of {name}.unsorted, made to size first."""
    for name, path in parsed.items():
        with (workdir / f"{name}.unsorted").open("wb") as out:
            out.truncate(path.stat().st_size)
    first, *others = parts(parsed, 1 + workers)
    started = [_start(schema, part, workdir) for part in others]
    try:
        return [read_part(schema, first, workdir), *(_finished(*run) for run in started)]
    finally:
        for process, _ in started:  # all stopped, whatever failed
            process.kill()
            process.wait()


def _start(schema: Schema, part: Part, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """`read_part` in a new Python process (`python -m` this module: unlike multiprocessing's
    spawn, it never runs the caller's main script again, and unlike fork it shares nothing
    with the threads of the build's store)."""
    job = workdir / f"reason-part-{part.index}.pickle"
    job.write_bytes(pickle.dumps((schema, part, workdir)))
    command = python_module(__name__, str(job))
    with job.with_suffix(".log").open("wb") as log:  # a file: a pipe could fill and block
        return subprocess.Popen(command, stderr=log, env=same_code()), job


def _finished(process: subprocess.Popen[bytes], job: Path) -> PartRead:
    process.wait()
    log, result = job.with_suffix(".log"), job.with_suffix(".result")
    error = log.read_text(errors="replace")
    job.unlink()
    log.unlink()
    if process.returncode != 0:
        raise RuntimeError(f"a reasoning process failed:\n{error}")
    read = pickle.loads(result.read_bytes())
    result.unlink()
    return read


def _work(job: Path) -> None:
    """A process started by `_start`: read the part, leave the PartRead next to the job."""
    schema, part, workdir = pickle.loads(job.read_bytes())
    job.with_suffix(".result").write_bytes(pickle.dumps(read_part(schema, part, workdir)))


def _joined(paths: Sequence[Path], workdir: Path) -> Path:
    """The files, one after the other, in one file (and removed)."""
    target = workdir / "reason-derived.unsorted"
    with target.open("wb") as out:
        for path in paths:
            with path.open("rb") as part:
                shutil.copyfileobj(part, out)
            path.unlink()
    return target


class _Range:
    """A file read from where it stands up to `end`."""

    def __init__(self, file: BinaryIO, end: int) -> None:
        self.file, self.end = file, end

    def read(self, size: int) -> bytes:
        return self.file.read(max(0, min(size, self.end - self.file.tell())))


def subtract(lines: LineFile, removed: Sequence[LineFile], target: Path) -> LineFile:
    """The lines of `lines` in none of `removed` (all sorted bytewise), into `target`: comm
    once per file removed, each reading the previous one's output."""
    if not removed:
        return lines
    env = {**os.environ, "LC_ALL": "C"}
    steps: list[subprocess.Popen[bytes]] = []
    with target.open("wb") as out:
        for index, other in enumerate(removed):
            previous = steps[-1].stdout if steps else None
            steps.append(
                subprocess.Popen(
                    ["comm", "-23", "-" if previous else str(lines.path), str(other.path)],
                    stdin=previous,
                    stdout=out if index == len(removed) - 1 else subprocess.PIPE,
                    env=env,
                )
            )
            if previous:
                previous.close()  # the next step holds it now
    for step in steps:
        if step.wait() != 0:
            raise subprocess.CalledProcessError(step.returncode, step.args)
    return LineFile(target, count_lines(target))


def load_inferred(store: ox.Store, lines: LineFile, graph: ox.NamedNode = INFERRED_GRAPH) -> None:
    """Put the inferred lines into `graph` of the store (replaced), for validation."""
    store.update(f"DROP SILENT GRAPH <{graph.value}>")
    store.bulk_load(path=lines.path, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


# --------------------------------------------------------------------------- rdflib wrapper


def infer_streaming(ontology: Graph, data: Graph) -> Graph:
    """reason.infer's result, computed by `infer_lines` in a temporary folder (as
    rules.infer_scalable does with `materialize`)."""
    to_ox = OxConverter()
    with tempfile.TemporaryDirectory(prefix="kzcn-stream-") as folder:
        workdir = Path(folder)
        parsed = {"ontology": workdir / "ontology.nt", "data": workdir / "data.nt"}
        for graph, path in zip((ontology, data), parsed.values(), strict=True):
            with path.open("wb") as out:
                ox.serialize(to_ox.triples(graph), out, format=ox.RdfFormat.N_TRIPLES)
        inference = infer_lines(parsed, workdir)
        to_rdflib = TermConverter(to_ox.blank_nodes_back(), to_ox.language_case)
        inferred = Graph()
        for triple in ox.parse(path=inference.lines.path, format=ox.RdfFormat.N_TRIPLES):
            inferred.add(to_rdflib.triple(triple))
        return inferred


if __name__ == "__main__":  # a process of read_parts: run this module's own copy of _work
    from server.build import stream_rules

    stream_rules._work(Path(sys.argv[1]))
