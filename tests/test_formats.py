"""The release's text formats written from sorted canonical lines (server/build/formats.py) and
the union's statistics (metadata.UnionStats): written from the bytes of the lines, they must
read back as the lines, lay out text as the canonical writers would, and count what a parser
would count, whatever the terms hold."""

import json
from collections import Counter
from pathlib import Path

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.build import formats
from server.build.lines import LineList
from server.build.metadata import UnionStats
from server.vocab import GRAPHS, PREFIXES

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
KZCN = PREFIXES["kzcn"]
INST = PREFIXES["inst"]
INITIATIVE = PREFIXES["initiative"]
XSD = PREFIXES["xsd"]

# IRIs whose line order is not their prefixed names' order (a name that is a prefix of
# another, namespaces whose prefixes sort apart), local names Turtle could not write plainly,
# and namespaces that have no prefix.
IRIS = [
    f"{INST}report-1",
    f"{INST}report-10",
    f"{INST}a",
    f"{INST}a-b",
    f"{INST}a.b",
    f"{INST}a.",
    f"{INST}x%20y",
    f"{INST}",
    f"{INITIATIVE}a",
    f"{PREFIXES['kzcnid']}school/x",
    f"{PREFIXES['kzcnid']}school-y",
    f"{KZCN}Agreement",
    f"{KZCN}Organization",
    f"{PREFIXES['schema']}Organization",
    "https://ex.org/a",
    "https://ex.org/a#b",
    "urn:x:y",
]
PREDICATES = [RDF_TYPE, LABEL.value, f"{KZCN}party", f"{KZCN}p.q", "https://ex.org/p"]

iris = st.sampled_from(IRIS).map(ox.NamedNode)
blank_nodes = st.sampled_from(["a1", "b2", "z"]).map(ox.BlankNode)
# Text with what N-Triples escapes ('"', '\\', controls) and what it keeps (U+2028, U+0085,
# DEL, Cyrillic, CJK), and texts where a value that is a prefix of another meets ' ' and '!'.
texts = st.one_of(
    st.text(alphabet=st.sampled_from('aAb .!"\\\n\t\r\x01\x1c\x7f\u2028\u0085Әә中 '), max_size=8),
    st.sampled_from(["a", "a b", "a!", "Атырау", "Atyrau"]),
)
literals = st.one_of(
    texts.map(ox.Literal),
    st.builds(ox.Literal, texts, language=st.sampled_from(["en", "kk", "kk-latn", "zh-hans"])),
    st.builds(
        ox.Literal,
        texts,
        # a datatype that is a prefix of another, before a character that sorts before '"'
        datatype=st.sampled_from(
            [f"{XSD}integer", f"{XSD}date", "https://ex.org/dt", "https://ex.org/dt!x"]
        ).map(ox.NamedNode),
    ),
)
triples = st.builds(
    ox.Triple,
    st.one_of(iris, blank_nodes),
    st.sampled_from(PREDICATES).map(ox.NamedNode),
    st.one_of(iris, blank_nodes, literals),
)
GRAPH_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def lines_of(graph: list[ox.Triple]) -> LineList:
    text = ox.serialize(graph, format=ox.RdfFormat.N_TRIPLES)
    return LineList(sorted(set(text.splitlines(keepends=True))))


def parsed(data: bytes, fmt: ox.RdfFormat) -> set[ox.Quad]:
    return set(ox.parse(data, format=fmt, rename_blank_nodes=False))


def quads_of(lines: LineList, graph: str | None = None) -> set[ox.Quad]:
    name = ox.NamedNode(GRAPHS[graph]) if graph else ox.DefaultGraph()
    return {ox.Quad(q.subject, q.predicate, q.object, name) for q in parsed(lines.open(), NT)}


NT = ox.RdfFormat.N_TRIPLES


@GRAPH_SETTINGS
@given(st.lists(triples, max_size=30))
def test_turtle_and_jsonld_read_back_as_the_lines(tmp_path: Path, graph: list[ox.Triple]) -> None:
    lines = lines_of(graph)
    turtle = b"".join(formats.turtle(lines))
    assert parsed(turtle, ox.RdfFormat.TURTLE) == quads_of(lines)
    document = b"".join(formats.jsonld(lines, tmp_path))
    assert parsed(document, ox.RdfFormat.JSON_LD) == quads_of(lines)


