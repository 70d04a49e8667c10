"""/queries: every example query listed, runnable as a page, downloadable in every format."""

import csv
import io
import json

import pytest
from rdflib import Graph

from server.config import PACKAGE_ROOT
from server.examples import load_examples

EXAMPLES = load_examples(PACKAGE_ROOT / "queries")
NAMES = [example.name for example in EXAMPLES]


def test_the_index_lists_every_example(client):
    page = client.get("/queries").data.decode()
    for example in EXAMPLES:
        assert f'href="/queries/{example.name}"' in page
        assert example.question_kk.replace("'", "&#39;").replace('"', "&#34;") in page


def test_the_json_listing(client):
    listing = client.get("/queries.json").get_json()
    assert [item["name"] for item in listing] == NAMES
    assert all(item["query"].startswith("# title:") for item in listing)


@pytest.mark.parametrize("name", NAMES)
def test_each_example_runs_as_a_page(client, name):
    response = client.get(f"/queries/{name}")
    assert response.status_code == 200
    page = response.data.decode()
    assert 'class="error"' not in page
    assert (
        '<table class="results">' in page
        or 'class="answer"' in page
        or '<pre class="graph">' in page
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_example_downloads_in_its_formats(client, name):
    csv_response = client.get(f"/queries/{name}.csv")
    if csv_response.status_code == 404:  # a CONSTRUCT or DESCRIBE: graph formats instead
        turtle = client.get(f"/queries/{name}.ttl")
        assert turtle.content_type == "text/turtle; charset=utf-8"
        assert len(Graph().parse(data=turtle.data, format="turtle")) > 0
        return
    assert csv_response.content_type == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(csv_response.data.decode())))
    assert rows
    body = json.loads(client.get(f"/queries/{name}.json").data)
    assert "boolean" in body or len(body["results"]["bindings"]) == len(rows) - 1
    assert client.get(f"/queries/{name}.tsv").status_code == 200
    assert client.get(f"/queries/{name}.json").headers["ETag"]


def test_the_query_text_itself(client):
    response = client.get(f"/queries/{NAMES[0]}.rq")
    assert response.content_type == "application/sparql-query; charset=utf-8"
    assert response.data.decode() == EXAMPLES[0].text


def test_unknown_names_and_formats_are_404(client):
    assert client.get("/queries/no-such-query").status_code == 404
    assert client.get(f"/queries/{NAMES[0]}.exe").status_code == 404
