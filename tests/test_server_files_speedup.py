"""The server files (search index, home figures, list of things) are computed in one pass over
the sorted union lines, on bytes (server/build/server_files.py). Pinned here against
formulations that share nothing of that pass: the lines parsed by Oxigraph into facts and
indexed by `tables.build` (the path the server takes from SPARQL bindings), the home page's own
SPARQL queries over the same lines, and the subjects Oxigraph reads — on the real release, on
a generated ~10^4-triple release, and on lines made to hit the edge cases."""

import gzip
import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.build.home_figures import AGREEMENT_LIMIT, home_figures
from server.build.pipeline import build
from server.build.search_index import from_dump, search_index
from server.build.server_files import server_files, things
from server.config import Paths
from server.pages import home
from server.release import (
    HOME_FIGURES,
    SEARCH_INDEX,
    THINGS,
    UNION_NTRIPLES_GZ,
    Release,
    current,
)
from server.search import tables
from server.vocab import ID, PREFIXES
from tests.test_generate import generator
from tests.test_home import comparable

KZCN = "https://w3id.org/kzcn/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
NAME = "https://schema.org/name"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

# Valid N-Triples that canonical output would not all give, each line for a case: escapes (a
# text with a line break too), tags in any case, a plain and an xsd:string literal (one
# label, a word in it twice), a label that is an IRI (none), a type that is itself a subject,
# a country IRI in Cyrillic that is no subject, subjects whose line order is not their IRI
# order (agreement-10 sorts before agreement-1 as lines, after it as IRIs), a subject outside
# our namespace and a blank node.
EDGE_TRIPLES = [
    f"<{ID}a/agreement-1> <{RDF_TYPE}> <{KZCN}Agreement> .",
    f'<{ID}a/agreement-1> <{LABEL}> "Tab\\there, a \\" and a back\\\\slash"@EN .',
    f'<{ID}a/agreement-1> <{LABEL}> "two\\nlines"@kk-latn .',
    f'<{ID}a/agreement-1> <{PREF_LABEL}> "Caf\\u00E9 \\U0001F600 Ұлттық"@kk .',
    f'<{ID}a/agreement-10> <{LABEL}> "x"@en .',
    f'<{ID}a/agreement-10> <{LABEL}> "x"@EN .',
    f'<{ID}a/agreement-10> <{NAME}> "10 and 10" .',
    f'<{ID}a/agreement-10> <{NAME}> "10 and 10"^^<{XSD_STRING}> .',
    f"<{ID}a/agreement-10> <{KZCN}country> <{ID}country/қазақстан> .",
    f"<{ID}a/agreement-10> <{RDF_TYPE}> <{ID}a/agreement-1> .",
    f"<{ID}a/agreement-10> <{RDF_TYPE}> <{KZCN}Agreement> .",
    f"<{ID}a/label-is-an-iri> <{LABEL}> <{ID}a/agreement-1> .",
    f'<{ID}a/plain> <{KZCN}note> "nothing indexed" .',
    f'<https://example.org/outside> <{LABEL}> "Outside"@en .',
    f'_:b0 <{LABEL}> "blank"@en .',
]


def sorted_lines(triples: list[str]) -> list[bytes]:
    return sorted({f"{triple}\n".encode() for triple in triples})


