"""Running a query for the web application: the answer cache in front of the store.

The /sparql endpoint, the example-query pages and the resource pages all run their queries
here, so every one of them is cached, time-limited and result-limited the same way."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cache import LruCache
from ..config import Settings
from ..formats import GRAPH_FORMATS, RESULT_FORMATS, Format
from ..store import QueryJob, Store

if TYPE_CHECKING:
    from ..current_release import Served


@dataclass
class QueryService:
    """One per application. Its store and version are those of the request's release
    (`pinned`, see current_release.py), so a release switch never splits a request; the
    answer cache outlives releases, as its keys start with the version."""

    pinned: Callable[[], "Served"]
    cache: LruCache[str, bytes]
    settings: Settings

    @property
    def store(self) -> Store:
        return self.pinned().store

    @property
    def version(self) -> str:
        return self.pinned().version

    def job(
        self,
        query: str,
        fmt: Format,
        default_graphs: tuple[str, ...] = (),
        named_graphs: tuple[str, ...] = (),
    ) -> QueryJob:
        return QueryJob(query, fmt, default_graphs, named_graphs, self.settings.max_result_bytes)

    def key(self, job: QueryJob) -> str:
        """Dataset version, format, query and dataset: everything the answer depends on."""
        parts = [
            self.version,
            job.format.media_type,
            job.query,
            *job.default_graphs,
            "\0",
            *job.named_graphs,
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]

    def run(self, job: QueryJob, timeout: float | None = None) -> bytes:
        """The answer's bytes, from the cache or the store; a client's timeout may only
        lower the configured limit."""
        key = self.key(job)
        body = self.cache.get(key)
        if body is None:
            limit = self.settings.query_timeout
            body = self.store.run(job, min(timeout or limit, limit))
            self.cache.put(key, body, len(body))
        return body


def formats_for(form: str) -> tuple[Format, ...]:
    """Graphs for CONSTRUCT and DESCRIBE, result sets for SELECT and ASK."""
    return GRAPH_FORMATS if form in ("CONSTRUCT", "DESCRIBE") else RESULT_FORMATS
