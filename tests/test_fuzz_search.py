"""Fuzzing search and reconciliation (issue #6): /search, /search.json, /reconcile (manifest,
batches as JSON of any shape and depth, GET and POST), its view, preview and suggest
services, with random and huge text, bad numbers, JSONP callbacks and types. Every answer
goes through `check` (tests/test_fuzz_harness.py)."""

import json

from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from server.search.index import Vocabulary
from server.search.text import typo_distance

from .test_fuzz_harness import fetch, fuzz

TEXT = (
    st.text(max_size=80)
    | st.sampled_from(["KazNU", "Цинхуа", "清华", "tsinghua universty", "<script>", "%", "*"])
    | st.integers(1, 5000).map(lambda n: "ab " * n)  # long and many-worded
)
NUMBERS = st.sampled_from(["0", "-1", "1e3", "NaN", "9" * 5000, "١٢", " 5 ", "0x10", ""]) | (
    st.integers(-(10**20), 10**20).map(str)
)
TYPES = st.sampled_from(
    ["kzcn:Company", "Organization", "https://w3id.org/kzcn/ontology#Agreement", "x:", "", ":"]
) | st.text(max_size=20)
CALLBACKS = st.sampled_from(["cb", "jQuery1_2", "a.b.c", "alert(1)//", "x" * 200, "", "\u2028"])


@st.composite
def search_params(draw: st.DrawFn) -> MultiDict:
    params = MultiDict({"q": draw(TEXT)})
    for name, values in (
        ("limit", NUMBERS),
        ("type", TYPES),
        ("lang", st.text(max_size=10)),
        ("format", st.sampled_from(["html", "json", "JSON ", "xml", "\r\n"])),
        ("callback", CALLBACKS),
    ):
        for value in draw(st.lists(values, max_size=2)):
            params.add(name, value)
    return params


@fuzz()
@given(params=search_params(), path=st.sampled_from(["/search", "/search.json"]))
@example(params=MultiDict({"q": "a" * 100_000}), path="/search")
@example(params=MultiDict({"q": "x", "limit": "9" * 5000}), path="/search.json")
def test_any_search(app, params, path):
    fetch(app, "GET", path, query_string=params)


JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
QUERY = st.fixed_dictionaries(
    {},
    optional={
        "query": TEXT | JSON,
        "type": TYPES | st.lists(TYPES | st.fixed_dictionaries({"id": TYPES}), max_size=3) | JSON,
        "limit": NUMBERS | st.integers() | st.floats() | JSON,
        "properties": JSON,
        "type_strict": JSON,
    },
)
BATCHES = (
    st.dictionaries(st.text(max_size=6), QUERY, max_size=4).map(json.dumps)
    | JSON.map(json.dumps)
    | st.text(max_size=50)
    | st.integers(1, 5000).map(lambda n: "[" * n + "]" * n)
    | st.integers(1, 60).map(lambda n: json.dumps({f"q{i}": {"query": "a"} for i in range(n)}))
)


@fuzz()
@given(batch=BATCHES, method=st.sampled_from(["GET", "POST"]), callback=st.none() | CALLBACKS)
@example(batch="[" * 100_000 + "]" * 100_000, method="POST", callback=None)  # once a 500
@example(batch='{"q":{"query":"x","limit":1e400}}', method="GET", callback=None)
def test_any_reconciliation_batch(app, batch, method, callback):
    params = MultiDict({"queries": batch})
    if callback is not None:
        params.add("callback", callback)
    if method == "GET":
        fetch(app, "GET", "/reconcile", query_string=params)
    else:
        fetch(app, "POST", "/reconcile", data=params)


IDS = st.sampled_from(
    [
        "https://w3id.org/kzcn/id/organization/alt-university",
        "inst:alt-university",
        "https://w3id.org/kzcn/id/../../etc/passwd",
        "https://evil.example/",
        "//evil.example/",
        "javascript:alert(1)",
        "https://w3id.org/kzcn/id/organization/alt-university\r\nX: 1",
    ]
) | st.text(max_size=40)


@fuzz(30)
@given(
    service=st.sampled_from(["view", "preview", "suggest/entity"]),
    value=IDS | TEXT,
    cursor=st.none() | NUMBERS,
    limit=st.none() | NUMBERS,
)
def test_any_view_preview_and_suggestion(app, service, value, cursor, limit):
    params = MultiDict({"id": value, "prefix": value})
    for name, number in (("cursor", cursor), ("limit", limit)):
        if number is not None:
            params.add(name, number)
    answer = fetch(app, "GET", f"/reconcile/{service}", query_string=params)
    if service == "view" and answer.status == 303:
        location = answer.header("Location") or ""
        assert location.startswith("/id/"), f"an open redirect to {location}"


WORDS = st.text(st.sampled_from("abcdeiknorstuаеқұ清华"), min_size=1, max_size=9)


@fuzz(200)
@given(query_word=WORDS, words=st.lists(WORDS, max_size=40))
@example(query_word="stinghua", words=["tsinghua"])  # the first two letters swapped
@example(query_word="xsinghua", words=["tsinghua"])  # the first letter wrong
def test_the_vocabulary_files_hold_every_word_within_one_typo(query_word, words):
    """Search compares a query word only with the words `Vocabulary.candidates` files it
    under; every word `typo_distance` would accept must be among them."""
    within_one = {w for w in words if typo_distance(query_word, w) is not None}
    assert within_one <= Vocabulary(words).candidates(query_word)
