"""Step 2 of the build at scale: the same inferred graph as reason.py, computed inside pyoxigraph.

reason.py (owlrl over rdflib) stays the reference; this module must give exactly its result.
It runs the OWL 2 RL rules (W3C OWL 2 Profiles, section 4.3) that can fire on our kind of
ontology, plus the kzcn:partner rule, as SPARQL `INSERT … WHERE` updates inside one Store until
they derive nothing new, then keeps what reason.py keeps and adds the kk-Latn labels.

Which rules: the ones whose premises use the vocabulary our ontology uses — rdfs:subClassOf,
rdfs:subPropertyOf, rdfs:domain, rdfs:range, owl:inverseOf, owl:SymmetricProperty, owl:Class.
Any other OWL construct that would make owlrl derive more (owl:TransitiveProperty,
owl:equivalentClass, restrictions, owl:sameAs between our own IRIs, …) is refused with
UnsupportedVocabulary rather than silently ignored: build those with the reference engine.
OWL RL conclusions that the publishing filter of reason.py always drops, and that feed no other
rule, are not derived at all (see the comments on RULES).

Evaluation is semi-naive, rule by rule (see `close`): after its first application a rule only
joins what was derived since it last ran against everything else; the fixpoint is reached when
a whole pass over the rules derives no triple.

Layout in the store: the asserted triples stay untouched in their named graphs (by default the
release's ontology and data graphs); derived triples live in scratch graphs that are dropped at
the end; what is worth publishing is written to the inferred graph. The pipeline can therefore
load ontology/ and data/ straight into a Store, call `materialize` and publish from the Store
without building an rdflib graph; `infer_scalable` is the rdflib-facing wrapper.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD
from rdflib.term import Node

from ..kazakh import kk_latin
from ..vocab import BASE, GRAPHS, PREFIXES
from .labels import LABEL_PREDICATES, SOURCE_LANG, TARGET_LANG
from .reason import REFLEXIVE_TRIVIA, TRIVIAL_TYPES, is_external_identity_link

ONTOLOGY_GRAPH = ox.NamedNode(str(GRAPHS["ontology"]))
DATA_GRAPH = ox.NamedNode(str(GRAPHS["data"]))
INFERRED_GRAPH = ox.NamedNode(str(GRAPHS["inferred"]))

# Graphs the build uses and never publishes (see drop_build_graphs): side graphs written by the
# loader, and scratch graphs private to one `materialize` call.
BUILD_GRAPHS = "urn:kzcn:build:"
_SCRATCH = BUILD_GRAPHS + "scratch:"
DERIVED = ox.NamedNode(_SCRATCH + "derived")  # everything derived so far
LABELS = ox.NamedNode(_SCRATCH + "labels")  # each kk label and its kk-Latn spelling

SPARQL_PREFIXES = "".join(f"PREFIX {prefix}: <{iri}>\n" for prefix, iri in PREFIXES.items())


class UnsupportedVocabulary(ValueError):
    """The input uses OWL that owlrl reasons with and these rules do not implement."""


@dataclass(frozen=True)
class Rule:
    """`body` ⇒ `head`: graph patterns in SPARQL syntax, with optional FILTERs in `where`."""

    name: str  # the OWL 2 RL rule id (or "kzcn-partner")
    head: str
    body: tuple[str, ...]
    where: str = ""
    # False where feeding the rule its own conclusions can give nothing new, so `close` skips
    # that join (why, at each such rule).
    feeds_itself: bool = True


def most_specific(axiom: str) -> str:
    """`?p <axiom> ?c` for the classes c that no other class of p's is strictly below. A
    subquery, so that the test runs once per axiom, not once per statement joined to it."""
    return (
        f"{{ SELECT ?p ?c WHERE {{ ?p {axiom} ?c FILTER NOT EXISTS {{ ?p {axiom} ?c0 . "
        f"?c0 rdfs:subClassOf ?c . FILTER (?c0 != ?c) "
        f"FILTER NOT EXISTS {{ ?c rdfs:subClassOf ?c0 }} }} }} }}"
    )


# Every rule here fires, or would fire, on the ontology and data of this project; the ids are
# those of the OWL 2 RL tables. Conclusions that the publishing filter always drops and that no
# rule here can use are not derived: scm-cls's `c subClassOf c`, `c equivalentClass c` and
# `owl:Nothing subClassOf c`, scm-op/scm-dp's `p subPropertyOf p` and `p equivalentProperty p`
# (each rule that joins on them would only re-derive its other premise), eq-ref's
# `x owl:sameAs x`, the one-time cls-thing, cls-nothing1, prp-ap and dt-* triples (none has one
# of our IRIs as subject). Literal values never become subjects (no RDF triple can have them).
RULES: tuple[Rule, ...] = (
    # Table 9, schema vocabulary, first: tiny, and every rule on the data joins against it.
    Rule(  # Every class is a subclass of owl:Thing: gives `kzcn:X rdfs:subClassOf owl:Thing`,
        # and through scm-dom1/scm-rng1 `p rdfs:domain/range owl:Thing`, which are published.
        "scm-cls",
        "?c rdfs:subClassOf owl:Thing",
        ("?c rdf:type owl:Class",),
    ),
    Rule(  # subClassOf is transitive: kzcn:HigherEducationInstitution ⊑ schema:Organization.
        "scm-sco",
        "?c1 rdfs:subClassOf ?c3",
        ("?c1 rdfs:subClassOf ?c2", "?c2 rdfs:subClassOf ?c3"),
        "FILTER (?c1 != ?c2 && ?c1 != ?c3)",
    ),
    Rule(  # A subclass cycle makes the classes equivalent.
        "scm-eqc2",
        "?c1 owl:equivalentClass ?c2",
        ("?c1 rdfs:subClassOf ?c2", "?c2 rdfs:subClassOf ?c1"),
        "FILTER (?c1 != ?c2)",
    ),
    Rule(  # subPropertyOf is transitive.
        "scm-spo",
        "?p1 rdfs:subPropertyOf ?p3",
        ("?p1 rdfs:subPropertyOf ?p2", "?p2 rdfs:subPropertyOf ?p3"),
        "FILTER (?p1 != ?p2 && ?p1 != ?p3)",
    ),
    Rule(  # A subproperty cycle makes the properties equivalent.
        "scm-eqp2",
        "?p1 owl:equivalentProperty ?p2",
        ("?p1 rdfs:subPropertyOf ?p2", "?p2 rdfs:subPropertyOf ?p1"),
        "FILTER (?p1 != ?p2)",
    ),
    Rule(  # A domain extends to superclasses: kzcn:party rdfs:domain prov:Entity, owl:Thing.
        "scm-dom1",
        "?p rdfs:domain ?c2",
        ("?p rdfs:domain ?c1", "?c1 rdfs:subClassOf ?c2"),
        "FILTER (?c1 != ?c2)",
    ),
    Rule(  # A subproperty inherits the domain of its superproperty.
        "scm-dom2",
        "?p1 rdfs:domain ?c",
        ("?p2 rdfs:domain ?c", "?p1 rdfs:subPropertyOf ?p2"),
        "FILTER (?p1 != ?p2)",
    ),
    Rule(  # A range extends to superclasses: kzcn:country rdfs:range schema:Country, owl:Thing.
        "scm-rng1",
        "?p rdfs:range ?c2",
        ("?p rdfs:range ?c1", "?c1 rdfs:subClassOf ?c2"),
        "FILTER (?c1 != ?c2)",
    ),
    Rule(  # A subproperty inherits the range of its superproperty.
        "scm-rng2",
        "?p1 rdfs:range ?c",
        ("?p2 rdfs:range ?c", "?p1 rdfs:subPropertyOf ?p2"),
        "FILTER (?p1 != ?p2)",
    ),
    # Table 5, properties: statements first, so that the types below see all of them.
    Rule(  # A subproperty's statements hold for its superproperty.
        "prp-spo1",
        "?x ?p2 ?y",
        ("?p1 rdfs:subPropertyOf ?p2", "?x ?p1 ?y"),
        "FILTER (?p1 != ?p2)",
    ),
    Rule(  # kzcn:party ⇒ kzcn:partyTo, kzcn:establishes ⇒ kzcn:establishedBy.
        "prp-inv1",
        "?y ?p2 ?x",
        ("?p1 owl:inverseOf ?p2", "?x ?p1 ?y"),
        "FILTER (!isLiteral(?y))",
    ),
    Rule(  # … and the other way round.
        "prp-inv2",
        "?y ?p1 ?x",
        ("?p1 owl:inverseOf ?p2", "?x ?p2 ?y"),
        "FILTER (!isLiteral(?y))",
    ),
    # Not OWL: reason.PARTNER_RULE, distinct co-parties of one agreement are partners. Its
    # conclusions (kzcn:partner) are none of its premises (kzcn:party).
    Rule(
        "kzcn-partner",
        "?a kzcn:partner ?b",
        ("?agreement kzcn:party ?a", "?agreement kzcn:party ?b"),
        "FILTER (?a != ?b)",
        feeds_itself=False,
    ),
    Rule(  # kzcn:partner is symmetric. Mirroring a mirrored statement gives the original.
        "prp-symp",
        "?y ?p ?x",
        ("?p rdf:type owl:SymmetricProperty", "?x ?p ?y"),
        "FILTER (!isLiteral(?y))",
        feeds_itself=False,
    ),
    # Types from rdfs:domain and rdfs:range (an agreement's party makes it a kzcn:Agreement
    # and the party a kzcn:Organization). Only the most specific domains and ranges are used:
    # scm-dom1 has made kzcn:party's domain also prov:Entity, owl:Thing, …, and each of those
    # types would be derived again per statement, five times the work; cax-sco below derives
    # them once per node from the specific one. (A domain d is left out only if another domain
    # c ⊑ d, not equivalent, exists: then x a c is derived, and c ⊑ d gives x a d.)
    Rule(
        "prp-dom",
        "?x rdf:type ?c",
        (most_specific("rdfs:domain"), "?x ?p ?y"),
    ),
    Rule(
        "prp-rng",
        "?y rdf:type ?c",
        (most_specific("rdfs:range"), "?x ?p ?y"),
        "FILTER (!isLiteral(?y))",
    ),
    # Table 7, class axioms, last: the inherited types (schema:CollegeOrUniversity, …). Its
    # own conclusions need not be fed back: from x a c2 (because x a c1, c1 ⊑ c2) and c2 ⊑ c3,
    # scm-sco gives c1 ⊑ c3, and x a c3 follows from x a c1 when that link is new.
    Rule(
        "cax-sco",
        "?x rdf:type ?c2",
        ("?c1 rdfs:subClassOf ?c2", "?x rdf:type ?c1"),
        "FILTER (?c1 != ?c2)",
        feeds_itself=False,
    ),
)

# Table 9: the rules on the schema alone, brought to their fixpoint before the others.
SCHEMA_RULES = tuple(rule for rule in RULES if rule.name.startswith("scm-"))

# Terms that trigger OWL 2 RL rules not in RULES (checked by `_unsupported_terms`, with
# owl:sameAs used as a subject, owl:Nothing anywhere as an object, and nodes typed with an XML
# Schema datatype). The disjointness terms and owl:Nothing as a type only make owlrl report
# inconsistencies, but a build must not pass them silently either.
UNSUPPORTED_PREDICATES = (
    OWL.equivalentClass,
    OWL.equivalentProperty,
    OWL.propertyChainAxiom,
    OWL.hasKey,
    OWL.intersectionOf,
    OWL.unionOf,
    OWL.complementOf,
    OWL.oneOf,
    OWL.someValuesFrom,
    OWL.allValuesFrom,
    OWL.hasValue,
    OWL.maxCardinality,
    OWL.maxQualifiedCardinality,
    OWL.disjointWith,
    OWL.propertyDisjointWith,
    OWL.differentFrom,
    OWL.sourceIndividual,
)
PLAIN_LITERAL = "http://www.w3.org/1999/02/22-rdf-syntax-ns#PlainLiteral"
UNSUPPORTED_TYPES = (
    OWL.TransitiveProperty,
    OWL.FunctionalProperty,
    OWL.InverseFunctionalProperty,
    OWL.IrreflexiveProperty,
    OWL.AsymmetricProperty,
    OWL.AllDisjointClasses,
    OWL.AllDisjointProperties,
    OWL.AllDifferent,
)


@dataclass
class Materialization:
    """What one `materialize` call did, for logs and measurements."""

    passes: int = 0  # over all rules, the last one deriving nothing
    derived: int = 0  # triples derived, before the publishing filter
    inferred: int = 0  # triples written to the inferred graph
    seconds: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the store API


def materialize(
    store: ox.Store,
    asserted: Sequence[ox.NamedNode] = (ONTOLOGY_GRAPH, DATA_GRAPH),
    inferred: ox.NamedNode = INFERRED_GRAPH,
) -> Materialization:
    """Write into `inferred` what reason.infer would infer from the `asserted` graphs.

    `inferred` is replaced. Raises UnsupportedVocabulary if the input needs rules not here.
    """
    result = Materialization()
    clock = time.perf_counter()
    check_supported(store, asserted)
    _drop(store, [*_graphs_under(store, _SCRATCH), inferred])  # what an earlier call left
    result.passes = close(store, asserted)
    check_no_literal_subjects(store, asserted)
    result.seconds["rules"] = time.perf_counter() - clock
    clock = time.perf_counter()
    result.derived = publish_derived(store, inferred)
    result.seconds["filter"] = time.perf_counter() - clock
    clock = time.perf_counter()
    add_latin_labels(store, asserted, inferred)
    _drop(store, (DERIVED, LABELS))
    result.inferred = count(store, inferred)
    result.seconds["labels"] = time.perf_counter() - clock
    return result


def close(store: ox.Store, asserted: Sequence[ox.NamedNode]) -> int:
    """Apply RULES until a whole pass over them derives nothing; returns the number of passes.

    Semi-naive, rule by rule: the first time, a rule is applied to everything; afterwards only
    to combinations with at least one triple derived since its last application (one update
    per premise, that premise matched in those steps, the others in everything). Each
    application that derives something leaves its triples in a step graph, and in DERIVED.
    The schema rules first run to their own fixpoint, so that the rules on the data meet a
    complete class and property hierarchy; then all rules run in the order of RULES, each
    seeing what the previous ones derived, so that one pass derives nearly everything and the
    next confirms it. FILTER NOT EXISTS keeps known triples out, so a pass with no new step
    means that every rule has seen every triple: the fixpoint.
    """
    closure = Closure(store, asserted)
    closure.run(SCHEMA_RULES)
    closure.run(RULES)
    closure.finish()
    return closure.passes


class Closure:
    """The state of `close`: the steps derived so far, and when each rule last ran."""

    def __init__(self, store: ox.Store, asserted: Sequence[ox.NamedNode]) -> None:
        self.store, self.asserted = store, asserted
        self.steps: list[Step] = []
        self.last_run: dict[str, int] = {}  # rule name → len(steps) when it last ran
        self.seen_by_all = 0  # the steps before this one every rule has seen, and dropped
        self.passes = 0

    def run(self, rules: Sequence[Rule]) -> None:
        """Pass over `rules` until a pass derives nothing."""
        while True:
            self.passes += 1
            before = len(self.steps)
            for rule in rules:
                self.apply(rule)
            if len(self.steps) == before:
                return

    def apply(self, rule: Rule) -> None:
        last_run = self.last_run.get(rule.name)
        step = apply_rule(self.store, rule, self.asserted, self.steps, last_run)
        self.last_run[rule.name] = len(self.steps)
        if step is not None:
            self.steps.append(step)
        self.drop_seen_steps()

    def drop_seen_steps(self) -> None:
        """A step every rule has joined is only needed in DERIVED: free its own graph."""
        if len(self.last_run) < len(RULES):
            return
        oldest = min(self.last_run.values())
        if oldest > self.seen_by_all:
            _drop(self.store, (step.graph for step in self.steps[self.seen_by_all : oldest]))
            self.seen_by_all = oldest

    def finish(self) -> None:
        _drop(self.store, (step.graph for step in self.steps[self.seen_by_all :]))


@dataclass(frozen=True)
class Step:
    graph: ox.NamedNode  # what one application of `rule` derived
    rule: str


def apply_rule(
    store: ox.Store,
    rule: Rule,
    asserted: Sequence[ox.NamedNode],
    steps: list[Step],
    last_run: int | None,
) -> Step | None:
    """Apply `rule` once (see `close`); the step it derived, if it derived anything."""
    step = Step(ox.NamedNode(f"{_SCRATCH}step-{len(steps)}"), rule.name)
    if last_run is None:
        store.update(rule_update(rule, step.graph, asserted))
    else:
        news = [s.graph for s in steps[last_run:] if rule.feeds_itself or s.rule != rule.name]
        if not news:
            return None
        for premise in range(len(rule.body)):
            store.update(rule_update(rule, step.graph, asserted, news, premise))
    return step if _has_triples(store, step.graph) else None


def rule_update(
    rule: Rule,
    step: ox.NamedNode,
    asserted: Sequence[ox.NamedNode],
    news: Sequence[ox.NamedNode] = (),
    new_premise: int | None = None,
) -> str:
    """The SPARQL update applying `rule`, its default graph being asserted + derived; with
    `new_premise`, that premise is matched only in the `news` graphs."""
    using = "".join(f"USING <{graph.value}>\n" for graph in (*asserted, DERIVED))
    using += "".join(f"USING NAMED <{graph.value}>\n" for graph in news)
    premises = []
    for index, pattern in enumerate(rule.body):
        if index == new_premise:  # first, so that the join starts from the new triples
            premises.insert(0, f"GRAPH ?new {{ {pattern} }}")
        else:
            premises.append(f"{pattern} .")
    into = f"GRAPH <{step.value}> {{ {rule.head} }} GRAPH <{DERIVED.value}> {{ {rule.head} }}"
    return (
        f"{SPARQL_PREFIXES}# {rule.name}\n"
        f"INSERT {{ {into} }}\n"
        f"{using}"
        f"WHERE {{\n  {' '.join(premises)}\n  {rule.where}\n"
        f"  FILTER NOT EXISTS {{ {rule.head} }}\n}}"
    )


def publish_derived(store: ox.Store, inferred: ox.NamedNode) -> int:
    """Copy into `inferred` the derived triples reason.py keeps; returns how many triples
    were derived.

    Derived triples are never asserted ones (FILTER NOT EXISTS above), so only
    reason.is_worth_publishing remains to check, here in SPARQL so that the triples never
    become Python objects (its equivalence is tested against the real data and a generated
    graph): our own IRI as subject, no reflexive trivia, no trivial type.
    """
    derived = count(store, DERIVED)
    trivia = ", ".join(f"<{term}>" for term in sorted(REFLEXIVE_TRIVIA))
    trivial_types = ", ".join(f"<{term}>" for term in sorted(TRIVIAL_TYPES))
    store.update(
        f"""INSERT {{ GRAPH <{inferred.value}> {{ ?s ?p ?o }} }}
        WHERE {{ GRAPH <{DERIVED.value}> {{ ?s ?p ?o }}
            FILTER (isIRI(?s) && STRSTARTS(STR(?s), "{BASE}"))
            FILTER (!(?p IN ({trivia}) && sameTerm(?s, ?o)))
            FILTER (!(sameTerm(?p, <{RDF.type}>) && ?o IN ({trivial_types}))) }}"""
    )
    return derived


def add_latin_labels(
    store: ox.Store, asserted: Sequence[ox.NamedNode], inferred: ox.NamedNode
) -> None:
    """labels.latin_label_triples at scale: each distinct kk label is transliterated once in
    Python (kk_latin) into a small map graph; SPARQL then gives every labelled node its
    kk-Latn twin, leaving out twins already asserted (as reason.py does)."""
    predicates = " ".join(f"<{p}>" for p in LABEL_PREDICATES)
    labelled = f"""VALUES ?p {{ {predicates} }} ?s ?p ?label
        FILTER (isLiteral(?label) && LCASE(LANG(?label)) = "{SOURCE_LANG}")"""
    texts = f"SELECT DISTINCT ?label WHERE {{ {labelled} }}"
    entries = []
    for row in store.query(texts, default_graph=list(asserted)):
        text = row["label"].value
        latin = kk_latin(text)
        if latin != text:  # nothing Cyrillic in it: no twin
            entry = ox.BlankNode()
            entries.append(ox.Quad(entry, _KK, row["label"], LABELS))
            entries.append(ox.Quad(entry, _LATN, ox.Literal(latin, language=TARGET_LANG), LABELS))
    store.extend(entries)
    using = "".join(f"USING <{graph.value}> USING NAMED <{graph.value}>\n" for graph in asserted)
    graphs = " ".join(f"<{graph.value}>" for graph in asserted)
    store.update(
        f"INSERT {{ GRAPH <{inferred.value}> {{ ?s ?p ?twin }} }}\n{using}"
        f"USING NAMED <{LABELS.value}>\n"
        f"WHERE {{ {labelled} GRAPH <{LABELS.value}> {{ ?entry <{_KK.value}> ?label ;"
        f" <{_LATN.value}> ?twin }}"
        f" FILTER NOT EXISTS {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ ?s ?p ?twin }} }} }}"
    )


_KK = ox.NamedNode(_SCRATCH + "kk")
_LATN = ox.NamedNode(_SCRATCH + "kk-latn")


def check_supported(store: ox.Store, asserted: Sequence[ox.NamedNode]) -> None:
    """Refuse input on which owlrl would derive what RULES cannot (see the module doc)."""
    found = _unsupported_terms(store, asserted) | _internal_identity_links(store, asserted)
    if found:
        raise unsupported_refusal(found)


def unsupported_refusal(found: Iterable[str]) -> UnsupportedVocabulary:
    """The refusal of `check_supported`, naming what was found."""
    return UnsupportedVocabulary(
        "the scalable reasoner does not implement the OWL 2 RL rules for: "
        + ", ".join(sorted(found))
        + "; build with the reference reasoner (reason.py) instead"
    )


def check_no_literal_subjects(store: ox.Store, asserted: Sequence[ox.NamedNode]) -> None:
    """owlrl works on generalized RDF: from `x p "v"` with p symmetric, or with an inverse, it
    derives `"v" p x`, which no store can hold, and from that, through another inversion, a
    triple about x again. Only a literal value of a symmetric or inverse property (after
    subproperties) starts this; it is a modelling error, refused rather than silently missed."""
    graphs = "".join(f"FROM <{graph.value}> " for graph in (*asserted, DERIVED))
    query = f"""SELECT DISTINCT ?p {graphs} WHERE {{
        {{ ?p a owl:SymmetricProperty }} UNION {{ ?p owl:inverseOf ?q }}
        UNION {{ ?q owl:inverseOf ?p }}
        ?x ?p ?value . FILTER isLiteral(?value)
    }}"""
    found = {row["p"].value for row in store.query(SPARQL_PREFIXES + query)}
    if found:
        raise literal_values_refusal(found)


def literal_values_refusal(properties: Iterable[str]) -> UnsupportedVocabulary:
    """The refusal of `check_no_literal_subjects`, naming the properties."""
    return UnsupportedVocabulary(
        "literal values of symmetric or inverse properties (owlrl derives triples with a "
        f"literal subject from them, which a store cannot hold): {', '.join(sorted(properties))}"
    )


def _unsupported_terms(store: ox.Store, asserted: Sequence[ox.NamedNode]) -> set[str]:
    predicates = " ".join(f"<{term}>" for term in UNSUPPORTED_PREDICATES)
    types = " ".join(f"<{term}>" for term in UNSUPPORTED_TYPES)
    # A node typed with an XML Schema datatype gets owlrl's datatype subsumptions (dt-type*).
    query = f"""SELECT DISTINCT ?term WHERE {{
        {{ VALUES ?term {{ {predicates} }} ?s ?term ?o }}
        UNION {{ VALUES ?term {{ {types} }} ?s a ?term }}
        UNION {{ VALUES ?term {{ <{OWL.sameAs}> }} ?term ?p ?o }}
        UNION {{ VALUES ?term {{ <{OWL.Nothing}> }} ?s ?p ?term }}
        UNION {{ ?s a ?term FILTER (STRSTARTS(STR(?term), "{XSD}") || ?term = <{PLAIN_LITERAL}>) }}
    }}"""
    return {row["term"].value for row in store.query(query, default_graph=list(asserted))}


def _internal_identity_links(store: ox.Store, asserted: Sequence[ox.NamedNode]) -> set[str]:
    """owl:sameAs to another dataset is held out of reasoning (reason.py); any other is not,
    and equality reasoning (eq-*) is not implemented here."""
    query = f"SELECT ?s ?o WHERE {{ ?s <{OWL.sameAs}> ?o }}"
    to_rdflib = TermConverter()
    for row in store.query(query, default_graph=list(asserted)):
        link = (to_rdflib(row["s"]), OWL.sameAs, to_rdflib(row["o"]))
        if not is_external_identity_link(link):
            return {f"owl:sameAs between our own IRIs ({link[0]} {link[2]})"}
    return set()


def count(store: ox.Store, graph: ox.NamedNode) -> int:
    query = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}"
    return int(next(iter(store.query(query)))["n"].value)


def _has_triples(store: ox.Store, graph: ox.NamedNode) -> bool:
    return bool(store.query(f"ASK {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} }}"))


def drop_build_graphs(store: ox.Store) -> None:
    """Remove the graphs of the build itself (urn:kzcn:build:…) before a store is published."""
    _drop(store, _graphs_under(store, BUILD_GRAPHS))


def _graphs_under(store: ox.Store, prefix: str) -> list[ox.NamedNode]:
    return [
        graph
        for graph in store.named_graphs()
        if isinstance(graph, ox.NamedNode) and graph.value.startswith(prefix)
    ]


def _drop(store: ox.Store, graphs: Iterable[ox.NamedNode]) -> None:
    drops = [f"DROP SILENT GRAPH <{graph.value}>" for graph in graphs]
    if drops:
        store.update(" ; ".join(drops))


# --------------------------------------------------------------------------- loading

# pyoxigraph's store keeps some literals in another datatype than written (oxigraph issue 526:
# "+1"^^xsd:int is stored as "1"^^xsd:integer). Reasoning does not care, but a SHACL
# sh:datatype xsd:positiveInteger cannot tell "7"^^xsd:positiveInteger from "7"^^xsd:integer
# once stored. So the loader also copies each such triple into a side graph named after the
# datatype it was written with (`written_as_graph`), which shacl_sparql consults.
STORED_AS: dict[str, str] = {
    **{
        str(XSD[name]): str(XSD.integer)
        for name in (
            "int",
            "long",
            "short",
            "byte",
            "nonNegativeInteger",
            "positiveInteger",
            "negativeInteger",
            "nonPositiveInteger",
            "unsignedInt",
            "unsignedLong",
            "unsignedShort",
            "unsignedByte",
        )
    },
    str(XSD.dateTimeStamp): str(XSD.dateTime),
}


def written_as_graph(datatype: str) -> ox.NamedNode:
    """The side graph holding the triples whose literal was written with `datatype`."""
    return ox.NamedNode(f"{BUILD_GRAPHS}written-as:{datatype}")


def add_triples(
    store: ox.Store, triples: Iterable[ox.Triple | ox.Quad], graph: ox.NamedNode
) -> None:
    """Add `triples` to `graph`, noting the datatypes the store will not keep (see STORED_AS)."""
    store.extend(_with_written_datatypes(triples, graph))


def _with_written_datatypes(
    triples: Iterable[ox.Triple | ox.Quad], graph: ox.NamedNode
) -> Iterator[ox.Quad]:
    for triple in triples:
        yield ox.Quad(triple.subject, triple.predicate, triple.object, graph)
        if (side := written_as_quad(triple)) is not None:
            yield side


def written_as_quad(triple: ox.Triple | ox.Quad) -> ox.Quad | None:
    """The side-graph copy of a triple whose literal the store will not keep as written."""
    obj = triple.object
    if isinstance(obj, ox.Literal) and obj.datatype.value in STORED_AS:
        graph = written_as_graph(obj.datatype.value)
        return ox.Quad(triple.subject, triple.predicate, obj, graph)
    return None


def load_files(store: ox.Store, files: Iterable[Path], graph: ox.NamedNode) -> None:
    """Parse RDF files straight into `graph` of the store, without rdflib (as sources.py
    does: relative IRIs against the file's URI, blank nodes distinct per file)."""
    for path in files:
        triples = ox.parse(
            path=path,
            format=OX_FORMATS[path.suffix],
            base_iri=path.as_uri(),
            rename_blank_nodes=True,
        )
        add_triples(store, triples, graph)


def bulk_load_files(store: ox.Store, files: Iterable[Path], graph: ox.NamedNode) -> None:
    """Oxigraph's bulk loader on RDF files, into `graph` (relative IRIs against the file's
    URI, as sources.py): parsed and loaded in Rust, without the GIL."""
    for path in files:
        store.bulk_load(
            path=path, format=OX_FORMATS[path.suffix], base_iri=path.as_uri(), to_graph=graph
        )


OX_FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".trig": ox.RdfFormat.TRIG,
    ".jsonld": ox.RdfFormat.JSON_LD,
}


