"""Fuzzing /sparql (issue #6): generated and mutated query strings, parameters, bodies,
content types and Accept headers, deep nesting, pathological property paths, catastrophic
regular expressions, runaway queries and a burst of huge inputs.

Every answer goes through `check` (tests/test_fuzz_harness.py): no 5xx but the documented
503, no header injection, no outbound connection, no file read outside the release. The
`@example`s are the inputs that once broke the server, kept as regression cases."""

import socket
import threading
from collections.abc import Callable, Iterator

import psutil
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from .test_fuzz_harness import GUARD_SECONDS, fetch, fuzz

QUERIES = (
    "SELECT ?s ?l WHERE { ?s a kzcn:Agreement ; rdfs:label ?l } LIMIT 3",
    "ASK { inst:alt-university ?p ?o }",
    "CONSTRUCT { ?a kzcn:partner ?b } WHERE { ?a kzcn:partner ?b } LIMIT 5",
    "DESCRIBE country:china",
    'SELECT ?l WHERE { ?s rdfs:label ?l FILTER (REGEX(?l, "^Ts", "i")) } LIMIT 5',
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
)
# Short, so that the runaway queries below cost the shared machine little.
TIMEOUT = "2"
# What a parameter value may hold: anything, including line breaks, NUL and quotes.
WILD = st.text(max_size=60) | st.sampled_from(["\r\nX-Injected: 1", "\0", "%0d%0a", "é", ""])
MEDIA_TYPES = st.sampled_from(
    [
        "application/sparql-query",
        "application/x-www-form-urlencoded",
        "application/sparql-update",
        "application/sparql-query; charset=latin-1",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data; boundary=x",
        "text/plain",
        "",
        "*/*",
        "application/json",
    ]
)
ACCEPTS = st.sampled_from(
    [
        "text/csv",
        "application/sparql-results+xml;q=0.5, text/turtle",
        "text/html",
        "*/*;q=nan",
        "*/*;q=1e999",
        "text/*;q=-1",
        ";;;,,,/",
        "application/ld+json;q=0",
    ]
) | st.text(st.characters(exclude_characters="\r\n"), max_size=40)  # HTTP cannot carry CR/LF


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A working query with a few characters inserted, deleted or repeated."""
    text = draw(st.sampled_from(QUERIES))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if action == "insert":
            text = text[:at] + draw(st.text(min_size=1, max_size=5)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 10)) :]
        else:
            text = text[:at] + text[at:] * 2
    return text


def nested(depth: int, kind: str) -> str:
    """A query `depth` brackets deep: ((((…)))) in an expression, {{{{…}}}} as groups."""
    if kind == "(":
        return f"SELECT ({'(' * depth}1{')' * depth} AS ?x) WHERE {{}}"
    if kind == "{":
        return f"SELECT * WHERE {'{' * depth} ?s ?p ?o {'}' * depth} LIMIT 1"
    return f"SELECT * WHERE {{ ?s {'(' * depth}rdfs:label{')' * depth} ?o }} LIMIT 1"


PATHS = st.sampled_from(
    [
        "(rdfs:subClassOf|^rdfs:subClassOf)*",
        "((((kzcn:partner*)*)*)*)",
        "(!(rdf:type|^rdf:type))+",
        "(kzcn:partner/kzcn:partner)*/(^kzcn:partner)+",
        "!(a)*/(<x:y>|^<x:z>)?",
        "(<>|^<>)*",
    ]
)
# Regular expressions that take exponential time in a backtracking engine.
CATASTROPHIC = st.sampled_from(["(a+)+$", "(a|aa)+$", "(.*a){20}", "^(\\\\w+\\\\s?)*$", "(x+x+)+y"])

QUERY_TEXTS = (
    st.text(max_size=200)
    | mutated()
    | st.builds(nested, st.integers(1, 300), st.sampled_from("({p"))
    | PATHS.map(lambda p: f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s {p} ?o }}")
    | CATASTROPHIC.map(
        lambda r: (
            'SELECT ?l WHERE { ?s rdfs:label ?l . BIND (CONCAT(?l, "aaaaaaaaaaaaaaaaaaaa'
            f'aaaaaaaaaaaaa!") AS ?long) FILTER (REGEX(?long, "{r}")) }} LIMIT 3'
        )
    )
)


@pytest.fixture(scope="module", autouse=True)
def warm(app):
    """The store's first answer (worker start-up, a remote store's connection) comes before
    the fuzzing."""
    fetch(app, "GET", "/sparql", query_string={"query": QUERIES[0]})


@fuzz()
@given(query=QUERY_TEXTS, accept=ACCEPTS)
@example(query="ASK {}", accept="*/*;q=nan")
@example(query=nested(65, "{"), accept="")
def test_any_query_by_get(app, query, accept):
    params = {"query": query, "timeout": TIMEOUT}
    fetch(app, "GET", "/sparql", query_string=params, headers={"Accept": accept})


@fuzz()
@given(body=st.binary(max_size=300) | QUERY_TEXTS.map(str.encode), content_type=MEDIA_TYPES)
@example(body=b"\xff\xfeA\x00S\x00K\x00", content_type="application/sparql-query")
@example(
    body=b"query=ASK%20%7B%7D&query=ASK%20%7B%7D", content_type="application/x-www-form-urlencoded"
)
def test_any_body_and_content_type(app, body, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    fetch(app, "POST", "/sparql?timeout=" + TIMEOUT, data=body, headers=headers)


PARAMETER_NAMES = st.sampled_from(
    ["query", "format", "timeout", "default-graph-uri", "named-graph-uri", "update", "lang", "x"]
)


@fuzz()
@given(
    params=st.lists(st.tuples(PARAMETER_NAMES, WILD), max_size=6),
    method=st.sampled_from(["GET", "POST"]),
)
@example(params=[("query", "ASK {}"), ("default-graph-uri", "not an iri")], method="GET")
@example(params=[("query", "ASK {}"), ("named-graph-uri", "<>")], method="POST")
@example(params=[("query", "ASK {}"), ("timeout", "nan")], method="GET")
@example(params=[("query", "ASK {}"), ("format", "json\r\nX-Injected: 1")], method="GET")
def test_any_parameters(app, params, method):
    if method == "GET":
        answer = fetch(app, "GET", "/sparql", query_string=MultiDict(params))
    else:
        answer = fetch(app, "POST", "/sparql", data=MultiDict(params))
    if "timeout" not in dict(params):
        # No time limit was asked for and these queries are cheap: a 503 here would be a
        # query worker lost to a bad parameter (a graph IRI once killed one).
        assert answer.status != 503, answer.body


@fuzz(15)
@given(accept=ACCEPTS, format_=st.none() | WILD)
def test_service_description_and_editor(app, accept, format_):
    params = {} if format_ is None else {"format": format_}
    fetch(app, "GET", "/sparql", query_string=params, headers={"Accept": accept})


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A local TCP port that nobody should ever connect to. It sees the engine's own
    connections, which an audit hook cannot: the embedded engine runs in child processes,
    Virtuoso in a process of its own."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(0.05)
        yield server


def url_of(server: socket.socket) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}/"


def connections_to(server: socket.socket) -> int:
    """How many connections are waiting (each is accepted and closed)."""
    count = 0
    while True:
        try:
            connection, _ = server.accept()
        except TimeoutError:
            return count
        connection.close()
        count += 1


# Ways to smuggle a SERVICE past a tokenizer: a comment ended by a lone CR, a less-than
# read as the start of an IRI, no space after a number or before a prefixed name, case,
# SILENT, a variable.
BEFORE = st.sampled_from(
    [
        "",
        "#x\r",
        "FILTER(1<2)",
        "FILTER(?o<1)",
        "/**/",
        "BIND(1 AS ?o)",
        "BIND(1 AS ?o) ?s ?p 1e5",
        "?s ?p .5E1",
    ]
)
KEYWORDS = st.sampled_from(["SERVICE", "service", "SeRvIcE", "SERVICE SILENT", "SERVICE\tSILENT"])
GAPS = st.sampled_from([" ", "", "\t", "#>\n", "\r", "\n", "#\r"])
TARGETS = st.sampled_from(["<{url}>", "x:s", ":s", "?v"])


@fuzz(40)
@given(before=BEFORE, keyword=KEYWORDS, gap=GAPS, target=TARGETS)
@example(before="#x\r", keyword="SERVICE", gap=" ", target="<{url}>")  # once reached out
@example(before="FILTER(1<2)", keyword="SERVICE", gap="#>\n", target="x:s")  # once reached out
@example(before="", keyword="SERVICE", gap="", target="x:s")  # once reached out
@example(before="", keyword="SERVICE", gap="", target=":s")  # once reached out
@example(
    before="BIND(1 AS ?o) ?s ?p 1e5", keyword="SERVICE", gap="", target="<{url}>"
)  # once reached out
def test_no_spelling_of_service_reaches_out(app, listener, before, keyword, gap, target):
    url = url_of(listener)
    query = (
        f"PREFIX x: <{url}>\nPREFIX : <{url}>\nSELECT * WHERE {{ BIND(<{url}> AS ?v) "
        f"{before}{keyword}{gap}{target.format(url=url)} {{ ?s ?p ?o }} }}"
    )
    fetch(app, "GET", "/sparql", query_string={"query": query, "timeout": TIMEOUT})
    assert connections_to(listener) == 0, query


def test_no_dataset_or_description_reaches_out(app, listener):
    """Graphs named by URL (FROM, the protocol's parameters) and DESCRIBE of a URL are
    looked up in the store, never fetched."""
    url = url_of(listener)
    for params in (
        {"query": f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}"},
        {"query": f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"},
        {"query": "ASK { ?s ?p ?o }", "default-graph-uri": url, "named-graph-uri": url},
        {"query": f"DESCRIBE <{url}>"},
        {"query": f"LOAD <{url}>"},
    ):
        fetch(app, "GET", "/sparql", query_string={**params, "timeout": TIMEOUT})
        assert connections_to(listener) == 0, params


@fuzz(5)
@given(timeout=st.sampled_from(["1e-300", "0.000001", "0.01", "5e-324"]))
def test_a_tiny_time_limit_still_answers_a_cheap_query(app, timeout):
    """Once a 503 that cost the embedded store a query worker (killed and started again)
    for a count of the small store: the smallest limit a client may set is long enough."""
    query = f'SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER (?o != "{timeout}") }}'
    answer = fetch(app, "GET", "/sparql", query_string={"query": query, "timeout": timeout})
    assert answer.status == 200, answer.body


RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def test_a_runaway_query_is_answered_503_within_its_own_limit(app):
    """The client's low `timeout=` is enforced by the store: the answer (503) arrives; the
    request's guard thread in `send` fails the test should it never arrive."""
    answer = fetch(app, "GET", "/sparql", query_string={"query": RUNAWAY, "timeout": "1"})
    assert answer.status == 503
    assert answer.header("Retry-After")


def rss(process: psutil.Process) -> dict[int, int]:
    """Resident memory in bytes of this process and of its children (the embedded store's
    query workers, a private Virtuoso), by process id."""
    sizes = {}
    for member in [process, *process.children(recursive=True)]:
        try:
            sizes[member.pid] = member.memory_info().rss
        except psutil.NoSuchProcess:  # a worker replaced meanwhile
            continue
    return sizes


HUGE = [
    ("GET", "/sparql", {"query_string": {"query": "#" + "x" * 99_000 + "\nASK {}"}}),
    ("POST", "/sparql", {"data": b"a" * 5_000_000, "content_type": "application/sparql-query"}),
    ("POST", "/sparql", {"data": {"query": "{" * 90_000}}),
    ("GET", "/search.json", {"query_string": {"q": "word " * 20_000}}),
    ("GET", "/id/" + "x/" * 4_000 + "y.html", {}),
    ("POST", "/reconcile", {"data": {"queries": "[" * 50_000 + "]" * 50_000}}),
]
WARM_ROUNDS = 3  # caches, the search index and the allocator settle
ROUNDS = 8  # about 6 MB sent a round
# Caches may keep a little of what they saw; nothing may keep what was sent.
MEMORY_BOUND = 32_000_000
# Distinct queries that read the whole store, so that every query worker has mapped all of
# it before the measurement (a worker started by an earlier test's time-out has not).
SCANS = [f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s ?p ?o FILTER (?o != {i}) }}" for i in range(6)]


def burst(app) -> None:
    """The huge requests, one after another in one thread, as one thread of a web server
    serves them: memory a thread's allocator keeps for reuse is then counted once."""
    client = app.test_client()
    for method, path, kwargs in HUGE:
        response = client.open(path, method=method, **kwargs)
        assert response.status_code < 500, (path[:50], response.status_code)
        response.close()


def guarded(work: Callable[[], None]) -> None:
    """Run `work` in a thread, failing the test if it does not end within the guard."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GUARD_SECONDS * 2)
    assert not thread.is_alive(), "the burst did not end"
    if errors:
        raise errors[0]


def test_memory_stays_bounded_under_a_burst_of_huge_inputs(app):
    process = psutil.Process()
    measured: list[dict[int, int]] = []

    def rounds() -> None:
        for query in SCANS:
            fetch(app, "GET", "/sparql", query_string={"query": query})
        for _ in range(WARM_ROUNDS):
            burst(app)
        measured.append(rss(process))
        for _ in range(ROUNDS):
            burst(app)
        measured.append(rss(process))

    guarded(rounds)
    before, after = measured
    grown = sum(after.values()) - sum(before.values())
    assert grown < MEMORY_BOUND, f"memory grew by {grown / 1e6:.0f} MB: {before} → {after}"
