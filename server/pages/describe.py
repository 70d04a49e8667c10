"""Everything a page needs to know about one resource, gathered with a few SPARQL queries
through the cached query service: its facts (and which graph each comes from, so inferred
facts can be marked), the links pointing to it, and the labels and definitions of every
term involved."""

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app

from ..formats import RESULT_FORMATS
from ..vocab import GRAPHS

# Characters that cannot appear in an IRI written <…> in SPARQL: such a path is no IRI of ours.
NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')
INFERRED = str(GRAPHS["inferred"])
LABEL_PROPERTIES = {
    "skos:prefLabel": "http://www.w3.org/2004/02/skos/core#prefLabel",
    "rdfs:label": "http://www.w3.org/2000/01/rdf-schema#label",
    "schema:name": "https://schema.org/name",
}
DEFINITION = "http://www.w3.org/2004/02/skos/core#definition"


@dataclass(frozen=True)
class Term:
    """An RDF term as SPARQL JSON results give it."""

    type: str  # uri, literal, bnode
    value: str
    lang: str | None = None
    datatype: str | None = None

    @classmethod
    def of(cls, binding: dict) -> "Term":
        return cls(
            binding["type"], binding["value"], binding.get("xml:lang"), binding.get("datatype")
        )


@dataclass(frozen=True)
class Fact:
    predicate: str
    value: Term
    inferred: bool


@dataclass
class Description:
    iri: str
    facts: list[Fact] = field(default_factory=list)  # outgoing
    incoming: list[Fact] = field(default_factory=list)  # value = the subject pointing here
    labels: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    definitions: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return bool(self.facts or self.incoming)

    def objects(self, predicate: str) -> list[Term]:
        return [f.value for f in self.facts if f.predicate == predicate]


def select(query: str) -> list[dict]:
    service = current_app.extensions["kzcn_queries"]
    body = service.run(service.job(query, RESULT_FORMATS[0]))
    return json.loads(body)["results"]["bindings"]


def ask(query: str) -> bool:
    service = current_app.extensions["kzcn_queries"]
    return bool(json.loads(service.run(service.job(query, RESULT_FORMATS[0])))["boolean"])


def is_iri(text: str) -> bool:
    return bool(text) and not NOT_IN_IRI.search(text)


def describe(iri: str, label_chain: tuple[str, ...], max_incoming: int = 500) -> Description:
    description = Description(iri)
    for row in select(f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ <{iri}> ?p ?o }} }}"):
        description.facts.append(
            Fact(row["p"]["value"], Term.of(row["o"]), row["g"]["value"] == INFERRED)
        )
    for row in select(
        f"SELECT ?s ?p ?g WHERE {{ GRAPH ?g {{ ?s ?p <{iri}> }} }} LIMIT {max_incoming}"
    ):
        description.incoming.append(
            Fact(row["p"]["value"], Term.of(row["s"]), row["g"]["value"] == INFERRED)
        )
    named = {iri} | {f.predicate for f in description.facts + description.incoming}
    named |= {
        f.value.value for f in description.facts + description.incoming if f.value.type == "uri"
    }
    description.labels, description.definitions = labels_of(named, label_chain)
    return dedupe(description)


def dedupe(description: Description) -> Description:
    """A fact both asserted and (again) inferred is shown once, as asserted."""
    asserted = {(f.predicate, f.value) for f in description.facts if not f.inferred}
    description.facts = [
        f for f in description.facts if not f.inferred or (f.predicate, f.value) not in asserted
    ]
    return description


def labels_of(iris: set[str], label_chain: tuple[str, ...]) -> tuple[dict, dict]:
    """Labels (in the order of the label chain) and definitions of many IRIs, in one query."""
    iris = {i for i in iris if is_iri(i)}
    if not iris:
        return {}, {}
    properties = [LABEL_PROPERTIES.get(p, p) for p in label_chain] + [DEFINITION]
    values = " ".join(f"<{i}>" for i in sorted(iris))
    props = ", ".join(f"<{p}>" for p in properties)
    # FILTER, not VALUES ?p: with VALUES, Oxigraph reads every label of the graph first.
    rows = select(
        f"SELECT ?x ?p ?l WHERE {{ VALUES ?x {{ {values} }} ?x ?p ?l FILTER (?p IN ({props})) }}"
    )
    rank = {p: i for i, p in enumerate(properties)}
    rows.sort(key=lambda row: rank[row["p"]["value"]])
    labels: dict[str, list] = defaultdict(list)
    definitions: dict[str, list] = defaultdict(list)
    for row in rows:
        target = definitions if row["p"]["value"] == DEFINITION else labels
        entry = (row["l"]["value"], row["l"].get("xml:lang"))
        if entry not in target[row["x"]["value"]]:
            target[row["x"]["value"]].append(entry)
    return dict(labels), dict(definitions)
