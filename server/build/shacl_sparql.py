"""Step 3 of the build at scale: the data contract checked by SPARQL queries inside pyoxigraph.

validate.py (pyshacl) stays the reference; this module must reach the same verdict and name the
same (focus node, shape, constraint component) for every problem. It compiles the shapes graph
— whatever it holds, not today's shapes by name — into one SELECT per constraint, returning the
focus nodes that break it, and runs the two integrity checks of validate.py as queries too.

How a shape becomes SPARQL:
- focus nodes: sh:targetClass C is `?focus rdf:type/rdfs:subClassOf* C` over ontology + data
  (the SHACL meaning of "instance", which is why the ontology is part of the data graph);
  sh:targetNode, sh:targetSubjectsOf, sh:targetObjectsOf and implicit class targets likewise;
- each constraint component becomes a boolean expression "this node breaks it" (`violation`),
  built from EXISTS/NOT EXISTS, so that sh:or, sh:xone, sh:and, sh:not, sh:node and
  sh:qualifiedValueShape compose them: a value node conforms to a shape when no expression of
  that shape holds for it;
- counts (sh:minCount 2) are n distinct values (`!sameTerm`), not COUNT subqueries, which
  SPARQL cannot correlate with an outer node inside EXISTS;
- at the top level, a constraint on each value of a predicate (or inverse) path is searched
  from the data instead (`Check.candidates`: the bad values, usually none, then whether their
  node is a focus node), which is what keeps 10^6 triples in seconds;
- the constraints tested per focus node are first tested together, in one pass over the focus
  nodes of their shape (broken_by_some_focus_node): on data that keeps them all, as a build's
  usually does, no query per constraint runs;
- sh:datatype of the integer types the store keeps as xsd:integer (xsd:positiveInteger, …;
  oxigraph issue 526) reads the datatype as written from the loader's side graph
  (rules.STORED_AS, rules.written_as_graph): a store loaded otherwise cannot tell;
- a broken sh:node also yields the nested results, as pyshacl's sh:detail (which validate.py
  lists as problems).

Components implemented: class, datatype, nodeKind, in, languageIn, min/maxInclusive,
min/maxExclusive, min/maxLength, pattern, hasValue, min/maxCount, qualifiedValueShape with
qualifiedMin/MaxCount, uniqueLang, node, not, and, or, xone, and sh:property on node shapes.
A shapes graph using anything else raises UnsupportedShape: validate with pyshacl instead.

One result per (focus node, constraint) is reported, where pyshacl reports one per value node:
the same Problem text, fewer duplicates. The shapes graph is small and read with rdflib; the
data is only ever touched by queries, so the data graph never needs to exist in rdflib.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH, XSD
from rdflib.term import Node

from ..vocab import ID, KZCN
from .rules import (
    DATA_GRAPH,
    ONTOLOGY_GRAPH,
    STORED_AS,
    TermConverter,
    store_of,
    written_as_graph,
)
from .validate import (
    Problem,
    Validation,
    integrity_problems,
    named_shape,
    path_text,
    qname,
    vocabulary_problems,
)


class UnsupportedShape(ValueError):
    """The shapes graph uses SHACL this module does not compile."""


# Parameters of the components implemented, and those a shape may carry without being a
# constraint. Any other sh: predicate on a shape is refused.
SHAPE_PREDICATES = {
    SH.path,
    SH.message,
    SH.severity,
    SH.name,
    SH.description,
    SH.order,
    SH.group,
    SH.defaultValue,
    SH.deactivated,
    SH.targetClass,
    SH.targetNode,
    SH.targetSubjectsOf,
    SH.targetObjectsOf,
    SH.property,
    SH["class"],
    SH.datatype,
    SH.nodeKind,
    SH["in"],
    SH.languageIn,
    SH.minInclusive,
    SH.maxInclusive,
    SH.minExclusive,
    SH.maxExclusive,
    SH.minLength,
    SH.maxLength,
    SH.pattern,
    SH.flags,
    SH.hasValue,
    SH.minCount,
    SH.maxCount,
    SH.qualifiedValueShape,
    SH.qualifiedMinCount,
    SH.qualifiedMaxCount,
    SH.qualifiedValueShapesDisjoint,
    SH.uniqueLang,
    SH.node,
    SH["not"],
    SH["and"],
    SH["or"],
    SH.xone,
}

NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}

# Datatypes whose lexical forms SPARQL can check by casting (the cast fails on "2025-13-45").
CASTABLE = {
    XSD[name]
    for name in (
        "string",
        "boolean",
        "integer",
        "decimal",
        "float",
        "double",
        "dateTime",
        "date",
        "time",
        "duration",
        "yearMonthDuration",
        "dayTimeDuration",
        "gYear",
    )
}

# Value ranges of the integer types the store keeps as xsd:integer (see rules.STORED_AS).
INTEGER_RANGES: dict[URIRef, tuple[int | None, int | None]] = {
    XSD.int: (-(2**31), 2**31 - 1),
    XSD.long: (-(2**63), 2**63 - 1),
    XSD.short: (-(2**15), 2**15 - 1),
    XSD.byte: (-128, 127),
    XSD.nonNegativeInteger: (0, None),
    XSD.positiveInteger: (1, None),
    XSD.negativeInteger: (None, -1),
    XSD.nonPositiveInteger: (None, 0),
    XSD.unsignedInt: (0, 2**32 - 1),
    XSD.unsignedLong: (0, 2**64 - 1),
    XSD.unsignedShort: (0, 2**16 - 1),
    XSD.unsignedByte: (0, 255),
}


@dataclass(frozen=True)
class Check:
    """How one constraint is broken, in SPARQL."""

    violation: Callable[[str], str]  # variable of a node → "it breaks the constraint"
    # Where a constraint looks at each value of a simple path on its own, a pattern binding
    # the variable to the nodes that break it, found from the data: checking each distinct
    # value once beats checking every focus node's values (86,000 nodes with eight labels).
    candidates: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Constraint:
    """One constraint component instance."""

    shape: Node  # the shape that holds the parameter (pyshacl's sh:sourceShape)
    component: URIRef
    check: Check
    value: Node  # the parameter's value (for sh:node, the shape every value must conform to)


@dataclass(frozen=True)
class Result:
    focus: ox.NamedNode | ox.BlankNode | ox.Literal
    constraint: Constraint


# --------------------------------------------------------------------------- compiling


class Compiler:
    """Turns the shapes of one shapes graph into SPARQL."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes
        self._names = itertools.count()

    def fresh(self, name: str) -> str:
        """A variable name no other part of the query uses."""
        return f"?{name}{next(self._names)}"

    # -- shapes

    def target_shapes(self) -> list[Node]:
        """Shapes that select focus nodes themselves, in a stable order."""
        targets = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        found = {s for predicate in targets for s in self.shapes.subjects(predicate, None)}
        found |= {s for s in self.shapes.subjects(RDF.type, SH.NodeShape) if self.is_class(s)}
        return sorted((s for s in found if not self.deactivated(s)), key=str)

    def is_class(self, shape: Node) -> bool:
        return any((shape, RDF.type, kind) in self.shapes for kind in (RDFS.Class, OWL.Class))

    def deactivated(self, shape: Node) -> bool:
        value = self.shapes.value(shape, SH.deactivated)
        return isinstance(value, Literal) and value.toPython() is True

    def focus_pattern(self, shape: Node, focus: str) -> str:
        """A graph pattern binding `focus` to each focus node of `shape` (maybe repeated)."""
        parts = [
            f"{{ {focus} rdf:type/rdfs:subClassOf* {self.term(c)} }}"
            for c in self.shapes.objects(shape, SH.targetClass)
        ]
        if self.is_class(shape):
            parts.append(f"{{ {focus} rdf:type/rdfs:subClassOf* {self.term(shape)} }}")
        parts += [
            f"{{ VALUES {focus} {{ {self.term(n)} }} }}"
            for n in self.shapes.objects(shape, SH.targetNode)
        ]
        parts += [
            f"{{ {focus} {self.term(p)} {self.fresh('t')} }}"
            for p in self.shapes.objects(shape, SH.targetSubjectsOf)
        ]
        parts += [
            f"{{ {self.fresh('t')} {self.term(p)} {focus} }}"
            for p in self.shapes.objects(shape, SH.targetObjectsOf)
        ]
        return " UNION ".join(parts)

    def constraints(self, shape: Node) -> Iterator[Constraint]:
        """The constraints checked on each focus node of `shape`: its own, then those of the
        property shapes it lists with sh:property (reported under those shapes)."""
        self.check_supported(shape)
        yield from self.own_constraints(shape)
        for property_shape in sorted(self.shapes.objects(shape, SH.property), key=str):
            if self.deactivated(property_shape):
                continue
            self.check_supported(property_shape)
            if self.shapes.value(property_shape, SH.property) is not None:
                raise UnsupportedShape(f"{qname(property_shape)}: sh:property in a property shape")
            yield from self.own_constraints(property_shape)

    def own_constraints(self, shape: Node) -> Iterator[Constraint]:
        path = self.path(shape)
        for parameter, component, compile_ in COMPONENTS:
            for value in sorted(self.shapes.objects(shape, parameter), key=str):
                yield Constraint(shape, component, compile_(self, shape, path, value), value)

    def violation(self, shape: Node, this: str) -> str:
        """True when node `this` does not conform to `shape` (any constraint broken)."""
        if self.deactivated(shape):
            return "false"
        expressions = [c.check.violation(this) for c in self.constraints(shape)]
        return "(" + " || ".join(expressions) + ")" if expressions else "false"

    def check_supported(self, shape: Node) -> None:
        unknown = {
            p for p in self.shapes.predicates(shape, None) if p.startswith(str(SH))
        } - SHAPE_PREDICATES
        if unknown:
            names = ", ".join(sorted(qname(p) for p in unknown))
            raise UnsupportedShape(f"{qname(shape)} uses {names}; validate with pyshacl")
        disjoint = self.shapes.value(shape, SH.qualifiedValueShapesDisjoint)
        if isinstance(disjoint, Literal) and disjoint.toPython() is True:
            raise UnsupportedShape(f"{qname(shape)}: sh:qualifiedValueShapesDisjoint true")

    # -- paths and terms

    def path(self, shape: Node) -> str | None:
        """The SHACL path of a property shape as a SPARQL property path; None for a node shape."""
        path = self.shapes.value(shape, SH.path)
        return None if path is None else self.path_expression(path)

    def path_expression(self, path: Node) -> str:
        if isinstance(path, URIRef):
            return self.term(path)
        if self.shapes.value(path, RDF.first) is not None:  # a list: a sequence path
            return "(" + " / ".join(self.path_expression(p) for p in self.items(path)) + ")"
        for predicate, syntax in (
            (SH.inversePath, "^({})"),
            (SH.zeroOrMorePath, "({})*"),
            (SH.oneOrMorePath, "({})+"),
            (SH.zeroOrOnePath, "({})?"),
        ):
            inner = self.shapes.value(path, predicate)
            if inner is not None:
                return syntax.format(self.path_expression(inner))
        alternatives = self.shapes.value(path, SH.alternativePath)
        if alternatives is not None:
            return "(" + " | ".join(self.path_expression(p) for p in self.items(alternatives)) + ")"
        raise UnsupportedShape(f"not a SHACL path: {path}")

    def simple_path(self, shape: Node) -> str | None:
        """The path as SPARQL if it is a predicate or the inverse of one, else None."""
        path = self.shapes.value(shape, SH.path)
        inverse = self.shapes.value(path, SH.inversePath) if isinstance(path, BNode) else None
        if isinstance(path, URIRef) or isinstance(inverse, URIRef):
            return self.path_expression(path)
        return None

    def items(self, head: Node) -> list[Node]:
        return list(Collection(self.shapes, head))

    @staticmethod
    def term(node: Node) -> str:
        if isinstance(node, BNode):
            raise UnsupportedShape(f"a blank node as a constraint value: {node}")
        return node.n3()


