"""Step 2 of the build: what follows from the asserted graph.

The inferred graph holds everything the build derives and nothing that was asserted:
- the OWL 2 RL closure (owlrl) of ontology + data: inherited types such as
  schema:CollegeOrUniversity, inverse properties (kzcn:partyTo, kzcn:establishedBy), …;
- kzcn:partner between two *distinct* parties of the same agreement (OWL cannot say
  "distinct": a property chain would make every party its own partner);
- Kazakh Latin-script labels (kk-Latn), generated from the Cyrillic ones.

Two deliberate limits, so that the inferred graph says something useful:
- owl:sameAs links to other datasets (Wikidata) are published but not reasoned with, because
  equality reasoning would copy every fact about Kazakhstan onto the Wikidata IRI;
- only triples about our own IRIs are kept, and OWL RL's trivia (reflexive sameAs,
  equivalence and subclass links of a term to itself, rdf:type owl:Thing) are dropped.
"""

import owlrl
from rdflib import OWL, RDF, RDFS, Graph, URIRef
from rdflib.term import Node

from ..vocab import BASE, KZCN
from .labels import latin_label_triples

PARTNER_RULE = f"""
PREFIX kzcn: <{KZCN}>
CONSTRUCT {{ ?a kzcn:partner ?b }}
WHERE {{ ?agreement kzcn:party ?a, ?b . FILTER (?a != ?b) }}
"""

REFLEXIVE_TRIVIA = {
    OWL.sameAs,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
}
TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource}


def infer(ontology: Graph, data: Graph) -> Graph:
    """The inferred graph of ontology + data (see the module docstring)."""
    asserted = ontology + data
    closure = Graph()
    for triple in asserted:
        if not is_external_identity_link(triple):
            closure.add(triple)
    close(closure)
    inferred = Graph()
    for triple in closure:
        if triple not in asserted and is_worth_publishing(triple):
            inferred.add(triple)
    for triple in latin_label_triples(asserted):
        if triple not in asserted:
            inferred.add(triple)
    return inferred


def close(graph: Graph) -> None:
    """Apply OWL 2 RL and the partner rule until neither adds anything."""
    reasoner = owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    )
    add_partners(graph)  # first on the asserted parties, so one OWL pass usually suffices
    reasoner.expand(graph)
    while add_partners(graph):
        reasoner.expand(graph)


def add_partners(graph: Graph) -> bool:
    """Add the partner rule's conclusions; tell whether any was new."""
    before = len(graph)
    for triple in graph.query(PARTNER_RULE):
        graph.add(triple)
    return len(graph) > before


def is_ours(node: Node) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(BASE)


def is_external_identity_link(triple: tuple[Node, Node, Node]) -> bool:
    _, predicate, obj = triple
    return predicate == OWL.sameAs and not is_ours(obj)


def is_worth_publishing(triple: tuple[Node, Node, Node]) -> bool:
    subject, predicate, obj = triple
    if not is_ours(subject):
        return False
    if predicate in REFLEXIVE_TRIVIA and subject == obj:
        return False
    return not (predicate == RDF.type and obj in TRIVIAL_TYPES)
