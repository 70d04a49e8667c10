"""How every cost grows with the graph: build time by step, peak memory, and the latency of the
`queries/` mix and of entity pages, for the embedded store and for Virtuoso, at each size.

    .venv/bin/python bench/scale.py [--sizes 1e4,1e5,1e6,1e7] [--engine scalable]
                                    [--repeats 5] [--timeout 10] [--work /tmp/kzcn-scale]
    .venv/bin/python bench/scale.py --report     # tables and plot from the recorded results

For each size, in one run: generate a synthetic project root (bench/generate.py; cached in
--work and reused while the generator and the ontology, shapes and queries it copies are
unchanged), build it with `kzcn-kg build` in a
subprocess (step timings from its output, peak RSS of its process tree), bulk-load the release
into a private Virtuoso (time, Virtuoso's peak RSS), then for each backend — the embedded store,
and Virtuoso through KZCN_STORE — prepare the example queries' answers with `kzcn-kg prepare`
(wall and CPU time: a cost per release), start `kzcn-kg serve` with caches off and time
sequential requests: the example queries and the HTML and Turtle pages of a few generated
entities of different kinds, one warm-up pass then --repeats passes; then the example queries
again on a server with KZCN_PREPARED=0, which answers them from the engine ("mix p50 live",
recorded under "queries" as in earlier runs; served prepared under "queries_prepared"). A
request past the server's time limit is recorded as timed out (a 503 after the limit), never
dropped.

Results are merged by size into bench/results/scale.json (a run of 1e6 keeps the 1e4 numbers)
and drawn into bench/results/scale.png (log–log, one panel per cost).
"""

import argparse
import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

# The load benchmark (for the query mix as it sends it) and the test suite's server helper.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sparql_load import free_port, query_paths

from server.config import Settings
from server.store.virtuoso import Virtuoso
from tests.live import wait_until_up

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
GENERATOR = ROOT / "bench" / "generate.py"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
MB = 1024 * 1024

# `  parse 0.15 s, reason 1.60 s, validate 0.50 s, publish 0.30 s` from `kzcn-kg build`.
STEP = re.compile(r"(\w+) ([\d.]+) s\b")
COUNTS = re.compile(r"(\d+) asserted, (\d+) inferred triples")

# Entity kinds whose pages are timed: (IRI prefix in the generated data, path segment, class
# required or None); the first generated entity of each. Their pages should not grow with the
# graph. Kazakhstan's should: it is the most linked-to node (every agreement has a Kazakh party).
ENTITY_KINDS = (
    ("inst", "organization", "HigherEducationInstitution"),
    ("agreement", "agreement", None),
    ("initiative", "initiative", None),
    ("domain", "domain", None),
    ("event", "event", None),
)
HUB = ("country", "kazakhstan")
TYPE_LINE = re.compile(r"^(\w+):(\S+) a kzcn:(\w+) \.$")
SCAN_LINES = 50_000  # per data file: entities of every kind a file has appear early in it
PAGE_FORMATS = {"html": "text/html", "ttl": "text/turtle"}
GROUPS = ("queries", *PAGE_FORMATS, "site")
PREPARED_GROUP = "queries_prepared"  # the example queries served from prepared answers
MIX_LABELS = {"queries": "live", PREPARED_GROUP: "prepared"}
# `prepared 86 answers of 21 queries (310,943,819 bytes); skipped 0; …` from `kzcn-kg prepare`.
PREPARED_LINE = re.compile(
    r"prepared (\d+) answers of (\d+) queries \(([\d,]+) bytes\); skipped (\d+)"
)
BACKENDS = ("embedded", "virtuoso")


#################################################################
# Peak memory of a process tree
#################################################################


class PeakRss:
    """Polls the summed RSS of a process and its descendants in a thread; `peak` in bytes.

    The root is asked for on every poll, because Virtuoso.load() restarts the server."""

    def __init__(self, root_pid: Callable[[], int | None], interval: float = 0.1) -> None:
        self.root_pid, self.interval = root_pid, interval
        self.peak = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def __enter__(self) -> "PeakRss":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()

    def poll(self) -> None:
        while not self.stopping.is_set():
            self.peak = max(self.peak, tree_rss(self.root_pid()))
            self.stopping.wait(self.interval)

    @property
    def peak_mb(self) -> float:
        return round(self.peak / MB, 1)


