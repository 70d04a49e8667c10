"""`kzcn-kg serve`: the application under granian, a Rust HTTP server for Python apps.

Measured on this project's 2-core machine (bench/README.md), granian answers a cached query
about three times as fast as gunicorn. Each web worker process imports `server.wsgi:app`,
which reads its settings from the environment; so the command line's settings are passed on
as KZCN_* variables. Queries run in each worker's own pool of killable query processes (see
store/embedded.py), so a slow query holds one blocking thread, never a whole worker. A release
published while it runs is picked up by each web worker, without a restart
(current_release.py); a broken one is refused before anything starts (cli.run_serve). Beside
it runs the background preparer of the example queries' answers (sparql/prepare.py), at the
lowest CPU priority, for the current release and each new one; it stops with the server."""

import os
import subprocess
import threading

from granian import Granian
from granian.constants import Interfaces

from .child_process import python_module, same_code
from .config import Settings


def run(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    os.environ.update(
        {
            "KZCN_BUILD_DIR": str(settings.build_dir),
            "KZCN_PUBLIC_BASE": settings.public_base,
            "KZCN_QUERY_TIMEOUT": str(settings.query_timeout),
        }
    )
    if settings.prepared:
        start_preparer()
    Granian(
        "server.wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        respawn_failed_workers=True,  # a worker that dies is replaced, not left missing
        log_access=False,  # the application writes its own structured access log
    ).serve()


def start_preparer() -> int:
    """Start `kzcn-kg prepare --watch` (settings from the environment); return the write end
    of the pipe whose closing, when this process ends however it ends, stops it. The
    launcher exits as soon as it has forked the preparer; a thread reaps it meanwhile."""
    read_end, write_end = os.pipe()
    launcher = subprocess.Popen(
        python_module("server.cli", "prepare", "--watch", str(read_end)),
        env=same_code(),
        pass_fds=(read_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    os.close(read_end)
    threading.Thread(target=launcher.wait, daemon=True, name="kzcn-preparer-launch").start()
    return write_end
