"""A private Virtuoso: started, loaded with a release and stopped by us, on 127.0.0.1 only.

Used by the remote-store tests (and by publishing to a Virtuoso). It never touches the Debian
package's own database or service: each instance lives in a temporary directory with its own
`virtuoso.ini`, database files and log. Install the package with `scripts/install-virtuoso.sh`.

    with Virtuoso() as virtuoso:
        virtuoso.load(release_dir)          # {graph IRI: triples}
        store = RemoteStore(virtuoso.sparql_url, version)

Publishing over HTTP (server/remote_publish.py) writes as PUBLISHER, a user created at the
first start with the SPARQL_UPDATE role: it reaches only the authenticated endpoints
(`update_url`, `graph_store_url`, HTTP Digest); the public `sparql_url` stays read-only.

Switching a store to a new release atomically takes two things Virtuoso 7.2 does not do by
default. The writer: a SPARQL Update request of several operations is no transaction (an
error in a later operation leaves the earlier ones done), so `move_graphs` switches in one
SQL transaction instead (a stored procedure that rolls back on any error). The readers: at
the default isolation, read committed, one query can read one graph before the commit and
another after it (seen in tests/test_remote_publish.py), so queries run serializable here.
Serializable readers lock what they read, so Virtuoso breaks the deadlocks they can form
with a writer by rolling the writer back (SR172, SQLSTATE 40001): the publisher sends such a
request again (server/deadlocks.py). The switch changes only the triples that differ between
the releases, so its transaction and locks grow with the change, not with the graph.
Virtuoso 7.2 has a defect this does not cure: while triples are written anywhere, a reader
rarely counts rdf:type triples twice (README, Known limitations).
"""

import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Self

from .. import deadlocks
from ..release import MANIFEST_JSON, NQUADS
from ..vocab import GRAPHS

SERVER_BINARY = "virtuoso-t"  # both from Debian's virtuoso-opensource-7-bin, in /usr/bin
ISQL_BINARY = "isql-vt"
DEBIAN_SHARE = Path("/usr/share/virtuoso-opensource-7")
DEBIAN_VSP = Path("/var/lib/virtuoso-opensource-7/vsp")
HOST = "127.0.0.1"  # never another interface: the machine's network rule and plain safety
DBA = ("dba", "dba")  # a fresh database's built-in account; it only ever listens on HOST
PUBLISHER = "kzcn_publisher"  # SPARQL_UPDATE on the authenticated endpoints only
MOVE_PROCEDURE = "DB.DBA.KZCN_MOVE_GRAPHS"
# One transaction: each live graph made equal to its staging graph by deleting the triples
# the staging graph lacks and adding those it has anew. Unchanged triples are not touched, so
# the transaction (and the locks readers may meet) grows with the change, not with the graph.
# On any error everything is rolled back (an error alone would keep the part done).
# log_enable(1): logged and transactional, not the row-by-row autocommit of mode 2/3.
# The staging graphs stay: the publisher removes them after the switch.
MOVE_PROCEDURE_SQL = f"""CREATE PROCEDURE {MOVE_PROCEDURE} (in moves any)
{{
  declare i integer;
  declare staged, live any;
  declare exit handler for sqlstate '*' {{ rollback work; resignal; }};
  log_enable (1, 1);
  for (i := 0; i < length (moves); i := i + 2)
    {{
      staged := iri_to_id (moves[i], 0);
      live := iri_to_id (moves[i+1]);
      delete from DB.DBA.RDF_QUAD where G = live and not exists (
        select 1 from DB.DBA.RDF_QUAD n where n.G = staged
          and n.S = DB.DBA.RDF_QUAD.S and n.P = DB.DBA.RDF_QUAD.P and n.O = DB.DBA.RDF_QUAD.O);
      insert into DB.DBA.RDF_QUAD (G, S, P, O)
        select live, n.S, n.P, n.O from DB.DBA.RDF_QUAD n where n.G = staged and not exists (
          select 1 from DB.DBA.RDF_QUAD o where o.G = live
            and o.S = n.S and o.P = n.P and o.O = n.O);
    }}
}}"""

# Triples of a quad file without a graph would land here: no release has any, and load()
# fails if this graph (or any other but ours) gains triples.
STRAY_GRAPH = "urn:x-kzcn:load:no-graph"
# The bulk loader's time grows with the data (about 20 s at 1.6x10^6 quads): an hour covers 10^7.
LOAD_TIMEOUT = 3600.0

INSTALL_HINT = "run scripts/install-virtuoso.sh (as root) to install Debian's virtuoso-opensource"


