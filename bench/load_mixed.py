"""Mixed load with runaway queries (issue #6): `kzcn-kg serve` under 60 s of mixed traffic at
concurrency 32 over loopback, with a query that can never finish sent every few seconds.

    .venv/bin/python bench/load_mixed.py [--seconds 60] [--connections 32] [--build-dir DIR]

The traffic: the example queries (GET and POST, JSON/TSV/Turtle/N-Triples, /sparql and
/queries/…), a cheap query never seen before (so it needs a query process), the page of every
thing in the 5 UI languages (`?lang=` and Accept-Language) and in every RDF format, 303
content negotiation, class pages, search and search.json with terms taken from the data's own
labels, reconciliation, dumps (HEAD, Range, full), 304 revalidations — and every
`--runaway-every` seconds a cross product over the whole graph, alternately with the default
time limit and with a client `timeout=`. Each runaway must end as a 503; every other answer
must be 2xx or 3xx, and the p99 of the normal requests under `--p99-ms`. The server's memory
(RSS summed over granian's processes and the query processes) is taken after the warm-up,
after the run and after a second run: growth past `--rss-growth` fails. Prints a JSON summary,
writes bench/results/load-mixed.json, exits 1 if a target is missed.

The client is Python asyncio over raw keep-alive HTTP/1.1 (wrk cannot send HEAD requests, and
reports no latency per request class); its own CPU time is reported so a reader can see that
it is not the bottleneck.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from sparql_load import free_port  # noqa: E402  (bench/ is on the path: this script's folder)

from server.pages.languages import LANGUAGES  # noqa: E402
from tests.live import terminate  # noqa: E402

LANGS = [language.code for language in LANGUAGES]
ACCEPT_LANGUAGES = ["kk-KZ,kk;q=0.9,ru;q=0.8", "ru-RU,ru;q=0.9", "zh-CN,zh;q=0.9", "en-GB"]
RDF_EXTENSIONS = ["ttl", "nt", "jsonld", "rdf"]
JSON_RESULTS = "application/sparql-results+json"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }"
RUNAWAY_CLIENT_TIMEOUT = 2  # seconds, for every other runaway
# Share of each class in the normal traffic (runaways are scheduled by time, not drawn).
WEIGHTS = {
    "query": 22,
    "query-fresh": 3,
    "entity-html": 20,
    "entity-rdf": 12,
    "entity-303": 4,
    "class-page": 6,
    "site-page": 3,
    "search": 5,
    "search-json": 8,
    "reconcile": 5,
    "dump-head": 3,
    "dump-range": 2,
    "dump-full": 1,
    "revalidate-304": 6,
}
MAX_TERMS = 120  # distinct search terms: enough variety, and a warm-up of reasonable length
CLIENT_TIMEOUT = 60  # seconds; far above the server's own limit, so only a hung server trips it


@dataclass(frozen=True)
class Req:
    kind: str  # the class it is reported under
    method: str
    path: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def encode(self, host: str) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body or self.method == "POST":
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(frozen=True)
class Outcome:
    kind: str
    status: int  # 0: no answer (connection error or client time-out)
    seconds: float


# --- HTTP/1.1 client -------------------------------------------------------------------------


class Connection:
    """One keep-alive connection; reopened after an error or a `Connection: close`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, req: Req) -> tuple[int, dict[str, str]]:
        if self.streams is None:
            self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self.streams
        writer.write(req.encode(self.host))
        status, headers = await read_head(reader)
        await read_body(reader, req.method, status, headers)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_body(
    reader: asyncio.StreamReader, method: str, status: int, headers: dict[str, str]
) -> None:
    if method == "HEAD" or status in (204, 304) or status < 200:
        return
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # trailers
    elif "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    else:
        await reader.read()  # delimited by the end of the connection
        headers["connection"] = "close"


# --- the traffic -----------------------------------------------------------------------------


