"""Computing the prepared answers of a release (prepared.py): `kzcn-kg prepare`, and the
background preparer that `kzcn-kg serve` starts.

For every example query of the release and every format the endpoint offers for its form,
the answer's bytes, keyed as the query service keys them. Each query runs once, through the
Store interface (the embedded store, or a remote engine via KZCN_STORE), in one format —
SPARQL JSON results, or N-Triples for a graph — with its own limit (KZCN_PREPARE_TIMEOUT,
600 s by default, not the client's 10 s) and the usual result cap; the other formats are
converted from it with pyoxigraph, as the remote store converts an engine's answer
(byte-identical to the engine's own, tests/test_prepared_answers.py). What cannot be
prepared (past the limit, past the cap, refused) is skipped and said why: such a request
runs live and gets the live answer, or its 413 or 503.

Idempotent: what exists is skipped, and a run that finds everything prepared opens no store.
Several processes (a server's background preparer, `kzcn-kg prepare`, replicas sharing a
release) take turns on a lock file in the answers directory. A release directory that cannot
be written is worth one warning: the server answers live."""

import contextlib
import fcntl
import json
import logging
import math
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyoxigraph as ox
from rdflib import OWL

from .. import release as releases
from ..config import Settings
from ..examples import RELEASE_FOLDER, Example, ExampleError, load_examples
from ..formats import RESULT_FORMATS, Format
from ..store import (
    QueryJob,
    QueryTimeout,
    ResultTooLarge,
    Store,
    StoreError,
    StoreUnavailable,
    open_store,
)
from ..store.worker import PREFIXED_FORMATS
from ..vocab import DATASET, GRAPHS, PREFIXES
from . import prepared
from .query_text import inspect
from .service import formats_for

log = logging.getLogger("kzcn.prepare")

SOURCE_FORMATS = ("json", "nt")  # the format a query runs in; the others are converted
LOCK_FILE = "lock"
CHECK_SECONDS = 1.0  # how often the background preparer looks at `build/current`
RETRY_SECONDS = 10.0  # after a store that is down or not serving the release yet
PROBE_SECONDS = 10.0  # for the trivial query that tells whether the store is up
LOWEST_PRIORITY = 19  # the background preparer's nice value: it yields to every request
ALREADY = "already prepared"
NOT_PREPARED = ".not-prepared"  # the note of an answer that could not be prepared


class NotServing(StoreError):
    """A remote engine that holds another version than the release (not loaded yet)."""

    status = 503


@dataclass
class Outcome:
    """What one example query came to: formats prepared now, their bytes and seconds, or
    why it was skipped."""

    name: str
    seconds: float = 0.0
    formats: list[str] = field(default_factory=list)
    bytes: int = 0
    skipped: str | None = None
    keys: list[str] = field(default_factory=list)  # the answers written
    past_cap: list[str] = field(default_factory=list)  # formats whose answer is too large

    def line(self) -> str:
        if self.skipped:
            return f"  {self.name}: skipped: {self.skipped}"
        too_large = f"; past the result cap: {', '.join(self.past_cap)}" if self.past_cap else ""
        return (
            f"  {self.name}: {self.seconds:.2f} s, {len(self.formats)} format(s) "
            f"({', '.join(self.formats)}), {self.bytes:,} bytes{too_large}"
        )


StoreOpener = Callable[[releases.Release], Store]


def default_opener(settings: Settings) -> StoreOpener:
    """The store the server reads, with one query process for the embedded store, and no
    slow lane: every query here is long by design, and this process already yields."""
    return lambda release: open_store(settings.store_url, release, workers=1, slow_cpu=math.inf)


def prepare_release(
    release: releases.Release,
    settings: Settings,
    opener: StoreOpener,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome] | None:
    """Prepare what is missing; None if the answers directory cannot be written (warned)."""
    directory = prepared.answers_dir(release.path)
    try:
        directory.mkdir(exist_ok=True)
        lock = open(directory / LOCK_FILE, "ab")  # noqa: SIM115 - closed by `locked`
    except OSError as error:
        log.warning(
            "Prepared answers cannot be written in %s (%s); the example queries are answered live.",
            directory,
            error.strerror or error,
        )
        return None
    with locked(lock):
        return prepare_locked(release, settings, opener, directory, report)