def tree_rss(pid: int | None) -> int:
    if pid is None:
        return 0
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


#################################################################
# Generate and build
#################################################################


def generated_root(size: int, work: Path) -> tuple[Path, dict]:
    """A generated project root of `size` triples, reused while the generator and what it
    copies are unchanged; with the time and memory its generation took (in a stamp beside it)."""
    root = work / f"gen-{size}"
    stamp = work / f"gen-{size}.json"
    digest = inputs_digest()
    if stamp.is_file() and root.is_dir():
        generated = json.loads(stamp.read_text())
        if generated.pop("generator_sha256") == digest:
            return root, {**generated, "cached": True}
    shutil.rmtree(root, ignore_errors=True)
    command = [sys.executable, str(GENERATOR), "--triples", str(size), "--out", str(root)]
    done = run_measured(command)
    generated = {"seconds": done.seconds, "peak_rss_mb": done.peak_rss_mb}
    stamp.write_text(json.dumps({**generated, "generator_sha256": digest}))
    return root, {**generated, "cached": False}


def inputs_digest() -> str:
    digest = hashlib.sha256(GENERATOR.read_bytes())
    for folder in ("ontology", "shapes", "queries"):
        for path in sorted((ROOT / folder).glob("*.*")):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu_seconds: float  # user + system of the whole tree: what a busy machine distorts least
    peak_rss_mb: float
    out: str