Compile = Callable[[Compiler, Node, str | None, Node], Check]


def value_test(
    test: Callable[[Compiler, str, Node], str],
    conforming: Callable[[Compiler, str, Node], str] | None = None,
) -> Compile:
    """A component that checks each value node on its own: broken when some value fails.
    `conforming`, if given, is a pattern binding the values that pass, for a set difference
    (MINUS), which beats testing each value when the test is a join."""

    def compile_(compiler: Compiler, shape: Node, path: str | None, value: Node) -> Check:
        def violation(this: str) -> str:
            if path is None:  # a node shape: the focus node is the only value node
                return test(compiler, this, value)
            v = compiler.fresh("v")
            return f"EXISTS {{ {this} {path} {v} . FILTER ({test(compiler, v, value)}) }}"

        simple = compiler.simple_path(shape)
        if simple is None:
            return Check(violation)

        def candidates(this: str) -> str:
            v = compiler.fresh("v")
            if conforming is not None:
                return f"{this} {simple} {v} . MINUS {{ {conforming(compiler, v, value)} }}"
            return f"{this} {simple} {v} . FILTER ({test(compiler, v, value)})"

        return Check(violation, candidates)

    return compile_


def instance_of(compiler: Compiler, v: str, cls: Node) -> str:
    """SHACL's "instance": typed with the class or a subclass of it."""
    return f"{v} rdf:type/rdfs:subClassOf* {compiler.term(cls)}"


