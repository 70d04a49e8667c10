"""Faults (issue #6), with real processes: a query worker killed mid-query, a new release
published under load, the remote store stopped and restarted under load, and broken builds
that `kzcn-kg serve` must refuse. The release switch itself is server/current_release.py."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import psutil
import pyoxigraph as ox
import pytest

from server.build.pipeline import build
from server.config import PACKAGE_ROOT, Paths, Settings
from server.current_release import VERSION_HEADER, CurrentRelease
from server.release import CURRENT_LINK, MANIFEST_JSON, UNION_TURTLE, current
from server.store.virtuoso import Virtuoso

from .conftest import edit
from .live import free_port, start, stop

CLIENTS = 4  # client threads sending requests at once
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
JSON_RESULTS = "application/sparql-results+json"


@dataclass(frozen=True)
class Answer:
    url: str
    status: int
    headers: Message  # case-insensitive, as HTTP headers are
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(url: str, accept: str = JSON_RESULTS, timeout: float = 60) -> Answer:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(url, response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(url, error.code, error.headers, error.read())
    except OSError as error:  # no HTTP answer at all (refused, timed out): status 0
        return Answer(url, 0, Message(), str(error).encode())


def sparql_url(base: str, query: str) -> str:
    return f"{base}/sparql?" + urllib.parse.urlencode({"query": query})


def version_of(base: str) -> str:
    return json.loads(fetch(base + "/healthz").body)["version"]


class Hammer:
    """Client threads sending requests until stopped; every answer is kept, in order."""

    def __init__(self, threads: int, request: Callable[[int], Answer]) -> None:
        self.request, self.answers = request, []
        self.lock, self.done, self.count = threading.Lock(), threading.Event(), 0
        self.threads = [threading.Thread(target=self.loop) for _ in range(threads)]

    def loop(self) -> None:
        while not self.done.is_set():
            with self.lock:
                self.count += 1
                n = self.count
            answer = self.request(n)
            with self.lock:
                self.answers.append(answer)

    def __enter__(self) -> "Hammer":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join()

    def since(self, mark: int) -> list[Answer]:
        with self.lock:
            return self.answers[mark:]

    def wait_for(self, more: int, seconds: float = 60) -> None:
        """Until `more` further answers arrive (the load really ran over a moment)."""
        target, deadline = len(self.answers) + more, time.monotonic() + seconds
        while len(self.answers) < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.answers) >= target, "the client threads stopped getting answers"


def wait_until(condition: Callable[[], bool], seconds: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


# --- a query worker killed mid-query -------------------------------------------------------


def query_workers(server: subprocess.Popen) -> list[psutil.Process]:
    """The embedded store's query processes: the multiprocessing children of the web worker
    (granian forks its web workers; the query workers are spawned)."""
    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def busiest(workers: list[psutil.Process]) -> psutil.Process | None:
    """The worker burning CPU (the one running the runaway query), if one clearly is."""
    before = {w.pid: sum(w.cpu_times()[:2]) for w in workers}
    time.sleep(0.5)
    spent = {w.pid: sum(w.cpu_times()[:2]) - before[w.pid] for w in workers}
    top = max(workers, key=lambda w: spent[w.pid])
    others = [spent[w.pid] for w in workers if w is not top]
    # Relative, not absolute: on a loaded machine the busy one may get little CPU time.
    return top if spent[top.pid] > 0.02 and all(s < spent[top.pid] / 4 for s in others) else None


def replaced_total(base: str) -> float:
    for line in fetch(base + "/metrics", accept="text/plain").text.splitlines():
        if line.startswith("kzcn_query_workers_replaced_total "):
            return float(line.split()[1])
    raise AssertionError("no kzcn_query_workers_replaced_total in /metrics")


@pytest.fixture
def killable(release_build_dir: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    process, base = start(release_build_dir, "--query-timeout", "60")
    yield process, base
    log = stop(process)
    assert "Traceback" not in log, log


def test_a_killed_query_worker_fails_its_request_only_and_is_replaced(killable):
    process, base = killable
    assert fetch(sparql_url(base, "ASK { ?s ?p ?o }")).status == 200
    workers = query_workers(process)
    assert len(workers) == 2
    replaced = replaced_total(base)
    slow: list[Answer] = []
    runaway = threading.Thread(target=lambda: slow.append(fetch(sparql_url(base, RUNAWAY))))
    runaway.start()
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        victim = busiest(workers)
    assert victim is not None, "no query worker took up the runaway query"
    # Distinct queries, so none is answered from a cache: each needs a query worker.
    with Hammer(CLIENTS, lambda n: fetch(sparql_url(base, f"ASK {{ ?s ?p {n} }}"))) as hammer:
        hammer.wait_for(5)
        victim.send_signal(signal.SIGKILL)
        runaway.join(timeout=60)
        assert not runaway.is_alive(), "the request whose worker was killed hangs"
        hammer.wait_for(10)
    (answer,) = slow
    assert answer.status == 503, answer.text
    assert "stopped unexpectedly" in answer.text and answer.headers.get("Retry-After")
    assert hammer.answers and {a.status for a in hammer.answers} == {200}
    # The pool is whole again: two query processes, the killed one not among them.
    wait_until(lambda: len(query_workers(process)) == 2, what="a replacement worker")
    assert victim.pid not in {w.pid for w in query_workers(process)}
    assert replaced_total(base) == replaced + 1
    assert fetch(sparql_url(base, "ASK { ?s ?p 'after the kill' }")).status == 200


# --- a new release published under load ----------------------------------------------------

OLD_LABEL = "ALT University"
NEW_LABEL = "Second Release Test University"
ALT_QUERY = "SELECT ?l WHERE { inst:alt-university skos:prefLabel ?l }"


def rename_alt_university(paths: Paths) -> None:
    """The second release: one organization's English name changed (a test-only edit)."""
    data = paths.data / "organizations.ttl"
    for predicate in ("rdfs:label", "skos:prefLabel"):
        edit(
            data,
            f'{predicate} "ALT университеті"@kk , "{OLD_LABEL}"@en',
            f'{predicate} "ALT университеті"@kk , "{NEW_LABEL}"@en',
        )


