"""The remote store: the Store interface over any SPARQL 1.1 endpoint (KZCN_STORE=http…).

The engine is asked only for formats every endpoint speaks (SPARQL XML results, N-Triples),
and the answer is converted here, with pyoxigraph, into the job's format, so that clients get
the same bytes, prefixes and literal forms (lower-cased language tags) as from the embedded
store. Conversion streams: the response is parsed while it is read, within the job's deadline
and byte limit, and never held whole in memory.

The dataset is always stated explicitly (default-graph-uri / named-graph-uri): an engine's own
system graphs never leak into the default graph. A query that an engine would run outside
SPARQL 1.1 (a non-standard pragma, an engine built-in function, an undeclared prefix that
the engine happens to know) is refused before it is sent. Every query is parsed here first,
by the parser of the embedded store: what it refuses (syntax, unknown functions) is refused
with its very message, line and column, whatever the engine would have said.

Standard HTTP answers are all this module relies on. Where an engine reports a time-out,
a cut result or a syntax error in its own way, `engine_error` and `read_answer` recognize
Virtuoso's (the one we run): partial "anytime" answers (X-SQL-State), rows cut at
ResultSetMaxRows (X-SPARQL-MaxRows), SQL states in error bodies.
"""

import http.client
import json
import logging
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, NoReturn

import pyoxigraph as ox

from .. import deadlocks
from ..sparql.query_text import QUERY_FORMS, TOKEN, QueryRefused, inspect
from ..vocab import GRAPHS, PREFIXES
from . import (
    QueryJob,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    StoreError,
    StoreUnavailable,
)
from .worker import PREFIXED_FORMATS, ByteCap

log = logging.getLogger(__name__)

# XML, not JSON: the same information, and Virtuoso writes it 2-3 times faster.
RESULTS_MEDIA_TYPE = "application/sparql-results+xml"
GRAPH_MEDIA_TYPE = "application/n-triples"
ALL_GRAPHS: tuple[str, ...] = tuple(str(iri) for iri in GRAPHS.values())
# Named in a dataset to make it empty: a graph no store has.
NO_GRAPH = "urn:x-kzcn:no-graph"
# Engine built-ins reachable through IRIs (Virtuoso's bif: and sql: run server functions,
# some of which make HTTP requests): never sent, whatever prefix spells them.
ENGINE_SCHEMES = re.compile(r"<\s*(?:bif|sql)\s*:", re.IGNORECASE)
# Virtuoso's SQL states for a query stopped by its time limit (S1TAT: anytime answer cut;
# HY008: statement cancelled) and its refusal of a query estimated to take too long.
TIMEOUT_STATES = re.compile(r"\b(?:S1TAT|HY008)\b")
ESTIMATE = re.compile(r"estimated execution time (\d+)", re.IGNORECASE)
SYNTAX_STATE = re.compile(r"\b37000\b")
# Virtuoso's SP031: a well-formed query its compiler cannot run (e.g. an internal error).
CANNOT_RUN = re.compile(r"\bSP031\b")
# An error the engine reports about the query it ran ("Virtuoso 22007 Error …"): it answered,
# so it is not unavailable, and trying again would not help.
ENGINE_ERROR = re.compile(r"\b[0-9A-Z]{5} Error\b")

# Nesting the local parser takes: far above the endpoint's limit (64), far below what
# Oxigraph's recursive parser survives on a thread's stack (it crashes near 10,000).
PARSE_DEPTH = 256
PARSER = ox.Store()  # always empty: it only parses
# Oxigraph evaluates an ASK as soon as it is parsed (on an empty store, VALUES alone can make
# that endless); it reads ASK as SELECT *, so that is what is parsed instead.
ASK_AS_SELECT = "SELECT *"
POSITION = re.compile(r"\b(error at )(\d+):(\d+)")

