"""The response cache (server/fastpath.py): every GET 200 that depends only on the request
line, Accept and Accept-Language is replayed from memory, by one rule rather than view by view.
Replays are observed through the cache's own counters, never through timing."""

from dataclasses import replace

import pytest
from flask import Flask

from server.current_release import EXTENSION, VERSION_HEADER, Served
from server.fastpath import ResponseCache
from server.security import HEADERS

ENTITY = "/id/organization/alt-university.html"
PAGES = [
    "/",
    ENTITY + "?lang=kk",
    "/classes/",
    "/search?q=university",
    "/search.json?q=university",
    "/queries",
    "/queries.json",
    "/dumps/",
    "/ontology/",
    "/reconcile",
]


@pytest.fixture
def app(embedded_app: Flask) -> Flask:
    """Over the embedded store only (the cache sits before any store), with this module's own
    application, so that no other module's requests are replayed here."""
    return embedded_app


def fastpath(app: Flask) -> ResponseCache:
    return app.extensions["kzcn_fastpath"]


def hits(app: Flask) -> int:
    return fastpath(app).cache.hits


@pytest.mark.parametrize("path", PAGES)
def test_a_page_asked_twice_is_replayed_from_memory(app, path):
    client = app.test_client()
    first = client.get(path)
    assert first.status_code == 200, first.data[:300]
    before, entries = hits(app), len(fastpath(app).cache.entries)
    second = client.get(path)
    assert hits(app) == before + 1
    assert len(fastpath(app).cache.entries) == entries  # nothing new recorded: a replay
    assert second.status_code == 200
    assert second.data == first.data
    assert second.headers["Content-Type"] == first.headers["Content-Type"]


def test_each_language_is_its_own_variant(app):
    client = app.test_client()
    pages = {}
    for language in ("kk", "ru", "zh-CN", "en"):
        for _ in range(2):  # the second of each is a replay, which must keep its language
            before = hits(app)
            response = client.get(ENTITY, headers={"Accept-Language": language})
            assert response.status_code == 200
        assert hits(app) == before + 1
        pages[language] = response.data.decode()
    assert 'lang="kk"' in pages["kk"] and 'lang="ru"' in pages["ru"]
    assert 'lang="zh-Hans"' in pages["zh-CN"] and 'lang="en"' in pages["en"]
    assert len(set(pages.values())) == 4
    by_parameter = client.get(ENTITY + "?lang=ru", headers={"Accept-Language": "kk"})
    assert 'lang="ru"' in by_parameter.data.decode()


def test_if_none_match_gets_a_304_from_the_replay(app):
    client = app.test_client()
    first = client.get("/classes/")
    etag = first.headers["ETag"]  # pages get one from their body
    client.get("/classes/")  # recorded by now
    before = hits(app)
    revalidated = client.get("/classes/", headers={"If-None-Match": etag})
    assert revalidated.status_code == 304
    assert hits(app) == before + 1
    assert revalidated.data == b""
    assert client.get("/classes/", headers={"If-None-Match": '"other"'}).status_code == 200


def test_security_headers_are_on_replayed_responses(app):
    client = app.test_client()
    client.get("/search?q=alt")
    before = hits(app)
    replayed = client.get("/search?q=alt")
    assert hits(app) == before + 1
    for name, value in HEADERS.items():
        assert replayed.headers[name] == value
    assert "default-src 'self'" in replayed.headers["Content-Security-Policy"]
    assert replayed.headers[VERSION_HEADER] == app.extensions[EXTENSION].served.version


def test_another_release_version_is_never_replayed(app):
    holder = app.extensions[EXTENSION]
    client = app.test_client()
    client.get("/classes/")
    client.get("/classes/")
    current = holder.served
    # The same store under another version: what a switch to a new release looks like to
    # the cache, whose key holds the version of the release each request is pinned to.
    other = Served(
        replace(current.release, manifest={**current.release.manifest, "version": "v-other"}),
        current.target,
        current.store,
        False,
        current.examples,
    )
    holder.served = other
    try:
        before = hits(app)
        response = client.get("/classes/")
        assert hits(app) == before  # recorded afresh, not replayed
        assert response.headers[VERSION_HEADER] == "v-other"
    finally:
        holder.served = current
    assert client.get("/classes/").headers[VERSION_HEADER] == current.version


def test_dump_files_are_not_held_in_memory(app):
    client = app.test_client()
    listing = client.get("/dumps/index.json").get_json()
    name = next(f["name"] for f in listing["files"] if f["name"].endswith(".nt.gz"))
    size = fastpath(app).cache.size
    for _ in range(2):
        response = client.get(f"/dumps/{name}")
        assert response.status_code == 200 and response.data
    assert fastpath(app).cache.size == size
    ranged = client.get(f"/dumps/{name}", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
def test_live_state_opts_out(app, path):
    client = app.test_client()
    client.get(path)
    before, size = hits(app), fastpath(app).cache.size
    response = client.get(path)
    assert response.headers["Cache-Control"] == "no-store"
    assert hits(app) == before and fastpath(app).cache.size == size


def test_metrics_count_the_replays(app):
    client = app.test_client()
    client.get("/ontology/")
    client.get("/ontology/")
    metrics = client.get("/metrics").data.decode()
    line = next(
        x for x in metrics.splitlines() if x.startswith('kzcn_cache_hits_total{cache="responses"}')
    )
    assert float(line.split()[-1]) == hits(app) > 0


def test_a_replay_carries_no_date_of_another_response(app):
    client = app.test_client()
    first = client.get("/dataset?format=nt")  # converted in memory, dated by werkzeug
    assert first.status_code == 200 and "Date" in first.headers
    before = hits(app)
    replayed = client.get("/dataset?format=nt")
    assert hits(app) == before + 1
    assert replayed.data == first.data and "Date" not in replayed.headers


def test_a_revalidation_the_cache_has_not_seen_gets_a_304_from_the_application(app):
    client = app.test_client()
    etag = client.get("/classes/?lang=ru", headers={"Accept": "text/html"}).headers["ETag"]
    before = hits(app)
    # Another Accept (another key, not recorded yet), the same page.
    fresh = client.get(
        "/classes/?lang=ru",
        headers={"Accept": "text/html,*/*;q=0.8", "If-None-Match": etag},
    )
    assert hits(app) == before
    assert fresh.status_code == 304 and fresh.data == b""