@dataclass
class Traffic:
    """Which request each connection sends next, until the deadline: the runaway when one is
    due, else a class drawn by weight and the next request of its cycle."""

    pools: dict[str, list[Req]]
    fresh: Callable[[int], Req]
    deadline: float
    runaway_every: float
    seed: int
    rng: random.Random = field(init=False)
    cycles: dict[str, Iterator[Req]] = field(init=False)
    kinds: list[str] = field(init=False)
    weights: list[int] = field(init=False)
    next_runaway: float = field(init=False)
    counter: Iterator[int] = field(init=False)
    runaways: Iterator[int] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.cycles = {}
        for kind, pool in self.pools.items():
            shuffled = pool[:]
            self.rng.shuffle(shuffled)
            self.cycles[kind] = itertools.cycle(shuffled)
        self.kinds = [k for k in WEIGHTS if k == "query-fresh" or self.pools.get(k)]
        self.weights = [WEIGHTS[k] for k in self.kinds]
        self.next_runaway = time.monotonic() + self.runaway_every / 2
        self.counter = itertools.count()
        self.runaways = itertools.count()

    def next(self) -> Req | None:
        now = time.monotonic()
        if now >= self.deadline:
            return None
        if self.runaway_every and now >= self.next_runaway:
            self.next_runaway += self.runaway_every
            return runaway(next(self.runaways))
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "query-fresh":
            return self.fresh(next(self.counter))
        return next(self.cycles[kind])


def runaway(n: int) -> Req:
    """A five-way cross product of the graph: ~10¹⁷ rows, it cannot finish."""
    params = {"query": RUNAWAY}
    if n % 2:
        params["timeout"] = str(RUNAWAY_CLIENT_TIMEOUT)
    return Req("runaway", "GET", "/sparql?" + urllib.parse.urlencode(params), accept(JSON_RESULTS))


def fresh_query(run: int) -> Callable[[int], Req]:
    """A cheap query whose text was never seen before, so neither cache can answer it: it
    needs a query process, like any new question a reader asks."""

    def make(n: int) -> Req:
        query = (
            "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o "
            f"FILTER (STRLEN(STR(?o)) > {run * 1_000_000 + n}) }}"
        )
        return Req("query-fresh", "GET", "/sparql?" + urllib.parse.urlencode({"query": query}))

    return make


def accept(media_type: str) -> tuple[tuple[str, str], ...]:
    return (("Accept", media_type),)


def is_ok(outcome: Outcome) -> bool:
    if outcome.kind == "runaway":
        return outcome.status == 503  # its own time-limit answer
    return 200 <= outcome.status < 400