READ_FACTOR = 8  # the engine's JSON is wordier than our output; this bounds only the reading
CHUNK = 64 * 1024
ERROR_BODY_BYTES = 8 * 1024
IDLE_SECONDS = 4.0  # below the keep-alive time of common servers (Virtuoso: 10 s)
POOL_SIZE = 16
USER_AGENT = "kzcn-kg RemoteStore"


@dataclass(frozen=True)
class Request:
    """What is sent for one job."""

    body: bytes
    accept: str
    graph: bool  # CONSTRUCT or DESCRIBE: an RDF answer


class RemoteStore:
    """A Store over a SPARQL 1.1 endpoint. Thread-safe: web threads share one instance and
    its pool of keep-alive connections. `timeout_param` names the request parameter through
    which the engine learns the time limit, in milliseconds (Virtuoso's `timeout`), so it
    stops working when we stop waiting; None for engines without one."""

    def __init__(
        self,
        endpoint: str,
        version: str,
        *,
        timeout_param: str | None = "timeout",
        pool_size: int = POOL_SIZE,
    ) -> None:
        self.endpoint, self.version, self.timeout_param = endpoint, version, timeout_param
        self.pool = ConnectionPool(endpoint, pool_size)
        self.lock = threading.Lock()
        self.errors = 0  # the store unavailable or its answer unusable
        self.timeouts = 0

    def run(self, job: QueryJob, timeout: float) -> bytes:
        """The answer; a query the engine rolled back to break a deadlock with a writer (a
        publish, at serializable isolation) is sent again while the time limit allows."""
        deadline = time.monotonic() + timeout
        request = self.request_for(job, timeout)
        try:
            return deadlocks.retried(
                lambda: self.exchange(request, job, timeout, deadline),
                lambda error: isinstance(error, Deadlocked),
                deadline,
            )
        except QueryTimeout:
            self.count("timeouts")
            raise
        except StoreUnavailable:
            self.count("errors")
            raise

    def counters(self) -> dict[str, float]:
        with self.lock:
            return {
                "kzcn_remote_errors_total": self.errors,
                "kzcn_remote_timeouts_total": self.timeouts,
                "kzcn_remote_connections_total": self.pool.opened,
            }

    def close(self) -> None:
        self.pool.close()

    def count(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def unavailable(self, detail: object) -> StoreUnavailable:
        log.warning("SPARQL store %s: %s", self.endpoint, detail)
        return StoreUnavailable(
            f"The SPARQL store at {self.endpoint} is not answering; try again shortly."
        )

    # --- the request -----------------------------------------------------------------------

    def request_for(self, job: QueryJob, timeout: float) -> Request:
        graph = query_is_graph(job)
        scan = scan_query(job.query)
        parse_locally(job.query)
        default, named = dataset(job, scan)
        fields = [("query", with_prefixes(scan.text, scan.declared))]
        fields += [("default-graph-uri", iri) for iri in default]
        fields += [("named-graph-uri", iri) for iri in named]
        if self.timeout_param:
            fields.append((self.timeout_param, str(max(1, math.ceil(timeout * 1000)))))
        return Request(
            urllib.parse.urlencode(fields).encode("ascii"),
            GRAPH_MEDIA_TYPE if graph else RESULTS_MEDIA_TYPE,
            graph,
        )

    # --- the exchange ----------------------------------------------------------------------

    def exchange(self, request: Request, job: QueryJob, timeout: float, deadline: float) -> bytes:
        """Send, read and convert. A keep-alive connection the server has meanwhile closed
        fails before any answer: the request (a read-only query) is sent again, once, on a
        new connection."""
        for attempt in (1, 2):
            connection, reused = self.pool.take(fresh=attempt == 2)
            try:
                response = self.send(connection, request, timeout, deadline)
            except (ConnectionError, http.client.BadStatusLine) as error:
                connection.close()
                if reused:
                    # The server closed it, or went away and came back: every idle
                    # connection is as suspect as this one.
                    self.pool.close()
                    continue
                raise self.unavailable(error) from None
            except BaseException:
                connection.close()
                raise
            try:
                body = self.read_answer(response, connection, request, job, timeout, deadline)
            except BaseException:
                connection.close()
                raise
            self.pool.give(connection, response)
            return body
        raise AssertionError("unreachable")

    def send(
        self,
        connection: http.client.HTTPConnection,
        request: Request,
        timeout: float,
        deadline: float,
    ) -> http.client.HTTPResponse:
        try:
            set_deadline(connection, deadline, timeout)
            connection.request(
                "POST",
                self.pool.path,
                body=request.body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": request.accept,
                    "Accept-Encoding": "identity",
                    "User-Agent": USER_AGENT,
                },
            )
            return connection.getresponse()
        except TimeoutError:
            if connection.sock is None and time.monotonic() < deadline:
                raise self.unavailable("timed out connecting") from None
            raise ran_past(timeout) from None  # connected: the engine is still at work
        except (ConnectionError, http.client.BadStatusLine):
            raise
        except (OSError, http.client.HTTPException) as error:
            raise self.unavailable(error) from None

    def read_answer(
        self,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        request: Request,
        job: QueryJob,
        timeout: float,
        deadline: float,
    ) -> bytes:
        if response.status != 200:
            self.fail(response.status, read_error_body(response), timeout)
        if response.getheader("X-SQL-State"):  # Virtuoso's "anytime" answer: only partial
            raise ran_past(timeout)
        cut = response.getheader("X-SPARQL-MaxRows")
        if cut:
            raise ResultTooLarge(
                f"The SPARQL store cut the result at {cut} rows; narrow the query or add a LIMIT."
            )
        reader = BodyReader(response, connection, deadline, timeout, job.max_bytes * READ_FACTOR)
        try:
            body = convert(reader, response.getheader("Content-Type", ""), request, job)
            reader.drain()  # to the end, so the connection can serve again
            return body
        except TimeoutError:
            raise ran_past(timeout) from None
        except (ConnectionError, http.client.HTTPException) as error:
            raise self.unavailable(error) from None
        except SyntaxError as error:
            self.count("errors")
            raise bad_gateway(f"The SPARQL store's answer could not be read: {error}") from None

    def fail(self, status: int, message: str, timeout: float) -> NoReturn:
        if status >= 500 and deadlocks.reported_in(message):
            log.info("SPARQL store %s: %s", self.endpoint, message)
            raise Deadlocked(
                f"The SPARQL store at {self.endpoint} rolled the query back to break a deadlock "
                "with a write; try again shortly."
            )
        error = engine_error(status, message, timeout)
        if error is not None:
            raise error
        if status >= 500 and not ENGINE_ERROR.search(message):
            raise self.unavailable(f"HTTP {status}: {message}")
        self.count("errors")
        raise bad_gateway(f"The SPARQL store refused the query (HTTP {status}): {message}")


