"""What `kzcn-kg publish --to` costs against Virtuoso's own bulk loader, on one built release.

    .venv/bin/python bench/remote_publish.py --build-dir DIR [--buffers N] [--skip-bulk]

Starts a private Virtuoso (server/store/virtuoso.py, 127.0.0.1 only) and, on that one server:

1. bulk loader: the harness's `load` (ld_dir + rdf_loader_run + checkpoint, then the restart
   Virtuoso 7.2 needs), unless --skip-bulk; it also fills the live graphs, so that both
   publishes below replace a live version as a real publish would;
2. `kzcn-kg publish` with the SQL switch (`--virtuoso-sql`, one SQL transaction, as dba: the
   account must be allowed to create the switch procedure);
3. `kzcn-kg publish` with the standard switch, one SPARQL Update (as the publisher user).

Each publish runs the real command in its own process: its wall time, the step split it
prints (stage, verify, switch, cleanup, check), its exact peak RSS and CPU time (from wait4), and
Virtuoso's CPU time and peak RSS meanwhile. A publish that fails is recorded with the
engine's message, and the next one still runs. Results are merged by release version into
bench/results/remote-publish.json (a run on another release keeps the others) and printed
as a table.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

# bench/ for the scale benchmark's helpers (peak RSS, Virtuoso load, buffers), the repository
# root for the server package.
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scale import BIN, MB, RESULTS, STEP, PeakRss, load_virtuoso, virtuoso_buffers

from server.release import Release, current
from server.remote_publish import PASSWORD_ENV
from server.store.virtuoso import DBA, HOST, Virtuoso
from server.vocab import GRAPHS

RESULTS_FILE = RESULTS / "remote-publish.json"
SWITCHES = ("sql", "sparql")  # the order they run in: as in the first measurements (issue #5)
MAX_QUERY_SECONDS = 3600  # the SPARQL switch of 10^6 triples is one long update
# `published version V to URL: N triples`, then the steps line, from `kzcn-kg publish`.
PUBLISHED = re.compile(r"published version \S+ to \S+: (\d+) triples")
ERROR_CHARS = 600
STEPS = ("stage", "verify", "switch", "cleanup", "check")  # as `publish` times them


def publish_command(build_dir: Path, virtuoso: Virtuoso, switch: str) -> list[str]:
    """`kzcn-kg publish` as an operator would type it for this server and switch."""
    command = [str(BIN / "kzcn-kg"), "--build-dir", str(build_dir), "publish"]
    command += ["--to", virtuoso.update_url, "--graph-store", virtuoso.graph_store_url]
    if switch == "sql":
        return [*command, "--user", DBA[0], "--virtuoso-sql", f"{HOST}:{virtuoso.sql_port}"]
    return [*command, "--user", virtuoso.publisher[0]]


def password(virtuoso: Virtuoso, switch: str) -> str:
    return DBA[1] if switch == "sql" else virtuoso.publisher[1]


def live_triples(virtuoso: Virtuoso) -> int:
    """Triples in the release's live graphs: what a publish replaces."""
    counts = virtuoso.graph_counts()
    return sum(counts.get(str(iri), 0) for iri in GRAPHS.values())


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_waited(command: list[str], env: dict[str, str]) -> tuple[int, str, resource.struct_rusage]:
    """Exit code, output and the resource usage of that one process (wait4: its own peak
    RSS, not the maximum over every child this script has had)."""
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        output.seek(0)
        return process.returncode, output.read(), usage


def publish_once(build_dir: Path, virtuoso: Virtuoso, switch: str) -> dict:
    replaced = live_triples(virtuoso)
    server_pid = virtuoso.process.pid if virtuoso.process else None
    assert server_pid is not None, "the Virtuoso harness is running"
    env = {**os.environ, PASSWORD_ENV: password(virtuoso, switch)}
    server_cpu = cpu_seconds(server_pid)
    start = time.perf_counter()
    with PeakRss(lambda: server_pid) as server_memory:
        code, out, usage = run_waited(publish_command(build_dir, virtuoso, switch), env)
    record = {
        "seconds": round(time.perf_counter() - start, 2),
        "live_triples_replaced": replaced,
        "publisher_peak_rss_mb": round(usage.ru_maxrss * 1024 / MB, 1),  # ru_maxrss is KiB
        "publisher_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "virtuoso_cpu_s": round(cpu_seconds(server_pid) - server_cpu, 2),
        "virtuoso_peak_rss_mb": server_memory.peak_mb,
    }
    published = PUBLISHED.search(out)
    if code != 0 or published is None:
        return {**record, "error": f"exit {code}: {out.strip()[-ERROR_CHARS:]}"}
    steps = {step: float(sec) for step, sec in STEP.findall(out.strip().splitlines()[-1])}
    # The rest is the command's own start-up (imports) and reading the release's manifest.
    outside = round(record["seconds"] - sum(steps.values()), 2)
    return {
        **record,
        "triples": int(published.group(1)),
        "steps_s": steps,
        "outside_steps_s": outside,
    }


