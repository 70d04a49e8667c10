"""One small interface to the data: run a query on a dataset, in a format, within a deadline,
and get bytes back. The embedded Oxigraph store implements it (embedded.py), and so does any
SPARQL 1.1 endpoint (remote.py), which is made to answer exactly as the embedded store does.
Nothing outside this package knows which one it has: the server's tests run over both."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ..formats import Format

if TYPE_CHECKING:
    from ..release import Release


@dataclass(frozen=True)
class QueryJob:
    query: str
    format: Format
    default_graphs: tuple[str, ...] = ()  # empty: the union of all named graphs
    named_graphs: tuple[str, ...] = ()  # empty: every named graph
    max_bytes: int = 50_000_000


class StoreError(Exception):
    """A query that produced no answer; `status` is the HTTP status it maps to."""

    status = 500

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class QuerySyntaxError(StoreError):
    status = 400


class ResultTooLarge(StoreError):
    status = 413  # the *result* would be too large: narrow the query or add LIMIT


class QueryTimeout(StoreError):
    status = 503


class StoreUnavailable(StoreError):
    status = 503


class Store(Protocol):
    version: str

    def run(self, job: QueryJob, timeout: float) -> bytes: ...

    def counters(self) -> dict[str, float]:
        """Backend-specific counters for /metrics, by Prometheus metric name."""
        ...

    def close(self) -> None: ...


def open_store(
    store_url: str | None, release: "Release", workers: int, slow_cpu: float = 0.5
) -> Store:
    """The store a deployment configured: the release's embedded Oxigraph store by default,
    or a remote SPARQL 1.1 endpoint when KZCN_STORE is an http(s) URL. `slow_cpu`: the CPU
    seconds after which an embedded query moves to the slow lane (Settings.slow_query_cpu)."""
    from .embedded import EmbeddedStore

    if store_url and store_url.startswith(("http://", "https://")):
        from .remote import RemoteStore

        return RemoteStore(store_url, release.version)
    return EmbeddedStore(release.store_path, release.version, workers, slow_cpu)