def class_test(compiler: Compiler, v: str, cls: Node) -> str:
    return f"NOT EXISTS {{ {instance_of(compiler, v, cls)} }}"


def plain_datatype_test(compiler: Compiler, v: str, datatype: Node) -> str:
    """Right datatype, and for the types SPARQL can cast, a well-formed lexical form."""
    dt = compiler.term(datatype)
    well_formed = f" && COALESCE(datatype({dt}(STR({v}))) = {dt}, false)"
    return f"!(isLiteral({v}) && datatype({v}) = {dt}{well_formed if datatype in CASTABLE else ''})"


def datatype_component(compiler: Compiler, shape: Node, path: str | None, datatype: Node) -> Check:
    if str(datatype) not in STORED_AS:
        return value_test(plain_datatype_test)(compiler, shape, path, datatype)
    return stored_as_other_datatype(compiler, shape, datatype)


def stored_as_other_datatype(compiler: Compiler, shape: Node, datatype: Node) -> Check:
    """sh:datatype xsd:positiveInteger and the like. The store keeps such a literal as an
    xsd:integer (rules.STORED_AS), so the datatype it was written with is read from the side
    graph the loader fills; which needs the triple, so only a predicate path can be checked.
    Well-formed values are those the store could convert; the range comes from XML Schema."""
    predicate = compiler.shapes.value(shape, SH.path)
    if not isinstance(predicate, URIRef):
        raise UnsupportedShape(f"{qname(shape)}: sh:datatype {qname(datatype)} off a predicate")
    side_graph = f"<{written_as_graph(str(datatype)).value}>"
    stored = URIRef(STORED_AS[str(datatype)]).n3()
    low, high = INTEGER_RANGES.get(URIRef(datatype), (None, None))

    def broken(this: str, v: str) -> str:
        in_range = "".join(
            f" && COALESCE({v} {op} {bound}, false)"
            for op, bound in ((">=", low), ("<=", high))
            if bound is not None
        )
        written = (
            f"EXISTS {{ GRAPH {side_graph} {{ {this} {predicate.n3()} {v} }} }}"
            f" && datatype({v}) = {stored}{in_range}"
        )
        return f"{this} {predicate.n3()} {v} . FILTER (!({written}))"

    def violation(this: str) -> str:
        return f"EXISTS {{ {broken(this, compiler.fresh('v'))} }}"

    return Check(violation, lambda this: broken(this, compiler.fresh("v")))