def bulk_load(virtuoso: Virtuoso, release: Release) -> dict:
    """The scale benchmark's timed load, with Virtuoso's CPU time: the server the load stops
    (reaped by us, so in RUSAGE_CHILDREN, with the isql clients) plus the one it restarts."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    loaded = load_virtuoso(virtuoso, release.path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    restarted = cpu_seconds(virtuoso.process.pid) if virtuoso.process else 0.0
    return {**loaded, "virtuoso_cpu_s": round(reaped + restarted, 2)}


def measure(release: Release, build_dir: Path, args: argparse.Namespace) -> dict:
    triples = sum(int(graph["triples"]) for graph in release.manifest["graphs"].values())
    buffers = args.buffers or virtuoso_buffers(triples)
    record: dict = {"triples": triples, "buffers": buffers, "bulk_loader": None, "publish": {}}
    with Virtuoso([release.path], buffers=buffers, max_query_seconds=MAX_QUERY_SECONDS) as v:
        if not args.skip_bulk:
            record["bulk_loader"] = bulk_load(v, release)
            print(f"bulk loader: {record['bulk_loader']}", flush=True)
        for switch in SWITCHES:
            record["publish"][switch] = publish_once(build_dir, v, switch)
            print(f"publish, {switch} switch: {record['publish'][switch]}", flush=True)
    return record


def merge(version: str, record: dict) -> dict:
    """The recorded results with this release's replaced (releases are measured one a run)."""
    recorded = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.is_file() else {}
    recorded["machine"] = (
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB"
    )
    releases = recorded.setdefault("releases", {})
    releases[version] = {
        **record,
        "command": "bench/remote_publish.py " + " ".join(sys.argv[1:]),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "load_average": os.getloadavg(),  # the machine may be shared: how busy it was
    }
    recorded["releases"] = dict(sorted(releases.items(), key=lambda item: item[1]["triples"]))
    return recorded


def number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f}"


def rows(version: str, entry: dict) -> list[list[str]]:
    """One row for the bulk loader (if run) and one per switch."""
    release = f"{version} ({entry['triples']:,} triples)"
    bulk = entry["bulk_loader"]
    table = []
    if bulk:
        cells = [number(bulk["seconds"]), *["–"] * (len(STEPS) + 3)]
        cells += [number(bulk.get("virtuoso_cpu_s")), number(bulk["peak_rss_mb"])]
        table.append([release, "bulk loader (incl. restart)", *cells])
    for switch, done in entry["publish"].items():
        total = number(done["seconds"]) + (" **failed**" if "error" in done else "")
        table.append(
            [
                release,
                f"Graph Store + {switch.upper()} switch",
                total,
                *(number(done.get("steps_s", {}).get(step)) for step in STEPS),
                number(done.get("outside_steps_s")),
                number(done["publisher_peak_rss_mb"]),
                number(done["publisher_cpu_s"]),
                number(done["virtuoso_cpu_s"]),
                number(done["virtuoso_peak_rss_mb"]),
            ]
        )
    return table


def table(recorded: dict) -> str:
    header = [
        "release",
        "method",
        "total s",
        "stage s",
        "verify s",
        "switch s",
        "cleanup s",
        "check s",
        "start-up s",
        "publisher peak RSS MB",
        "publisher CPU s",
        "Virtuoso CPU s",
        "Virtuoso peak RSS MB",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for version, entry in recorded["releases"].items():
        lines += ["| " + " | ".join(row) + " |" for row in rows(version, entry)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--build-dir", type=Path, required=True, help="a build directory with a current release"
    )
    parser.add_argument(
        "--buffers", type=int, help="Virtuoso's 8 KiB buffers (default: from the release's size)"
    )
    parser.add_argument("--skip-bulk", action="store_true", help="do not time the bulk loader")
    args = parser.parse_args()
    build_dir = args.build_dir.resolve()
    release = current(build_dir)
    print(f"release {release.version} at {release.path}", flush=True)
    record = measure(release, build_dir, args)
    recorded = merge(release.version, record)
    RESULTS_FILE.write_text(json.dumps(recorded, indent=1, ensure_ascii=False) + "\n")
    print(table(recorded))


if __name__ == "__main__":
    main()
