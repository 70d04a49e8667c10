"""Load test of the SPARQL endpoint: the queries/ mix at concurrency 8 over loopback, with
wrk, for our server (cold and warm cache), `oxigraph serve-read-only` and a plain rdflib
endpoint over the same release, all in one run.

    .venv/bin/python bench/sparql_load.py [--seconds 20] [--connections 8]

Needs wrk (apt-get install wrk) and the peers: .venv/bin/pip install -e '.[bench]'.
Prints a Markdown table and writes bench/results/sparql-load.json.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def query_paths() -> list[tuple[str, str]]:
    """(request path, Accept) for every example query."""
    paths = []
    for rq in sorted((ROOT / "queries").glob("*.rq")):
        text = rq.read_text(encoding="utf-8")
        body = re.sub(r"(?m)^\s*#.*$", "", text)
        graph = re.search(r"\b(CONSTRUCT|DESCRIBE)\b", body, re.IGNORECASE)
        accept = "text/turtle" if graph else "application/sparql-results+json"
        paths.append(("/sparql?" + urllib.parse.urlencode({"query": text}), accept))
    if not paths:
        raise SystemExit("no queries in queries/")
    return paths


def lua_script(paths: list[tuple[str, str]]) -> str:
    entries = ",\n".join(f"{{{json.dumps(path)}, {json.dumps(accept)}}}" for path, accept in paths)
    return f"""
local requests = {{
{entries}
}}
local i = 0
request = function()
  i = i % #requests + 1
  local r = requests[i]
  return wrk.format("GET", r[1], {{["Accept"] = r[2]}})
end
"""


def wait_up(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def warm(base: str, paths: list[tuple[str, str]]) -> None:
    for path, accept in paths:
        request = urllib.request.Request(base + path, headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()


def run_wrk(base: str, script: Path, seconds: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        check=True,
        capture_output=True,
        text=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "errors": int(errors.group(1)) if errors else 0,
    }


class Server:
    def __init__(self, command: list[str], env: dict[str, str], url: str) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_up(url)

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def ours(port: int, cache: bool) -> Server:
    env = {"KZCN_CACHE_BYTES": "64000000" if cache else "0"}
    return Server(
        [str(BIN / "kzcn-kg"), "serve", "--port", str(port), "--workers", "2", "--threads", "8"],
        env,
        f"http://127.0.0.1:{port}/healthz",
    )


def oxigraph(port: int, store: Path) -> Server:
    return Server(
        [
            str(BIN / "oxigraph"),
            "serve-read-only",
            "--location",
            str(store),
            "--bind",
            f"127.0.0.1:{port}",
            "--union-default-graph",
        ],
        {},
        f"http://127.0.0.1:{port}/query?query=ASK%7B%7D",
    )


def rdflib_baseline(port: int, trig: Path) -> Server:
    return Server(
        [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT / "bench"),
            "rdflib_endpoint:create_app()",
        ],
        {"KZCN_BENCH_TRIG": str(trig)},
        f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is missing: apt-get install {tool}")
    subprocess.run([str(BIN / "kzcn-kg"), "build"], check=True, cwd=ROOT)
    release = (ROOT / "build" / "current").resolve()
    paths = query_paths()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "mix.lua"
        script.write_text(lua_script(paths))
        # Oxigraph must not share the store directory with our read-only workers' locks.
        ox_store = Path(tmp) / "oxigraph-store"
        shutil.copytree(release / "store", ox_store)
        targets = {
            "kzcn-kg, cold cache (every request runs its query)": lambda p: ours(p, cache=False),
            "kzcn-kg, warm cache": lambda p: ours(p, cache=True),
            "oxigraph serve-read-only": lambda p: oxigraph(p, ox_store),
            "rdflib (Flask + gunicorn sync)": lambda p: rdflib_baseline(
                p, release / "dataset.trig"
            ),
        }
        for name, start in targets.items():
            port = free_port()
            server = start(port)
            try:
                base = f"http://127.0.0.1:{port}"
                warm(base, paths)
                results[name] = run_wrk(base, script, args.seconds, args.connections)
            finally:
                server.stop()
            print(f"{name}: {results[name]}", file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    record = {
        "queries": len(paths),
        "seconds": args.seconds,
        "connections": args.connections,
        "date": time.strftime("%Y-%m-%d"),
        "results": results,
    }
    (RESULTS / "sparql-load.json").write_text(json.dumps(record, indent=1) + "\n")
    print(table(results))


def table(results: dict) -> str:
    ox = results["oxigraph serve-read-only"]["requests_per_second"]
    rd = results["rdflib (Flask + gunicorn sync)"]["requests_per_second"]
    lines = [
        "| server | req/s | p50 ms | p99 ms | non-2xx | × oxigraph | × rdflib |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        rps = r["requests_per_second"]
        lines.append(
            f"| {name} | {rps:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['errors']} | {rps / ox:.2f} | {rps / rd:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