@GRAPH_SETTINGS
@given(st.lists(triples, max_size=20), st.lists(triples, max_size=20))
def test_trig_and_nquads_read_back_as_the_graphs(
    left: list[ox.Triple], right: list[ox.Triple]
) -> None:
    named = {"data": lines_of(left), "inferred": lines_of(right)}
    expected = quads_of(named["data"], "data") | quads_of(named["inferred"], "inferred")
    assert parsed(b"".join(formats.trig(named)), ox.RdfFormat.TRIG) == expected
    assert parsed(b"".join(formats.nquads(named)), ox.RdfFormat.N_QUADS) == expected


ESCAPES_REORDER = [  # "a\n" sorts before "a ", but its line text "a\\n" after
    ox.Triple(ox.NamedNode(IRIS[0]), LABEL, ox.Literal(text, language="kk"))
    for text in ("a\n", "a ", "a!", "a")
]


@GRAPH_SETTINGS
@given(st.lists(triples, max_size=30))
@example(ESCAPES_REORDER)
def test_jsonld_is_json_dumps_of_itself_with_nodes_and_values_in_canonical_order(
    tmp_path: Path, graph: list[ox.Triple]
) -> None:
    """Laid out as json.dumps(indent=1, sort_keys=True, ensure_ascii=False) would; nodes
    sorted by @id, each value list by its values' sorted items (the unescaped text: "a" before
    "a b" and "a!", though '"' sorts after ' ' and '!')."""
    document = b"".join(formats.jsonld(lines_of(graph), tmp_path))
    parsed_document = json.loads(document)
    expected = json.dumps(parsed_document, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
    assert document.decode("utf-8") == expected
    nodes = parsed_document["@graph"]
    assert [node["@id"] for node in nodes] == sorted(node["@id"] for node in nodes)
    for node in nodes:
        for name, values in node.items():
            if isinstance(values, list):
                keys = [v if isinstance(v, str) else sorted(v.items()) for v in values]
                assert keys == sorted(keys), (node["@id"], name)


@GRAPH_SETTINGS
@given(st.lists(triples, max_size=40))
def test_union_stats_count_what_a_parser_reads(graph: list[ox.Triple]) -> None:
    lines = lines_of(graph)
    stats = UnionStats.count(lines, {"data": len(lines)})
    read = [(q.subject, q.predicate, q.object) for q in parsed(lines.open(), NT)]
    assert stats.triples == len(read) == len(lines)
    assert stats.subjects == len({s for s, _, _ in read})
    assert stats.objects == len({o for _, _, o in read})
    properties = {str(p): n for p, n in stats.property_triples.items()}  # URIRef != str
    assert properties == Counter(p.value for _, p, _ in read)
    members: dict[str, set[object]] = {}
    for s, p, o in read:
        if p.value == RDF_TYPE and isinstance(o, ox.NamedNode):
            members.setdefault(o.value, set()).add(s)
    assert {str(c): n for c, n in stats.class_entities.items()} == {
        cls: len(m) for cls, m in members.items()
    }
    assert stats.graph_triples == {"data": len(lines)}


@GRAPH_SETTINGS
@given(st.lists(triples, max_size=30))
def test_forgetting_remembered_terms_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, graph: list[ox.Triple]
) -> None:
    """The writers remember converted terms in bounded memos, emptied when full: a memo of
    one entry, emptied at every new term, must write the same bytes."""
    lines = lines_of(graph)
    named = {"data": lines, "inferred": lines_of(graph[::2])}

    def written() -> list[bytes]:
        return [
            b"".join(formats.turtle(lines)),
            b"".join(formats.trig(named)),
            b"".join(formats.jsonld(lines, tmp_path)),
        ]

    expected = written()
    memos = [m for m in vars(formats).values() if isinstance(m, formats._Memo)]
    memos += [formats._TURTLE.types, formats._TRIG.types]
    assert len(memos) >= 7
    for memo in memos:
        monkeypatch.setattr(memo, "size", 1)
        memo.clear()
    assert written() == expected


def test_by_subject_groups_each_subjects_predicates_in_line_order() -> None:
    lines = [b"<a> <p> <x> .\n", b"<a> <p> <y> .\n", b"<a> <q> <x> .\n", b"<b> <p> <x> .\n"]
    lines.append(b'<b> <q> "a b c"@en .\n')  # the object keeps its spaces
    assert list(formats.by_subject(lines)) == [
        (b"<a>", [(b"<p>", [b"<x>", b"<y>"]), (b"<q>", [b"<x>"])]),
        (b"<b>", [(b"<p>", [b"<x>"]), (b"<q>", [b'"a b c"@en'])]),
    ]
    assert list(formats.by_subject([])) == []


def labelled(*texts: str) -> list[ox.Triple]:
    subject = ox.NamedNode(f"{INST}u")
    return [ox.Triple(subject, LABEL, ox.Literal(text, language="kk")) for text in texts]


