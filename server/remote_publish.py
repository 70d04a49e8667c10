"""`kzcn-kg publish --to URL`: load the current release into a remote SPARQL store and switch
the store to it at once.

Standard protocols only, so any SPARQL 1.1 store will do:

1. stage: every named graph of the release is uploaded with the Graph Store HTTP Protocol
   into a staging graph unique to the version (PUT the first chunk, POST the rest), in
   chunks of bounded size read from the release's dataset.nq, so memory stays flat however
   large the graph;
2. verify: each staging graph's triple count must equal the release manifest's;
3. switch: ONE SPARQL Update request moves every staging graph onto its live graph
   (`MOVE <staging> TO <live>`, which replaces the live graph), or another switch given to
   `publish` (Virtuoso: one SQL transaction, below);
4. check: the live graphs hold the manifest's counts and the metadata graph names the
   version (`<dataset> owl:versionInfo`): that is how readers tell which version is served.

Until the switch nothing live is touched: a failure there removes the staging graphs and
leaves the previous version serving. Every error names its step and the engine's message.

Virtuoso 7.2 does not run one Update request atomically: an error in a later operation
leaves the earlier ones done. `--virtuoso-sql HOST:PORT` switches in one SQL transaction
instead (isql, see server/store/virtuoso.py `move_graphs`), changing only the triples that
differ, and leaves the staging graphs to be removed after it. For readers to see wholly the
old or wholly the new version, the server must also run queries serializable
(`DefaultIsolation = 8`; at read committed one query was seen reading one graph before the
switch and another after it) and allow a transaction as large as the change
(`TransactionAfterImageLimit`). Serializable readers' locks make Virtuoso roll back some
writes to break deadlocks (SQLSTATE 40001): every request that does the same when repeated
is then sent again, after a growing pause (server/deadlocks.py); the one-request SPARQL
switch is not, as Virtuoso may have done part of it. Virtuoso 7.2 also
answers property paths wrongly on a database first filled since it started
(openlink/virtuoso-opensource#929): restart it once after the first publish into an empty
database; later publishes need no restart.

Blank nodes are scoped to one upload, so a graph's triples with a blank node are held back
and sent in one request at the end (our releases have none; memory then grows only with them).

Credentials (options, or KZCN_STORE_USER / KZCN_STORE_PASSWORD) are sent with HTTP Digest or
Basic, whichever the server asks for. Virtuoso's authenticated endpoints are `/sparql-auth`
(queries and updates) and `/sparql-graph-crud-auth` (Graph Store), both Digest:

    kzcn-kg publish --to http://host:8890/sparql-auth \\
        --graph-store http://host:8890/sparql-graph-crud-auth --user kzcn_publisher \\
        --virtuoso-sql host:1111
"""

import argparse
import base64
import io
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from . import deadlocks
from .build.pipeline import timed
from .config import paths_from_env
from .release import NQUADS, Release, ReleaseMissing, current
from .vocab import DATASET, GRAPHS

USER_ENV, PASSWORD_ENV = "KZCN_STORE_USER", "KZCN_STORE_PASSWORD"
STAGING_PREFIX = "urn:x-kzcn:staging:"
CHUNK_BYTES = 4 * 1024 * 1024  # per graph being staged: at most 4 such buffers at once
TIMEOUT = 600.0  # seconds per request: one chunk, or the switch of large graphs
NTRIPLES = "application/n-triples"
ERROR_BODY_CHARS = 2000
OWL_VERSION_INFO = "http://www.w3.org/2002/07/owl#versionInfo"
SWITCH_STEP = "switch to the new version"
Switch = Callable[[Release], None]  # replaces every live graph by its staging graph
FAILED = 4  # exit code: no release to publish, or the store refused (cli.py uses 0-3)


class PublishError(RuntimeError):
    """A publish step failed; `step` names it, the message carries the engine's words."""

    def __init__(self, step: str, message: str) -> None:
        self.step, self.message = step, message
        super().__init__(f"{step}: {message}")


@dataclass(frozen=True)
class Target:
    """Where to publish: the SPARQL endpoint for queries and updates, the Graph Store."""

    endpoint: str
    graph_store: str
    user: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Published:
    version: str
    triples: dict[str, int]  # live graph IRI -> triples
    seconds: dict[str, float] = field(default_factory=dict)  # step -> duration
    # Staging graphs the engine would not drop after the switch: graph IRI -> its message.
    left: dict[str, str] = field(default_factory=dict)