def run_measured(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run a command to completion, timed, with the peak RSS of its process tree."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=env)
    with PeakRss(lambda: process.pid) as memory:
        out, _ = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with {process.returncode}:\n{out}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(round(seconds, 2), round(cpu, 2), memory.peak_mb, out)


def build(root: Path, build_dir: Path, engine: str | None) -> dict:
    """A fresh release of `root` (older ones removed first: a 10^7 release is gigabytes)."""
    shutil.rmtree(build_dir, ignore_errors=True)
    command = [str(BIN / "kzcn-kg"), "--root", str(root), "--build-dir", str(build_dir), "build"]
    if engine:
        command += ["--engine", engine]
    done = run_measured(command)
    counts = COUNTS.search(done.out)
    steps = {step: float(sec) for step, sec in STEP.findall(done.out.splitlines()[-1])}
    return {
        "engine": engine or "default",
        "steps_s": steps,
        "wall_s": done.seconds,
        "cpu_s": done.cpu_seconds,
        "peak_rss_mb": done.peak_rss_mb,
        "asserted": int(counts.group(1)) if counts else None,
        "inferred": int(counts.group(2)) if counts else None,
    }


def virtuoso_buffers(triples: int) -> int:
    """8 KiB pages: room for the whole dataset in memory at 10^7 (about 3 GiB), 80 MiB at least."""
    return max(10_000, min(400_000, triples // 25))


def load_virtuoso(virtuoso: Virtuoso, release: Path) -> dict:
    start = time.perf_counter()
    with PeakRss(lambda: virtuoso.process.pid if virtuoso.process else None) as memory:
        loaded = virtuoso.load(release)
    return {
        "seconds": round(time.perf_counter() - start, 2),
        "peak_rss_mb": memory.peak_mb,
        "buffers": virtuoso.buffers,
        "triples": sum(loaded.values()),
    }


#################################################################
# Latency
#################################################################


@dataclass(frozen=True)
class Target:
    """One request to time."""

    name: str
    path: str
    accept: str


# Pages about the whole graph, which must not grow with it: they page, or read what the build
# computed.
SITE_PAGES = (
    Target("home", "/", "text/html"),
    Target("search", "/search?q=university", "text/html"),
    Target("search-json", "/search.json?q=university", "application/json"),
    Target("class-table", "/classes/Agreement", "text/html"),
    Target("sitemap", "/sitemap.xml", "application/xml"),
)


def query_targets() -> list[Target]:
    """The example queries as the load benchmark sends them (same order: sorted file names)."""
    names = [rq.stem for rq in sorted((ROOT / "queries").glob("*.rq"))]
    return [
        Target(name, path, accept)
        for name, (path, accept) in zip(names, query_paths(), strict=True)
    ]


def page_targets(root: Path, ext: str, accept: str) -> list[Target]:
    return [
        Target(segment, f"/id/{segment}/{slug}.{ext}", accept)
        for segment, slug in pick_entities(root)
    ]


def pick_entities(root: Path) -> list[tuple[str, str]]:
    """(path segment, slug): the first generated entity of each kind, in file order, and
    the hub."""
    wanted = {prefix: (segment, cls) for prefix, segment, cls in ENTITY_KINDS}
    found: dict[str, str] = {}
    for path in sorted((root / "data").glob("*.ttl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines):
                if number > SCAN_LINES or len(found) == len(wanted):
                    break
                match = TYPE_LINE.match(line.rstrip("\n"))
                if match and is_wanted(match, wanted, found):
                    found[match.group(1)] = match.group(2)
    return [*((wanted[p][0], found[p]) for p, _, _ in ENTITY_KINDS if p in found), HUB]


def is_wanted(match: re.Match, wanted: dict, found: dict) -> bool:
    prefix, slug, cls = match.groups()
    if prefix not in wanted or prefix in found:
        return False
    required = wanted[prefix][1]
    # Organizations: a generated one (numbered slug), not one of the two real names kept.
    return required is None or (cls == required and re.search(r"-\d+$", slug) is not None)


@dataclass(frozen=True)
class Sample:
    status: int
    seconds: float  # until the whole body was read
    size: int  # bytes of the body: most example queries answer more as the graph grows


def timed_get(base: str, target: Target, limit: float) -> Sample:
    request = urllib.request.Request(base + target.path, headers={"Accept": target.accept})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=limit + 60) as response:
            size, status = len(response.read()), response.status
    except urllib.error.HTTPError as error:
        size, status = len(error.read()), error.code
    return Sample(status, time.perf_counter() - start, size)


def measure(base: str, targets: list[Target], repeats: int, limit: float) -> dict[str, dict]:
    """Per target: its samples and p50/p95 in ms over `repeats` runs after one warm-up, or how
    it failed. A target that fails its warm-up is not repeated (a time-out costs the limit)."""
    results = {}
    for target in targets:
        warm_up = timed_get(base, target, limit)
        samples = (
            [timed_get(base, target, limit) for _ in range(repeats)]
            if warm_up.status == 200
            else []
        )
        failed = [s for s in (warm_up, *samples) if s.status != 200]
        if failed:
            results[target.name] = failure(failed[0], limit)
            continue
        ms = [round(s.seconds * 1000, 2) for s in samples]
        results[target.name] = {**percentiles(ms), "samples_ms": ms, "bytes": warm_up.size}
    return results


def failure(sample: Sample, limit: float) -> dict:
    # The server answers 503 both for a query stopped at its limit and for a store that is
    # down; only the first comes after the limit.
    timed_out = sample.status == 503 and sample.seconds >= limit * 0.9
    return {
        "status": sample.status,
        "timed_out": timed_out,
        "limit_s": limit,
        "ms": round(sample.seconds * 1000),
    }


def percentiles(ms: list[float]) -> dict:
    ordered = sorted(ms)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[round(0.95 * (len(ordered) - 1))], 2),
    }


def summary(results: dict[str, dict], repeats: int) -> dict:
    """Over all targets' samples: p50/p95, a timed-out target counted `repeats` times at its
    limit (a lower bound on its cost, so a time-out never makes the mix look faster); other
    failures are listed, not timed."""
    ms = [value for result in results.values() for value in samples_of(result, repeats)]
    return {
        **(percentiles(ms) if ms else {}),
        "timed_out": sorted(name for name, r in results.items() if r.get("timed_out")),
        "failed": sorted(
            name for name, r in results.items() if "status" in r and not r["timed_out"]
        ),
    }


def samples_of(result: dict, repeats: int) -> list[float]:
    if result.get("timed_out"):
        return [result["limit_s"] * 1000] * repeats
    return result.get("samples_ms", [])


#################################################################
# Servers
#################################################################


@contextlib.contextmanager
def serving(
    build_dir: Path, store_url: str | None, limit: float, log: Path, prepared: bool = True
) -> Iterator[dict]:
    """`kzcn-kg serve` over the current release with every cache off (and with or without
    its prepared answers); yields its base URL and, once done, the peak RSS of its process
    tree (web worker and query processes)."""
    port = free_port()
    env = {
        **os.environ,
        "KZCN_CACHE_BYTES": "0",
        "KZCN_STORE": store_url or "",
        "KZCN_PREPARED": "1" if prepared else "0",
    }
    command = [
        str(BIN / "kzcn-kg"), "--build-dir", str(build_dir), "serve", "--port", str(port),
        "--workers", "1", "--threads", "4", "--query-timeout", str(limit),
    ]  # fmt: skip
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=output, start_new_session=True
        )
    info: dict = {"base": f"http://127.0.0.1:{port}"}
    try:
        with PeakRss(lambda: process.pid, interval=0.5) as memory:
            # A large store takes a while to open; a server that dies is reported at once.
            wait_until_up(info["base"], process, seconds=900)
            yield info
        info["peak_rss_mb"] = memory.peak_mb
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def run_backend(
    build_dir: Path,
    store_url: str | None,
    targets: dict[str, list[Target]],
    args: argparse.Namespace,
) -> dict:
    """Prepare the answers from this backend's store, time everything on a server that
    serves them, then the example queries again on one that does not."""
    log = args.work / "serve.log"
    prepared = prepare(build_dir, store_url)
    queries = targets["queries"]
    with serving(build_dir, store_url, args.timeout, log) as server:
        prepared["served_prepared"] = served_prepared(server["base"], queries)
        results = {
            PREPARED_GROUP if group == "queries" else group: measure(
                server["base"], group_targets, args.repeats, args.timeout
            )
            for group, group_targets in targets.items()
        }
    with serving(build_dir, store_url, args.timeout, log, prepared=False) as live:
        results["queries"] = measure(live["base"], queries, args.repeats, args.timeout)
    return {
        "prepare": prepared,
        "serve_peak_rss_mb": max(server.get("peak_rss_mb") or 0, live.get("peak_rss_mb") or 0),
        **{group: {"summary": summary(r, args.repeats), "each": r} for group, r in results.items()},
    }


def prepare(build_dir: Path, store_url: str | None) -> dict:
    """`kzcn-kg prepare` from this backend's store, from scratch (the other backend's answers
    are removed first: they have the same keys), timed like a build."""
    answers = (build_dir / "current" / "answers").resolve()
    shutil.rmtree(answers, ignore_errors=True)
    command = [str(BIN / "kzcn-kg"), "--build-dir", str(build_dir), "prepare"]
    env = {**os.environ, "KZCN_STORE": store_url or ""}
    done = run_measured(command, env)
    counts = PREPARED_LINE.search(done.out)
    print(f"   prepared ({store_url or 'embedded'}): {done.out.splitlines()[-1]}", file=sys.stderr)
    return {
        "wall_s": done.seconds,
        "cpu_s": done.cpu_seconds,
        "peak_rss_mb": done.peak_rss_mb,
        "answers": int(counts.group(1)) if counts else None,
        "queries": int(counts.group(2)) if counts else None,
        "bytes": int(counts.group(3).replace(",", "")) if counts else None,
        "skipped": int(counts.group(4)) if counts else None,
    }


def served_prepared(base: str, targets: list[Target]) -> int:
    """How many example queries the server answers from prepared answers: its background
    preparer must have nothing left to do while it is timed (`kzcn-kg prepare` ran first)."""
    count = 0
    for target in targets:
        request = urllib.request.Request(base + target.path, headers={"Accept": target.accept})
        with (
            contextlib.suppress(urllib.error.HTTPError),
            urllib.request.urlopen(request, timeout=600) as response,
        ):
            count += response.headers.get("X-Kzcn-Answer") == "prepared"
    return count


#################################################################
# One size
#################################################################


def run_size(size: int, args: argparse.Namespace) -> dict:
    print(f"== {size:,} triples", file=sys.stderr)
    root, generated = generated_root(size, args.work)
    build_dir = args.work / f"build-{size}"
    built = build(root, build_dir, args.engine)
    print(f"   built: {built}", file=sys.stderr)
    release = (build_dir / "current").resolve()
    targets = {"queries": query_targets()}
    targets.update({ext: page_targets(root, ext, accept) for ext, accept in PAGE_FORMATS.items()})
    targets["site"] = list(SITE_PAGES)
    total = (built["asserted"] or size) + (built["inferred"] or 0)
    record = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "generate": generated}
    record["build"] = built
    if "embedded" in args.backends:
        record["embedded"] = run_backend(build_dir, None, targets, args)
        print(f"   embedded: {brief(record['embedded'])}", file=sys.stderr)
    if "virtuoso" in args.backends:
        record.update(run_virtuoso(build_dir, release, total, targets, args))
    return record