def label_in(answer: Answer) -> set[str]:
    """Which of the two names an answer shows (as a whole name, not inside a longer one)."""
    text = answer.text
    found = set()
    if f">{OLD_LABEL}<" in text or f'"{OLD_LABEL}"' in text:
        found.add("old")
    if NEW_LABEL in text:
        found.add("new")
    return found


def test_a_new_release_is_switched_to_under_load_without_a_failed_or_mixed_answer(
    project_copy: Paths,
):
    build(project_copy)
    old_version = current(project_copy.build_dir).version
    process, base = start(project_copy.build_dir)
    try:
        urls = [
            (sparql_url(base, ALT_QUERY), JSON_RESULTS),
            (base + "/id/organization/alt-university.html", "text/html"),
            (base + "/search.json?q=ALT", "application/json"),
            (base + "/queries/double-degree-programmes.json", JSON_RESULTS),
        ]

        def request(n: int) -> Answer:
            return fetch(*urls[n % len(urls)])

        with Hammer(CLIENTS, request) as hammer:
            hammer.wait_for(20)
            rename_alt_university(project_copy)
            build(project_copy)  # publishes into the build folder the server reads
            new_version = current(project_copy.build_dir).version
            assert new_version != old_version
            wait_until(lambda: version_of(base) == new_version, what="the switch")
            # Past the requests already in flight, which may have started on the old one.
            mark = len(hammer.answers) + CLIENTS
            hammer.wait_for(CLIENTS + 30)
        answers = hammer.answers
        assert {a.status for a in answers} == {200}
        versions = {old_version: {"old"}, new_version: {"new"}}
        for answer in answers:
            assert label_in(answer) == versions[answer.headers[VERSION_HEADER]], answer.text
        seen = [a.headers[VERSION_HEADER] for a in answers]
        assert old_version in seen and new_version in seen
        assert {a.headers[VERSION_HEADER] for a in hammer.since(mark)} == {new_version}
        # The same query's ETag changed with the version.
        etags = {
            a.headers[VERSION_HEADER]: a.headers["ETag"] for a in answers if a.url == urls[0][0]
        }
        assert etags[old_version] != etags[new_version]
    finally:
        log = stop(process)
    assert "Traceback" not in log, log
    assert "Now serving" in log


# --- the switch, in process: pinned requests and bad releases ------------------------------


def copy_release(build_dir: Path, source: Path) -> Path:
    """A new release directory with the content of `source` (same version), published like
    build/publish.py does: a new symlink renamed over `current`."""
    copy = source.with_name(source.name + "-copy")
    shutil.copytree(source, copy)
    point_current(build_dir, copy)
    return copy


def point_current(build_dir: Path, target: Path) -> None:
    link = build_dir / ".current-test"
    link.symlink_to(Path("releases") / target.name, target_is_directory=True)
    os.replace(link, build_dir / CURRENT_LINK)


@pytest.fixture
def own_build_dir(release_build_dir: Path, tmp_path: Path) -> Path:
    build_dir = tmp_path / "build"
    shutil.copytree(release_build_dir, build_dir, symlinks=True)
    return build_dir


def test_a_pinned_request_keeps_its_release_until_it_is_done(own_build_dir: Path):
    holder = CurrentRelease(Settings(build_dir=own_build_dir), check_seconds=0)
    try:
        pinned = holder.acquire()
        old_workers = [w.process for w in list(pinned.store.pool.idle.queue)]
        copy = copy_release(own_build_dir, pinned.release.path)
        other = holder.acquire()  # notices the new link and switches in the background
        holder.give_back(other)
        wait_until(lambda: holder.served is not pinned, what="the switch")
        assert holder.served.release.path == copy
        # Still in use: its store stays open and answers.
        assert all(p.is_alive() for p in old_workers)
        assert pinned.store.run(holder_job(), 30) == b'{"head":{},"boolean":true}'
        holder.give_back(pinned)
        assert not any(p.is_alive() for p in old_workers)
        assert holder.served.store.run(holder_job(), 30) == b'{"head":{},"boolean":true}'
    finally:
        holder.close()


