"""How the fuzz tests watch the server, and what every answer must satisfy (issue #6).

Watching is observation, not mocking: a Python audit hook sees every `socket.connect` and
every file `open` the process makes, whichever code makes them. An audit hook cannot be
removed, so there is one, installed once, that records only while `watching()` is active.
The tests at the end check that the watcher itself sees what it must see.

The invariants (`check`): never a 5xx except the documented 503 (time limit, unavailable
store) with its Retry-After; no header value carrying a line break or NUL (header injection);
the security headers on every HTML answer; no connection except to the configured store; no
file read outside the release, the package's templates and static files, and the Python
modules the server imports.
"""

import mimetypes
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from werkzeug.test import TestResponse

from server.config import PACKAGE_ROOT

# Reproducible in CI and nothing written into the repository: no example database, a fixed
# seed, no per-example deadline (the machine is shared; hangs are caught by `GUARD_SECONDS`).
# KZCN_FUZZ_SCALE=10 runs ten times as many examples, to hunt rather than to check.
FUZZ = settings(
    database=None,
    derandomize=True,
    deadline=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCALE = float(os.environ.get("KZCN_FUZZ_SCALE", "1"))


def fuzz(examples: int = 40) -> settings:
    """The fuzz tests' settings, with `examples` generated inputs (times KZCN_FUZZ_SCALE)."""
    return settings(FUZZ, max_examples=max(1, int(examples * SCALE)))


# A request that has not answered by then is a hang: the longest a query may run (10 s),
# its worker's replacement and a busy machine, with room to spare.
GUARD_SECONDS = 90.0
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# mimetypes reads the system's tables (/etc/mime.types…) and the test client its own
# version (werkzeug's METADATA) once, on first use: here, outside any watched request, so
# that the harness's own first use does not count as the server reading a file.
mimetypes.init()
Flask(__name__).test_client().get("/")


class Recorder:
    """What the process connects to and opens while `watching()` is active, in any thread."""

    def __init__(self) -> None:
        self.active = False
        self.lock = threading.Lock()
        self.connections: list[Any] = []
        self.opened: list[str] = []
        self.imported: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        # Called for every audited event of the whole process: cheap, and it must never raise.
        if not self.active:
            return
        if event == "socket.connect":
            with self.lock:
                self.connections.append(args[1])
        elif event == "open" and isinstance(args[0], str | bytes):
            with self.lock:
                self.opened.append(os.fsdecode(args[0]))
        elif event == "import":
            with self.lock:
                self.imported.append(args[0])

    @contextmanager
    def watching(self) -> Iterator["Recorder"]:
        with self.lock:
            self.connections, self.opened, self.imported = [], [], []
        self.active = True
        try:
            yield self
        finally:
            self.active = False


RECORDER = Recorder()
sys.addaudithook(RECORDER.hook)


@dataclass(frozen=True)
class Allowed:
    """Where the application may connect and which files it may read."""

    addresses: frozenset[tuple[str, int]] = frozenset()
    roots: tuple[Path, ...] = ()

    @classmethod
    def of(cls, app: Flask) -> "Allowed":
        settings_ = app.config["KZCN_SETTINGS"]
        release = app.config["KZCN_RELEASE"]
        package = PACKAGE_ROOT / "server"
        roots = (release.path, settings_.build_dir, package / "templates", package / "static")
        return cls(
            addresses=store_addresses(settings_.store_url),
            roots=tuple(Path(os.path.realpath(root)) for root in roots),
        )

    def may_open(self, path: str, imported: Sequence[str] = ()) -> bool:
        """Inside the release or the package's templates and static files; or the code of a
        module the request imported (a lazy import inside a view) — that module's own
        files only, so a traversal to some other source file still counts."""
        real = os.path.realpath(path)
        if any(Path(real).is_relative_to(root) for root in self.roots):
            return True
        if not imported:
            return False
        return real in module_files(imported) or real in import_path()

    def may_connect(self, address: Any) -> bool:
        return isinstance(address, tuple) and (address[0], address[1]) in self.addresses


def module_files(names: Sequence[str]) -> set[str]:
    modules = [sys.modules.get(name) for name in names]
    paths = {getattr(m, attr, None) for m in modules for attr in ("__file__", "__cached__")}
    return {os.path.realpath(p) for p in paths if isinstance(p, str)}


def import_path() -> set[str]:
    """The import system probes the entries of sys.path themselves (python311.zip)."""
    return {os.path.realpath(entry) for entry in sys.path if entry}


def store_addresses(store_url: str | None) -> frozenset[tuple[str, int]]:
    """The addresses of a remote store's endpoint: the one place the server may connect."""
    if not store_url:
        return frozenset()
    parts = urlsplit(store_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    return frozenset((info[4][0], port) for info in infos)


@dataclass
class Answer:
    """A response read to its end while watched, with what the request made the process do."""

    status: int
    headers: list[tuple[str, str]]
    mimetype: str
    body: bytes
    connections: list[Any]
    opened: list[str]
    imported: list[str]

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def send(app: Flask, method: str, path: str, **kwargs: Any) -> Answer:
    """One request through the whole WSGI stack, watched, in a thread with a guard: a
    request that does not answer within `GUARD_SECONDS` fails the test as a hang."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            with RECORDER.watching() as seen:
                response: TestResponse = app.test_client().open(
                    "/", method=method, environ_overrides=as_sent(path, kwargs), **kwargs
                )
                body = response.get_data()
                response.close()
                box["answer"] = Answer(
                    response.status_code,
                    list(response.headers.items()),
                    response.mimetype,
                    body,
                    list(seen.connections),
                    list(seen.opened),
                    list(seen.imported),
                )
        except BaseException as error:  # re-raised in the test's thread
            box["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS)
    if thread.is_alive():
        pytest.fail(f"{method} {path!r} did not answer within {GUARD_SECONDS:g} s")
    if "error" in box:
        raise box["error"]
    return box["answer"]


def as_sent(path: str, kwargs: dict[str, Any]) -> dict[str, str]:
    """The WSGI environ an HTTP server makes of a request line with this path: decoded
    percent escapes, bytes as they are (the test client would read `//x` as a host name and
    refuse invalid UTF-8). A query in the path moves to `query_string`."""
    raw, mark, query = path.partition("?")
    if mark:
        kwargs.setdefault("query_string", query)
    return {
        "PATH_INFO": unquote_to_bytes(raw).decode("latin-1"),
        "REQUEST_URI": path,
        "RAW_URI": path,
    }


def check(answer: Answer, allowed: Allowed) -> Answer:
    """The invariants every answer to every request must satisfy."""
    assert answer.status < 500 or (answer.status == 503 and answer.header("Retry-After")), (
        answer.status,
        answer.body[:500],
    )
    for name, value in answer.headers:
        assert not set("\r\n\0") & set(name + value), f"header injection: {name}: {value!r}"
    if answer.mimetype == "text/html":
        check_security_headers(answer.header)
    outbound = [a for a in answer.connections if not allowed.may_connect(a)]
    assert not outbound, f"outbound connections: {outbound}"
    outside = [p for p in answer.opened if not allowed.may_open(p, answer.imported)]
    assert not outside, f"files read outside the release and the package: {outside}"
    return answer


def check_security_headers(header: Callable[[str], str | None]) -> None:
    """An HTML answer: scripts from our origin only, never framed, never sniffed."""
    policy = header("Content-Security-Policy") or ""
    assert "script-src 'self'" in policy or "default-src 'none'" in policy, policy
    assert "frame-ancestors" in policy, policy
    assert header("X-Content-Type-Options") == "nosniff"
    assert header("Referrer-Policy")


def fetch(app: Flask, method: str, path: str, **kwargs: Any) -> Answer:
    """`send` and `check` in one: what most fuzz tests do with each generated request."""
    return check(send(app, method, path, **kwargs), Allowed.of(app))


# --- the watcher itself -----------------------------------------------------------------------


def test_the_recorder_sees_a_connection(tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    try:
        with RECORDER.watching() as seen, socket.create_connection(("127.0.0.1", port)):
            pass
    finally:
        listener.close()
    assert ("127.0.0.1", port) in seen.connections
    assert not Allowed().may_connect(("127.0.0.1", port))


def test_the_recorder_sees_a_file_read_outside_and_records_only_while_watching(tmp_path, app):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    secret.read_text()  # not watched: not recorded
    with RECORDER.watching() as seen:
        secret.read_text()
    assert seen.opened == [str(secret)]
    allowed = Allowed.of(app)
    assert not allowed.may_open(str(secret))
    assert not allowed.may_open(str(PACKAGE_ROOT / "server" / "static" / ".." / "config.py"))
    assert allowed.may_open(str(app.config["KZCN_RELEASE"].path / "manifest.json"))


def test_check_refuses_a_server_error_and_header_injection():
    answer = Answer(500, [], "text/plain", b"", [], [], [])
    with pytest.raises(AssertionError):
        check(answer, Allowed())
    injected = Answer(200, [("Content-Disposition", "x\r\nSet-Cookie: a=b")], "", b"", [], [], [])
    with pytest.raises(AssertionError, match="header injection"):
        check(injected, Allowed())
    assert check(Answer(503, [("Retry-After", "5")], "text/plain", b"", [], [], []), Allowed())