def node_kind_test(compiler: Compiler, v: str, kind: Node) -> str:
    if kind not in NODE_KINDS:
        raise UnsupportedShape(f"unknown sh:nodeKind {kind}")
    return "!" + NODE_KINDS[kind].format(v=v)


def in_test(compiler: Compiler, v: str, members: Node) -> str:
    options = [f"sameTerm({v}, {compiler.term(m)})" for m in compiler.items(members)]
    return "!(" + (" || ".join(options) or "false") + ")"


def language_in_test(compiler: Compiler, v: str, languages: Node) -> str:
    matches = [
        f"langMatches(lang({v}), {Literal(str(tag)).n3()})" for tag in compiler.items(languages)
    ]
    return f"!(isLiteral({v}) && ({' || '.join(matches) or 'false'}))"


def comparison(operator: str) -> Callable[[Compiler, str, Node], str]:
    """A value is broken unless the comparison holds; an incomparable value is broken too."""
    return lambda compiler, v, bound: f"!COALESCE({v} {operator} {compiler.term(bound)}, false)"


def length(operator: str) -> Callable[[Compiler, str, Node], str]:
    return lambda compiler, v, n: (
        f"(isBlank({v}) || !COALESCE(STRLEN(STR({v})) {operator} {int(n)}, false))"
    )


def pattern_component(compiler: Compiler, shape: Node, path: str | None, pattern: Node) -> Check:
    flags = compiler.shapes.value(shape, SH.flags)
    arguments = f"{Literal(str(pattern)).n3()}" + (f", {Literal(str(flags)).n3()}" if flags else "")
    test = lambda compiler, v, _: f"(isBlank({v}) || !REGEX(STR({v}), {arguments}))"  # noqa: E731
    return value_test(test)(compiler, shape, path, pattern)


def node_test(compiler: Compiler, v: str, shape: Node) -> str:
    return compiler.violation(shape, v)


def not_test(compiler: Compiler, v: str, shape: Node) -> str:
    return f"!{compiler.violation(shape, v)}"


def and_test(compiler: Compiler, v: str, shapes: Node) -> str:
    return "(" + " || ".join(compiler.violation(s, v) for s in compiler.items(shapes)) + ")"


def or_test(compiler: Compiler, v: str, shapes: Node) -> str:
    members = compiler.items(shapes)
    return "(" + " && ".join(compiler.violation(s, v) for s in members) + ")" if members else "true"