async def drive(port: int, traffic: Traffic, connections: int) -> list[Outcome]:
    outcomes: list[Outcome] = []

    async def lane() -> None:
        connection = Connection(port)
        while (req := traffic.next()) is not None:
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(connection.exchange(req), CLIENT_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                status = 0
                connection.close()
            outcomes.append(Outcome(req.kind, status, time.perf_counter() - started))
        connection.close()

    await asyncio.gather(*(lane() for _ in range(connections)))
    return outcomes


async def fetch_all(port: int, reqs: list[Req], connections: int) -> list[dict[str, str]]:
    """Every request once (the warm-up); the response headers of each, in order."""
    answers: list[dict[str, str]] = [{} for _ in reqs]
    failures: list[str] = []
    todo = iter(enumerate(reqs))

    async def lane() -> None:
        connection = Connection(port)
        for i, req in todo:
            status, headers = await asyncio.wait_for(connection.exchange(req), CLIENT_TIMEOUT)
            if not 200 <= status < 400:
                failures.append(f"{req.method} {req.path[:200]} answered {status}")
            answers[i] = headers
        connection.close()

    await asyncio.gather(*(lane() for _ in range(connections)))
    if failures:
        raise SystemExit("warm-up failed:\n  " + "\n  ".join(failures[:10]))
    return answers


# --- what there is to ask for ----------------------------------------------------------------


def get_json(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return json.loads(response.read())


def get_text(base: str, path: str) -> str:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        return response.read().decode("utf-8")


def query_requests(release: Path) -> list[Req]:
    reqs = []
    for rq in sorted((release / "queries").glob("*.rq")):
        text = rq.read_text(encoding="utf-8")
        body = re.sub(r"(?m)^\s*#.*$", "", text)
        graph = re.search(r"\b(CONSTRUCT|DESCRIBE)\b", body, re.IGNORECASE)
        types = (
            ["text/turtle", "application/n-triples"]
            if graph
            else [JSON_RESULTS, "text/tab-separated-values"]
        )
        get = "/sparql?" + urllib.parse.urlencode({"query": text})
        form = urllib.parse.urlencode({"query": text}).encode()
        form_type = ("Content-Type", "application/x-www-form-urlencoded")
        raw_type = ("Content-Type", "application/sparql-query")
        for media in types:
            reqs.append(Req("query", "GET", get, accept(media)))
            reqs.append(Req("query", "POST", "/sparql", (*accept(media), form_type), form))
        reqs.append(Req("query", "POST", "/sparql", (*accept(types[0]), raw_type), text.encode()))
        ext = ["ttl", "nt"] if graph else ["json", "tsv", "csv"]
        reqs += [Req("query", "GET", f"/queries/{rq.stem}.{e}") for e in ext]
        reqs.append(Req("query", "GET", f"/queries/{rq.stem}"))
    return reqs


def sitemap_paths(base: str) -> list[str]:
    locs = re.findall(r"<loc>([^<]+)</loc>", get_text(base, "/sitemap.xml"))
    return [urllib.parse.urlsplit(loc).path for loc in locs]


def entity_requests(entities: list[str]) -> dict[str, list[Req]]:
    html, rdf, conneg = [], [], []
    for path in entities:
        html += [Req("entity-html", "GET", f"{path}.html?lang={lang}") for lang in LANGS]
        html += [
            Req("entity-html", "GET", f"{path}.html", (("Accept-Language", value),))
            for value in ACCEPT_LANGUAGES
        ]
        rdf += [Req("entity-rdf", "GET", f"{path}.{ext}") for ext in RDF_EXTENSIONS]
        conneg += [
            Req("entity-303", "GET", path, accept("text/html,application/xhtml+xml")),
            Req("entity-303", "GET", path, accept("text/turtle;q=0.9,application/ld+json")),
        ]
    return {"entity-html": html, "entity-rdf": rdf, "entity-303": conneg}


def class_requests(base: str) -> list[Req]:
    names = sorted(set(re.findall(r'href="/classes/(\w+)"', get_text(base, "/classes/"))))
    paths = ["/classes/"] + [f"/classes/{name}" for name in names]
    return [Req("class-page", "GET", f"{p}?lang={lang}") for p in paths for lang in LANGS]


def search_terms(base: str, seed: int) -> list[str]:
    """Terms a reader might type, from the graph's own labels: whole names, single words,
    word prefixes, acronyms, and a word with two letters swapped (a typo)."""
    query = (
        "SELECT DISTINCT ?l WHERE { ?s rdfs:label|skos:altLabel|skos:prefLabel ?l "
        'FILTER (STRSTARTS(STR(?s), "https://w3id.org/kzcn/id/")) }'
    )
    rows = get_json(base, "/sparql?" + urllib.parse.urlencode({"query": query, "format": "json"}))
    labels = sorted({row["l"]["value"] for row in rows["results"]["bindings"]})
    rng = random.Random(seed)
    terms = set(labels)
    for label in labels:
        words = [w for w in re.findall(r"\w+", label) if len(w) > 3]
        for word in words[:3]:
            terms.add(word)
            terms.add(word[:4])
            if len(word) > 6:
                i = rng.randrange(1, len(word) - 2)
                terms.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    return sorted(rng.sample(sorted(terms), min(len(terms), MAX_TERMS)))


def search_requests(terms: list[str]) -> dict[str, list[Req]]:
    page = [
        Req("search", "GET", "/search?" + urllib.parse.urlencode({"q": t, "lang": LANGS[i % 5]}))
        for i, t in enumerate(terms)
    ]
    data = [
        Req("search-json", "GET", "/search.json?" + urllib.parse.urlencode({"q": t, "limit": 5}))
        for t in terms
    ]
    data += [
        Req("search-json", "GET", "/search.json?" + urllib.parse.urlencode({"q": t, "type": k}))
        for t in terms[::7]
        for k in ("kzcn:HigherEducationInstitution", "kzcn:Agreement")
    ]
    return {"search": page, "search-json": data}


def reconcile_requests(terms: list[str], entities: list[str]) -> list[Req]:
    reqs = [Req("reconcile", "GET", "/reconcile")]
    for i in range(0, len(terms), 3):
        batch = {f"q{j}": {"query": t} for j, t in enumerate(terms[i : i + 3])}
        params = urllib.parse.urlencode({"queries": json.dumps(batch, ensure_ascii=False)})
        if i % 2:
            form = (("Content-Type", "application/x-www-form-urlencoded"),)
            reqs.append(Req("reconcile", "POST", "/reconcile", form, params.encode()))
        else:
            reqs.append(Req("reconcile", "GET", "/reconcile?" + params))
    reqs += [
        Req(
            "reconcile", "GET", "/reconcile/suggest/entity?" + urllib.parse.urlencode({"prefix": t})
        )
        for t in terms[::5]
    ]
    reqs += [
        Req(
            "reconcile",
            "GET",
            "/reconcile/preview?" + urllib.parse.urlencode({"id": "https://w3id.org/kzcn" + p}),
        )
        for p in entities
    ]
    return reqs


def dump_requests(base: str) -> dict[str, list[Req]]:
    files = [
        urllib.parse.urlsplit(f["url"]).path for f in get_json(base, "/dumps/index.json")["files"]
    ]
    pages = ["/dumps/", "/dumps/index.json", "/.well-known/void", "/dataset"]
    return {
        "dump-head": [Req("dump-head", "HEAD", p) for p in files],
        "dump-range": [
            Req("dump-range", "GET", p, (("Range", byte_range),))
            for p in files
            for byte_range in ("bytes=0-4095", "bytes=-1024")
        ],
        "dump-full": [Req("dump-full", "GET", p) for p in files + pages],
    }


def revalidations(reqs: list[Req], answers: list[dict[str, str]]) -> list[Req]:
    """The same GETs again with the ETag they were given: each should be a 304."""
    return [
        Req("revalidate-304", "GET", req.path, (*req.headers, ("If-None-Match", headers["etag"])))
        for req, headers in zip(reqs, answers, strict=True)
        if req.method == "GET" and "etag" in headers and "Range" not in dict(req.headers)
    ]


def request_pools(base: str, release: Path, seed: int) -> dict[str, list[Req]]:
    paths = sitemap_paths(base)
    entities = [p for p in paths if p.startswith("/id/")]
    terms = search_terms(base, seed)
    pools = {
        "query": query_requests(release),
        **entity_requests(entities),
        "class-page": class_requests(base),
        "site-page": [Req("site-page", "GET", p) for p in paths if not p.startswith("/id/")],
        **search_requests(terms),
        "reconcile": reconcile_requests(terms, entities),
        **dump_requests(base),
    }
    return pools


# --- the server ------------------------------------------------------------------------------


def start_server(
    build_dir: Path, port: int, args: argparse.Namespace, log: Path
) -> subprocess.Popen:
    command = [str(BIN / "kzcn-kg"), "--build-dir", str(build_dir), "serve", "--port", str(port)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return process
        except OSError:
            time.sleep(0.3)
    terminate(process)
    raise SystemExit(f"the server did not come up:\n{tail(log)}")


def server_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss(pid: int) -> int:
    total = 0
    for process in server_tree(pid):
        # A query process may be killed at its time limit while we look.
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of each process of the server."""
    seconds = {}
    for process in server_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            seconds[process.pid] = times.user + times.system
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds between two snapshots; a process killed in between (a runaway's) is
    missing from the second, so this is the cost of the traffic that was answered."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def settled_rss(pid: int, processes: int, seconds: float = 30) -> int:
    """RSS once every killed query process has been replaced (the tree is whole again)."""
    deadline = time.monotonic() + seconds
    while len(server_tree(pid)) < processes and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # let a just-started query process finish opening the store
    return tree_rss(pid)


# --- the run ---------------------------------------------------------------------------------


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest rank."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def stats(outcomes: list[Outcome], seconds: float) -> dict:
    latencies = sorted(o.seconds * 1000 for o in outcomes)
    statuses: dict[int, int] = defaultdict(int)
    for outcome in outcomes:
        statuses[outcome.status] += 1
    return {
        "count": len(outcomes),
        "errors": sum(not is_ok(o) for o in outcomes),
        "per_second": round(len(outcomes) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def run_once(
    server_pid: int, port: int, pools: dict[str, list[Req]], args: argparse.Namespace, run: int
) -> dict:
    traffic = Traffic(
        pools,
        fresh_query(run),
        time.monotonic() + args.seconds,
        args.runaway_every,
        args.seed + run,
    )
    psutil.cpu_percent()  # starts the machine-wide measurement
    cpu_before, wall_before = time.process_time(), time.monotonic()
    server_before = tree_cpu(server_pid)
    outcomes = asyncio.run(drive(port, traffic, args.connections))
    server_cpu = cpu_used(server_before, tree_cpu(server_pid))
    wall = time.monotonic() - wall_before
    client_cpu = (time.process_time() - cpu_before) / wall
    window = min(args.seconds, wall)  # rates are per second of sending; the drain is apart
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_kind[outcome.kind].append(outcome)
    normal = [o for o in outcomes if o.kind != "runaway"]
    return {
        "seconds": round(window, 1),
        "drain_seconds": round(wall - window, 1),  # the last requests sent, answered
        "normal": stats(normal, window),
        "runaway": stats(by_kind.pop("runaway", []), window),
        "classes": {kind: stats(items, window) for kind, items in sorted(by_kind.items())},
        "server_cpu_ms_per_normal_request": round(server_cpu * 1000 / max(len(normal), 1), 2),
        "client_cpu_share_of_one_core": round(client_cpu, 2),
        "machine_cpu_percent": psutil.cpu_percent(),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def verdicts(record: dict, args: argparse.Namespace) -> dict[str, bool]:
    before = record["rss_mb"]["after_warm_up"]
    checks = {}
    for name in ("run_1", "run_2"):
        run = record[name]
        checks[f"{name}: zero errors"] = (
            run["normal"]["errors"] == 0 and run["runaway"]["errors"] == 0
        )
        checks[f"{name}: runaways sent"] = run["runaway"]["count"] > 0
        checks[f"{name}: p99 of normal requests < {args.p99_ms:g} ms"] = (
            run["normal"]["p99_ms"] < args.p99_ms
        )
        growth = record["rss_mb"][f"after_{name}"] / before - 1
        checks[f"{name}: RSS within {args.rss_growth:.0%} of before"] = growth <= args.rss_growth
    return checks


def warm_up(server_pid: int, port: int, pools: dict[str, list[Req]], passes: int) -> dict:
    """Every request, a few times over fresh connections, so that each web worker has its
    caches filled; then the revalidations, built from the ETags the first pass gave. The
    last pass goes class by class and returns the server's CPU milliseconds per request of
    each, warm: a cost profile that a busy machine distorts far less than latencies."""
    reqs = [req for pool in pools.values() for req in pool]
    answers = asyncio.run(fetch_all(port, reqs, 8))
    for _ in range(passes - 2):
        asyncio.run(fetch_all(port, reqs, 8))
    pools["revalidate-304"] = revalidations(reqs, answers)
    cost = {}
    for kind, pool in pools.items():
        before = tree_cpu(server_pid)
        asyncio.run(fetch_all(port, pool, 8))
        cost[kind] = round(cpu_used(before, tree_cpu(server_pid)) * 1000 / len(pool), 2)
    return cost


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runaway-every", type=float, default=5, help="seconds; 0: none")
    parser.add_argument("--build-dir", type=Path, help="serve this build (default: a fresh one)")
    parser.add_argument("--workers", type=int, help="granian workers (default: serve's)")
    parser.add_argument("--threads", type=int, help="granian threads (default: serve's)")
    parser.add_argument(
        "--warm-passes", type=int, default=3, help="2 at least; the last one measures CPU"
    )
    parser.add_argument("--p99-ms", type=float, default=100)
    parser.add_argument("--rss-growth", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--server-log", type=Path, help="keep the server's log here")
    parser.add_argument("--out", type=Path, default=RESULTS / "load-mixed.json")
    return parser.parse_args()


def fresh_build(tmp: Path) -> Path:
    build_dir = tmp / "build"
    subprocess.run(
        [str(BIN / "kzcn-kg"), "--build-dir", str(build_dir), "build"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return build_dir


def tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def measure(build_dir: Path, args: argparse.Namespace, log: Path) -> dict:
    port = free_port()
    server = start_server(build_dir, port, args, log)
    try:
        base = f"http://127.0.0.1:{port}"
        pools = request_pools(base, (build_dir / "current").resolve(), args.seed)
        print(f"distinct requests: { {k: len(v) for k, v in pools.items()} }", file=sys.stderr)
        cost = warm_up(server.pid, port, pools, args.warm_passes)
        processes = len(server_tree(server.pid))
        rss = {"after_warm_up": settled_rss(server.pid, processes)}
        runs = {}
        for run in (1, 2):
            runs[f"run_{run}"] = run_once(server.pid, port, pools, args, run)
            rss[f"after_run_{run}"] = settled_rss(server.pid, processes)
            print(f"run {run}: {json.dumps(runs[f'run_{run}']['normal'])}", file=sys.stderr)
    except BaseException:
        print(f"the server's last words ({log}):\n{tail(log)}", file=sys.stderr)
        raise
    finally:
        terminate(server)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "command": " ".join(["bench/load_mixed.py", *sys.argv[1:]]),
        "connections": args.connections,
        "runaway_every_seconds": args.runaway_every,
        "server_processes": processes,
        "distinct_requests": {kind: len(pool) for kind, pool in pools.items()},
        "server_cpu_ms_per_request_warm": cost,
        "rss_mb": {k: round(v / 2**20, 1) for k, v in rss.items()},
        **runs,
    }


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = args.server_log or Path(tmp) / "server.log"
        record = measure(args.build_dir or fresh_build(Path(tmp)), args, log)
    record["targets"] = verdicts(record, args)
    record["passed"] = all(record["targets"].values())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(record, indent=1, ensure_ascii=False))
    return 0 if record["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
