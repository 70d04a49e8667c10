"""Prepared answers (server/sparql/prepared.py, prepare.py): the example queries' answers,
computed ahead for a release, are the engine's answers byte for byte, over the embedded
store and over Virtuoso; they are served for exactly the example's request and nothing
else; KZCN_PREPARED=0 serves live; `kzcn-kg serve` prepares a new release in the background
without a restart; a release directory that cannot be written still serves; concurrent
`kzcn-kg prepare` runs leave whole files."""

import contextlib
import json
import logging
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from email.message import Message
from pathlib import Path

import psutil
import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.build.pipeline import build
from server.config import Paths, Settings
from server.current_release import VERSION_HEADER
from server.examples import RELEASE_FOLDER, Example, load_examples
from server.release import MANIFEST_JSON, Release, current
from server.sparql import prepare, prepared
from server.store import StoreUnavailable

from .conftest import serving
from .live import start, stop


def examples_of(release: Release) -> list[Example]:
    return load_examples(release.path / RELEASE_FOLDER)


def every_answer(release: Release) -> Iterator[tuple[Example, str]]:
    """Every example query with every format the endpoint offers for it."""
    for example in examples_of(release):
        for fmt in prepare.offered(example):
            yield example, fmt.name


@pytest.fixture(scope="module")
def own_release(release_build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tests' release (same version, so Virtuoso serves it too), to prepare
    into without touching the release the other tests serve."""
    build_dir = tmp_path_factory.mktemp("prepared") / "build"
    shutil.copytree(release_build_dir, build_dir, symlinks=True)
    return build_dir


@pytest.fixture(scope="module")
def prepared_run(own_release: Path, store_url: str | None) -> list[prepare.Outcome]:
    """The copy's answers, prepared from the backend's store (once per backend: they are
    removed first, so that the Virtuoso run does not find the embedded one's)."""
    release = current(own_release)
    shutil.rmtree(prepared.answers_dir(release.path), ignore_errors=True)
    settings = Settings(build_dir=own_release, store_url=store_url)
    outcomes = prepare.prepare_release(release, settings, prepare.default_opener(settings))
    assert outcomes is not None
    return outcomes


@pytest.fixture(scope="module")
def apps(
    own_release: Path, store_url: str | None, prepared_run: list[prepare.Outcome]
) -> Iterator[tuple[Flask, Flask]]:
    """The same release served with prepared answers and without (KZCN_PREPARED=0)."""
    settings = Settings(build_dir=own_release, store_url=store_url)
    with serving(settings) as with_prepared:
        live_settings = Settings(build_dir=own_release, store_url=store_url, prepared=False)
        with serving(live_settings) as live:
            yield with_prepared, live


@pytest.fixture
def clients(apps: tuple[Flask, Flask]) -> tuple[FlaskClient, FlaskClient]:
    return apps[0].test_client(), apps[1].test_client()


def test_every_example_is_prepared_in_every_format(own_release: Path, prepared_run):
    release = current(own_release)
    assert {o.name for o in prepared_run} == {e.name for e in examples_of(release)}
    assert not [o.line() for o in prepared_run if o.skipped]
    directory = prepared.answers_dir(release.path)
    for example, name in every_answer(release):
        fmt = next(f for f in prepare.offered(example) if f.name == name)
        key = prepared.answer_key(release.version, prepare.job(example, fmt))
        assert prepared.exists(directory, key), (example.name, name)
    assert not list(directory.glob("*.tmp"))


def test_every_prepared_answer_is_the_live_answer_byte_for_byte(clients, own_release: Path):
    """Every example, every offered format, over this backend: the download served from
    the prepared answer equals the one the engine gives with prepared answers turned off."""
    with_prepared, live = clients
    compared = 0
    for example, name in every_answer(current(own_release)):
        url = f"/queries/{example.name}.{name}"
        fast, slow = with_prepared.get(url), live.get(url)
        assert fast.status_code == slow.status_code == 200, url
        assert fast.headers.get(prepared.HEADER) == prepared.PREPARED, url
        assert prepared.HEADER not in slow.headers, url
        assert fast.data == slow.data, url
        assert fast.headers["ETag"] == slow.headers["ETag"], url
        assert fast.headers["Content-Type"] == slow.headers["Content-Type"], url
        compared += 1
    assert compared > 80  # 21 queries, 4 or 6 formats each


def sparql(client: FlaskClient, query: str, accept: str = "text/csv", **params: str):
    return client.get(
        "/sparql?" + urllib.parse.urlencode({"query": query, **params}), headers={"Accept": accept}
    )


def test_the_exact_text_on_sparql_is_served_prepared_and_a_changed_one_live(
    clients, own_release: Path
):
    with_prepared, live = clients
    example = examples_of(current(own_release))[0]
    exact = sparql(with_prepared, example.text)
    assert exact.status_code == 200 and exact.headers.get(prepared.HEADER) == "prepared"
    # Visible to scripts in browsers, like the version.
    assert prepared.HEADER in exact.headers["Access-Control-Expose-Headers"]
    assert exact.data == sparql(live, example.text).data
    # One more comment: the same answer, but not the example's text, so the engine's.
    changed = sparql(with_prepared, example.text + "\n# changed\n")
    assert changed.status_code == 200 and prepared.HEADER not in changed.headers
    assert changed.data == exact.data
    # The example's text on another dataset is another question.
    asserted_only = sparql(
        with_prepared, example.text, **{"default-graph-uri": "https://w3id.org/kzcn/graph/data"}
    )
    assert asserted_only.status_code == 200 and prepared.HEADER not in asserted_only.headers


def test_example_pages_and_downloads_are_served_prepared(clients, own_release: Path):
    with_prepared, live = clients
    example = next(e for e in examples_of(current(own_release)) if e.name == "partner-network")
    page = with_prepared.get(f"/queries/{example.name}")
    assert page.status_code == 200 and page.headers.get(prepared.HEADER) == "prepared"
    assert page.data == live.get(f"/queries/{example.name}").data
    download = with_prepared.get(f"/queries/{example.name}.tsv")
    assert download.headers.get(prepared.HEADER) == "prepared"
    # ETags and 304s as for any answer.
    again = with_prepared.get(
        f"/queries/{example.name}.tsv", headers={"If-None-Match": download.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_prepared_answers_off_from_the_environment(monkeypatch, own_release: Path):
    monkeypatch.setenv("KZCN_PREPARED", "0")
    monkeypatch.setenv("KZCN_PREPARE_TIMEOUT", "42")
    settings = Settings.from_env(own_release)
    assert settings.prepared is False and settings.prepare_timeout == 42
    monkeypatch.delenv("KZCN_PREPARED")
    assert Settings.from_env(own_release).prepared is True


def test_a_second_run_finds_everything_prepared_and_opens_no_store(own_release: Path, prepared_run):
    def no_store(release: Release):
        raise AssertionError("a store was opened although everything is prepared")

    release = current(own_release)
    outcomes = prepare.prepare_release(release, Settings(build_dir=own_release), no_store)
    assert outcomes and {o.skipped for o in outcomes} == {prepare.ALREADY}


# --- what is not prepared is answered live ---------------------------------------------------


@pytest.fixture
def fresh_build(release_build_dir: Path, tmp_path: Path) -> Path:
    build_dir = tmp_path / "build"
    shutil.copytree(release_build_dir, build_dir, symlinks=True)
    shutil.rmtree(prepared.answers_dir(current(build_dir).path), ignore_errors=True)
    return build_dir


def test_an_answer_past_the_result_cap_is_not_prepared_and_gets_the_live_413(fresh_build: Path):
    cap = 3000
    settings = Settings(build_dir=fresh_build, max_result_bytes=cap)
    release = current(fresh_build)
    outcomes = prepare.prepare_release(release, settings, prepare.default_opener(settings))
    assert outcomes is not None
    big = next(o for o in outcomes if o.name == "who-signed-with-whom")
    assert big.skipped and "result cap" in big.skipped
    small = next(o for o in outcomes if o.name == "is-any-agreement-planned")
    assert not small.skipped and small.formats == ["json", "xml", "csv", "tsv"]
    with serving(settings) as app:
        client = app.test_client()
        refused = client.get("/queries/who-signed-with-whom.json")
        assert refused.status_code == 413 and prepared.HEADER not in refused.headers
        assert client.get("/queries/is-any-agreement-planned.json").headers[prepared.HEADER]


def test_a_query_past_the_prepare_limit_is_skipped_and_answered_live(fresh_build: Path):
    settings = Settings(build_dir=fresh_build, prepare_timeout=1e-6)
    release = current(fresh_build)
    outcomes = prepare.prepare_release(release, settings, prepare.default_opener(settings))
    assert outcomes is not None
    assert all(o.skipped and "ran past the limit" in o.skipped for o in outcomes), outcomes
    with serving(settings) as app:
        answer = app.test_client().get("/queries/who-signed-with-whom.csv")
        assert answer.status_code == 200 and prepared.HEADER not in answer.headers


class Counting:
    """The real store, counting the example queries it is asked."""

    def __init__(self, release: Release, settings: Settings) -> None:
        self.store = prepare.default_opener(settings)(release)
        self.examples = {e.text for e in examples_of(release)}
        self.asked = 0

    def counters(self) -> dict[str, float]:
        return self.store.counters()

    def close(self) -> None:
        self.store.close()

    def run(self, job, timeout: float) -> bytes:
        self.asked += job.query in self.examples
        return self.store.run(job, timeout)


def test_what_could_not_be_prepared_is_not_tried_again_under_the_same_limits(
    fresh_build: Path,
):
    """A release never changes: a query that ran past the limit runs past it again, so the
    next run (each server start) does not ask the engine again — unless the limit changed."""
    release = current(fresh_build)
    tight = Settings(build_dir=fresh_build, prepare_timeout=1e-6)
    first = Counting(release, tight)
    prepare.prepare_release(release, tight, lambda r: first)
    again = Counting(release, tight)
    outcomes = prepare.prepare_release(release, tight, lambda r: again)
    assert outcomes is not None and again.asked == 0 < first.asked
    assert all(o.skipped and "ran past the limit" in o.skipped for o in outcomes)
    assert all("noted before" in (o.skipped or "") for o in outcomes)
    wider = Settings(build_dir=fresh_build)
    later = Counting(release, wider)
    outcomes = prepare.prepare_release(release, wider, lambda r: later)
    assert outcomes is not None and later.asked == len(outcomes)
    assert not [o for o in outcomes if o.skipped]


def test_a_store_that_holds_another_version_prepares_nothing(fresh_build: Path, store_url):
    """A remote engine not loaded with the release yet must not have its answers kept under
    the release's version: here the manifest names a version the store does not hold."""
    release = current(fresh_build)
    manifest = json.loads((release.path / MANIFEST_JSON).read_text(encoding="utf-8"))
    manifest["version"] = "0000000000000000"
    other = Release(release.path, manifest)
    settings = Settings(build_dir=fresh_build, store_url=store_url)
    with pytest.raises(prepare.NotServing):
        prepare.prepare_release(other, settings, prepare.default_opener(settings))
    assert [p.name for p in prepared.answers_dir(release.path).iterdir()] == [prepare.LOCK_FILE]


class SwitchesVersion:
    """The real store, as if its engine switched to another version during the run: the
    version check at the end asks it for a version it does not hold."""

    def __init__(self, release: Release, settings: Settings) -> None:
        self.store = prepare.default_opener(settings)(release)
        self.version, self.checks = release.version, 0

    def counters(self) -> dict[str, float]:
        return self.store.counters()

    def close(self) -> None:
        self.store.close()

    def run(self, job, timeout: float) -> bytes:
        if f'"{self.version}"' in job.query:
            self.checks += 1
            if self.checks == 2:
                job = replace(job, query=job.query.replace(self.version, "0000000000000000"))
        return self.store.run(job, timeout)


def test_an_engine_that_switches_version_during_the_run_leaves_no_answer(fresh_build: Path):
    release = current(fresh_build)
    settings = Settings(build_dir=fresh_build)
    with pytest.raises(prepare.NotServing):
        prepare.prepare_release(release, settings, lambda r: SwitchesVersion(r, settings))
    assert [p.name for p in prepared.answers_dir(release.path).iterdir()] == [prepare.LOCK_FILE]


class FailsOn:
    """The real store, but failing as a store that does not answer on queries holding
    `text` (Virtuoso answers a query it fails on with an HTTP 500 and no error code)."""

    def __init__(self, release: Release, settings: Settings, text: str) -> None:
        self.store = prepare.default_opener(settings)(release)
        self.text = text

    def counters(self) -> dict[str, float]:
        return self.store.counters()

    def close(self) -> None:
        self.store.close()

    def run(self, job, timeout: float) -> bytes:
        if self.text in job.query:
            raise StoreUnavailable("The SPARQL store is not answering; try again shortly.")
        return self.store.run(job, timeout)


def test_a_query_the_engine_fails_on_is_skipped_and_the_others_prepared(fresh_build: Path):
    release = current(fresh_build)
    settings = Settings(build_dir=fresh_build)
    failing = next(e.text for e in examples_of(release) if e.name == "who-signed-with-whom")
    outcomes = prepare.prepare_release(release, settings, lambda r: FailsOn(r, settings, failing))
    assert outcomes is not None
    skipped = {o.name: o.skipped for o in outcomes if o.skipped}
    assert (
        list(skipped) == ["who-signed-with-whom"]
        and "not answering" in skipped["who-signed-with-whom"]
    )


def test_a_store_that_does_not_answer_stops_the_run(fresh_build: Path):
    """Down for every query, the trivial one included: the run stops (the background preparer
    tries again later) and nothing is kept."""
    release = current(fresh_build)
    settings = Settings(build_dir=fresh_build)
    with pytest.raises(StoreUnavailable):
        prepare.prepare_release(release, settings, lambda r: FailsOn(r, settings, ""))
    assert [p.name for p in prepared.answers_dir(release.path).iterdir()] == [prepare.LOCK_FILE]


def test_a_release_directory_that_cannot_be_written_still_serves(fresh_build: Path, caplog):
    """`answers` taken by a file: nothing can be written there (as in a read-only mount;
    permission bits alone do not stop root, who runs this suite in CI)."""
    release = current(fresh_build)
    prepared.answers_dir(release.path).write_text("not a directory\n", encoding="utf-8")
    settings = Settings(build_dir=fresh_build)
    with caplog.at_level(logging.WARNING, logger="kzcn.prepare"):
        outcome = prepare.prepare_release(release, settings, prepare.default_opener(settings))
    assert outcome is None
    warnings = [r for r in caplog.records if r.name == "kzcn.prepare"]
    assert len(warnings) == 1 and "answered live" in warnings[0].getMessage()
    with serving(settings) as app:
        answer = app.test_client().get("/queries/agreements-by-status.csv")
        assert answer.status_code == 200 and prepared.HEADER not in answer.headers
        assert answer.data.startswith(b"status")


def test_prepare_command_says_what_it_did(fresh_build: Path):
    command = [sys.executable, "-m", "server.cli", "--build-dir", str(fresh_build), "prepare"]
    first = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert "who-signed-with-whom:" in first.stdout and "4 format(s)" in first.stdout
    assert "partner-network-graph:" in first.stdout and "6 format(s)" in first.stdout
    assert "s CPU" in first.stdout.splitlines()[-1]
    second = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert "who-signed-with-whom: skipped: already prepared" in second.stdout


def test_concurrent_prepare_runs_leave_whole_answers(fresh_build: Path):
    command = [sys.executable, "-m", "server.cli", "--build-dir", str(fresh_build), "prepare"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    # One of them did the work; the others found it done.
    assert sum("skipped 0;" in out for out in outputs) == 1, outputs
    release = current(fresh_build)
    directory = prepared.answers_dir(release.path)
    assert not list(directory.glob("*.tmp"))
    settings = Settings(build_dir=fresh_build, prepared=False)
    with serving(settings) as app:
        client = app.test_client()
        for example, name in every_answer(release):
            fmt = next(f for f in prepare.offered(example) if f.name == name)
            key = prepared.answer_key(release.version, prepare.job(example, fmt))
            live = client.get(f"/queries/{example.name}.{name}").data
            assert (directory / key).read_bytes() == live, (example.name, name)


def test_concurrent_writes_of_one_answer_never_show_half_of_it(tmp_path: Path):
    """The atomic write itself, raced by threads: a reader sees a whole answer or none."""
    directory = prepared.answers_dir(tmp_path)
    directory.mkdir()
    bodies = [bytes([n]) * 1_000_000 for n in range(8)]
    seen: list[bytes] = []
    done = threading.Event()

    def reader() -> None:
        while not done.is_set():
            body = prepared.read(tmp_path, "key", 10_000_000)
            if body is not None:
                seen.append(body)

    watcher = threading.Thread(target=reader)
    watcher.start()
    writers = [
        threading.Thread(target=lambda b=b: [prepared.write(directory, "key", b) for _ in range(5)])
        for b in bodies
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    done.set()
    watcher.join()
    seen.append(prepared.read(tmp_path, "key", 10_000_000) or b"")
    assert all(body in bodies for body in seen)
    assert [p.name for p in directory.iterdir()] == ["key"]


# --- the background preparer of `kzcn-kg serve` ----------------------------------------------


def fetch(url: str) -> tuple[int, Message, bytes]:
    """Status, headers (case-insensitive, as HTTP's are) and body."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def wait_for_answers(build_dir: Path, version: str, seconds: float = 180) -> Release:
    """Until the release of `version` is current and every answer of it is prepared. (A
    request made before would be answered live, and that answer then kept in memory.)"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        release = current(build_dir)
        if release.version == version and all_prepared(release):
            return release
        time.sleep(0.5)
    raise AssertionError(f"the answers of {version} were never all prepared")


def all_prepared(release: Release) -> bool:
    directory = prepared.answers_dir(release.path)
    return all(
        prepared.exists(directory, prepared.answer_key(release.version, prepare.job(e, f)))
        for e in examples_of(release)
        for f in prepare.offered(e)
    )


def version_of(base: str) -> str:
    return json.loads(fetch(base + "/healthz")[2])["version"]


def served_prepared(base: str, version: str) -> bool:
    status, headers, _ = fetch(base + "/queries/agreements-by-status.csv")
    assert status == 200 and headers.get(VERSION_HEADER) == version
    return headers.get(prepared.HEADER) == "prepared"


def watchers(build_dir: Path) -> list[psutil.Process]:
    """Background preparers (`kzcn-kg prepare --watch`) of the server over `build_dir` (not
    those of other servers on the machine, such as another test run's)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if "--watch" in (process.info["cmdline"] or []) and process.environ().get(
                "KZCN_BUILD_DIR"
            ) == str(build_dir):
                found.append(process)
    return found


def test_serve_prepares_each_new_release_in_the_background(project_copy: Paths):
    build(project_copy)
    first = current(project_copy.build_dir).version
    process, base = start(project_copy.build_dir)
    try:
        wait_for_answers(project_copy.build_dir, first)
        assert served_prepared(base, first)
        source = project_copy.data / "source.ttl"
        source.write_text(source.read_text(encoding="utf-8") + "\n# a second release\n")
        build(project_copy)  # published under the running server
        second = current(project_copy.build_dir)
        assert second.version != first
        wait_for_answers(project_copy.build_dir, second.version)
        deadline = time.monotonic() + 60
        while version_of(base) != second.version and time.monotonic() < deadline:
            time.sleep(0.2)
        assert served_prepared(base, second.version)
        # An example on /sparql is prepared too; a changed text is not.
        example = examples_of(second)[0]
        status, headers, _ = fetch(
            base + "/sparql?" + urllib.parse.urlencode({"query": example.text})
        )
        assert status == 200 and headers.get(prepared.HEADER) == "prepared"
        changed = urllib.parse.urlencode({"query": example.text + " "})
        status, headers, _ = fetch(base + "/sparql?" + changed)
        assert status == 200 and prepared.HEADER not in headers
    finally:
        log = stop(process)
    assert "Traceback" not in log, log
    assert "Prepared answers of" in log


def test_the_background_preparer_stops_with_the_server(release_build_dir: Path, tmp_path: Path):
    build_dir = tmp_path / "build"
    shutil.copytree(release_build_dir, build_dir, symlinks=True)
    watching: list[psutil.Process] = []
    process, _ = start(build_dir)
    try:
        wait_for_answers(build_dir, current(build_dir).version)
        watching = watchers(build_dir)
        assert len(watching) == 1
        # Not among the server's processes, whose query workers tests and operators count.
        server_tree = {p.pid for p in psutil.Process(process.pid).children(recursive=True)}
        assert watching[0].pid not in server_tree
    finally:
        stop(process)
    deadline = time.monotonic() + 30
    while any(running(p) for p in watching) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(p) for p in watching), "the background preparer outlived the server"


def running(process: psutil.Process) -> bool:
    """Alive and not merely a zombie (an orphan waits for init to reap it)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_serve_with_prepared_answers_off_starts_no_preparer(
    release_build_dir: Path, tmp_path: Path
):
    build_dir = tmp_path / "build"
    shutil.copytree(release_build_dir, build_dir, symlinks=True)
    release = current(build_dir)
    shutil.rmtree(prepared.answers_dir(release.path), ignore_errors=True)
    process, base = start(build_dir, env={"KZCN_PREPARED": "0"})
    try:
        # The preparer is launched before the server listens: by now it would exist.
        assert watchers(build_dir) == []
        status, headers, _ = fetch(base + "/queries/agreements-by-status.csv")
        assert status == 200 and prepared.HEADER not in headers
    finally:
        stop(process)
    assert not prepared.answers_dir(release.path).exists()
