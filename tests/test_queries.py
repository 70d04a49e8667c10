"""The example queries in queries/: each is documented by its header and, run on the served
release, gives exactly the answer its file in queries/expected/ claims, over either store (the
embedded one and Virtuoso: the `client` fixture runs each test over both), so each query is
written in SPARQL that both engines answer alike.

Expected files are the data of these tests: `{name}.tsv` (SPARQL 1.1 TSV; for ASK, `true` or
`false`) or `{name}.nt` for CONSTRUCT (N-Triples). Rows and triples are compared as sets, so
their order does not matter; the files keep them sorted for readable diffs. Each was checked by
hand against the article when written: it is a claim that the answer is right.
"""

from pathlib import Path

import pytest

from server.config import PACKAGE_ROOT
from server.examples import HEADER_FIELDS, ExampleError, load_examples, read_header

QUERIES_DIR = PACKAGE_ROOT / "queries"
EXPECTED_DIR = QUERIES_DIR / "expected"
EXAMPLES = load_examples(QUERIES_DIR)


def expected_file(name: str) -> Path:
    paths = sorted(EXPECTED_DIR.glob(f"{name}.*"))
    assert len(paths) == 1, f"{name}: expected files {[path.name for path in paths]}"
    return paths[0]


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_read_header_reads_the_leading_fields_only() -> None:
    text = "# title: Who\n#shows:  rows \n\nSELECT * { ?s ?p ?o }\n# title: not header\n"
    assert read_header(text) == {"title": "Who", "shows": "rows"}
    assert read_header("PREFIX x: <y>\n# title: late\n") == {}
    with pytest.raises(ExampleError, match="title"):
        read_header("# title: one\n# title: two\n")


def test_there_are_enough_queries() -> None:
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_query_is_documented(example) -> None:
    header = read_header(example.text)
    for field in HEADER_FIELDS:
        assert header.get(field), f"{example.name}: header field {field!r} missing or empty"


def test_every_query_has_one_expected_file_and_every_expected_file_a_query() -> None:
    expected = [path.stem for path in EXPECTED_DIR.iterdir() if path.is_file()]
    assert sorted(expected) == sorted(e.name for e in EXAMPLES)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_expected_file_is_sorted(example) -> None:
    path = expected_file(example.name)
    rows = lines(path.read_text(encoding="utf-8"))
    rows = rows[1:] if path.suffix == ".tsv" else rows  # after the TSV header
    assert rows == sorted(rows), f"{path.name}: rows not sorted"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_query_gives_the_expected_answer(client, example) -> None:
    """Through the whole stack: the release's store, the query service, the example pages."""
    path = expected_file(example.name)
    response = client.get(f"/queries/{example.name}.{path.suffix.lstrip('.')}")
    assert response.status_code == 200, response.data
    actual, wanted = lines(response.data.decode()), lines(path.read_text(encoding="utf-8"))
    if path.suffix == ".tsv" and wanted in (["true"], ["false"]):
        assert actual == wanted  # an ASK answer
        return
    if path.suffix == ".tsv":
        assert actual[0] == wanted[0]  # the same variables, in the same order
        actual, wanted = actual[1:], wanted[1:]
    assert set(actual) == set(wanted), (
        f"missing: {sorted(set(wanted) - set(actual))}\n"
        f"unexpected: {sorted(set(actual) - set(wanted))}"
    )
    assert len(actual) == len(wanted)
