"""The SPARQL 1.1 Protocol, written from the specifications: each way to send a query, each
result format parsed back by a real parser, content negotiation, dataset parameters, errors,
the service description, CORS, caching, and the limits that keep the service safe."""

import csv
import io
import json
import socket
import threading
import time
import xml.etree.ElementTree as ET

import pytest
from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import Namespace

from server import create_app
from server.vocab import GRAPHS, PREFIXES

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNTRIES = (
    "SELECT ?c ?label WHERE { ?c a kzcn:Country ; rdfs:label ?label . "
    'FILTER (lang(?label) = "en") } ORDER BY ?label'
)
PARTNERS = "CONSTRUCT { ?a kzcn:partner ?b } WHERE { ?a kzcn:partner ?b }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def json_count(response) -> int:
    return int(response.get_json()["results"]["bindings"][0]["n"]["value"])


# --- the three ways to send a query -------------------------------------------------------


def test_get(client):
    response = client.get("/sparql", query_string={"query": COUNTRIES})
    assert response.status_code == 200
    assert response.content_type == "application/sparql-results+json; charset=utf-8"
    labels = [b["label"]["value"] for b in response.get_json()["results"]["bindings"]]
    assert labels == ["China", "Kazakhstan"]


def test_post_form(client):
    response = client.post("/sparql", data={"query": COUNTRIES})
    assert response.status_code == 200
    assert len(response.get_json()["results"]["bindings"]) == 2


def test_post_direct(client):
    response = client.post(
        "/sparql", data=COUNTRIES.encode(), content_type="application/sparql-query"
    )
    assert response.status_code == 200
    assert len(response.get_json()["results"]["bindings"]) == 2


def test_the_dataset_prefixes_are_known(client):
    for prefix in (
        "kzcn",
        "schema",
        "skos",
        "rdfs",
        "owl",
        "prov",
        "org",
        "foaf",
        "dcterms",
        "xsd",
        "inst",
    ):
        assert prefix in PREFIXES
    query = "ASK { inst:al-farabi-kazakh-national-university a schema:CollegeOrUniversity }"
    assert client.get("/sparql", query_string={"query": query}).get_json()["boolean"] is True


# --- result formats, each parsed back ---------------------------------------------------


def test_sparql_xml(client):
    response = client.get(
        "/sparql",
        query_string={"query": COUNTRIES},
        headers={"Accept": "application/sparql-results+xml"},
    )
    assert response.content_type == "application/sparql-results+xml; charset=utf-8"
    root = ET.fromstring(response.data)
    literals = [e.text for e in root.iter(f"{RESULTS_NS}literal")]
    assert literals == ["China", "Kazakhstan"]


def test_csv_and_tsv(client):
    csv_response = client.get("/sparql", query_string={"query": COUNTRIES, "format": "csv"})
    assert csv_response.content_type == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(csv_response.data.decode())))
    assert [r["label"] for r in rows] == ["China", "Kazakhstan"]
    tsv = client.get(
        "/sparql",
        query_string={"query": COUNTRIES},
        headers={"Accept": "text/tab-separated-values"},
    )
    assert tsv.content_type == "text/tab-separated-values; charset=utf-8"
    lines = tsv.data.decode().splitlines()
    assert lines[0] == "?c\t?label"
    assert lines[1].endswith('\t"China"@en')


@pytest.mark.parametrize(
    ("media_type", "rdflib_format"),
    [
        ("text/turtle", "turtle"),
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("application/trig", "trig"),
        ("application/n-quads", "nquads"),
    ],
)
def test_graph_formats_parse_back(client, everything, media_type, rdflib_format):
    response = client.get(
        "/sparql", query_string={"query": PARTNERS}, headers={"Accept": media_type}
    )
    assert response.status_code == 200
    assert response.content_type == f"{media_type}; charset=utf-8"
    if rdflib_format in ("trig", "nquads"):
        parsed = Dataset()
        parsed.parse(data=response.data, format=rdflib_format)
        triples = {(s, p, o) for s, p, o, _ in parsed.quads()}
    else:
        triples = set(Graph().parse(data=response.data, format=rdflib_format))
    expected = set(everything.triples((None, URIRef(PREFIXES["kzcn"] + "partner"), None)))
    assert triples == expected


def test_ask_in_json_and_xml(client):
    query = "ASK { ?a kzcn:status kzcn:Planned }"
    assert client.get("/sparql", query_string={"query": query}).get_json() == {
        "head": {},
        "boolean": True,
    }
    xml = client.get("/sparql", query_string={"query": query, "format": "xml"})
    assert ET.fromstring(xml.data).find(f"{RESULTS_NS}boolean").text == "true"


