"""The embedded engine's query processes cannot reach the network at all: Oxigraph would fetch
a SERVICE IRI by itself, so besides the query check in server/sparql (tested in test_fuzz.py
and test_sparql.py), each worker runs in a network namespace of its own. Here the check is
bypassed on purpose: the query goes straight to the store."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.formats import RESULT_FORMATS, by_name
from server.release import current
from server.store import QueryJob
from server.store.embedded import EmbeddedStore

from .test_sparql import Listener

TSV = by_name(RESULT_FORMATS, "tsv")


@pytest.fixture
def listener() -> Iterator[Listener]:
    listening = Listener()
    yield listening
    listening.close()


def connections_after_a_while(listener: Listener, expected: int = 1) -> int:
    """Accepting is asynchronous: wait up to a second for `expected` connections."""
    deadline = time.monotonic() + 1.0
    while listener.connections < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return listener.connections


def test_the_listener_sees_a_connection_from_here(listener: Listener) -> None:
    socket.create_connection(("127.0.0.1", listener.port), timeout=5).close()
    assert connections_after_a_while(listener) == 1


def test_a_service_call_from_inside_a_worker_connects_nowhere(
    release_build_dir: Path, listener: Listener
) -> None:
    release = current(release_build_dir)
    store = EmbeddedStore(release.store_path, release.version, workers=1)
    try:
        query = (
            f"SELECT * WHERE {{ SERVICE SILENT <http://127.0.0.1:{listener.port}/sparql> "
            "{ ?s ?p ?o } }"
        )
        body = store.run(QueryJob(query, TSV), 10)
    finally:
        store.close()
    rows = body.decode("utf-8").splitlines()[1:]
    # SILENT: a failed SERVICE is one solution binding nothing, not an error.
    assert all(cell == "" for row in rows for cell in row.split("\t"))
    assert connections_after_a_while(listener) == 0
