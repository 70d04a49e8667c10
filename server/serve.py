"""`kzcn-kg serve`: the application under gunicorn, a production WSGI server.

gthread workers: each web process serves many connections with threads while its queries run
in its own pool of killable query processes (see store/embedded.py), so one slow query holds
one thread, never a whole web worker."""

from typing import Any

from gunicorn.app.base import BaseApplication

from . import create_app
from .config import Settings


class Server(BaseApplication):
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app(self.settings)


def run(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        # A web worker is only declared stuck well after any query must have been stopped.
        "timeout": int(settings.query_timeout) + 30,
        "graceful_timeout": 10,
        "accesslog": None,  # the application writes its own structured access log
        "errorlog": "-",
        "proc_name": "kzcn-kg",
    }
    Server(settings, options).run()