def staging_graph(version: str, name: str) -> str:
    return f"{STAGING_PREFIX}{version}:{name}"


# --- HTTP -------------------------------------------------------------------------------------


class OnePassword(urllib.request.HTTPPasswordMgr):
    """The same credentials for every realm and URL: those given for the target."""

    def __init__(self, user: str | None, password: str | None) -> None:
        super().__init__()
        self.user, self.password = user, password

    def find_user_password(self, realm: str, authuri: str) -> tuple[str | None, str | None]:
        return self.user, self.password


class Client:
    """Plain urllib requests that answer an authentication challenge once and then send the
    credentials with every later request to the same path (Digest with a growing nonce count),
    so that a large body is not sent twice to be refused the first time."""

    def __init__(self, user: str | None, password: str | None, timeout: float = TIMEOUT) -> None:
        self.user, self.password, self.timeout = user, password, timeout
        self.digest = urllib.request.HTTPDigestAuthHandler(OnePassword(user, password))
        self.challenges: dict[str, tuple[str, dict[str, str]]] = {}  # path -> scheme, params

    def send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> bytes:
        """The response body of a 2xx answer; urllib.error.HTTPError or URLError otherwise."""
        for attempt in (1, 2):
            request = urllib.request.Request(url, body, headers, method=method)
            self.authorize(request)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                if error.code != 401 or attempt == 2 or not self.learn(request, error):
                    raise
        raise AssertionError("unreachable")

    def send_idempotent(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> bytes:
        """send(), again while the engine answers that it chose this request as a deadlock
        victim (server/deadlocks.py). Only for a request that does the same when repeated
        after being rolled back: a read, a drop, a chunk of triples added to a graph (a set)."""
        return deadlocks.retried(
            lambda: readable_errors(lambda: self.send(method, url, body, headers)),
            lambda error: (
                isinstance(error, urllib.error.HTTPError)
                and error.code >= 500
                and deadlocks.reported_in(answer_of(error).decode("utf-8", errors="replace"))
            ),
        )

    def knows(self, url: str) -> bool:
        return urllib.parse.urlsplit(url).path in self.challenges

    def forget(self, url: str) -> None:
        self.challenges.pop(urllib.parse.urlsplit(url).path, None)

    def learn(self, request: urllib.request.Request, error: urllib.error.HTTPError) -> bool:
        """Keep the server's challenge; False if there is nothing to answer it with."""
        header = error.headers.get("WWW-Authenticate", "")
        scheme, _, rest = header.partition(" ")
        if self.user is None or scheme.lower() not in ("digest", "basic"):
            return False
        params = urllib.request.parse_keqv_list(urllib.request.parse_http_list(rest))
        self.challenges[urllib.parse.urlsplit(request.full_url).path] = (scheme.lower(), params)
        return True

    def authorize(self, request: urllib.request.Request) -> None:
        known = self.challenges.get(urllib.parse.urlsplit(request.full_url).path)
        if known is None:
            return
        scheme, params = known
        if scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode("ascii")
            request.add_unredirected_header("Authorization", f"Basic {token}")
            return
        answer = self.digest.get_authorization(request, params)  # without the scheme
        if answer:
            request.add_unredirected_header("Authorization", f"Digest {answer}")


def engine_message(error: Exception) -> str:
    """What the server said (status and body), or why it could not be reached."""
    if isinstance(error, urllib.error.HTTPError):
        body = error.read().decode("utf-8", errors="replace").strip()
        refused = " (user name or password refused)" if error.code == 401 else ""
        return f"HTTP {error.code} {error.reason}{refused}: {body[:ERROR_BODY_CHARS]}".rstrip(": ")
    if isinstance(error, urllib.error.URLError):
        return f"the store is not reachable: {error.reason}"
    return str(error)


def readable_errors(call: Callable[[], bytes]) -> bytes:
    """call(); an HTTPError it raises is replaced by one whose body is in memory, so that
    it can be looked into (`answer_of`) and still reported."""
    try:
        return call()
    except urllib.error.HTTPError as error:
        body = io.BytesIO(error.read())
        raise urllib.error.HTTPError(
            error.url, error.code, error.msg, error.headers, body
        ) from None


def answer_of(error: urllib.error.HTTPError) -> bytes:
    """The body of an error from `readable_errors`, left to be read again."""
    body = error.read()
    error.fp.seek(0)
    return body


def refused_before_reading(error: Exception) -> bool:
    """A 401, or the connection reset while the body was sent (how Virtuoso refuses)."""
    if isinstance(error, urllib.error.HTTPError):
        return error.code == 401
    reason = getattr(error, "reason", error)
    return isinstance(reason, ConnectionError)


class Store:
    """The remote store as this module uses it: queries, one update, Graph Store uploads."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.client = Client(target.user, target.password)

    def call(
        self,
        step: str,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        repeatable: bool = True,
    ) -> bytes:
        """`repeatable`: sent again if the engine chose it as a deadlock victim (see
        Client.send_idempotent)."""
        send = self.client.send_idempotent if repeatable else self.client.send
        try:
            return send(method, url, body, headers)
        except (urllib.error.URLError, OSError) as error:
            raise PublishError(step, engine_message(error)) from None

    def select(self, step: str, query: str) -> list[dict]:
        body = urllib.parse.urlencode({"query": query}).encode()
        answer = self.call(
            step,
            "POST",
            self.target.endpoint,
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/sparql-results+json",
            },
        )
        return json.loads(answer)["results"]["bindings"]

    def update(self, step: str, update: str, repeatable: bool = True) -> None:
        """`repeatable=False` for a request of several operations: an engine that does not
        run it in one transaction (Virtuoso) may have done part of it before the deadlock."""
        body = urllib.parse.urlencode({"update": update}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        self.call(step, "POST", self.target.endpoint, body, headers, repeatable)

    def upload(self, step: str, graph: str, ntriples: bytes, replace: bool) -> None:
        """PUT replaces the graph, POST adds to it (Graph Store HTTP Protocol).

        A server that wants credentials refuses a request before reading its body (Virtuoso
        resets the connection), so the challenge is first fetched with a request without a
        body, and fetched again if a chunk is refused (an expired nonce). Sending a chunk
        twice is harmless: a graph is a set; the count check catches anything else."""
        url = self.graph_url(graph)
        headers = {"Content-Type": NTRIPLES}
        for attempt in (1, 2):
            self.authenticate(step)
            try:
                self.client.send_idempotent("PUT" if replace else "POST", url, ntriples, headers)
                return
            except (urllib.error.URLError, OSError) as error:
                if attempt == 2 or not refused_before_reading(error):
                    raise PublishError(step, engine_message(error)) from None
                self.client.forget(url)

    def authenticate(self, step: str) -> None:
        """Learn the Graph Store's challenge with a DELETE of a graph that does not exist."""
        probe = self.graph_url(STAGING_PREFIX + "probe")
        if self.target.user is None or self.client.knows(probe):
            return
        try:
            self.client.send("DELETE", probe, None, {})
        except urllib.error.HTTPError as error:
            if error.code != 404:  # 404: no such graph, as intended
                raise PublishError(step, engine_message(error)) from None
        except (urllib.error.URLError, OSError) as error:
            raise PublishError(step, engine_message(error)) from None

    def drop(self, step: str, graph: str) -> None:
        self.update(step, f"DROP SILENT GRAPH <{graph}>")

    def graph_url(self, graph: str) -> str:
        # Virtuoso's Graph Store names the graph `graph-uri`; the standard says `graph`.
        separator = "&" if "?" in self.target.graph_store else "?"
        query = urllib.parse.urlencode({"graph": graph, "graph-uri": graph})
        return f"{self.target.graph_store}{separator}{query}"

    def count(self, step: str, graph: str) -> int:
        rows = self.select(
            step, f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        )
        return int(rows[0]["n"]["value"]) if rows else 0


# --- the release, in chunks -------------------------------------------------------------------


@dataclass
class Pending:
    """What is buffered for one graph: N-Triples lines to go in the next chunk, and the
    triples with blank nodes, which must all go in one request."""

    lines: list[bytes] = field(default_factory=list)
    size: int = 0
    blank: list[bytes] = field(default_factory=list)
    sent: int = 0  # chunks sent so far


def ntriples_line(quad: ox.Quad) -> bytes:
    return f"{quad.subject} {quad.predicate} {quad.object} .\n".encode()


def has_blank_node(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


def chunks(dataset: Path, chunk_bytes: int) -> Iterator[tuple[str, bytes]]:
    """(graph IRI, N-Triples) pieces of dataset.nq: full chunks as they fill, then what is
    left of each graph, blank-node triples included."""
    pending: dict[str, Pending] = {}
    for quad in ox.parse(path=dataset, format=ox.RdfFormat.N_QUADS):
        graph = quad.graph_name
        if not isinstance(graph, ox.NamedNode):
            raise PublishError("read the release", f"{dataset} has a triple outside any graph")
        buffer = pending.setdefault(graph.value, Pending())
        line = ntriples_line(quad)
        if has_blank_node(quad):
            buffer.blank.append(line)
            continue
        buffer.lines.append(line)
        buffer.size += len(line)
        if buffer.size >= chunk_bytes:
            yield graph.value, b"".join(buffer.lines)
            buffer.lines, buffer.size = [], 0
    for graph, buffer in pending.items():
        rest = buffer.lines + buffer.blank
        if rest:
            yield graph, b"".join(rest)


# --- the steps --------------------------------------------------------------------------------


def manifest_graphs(release: Release) -> dict[str, tuple[str, int]]:
    """name -> (live graph IRI, triples), for every graph of the release."""
    graphs = release.manifest.get("graphs", {})
    if set(graphs) != set(GRAPHS):
        raise PublishError(
            "read the release", f"the manifest lists graphs {sorted(graphs)}, not {sorted(GRAPHS)}"
        )
    return {name: (str(entry["iri"]), int(entry["triples"])) for name, entry in graphs.items()}


def stage(store: Store, release: Release, chunk_bytes: int) -> None:
    names = {iri: name for name, (iri, _) in manifest_graphs(release).items()}
    started: set[str] = set()
    for graph, body in chunks(release.path / NQUADS, chunk_bytes):
        name = names.get(graph)
        if name is None:
            raise PublishError(
                "read the release", f"{NQUADS} has a graph not in the manifest: {graph}"
            )
        staged = staging_graph(release.version, name)
        store.upload(f"upload the {name} graph", staged, body, replace=name not in started)
        started.add(name)


def verify_staged(store: Store, release: Release) -> None:
    for name, (_, expected) in manifest_graphs(release).items():
        step = f"verify the staged {name} graph"
        found = store.count(step, staging_graph(release.version, name))
        if found != expected:
            raise PublishError(step, f"{found} triples staged, the manifest says {expected}")


def moves(release: Release) -> list[tuple[str, str]]:
    """(staging graph, live graph) for every graph of the release."""
    return [
        (staging_graph(release.version, name), live)
        for name, (live, _) in sorted(manifest_graphs(release).items())
    ]


def sparql_switch(store: "Store") -> Switch:
    """The standard switch: one SPARQL Update request. Atomic only where the engine runs a
    request in one transaction (not Virtuoso 7.2: see `--virtuoso-sql`)."""
    return lambda release: store.update(SWITCH_STEP, switch_update(release), repeatable=False)


def switch_update(release: Release) -> str:
    """The one request that replaces every live graph. MOVE empties its target first; a graph
    with no triples has no staging graph, so its live graph is dropped instead."""
    operations = []
    for name, (live, triples) in sorted(manifest_graphs(release).items()):
        staged = staging_graph(release.version, name)
        if triples:
            operations.append(f"MOVE <{staged}> TO <{live}>")
        else:
            operations.append(f"DROP SILENT GRAPH <{live}>")
    return " ;\n".join(operations)


def check_live(store: Store, release: Release) -> dict[str, int]:
    step = "check the published graphs"
    live = {iri: store.count(step, iri) for iri, _ in manifest_graphs(release).values()}
    wrong = {
        iri: (live[iri], triples)
        for iri, triples in manifest_graphs(release).values()
        if live[iri] != triples
    }
    if wrong:
        raise PublishError(
            step, f"live triple counts differ from the manifest (found, expected): {wrong}"
        )
    served = published_version(store)
    if served != release.version:
        raise PublishError(step, f"the store serves version {served!r}, not {release.version!r}")
    return live


def published_version(store: Store) -> str | None:
    """The version the store serves, as its metadata graph says."""
    rows = store.select(
        "read the published version",
        f"SELECT ?v WHERE {{ GRAPH <{GRAPHS['metadata']}> "
        f"{{ <{DATASET}> <{OWL_VERSION_INFO}> ?v }} }}",
    )
    return rows[0]["v"]["value"] if rows else None


def drop_staging(store: Store, release: Release) -> dict[str, str]:
    """Best effort, never an error: after a failure the failure matters more, and after the
    switch the new version is live. The graphs left, each with the engine's message, to be
    reported: each holds a whole graph, under a name no later publish reuses."""
    left = {}
    for name in GRAPHS:
        graph = staging_graph(release.version, name)
        try:
            store.drop("remove the staging graphs", graph)
        except PublishError as error:
            left[graph] = error.message
    return left


def publish(
    release: Release,
    target: Target,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    switch: Switch | None = None,
) -> Published:
    """Stage, verify, switch at once, check. PublishError on any failure; before the switch
    the live graphs are untouched. `switch` replaces every live graph by its staging graph,
    all or nothing (default: one SPARQL Update request)."""
    store = Store(target)
    chosen = switch or sparql_switch(store)
    seconds: dict[str, float] = {}
    try:
        timed(seconds, "stage", lambda: stage(store, release, chunk_bytes))
        timed(seconds, "verify", lambda: verify_staged(store, release))
        timed(seconds, "switch", lambda: run_switch(chosen, release))
    except BaseException:
        drop_staging(store, release)
        raise
    # A switch that copies rather than moves (Virtuoso's SQL) leaves the staging graphs.
    left = timed(seconds, "cleanup", lambda: drop_staging(store, release))
    live = timed(seconds, "check", lambda: check_live(store, release))
    return Published(release.version, live, seconds, left)


def run_switch(switch: Switch, release: Release) -> None:
    try:
        switch(release)
    except PublishError:
        raise
    except Exception as error:  # the switch's own failure (e.g. Virtuoso's SQL error)
        raise PublishError(SWITCH_STEP, str(error)) from None


# --- the command ------------------------------------------------------------------------------


def add_publish(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    summary = (
        "load the current release into a remote SPARQL store (Graph Store HTTP Protocol) and "
        "switch the store to it at once"
    )
    command = commands.add_parser("publish", help=summary, description=summary)
    command.set_defaults(run=run_publish)
    publish_options(command)
    return command


def publish_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--to", required=True, metavar="URL", help="SPARQL endpoint for queries and updates"
    )
    command.add_argument(
        "--graph-store",
        metavar="URL",
        help="Graph Store HTTP Protocol endpoint (default: the --to URL)",
    )
    command.add_argument("--user", help=f"user name (default: ${USER_ENV})")
    command.add_argument(
        "--password", help=f"password (default: ${PASSWORD_ENV}; prefer it to the option)"
    )
    command.add_argument(
        "--virtuoso-sql",
        metavar="HOST:PORT",
        help="switch through this Virtuoso's SQL server (isql, one transaction) as --user, "
        "not with one SPARQL Update, which Virtuoso 7.2 does not run atomically",
    )
    command.add_argument(
        "--chunk-mb",
        type=float,
        default=CHUNK_BYTES / 2**20,
        help="size of one upload in MiB (default: %(default)g)",
    )


def target_from(args: argparse.Namespace) -> Target:
    return Target(
        endpoint=args.to,
        graph_store=args.graph_store or args.to,
        user=args.user or os.environ.get(USER_ENV) or None,
        password=args.password or os.environ.get(PASSWORD_ENV) or None,
    )


def virtuoso_switch(address: str, target: Target) -> Switch:
    from .store.virtuoso import move_graphs

    account = (target.user or "", target.password or "")
    return lambda release: move_graphs(address, account, moves(release))


def run_publish(args: argparse.Namespace) -> int:
    build_dir = paths_from_env(args.root, args.build_dir).build_dir
    try:
        release = current(build_dir)
        target = target_from(args)
        done = publish(
            release,
            target,
            chunk_bytes=int(args.chunk_mb * 2**20),
            switch=virtuoso_switch(args.virtuoso_sql, target) if args.virtuoso_sql else None,
        )
    except (ReleaseMissing, PublishError) as error:
        print(f"error: {error}", file=sys.stderr)
        return FAILED
    report(done, args.to)
    return 0


def report(done: Published, to: str) -> None:
    steps = ", ".join(f"{step} {sec:.2f} s" for step, sec in done.seconds.items())
    print(f"published version {done.version} to {to}: {sum(done.triples.values())} triples")
    print(f"  {steps}")
    for graph, message in done.left.items():
        print(
            f"warning: staging graph <{graph}> was left on the store ({message}); "
            f"remove it with DROP SILENT GRAPH <{graph}>",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    """`python -m server.remote_publish --to URL …`, the same as `kzcn-kg publish`."""
    top = argparse.ArgumentParser(prog="python -m server.remote_publish")
    top.add_argument("--root", type=Path)
    top.add_argument("--build-dir", type=Path)
    publish_options(top)
    return run_publish(top.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
