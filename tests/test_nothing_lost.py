"""Issue #6, "nothing lost": every dump of a release, read back, is the store's graph; the
asserted graph is exactly data/ and the ontology graph exactly ontology/, both ways; every
language-tagged literal keeps its text, byte for byte, and its tag in every format.

Two readings of "the same":
- against the store, dumps are loaded into a fresh Oxigraph store, so that both sides are
  normalized alike (the store keeps "4"^^xsd:positiveInteger as "4"^^xsd:integer and
  lower-cases language tags: README, "Known limitations");
- against the input files, dumps are read with rdflib, which keeps every term as written, and
  compared as N-Triples terms: lexical forms and datatypes exactly, language tags
  case-insensitively, as RDF compares them (the case as written: the test at the end).
"""

import gzip
from collections.abc import Iterable

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal
from rdflib.term import Node

from server.config import PACKAGE_ROOT
from server.release import (
    METADATA_TURTLE,
    NQUADS,
    TRIG,
    UNION_GRAPHS,
    UNION_JSONLD,
    UNION_NTRIPLES_GZ,
    UNION_TURTLE,
    Release,
)
from server.vocab import GRAPHS, ID

DATASET_DUMPS = {NQUADS: ox.RdfFormat.N_QUADS, TRIG: ox.RdfFormat.TRIG}
UNION_DUMPS = {
    UNION_TURTLE: ox.RdfFormat.TURTLE,
    UNION_NTRIPLES_GZ: ox.RdfFormat.N_TRIPLES,
    UNION_JSONLD: ox.RdfFormat.JSON_LD,
}
RDFLIB_FORMATS = {
    NQUADS: "nquads",
    TRIG: "trig",
    UNION_TURTLE: "turtle",
    UNION_NTRIPLES_GZ: "nt",
    UNION_JSONLD: "json-ld",
}
Quads = set[tuple[str, str, str, str]]
Terms = set[tuple[str, str, str]]


@pytest.fixture(scope="module")
def stored(release: Release) -> Quads:
    """Every quad of the release's store, as N-Triples terms and graph name."""
    store = ox.Store.read_only(str(release.store_path))
    quads = as_strings(store)
    assert not any(term.startswith("_:") for quad in quads for term in quad), (
        "blank nodes: comparing sets of quads would no longer be an isomorphism test"
    )
    return quads


def as_strings(quads: Iterable[ox.Quad]) -> Quads:
    return {(str(q.subject), str(q.predicate), str(q.object), str(q.graph_name)) for q in quads}


