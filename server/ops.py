"""Operating the service: a structured access log (one JSON line per request), /metrics in
Prometheus text format, and /healthz.

Logging and counting happen in a WSGI middleware around everything else, so the requests the
fast path answers before Flask are logged and counted like the rest."""

import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, current_app

from .current_release import EXTENSION, served

log = logging.getLogger("kzcn.access")

NO_STORE = {"Cache-Control": "no-store"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Metrics are labelled by the first path segment, never the full path: resource paths are
# unbounded and would make the metrics grow without limit.
ROUTES = {
    "sparql",
    "queries",
    "id",
    "ontology",
    "dumps",
    "search",
    "reconcile",
    "healthz",
    "metrics",
    "static",
}


def route_of(path: str) -> str:
    first = path.lstrip("/").split("/", 1)[0].split(".", 1)[0]
    return f"/{first}" if first in ROUTES else ("/" if not first else "other")


class Metrics:
    """Counters of this process (each web worker reports its own; sum them in Prometheus)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.buckets: Counter[float] = Counter()
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(route, status)] += 1
            self.latency_sum += seconds
            self.latency_count += 1
            for bound in LATENCY_BUCKETS:
                if seconds <= bound:
                    self.buckets[bound] += 1

    def lines(self) -> list[str]:
        with self.lock:
            lines = ["# TYPE kzcn_requests_total counter"]
            lines += [
                f'kzcn_requests_total{{route="{route}",status="{status}"}} {count}'
                for (route, status), count in sorted(self.requests.items())
            ]
            lines.append("# TYPE kzcn_request_seconds histogram")
            lines += [
                f'kzcn_request_seconds_bucket{{le="{bound}"}} {self.buckets[bound]}'
                for bound in LATENCY_BUCKETS
            ]
            lines += [
                f'kzcn_request_seconds_bucket{{le="+Inf"}} {self.latency_count}',
                f"kzcn_request_seconds_sum {self.latency_sum:.6f}",
                f"kzcn_request_seconds_count {self.latency_count}",
            ]
            timeouts = sum(n for (route, status), n in self.requests.items() if status == 503)
        return [
            *lines,
            "# TYPE kzcn_query_timeouts_total counter",
            f"kzcn_query_timeouts_total {timeouts}",
        ]


class AccessLog:
    """WSGI middleware: time, count and log every request."""

    def __init__(self, app: Callable[..., Iterable[bytes]], metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        seen: list[tuple[str, list[tuple[str, str]]]] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        seconds = time.perf_counter() - started
        status = int(seen[0][0].split(" ", 1)[0]) if seen else 500
        length = (
            next((v for k, v in seen[0][1] if k.lower() == "content-length"), None)
            if seen
            else None
        )
        path = environ.get("PATH_INFO", "")
        self.metrics.observe(route_of(path), status, seconds)
        log.info(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "method": environ.get("REQUEST_METHOD"),
                    "path": path,
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                    "bytes": int(length) if length else None,
                    "remote": environ.get("REMOTE_ADDR"),
                }
            )
        )
        return body


def init_app(app: Flask) -> Metrics:
    """Register /healthz and /metrics; return the metrics for the access-log middleware."""
    metrics = Metrics()
    # One handler for the service's own lines: the access log and events such as a release
    # switch (logger "kzcn.release").
    service_log = logging.getLogger("kzcn")
    if not service_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        service_log.addHandler(handler)
        service_log.setLevel(logging.INFO)
        service_log.propagate = False

    @app.get("/healthz")
    def healthz() -> Response:
        release = served().release
        body = {
            "status": "ok",
            "version": release.version,
            "created": release.manifest.get("created"),
            "triples": release.manifest.get("union_triples"),
        }
        # Live state, never replayed from the response cache (fastpath.py) nor by proxies.
        return Response(json.dumps(body), content_type="application/json", headers=NO_STORE)

    @app.get("/metrics")
    def metrics_page() -> Response:
        service = current_app.extensions["kzcn_queries"]
        fast = current_app.extensions["kzcn_fastpath"].cache
        holder = current_app.extensions[EXTENSION]
        lines = [
            *metrics.lines(),
            "# TYPE kzcn_cache_hits_total counter",
            f'kzcn_cache_hits_total{{cache="responses"}} {fast.hits}',
            f'kzcn_cache_hits_total{{cache="answers"}} {service.cache.hits}',
            "# TYPE kzcn_cache_misses_total counter",
            f'kzcn_cache_misses_total{{cache="responses"}} {fast.misses}',
            f'kzcn_cache_misses_total{{cache="answers"}} {service.cache.misses}',
            "# TYPE kzcn_cache_bytes gauge",
            f'kzcn_cache_bytes{{cache="responses"}} {fast.size}',
            f'kzcn_cache_bytes{{cache="answers"}} {service.cache.size}',
            *(
                f"# TYPE {name} counter\n{name} {value}"
                for name, value in holder.counters().items()
            ),
        ]
        return Response(
            "\n".join(lines) + "\n",
            content_type="text/plain; version=0.0.4; charset=utf-8",
            headers=NO_STORE,
        )

    return metrics