@contextmanager
def locked(lock: IO[bytes]) -> Iterator[None]:
    """One preparer per release at a time; the others wait, then find the work done."""
    with lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def prepare_locked(
    release: releases.Release,
    settings: Settings,
    opener: StoreOpener,
    directory: Path,
    report: Callable[[Outcome], None],
) -> list[Outcome]:
    examples = load_examples(release.path / RELEASE_FOLDER)
    missing = {e.name: missing_formats(e, release.version, directory) for e in examples}
    outcomes = {e.name: Outcome(e.name, skipped=ALREADY) for e in examples}
    if any(missing.values()):
        store = opener(release)
        try:
            check_serves(store, release, settings)
            for example in examples:
                outcome = outcomes[example.name]
                if missing[example.name]:
                    outcome = noted_before(example, release, settings, directory)
                if outcome is None:
                    outcome = prepare_one(
                        example, missing[example.name], store, settings, release, directory
                    )
                    note(outcome, example, release, settings, directory)
                outcomes[example.name] = outcome
                report(outcome)
            still_serves(store, release, settings, directory, outcomes.values())
        finally:
            store.close()
    else:
        for outcome in outcomes.values():
            report(outcome)
    return list(outcomes.values())


def still_serves(
    store: Store,
    release: releases.Release,
    settings: Settings,
    directory: Path,
    outcomes: Iterable[Outcome],
) -> None:
    """A remote engine switched to another version during the run may have given some of its
    answers: then none of this run's is kept."""
    try:
        check_serves(store, release, settings)
    except NotServing:
        for outcome in outcomes:
            for key in outcome.keys:
                (directory / key).unlink(missing_ok=True)
        raise


def offered(example: Example) -> tuple[Format, ...]:
    return formats_for(inspect(example.text, max_depth=10_000).form)


def job(example: Example, fmt: Format, max_bytes: int = QueryJob.max_bytes) -> QueryJob:
    """The job a request for the example makes: its text, the whole dataset (the key does
    not depend on the cap)."""
    return QueryJob(example.text, fmt, max_bytes=max_bytes)


def missing_formats(example: Example, version: str, directory: Path) -> list[Format]:
    return [
        fmt
        for fmt in offered(example)
        if not prepared.exists(directory, prepared.answer_key(version, job(example, fmt)))
    ]


def check_serves(store: Store, release: releases.Release, settings: Settings) -> None:
    """The store holds this release: its metadata graph names the version (a remote engine
    may still hold the previous one; its answers must not be kept under this version)."""
    ask = (
        f"ASK {{ GRAPH <{GRAPHS['metadata']}> {{ <{DATASET}> <{OWL.versionInfo}> "
        f'"{release.version}" }} }}'
    )
    # A cheap question: the ordinary limit, not the long one of the example queries.
    answer = store.run(QueryJob(ask, formats_for("ASK")[0]), settings.query_timeout)
    if not json.loads(answer)["boolean"]:
        raise NotServing(f"the store does not serve version {release.version} (yet)")


def noted_before(
    example: Example, release: releases.Release, settings: Settings, directory: Path
) -> Outcome | None:
    """What could not be prepared is noted (`note`) and not tried again for this release under
    the same limits: a release never changes, and each server start would otherwise run again
    the queries that ran past the limit (at 10^7 triples, hours of engine time)."""
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):  # none, or unreadable
        noted = json.loads(note_path(example, release, directory).read_bytes())
        if noted["limits"] == limits(settings):
            return Outcome(example.name, skipped=f"{noted['reason']} (noted before)")
    return None