def test_describe(client):
    query = "DESCRIBE inst:alt-university"
    graph = Graph().parse(
        data=client.get("/sparql", query_string={"query": query}).data, format="turtle"
    )
    subject = URIRef(PREFIXES["inst"] + "alt-university")
    assert len(set(graph.predicates(subject, None))) >= 5


# --- content negotiation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/sparql-results+json", "application/sparql-results+json"),
        ("application/json", "application/sparql-results+json"),
        ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
        ("application/sparql-results+json;q=0, */*;q=0.1", "application/sparql-results+xml"),
        ("text/*", "text/csv"),
        ("*/*", "application/sparql-results+json"),
    ],
)
def test_accept_with_q_values(client, accept, expected):
    response = client.get("/sparql", query_string={"query": COUNTRIES}, headers={"Accept": accept})
    assert response.content_type == f"{expected}; charset=utf-8"
    assert "Accept" in response.headers["Vary"]


def test_406_for_an_accept_we_cannot_meet(client):
    response = client.get(
        "/sparql", query_string={"query": COUNTRIES}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.data.decode()


def test_format_parameter_overrides_accept(client):
    response = client.get(
        "/sparql",
        query_string={"query": PARTNERS, "format": "nt"},
        headers={"Accept": "text/turtle"},
    )
    assert response.content_type == "application/n-triples; charset=utf-8"
    bad = client.get("/sparql", query_string={"query": COUNTRIES, "format": "ttl"})
    assert bad.status_code == 400
    assert "json, xml, csv, tsv" in bad.data.decode()


# --- the dataset ---------------------------------------------------------------------------


def test_default_graph_is_the_union(client, release_build_dir):
    manifest = json.loads((release_build_dir / "current" / "manifest.json").read_text())
    total = sum(graph["triples"] for graph in manifest["graphs"].values())
    assert json_count(client.get("/sparql", query_string={"query": COUNT_ALL})) == total


@pytest.mark.parametrize("name", ["ontology", "data", "inferred", "metadata"])
def test_default_graph_uri_selects_one_graph(client, release_build_dir, name):
    manifest = json.loads((release_build_dir / "current" / "manifest.json").read_text())
    response = client.get(
        "/sparql", query_string={"query": COUNT_ALL, "default-graph-uri": str(GRAPHS[name])}
    )
    assert json_count(response) == manifest["graphs"][name]["triples"]


def test_named_graph_uri_limits_the_named_graphs(client):
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get(
        "/sparql", query_string={"query": query, "named-graph-uri": str(GRAPHS["data"])}
    )
    graphs = [b["g"]["value"] for b in response.get_json()["results"]["bindings"]]
    assert graphs == [str(GRAPHS["data"])]


def test_asserted_and_inferred_graphs_can_be_asked_apart(client):
    query = "ASK { GRAPH <%s> { inst:alt-university a schema:CollegeOrUniversity } }"
    assert (
        client.get("/sparql", query_string={"query": query % GRAPHS["inferred"]}).get_json()[
            "boolean"
        ]
        is True
    )
    assert (
        client.get("/sparql", query_string={"query": query % GRAPHS["data"]}).get_json()["boolean"]
        is False
    )


# --- service description and the editor ----------------------------------------------------


def test_service_description_for_machines(client):
    response = client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    graph = Graph().parse(data=response.data, format="turtle")
    service = next(graph.subjects(URIRef(SD.endpoint), None))
    assert graph.value(service, SD.endpoint) == URIRef("http://localhost/sparql")
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph
    assert len(list(graph.objects(service, SD.resultFormat))) == 10
    names = set(graph.objects(None, SD.name))
    assert names == {URIRef(str(iri)) for iri in GRAPHS.values()}


def test_the_editor_for_browsers(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", headers={"Accept": browser})
    assert response.content_type == "text/html; charset=utf-8"
    assert b"<form" in response.data and b'name="query"' in response.data
    curl = client.get("/sparql", headers={"Accept": "*/*"})
    assert curl.content_type == "text/turtle; charset=utf-8"


# --- CORS ----------------------------------------------------------------------------------


def test_cors_on_answers_and_preflight(client):
    response = client.get(
        "/sparql", query_string={"query": COUNTRIES}, headers={"Origin": "https://example.org"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options(
        "/sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


# --- errors --------------------------------------------------------------------------------


def test_a_malformed_query_gets_the_parsers_message(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE {\n  ?s ?p \n"})
    assert response.status_code == 400
    assert response.content_type == "text/plain; charset=utf-8"
    assert "error at 3:1" in response.data.decode()


def test_two_query_parameters(client):
    response = client.get("/sparql?query=ASK%7B%7D&query=ASK%7B%7D")
    assert response.status_code == 400
    assert "exactly one query" in response.data.decode()


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/sparql", data={"update": "CLEAR ALL"}),
        lambda c: c.post("/sparql", data=b"CLEAR ALL", content_type="application/sparql-update"),
        lambda c: c.get("/sparql", query_string={"query": "CLEAR ALL"}),
        lambda c: c.get("/sparql", query_string={"query": f"DROP GRAPH <{GRAPHS['data']}>"}),
    ],
)
def test_updates_are_refused_and_never_run(client, send):
    response = send(client)
    assert 400 <= response.status_code < 500
    assert "read-only" in response.data.decode()
    assert (
        json_count(
            client.get(
                "/sparql",
                query_string={"query": COUNT_ALL, "default-graph-uri": str(GRAPHS["data"])},
            )
        )
        > 1000
    )


def test_unknown_content_type_is_415(client):
    response = client.post("/sparql", data=b"{}", content_type="application/json")
    assert response.status_code == 415


def test_an_overlong_query_is_413(client, app):
    limit = app.config["KZCN_SETTINGS"].max_query_bytes
    query = "ASK {} #" + "x" * limit
    assert (
        client.post(
            "/sparql", data=query.encode(), content_type="application/sparql-query"
        ).status_code
        == 413
    )


def test_deep_nesting_is_refused(client):
    query = "ASK " + "{" * 200 + "}" * 200
    response = client.get("/sparql", query_string={"query": query})
    assert response.status_code == 400
    assert "nests brackets 200 deep" in response.data.decode()


class Listener:
    """A local TCP listener that records whether anyone connected."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while not self.stopped:
            try:
                conn, _ = self.socket.accept()
                self.connections += 1
                conn.close()
            except TimeoutError:
                continue

    def close(self) -> None:
        self.stopped = True
        self.thread.join()
        self.socket.close()


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * WHERE { SERVICE <http://127.0.0.1:%d/sparql> { ?s ?p ?o } }",
        "select * where { service silent <http://127.0.0.1:%d/sparql> { ?s ?p ?o } }",
        "SELECT * WHERE { ?s ?p ?o . SeRvIcE <http://127.0.0.1:%d/> { ?s ?p ?x } } LIMIT 1",
    ],
)
def test_service_is_refused_and_no_connection_is_made(client, query):
    listener = Listener()
    try:
        response = client.get("/sparql", query_string={"query": query % listener.port})
        time.sleep(0.3)
        assert response.status_code == 400
        assert "SERVICE" in response.data.decode()
        assert listener.connections == 0
    finally:
        listener.close()


# --- time and size limits ------------------------------------------------------------------


def test_a_runaway_query_is_stopped_and_others_keep_being_answered(client):
    started = time.monotonic()
    response = client.get("/sparql", query_string={"query": RUNAWAY, "timeout": "1"})
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "time limit of 1 s" in response.data.decode()
    assert response.headers["Retry-After"]
    assert elapsed < 5
    assert client.get("/sparql", query_string={"query": COUNTRIES}).status_code == 200


def test_a_runaway_query_replaces_its_worker_process(embedded_app):
    # The embedded store's own machinery: a remote store has no query processes to kill.
    pool = embedded_app.extensions["kzcn_queries"].store.pool
    replaced = pool.replaced
    response = embedded_app.test_client().get(
        "/sparql", query_string={"query": RUNAWAY, "timeout": "1"}
    )
    assert response.status_code == 503
    assert pool.replaced == replaced + 1


@pytest.fixture(scope="module")
def strict_app(release_build_dir, store_url):
    """An application with tight limits: 1 s per query, 2000 bytes per result."""
    from server.config import Settings

    settings = Settings(
        build_dir=release_build_dir,
        store_url=store_url,
        query_timeout=1.0,
        max_result_bytes=2000,
        # Two: while the worker a time-out killed is replaced, the other answers the next test.
        query_workers=2,
    )
    application = create_app(settings)
    yield application
    application.extensions["kzcn_queries"].store.close()


def test_clients_may_lower_the_time_limit_but_not_raise_it(client, strict_app):
    lowered = client.get("/sparql", query_string={"query": RUNAWAY, "timeout": "0.5"})
    assert "time limit of 0.5 s" in lowered.data.decode()
    raised = strict_app.test_client().get(
        "/sparql", query_string={"query": RUNAWAY, "timeout": "100"}
    )
    assert raised.status_code == 503
    assert "time limit of 1 s" in raised.data.decode()
    bad = client.get("/sparql", query_string={"query": "ASK {}", "timeout": "abc"})
    assert bad.status_code == 400


def test_a_result_over_the_limit_is_an_explicit_error(strict_app):
    response = strict_app.test_client().get(
        "/sparql", query_string={"query": "SELECT * WHERE { ?s ?p ?o }"}
    )
    assert response.status_code == 413
    assert "larger than the limit of 2000 bytes" in response.data.decode()
    small = strict_app.test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert small.status_code == 200


# --- caching -------------------------------------------------------------------------------


def test_etag_and_304(client, app):
    first = client.get("/sparql", query_string={"query": COUNTRIES})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    again = client.get(
        "/sparql", query_string={"query": COUNTRIES}, headers={"If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.data == b""
    other_format = client.get("/sparql", query_string={"query": COUNTRIES, "format": "csv"})
    assert other_format.headers["ETag"] != etag


def test_a_repeated_request_is_answered_by_the_fast_path(client, app):
    fast = app.extensions["kzcn_fastpath"].cache
    answers = app.extensions["kzcn_queries"].cache
    query = "SELECT ?x WHERE { ?x a kzcn:Memorandum } ORDER BY ?x"
    first = client.get("/sparql", query_string={"query": query})
    hits, answer_hits = fast.hits, answers.hits
    second = client.get("/sparql", query_string={"query": query})
    assert fast.hits == hits + 1
    assert answers.hits == answer_hits  # answered before Flask: no view ran
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.content_type == first.content_type
    revalidated = client.get(
        "/sparql", query_string={"query": query}, headers={"If-None-Match": first.headers["ETag"]}
    )
    assert revalidated.status_code == 304
    assert revalidated.headers["ETag"] == first.headers["ETag"]


def test_another_accept_for_the_same_format_reuses_the_answer(client, app):
    answers = app.extensions["kzcn_queries"].cache
    query = "SELECT ?x WHERE { ?x a kzcn:SupplementaryAgreement }"
    client.get(
        "/sparql",
        query_string={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    hits = answers.hits
    again = client.get(
        "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
    )
    assert answers.hits == hits + 1
    assert again.content_type == "application/sparql-results+json; charset=utf-8"


def test_errors_and_posts_are_never_replayed(client, app):
    fast = app.extensions["kzcn_fastpath"].cache
    bad = {"query": "SELECT * WHERE { ?s"}
    client.get("/sparql", query_string=bad)
    hits = fast.hits
    assert client.get("/sparql", query_string=bad).status_code == 400
    assert fast.hits == hits
    client.post("/sparql", data={"query": COUNTRIES})
    assert client.post("/sparql", data={"query": COUNTRIES}).status_code == 200
    assert fast.hits == hits


# --- operations ----------------------------------------------------------------------------


def test_healthz_names_the_dataset_version(client, release_build_dir):
    manifest = json.loads((release_build_dir / "current" / "manifest.json").read_text())
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert body["version"] == manifest["version"]


def test_metrics_in_prometheus_text_format(client):
    client.get("/sparql", query_string={"query": COUNTRIES})
    text = client.get("/metrics").data.decode()
    assert 'kzcn_requests_total{route="/sparql",status="200"}' in text
    assert 'kzcn_request_seconds_bucket{le="+Inf"}' in text
    assert 'kzcn_cache_hits_total{cache="responses"}' in text
    assert "kzcn_query_timeouts_total" in text


def test_format_parameter_gets_the_service_description_even_in_a_browser(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql?format=ttl", headers={"Accept": browser})
    assert response.content_type == "text/turtle; charset=utf-8"
    assert client.get("/sparql?format=png").status_code == 400


def test_from_in_the_query_chooses_the_dataset(client, release_build_dir):
    manifest = json.loads((release_build_dir / "current" / "manifest.json").read_text())
    query = f"SELECT (COUNT(*) AS ?n) FROM <{GRAPHS['data']}> WHERE {{ ?s ?p ?o }}"
    response = client.get("/sparql", query_string={"query": query})
    assert json_count(response) == manifest["graphs"]["data"]["triples"]


UNKNOWN_FUNCTION = "SELECT (<urn:no-such-function>(1) AS ?x) WHERE {}"


def test_an_unknown_function_is_a_400(client):
    response = client.get("/sparql", query_string={"query": UNKNOWN_FUNCTION})
    assert response.status_code == 400


def test_an_unknown_function_does_not_kill_a_worker(embedded_app):
    # The embedded store's own machinery, as above.
    pool = embedded_app.extensions["kzcn_queries"].store.pool
    replaced = pool.replaced
    response = embedded_app.test_client().get("/sparql", query_string={"query": UNKNOWN_FUNCTION})
    assert response.status_code == 400
    assert pool.replaced == replaced
