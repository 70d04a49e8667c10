"""/ontology: the namespace document of every kzcn term — documentation for browsers, the
ontology graph for machines."""

import re

import pytest
from rdflib import OWL, RDF, Graph, URIRef
from rdflib.compare import isomorphic

from server.config import PACKAGE_ROOT
from server.vocab import KZCN, ONTOLOGY_IRI

from .test_ontology import CLASSES, OBJECT_PROPERTIES

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PROPERTIES = OBJECT_PROPERTIES
SOURCE = Graph().parse(PACKAGE_ROOT / "ontology" / "kzcn.ttl", format="turtle")


def page(client, query: str = "") -> str:
    response = client.get(f"/ontology{query}", headers={"Accept": BROWSER})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return response.data.decode()


def entry(html: str, name: str) -> str:
    """The HTML of one term's entry: from its anchor to the end of its section."""
    start = html.index(f'<section class="term" id="{name}">')
    return html[start : html.index("</section>", start)]


@pytest.mark.parametrize("name", CLASSES + PROPERTIES)
def test_every_term_of_the_contract_has_an_anchor(client, name):
    assert f'id="{name}"' in page(client)


def test_every_term_of_the_ontology_has_an_anchor(client):
    html = page(client)
    terms = {s for s in SOURCE.subjects() if str(s).startswith(str(KZCN))}
    assert terms
    for term in terms:
        assert f'<section class="term" id="{term.removeprefix(str(KZCN))}">' in html


def test_the_page_tells_what_the_ontology_is(client):
    html = page(client)
    assert "Kazakhstan–China academic cooperation ontology" in html
    assert "0.1.0" in html
    assert 'href="/ontology/0.1.0"' in html
    assert 'href="https://creativecommons.org/licenses/by/4.0/" rel="license"' in html
    assert "<script>" not in html


def test_a_class_entry(client):
    agreement = entry(page(client), "Agreement")
    assert "A document or arrangement between two or more parties" in agreement
    assert 'href="https://schema.org/CreativeWork">schema:CreativeWork</a>' in agreement
    assert 'href="http://www.w3.org/ns/prov#Entity">prov:Entity</a>' in agreement
    assert 'href="#Memorandum"' in agreement  # a subclass
    assert 'href="#party"' in agreement  # a property whose domain it is
    assert re.search(r'href="/id/agreement/[a-z0-9-]+"', agreement)  # an example instance
    assert '<span class="count">(20)</span>' in agreement


def test_a_property_entry(client):
    party = entry(page(client), "party")
    assert 'href="#Agreement"' in party  # domain
    assert 'href="#Organization"' in party  # range
    assert 'href="#partyTo"' in party  # inverse
    assert party.count('class="example"') == 3
    concerns = entry(page(client), "concerns")
    assert "schema:domainIncludes" in concerns
    assert 'href="#Initiative"' in concerns
    partner = entry(page(client), "partner")
    assert "owl:SymmetricProperty" in partner


def test_individuals_and_schemes(client):
    html = page(client)
    assert 'href="#AgreementStatus"' in entry(html, "Signed")
    assert 'href="#AgreementStatusScheme"' in entry(html, "Signed")
    assert 'href="#Bachelor"' in entry(html, "DegreeLevelScheme")
    assert re.search(r'href="/id/domain/[a-z0-9-]+"', entry(html, "ResearchDomainScheme"))


def test_kazakh_labels(client):
    html = page(client, "?lang=kk")
    assert '<html lang="kk">' in html
    agreement = entry(html, "Agreement")
    assert '<span lang="kk">Келісім</span>' in agreement
    assert "Кластар" in html
    assert "Дереккөз хабарлағандай" in agreement  # the Kazakh definition
    assert 'class="fallback"' not in agreement


def test_latin_kazakh_labels_come_from_the_inferred_graph(client):
    agreement = entry(page(client, "?lang=kk-Latn"), "Agreement")
    assert re.search(r'<span lang="kk-latn">Kel[ıi]s[ıi]m</span>', agreement, re.IGNORECASE)
    # No Latin-script definitions exist: the Cyrillic one is shown and marked as a fallback.
    assert '<span lang="kk">Дереккөз хабарлағандай' in agreement
    assert '<sup class="fallback"' in agreement


def test_russian_readers_get_marked_fallbacks(client):
    html = page(client, "?lang=ru")
    assert "Классы" in html
    assert '<sup class="fallback"' in entry(html, "Agreement")


def test_turtle_for_machines(client):
    response = client.get("/ontology", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"
    assert "kzcn:Agreement a owl:Class" in response.data.decode()
    graph = Graph().parse(data=response.data, format="turtle")
    assert (KZCN.Agreement, RDF.type, OWL.Class) in graph
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in graph
    assert isomorphic(graph, SOURCE)  # the ontology graph, and nothing else
    assert response.headers["Vary"] == "Accept"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_no_accept_header_gets_turtle(client):
    response = client.get("/ontology")
    assert response.headers["Content-Type"] == "text/turtle; charset=utf-8"


@pytest.mark.parametrize(
    ("accept", "fmt"),
    [
        ("application/n-triples", "nt"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("text/turtle;q=0.5, application/ld+json;q=0.9", "json-ld"),
    ],
)
def test_other_formats_by_accept(client, accept, fmt):
    response = client.get("/ontology", headers={"Accept": accept})
    assert response.status_code == 200
    graph = Graph().parse(data=response.data, format=fmt)
    assert (KZCN.Agreement, RDF.type, OWL.Class) in graph


def test_format_parameter(client):
    response = client.get("/ontology?format=jsonld", headers={"Accept": BROWSER})
    assert response.headers["Content-Type"] == "application/ld+json; charset=utf-8"
    html = client.get("/ontology?format=html", headers={"Accept": "text/turtle"})
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert client.get("/ontology?format=exe").status_code == 400


def test_not_acceptable(client):
    response = client.get("/ontology", headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "text/turtle" in response.data.decode()
    assert response.headers["Vary"] == "Accept"


def test_alternates_and_validators(client):
    response = client.get("/ontology", headers={"Accept": "text/turtle"})
    links = response.headers["Link"]
    for media_type in ("text/html", "text/turtle", "application/ld+json", "application/n-triples"):
        assert f'rel="alternate"; type="{media_type}"' in links
    again = client.get(
        "/ontology",
        headers={"Accept": "text/turtle", "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    html = client.get("/ontology", headers={"Accept": BROWSER})
    assert "Accept" in html.headers["Vary"]
    assert 'rel="alternate"' in html.headers["Link"]


def test_other_paths_of_the_namespace(client):
    assert 'id="Agreement"' in client.get("/ontology/", headers={"Accept": BROWSER}).data.decode()
    version = client.get("/ontology/0.1.0", headers={"Accept": "text/turtle"})
    assert version.status_code == 200
    graph = Graph().parse(data=version.data, format="turtle")
    assert (ONTOLOGY_IRI, OWL.versionIRI, URIRef("https://w3id.org/kzcn/ontology/0.1.0")) in graph
    assert client.get("/ontology/9.9.9", headers={"Accept": "text/turtle"}).status_code == 404


def test_resource_pages_link_to_the_ontology_anchors(client):
    html = page(client)
    resource = client.get("/id/country/china.html").data.decode()
    for anchor in set(re.findall(r'href="/ontology#(\w+)"', resource)):
        assert f'id="{anchor}"' in html
