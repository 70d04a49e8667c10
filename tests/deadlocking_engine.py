"""A real HTTP server that answers like a SPARQL engine rolling a request back to break a
deadlock (Virtuoso: HTTP 500, SQLSTATE 40001, SR172) the first N times, then answers."""

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

DEADLOCKED = b"Virtuoso 40001 Error SR172: Transaction deadlocked"


class DeadlockingEngine(http.server.ThreadingHTTPServer):
    """Deadlocked for the first `deadlocks` requests, then `answer` (200); it keeps the
    bodies it received."""

    def __init__(self, deadlocks: int, answer: bytes, content_type: str) -> None:
        self.deadlocks, self.answer, self.content_type = deadlocks, answer, content_type
        self.bodies = list[bytes]()
        super().__init__(("127.0.0.1", 0), DeadlockingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/sparql"


class DeadlockingHandler(http.server.BaseHTTPRequestHandler):
    server: DeadlockingEngine

    def answer(self) -> None:
        self.server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        failing = len(self.server.bodies) <= self.server.deadlocks
        body = DEADLOCKED if failing else self.server.answer
        self.send_response(500 if failing else 200)
        self.send_header("Content-Type", "text/plain" if failing else self.server.content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = answer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@contextmanager
def deadlocking_engine(
    deadlocks: int, answer: bytes = b"", content_type: str = "text/plain"
) -> Iterator[DeadlockingEngine]:
    engine = DeadlockingEngine(deadlocks, answer, content_type)
    thread = threading.Thread(target=engine.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        engine.shutdown()
        engine.server_close()