def dump_lines(release: Release) -> list[bytes]:
    with gzip.open(release.path / UNION_NTRIPLES_GZ) as lines:
        return list(lines)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The union lines of a release built from a generated ~10^4-triple project."""
    root = tmp_path_factory.mktemp("generated")
    generator.generate(10_000, root, seed=1)
    build(Paths(root=root, build_dir=root / "build"), engine="scalable")
    return dump_lines(current(root / "build"))


def lines_of(name: str, request: pytest.FixtureRequest) -> list[bytes]:
    if name == "real":
        return dump_lines(request.getfixturevalue("release"))
    if name == "generated":
        return request.getfixturevalue("generated")
    return sorted_lines(EDGE_TRIPLES)


@pytest.fixture(params=["real", "generated", "edge"])
def union(request: pytest.FixtureRequest) -> list[bytes]:
    return lines_of(request.param, request)


def oxigraph_facts(lines: list[bytes]) -> Iterator[tables.Fact]:
    """The facts of the lines as the server reads SPARQL bindings (Index.from_bindings)."""
    for triple in ox.parse(b"".join(lines), format=ox.RdfFormat.N_TRIPLES):
        subject, prop, value = triple.subject, triple.predicate, triple.object
        if isinstance(subject, ox.NamedNode) and isinstance(value, ox.NamedNode | ox.Literal):
            literal = isinstance(value, ox.Literal)
            language = value.language if isinstance(value, ox.Literal) else None
            yield (subject.value, prop.value, value.value, language, literal)


def test_the_index_is_the_lines_indexed_by_the_reference_path(union: list[bytes]) -> None:
    assert search_index(union) == tables.encode(tables.build(oxigraph_facts(union)))


def test_the_edge_cases_are_indexed_as_meant() -> None:
    index = tables.decode(search_index(sorted_lines(EDGE_TRIPLES)))
    iris = list(index.iris)
    assert iris == sorted(
        [
            f"{ID}a/agreement-1",
            f"{ID}a/agreement-10",
            f"{ID}country/қазақстан",
            f"{KZCN}Agreement",
            "https://example.org/outside",
        ],
        key=str.encode,
    )
    labels: dict[str, list[tuple[str, str | None]]] = defaultdict(list)  # IRI → text, tag
    for label in range(len(index.texts)):
        labels[iris[index.entry[label]]].append(
            (index.texts[label], index.langs[index.lang[label]])
        )
    assert labels[f"{ID}a/agreement-1"] == [
        ('Tab\there, a " and a back\\slash', "en"),
        ("two\nlines", "kk-Latn"),
        ("Café \U0001f600 Ұлттық", "kk"),
    ]
    assert labels[f"{ID}a/agreement-10"] == [("x", "en"), ("10 and 10", None)]  # each once
    ten = index.words.find("10")
    assert ten is not None and list(index.postings[ten]) == [list(index.texts).index("10 and 10")]
    agreement_10 = iris.index(f"{ID}a/agreement-10")
    assert [iris[t] for t in index.types[agreement_10]] == [
        f"{ID}a/agreement-1",
        f"{KZCN}Agreement",
    ]


def test_the_things_are_the_subjects_under_the_id_namespace(union: list[bytes]) -> None:
    subjects = (
        triple.subject.value
        for triple in ox.parse(b"".join(union), format=ox.RdfFormat.N_TRIPLES)
        if isinstance(triple.subject, ox.NamedNode)
    )
    ours = dict.fromkeys(s for s in subjects if s.startswith(str(ID)))
    assert things(union) == "".join(f"{iri}\n" for iri in ours).encode()


def test_one_pass_gives_each_file_as_computed_alone(union: list[bytes]) -> None:
    assert server_files(union) == {
        SEARCH_INDEX: search_index(union),
        HOME_FIGURES: home_figures(union),
        THINGS: things(union),
    }


def asked(store: ox.Store, name: str) -> list[dict[str, dict[str, str]]]:
    """The rows of a home page query, as SPARQL JSON bindings."""
    prefixes = {prefix: str(iri) for prefix, iri in PREFIXES.items()}
    rows = store.query(home.QUERIES[name], prefixes=prefixes)
    assert isinstance(rows, ox.QuerySolutions)
    return [
        {
            variable.value: {
                "type": "uri" if isinstance(row[variable], ox.NamedNode) else "literal",
                "value": row[variable].value,
            }
            for variable in rows.variables
            if row[variable] is not None
        }
        for row in rows
    ]


@pytest.mark.parametrize("name", ["real", "generated"])
def test_the_figures_are_the_answers_of_the_home_queries(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Every figure, the claims' counts included; the agreements (and their parties) as the
    first AGREEMENT_LIMIT by paragraph and IRI."""
    lines = lines_of(name, request)
    store = ox.Store()
    store.bulk_load(b"".join(lines), format=ox.RdfFormat.N_TRIPLES)
    figures = json.loads(home_figures(lines))
    for query in set(home.QUERIES) - {"agreements", "parties"}:
        assert comparable(figures[query]) == comparable(asked(store, query)), query
        assert figures[query], query

    def first(row: dict[str, dict[str, str]]) -> tuple[int, str]:
        paragraph = row.get("paragraph")
        return (int(paragraph["value"]) if paragraph else 0, row["agreement"]["value"])

    agreements = sorted(asked(store, "agreements"), key=first)[:AGREEMENT_LIMIT]
    assert comparable(figures["agreements"]) == comparable(agreements)
    shown = {party for row in agreements for party in row["parties"]["value"].split()}
    parties = [row for row in asked(store, "parties") if row["org"]["value"] in shown]
    assert comparable(figures["parties"]) == comparable(parties)
    assert len(figures["agreements"]) == min(AGREEMENT_LIMIT, len(asked(store, "agreements")))


def test_a_subject_whose_lines_are_apart_is_refused() -> None:
    """The pass relies on a subject's lines being adjacent (sorted): lines that are not are an
    error, not a subject indexed twice."""
    lines = sorted_lines(EDGE_TRIPLES[:8])  # agreement-10's lines, then agreement-1's
    assert search_index(lines)
    with pytest.raises(ValueError, match="added twice"):
        search_index(lines[1:] + lines[:1])


def test_the_index_of_a_dump_file_is_the_index_of_its_lines(tmp_path: Path) -> None:
    lines = sorted_lines(EDGE_TRIPLES)
    dump = tmp_path / UNION_NTRIPLES_GZ
    dump.write_bytes(gzip.compress(b"".join(lines)))
    assert tables.encode(from_dump(dump)) == search_index(lines)