def run_virtuoso(
    build_dir: Path,
    release: Path,
    total: int,
    targets: dict[str, list[Target]],
    args: argparse.Namespace,
) -> dict:
    """Load the release into a private Virtuoso, then serve over it."""
    record: dict = {}
    # Virtuoso's own cap must not cut `kzcn-kg prepare` short: the server's limit is ours anyway.
    longest = max(args.timeout, Settings.from_env().prepare_timeout)
    with Virtuoso(
        [args.work], buffers=virtuoso_buffers(total), max_query_seconds=int(longest) + 5
    ) as virtuoso:
        record["virtuoso_load"] = load_virtuoso(virtuoso, release)
        print(f"   virtuoso load: {record['virtuoso_load']}", file=sys.stderr)
        with PeakRss(lambda: virtuoso.process.pid if virtuoso.process else None) as memory:
            record["virtuoso"] = run_backend(build_dir, virtuoso.sparql_url, targets, args)
        record["virtuoso"]["engine_peak_rss_mb"] = memory.peak_mb
    print(f"   virtuoso: {brief(record['virtuoso'])}", file=sys.stderr)
    return record


def brief(backend: dict) -> str:
    return ", ".join(
        f"{group} p50 {backend[group]['summary'].get('p50_ms')} ms"
        for group in (PREPARED_GROUP, *GROUPS)
    )