class VirtuosoError(RuntimeError):
    """Virtuoso could not be found, started, loaded or asked."""


def binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/sbin")
    if path is None:
        raise VirtuosoError(f"Virtuoso is not installed ({name} not found): {INSTALL_HINT}.")
    return path


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Run in the child before exec: Linux sends it SIGTERM when its parent dies, so a test
    run that is killed leaves no server behind (Virtuoso stops cleanly on SIGTERM)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    """A port the kernel considers free on HOST right now (a race, but a short one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def ini_text(
    root: Path,
    sql_port: int,
    http_port: int,
    allowed: Iterable[Path],
    max_seconds: int,
    buffers: int = 10_000,
) -> str:
    dirs = ", ".join(str(path) for path in (root, *allowed, DEBIAN_SHARE / "vad"))
    return f"""\
[Database]
DatabaseFile = {root}/virtuoso.db
ErrorLogFile = {root}/virtuoso.log
LockFile = {root}/virtuoso.lck
TransactionFile = {root}/virtuoso.trx
xa_persistent_file = {root}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {root}/virtuoso-temp.db
TransactionFile = {root}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
; host:port binds that address only; no Unix socket either.
ServerPort = {HOST}:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 20
CheckpointInterval = 60
CaseMode = 2
; The bulk loader reads only from these directories.
DirsAllowed = {dirs}
AllowOSCalls = 0
; 8 KiB pages: 10,000 is 80 MiB, enough for the real graph; large graphs ask for more.
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {buffers * 3 // 4}
; The atomic switch of a release (move_graphs) is one transaction holding every triple that
; changes: the default limit (50 MB of log) aborts it past a few 10^5 of them (SR325).
TransactionAfterImageLimit = 1500000000
; Serializable reads: a query waits for a switch in progress rather than reading the old
; rows of one graph and the new rows of another (read committed, the default, does that).
DefaultIsolation = 8
VADInstallDir = {DEBIAN_SHARE}/vad/

[HTTPServer]
ServerPort = {HOST}:{http_port}
ServerRoot = {DEBIAN_VSP}
MaxClientConnections = 20
ServerThreads = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
DavRoot = DAV
EnabledDavVSP = 0
HTTPProxyEnabled = 0
Charset = UTF-8
; RemoteStore reads plain bodies; it asks for identity encoding anyway.
EnabledGzipContent = 0

[SPARQL]
; The default (10,000) cuts results silently, CONSTRUCT results without even a header:
; far above anything that fits in a response we would accept (RemoteStore refuses past
; max_bytes, 50 MB by default, long before this many rows).
ResultSetMaxRows = 100000000
; The ceiling for one query; RemoteStore passes its own, lower, limit with each query.
MaxQueryExecutionTime = {max_seconds}
; A query the optimizer expects to take longer than this is refused before it runs (RemoteStore
; reports it as a time-out). The estimate is rough, so the bar is high: only hopeless queries.
MaxQueryCostEstimationTime = 3600
"""


class Virtuoso:
    """One private Virtuoso server: a context manager that starts it and removes it after.

    `allowed_dirs` are the directories the bulk loader may read (load() copies a release's
    dataset from elsewhere). stop() and start() keep the database and the ports, so a
    RemoteStore pointed at `sparql_url` finds the same server, with the same data, again."""

    def __init__(
        self,
        allowed_dirs: Iterable[Path] = (),
        *,
        start_timeout: float = 90.0,
        max_query_seconds: int = 60,
        buffers: int = 10_000,
    ) -> None:
        self.server_binary, self.isql_binary = binary(SERVER_BINARY), binary(ISQL_BINARY)
        self.root = Path(tempfile.mkdtemp(prefix="kzcn-virtuoso-"))
        self.allowed = [Path(path).resolve() for path in allowed_dirs]
        self.sql_port, self.http_port = free_port(), free_port()
        self.start_timeout, self.max_query_seconds = start_timeout, max_query_seconds
        self.buffers = buffers
        self.process: subprocess.Popen[bytes] | None = None
        self.ini = self.root / "virtuoso.ini"
        self.log = self.root / "virtuoso.log"
        self.publisher = (PUBLISHER, secrets.token_urlsafe(16))
        self.publisher_created = False

    @property
    def sparql_url(self) -> str:
        """The public endpoint: queries only."""
        return f"http://{HOST}:{self.http_port}/sparql"

    @property
    def update_url(self) -> str:
        """Queries and updates, for users with the SPARQL_UPDATE role (HTTP Digest)."""
        return f"http://{HOST}:{self.http_port}/sparql-auth"

    @property
    def graph_store_url(self) -> str:
        """The Graph Store HTTP Protocol, for users with the SPARQL_UPDATE role (Digest)."""
        return f"http://{HOST}:{self.http_port}/sparql-graph-crud-auth"

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- running ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the server (again) and wait until both SQL and SPARQL answer."""
        if self.running:
            return
        self.ini.write_text(
            ini_text(
                self.root,
                self.sql_port,
                self.http_port,
                self.allowed,
                self.max_query_seconds,
                self.buffers,
            ),
            encoding="utf-8",
        )
        with (self.root / "virtuoso.out").open("ab") as output:
            self.process = subprocess.Popen(
                [self.server_binary, "+configfile", str(self.ini), "+foreground"],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group: a stop() that has to kill takes any helper along.
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        self.wait_until_ready()
        self.create_publisher()

    def create_publisher(self) -> None:
        """Once per database (it survives stop/start)."""
        if self.publisher_created:
            return
        user, password = self.publisher
        self.sql(
            f"DB.DBA.USER_CREATE({sql_string(user)}, {sql_string(password)}); "
            f'GRANT SPARQL_UPDATE TO "{user}";'
        )
        self.publisher_created = True

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise VirtuosoError(f"Virtuoso exited while starting.\n{self.log_tail()}")
            if self.answers_sql() and self.answers_sparql():
                return
            time.sleep(0.2)
        self.stop()
        raise VirtuosoError(
            f"Virtuoso did not answer on {HOST}:{self.sql_port} within "
            f"{self.start_timeout:g} s.\n{self.log_tail()}"
        )

    def answers_sql(self) -> bool:
        try:
            return self.isql("status();", timeout=10).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def answers_sparql(self) -> bool:
        url = self.sparql_url + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        """shutdown(); (a checkpoint, so the data survives a restart), then kill if needed."""
        if self.process is None:
            return
        if self.running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.isql("shutdown();", timeout=30)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return f"(no log at {self.log})"
        return f"Last lines of {self.log}:\n" + "\n".join(text.splitlines()[-lines:])

    # --- SQL -------------------------------------------------------------------------------

    def isql(
        self, statements: str, timeout: float = 120, script: bool = False
    ) -> subprocess.CompletedProcess[str]:
        return run_isql(f"{HOST}:{self.sql_port}", DBA, statements, timeout, script)

    def sql(self, statements: str, timeout: float = 120, script: bool = False) -> str:
        """Run statements; their output, or VirtuosoError (isql exits 0 on SQL errors, so
        its error lines decide)."""
        return sql(f"{HOST}:{self.sql_port}", DBA, statements, timeout, script)

    # --- data ------------------------------------------------------------------------------

    def load(self, release_dir: Path, timeout: float = LOAD_TIMEOUT) -> dict[str, int]:
        """Replace the release's named graphs with its dataset.nq (bulk loader; the quads'
        own graph IRIs are kept). Returns {graph IRI: triples}; fails unless exactly our
        graphs changed and, where the manifest says, with its triple counts.

        Then restarts the server: Virtuoso 7.2 answers property paths (`rdfs:subClassOf*`
        joined to other patterns) with nothing on a database first loaded since it started,
        and rightly after a restart (openlink/virtuoso-opensource#929); neither time,
        statistics nor a checkpoint help."""
        source = self.loadable_copy(Path(release_dir).resolve())
        before = self.graph_counts()
        clear = " ".join(f"SPARQL CLEAR GRAPH <{iri}>;" for iri in GRAPHS.values())
        self.sql(
            f"{clear} DELETE FROM DB.DBA.load_list WHERE ll_file = {sql_string(str(source))};"
            f"ld_dir({sql_string(str(source.parent))}, {sql_string(source.name)}, "
            f"{sql_string(STRAY_GRAPH)}); rdf_loader_run(); checkpoint;",
            timeout=timeout,
        )
        self.check_load_list(source)
        self.stop()
        self.start()
        after = self.graph_counts()
        loaded = {str(iri): after.get(str(iri), 0) for iri in GRAPHS.values()}
        self.check_loaded(release_dir, before, after, loaded)
        return loaded

    def loadable_copy(self, release_dir: Path) -> Path:
        """The dataset where the loader may read it: in place if allowed, else a copy."""
        dataset = release_dir / NQUADS
        if not dataset.is_file():
            raise VirtuosoError(f"{release_dir} has no {NQUADS}.")
        if any(release_dir.is_relative_to(allowed) for allowed in self.allowed):
            return dataset
        copy = self.root / "load" / release_dir.name / NQUADS
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dataset, copy)
        return copy

    def check_load_list(self, source: Path) -> None:
        errors = self.sql(
            "SELECT ll_error FROM DB.DBA.load_list "
            f"WHERE ll_file = {sql_string(str(source))} AND ll_error IS NOT NULL;"
        ).strip()
        if errors:
            raise VirtuosoError(f"The bulk loader failed on {source}: {errors}")

    @staticmethod
    def check_loaded(
        release_dir: Path,
        before: dict[str, int],
        after: dict[str, int],
        loaded: dict[str, int],
    ) -> None:
        ours = {str(iri) for iri in GRAPHS.values()}
        strays = sorted(g for g, n in after.items() if g not in ours and before.get(g) != n)
        if strays:
            raise VirtuosoError(f"The load changed graphs other than the release's: {strays}")
        manifest_path = Path(release_dir) / MANIFEST_JSON
        if not manifest_path.is_file():
            return
        graphs = json.loads(manifest_path.read_text(encoding="utf-8")).get("graphs", {})
        expected = {entry["iri"]: entry["triples"] for entry in graphs.values()}
        wrong = {iri: (n, loaded.get(iri)) for iri, n in expected.items() if loaded.get(iri) != n}
        if wrong:
            raise VirtuosoError(f"Loaded triple counts differ from the manifest: {wrong}")

    def move_graphs(self, moves: Iterable[tuple[str, str]]) -> None:
        """The atomic switch (see `move_graphs` below), as dba."""
        move_graphs(f"{HOST}:{self.sql_port}", DBA, moves)

    def graph_counts(self) -> dict[str, int]:
        """Triples per named graph, every graph the server has (its own system graphs too)."""
        answer = self.select(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
            timeout=self.max_query_seconds + 60,
        )
        return {row["g"]["value"]: int(row["n"]["value"]) for row in answer}

    def select(self, query: str, timeout: float = 60) -> list[dict]:
        """SPARQL JSON bindings, straight from the endpoint (harness use only)."""
        request = urllib.request.Request(
            self.sparql_url,
            data=urllib.parse.urlencode({"query": query}).encode(),
            headers={"Accept": "application/sparql-results+json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["results"]["bindings"]


def run_isql(
    address: str,
    account: tuple[str, str],
    statements: str,
    timeout: float = 120,
    script: bool = False,
) -> subprocess.CompletedProcess[str]:
    """`script`: statements go in on standard input, ended by `;` lines, not as exec=
    (which reads `+` as a space and cuts procedure bodies at their `;`)."""
    return subprocess.run(
        [
            binary(ISQL_BINARY),
            address,
            *account,
            "VERBOSE=OFF",
            "BANNER=OFF",
            "PROMPT=OFF",
            "ECHO=OFF",
            *([] if script else [f"exec={statements}"]),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=statements if script else None,
        stdin=None if script else subprocess.DEVNULL,
    )


def sql(
    address: str,
    account: tuple[str, str],
    statements: str,
    timeout: float = 120,
    script: bool = False,
) -> str:
    """Run statements; their output, or VirtuosoError (isql exits 0 on SQL errors, so its
    error lines decide)."""
    done = run_isql(address, account, statements, timeout, script)
    if done.returncode != 0 or "*** Error" in done.stderr:
        raise VirtuosoError(
            f"Virtuoso refused {statements!r}: {done.stderr.strip() or done.stdout.strip()}"
        )
    return done.stdout


def move_graphs(address: str, account: tuple[str, str], moves: Iterable[tuple[str, str]]) -> None:
    """Replace each live graph by its staging graph, (staging, live) pairs, in one SQL
    transaction on the Virtuoso at `address` (host:port of its SQL server); the account
    must be allowed to (re)create the procedure, as dba is. VirtuosoError, and nothing
    changed, on any failure. Chosen as a deadlock victim (readers hold locks), the switch was
    rolled back whole, so it is run again."""
    pairs = ", ".join(f"{sql_string(staged)}, {sql_string(live)}" for staged, live in moves)
    sql(address, account, MOVE_PROCEDURE_SQL + "\n;\n", script=True)
    deadlocks.retried(
        lambda: sql(address, account, f"{MOVE_PROCEDURE} (vector ({pairs}));", timeout=3600),
        lambda error: isinstance(error, VirtuosoError) and deadlocks.reported_in(str(error)),
    )


def sql_string(text: str) -> str:
    """A Virtuoso SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