# --------------------------------------------------------------------------- rdflib wrapper


def infer_scalable(ontology: Graph, data: Graph) -> Graph:
    """reason.infer's result, computed by `materialize` in an in-memory Store."""
    store, to_ox = store_of(ontology, data)
    materialize(store)
    return inferred_graph(store, TermConverter(to_ox.blank_nodes_back(), to_ox.language_case))


def inferred_graph(
    store: ox.Store,
    to_rdflib: TermConverter | None = None,
    inferred: ox.NamedNode = INFERRED_GRAPH,
) -> Graph:
    """The inferred graph of a Store as an rdflib Graph, for a pipeline that publishes rdflib
    graphs (only the inferred triples are converted, not the asserted ones)."""
    to_rdflib = to_rdflib or TermConverter()
    graph = Graph()
    for quad in store.quads_for_pattern(None, None, None, inferred):
        graph.add(to_rdflib.triple(quad))
    return graph


def store_of(ontology: Graph, data: Graph) -> tuple[ox.Store, OxConverter]:
    """An in-memory Store with `ontology` and `data` in the release's named graphs."""
    to_ox = OxConverter()
    store = ox.Store()
    add_triples(store, to_ox.triples(ontology), ONTOLOGY_GRAPH)
    add_triples(store, to_ox.triples(data), DATA_GRAPH)
    return store, to_ox