def holder_job():
    from server.formats import RESULT_FORMATS
    from server.store import QueryJob

    return QueryJob("ASK { ?s ?p ?o }", RESULT_FORMATS[0])


def test_a_broken_new_release_is_not_switched_to(own_build_dir: Path):
    holder = CurrentRelease(Settings(build_dir=own_build_dir), check_seconds=0)
    try:
        good = holder.served
        broken = own_build_dir / "releases" / "broken-1"
        broken.mkdir()
        point_current(own_build_dir, broken)
        holder.give_back(holder.acquire())
        wait_until(lambda: holder.failed_target is not None, what="the failed switch")
        assert holder.served is good and not holder.switching
        holder.give_back(holder.acquire())  # a failed target is not retried every time
        assert holder.served is good and not holder.switching
        copy = copy_release(own_build_dir, good.release.path)  # a good one: switched to
        holder.give_back(holder.acquire())
        wait_until(lambda: holder.served is not good, what="the switch")
        assert holder.served.release.path == copy
    finally:
        holder.close()


# --- the remote store stopped and restarted under load ------------------------------------


def test_the_remote_store_down_and_back_under_load(release_build_dir: Path, virtuoso: Virtuoso):
    process, base = start(release_build_dir, env={"KZCN_STORE": virtuoso.sparql_url})
    try:
        # Distinct queries: none is answered from a cache, each asks the store.
        def request(n: int) -> Answer:
            return fetch(sparql_url(base, f"SELECT ?s WHERE {{ ?s ?p ?o }} LIMIT {n}"))

        with Hammer(CLIENTS, request) as hammer:
            hammer.wait_for(10)
            virtuoso.stop()
            try:
                # Skip the answers to requests already in flight when it went down.
                down = len(hammer.answers) + CLIENTS
                hammer.wait_for(CLIENTS + 10)
                while_down = hammer.since(down)
            finally:
                virtuoso.start()
            wait_until(lambda: hammer.since(len(hammer.answers) - 1)[0].status == 200)
            back = len(hammer.answers) + CLIENTS
            hammer.wait_for(CLIENTS + 10)
        assert while_down and {a.status for a in while_down} == {503}
        assert all(a.headers.get("Retry-After") for a in while_down)
        assert "is not answering" in while_down[-1].text
        assert {a.status for a in hammer.answers} <= {200, 503}
        assert {a.status for a in hammer.since(back)} == {200}
    finally:
        log = stop(process)
    assert "Traceback" not in log, log


# --- broken builds: `kzcn-kg serve` refuses them --------------------------------------------


def dangling(build_dir: Path) -> None:
    point_current(build_dir, build_dir / "releases" / "gone-1")


def no_manifest(build_dir: Path) -> None:
    (current(build_dir).path / MANIFEST_JSON).unlink()


def invalid_manifest(build_dir: Path) -> None:
    (current(build_dir).path / MANIFEST_JSON).write_text('{"version": ', encoding="utf-8")


def manifest_without_version(build_dir: Path) -> None:
    (current(build_dir).path / MANIFEST_JSON).write_text("{}", encoding="utf-8")


def no_store(build_dir: Path) -> None:
    shutil.rmtree(current(build_dir).store_path)


def not_a_store(build_dir: Path) -> None:
    store = current(build_dir).store_path
    shutil.rmtree(store)
    store.mkdir()
    (store / "CURRENT").write_text("not a database\n", encoding="utf-8")


def store_without_a_graph(build_dir: Path) -> None:
    """Half a graph: the store lost the inferred triples its manifest counts."""
    release = current(build_dir)
    store = ox.Store(str(release.store_path))
    store.remove_graph(ox.NamedNode(release.manifest["graphs"]["inferred"]["iri"]))
    store.flush()
    del store


def truncated_dump(build_dir: Path) -> None:
    path = current(build_dir).path / UNION_TURTLE
    path.write_bytes(path.read_bytes()[:1000])


SERVE = (sys.executable, "-m", "server.cli")


@pytest.mark.parametrize(
    ("breakage", "named"),
    [
        (dangling, "which does not exist"),
        (no_manifest, "no readable manifest.json"),
        (invalid_manifest, "no readable manifest.json"),
        (manifest_without_version, "manifest.json without a version"),
        (no_store, "no store directory"),
        (not_a_store, "cannot be opened: A query worker could not open the store"),
        (store_without_a_graph, "lacks the inferred graph"),
        (truncated_dump, f"{UNION_TURTLE} of 1000 bytes"),
    ],
)
def test_serve_refuses_a_broken_release_with_one_clear_message(
    own_build_dir: Path, breakage: Callable[[Path], None], named: str
):
    breakage(own_build_dir)
    pointed = os.readlink(own_build_dir / CURRENT_LINK)
    done = subprocess.run(
        [*SERVE, "--build-dir", str(own_build_dir), "serve", "--port", str(free_port())],
        cwd=PACKAGE_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: not serving:") and named in lines[0], lines[0]
    assert "kzcn-kg build" in lines[0]
    # Refused, not rebuilt over: `current` still points where it did.
    assert os.readlink(own_build_dir / CURRENT_LINK) == pointed