def xone_test(compiler: Compiler, v: str, shapes: Node) -> str:
    conforming = [f"IF({compiler.violation(s, v)}, 0, 1)" for s in compiler.items(shapes)]
    return f"(({' + '.join(conforming) or '0'}) != 1)"


def focus_component(build: Callable[[Compiler, str, str | None, Node, Node], str]) -> Compile:
    """A component that looks at all value nodes of the focus node together."""

    def compile_(compiler: Compiler, shape: Node, path: str | None, value: Node) -> Check:
        return Check(lambda this: build(compiler, this, path, value, shape))

    return compile_


def distinct_values(compiler: Compiler, this: str, path: str, n: int) -> tuple[list[str], str]:
    """n value variables, with the pattern and filter that make them n distinct value nodes."""
    if n > 8:
        raise UnsupportedShape(f"a count of {n}: too many distinct values to join")
    values = [compiler.fresh("v") for _ in range(n)]
    pattern = " ".join(f"{this} {path} {v} ." for v in values)
    distinct = [f"!sameTerm({a}, {b})" for a, b in itertools.combinations(values, 2)]
    return values, f"{pattern} FILTER ({' && '.join(distinct) or 'true'})"


def at_least(
    compiler: Compiler, this: str, path: str | None, n: int, shape: Node | None = None
) -> str:
    """EXISTS n distinct value nodes (conforming to `shape`, if given)."""
    if path is None:
        raise UnsupportedShape("a cardinality constraint on a node shape")
    if n <= 0:
        return "true"
    values, pattern = distinct_values(compiler, this, path, n)
    conforming = (
        "".join(f" FILTER (!{compiler.violation(shape, v)})" for v in values) if shape else ""
    )
    return f"EXISTS {{ {pattern}{conforming} }}"


def min_count(compiler: Compiler, this: str, path: str | None, n: Node, _: Node) -> str:
    return f"!{at_least(compiler, this, path, int(n))}"


def max_count(compiler: Compiler, this: str, path: str | None, n: Node, _: Node) -> str:
    return at_least(compiler, this, path, int(n) + 1)


def qualified_min(compiler: Compiler, this: str, path: str | None, n: Node, shape: Node) -> str:
    return f"!{at_least(compiler, this, path, int(n), qualified_shape(compiler, shape))}"


def qualified_max(compiler: Compiler, this: str, path: str | None, n: Node, shape: Node) -> str:
    return at_least(compiler, this, path, int(n) + 1, qualified_shape(compiler, shape))


def qualified_shape(compiler: Compiler, shape: Node) -> Node:
    value_shape = compiler.shapes.value(shape, SH.qualifiedValueShape)
    if value_shape is None:
        raise UnsupportedShape(f"{qname(shape)}: a qualified count without sh:qualifiedValueShape")
    return value_shape


def has_value(compiler: Compiler, this: str, path: str | None, value: Node, _: Node) -> str:
    if path is None:
        return f"!sameTerm({this}, {compiler.term(value)})"
    return f"NOT EXISTS {{ {this} {path} {compiler.term(value)} }}"


def unique_lang(compiler: Compiler, shape: Node, path: str | None, flag: Node) -> Check:
    """Two values in one language: pairs of values per node, or, from the data, a grouping."""
    if path is None or not (isinstance(flag, Literal) and flag.toPython() is True):
        return Check(lambda this: "false")

    def violation(this: str) -> str:
        a, b = compiler.fresh("v"), compiler.fresh("v")
        return (
            f"EXISTS {{ {this} {path} {a} . {this} {path} {b} . FILTER (isLiteral({a}) && "
            f"isLiteral({b}) && !sameTerm({a}, {b}) && lang({a}) != '' && "
            f"LCASE(lang({a})) = LCASE(lang({b}))) }}"
        )

    simple = compiler.simple_path(shape)
    if simple is None:
        return Check(violation)

    def candidates(this: str) -> str:
        v = compiler.fresh("v")
        return (
            f"{{ SELECT {this} WHERE {{ {this} {simple} {v} . "
            f"FILTER (isLiteral({v}) && lang({v}) != '') }} "
            f"GROUP BY {this} (LCASE(lang({v}))) HAVING (COUNT(DISTINCT {v}) > 1) }}"
        )

    return Check(violation, candidates)