class Deadlocked(StoreUnavailable):
    """The engine chose the query as a deadlock victim: nothing wrong with it, try again."""


# --- the query --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryScan:
    text: str  # the query as sent (without FROM clauses)
    declared: dict[str, str]  # prefixes the query declares itself
    default_from: tuple[str, ...] | None  # FROM IRIs; None: no dataset clause in the query
    named_from: tuple[str, ...] | None
    uses_graph: bool  # GRAPH appears: the only way a query reaches named graphs


def query_is_graph(job: QueryJob) -> bool:
    """CONSTRUCT/DESCRIBE or not, from the query itself; a format of the other kind is the
    embedded store's 406. Refusals (SERVICE, updates) hold here too: the store is the last
    line before an engine that would carry them out."""
    try:
        form = inspect(job.query, max_depth=PARSE_DEPTH).form
    except QueryRefused as refusal:
        raise refused(str(refusal)) from None
    graph = form in ("CONSTRUCT", "DESCRIBE")
    wanted = ox.RdfFormat if graph else ox.QueryResultsFormat
    if not isinstance(job.format.engine, wanted):
        error = StoreError(f"{job.format.media_type} is not available for this kind of query.")
        error.status = 406
        raise error
    return graph


def scan_query(text: str) -> QueryScan:
    """Prefixes declared and used, and the FROM / FROM NAMED clauses, from the tokens (so
    that comments and strings never count); refuses what SPARQL 1.1 does not have."""
    if ENGINE_SCHEMES.search(text):
        raise refused("Engine built-in functions (bif:, sql:) are not available here.")
    tokens = [m for m in TOKEN.finditer(text) if m.lastgroup not in ("space", "comment")]
    declared = declared_prefixes(tokens)
    clauses = from_clauses(tokens)
    uses_graph = any(m.lastgroup == "name" and m.group().upper() == "GRAPH" for m in tokens)
    if not clauses:
        return QueryScan(text, declared, None, None, uses_graph)
    # The dataset goes as protocol parameters only. The standard has them override FROM;
    # Virtuoso adds FROM to them instead, so FROM <its system graph> would leak: the clauses
    # are blanked (newlines kept, so error positions stay right).
    for _, _, start, end in clauses:
        text = text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]
    return QueryScan(
        text,
        declared,
        expand_all([graph for named, graph, _, _ in clauses if not named], declared),
        expand_all([graph for named, graph, _, _ in clauses if named], declared),
        uses_graph,
    )


