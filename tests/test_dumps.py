"""/dumps/: every release file downloadable, checksummed and cacheable, and nothing else;
the dataset's description (/.well-known/void, /dataset), sitemap.xml and robots.txt."""

import gzip
import hashlib
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rdflib import XSD, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from server.config import Settings
from server.pages import dumps
from server.release import (
    MANIFEST_JSON,
    RELEASE_FILES,
    UNION_GRAPHS,
    UNION_NTRIPLES_GZ,
    UNION_TURTLE,
)
from server.vocab import DATASET, GRAPHS, VOID

from .conftest import serving

NAMES = [file.name for file in RELEASE_FILES]
EXPECTED_TYPES = {
    "dataset.trig": "application/trig; charset=utf-8",
    "dataset.nq": "application/n-quads; charset=utf-8",
    "kzcn-kg.ttl": "text/turtle; charset=utf-8",
    "kzcn-kg.nt.gz": "application/gzip",
    "kzcn-kg.jsonld": "application/ld+json; charset=utf-8",
    "metadata.ttl": "text/turtle; charset=utf-8",
    "validation-report.ttl": "text/turtle; charset=utf-8",
    "manifest.json": "application/json",
}
LICENSE_LINK = '<https://creativecommons.org/licenses/by/4.0/>; rel="license"'
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
INTEGER_TYPES = {
    XSD[name]
    for name in (
        "integer",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "long",
        "int",
        "short",
        "byte",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}


@pytest.fixture(scope="module")
def manifest(release_build_dir: Path) -> dict:
    return json.loads((release_build_dir / "current" / MANIFEST_JSON).read_text("utf-8"))


@pytest.fixture(scope="module")
def listing(app) -> dict:
    return app.test_client().get("/dumps/index.json").get_json()


def release_date(manifest: dict) -> str:
    created = datetime.fromisoformat(manifest["created"]).replace(tzinfo=UTC)
    return format_datetime(created, usegmt=True)


def listed(listing: dict, name: str) -> dict:
    return next(item for item in listing["files"] if item["name"] == name)


def test_every_file_of_the_release_is_listed_on_the_page(client, manifest):
    response = client.get("/dumps/")
    assert response.status_code == 200
    page = response.data.decode()
    for name in NAMES:
        assert f'href="/dumps/{name}"' in page
    for name, entry in manifest["files"].items():
        assert entry["sha256"] in page, name
    assert manifest["version"] in page
    assert manifest["created"] in page
    assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license"' in page
    assert "<script>" not in page


@pytest.mark.parametrize(
    ("lang", "heading", "description"),
    [
        ("en", "Downloads", "as sorted, gzipped N-Triples"),
        ("kk", "Жүктеп алу", "gzip арқылы сығылған N-Triples"),
        ("kk-Latn", "Jüktep alu", "gzip arqyly syğylğan"),
        ("ru", "Загрузки", "сжатый gzip"),
        ("zh-Hans", "下载", "gzip 压缩"),
    ],
)
def test_the_page_speaks_every_ui_language(client, lang, heading, description):
    page = client.get(f"/dumps/?lang={lang}").data.decode()
    assert f"<h1>{heading}</h1>" in page
    assert description in page


def test_the_json_listing_matches_the_manifest(listing, manifest):
    assert listing["version"] == manifest["version"]
    assert listing["created"] == manifest["created"]
    assert listing["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert [item["name"] for item in listing["files"]] == NAMES
    for name, entry in manifest["files"].items():
        assert listed(listing, name)["sha256"] == entry["sha256"]
        assert listed(listing, name)["bytes"] == entry["bytes"]
    # The IRIs the DCAT distributions use, served under the same path here.
    assert listed(listing, UNION_TURTLE)["iri"] == "https://w3id.org/kzcn/dumps/kzcn-kg.ttl"


@pytest.mark.parametrize("name", NAMES)
def test_each_file_downloads_with_its_type_and_checksum(client, manifest, listing, name):
    response = client.get(f"/dumps/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == EXPECTED_TYPES[name]
    assert "Content-Encoding" not in response.headers
    digest = hashlib.sha256(response.data).hexdigest()
    if name in manifest["files"]:
        assert digest == manifest["files"][name]["sha256"]
        assert len(response.data) == manifest["files"][name]["bytes"]
    assert digest == listed(listing, name)["sha256"]
    assert digest in client.get("/dumps/").data.decode()
    assert response.headers["ETag"] == f'"{digest}"'
    assert response.headers["Last-Modified"] == release_date(manifest)
    assert "max-age=" in response.headers["Cache-Control"]
    assert response.headers["Link"] == LICENSE_LINK
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    stem, _, ext = name.partition(".")
    suffix = "" if stem == "kzcn-kg" else f"-{stem}"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="kzcn-kg-{manifest["version"]}{suffix}.{ext}"'
    )


def test_the_gzipped_dump_holds_n_triples(client, manifest):
    data = gzip.decompress(client.get(f"/dumps/{UNION_NTRIPLES_GZ}").data)
    graph = Graph().parse(data=data, format="nt")
    assert len(graph) == manifest["union_triples"]


def union_from_the_endpoint(client) -> Graph:
    answer = client.get(
        "/sparql",
        query_string=[
            ("query", "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"),
            *(("default-graph-uri", str(GRAPHS[name])) for name in UNION_GRAPHS),
        ],
        headers={"Accept": "application/n-triples"},
    )
    assert answer.status_code == 200
    return Graph().parse(data=answer.data, format="nt")


def as_the_store_keeps_it(graph: Graph) -> Graph:
    """Oxigraph stores numbers as values: "8"^^xsd:positiveInteger comes back from the store
    as "8"^^xsd:integer (any type derived from xsd:integer does); and it lower-cases language
    tags, which the dumps keep as written ("kk-Latn")."""
    kept = Graph()
    for s, p, o in graph:
        if isinstance(o, Literal) and o.datatype in INTEGER_TYPES:
            o = Literal(int(o), datatype=XSD.integer)
        elif isinstance(o, Literal) and o.language:
            o = Literal(str(o), lang=o.language.lower())
        kept.add((s, p, o))
    return kept


def test_the_turtle_dump_is_the_union_the_endpoint_serves(client):
    dump = Graph().parse(data=client.get(f"/dumps/{UNION_TURTLE}").data, format="turtle")
    endpoint = union_from_the_endpoint(client)
    assert len(dump) == len(endpoint)
    assert isomorphic(as_the_store_keeps_it(dump), endpoint)
    assert (DATASET, VOID.triples, None) not in dump  # the metadata graph is left out


def test_a_fresh_copy_is_not_sent_again(client):
    first = client.get(f"/dumps/{UNION_TURTLE}")
    by_etag = client.get(f"/dumps/{UNION_TURTLE}", headers={"If-None-Match": first.headers["ETag"]})
    assert by_etag.status_code == 304
    assert by_etag.data == b""
    by_date = client.get(
        f"/dumps/{UNION_TURTLE}", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert by_date.status_code == 304
    stale = client.get(f"/dumps/{UNION_TURTLE}", headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200


def test_a_range_can_resume_a_download(client):
    response = client.get(f"/dumps/{UNION_NTRIPLES_GZ}", headers={"Range": "bytes=0-1"})
    assert response.status_code == 206
    assert response.data == b"\x1f\x8b"  # the gzip magic number: the file as it is


@pytest.mark.parametrize(
    "path",
    [
        "/dumps/../manifest.json",
        "/dumps/%2e%2e/x",
        "/dumps/..%2fmanifest.json",
        "/dumps/%2e%2e%2fmanifest.json",
        "/dumps/store",
        "/dumps/store/CURRENT",
        "/dumps//etc/passwd",
        "/dumps/%2Fetc%2Fpasswd",
        "/dumps/queries/who-signed-with-whom.rq",
        "/dumps/./manifest.json",
        "/dumps/MANIFEST.JSON",
        "/dumps/manifest.json/",
    ],
)
def test_nothing_but_the_listed_files_can_be_reached(client, path):
    assert client.get(path).status_code == 404


def test_cors_preflight(client):
    response = client.options(f"/dumps/{UNION_TURTLE}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def void_graph(client, path: str = "/.well-known/void", **headers: str) -> Graph:
    response = client.get(path, headers=headers)
    assert response.status_code == 200
    fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld"}
    media_type = response.headers["Content-Type"].split(";")[0]
    return Graph().parse(data=response.data, format=fmt.get(media_type, "nt"))


def test_the_void_counts_the_union(client, manifest):
    response = client.get("/.well-known/void")
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    graph = void_graph(client)
    assert graph.value(DATASET, VOID.triples) == Literal(manifest["union_triples"])
    assert int(graph.value(DATASET, VOID.triples)) == manifest["union_triples"]


def test_the_void_in_other_formats_is_the_same_graph(client):
    turtle = void_graph(client)
    assert isomorphic(turtle, void_graph(client, Accept="application/ld+json"))
    assert isomorphic(turtle, void_graph(client, Accept="application/n-triples"))
    by_name = client.get("/.well-known/void?format=nt")
    assert isomorphic(turtle, Graph().parse(data=by_name.data, format="nt"))


def test_the_void_negotiates(client):
    response = client.get("/.well-known/void", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert response.headers["Vary"] == "Accept"
    assert client.get("/.well-known/void?format=exe").status_code == 400
    turtle = client.get("/.well-known/void")
    assert turtle.headers["Vary"] == "Accept"
    assert 'rel="alternate"; type="application/ld+json"' in turtle.headers["Link"]
    again = client.get("/.well-known/void", headers={"If-None-Match": turtle.headers["ETag"]})
    assert again.status_code == 304


def test_the_dataset_iri_dereferences(client):
    assert isomorphic(void_graph(client, "/dataset"), void_graph(client))
    assert isomorphic(
        void_graph(client, "/dataset", Accept="application/ld+json"), void_graph(client)
    )
    browser = client.get("/dataset", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.status_code == 303
    assert browser.headers["Location"].endswith("/dumps/")


def test_the_void_names_downloads_that_work(client):
    graph = void_graph(client)
    dumps = list(graph.objects(DATASET, VOID.dataDump))
    assert dumps
    for dump in dumps:
        assert isinstance(dump, URIRef)
        assert str(dump).startswith("https://w3id.org/kzcn/dumps/")
        path = "/" + str(dump).removeprefix("https://w3id.org/kzcn/")
        assert client.get(path).status_code == 200


def test_the_sitemap_lists_pages_resources_and_examples(client, app):
    response = client.get("/sitemap.xml")
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = ElementTree.fromstring(response.data)
    assert root.tag == f"{SITEMAP}urlset"
    locs = {loc.text for loc in root.iter(f"{SITEMAP}loc")}
    for page in ("", "sparql", "queries", "dumps/", "search"):
        assert f"http://localhost/{page}" in locs
    if "ontology.page" in app.view_functions:
        assert "http://localhost/ontology" in locs
    assert "http://localhost/id/country/china" in locs
    assert any(loc.startswith("http://localhost/id/agreement/") for loc in locs)
    for name in app.extensions["kzcn_examples"]:
        assert f"http://localhost/queries/{name}" in locs
    resource = next(loc for loc in sorted(locs) if "/id/organization/" in loc)
    page = client.get(resource.removeprefix("http://localhost"), headers={"Accept": "text/html"})
    assert page.status_code == 303
    # Every thing under the id namespace, which the sitemap finds through its type.
    every = client.get("/sparql", query_string={"query": EVERY_SUBJECT}, headers=JSON_RESULTS)
    subjects = {row["s"]["value"] for row in every.json["results"]["bindings"]}
    assert {loc for loc in locs if "/id/" in loc} == {
        s.replace("https://w3id.org/kzcn/", "http://localhost/") for s in subjects
    }


EVERY_SUBJECT = (
    "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
    'FILTER (isIRI(?s) && STRSTARTS(STR(?s), "https://w3id.org/kzcn/id/")) }'
)
JSON_RESULTS = {"Accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def uncached_client(release_build_dir, store_url):
    """No response cache: the sitemap's limit is changed between requests."""
    settings = Settings(build_dir=release_build_dir, store_url=store_url, cache_bytes=0)
    with serving(settings) as application:
        yield application.test_client()


def test_past_50000_urls_the_sitemap_is_an_index_of_pages(uncached_client, monkeypatch):
    monkeypatch.setattr(dumps, "SITEMAP_URLS", 40)  # the real data has ~130 pages
    client = uncached_client
    index = ElementTree.fromstring(client.get("/sitemap.xml").data)
    assert index.tag == f"{SITEMAP}sitemapindex"
    pages = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    assert pages[0] == "http://localhost/sitemap.xml?page=1" and len(pages) > 2
    listed: list[str] = []
    for page in pages:
        urlset = ElementTree.fromstring(client.get(page.removeprefix("http://localhost")).data)
        assert urlset.tag == f"{SITEMAP}urlset"
        locs = [loc.text for loc in urlset.iter(f"{SITEMAP}loc")]
        assert 0 < len(locs) <= 40
        listed += locs
    assert len(listed) == len(set(listed))
    monkeypatch.setattr(dumps, "SITEMAP_URLS", 50_000)
    whole = ElementTree.fromstring(client.get("/sitemap.xml").data)
    assert listed == [loc.text for loc in whole.iter(f"{SITEMAP}loc")]
    assert client.get(f"/sitemap.xml?page={len(pages) + 1}").status_code == 404


def test_robots_points_to_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.data.decode().splitlines()
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    assert "User-agent: *" in lines
    assert "Disallow: /sparql?" in lines
    assert "Disallow: /sparql" not in lines  # the endpoint's own page stays discoverable


def test_a_release_without_the_list_of_things_asks_the_store(uncached_client, monkeypatch):
    listed = ElementTree.fromstring(uncached_client.get("/sitemap.xml").data)
    monkeypatch.setattr(dumps, "THINGS", "no-such-file.txt")
    asked = ElementTree.fromstring(uncached_client.get("/sitemap.xml").data)
    assert {loc.text for loc in asked.iter(f"{SITEMAP}loc")} == {
        loc.text for loc in listed.iter(f"{SITEMAP}loc")
    }