COMPONENTS: list[tuple[URIRef, URIRef, Compile]] = [
    (SH["class"], SH.ClassConstraintComponent, value_test(class_test, instance_of)),
    (SH.datatype, SH.DatatypeConstraintComponent, datatype_component),
    (SH.nodeKind, SH.NodeKindConstraintComponent, value_test(node_kind_test)),
    (SH["in"], SH.InConstraintComponent, value_test(in_test)),
    (SH.languageIn, SH.LanguageInConstraintComponent, value_test(language_in_test)),
    (SH.minInclusive, SH.MinInclusiveConstraintComponent, value_test(comparison(">="))),
    (SH.maxInclusive, SH.MaxInclusiveConstraintComponent, value_test(comparison("<="))),
    (SH.minExclusive, SH.MinExclusiveConstraintComponent, value_test(comparison(">"))),
    (SH.maxExclusive, SH.MaxExclusiveConstraintComponent, value_test(comparison("<"))),
    (SH.minLength, SH.MinLengthConstraintComponent, value_test(length(">="))),
    (SH.maxLength, SH.MaxLengthConstraintComponent, value_test(length("<="))),
    (SH.pattern, SH.PatternConstraintComponent, pattern_component),
    (SH.node, SH.NodeConstraintComponent, value_test(node_test)),
    (SH["not"], SH.NotConstraintComponent, value_test(not_test)),
    (SH["and"], SH.AndConstraintComponent, value_test(and_test)),
    (SH["or"], SH.OrConstraintComponent, value_test(or_test)),
    (SH.xone, SH.XoneConstraintComponent, value_test(xone_test)),
    (SH.hasValue, SH.HasValueConstraintComponent, focus_component(has_value)),
    (SH.minCount, SH.MinCountConstraintComponent, focus_component(min_count)),
    (SH.maxCount, SH.MaxCountConstraintComponent, focus_component(max_count)),
    (SH.qualifiedMinCount, SH.QualifiedMinCountConstraintComponent, focus_component(qualified_min)),
    (SH.qualifiedMaxCount, SH.QualifiedMaxCountConstraintComponent, focus_component(qualified_max)),
    (SH.uniqueLang, SH.UniqueLangConstraintComponent, unique_lang),
]

PREFIXES = (
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)


# --------------------------------------------------------------------------- running


def shacl_results(
    store: ox.Store,
    shapes: Graph,
    asserted: Sequence[ox.NamedNode] = (ONTOLOGY_GRAPH, DATA_GRAPH),
) -> list[Result]:
    """Every (focus node, constraint) the data graph (the union of `asserted`) breaks."""
    compiler = Compiler(shapes)
    results = []
    for shape in compiler.target_shapes():
        constraints = list(compiler.constraints(shape))
        tested = [c.check for c in constraints if c.check.candidates is None]
        all_kept = bool(tested) and not broken_by_some_focus_node(
            store, compiler, shape, tested, asserted
        )
        for constraint in constraints:
            if all_kept and constraint.check.candidates is None:
                continue
            query = constraint_query(compiler, shape, constraint.check)
            found = [row["focus"] for row in store.query(query, default_graph=list(asserted))]
            results += [Result(focus, constraint) for focus in found]
            if found and constraint.component == SH.NodeConstraintComponent:
                node = compiler.fresh("focus")
                targets = compiler.focus_pattern(shape, node)
                nodes = f"{{ SELECT DISTINCT {node} WHERE {{ {targets} }} }}"
                results += details(store, compiler, constraint, nodes, node, asserted)
    return results


def broken_by_some_focus_node(
    store: ox.Store,
    compiler: Compiler,
    shape: Node,
    checks: Sequence[Check],
    asserted: Sequence[ox.NamedNode],
) -> bool:
    """Whether some focus node of `shape` breaks one of `checks`, in one pass over the focus
    nodes: on data that keeps them (the usual case) it replaces a pass per constraint (at 10^6
    triples, 7.5 s → 4.9 s). Exact: `a || b` is true when one of them is, even if the other
    is an error, and a constraint is broken exactly where its expression is true."""
    focus = compiler.fresh("focus")
    expressions = " || ".join(check.violation(focus) for check in checks)
    query = (
        f"{PREFIXES}ASK {{\n  {{ SELECT DISTINCT {focus} WHERE {{ "
        f"{compiler.focus_pattern(shape, focus)} }} }}\n  FILTER ({expressions})\n}}"
    )
    return bool(store.query(query, default_graph=list(asserted)))