def declared_prefixes(tokens: list[re.Match[str]]) -> dict[str, str]:
    declared = {}
    for index, match in enumerate(tokens):
        if match.lastgroup == "name" and match.group().upper() == "DEFINE":
            raise refused("DEFINE is not SPARQL 1.1: engine pragmas are not accepted here.")
        following = tokens[index + 1 : index + 3]
        if (
            match.lastgroup == "name"
            and match.group().upper() == "PREFIX"
            and len(following) == 2
            and following[1].lastgroup == "iri"
        ):
            declared[following[0].group().rstrip(":")] = following[1].group()[1:-1]
    return declared


def parse_locally(text: str) -> None:
    """QuerySyntaxError, with the embedded store's message, for a query its parser refuses
    (same parser, same prefixes). Only parsed: Oxigraph evaluates a SELECT, CONSTRUCT or
    DESCRIBE lazily, and here never; an ASK is parsed as the SELECT it stands for."""
    words = (m for m in TOKEN.finditer(text) if m.lastgroup == "name")
    form = next((m for m in words if m.group().upper() in QUERY_FORMS), None)
    ask = form if form is not None and form.group().upper() == "ASK" else None
    parsed = text if ask is None else text[: ask.start()] + ASK_AS_SELECT + text[ask.end() :]
    try:
        PARSER.query(parsed, prefixes=PREFIXES)
    except (SyntaxError, RuntimeError) as error:  # RuntimeError: an unknown function
        message = str(error) if ask is None else unshifted(str(error), text, ask.start())
        raise QuerySyntaxError(f"Query syntax error: {message}") from None


def unshifted(message: str, text: str, start: int) -> str:
    """Error positions in the query as written, not as parsed with ASK_AS_SELECT for ASK:
    only columns after the keyword, on its line, moved."""
    line = text.count("\n", 0, start) + 1
    end_column = start - text.rfind("\n", 0, start) + len("ASK") - 1  # 1-based, last letter
    shift = len(ASK_AS_SELECT) - len("ASK")

    def back(match: re.Match[str]) -> str:
        at_line, column = int(match.group(2)), int(match.group(3))
        if at_line == line and column > end_column + shift:
            column -= shift
        return f"{match.group(1)}{at_line}:{column}"

    return POSITION.sub(back, message)


def from_clauses(tokens: list[re.Match[str]]) -> list[tuple[bool, str, int, int]]:
    """(NAMED?, graph name, start, end) of each FROM clause."""
    clauses = []
    for index, match in enumerate(tokens):
        if match.lastgroup != "name" or match.group().upper() != "FROM":
            continue
        following = tokens[index + 1 : index + 3]
        named = bool(following) and following[0].group().upper() == "NAMED"
        graph = following[1:2] if named else following[:1]
        if graph and graph[0].lastgroup in ("iri", "name"):
            clauses.append((named, graph[0].group(), match.start(), graph[0].end()))
    return clauses


