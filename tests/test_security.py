"""Security headers: every HTML page allows scripts only from our origin, cannot be framed,
and no response lets a browser guess its type."""

import re

import pytest

PAGES = [
    "/sparql",
    "/queries",
    "/queries/who-signed-with-whom",
    "/id/organization/al-farabi-kazakh-national-university.html",
    "/classes/Company",
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


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
