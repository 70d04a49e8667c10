"""Fuzzing every path-shaped route (issue #6): resources (/id/…), classes, the ontology, the
example queries, downloads, the dataset's metadata, sitemap, robots and static files, with
path traversal in all its spellings (`../`, `%2e%2e%2f`, `..%5c`, double and overlong
encodings, NUL), random segments and parameters that could reach a header (lang=, format=,
a download's name). Every answer goes through `check` (tests/test_fuzz_harness.py)."""

from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from .test_fuzz_harness import BROWSER, fetch, fuzz

ROOTS = st.sampled_from(
    [
        "/",
        "/id/",
        "/id/organization/",
        "/classes/",
        "/ontology/",
        "/queries/",
        "/dumps/",
        "/static/",
        "/static/vendor/yasgui/",
        "/reconcile/",
        "/.well-known/",
        "/search/",
    ]
)
TRAVERSALS = st.sampled_from(
    [
        "..",
        "../..",
        "%2e%2e",
        "%2e%2e%2f",
        "..%2f..%2f",
        "..%5c..%5c",
        "..\\..\\",
        "%252e%252e%252f",  # encoded twice
        "%c0%ae%c0%ae%c0%af",  # overlong UTF-8 for ../
        "%e0%80%ae%e0%80%ae/",
        "....//",
        "..;/",
        "%00",
        "a%00.html",
        "%ff%fe",
        "/etc/passwd",
        "//etc/passwd",
        "store",
        "current",
        "releases",
        "manifest.json",
        "~",
        "%",
        "%%32%65",
    ]
)
KNOWN = st.sampled_from(
    [
        "organization/alt-university",
        "country/china",
        "who-signed-with-whom",
        "HigherEducationInstitution",
        "kzcn-kg.ttl",
        "metadata.ttl",
        "site.css",
        "0.1.0",
        "void",
    ]
)
SEGMENTS = TRAVERSALS | KNOWN | st.text(max_size=20)
SUFFIXES = st.sampled_from(
    ["", ".html", ".ttl", ".nt", ".jsonld", ".rdf", ".json", ".csv", ".rq", ".nt.gz", "/", ".."]
)
# Values for parameters that pages use in headers or links: line breaks, NUL, quotes, markup.
HEADERISH = st.sampled_from(
    [
        "en\r\nSet-Cookie: x=1",
        "ttl\r\n",
        "json\nX: y",
        'a"; filename="evil',
        "<script>",
        "\0",
        "kk-Latn",
        "%0d%0a",
        "",
    ]
) | st.text(max_size=20)
PARAMS = st.lists(
    st.tuples(st.sampled_from(["lang", "format", "q", "id", "callback", "x"]), HEADERISH),
    max_size=3,
)
ACCEPTS = st.sampled_from([BROWSER, "text/turtle", "application/ld+json", "*/*", "", "x/y;q=2"])
METHODS = st.sampled_from(["GET", "GET", "GET", "HEAD", "OPTIONS", "POST", "DELETE"])


@st.composite
def paths(draw: st.DrawFn) -> str:
    segments = draw(st.lists(SEGMENTS, min_size=1, max_size=4))
    return draw(ROOTS) + "/".join(segments) + draw(SUFFIXES)


@fuzz(80)
@given(path=paths(), params=PARAMS, accept=ACCEPTS, method=METHODS)
@example(path="/queries/who-signed-with-whom.JSON", params=[], accept="*/*", method="GET")
@example(path="/dumps/..%2fmanifest.json", params=[], accept="*/*", method="GET")
@example(path="/static/%2e%2e/config.py", params=[], accept="*/*", method="GET")
@example(path="/id/%2e%2e/%2e%2e/etc/passwd", params=[], accept=BROWSER, method="GET")
@example(path="/id/organization/a%00b.html", params=[], accept=BROWSER, method="GET")
@example(path="/id/country/china", params=[("lang", "en\r\nX: 1")], accept="", method="GET")
@example(path="/dataset", params=[("format", "ttl\r\n")], accept="", method="GET")
@example(path="//..", params=[], accept=BROWSER, method="GET")
@example(path="/dumps//etc/passwd", params=[], accept="", method="GET")
def test_any_path(app, path, params, accept, method):
    fetch(app, method, path, query_string=MultiDict(params), headers={"Accept": accept})


@fuzz(25)
@given(
    name=st.sampled_from(["who-signed-with-whom", "partner-network"]),
    ext=st.text(max_size=12) | st.sampled_from(["json\r\n", "JSON", "csv ", "ttl\t", "rq"]),
)
@example(name="who-signed-with-whom", ext="JSON\r")  # once a 500: CR in Content-Disposition
@example(name="who-signed-with-whom", ext="json\x0b")
def test_example_query_downloads_keep_their_name_out_of_headers(app, name, ext):
    """The name of a download is built from the URL: nothing in it may break its header."""
    fetch(app, "GET", f"/queries/{name}.{quote(ext, safe='')}")


@fuzz(25)
@given(thing=KNOWN | st.text(max_size=30), query=st.text(max_size=30))
def test_a_thing_redirects_only_to_its_own_documents(app, thing, query):
    """303 from an IRI to a document keeps the query string, percent-encoded, on our host."""
    answer = fetch(
        app,
        "GET",
        "/id/" + quote(thing, safe="/"),
        query_string={"lang": query},
        headers={"Accept": "text/turtle"},
    )
    if answer.status == 303:
        location = answer.header("Location") or ""
        assert location.startswith("/id/"), location