def turtle_body(graph: list[ox.Triple]) -> str:
    turtle = b"".join(formats.turtle(lines_of(graph))).decode("utf-8")
    return turtle.split("\n\n", 1)[1]


def test_objects_wrap_past_100_characters_counted_in_characters_not_bytes() -> None:
    """A predicate's line is its indent (4 columns) and `rdfs:label "…"@kk, "…"@kk`: up to
    96 characters stay on one line, though Cyrillic takes 2 bytes a character."""
    first = "Ә" * 40
    fits = "ә" * 33  # 4 + len('rdfs:label "' + first + '"@kk, "' + fits + '"@kk') == 100
    assert turtle_body(labelled(first, fits)) == f'inst:u rdfs:label "{first}"@kk, "{fits}"@kk .\n'
    wide = fits + "ә"
    assert turtle_body(labelled(first, wide)) == (
        f'inst:u rdfs:label "{first}"@kk,\n        "{wide}"@kk .\n'
    )


def test_a_type_list_is_laid_out_for_turtle_and_for_trig_apart() -> None:
    """The same classes recur on many subjects, and their `a …` part is remembered; but a
    TriG block sits 4 columns further right: a part of 94 characters fits Turtle's 96 and
    not TriG's 92, whichever is written first."""
    classes = ["https://ex.org/a#b", "https://ex.org/a", f"{PREFIXES['schema']}Organization"]
    classes += [f"{KZCN}Agreement", "urn:x:abcde"]
    graph = [
        ox.Triple(ox.NamedNode(f"{INST}{name}"), ox.NamedNode(RDF_TYPE), ox.NamedNode(c))
        for name in ("a", "b")
        for c in classes
    ]
    part = "a <https://ex.org/a#b>, <https://ex.org/a>, schema:Organization, kzcn:Agreement, "
    part += "<urn:x:abcde>"
    assert len(part) == 94
    turtle = f"inst:a {part} .\n\ninst:b {part} .\n"
    wrapped = part.replace(", ", ",\n            ")
    trig = f"    inst:a {wrapped} .\n\n    inst:b {wrapped} .\n"
    for _ in range(2):
        assert turtle_body(graph) == turtle
        written = b"".join(formats.trig({"data": lines_of(graph)})).decode("utf-8")
        assert written.split(" {\n", 1)[1] == trig + "}\n"


def test_type_first_and_full_iris_where_no_prefixed_name_fits() -> None:
    subject = ox.NamedNode(f"{INST}a.")
    graph = [
        ox.Triple(subject, ox.NamedNode(f"{KZCN}party"), ox.NamedNode(f"{INST}x%20y")),
        ox.Triple(subject, ox.NamedNode(RDF_TYPE), ox.NamedNode("urn:x:y")),
        ox.Triple(subject, LABEL, ox.Literal("7", datatype=ox.NamedNode("https://ex.org/dt"))),
        ox.Triple(subject, LABEL, ox.Literal("8", datatype=ox.NamedNode(f"{XSD}integer"))),
    ]
    assert turtle_body(graph) == (
        f"<{INST}a.> a <urn:x:y> ;\n"
        f'    rdfs:label "7"^^<https://ex.org/dt>, "8"^^xsd:integer ;\n'
        f"    kzcn:party <{INST}x%20y> .\n"
    )


def test_jsonld_nodes_come_in_id_order_not_line_order(tmp_path: Path) -> None:
    """<…/report-10> sorts before <…/report-1> as a line (by '>'), but "inst:report-1"
    before "inst:report-10"; and inst: (…/organization/) sorts before initiative: as a line."""
    names = [f"{INST}report-1", f"{INST}report-10", f"{INITIATIVE}a", f"{INST}a", f"{INST}a-b"]
    graph = [ox.Triple(ox.NamedNode(n), LABEL, ox.Literal("x")) for n in names]
    lines = lines_of(graph)
    line_order = [line.split(b" ", 1)[0] for line in lines]
    assert line_order != sorted(line_order, key=lambda t: formats._jsonld_id(t))
    document = json.loads(b"".join(formats.jsonld(lines, tmp_path)))
    assert [node["@id"] for node in document["@graph"]] == [
        "initiative:a",
        "inst:a",
        "inst:a-b",
        "inst:report-1",
        "inst:report-10",
    ]


def test_empty_graphs(tmp_path: Path) -> None:
    empty = LineList([])
    assert b"".join(formats.jsonld(empty, tmp_path)) == formats.json_bytes(
        {"@context": dict(PREFIXES), "@graph": []}
    )
    assert b"".join(formats.turtle(empty)) == formats._prefix_header()
    assert UnionStats.count(empty, {}).subjects == 0
