"""The embedded store: Oxigraph on disk, queried by a pool of killable worker processes.

Oxigraph has no way to cancel a running query, so each query runs in a child process that
has the store open read-only. When a query outlives its deadline the child is killed (its CPU
is released at once) and a fresh one takes its place, while the other workers keep serving.
"""

import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from ..sparql.query_text import declares_dataset
from ..vocab import PREFIXES
from . import (
    QueryJob,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    StoreError,
    StoreUnavailable,
)
from .worker import serve

log = logging.getLogger(__name__)

STARTUP_SECONDS = 60
RETRY_SECONDS = 1.0  # between attempts to start a replacement worker

# "spawn": a child must not inherit the web server's threads and locks (fork would).
CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class Worker:
    process: BaseProcess
    connection: Connection
    started: float = field(default_factory=time.monotonic)

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


class WorkerPool:
    """A fixed number of query processes; a caller borrows one for one query."""

    def __init__(self, store_path: Path, size: int) -> None:
        self.store_path, self.size = store_path, size
        self.idle: queue.Queue[Worker] = queue.Queue()
        self.lock = threading.Lock()
        self.closed = False
        self.replaced = 0  # workers killed or lost and replaced, for /metrics
        try:
            for _ in range(size):
                self.idle.put(self.start())
        except StoreUnavailable:
            self.close()  # the workers already started must not outlive a failed pool
            raise

    def start(self) -> Worker:
        parent, child = CONTEXT.Pipe()
        process = CONTEXT.Process(
            target=serve,
            args=(child, str(self.store_path), PREFIXES),
            daemon=True,
            name="kzcn-query-worker",
        )
        process.start()
        child.close()
        # Wait until the store is open, so that start-up never counts against a query's limit.
        failure = handshake(parent)
        if failure is not None:
            process.kill()
            process.join(timeout=5)
            parent.close()
            raise StoreUnavailable(
                f"A query worker could not open the store {self.store_path}: {failure}"
            )
        return Worker(process, parent)

    def run(self, job: dict, timeout: float) -> tuple:
        deadline = time.monotonic() + timeout
        try:
            worker = self.idle.get(timeout=max(timeout, 0.001))
        except queue.Empty:
            raise QueryTimeout(
                f"All {self.size} query workers stayed busy for the whole time limit "
                f"({timeout:g} s); try again shortly."
            ) from None
        try:
            worker.connection.send(job)
            if not worker.connection.poll(max(deadline - time.monotonic(), 0)):
                self.replace(worker)
                raise QueryTimeout(
                    f"The query ran past the time limit of {timeout:g} s and was stopped."
                )
            answer = worker.connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            # The process died under the query (killed from outside, out of memory…).
            self.replace(worker)
            raise StoreUnavailable(
                "The query worker stopped unexpectedly; it has been replaced. Try again."
            ) from None
        self.give_back(worker)
        return answer

    def give_back(self, worker: Worker) -> None:
        """Back to the idle queue, unless the pool closed meanwhile (a query that was still
        running when its release was retired): then the worker is stopped, not leaked."""
        self.idle.put(worker)
        if self.closed:
            self.close()

    def replace(self, worker: Worker) -> None:
        """Kill a worker and start its successor in the background, so the caller's error
        answer is not delayed by the new process's start-up."""
        worker.stop()
        with self.lock:
            self.replaced += 1
        if not self.closed:
            threading.Thread(target=self.refill, daemon=True).start()

    def refill(self) -> None:
        """Start one worker, retrying while it fails (e.g. the machine is out of memory for a
        moment): a pool must not shrink for good because one start-up failed."""
        while not self.closed:
            try:
                self.give_back(self.start())
                return
            except StoreUnavailable as error:
                log.warning("%s Retrying in %g s.", error.message, RETRY_SECONDS)
                time.sleep(RETRY_SECONDS)

    def close(self) -> None:
        """Stop the idle workers; busy ones are stopped as they come back (give_back)."""
        self.closed = True
        while True:
            try:
                self.idle.get_nowait().stop()
            except queue.Empty:
                return


def handshake(connection: Connection) -> str | None:
    """None once the worker says its store is open, else why it is not."""
    try:
        if not connection.poll(STARTUP_SECONDS):
            return f"no answer within {STARTUP_SECONDS} s"
        kind, detail = connection.recv()
    except (EOFError, OSError):
        return "the process exited"
    return None if kind == "ready" else str(detail)


class EmbeddedStore:
    def __init__(self, store_path: Path, version: str, workers: int = 2) -> None:
        self.version = version
        self.pool = WorkerPool(store_path, workers)

    def run(self, job: QueryJob, timeout: float) -> bytes:
        kind, detail = self.pool.run(
            {
                "query": job.query,
                "declares_dataset": declares_dataset(job.query),
                "media_type": job.format.media_type,
                "default_graphs": list(job.default_graphs),
                "named_graphs": list(job.named_graphs),
                "max_bytes": job.max_bytes,
            },
            timeout,
        )
        if kind == "ok":
            return detail
        raise error_for(kind, detail)

    def counters(self) -> dict[str, float]:
        return {"kzcn_query_workers_replaced_total": self.pool.replaced}

    def close(self) -> None:
        self.pool.close()


def error_for(kind: str, detail: object) -> StoreError:
    if kind == "syntax":
        return QuerySyntaxError(f"Query syntax error: {detail}")
    if kind == "too-large":
        return ResultTooLarge(
            f"The result is larger than the limit of {detail} bytes; narrow the query or "
            "add a LIMIT."
        )
    if kind == "format":
        error = StoreError(f"{detail} is not available for this kind of query.")
        error.status = 406
        return error
    return StoreError(f"The engine failed: {detail}")
