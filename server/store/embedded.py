"""The embedded store: Oxigraph on disk, queried by a pool of killable worker processes.

Oxigraph has no way to cancel a running query, so each query runs in a child process that
has the store open read-only. When a query outlives its deadline the child is killed (its CPU
is released at once) and a fresh one takes its place, while the other workers keep serving.

The slow lane: a runaway holds its process until its limit, and a few runaways at once would
leave no process for anyone else. So a query that has used `slow_cpu` seconds of CPU leaves
the normal lane: its process drops to the lowest CPU priority, a new process joins the idle
ones at once, and the slow one is retired when its query ends (a lowered priority cannot be
raised back). CPU time, not wall time, decides: on a busy machine an ordinary query may wait
long for a core, but only an expensive one burns CPU. At most `size` queries are in the slow
lane at once (then a query stays where it is), so runaways cannot make the pool grow without
bound.
"""

import contextlib
import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from ..config import Settings
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
POLL_SECONDS = 0.1  # how often a running query's CPU time is looked at
LOWEST_PRIORITY = 19  # nice value of a process in the slow lane
PROCESS_CPU_CLOCK = 2  # Linux's CPUCLOCK_SCHED: a process's CPU time, in clock ids

# "spawn": a child must not inherit the web server's threads and locks (fork would).
CONTEXT = multiprocessing.get_context("spawn")


@dataclass
class Worker:
    process: BaseProcess
    connection: Connection
    started: float = field(default_factory=time.monotonic)
    slow: bool = False  # in the slow lane: retired when its query ends

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()


class WorkerPool:
    """`size` query processes in the normal lane, plus one per query in the slow lane; a
    caller borrows one for one query."""

    def __init__(self, store_path: Path, size: int, slow_cpu: float = Settings.slow_query_cpu):
        self.store_path, self.size, self.slow_cpu = store_path, size, slow_cpu
        self.idle: queue.Queue[Worker] = queue.Queue()
        self.lock = threading.Lock()
        self.closed = False
        self.replaced = 0  # workers killed or lost and replaced, for /metrics
        self.slow = 0  # queries in the slow lane now
        self.slow_total = 0  # queries ever moved to the slow lane, for /metrics
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
            if not self.wait(worker, deadline):
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

    def wait(self, worker: Worker, deadline: float) -> bool:
        """Wait for the worker's answer until the deadline (False: none came), moving its
        query to the slow lane once it has used `slow_cpu` seconds of CPU. The CPU count
        starts at the first poll, so a query answered within it costs nothing more."""
        started: float | None = None
        while (remaining := deadline - time.monotonic()) > 0:
            if worker.connection.poll(min(remaining, POLL_SECONDS)):
                return True
            if worker.slow:
                continue
            used = cpu_seconds(worker.process.pid)
            if started is None:
                started = used
            elif used is not None and used - started >= self.slow_cpu:
                self.to_slow_lane(worker)
        return False

    def to_slow_lane(self, worker: Worker) -> None:
        """Lower the worker's priority and start a process to take its place among the idle
        ones, unless the slow lane is full (the query then stays where it is, and is looked
        at again at the next poll)."""
        with self.lock:
            if self.closed or self.slow >= self.size:
                return
            self.slow += 1
            self.slow_total += 1
        worker.slow = True
        # It may have just exited: its answer or its death is read at the next poll.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, worker.process.pid, LOWEST_PRIORITY)
        threading.Thread(target=self.refill, daemon=True).start()

    def give_back(self, worker: Worker) -> None:
        """Back to the idle queue, unless the pool closed meanwhile (a query that was still
        running when its release was retired): then the worker is stopped, not leaked. A
        slow-lane worker is retired instead: its successor has already joined the idle ones."""
        if worker.slow:
            self.retire(worker)
            return
        self.idle.put(worker)
        if self.closed:
            self.close()

    def retire(self, worker: Worker) -> None:
        worker.stop()
        with self.lock:
            self.slow -= 1

    def replace(self, worker: Worker) -> None:
        """Kill a worker and start its successor in the background, so the caller's error
        answer is not delayed by the new process's start-up. A slow-lane worker's successor
        was started when it entered the slow lane."""
        with self.lock:
            self.replaced += 1
        if worker.slow:
            self.retire(worker)
            return
        worker.stop()
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


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) a process has used: one clock_gettime on Linux's clock of
    that process (MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED)), no file to open. None where
    there is no such clock (not Linux) or the process is gone: then no query enters the slow
    lane."""
    try:
        return time.clock_gettime(((~pid) << 3) | PROCESS_CPU_CLOCK)
    except OSError:
        return None


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
    def __init__(
        self,
        store_path: Path,
        version: str,
        workers: int = 2,
        slow_cpu: float = Settings.slow_query_cpu,
    ) -> None:
        self.version = version
        self.pool = WorkerPool(store_path, workers, slow_cpu)

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
        return {
            "kzcn_query_workers_replaced_total": self.pool.replaced,
            "kzcn_slow_queries_total": self.pool.slow_total,
        }

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