def file_bytes(release: Release, name: str) -> bytes:
    data = (release.path / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


def reloaded(data: bytes, rdf_format: ox.RdfFormat) -> Quads:
    """A dump loaded into a fresh store, normalized as the release's store normalizes."""
    store = ox.Store()
    store.load(data, format=rdf_format)
    return as_strings(store)


def triples(quads: Quads, graphs: Iterable[str] | None = None) -> set[tuple[str, str, str]]:
    return {(s, p, o) for s, p, o, g in quads if graphs is None or g in graphs}


def graph_iri(name: str) -> str:
    return f"<{GRAPHS[name]}>"


# --------------------------------------------------------------------------- dumps = store


@pytest.mark.parametrize("name", DATASET_DUMPS)
def test_a_dataset_dump_is_the_store_graph_by_graph(release: Release, stored: Quads, name: str):
    dumped = reloaded(file_bytes(release, name), DATASET_DUMPS[name])
    assert {q[3] for q in stored} == {graph_iri(graph) for graph in GRAPHS}
    for graph in GRAPHS:
        expected = triples(stored, [graph_iri(graph)])
        assert expected, graph
        got = triples(dumped, [graph_iri(graph)])
        assert got == expected, (graph, sorted(got ^ expected)[:10])
    assert dumped == stored


@pytest.mark.parametrize("name", UNION_DUMPS)
def test_a_union_dump_is_the_union_of_the_store(release: Release, stored: Quads, name: str):
    dumped = triples(reloaded(file_bytes(release, name), UNION_DUMPS[name]))
    expected = triples(stored, [graph_iri(graph) for graph in UNION_GRAPHS])
    assert dumped == expected, sorted(dumped ^ expected)[:10]


def test_the_metadata_file_is_the_metadata_graph(release: Release, stored: Quads):
    dumped = triples(reloaded(file_bytes(release, METADATA_TURTLE), ox.RdfFormat.TURTLE))
    assert dumped == triples(stored, [graph_iri("metadata")])


# --------------------------------------------------------------------------- store = inputs


def as_written(graph: Graph) -> Terms:
    """Triples as N-Triples terms, as written but for the case of language tags, which RDF
    compares case-insensitively (rdflib's own == would also take "4" and "04" for equal)."""
    return {(s.n3(), p.n3(), tag_lowered(o).n3()) for s, p, o in graph}


def tag_lowered(term: Node) -> Node:
    if isinstance(term, Literal) and term.language:
        return Literal(str(term), lang=term.language.lower())
    return term


def input_graph(folder: str) -> Graph:
    """An input folder read straight with rdflib, not by the build's code."""
    graph = Graph()
    for path in sorted((PACKAGE_ROOT / folder).glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@pytest.fixture(scope="module")
def dumped_graphs(release: Release) -> dict[str, dict[str, Terms]]:
    """Each named graph of each dataset dump, as written, read with rdflib."""
    found = {}
    for name in DATASET_DUMPS:
        dataset = Dataset().parse(data=file_bytes(release, name), format=RDFLIB_FORMATS[name])
        by_iri = {str(graph.identifier): as_written(graph) for graph in dataset.graphs()}
        found[name] = {graph: by_iri.get(str(GRAPHS[graph]), set()) for graph in GRAPHS}
    return found


@pytest.mark.parametrize(("graph", "folder"), [("data", "data"), ("ontology", "ontology")])
@pytest.mark.parametrize("name", DATASET_DUMPS)
def test_a_published_graph_is_exactly_its_input_folder(dumped_graphs, name, graph, folder):
    published, written = dumped_graphs[name][graph], as_written(input_graph(folder))
    assert published - written == set(), "published, but in no input file"
    assert written - published == set(), "in an input file, but not published"


def test_the_store_holds_the_asserted_graph_modulo_its_normalization(stored: Quads):
    """The same comparison against the store: data/ loaded into Oxigraph as the store is."""
    store = ox.Store()
    for path in sorted((PACKAGE_ROOT / "data").glob("*.ttl")):
        store.load(path=str(path), format=ox.RdfFormat.TURTLE)
    assert triples(as_strings(store)) == triples(stored, [graph_iri("data")])


# --------------------------------------------------------------------------- labels

Labels = set[tuple[str, str]]


def tagged(found: Iterable[tuple[Node, ...]]) -> Labels:
    """(text, tag) of every language-tagged literal in object position."""
    return {
        (str(t[2]), t[2].language) for t in found if isinstance(t[2], Literal) and t[2].language
    }


def lower(labels: Labels) -> Labels:
    return {(text, tag.lower()) for text, tag in labels}


def store_labels(stored: Quads, graphs: Iterable[str]) -> Labels:
    """Tagged literals of these graphs of the store (tags lower-cased, as the store keeps them)."""
    iris = [graph_iri(graph) for graph in graphs]
    lines = "".join(f"{s} {p} {o} .\n" for s, p, o in triples(stored, iris))
    return tagged(Graph().parse(data=lines, format="nt"))


@pytest.fixture(scope="module")
def labels_as_written(release: Release, checked) -> dict[str, Labels]:
    """Per graph, the tagged literals as the build wrote them: data/ and ontology/ read
    straight from the files, the derived ones (kk-Latn) and the metadata from the build."""
    derived = tagged(checked.inferred)
    metadata = Graph().parse(data=file_bytes(release, METADATA_TURTLE), format="turtle")
    labels = {"data": "data", "ontology": "ontology"}
    found = {graph: tagged(input_graph(folder)) for graph, folder in labels.items()}
    return found | {"inferred": derived, "metadata": tagged(metadata)}


@pytest.mark.parametrize("name", [*DATASET_DUMPS, *UNION_DUMPS])
def test_every_tagged_literal_survives_each_dump(
    release: Release, stored: Quads, labels_as_written, name: str
):
    graphs = list(GRAPHS) if name in DATASET_DUMPS else list(UNION_GRAPHS)
    data = file_bytes(release, name)
    dumped = tagged(Dataset().parse(data=data, format=RDFLIB_FORMATS[name]).quads())
    written = set().union(*(labels_as_written[graph] for graph in graphs))
    assert len(written) > 500
    assert {tag for _, tag in written} >= {"kk", "kk-Latn", "en", "ru", "zh-Hans"}
    assert lower(dumped) == lower(written)  # every text exactly, with its tag
    assert lower(dumped) == store_labels(stored, graphs)
    for text, _ in sorted(dumped):
        if not set(text) & set('"\\\n\r'):  # else escaped in the file
            assert text.encode("utf-8") in data, text


# --------------------------------------------------------------------------- served formats


def union_as_rdf_xml(client) -> bytes:
    """The union, as a SPARQL client would ask for it in RDF/XML, which no dump offers."""
    union = " ".join(f"FROM <{GRAPHS[graph]}>" for graph in UNION_GRAPHS)
    query = f"CONSTRUCT {{ ?s ?p ?o }} {union} WHERE {{ ?s ?p ?o }}"
    answer = client.get("/sparql", query_string={"query": query, "format": "rdf"})
    assert answer.status_code == 200
    assert answer.mimetype == "application/rdf+xml"
    return answer.data


def test_the_union_as_rdf_xml_is_the_store(client, stored: Quads):
    data = union_as_rdf_xml(client)
    expected = triples(stored, [graph_iri(graph) for graph in UNION_GRAPHS])
    assert triples(reloaded(data, ox.RdfFormat.RDF_XML)) == expected
    # Served from the store: tags as the store keeps them (lower-cased), text exactly.
    dumped = tagged(Graph().parse(data=data, format="xml"))
    assert lower(dumped) == store_labels(stored, UNION_GRAPHS)


ENTITY_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdf": ox.RdfFormat.RDF_XML,
}
KINDS = ("organization", "agreement", "initiative", "domain", "event", "country", "article")
KINDS += ("claim", "outcome")


def one_of_each_kind(stored: Quads) -> list[str]:
    subjects = sorted({s[1:-1] for s, _, _ in triples(stored, [graph_iri("data")])})
    return [next(s for s in subjects if s.startswith(str(ID[f"{kind}/"]))) for kind in KINDS]


def test_each_document_of_a_resource_holds_all_its_facts_in_every_format(client, stored):
    for iri in one_of_each_kind(stored):
        path = iri.removeprefix(str(ID)[: -len("id/")])
        own = {(s, p, o) for s, p, o in triples(stored) if s == f"<{iri}>"}
        documents = {}
        for ext, rdf_format in ENTITY_FORMATS.items():
            answer = client.get(f"/{path}.{ext}")
            assert answer.status_code == 200, (iri, ext)
            documents[ext] = triples(reloaded(answer.data, rdf_format))
        assert own <= documents["ttl"], iri
        assert all(document == documents["ttl"] for document in documents.values()), iri
        own_labels = tagged(Graph().parse(data=client.get(f"/{path}.nt").data, format="nt"))
        in_store = store_labels({q for q in stored if q[0] == f"<{iri}>"}, GRAPHS)
        assert in_store <= lower(own_labels), iri


@pytest.mark.parametrize("name", [*DATASET_DUMPS, *UNION_DUMPS])
def test_the_dumps_keep_language_tags_as_written(release: Release, labels_as_written, name):
    data = file_bytes(release, name)
    dumped = tagged(Dataset().parse(data=data, format=RDFLIB_FORMATS[name]).quads())
    assert {tag for _, tag in dumped} >= {"kk-Latn", "zh-Hans"}
    assert dumped >= labels_as_written["data"] | labels_as_written["inferred"]