def expand_all(names: list[str], declared: dict[str, str]) -> tuple[str, ...]:
    """Graph names as IRIs: <iri> or a prefixed name."""
    prefixes = {**PREFIXES, **declared}
    expanded = []
    for name in names:
        if name.startswith("<"):
            expanded.append(name[1:-1])
        else:
            prefix, _, local = name.partition(":")
            expanded.append(prefixes.get(prefix, "") + local)
    return tuple(expanded)


def dataset(job: QueryJob, scan: QueryScan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The graphs to name for the default graph and for GRAPH: the job's if it says, else
    the query's FROM / FROM NAMED (of our graphs only), else all four. Always explicit for
    the default graph; named graphs only for a query that has GRAPH, as naming them costs
    Virtuoso time (up to twice the query's) even where they do not matter."""
    default = job.default_graphs or ours(scan.default_from)
    named = job.named_graphs or (ours(scan.named_from) if scan.uses_graph else ())
    return default, named


def ours(graphs: tuple[str, ...] | None) -> tuple[str, ...]:
    if graphs is None:
        return ALL_GRAPHS
    return tuple(iri for iri in graphs if iri in ALL_GRAPHS) or (NO_GRAPH,)


def with_prefixes(query: str, declared: dict[str, str]) -> str:
    """Our prefixes that the query does not declare, before it on its first line, so the
    engine's line numbers in error messages stay those of the query."""
    missing = " ".join(
        f"PREFIX {prefix}: <{iri}>" for prefix, iri in PREFIXES.items() if prefix not in declared
    )
    return f"{missing} {query}" if missing else query


# --- the answer -------------------------------------------------------------------------------


def convert(reader: "BodyReader", content_type: str, request: Request, job: QueryJob) -> bytes:
    """The engine's answer, parsed as it arrives, its literals made canonical, written in the
    job's format (capped)."""
    sink = ByteCap(job.max_bytes)
    engine = job.format.engine
    try:
        if request.graph:
            source = ox.RdfFormat.from_media_type(content_type) or ox.RdfFormat.N_TRIPLES
            triples = (CANONICAL.triple(quad.triple) for quad in ox.parse(reader, source))
            if engine in PREFIXED_FORMATS:
                ox.serialize(triples, sink, engine, prefixes=PREFIXES)
            else:
                ox.serialize(triples, sink, engine)
        else:
            source = ox.QueryResultsFormat.from_media_type(content_type)
            if source is None:
                source = ox.QueryResultsFormat.JSON
            reader.node_ids = BodyReader.NODE_IDS.get(source)
            answer = ox.parse_query_results(reader, source)
            if isinstance(answer, ox.QuerySolutions):
                # pyoxigraph serializes only solutions it parsed: canonical ones go through
                # SPARQL JSON again, streamed.
                answer = ox.parse_query_results(
                    GeneratorReader(solutions_json(answer)), ox.QueryResultsFormat.JSON
                )
            answer.serialize(sink, engine)
    except OverflowError:
        raise too_large(job.max_bytes) from None
    return b"".join(sink.chunks)


class Canonical:
    """Literals as Oxigraph stores them, hence as the embedded store answers: its store keeps
    values, not spellings ("007"^^xsd:positiveInteger comes back as "7"^^xsd:integer, "1" as
    boolean true, "PT24H" as "P1D"). The store itself does the conversion, so no rule of it
    is copied here; strings and language-tagged strings, most of any answer, skip it."""

    SUBJECT = ox.NamedNode("urn:x-kzcn:canonical")
    LIMIT = 10_000  # distinct literals remembered

    def __init__(self) -> None:
        self.store = ox.Store()
        self.lock = threading.Lock()
        self.cache: dict[ox.Literal, ox.Literal] = {}

    def term(self, term: object) -> object:
        if isinstance(term, ox.Literal):
            return self.literal(term)
        if isinstance(term, ox.Triple):
            return self.triple(term)
        return term

    def triple(self, triple: ox.Triple) -> ox.Triple:
        if isinstance(triple.object, ox.Literal | ox.Triple):
            return ox.Triple(triple.subject, triple.predicate, self.term(triple.object))
        return triple

    def literal(self, literal: ox.Literal) -> ox.Literal:
        if literal.language is not None or literal.datatype == XSD_STRING:
            return literal
        known = self.cache.get(literal)
        if known is not None:
            return known
        with self.lock:
            self.store.add(ox.Quad(self.SUBJECT, self.SUBJECT, literal))
            stored = next(iter(self.store)).object
            self.store.clear()
            if len(self.cache) >= self.LIMIT:
                self.cache.clear()
            self.cache[literal] = stored
        return stored


XSD_STRING = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")
CANONICAL = Canonical()


def solutions_json(solutions: ox.QuerySolutions) -> Iterator[bytes]:
    """Solutions as SPARQL 1.1 JSON, their literals canonical."""
    variables = [variable.value for variable in solutions.variables]
    yield json.dumps({"head": {"vars": variables}}).encode()[:-1] + b', "results": {"bindings": ['
    separator = b""
    for solution in solutions:
        row = {}
        for name in variables:
            value = solution[name]
            if value is not None:
                row[name] = term_json(CANONICAL.term(value))
        yield separator + json.dumps(row, ensure_ascii=False).encode()
        separator = b","
    yield b"]}}"


def term_json(term: object) -> dict:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        found = {"type": "literal", "value": term.value}
        if term.language is not None:
            found["xml:lang"] = term.language
        elif term.datatype != XSD_STRING:
            found["datatype"] = term.datatype.value
        return found
    if isinstance(term, ox.Triple):
        parts = zip(("subject", "predicate", "object"), term, strict=True)
        return {"type": "triple", "value": {key: term_json(part) for key, part in parts}}
    raise TypeError(f"not an RDF term: {term!r}")


class GeneratorReader:
    """A file-like reader over an iterator of byte strings."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.pending = chunks, bytearray()

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else CHUNK
        while len(self.pending) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.pending += chunk
        out = bytes(self.pending[:size])
        del self.pending[:size]
        return out


class BodyReader:
    """The response body for the parser: read within the deadline and up to a byte limit.

    It also rewrites Virtuoso's blank nodes in SPARQL results ("nodeID://b123", not a blank
    node label) to plain labels; the byte sequences matched can only be a bnode's value, as
    "<" in XML text and quotes in JSON strings are always escaped."""

    NODE_IDS: ClassVar[dict[ox.QueryResultsFormat, re.Pattern[bytes]]] = {
        ox.QueryResultsFormat.XML: re.compile(rb"(<bnode>)nodeID://"),
        ox.QueryResultsFormat.JSON: re.compile(
            rb'("type"\s{0,8}:\s{0,8}"bnode"\s{0,8},\s{0,8}"value"\s{0,8}:\s{0,8}")nodeID://'
        ),
    }
    HOLD = 128  # longer than any match: the tail kept back until the next chunk

    def __init__(
        self,
        response: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        deadline: float,
        timeout: float,
        limit: int,
    ) -> None:
        self.response, self.connection = response, connection
        self.deadline, self.timeout, self.limit = deadline, timeout, limit
        self.total = 0
        self.node_ids: re.Pattern[bytes] | None = None
        self.pending, self.offset = b"", 0  # converted bytes, and how far handed out
        self.held = b""  # raw tail not yet converted
        self.done = False

    def read(self, size: int = -1) -> bytes:
        size = size if size and size > 0 else CHUNK
        while self.offset >= len(self.pending) and not self.done:
            self.pending, self.offset = self.fill(), 0
        out = self.pending[self.offset : self.offset + size]
        self.offset += len(out)
        return out

    def drain(self) -> None:
        while not self.done:
            self.fill()

    def fill(self) -> bytes:
        """The next converted bytes (maybe none yet, while a tail is held back)."""
        set_deadline(self.connection, self.deadline, self.timeout)
        data = self.response.read(CHUNK)
        self.total += len(data)
        if self.total > self.limit:
            raise too_large(self.limit // READ_FACTOR)
        if not data:
            self.done = True
            data, self.held = self.held, b""
            return data
        if not self.node_ids:
            return data
        text = self.node_ids.sub(rb"\1", self.held + data)
        self.held = text[-self.HOLD :]
        return text[: -self.HOLD]


def set_deadline(connection: http.client.HTTPConnection, deadline: float, timeout: float) -> None:
    """Every socket operation waits at most until the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ran_past(timeout)
    connection.timeout = remaining
    if connection.sock is not None:
        connection.sock.settimeout(remaining)


def read_error_body(response: http.client.HTTPResponse) -> str:
    """The engine's message: the start of the body, without the query Virtuoso echoes."""
    try:
        raw = response.read(ERROR_BODY_BYTES)
    except (OSError, http.client.HTTPException):
        raw = b""
    text = raw.decode("utf-8", errors="replace")
    text = text.split("\n\nSPARQL query:", 1)[0].strip()
    return text or (response.reason or "no message")


def engine_error(status: int, message: str, timeout: float) -> StoreError | None:
    """The error an engine's refusal means, where it says: syntax, time-out."""
    estimate = ESTIMATE.search(message)
    if estimate:
        return QueryTimeout(
            f"The query would run past the time limit of {timeout:g} s (the store estimates "
            f"{estimate.group(1)} s) and was not started."
        )
    if TIMEOUT_STATES.search(message):
        return ran_past(timeout)
    if status == 400 or SYNTAX_STATE.search(message):
        if CANNOT_RUN.search(message):
            return QuerySyntaxError(f"The SPARQL store cannot run this query: {message}")
        return QuerySyntaxError(f"Query syntax error: {message}")
    return None


def ran_past(timeout: float) -> QueryTimeout:
    return QueryTimeout(f"The query ran past the time limit of {timeout:g} s and was stopped.")


def too_large(limit: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"The result is larger than the limit of {limit} bytes; narrow the query or add a LIMIT."
    )


def refused(message: str) -> StoreError:
    error = StoreError(message)
    error.status = 400
    return error


def bad_gateway(message: str) -> StoreError:
    error = StoreError(message)
    error.status = 502
    return error


# --- connections ------------------------------------------------------------------------------


class ConnectionPool:
    """Keep-alive connections to the endpoint, shared by threads: a caller takes one for one
    request and gives it back if the server keeps it open. Idle ones are dropped before the
    server would close them under us."""

    def __init__(self, endpoint: str, size: int) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Not an http(s) SPARQL endpoint: {endpoint!r}")
        self.https = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.size = size
        self.idle: list[tuple[http.client.HTTPConnection, float]] = []
        self.lock = threading.Lock()
        self.opened = 0

    def take(self, fresh: bool = False) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it has served before (and so may have gone stale);
        a new one if `fresh`."""
        now = time.monotonic()
        with self.lock:
            while self.idle and not fresh:
                connection, since = self.idle.pop()
                if now - since < IDLE_SECONDS:
                    return connection, True
                connection.close()
            self.opened += 1
        kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        return kind(self.host, self.port), False

    def give(
        self, connection: http.client.HTTPConnection, response: http.client.HTTPResponse
    ) -> None:
        if response.will_close or not response.isclosed():
            connection.close()  # the server ends it, or the body was not read to its end
            return
        with self.lock:
            if len(self.idle) < self.size:
                self.idle.append((connection, time.monotonic()))
                return
        connection.close()

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for connection, _ in idle:
            connection.close()
