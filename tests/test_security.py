"""Security headers: every HTML page allows scripts only from our origin, cannot be framed,
and no response lets a browser guess its type."""

import json
import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import HOSTILE_LABEL
from .test_fuzz_harness import check_security_headers, fuzz

PAGES = [
    "/sparql",
    "/queries",
    "/queries/who-signed-with-whom",
    "/id/organization/al-farabi-kazakh-national-university.html",
    "/classes/Company",
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


@pytest.mark.parametrize("path", PAGES)
def test_html_pages_carry_a_strict_policy(client, path):
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_executable_script(client, path):
    html = client.get(path, headers={"Accept": BROWSER}).data.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert (
            "src=" in tag
            or 'type="application/json"' in tag
            or ('type="application/ld+json"' in tag)
        ), tag
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler"


def test_data_answers_are_not_sniffed(client):
    response = client.get("/sparql", query_string={"query": "ASK {}"})
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- security headers on every HTML answer of every route (issue #6) -----------------------

# One path per route of the application, to reach each with a browser's Accept. A route added
# without a sample here fails `test_every_route_has_a_sample`, so none is left unchecked.
ROUTE_SAMPLES = {
    "/": "/",
    "/sparql": "/sparql",
    "/queries": "/queries",
    "/queries.json": "/queries.json",
    "/queries/<name>": "/queries/who-signed-with-whom",
    "/queries/<name>.<ext>": "/queries/who-signed-with-whom.csv",
    "/id/<path:rest>": "/id/organization/al-farabi-kazakh-national-university",
    "/classes/": "/classes/",
    "/classes/<name>": "/classes/Company",
    "/dumps/": "/dumps/",
    "/dumps/index.json": "/dumps/index.json",
    "/dumps/<path:filename>": "/dumps/metadata.ttl",
    "/.well-known/void": "/.well-known/void",
    "/dataset": "/dataset",
    "/sitemap.xml": "/sitemap.xml",
    "/robots.txt": "/robots.txt",
    "/ontology": "/ontology",
    "/ontology/": "/ontology/",
    "/ontology/<version>": "/ontology/0.1.0",
    "/search": "/search?q=tsinghua",
    "/search.json": "/search.json?q=tsinghua",
    "/reconcile": "/reconcile",
    "/reconcile/view": "/reconcile/view?id=inst:tsinghua-university",
    "/reconcile/preview": "/reconcile/preview?id=inst:tsinghua-university",
    "/reconcile/suggest/entity": "/reconcile/suggest/entity?prefix=tsing",
    "/healthz": "/healthz",
    "/metrics": "/metrics",
    "/static/<path:filename>": "/static/site.css",
}


def test_every_route_has_a_sample(app):
    assert {rule.rule for rule in app.url_map.iter_rules()} == set(ROUTE_SAMPLES)


@fuzz(60)
@given(
    path=st.sampled_from(sorted(ROUTE_SAMPLES.values())),
    variant=st.sampled_from(["", ".html", "x", "/", "?lang=kk", "&lang=zh-Hans", "%00"]),
    method=st.sampled_from(["GET", "GET", "HEAD", "POST", "OPTIONS", "PUT"]),
    accept=st.sampled_from([BROWSER, "text/html", "*/*", "text/turtle"]),
)
def test_every_html_answer_of_every_route_carries_the_headers(app, path, variant, method, accept):
    """Pages, error pages (404, 405, 400) and redirects alike: whatever a route answers in
    HTML carries the policy, for any method and a mangled path too."""
    response = app.test_client().open(path + variant, method=method, headers={"Accept": accept})
    assert response.status_code < 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    if response.mimetype == "text/html":
        check_security_headers(response.headers.get)
    response.close()


# --- markup in the data is text everywhere (issue #6) --------------------------------------

MARKUP = ("<script>alert", "<b>University")


def test_every_page_of_the_site_shows_markup_as_text(hostile_app):
    """Every page the sitemap lists (home, every resource, class, example query, search,
    the ontology…), in the language whose label is the hostile one."""
    client = hostile_app.test_client()
    sitemap = ElementTree.fromstring(client.get("/sitemap.xml").data)
    paths = [urlsplit(loc.text).path for loc in sitemap.iter(f"{{{SITEMAP}}}loc")]
    assert "/id/organization/alt-university" in paths
    shown = 0
    for path in paths:
        response = client.get(
            path, query_string={"lang": "en"}, headers={"Accept": BROWSER}, follow_redirects=True
        )
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert not any(markup in html for markup in MARKUP), path
        shown += "&lt;script&gt;alert" in html
    assert shown > 3  # the label is on several pages: its own, the agreement's, the class…


def test_search_and_reconciliation_answers_keep_markup_as_data(hostile_app):
    """JSON carries the label as it is (a client must escape it); HTML never holds it raw."""
    client = hostile_app.test_client()
    batch = json.dumps({"q0": {"query": "ALT University", "type": "Organization"}})
    found = client.post("/reconcile", data={"queries": batch}).get_json()["q0"]["result"]
    assert found[0]["id"].endswith("/alt-university") and found[0]["name"] == HOSTILE_LABEL
    suggested = client.get("/reconcile/suggest/entity?prefix=alt+univ&lang=en").get_json()
    assert HOSTILE_LABEL in [s["name"] for s in suggested["result"]]
    jsonp = client.get("/search.json?q=alt+university&lang=en&callback=cb").get_data(as_text=True)
    assert jsonp.startswith("/**/cb(") and HOSTILE_LABEL.replace('"', '\\"') in jsonp


def test_the_not_found_page_suggests_a_hostile_name_as_text(hostile_app):
    response = hostile_app.test_client().get(
        "/id/organization/alt-universty.html?lang=en", headers={"Accept": BROWSER}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert 'href="/id/organization/alt-university' in html
    assert "&lt;script&gt;alert" in html and not any(markup in html for markup in MARKUP)