def details(
    store: ox.Store,
    compiler: Compiler,
    constraint: Constraint,
    nodes: str,
    node: str,
    asserted: Sequence[ox.NamedNode],
    depth: int = 0,
) -> list[Result]:
    """What pyshacl reports as the sh:detail of a broken sh:node (and validate.py lists as
    problems): the results of each value node against the nested shape, recursively. `nodes`
    is a pattern binding `node` to the nodes whose values were checked."""
    if depth > 8:
        raise UnsupportedShape(f"sh:node nested too deep at {qname(constraint.value)}")
    path = compiler.path(constraint.shape)
    value = compiler.fresh("value")
    values = f"{nodes} {node} {path} {value} ." if path else f"{nodes} BIND ({node} AS {value})"
    found = []
    for inner in compiler.constraints(constraint.value):
        query = (
            f"{PREFIXES}SELECT DISTINCT ({value} AS ?focus) WHERE {{\n  {values}\n"
            f"  FILTER ({inner.check.violation(value)})\n}}"
        )
        hits = [row["focus"] for row in store.query(query, default_graph=list(asserted))]
        found += [Result(hit, inner) for hit in hits]
        if hits and inner.component == SH.NodeConstraintComponent:
            found += details(store, compiler, inner, values, value, asserted, depth + 1)
    return found


def constraint_query(compiler: Compiler, shape: Node, check: Check, focus: str = "?focus") -> str:
    """The focus nodes of `shape` that break `check`: from the candidates the data offers
    when there is such a pattern, else by testing each (distinct) focus node."""
    if check.candidates is not None:
        # A subquery, so that the candidates (usually none) are found before the focus test:
        # left in one group, the optimizer may test every node against the targets first.
        where = (
            f"{{ SELECT DISTINCT {focus} WHERE {{ {check.candidates(focus)} }} }}\n"
            f"  FILTER EXISTS {{ {compiler.focus_pattern(shape, focus)} }}"
        )
    else:
        where = (
            f"{{ SELECT DISTINCT {focus} WHERE {{ {compiler.focus_pattern(shape, focus)} }} }}\n"
            f"  FILTER ({check.violation(focus)})"
        )
    return f"{PREFIXES}SELECT DISTINCT {focus} WHERE {{\n  {where}\n}}"


def problems(results: list[Result], shapes: Graph) -> list[Problem]:
    """validate.py's Problem for each result, worded by validate.py's own helpers."""
    to_rdflib = TermConverter()
    found = []
    for result in results:
        shape = result.constraint.shape
        severity = shapes.value(shape, SH.severity) or SH.Violation
        component = qname(result.constraint.component)
        found.append(
            Problem(
                focus=qname(to_rdflib(result.focus)),
                rule=f"{named_shape(shapes, shape)} {component}",
                message=str(shapes.value(shape, SH.message) or f"breaks {component}"),
                path=path_text(shapes, shapes.value(shape, SH.path)),
                severity=qname(severity).removeprefix("sh:"),
            )
        )
    return found


def integrity_problems_in_store(
    store: ox.Store, ontology: ox.NamedNode = ONTOLOGY_GRAPH, data: ox.NamedNode = DATA_GRAPH
) -> list[Problem]:
    """validate.integrity_problems as one query: kzcn: terms data/ uses that the ontology does
    not define, and IRIs of ours data/ points to that nothing describes."""
    defined = f"EXISTS {{ GRAPH <{ontology.value}> {{ ?node ?p1 ?o1 }} }}"
    described = f"EXISTS {{ GRAPH <{data.value}> {{ ?node ?p2 ?o2 }} }}"
    # GROUP BY, not DISTINCT: the same set, made three times faster by Oxigraph over the 10^6
    # rows of data/ (measured at 10^6 triples: 7 s → 2 s).
    query = f"""SELECT ?node WHERE {{
        {{ SELECT ?node WHERE {{
            {{ GRAPH <{data.value}> {{ ?s ?node ?o }} }}
            UNION {{ GRAPH <{data.value}> {{ ?s ?p ?node }} FILTER isIRI(?node) }} }}
           GROUP BY ?node }}
        FILTER ((STRSTARTS(STR(?node), "{KZCN}") && !{defined})
                || (STRSTARTS(STR(?node), "{ID}") && !{defined} && !{described}))
    }}"""
    # The query finds the nodes; validate.integrity_problems words the problems, given a graph
    # that uses each of them once and defines none of them.
    uses = Graph()
    for row in store.query(query):
        uses.add(
            (URIRef("urn:kzcn:build:use"), URIRef("urn:kzcn:build:uses"), URIRef(row["node"].value))
        )
    return integrity_problems(Graph(), uses)


