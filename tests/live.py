"""A real `kzcn-kg serve` on a loopback port, for tests that speak HTTP or drive a browser."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import IO

from server.config import PACKAGE_ROOT

LOGS: dict[int, IO[bytes]] = {}  # each running server's standard error, by process id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not come up")


def start(
    build_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`kzcn-kg serve` with one web worker and two query workers; `env` adds settings
    (e.g. KZCN_STORE)."""
    port = free_port()
    # A file, not a pipe: nobody reads a pipe while the server runs, and a full one would
    # block the server at its next log line.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--build-dir",
            str(build_dir),
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "4",
            *extra,
        ],
        cwd=PACKAGE_ROOT,
        env={**os.environ, "KZCN_QUERY_WORKERS": "2", **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    LOGS[process.pid] = log
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, process)
    except AssertionError as error:  # say why, and leave no server behind
        raise AssertionError(f"{error}:\n{stop(process)}") from None
    return process, base


def terminate(process: subprocess.Popen) -> None:
    """Stop a server started in its own process group, with every process it started."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop(process: subprocess.Popen) -> str:
    """Stop the server and return what it wrote on standard error."""
    terminate(process)
    with LOGS.pop(process.pid) as log:
        log.seek(0)
        return log.read().decode()