#################################################################
# Record, tables, plot
#################################################################


def merge(path: Path, records: dict[int, dict], args: argparse.Namespace) -> dict:
    """The recorded results with these sizes replaced: sizes are measured one run at a time."""
    recorded = json.loads(path.read_text()) if path.is_file() else {"sizes": {}}
    recorded["machine"] = (
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    run = {
        "command": "bench/scale.py " + " ".join(sys.argv[1:]),
        "repeats": args.repeats,
        "timeout_s": args.timeout,
        "load_average": os.getloadavg(),  # the machine may be shared: how busy it was at the end
    }
    for size, record in records.items():
        recorded["sizes"][str(size)] = kept_parts(recorded["sizes"].get(str(size), {}), record) | {
            **record,
            **run,
        }
    recorded["sizes"] = dict(sorted(recorded["sizes"].items(), key=lambda item: int(item[0])))
    return recorded


SERVING_PARTS = ("embedded", "virtuoso_load", "virtuoso")


def kept_parts(earlier: dict, record: dict) -> dict:
    """The serving measurements of an earlier run that this one did not repeat (e.g. a
    build-only run, `--backends ''`), each marked with the run that took it."""
    kept = {part: earlier[part] for part in SERVING_PARTS if part in earlier and part not in record}
    if kept:
        run = {key: earlier.get(key) for key in ("date", "command", "load_average")}
        earlier_kept = earlier.get("kept_from", {})
        kept["kept_from"] = {part: earlier_kept.get(part, run) for part in kept}
    return kept


def power(size: str) -> str:
    """10⁴ for "10000"; other sizes with thousands separators."""
    exponent = len(size) - 1
    if size == "1" + "0" * exponent:
        return "10" + str(exponent).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return f"{int(size):,}"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def build_table(recorded: dict) -> str:
    steps = ("parse", "reason", "validate", "publish")
    lines = [
        "| size | triples (asserted + inferred) | " + " | ".join(f"{s} s" for s in steps)
        + " | build wall s | build CPU s | build peak RSS MB | Virtuoso load s"
        " | Virtuoso load peak RSS MB |",
        "|---" * 11 + "|",
    ]  # fmt: skip
    for size, record in recorded["sizes"].items():
        built, load = record["build"], record.get("virtuoso_load", {})
        lines.append(
            f"| {power(size)} | {built['asserted']:,} + {built['inferred']:,} | "
            + " | ".join(ms(built["steps_s"].get(step)) for step in steps)
            + f" | {ms(built['wall_s'])} | {ms(built.get('cpu_s'))} | {built['peak_rss_mb']:,.0f}"
            f" | {ms(load.get('seconds'))}"
            f" | {ms(load.get('peak_rss_mb'))} |"
        )
    return "\n".join(lines)


def latency_table(recorded: dict) -> str:
    lines = [
        "| size | backend | prepare s (CPU s) | mix p50 prepared ms | mix p50 live ms "
        "| mix p95 live ms | slowest query live (p50 ms) | timed out live "
        "| failed | page HTML p50 ms | page Turtle p50 ms | whole-graph pages p50 ms (slowest) "
        "| server peak RSS MB | measured |",
        "|---" * 14 + "|",
    ]
    for size, record in recorded["sizes"].items():
        for backend in BACKENDS:
            if backend not in record:
                continue
            result = record[backend]
            mix = result["queries"]["summary"]
            rss = f"{result['serve_peak_rss_mb']:,.0f}"
            if "engine_peak_rss_mb" in result:
                rss += f" (+ Virtuoso {result['engine_peak_rss_mb']:,.0f})"
            lines.append(
                f"| {power(size)} | {backend} | {prepare_cell(result)} | "
                f"{ms(result.get(PREPARED_GROUP, {}).get('summary', {}).get('p50_ms'))} | "
                f"{ms(mix.get('p50_ms'))} | "
                f"{ms(mix.get('p95_ms'))} | {slowest(result['queries']['each'])} | "
                f"{', '.join(mix['timed_out']) or '–'} | {failures(result['queries']['each'])} | "
                f"{ms(result['html']['summary'].get('p50_ms'))} | "
                f"{ms(result['ttl']['summary'].get('p50_ms'))} | {site_cell(result)} | {rss} | "
                f"{record.get('kept_from', {}).get(backend, record)['date']} |"
            )
    return "\n".join(lines)


def prepare_cell(result: dict) -> str:
    """Older records have no prepared answers."""
    done = result.get("prepare")
    return "–" if done is None else f"{ms(done['wall_s'])} ({ms(done['cpu_s'])})"


def site_cell(result: dict) -> str:
    """Older records have no whole-graph pages."""
    if "site" not in result:
        return "–"
    site = result["site"]
    return f"{ms(site['summary'].get('p50_ms'))} ({slowest(site['each'])})"


def slowest(each: dict[str, dict]) -> str:
    timed = {name: r["p50_ms"] for name, r in each.items() if "p50_ms" in r}
    if not timed:
        return "–"
    name = max(timed, key=timed.__getitem__)
    return f"{name} ({timed[name]:,.1f})"


def failures(each: dict[str, dict]) -> str:
    failed = [
        f"{n} ({r['status']})" for n, r in each.items() if "status" in r and not r["timed_out"]
    ]
    return ", ".join(failed) or "–"


def plot(recorded: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = {int(size): record for size, record in recorded["sizes"].items()}
    figure, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = (
        (axes[0][0], "build time by step, and preparing answers (s)", build_lines(sizes)),
        (axes[0][1], "peak memory (MB RSS)", memory_lines(sizes)),
        (
            axes[1][0],
            "queries/ mix, sequential p50 (ms): live, prepared",
            latency_lines(sizes, ("queries", PREPARED_GROUP)),
        ),
        (axes[1][1], "page p50 (ms)", latency_lines(sizes, (*PAGE_FORMATS, "site"))),
    )
    for ax, title, lines in panels:
        for label, points in lines.items():
            xs = [x for x, y in points if y]
            ax.plot(xs, [y for _, y in points if y], marker="o", label=label)
        linear_guide(ax, lines)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("generated triples (asserted)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    figure.suptitle(f"kzcn-kg: cost against graph size ({recorded['machine']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


Lines = dict[str, list[tuple[int, float | None]]]


def linear_guide(ax: "Axes", lines: Lines) -> None:
    """A grey dotted line ∝ size through the panel's lowest first point: a cost whose line is
    steeper grows faster than the graph."""
    starts = [points[0] for points in lines.values() if points and points[0][1]]
    sizes = sorted({size for points in lines.values() for size, _ in points})
    if not starts or len(sizes) < 2:
        return
    x0, y0 = min(starts, key=lambda point: point[1])
    ax.plot(sizes, [y0 * size / x0 for size in sizes], ":", color="grey", label="∝ size")


def build_lines(sizes: dict[int, dict]) -> Lines:
    lines: Lines = {}
    for size, record in sizes.items():
        for step, seconds in record["build"]["steps_s"].items():
            lines.setdefault(step, []).append((size, seconds))
        load = record.get("virtuoso_load", {})
        lines.setdefault("Virtuoso load", []).append((size, load.get("seconds")))
        for backend in BACKENDS:
            done = record.get(backend, {}).get("prepare", {})
            lines.setdefault(f"prepare, {backend}", []).append((size, done.get("wall_s")))
    return lines


def memory_lines(sizes: dict[int, dict]) -> Lines:
    lines: Lines = {}
    for size, record in sizes.items():
        embedded, virtuoso = record.get("embedded", {}), record.get("virtuoso", {})
        points = {
            "build": record["build"]["peak_rss_mb"],
            "Virtuoso load": record.get("virtuoso_load", {}).get("peak_rss_mb"),
            "server, embedded store": embedded.get("serve_peak_rss_mb"),
            "server over Virtuoso": virtuoso.get("serve_peak_rss_mb"),
            "Virtuoso serving": virtuoso.get("engine_peak_rss_mb"),
        }
        for label, value in points.items():
            lines.setdefault(label, []).append((size, value))
    return lines


def latency_lines(sizes: dict[int, dict], groups: tuple[str, ...]) -> Lines:
    lines: Lines = {}
    for size, record in sizes.items():
        for backend in BACKENDS:
            for group in groups:
                label = (
                    backend if len(groups) == 1 else f"{backend}, {MIX_LABELS.get(group, group)}"
                )
                p50 = record.get(backend, {}).get(group, {}).get("summary", {}).get("p50_ms")
                lines.setdefault(label, []).append((size, p50))
    return lines


#################################################################
# Command line
#################################################################


def sizes_arg(text: str) -> list[int]:
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes_arg, default=list(DEFAULT_SIZES))
    parser.add_argument("--engine", help="passed to `kzcn-kg build --engine` (default: none)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per request")
    parser.add_argument("--timeout", type=float, default=10.0, help="server limit per query, s")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kzcn-scale"))
    parser.add_argument("--report", action="store_true", help="only tables and plot")
    parser.add_argument(
        "--backends",
        type=lambda text: [b for b in text.split(",") if b],
        default=list(BACKENDS),
        help="servers to measure after the build: embedded,virtuoso (default), or '' for none",
    )
    args = parser.parse_args()
    path = RESULTS / "scale.json"
    if not args.report:
        args.work = args.work.resolve()
        args.work.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            # Written after each size: a long run that stops keeps what it measured.
            recorded = merge(path, {size: run_size(size, args)}, args)
            path.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(path.read_text())
    plot(recorded, RESULTS / "scale.png")
    print(build_table(recorded) + "\n\n" + latency_table(recorded))


if __name__ == "__main__":
    main()
