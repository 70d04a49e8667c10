"""Operating the service: /healthz, /metrics (Prometheus text format) and a structured
access log, one JSON line per request."""

import json
import logging
import sys
import threading
import time
from collections import Counter

from flask import Flask, Response, current_app, g, request

log = logging.getLogger("kzcn.access")

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """Counters of this process (each web worker reports its own; sum them in Prometheus)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.buckets: Counter[float] = Counter()
        self.latency_sum = 0.0
        self.latency_count = 0

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self.lock:
            self.requests[(endpoint, status)] += 1
            self.latency_sum += seconds
            self.latency_count += 1
            for bound in LATENCY_BUCKETS:
                if seconds <= bound:
                    self.buckets[bound] += 1

    def render(self, app: Flask) -> str:
        service = app.extensions["kzcn_queries"]
        cache = service.cache
        pool = service.store.pool
        lines = ["# TYPE kzcn_requests_total counter"]
        with self.lock:
            for (endpoint, status), count in sorted(self.requests.items()):
                lines.append(
                    f'kzcn_requests_total{{endpoint="{endpoint}",status="{status}"}} {count}'
                )
            lines.append("# TYPE kzcn_request_seconds histogram")
            for bound in LATENCY_BUCKETS:
                lines.append(f'kzcn_request_seconds_bucket{{le="{bound}"}} {self.buckets[bound]}')
            lines += [
                f'kzcn_request_seconds_bucket{{le="+Inf"}} {self.latency_count}',
                f"kzcn_request_seconds_sum {self.latency_sum:.6f}",
                f"kzcn_request_seconds_count {self.latency_count}",
            ]
            timeouts = sum(n for (_, status), n in self.requests.items() if status == 503)
        lines += [
            "# TYPE kzcn_query_timeouts_total counter",
            f"kzcn_query_timeouts_total {timeouts}",
            "# TYPE kzcn_cache_hits_total counter",
            f"kzcn_cache_hits_total {cache.hits}",
            "# TYPE kzcn_cache_misses_total counter",
            f"kzcn_cache_misses_total {cache.misses}",
            "# TYPE kzcn_cache_bytes gauge",
            f"kzcn_cache_bytes {cache.size}",
            "# TYPE kzcn_query_workers_replaced_total counter",
            f"kzcn_query_workers_replaced_total {pool.replaced}",
        ]
        return "\n".join(lines) + "\n"


def init_app(app: Flask) -> None:
    metrics = Metrics()
    app.extensions["kzcn_metrics"] = metrics
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        metrics.observe(endpoint, response.status_code, seconds)
        log.info(
            json.dumps(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "ms": round(seconds * 1000, 2),
                    "bytes": response.calculate_content_length(),
                    "remote": request.remote_addr,
                }
            )
        )
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        release = current_app.config["KZCN_RELEASE"]
        body = {
            "status": "ok",
            "version": release.version,
            "created": release.manifest.get("created"),
            "triples": release.manifest.get("union_triples"),
        }
        return Response(json.dumps(body), content_type="application/json")

    @app.get("/metrics")
    def metrics_page() -> Response:
        return Response(
            metrics.render(current_app), content_type="text/plain; version=0.0.4; charset=utf-8"
        )