def note(
    outcome: Outcome,
    example: Example,
    release: releases.Release,
    settings: Settings,
    directory: Path,
) -> None:
    """`<source key>.not-prepared`: why the example could not be prepared, and under which
    limits (see noted_before)."""
    if outcome.skipped or outcome.past_cap:
        reason = outcome.skipped or f"past the result cap in {', '.join(outcome.past_cap)}"
        path = note_path(example, release, directory)
        prepared.write(
            directory,
            path.name,
            json.dumps({"reason": reason, "limits": limits(settings)}).encode(),
        )
        outcome.keys.append(path.name)  # removed with the answers if the run is not kept


def note_path(example: Example, release: releases.Release, directory: Path) -> Path:
    return directory / f"{source_key(example, release)}{NOT_PREPARED}"


def limits(settings: Settings) -> dict[str, float]:
    return {"prepare_timeout": settings.prepare_timeout, "max_bytes": settings.max_result_bytes}


def source_format(example: Example) -> Format:
    """The format the example runs in; the others are converted from its answer."""
    return next(f for f in offered(example) if f.name in SOURCE_FORMATS)


def source_key(example: Example, release: releases.Release) -> str:
    return prepared.answer_key(release.version, job(example, source_format(example)))


def prepare_one(
    example: Example,
    missing: list[Format],
    store: Store,
    settings: Settings,
    release: releases.Release,
    directory: Path,
) -> Outcome:
    """Run the example once, in its source format, and write every missing format."""
    outcome = Outcome(example.name)
    source = source_format(example)
    started = time.perf_counter()
    try:
        body = source_answer(example, source, store, settings, release, directory)
    except StoreUnavailable as error:
        if not still_answers(store):
            raise  # the store is down: the whole run is retried later
        outcome.skipped = error.message  # it fails on this query only (Virtuoso: an HTTP 500)
        return outcome
    except QueryTimeout:
        outcome.skipped = f"ran past the limit of {settings.prepare_timeout:g} s"
        return outcome
    except ResultTooLarge:
        outcome.skipped = f"the answer is past the result cap of {settings.max_result_bytes:,} B"
        return outcome
    except StoreError as error:
        outcome.skipped = error.message
        return outcome
    for fmt in missing:
        answer = body if fmt == source else convert(body, source, fmt)
        if len(answer) > settings.max_result_bytes:
            outcome.past_cap.append(fmt.name)  # the live request gets its 413
            continue
        key = prepared.answer_key(release.version, job(example, fmt))
        prepared.write(directory, key, answer)
        outcome.keys.append(key)
        outcome.formats.append(fmt.name)
        outcome.bytes += len(answer)
    outcome.seconds = time.perf_counter() - started
    if outcome.past_cap and not outcome.formats:
        outcome.skipped = f"past the result cap of {settings.max_result_bytes:,} B"
    return outcome


def source_answer(
    example: Example,
    source: Format,
    store: Store,
    settings: Settings,
    release: releases.Release,
    directory: Path,
) -> bytes:
    """The answer in the source format: prepared already (other formats were missing), or
    from the store."""
    key = prepared.answer_key(release.version, job(example, source))
    existing = prepared.read(release.path, key, settings.max_result_bytes)
    if existing is not None:
        return existing
    return store.run(job(example, source, settings.max_result_bytes), settings.prepare_timeout)


def convert(body: bytes, source: Format, target: Format) -> bytes:
    """Another format of the same answer, written as the store writes it (prefixes in
    Turtle and TriG, store/worker.py)."""
    if source.name == "nt":
        triples = (quad.triple for quad in ox.parse(body, ox.RdfFormat.N_TRIPLES))
        if target.engine in PREFIXED_FORMATS:
            return ox.serialize(triples, format=target.engine, prefixes=PREFIXES)
        return ox.serialize(triples, format=target.engine)
    results = ox.parse_query_results(body, ox.QueryResultsFormat.JSON)
    return results.serialize(format=target.engine)


# --- `kzcn-kg prepare` ---------------------------------------------------------------------


def still_answers(store: Store) -> bool:
    """Whether the store answers a trivial query: after one query failed as if it were down,
    this tells a store that is down from an engine that failed on that query."""
    try:
        store.run(QueryJob("ASK {}", RESULT_FORMATS[0]), PROBE_SECONDS)
    except StoreError:
        return False
    return True


