"""The SPARQL 1.1 Service Description of this endpoint, in any RDF format we serve."""

from functools import lru_cache

import pyoxigraph as ox

from ..formats import Format
from ..vocab import DATASET, GRAPHS

SD = "http://www.w3.org/ns/sparql-service-description#"
W3C_FORMATS = "http://www.w3.org/ns/formats/"
RESULT_FORMAT_IRIS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    "Turtle",
    "N-Triples",
    "JSON-LD",
    "RDF_XML",
    "TriG",
    "N-Quads",
)


@lru_cache(maxsize=64)
def service_description(endpoint: str, fmt: Format) -> bytes:
    return ox.serialize(triples(endpoint), format=fmt.engine, prefixes={"sd": SD})


def triples(endpoint: str) -> list[ox.Triple]:
    """The service, its result formats and its dataset: the union default graph and the
    named graphs of a release."""

    def iri(value: str) -> ox.NamedNode:
        return ox.NamedNode(value)

    service, dataset = iri(endpoint + "#service"), iri(endpoint + "#dataset")
    a = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    out = [
        ox.Triple(service, a, iri(SD + "Service")),
        ox.Triple(service, iri(SD + "endpoint"), iri(endpoint)),
        ox.Triple(service, iri(SD + "supportedLanguage"), iri(SD + "SPARQL11Query")),
        ox.Triple(service, iri(SD + "feature"), iri(SD + "UnionDefaultGraph")),
        ox.Triple(service, iri(SD + "defaultDataset"), dataset),
        ox.Triple(dataset, a, iri(SD + "Dataset")),
        ox.Triple(dataset, iri("http://purl.org/dc/terms/source"), iri(str(DATASET))),
    ]
    out += [
        ox.Triple(service, iri(SD + "resultFormat"), iri(W3C_FORMATS + name))
        for name in RESULT_FORMAT_IRIS
    ]
    default_graph = iri(endpoint + "#default-graph")
    out += [
        ox.Triple(dataset, iri(SD + "defaultGraph"), default_graph),
        ox.Triple(default_graph, a, iri(SD + "Graph")),
        ox.Triple(
            default_graph,
            iri("http://www.w3.org/2000/01/rdf-schema#comment"),
            ox.Literal("The union of every named graph.", language="en"),
        ),
    ]
    for graph in GRAPHS.values():
        node = iri(f"{endpoint}#graph-{str(graph).rsplit('/', 1)[-1]}")
        out += [
            ox.Triple(dataset, iri(SD + "namedGraph"), node),
            ox.Triple(node, a, iri(SD + "NamedGraph")),
            ox.Triple(node, iri(SD + "name"), iri(str(graph))),
        ]
    return out