class OxConverter:
    """rdflib terms → pyoxigraph terms, remembering what pyoxigraph normalizes away."""

    def __init__(self) -> None:
        self.blank_nodes: dict[BNode, ox.BlankNode] = {}
        # pyoxigraph lowercases language tags; rdflib keeps "kk-Latn" as written.
        self.language_case: dict[str, str] = {TARGET_LANG.lower(): TARGET_LANG}

    def triples(self, graph: Graph) -> Iterator[ox.Triple]:
        for subject, predicate, obj in graph:
            yield ox.Triple(self(subject), self(predicate), self(obj))

    def __call__(self, node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if isinstance(node, URIRef):
            return ox.NamedNode(str(node))
        if isinstance(node, BNode):
            return self.blank_nodes.setdefault(node, ox.BlankNode())
        if isinstance(node, Literal):
            if node.language:
                self.language_case.setdefault(node.language.lower(), node.language)
                return ox.Literal(str(node), language=node.language)
            if node.datatype:
                return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
            return ox.Literal(str(node))
        raise TypeError(f"not an RDF term: {node!r}")

    def blank_nodes_back(self) -> dict[str, BNode]:
        return {ox_node.value: node for node, ox_node in self.blank_nodes.items()}


class TermConverter:
    """pyoxigraph terms → rdflib terms (IRIs cached: a few predicates and classes repeat)."""

    def __init__(
        self,
        blank_nodes: dict[str, BNode] | None = None,
        language_case: dict[str, str] | None = None,
    ) -> None:
        self.blank_nodes = blank_nodes or {}
        self.language_case = language_case or {}
        self.iris: dict[str, URIRef] = {}

    def triple(self, quad: ox.Quad) -> tuple[Node, Node, Node]:
        subject = quad.subject  # rarely repeated: not worth a place in the cache
        node = URIRef(subject.value) if isinstance(subject, ox.NamedNode) else self(subject)
        return (node, self(quad.predicate), self(quad.object))

    def __call__(self, term: object) -> Node:
        if isinstance(term, ox.NamedNode):
            iri = self.iris.get(term.value)
            if iri is None:
                iri = self.iris[term.value] = URIRef(term.value)
            return iri
        if isinstance(term, ox.BlankNode):
            return self.blank_nodes.get(term.value) or BNode(term.value)
        if isinstance(term, ox.Literal):
            return self._literal(term)
        raise TypeError(f"not an RDF term: {term!r}")

    def _literal(self, term: ox.Literal) -> Literal:
        if term.language:
            language = self.language_case.get(term.language) or bcp47_case(term.language)
            return Literal(term.value, lang=language)
        if term.datatype.value == str(XSD.string):  # a plain "…" in Turtle; rdflib has no type
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))


def bcp47_case(tag: str) -> str:
    """A language tag in the case BCP 47 recommends (RFC 5646, 2.1.1): "kk-Latn", "zh-Hans",
    "en-GB". pyoxigraph lowercases tags; rdflib keeps them as written, and our data writes
    them this way, so this restores what the sources said."""
    parts = tag.lower().split("-")
    for index, part in enumerate(parts[1:], start=1):
        if parts[index - 1] == "x" or len(parts[index - 1]) == 1:
            break  # extensions and private use stay lowercase
        if len(part) == 4 and part.isalpha():
            parts[index] = part.title()
        elif len(part) == 2 and part.isalpha():
            parts[index] = part.upper()
    return "-".join(parts)


__all__ = [
    "DATA_GRAPH",
    "INFERRED_GRAPH",
    "ONTOLOGY_GRAPH",
    "RULES",
    "STORED_AS",
    "Materialization",
    "Rule",
    "UnsupportedVocabulary",
    "add_triples",
    "close",
    "drop_build_graphs",
    "infer_scalable",
    "inferred_graph",
    "load_files",
    "materialize",
    "written_as_graph",
]