def run_once(settings: Settings, opener: StoreOpener | None = None) -> int:
    """Prepare the current release's answers and print what was done: 0 done (whatever was
    skipped), 3 no release, no store, or nowhere to write."""
    started, cpu = time.perf_counter(), cpu_seconds()
    try:
        release = releases.current(settings.build_dir)
        print(f"release {release.path.name} (version {release.version})", flush=True)
        outcomes = prepare_release(
            release,
            settings,
            opener or default_opener(settings),
            lambda o: print(o.line(), flush=True),
        )
    except (releases.ReleaseMissing, StoreError, ExampleError, OSError) as error:
        print(f"error: {getattr(error, 'message', error)}", file=sys.stderr)
        return 3
    if outcomes is None:
        return 3
    done = [o for o in outcomes if not o.skipped]
    print(
        f"prepared {sum(len(o.formats) for o in done)} answers of {len(done)} queries "
        f"({sum(o.bytes for o in done):,} bytes); skipped {len(outcomes) - len(done)}; "
        f"{time.perf_counter() - started:.2f} s, {cpu_seconds() - cpu:.2f} s CPU"
    )
    return 0


def cpu_seconds() -> float:
    """This process's CPU time and its finished children's (the store's query process,
    stopped when the store closes)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


# --- the background preparer of `kzcn-kg serve` ---------------------------------------------


def watch(settings: Settings, server_fd: int) -> int:
    """Prepare the current release, and each new one as it is published, until the server's
    end of the pipe `server_fd` closes (however the server ends). At the lowest CPU
    priority. It detaches from the server's process tree (the launcher exits at once): the
    server's processes are its web workers and their query pools, which operators and tests
    count and kill; this one lives beside them, in the server's process group, so a signal
    to the group stops it too."""
    if os.fork() > 0:
        os._exit(0)
    # Ctrl-C on the server's terminal reaches this process group too: end quietly.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    logging.basicConfig(format="%(message)s", level=logging.INFO, stream=sys.stderr)
    os.setpriority(os.PRIO_PROCESS, 0, LOWEST_PRIORITY)
    threading.Thread(target=exit_when_closed, args=(server_fd,), daemon=True).start()
    opener = default_opener(settings)
    done: str | None = None
    said: set[str] = set()
    while True:
        target = releases.link_target(settings.build_dir)
        if target is not None and target != done:
            if not prepare_target(settings, target, opener, said):
                time.sleep(RETRY_SECONDS)
                continue
            done = target
        time.sleep(CHECK_SECONDS)


def prepare_target(settings: Settings, target: str, opener: StoreOpener, said: set[str]) -> bool:
    """One attempt at the release `target` names: False if it is worth another later (the
    store is down or does not serve it yet; said once, not at every attempt)."""
    try:
        release = releases.read(settings.build_dir, target)
        started = time.perf_counter()
        outcomes = prepare_release(release, settings, opener)
    except (NotServing, StoreUnavailable) as error:
        message = f"Answers of {target} not prepared yet: {error.message}"
        if message not in said:
            said.add(message)
            log.info("%s", message)
        return False
    except (releases.ReleaseMissing, StoreError, ExampleError, OSError, ValueError) as error:
        log.warning("Answers of %s not prepared: %s", target, getattr(error, "message", error))
        return True  # the server refuses such a release too; a new one is looked at
    if outcomes is not None:
        done = [o for o in outcomes if not o.skipped or o.skipped == ALREADY]
        skipped = [o.line().strip() for o in outcomes if o not in done]
        log.info(
            "Prepared answers of %s: %d of %d example queries in %.1f s%s",
            target,
            len(done),
            len(outcomes),
            time.perf_counter() - started,
            "; " + "; ".join(skipped) if skipped else ".",
        )
    return True


def exit_when_closed(server_fd: int) -> None:
    """Block until the server's end of the pipe closes, then stop this process's query
    workers (they are not daemons of a normal exit here) and exit."""
    while os.read(server_fd, 4096):
        pass
    for child in multiprocessing.active_children():
        child.kill()
    os._exit(0)
