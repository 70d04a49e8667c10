"""Running a query for the web application: the answer cache in front of the store.

The /sparql endpoint, the example-query pages and the resource pages all run their queries
here, so every one of them is cached, time-limited and result-limited the same way. An
example query of the release, asked exactly as written, is answered from its prepared answer
(prepared.py) when there is one: the engine's own answer for the release, computed ahead."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..cache import LruCache
from ..config import Settings
from ..formats import GRAPH_FORMATS, RESULT_FORMATS, Format
from ..store import QueryJob, Store
from . import prepared

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
        return prepared.answer_key(self.version, job)

    def run(self, job: QueryJob, timeout: float | None = None) -> bytes:
        return self.answer(job, timeout).body

    def answer(self, job: QueryJob, timeout: float | None = None) -> "Answer":
        """The answer's bytes, from the cache, the release's prepared answers or the store,
        in that order; a client's timeout may only lower the configured limit. Prepared
        answers are not copied into the cache: they are on disk already."""
        served = self.pinned()
        key = prepared.answer_key(served.version, job)
        body = self.cache.get(key)
        if body is not None:
            return Answer(body)
        body = self.prepared_answer(served, job, key)
        if body is not None:
            return Answer(body, prepared=True)
        limit = self.settings.query_timeout
        body = served.store.run(job, min(timeout or limit, limit))
        self.cache.put(key, body, len(body))
        return Answer(body)

    def prepared_answer(self, served: "Served", job: QueryJob, key: str) -> bytes | None:
        """Only an example's exact text on the whole dataset can have one, so no other query
        costs a look on disk."""
        if not self.settings.prepared or job.default_graphs or job.named_graphs:
            return None
        if not any(example.text == job.query for example in served.examples.values()):
            return None
        return prepared.read(served.release.path, key, job.max_bytes)


@dataclass(frozen=True)
class Answer:
    body: bytes
    prepared: bool = False  # from the release's prepared answers, not the engine just now


def formats_for(form: str) -> tuple[Format, ...]:
    """Graphs for CONSTRUCT and DESCRIBE, result sets for SELECT and ASK."""
    return GRAPH_FORMATS if form in ("CONSTRUCT", "DESCRIBE") else RESULT_FORMATS
