"""`kzcn-kg serve` for real: granian on a loopback port, spoken to over HTTP. Its faults
(killed workers, new releases, broken builds) are in test_faults.py."""

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .live import start, stop

RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def server(release_build_dir: Path) -> Iterator[str]:
    process, base = start(release_build_dir)
    yield base
    log = stop(process)
    assert "Traceback" not in log, log


def get(base: str, query: str, accept: str = "application/sparql-results+json", **params):
    url = f"{base}/sparql?" + urllib.parse.urlencode({"query": query, **params})
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_queries_over_http(server):
    status, headers, body = get(server, "SELECT (COUNT(*) AS ?n) { ?a a kzcn:Agreement }")
    assert status == 200
    assert headers["Content-Type"] == "application/sparql-results+json; charset=utf-8"
    assert json.loads(body)["results"]["bindings"][0]["n"]["value"] == "20"


def test_post_form_over_http(server):
    data = urllib.parse.urlencode({"query": "ASK { ?s kzcn:partner ?o }"}).encode()
    request = urllib.request.Request(
        server + "/sparql",
        data=data,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["boolean"] is True


def test_a_runaway_query_does_not_hold_up_the_others(server):
    results: dict[str, object] = {}

    def runaway() -> None:
        results["runaway"] = get(server, RUNAWAY, timeout="3")[0]

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    status, _, _ = get(server, "SELECT ?c WHERE { ?c a kzcn:Country }")
    assert status == 200
    assert time.monotonic() - started < 2  # answered while the runaway still runs
    thread.join()
    assert results["runaway"] == 503


def test_access_log_is_structured(release_build_dir: Path):
    process, base = start(release_build_dir)
    get(base, "ASK {}")
    log = stop(process)
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    asks = [line for line in lines if line["path"] == "/sparql"]
    assert asks and asks[0]["status"] == 200 and asks[0]["method"] == "GET"
    assert {"time", "ms", "bytes"} <= set(asks[0])


def test_serve_builds_first_when_there_is_no_release(tmp_path: Path):
    process, base = start(tmp_path / "empty-build")
    try:
        status, _, _ = get(base, "ASK { ?a a kzcn:Agreement }")
        assert status == 200
        assert (tmp_path / "empty-build" / "current").is_symlink()
    finally:
        stop(process)