def vocabulary_problems_in_store(
    store: ox.Store,
    shapes: Graph,
    ontology: ox.NamedNode = ONTOLOGY_GRAPH,
    data: ox.NamedNode = DATA_GRAPH,
) -> list[Problem]:
    """validate.vocabulary_problems, given the few triples of data/ that decide it: per class
    and per property the use by the least subject (the example a problem names), and every
    value of the wrong kind for an owl:Object/DatatypeProperty. On that subset of data/ the
    function finds exactly the problems it finds on all of it; the ontology is small."""
    to_rdflib = TermConverter()
    wrong_kind = f"""SELECT ?s ?p ?o WHERE {{
        {{ GRAPH <{ontology.value}> {{ ?p a owl:ObjectProperty }}
           GRAPH <{data.value}> {{ ?s ?p ?o }} FILTER isLiteral(?o) }}
        UNION {{ GRAPH <{ontology.value}> {{ ?p a owl:DatatypeProperty }}
           GRAPH <{data.value}> {{ ?s ?p ?o }} FILTER (!isLiteral(?o)) }} }}"""
    deciding = Graph()
    for quad in least_uses(store, data):
        deciding.add(to_rdflib.triple(quad))
    for row in store.query(wrong_kind, prefixes={"owl": str(OWL)}):
        deciding.add((to_rdflib(row["s"]), to_rdflib(row["p"]), to_rdflib(row["o"])))
    schema = Graph()
    for quad in store.quads_for_pattern(None, None, None, ontology):
        schema.add(to_rdflib.triple(quad))
    return vocabulary_problems(schema, deciding, shapes)


def least_uses(store: ox.Store, data: ox.NamedNode) -> Iterator[ox.Quad]:
    """The triples of `data` by the least subject (as a string) using each predicate, and each
    class with rdf:type. The least is found by grouping and its triples looked up directly:
    joining the groups back to the data by STR(?s) took 2 s at 10^6 triples."""
    graph, type_ = f"GRAPH <{data.value}>", ox.NamedNode(str(RDF.type))
    per_predicate = (
        f"SELECT ?p (MIN(STR(?s)) AS ?least) WHERE {{ {graph} {{ ?s ?p ?o }} }} GROUP BY ?p"
    )
    per_class = f"SELECT ?o (MIN(STR(?s)) AS ?least) WHERE {{ {graph} {{ ?s a ?o }} }} GROUP BY ?o"
    patterns = [(row["least"], row["p"], None) for row in store.query(per_predicate)]
    patterns += [(row["least"], type_, row["o"]) for row in store.query(per_class)]
    for least, predicate, obj in patterns:
        if least is not None:  # else only blank nodes use it: STR() has no value for them
            yield from store.quads_for_pattern(ox.NamedNode(least.value), predicate, obj, data)


def validate_store(
    store: ox.Store,
    shapes: Graph,
    ontology: ox.NamedNode = ONTOLOGY_GRAPH,
    data: ox.NamedNode = DATA_GRAPH,
) -> Validation:
    """validate.validate over a Store holding the asserted graphs (loaded by rules.add_triples
    or rules.load_files, which note the datatypes the store does not keep)."""
    results = shacl_results(store, shapes, (ontology, data))
    found = (
        integrity_problems_in_store(store, ontology, data)
        + vocabulary_problems_in_store(store, shapes, ontology, data)
        + problems(results, shapes)
    )
    return Validation(report=report_graph(results, shapes), problems=sorted(found, key=str))


def validate_scalable(ontology: Graph, data: Graph, shapes: Graph) -> Validation:
    """validate.validate's verdict and problems, checked by SPARQL in an in-memory Store."""
    store, _ = store_of(ontology, data)
    return validate_store(store, shapes)


def report_graph(results: list[Result], shapes: Graph) -> Graph:
    """A SHACL validation report (sh:ValidationReport) of the results, as pyshacl writes one."""
    to_rdflib = TermConverter()
    report = Graph()
    report.bind("sh", SH)
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    report.add((root, SH.conforms, Literal(not results)))
    for result in results:
        shape = result.constraint.shape
        node = BNode()
        report.add((root, SH.result, node))
        report.add((node, RDF.type, SH.ValidationResult))
        report.add((node, SH.focusNode, to_rdflib(result.focus)))
        report.add((node, SH.sourceShape, shape))
        report.add((node, SH.sourceConstraintComponent, result.constraint.component))
        report.add((node, SH.resultSeverity, shapes.value(shape, SH.severity) or SH.Violation))
        message = shapes.value(shape, SH.message)
        if message is not None:
            report.add((node, SH.resultMessage, message))
        path = shapes.value(shape, SH.path)
        if path is not None:
            report.add((node, SH.resultPath, path))
            if isinstance(path, BNode):  # a complex path: copy its structure, as pyshacl does
                report += shapes.cbd(path)
    return report
