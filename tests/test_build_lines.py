"""Sorted lines in memory or on disk (server/build/lines.py): the same order and the same
release whichever way they are kept, so a 10^7-triple build writes what a small one would."""

import datetime
import json
import random
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

from server.build import lines as lines_module
from server.build import publish as publish_module
from server.build.lines import LineFile, LineList, merge_unique, sort_unique, union_of
from server.build.publish import publish
from server.release import RELEASE_FILES

from .test_publish import sample_graphs, sample_report

# Bytes where Python's order and a locale's would differ: case, accents, Cyrillic, CJK,
# a line that is a prefix of another, and repeats.
SAMPLE = [
    '<https://w3id.org/kzcn/id/b> <p> "Ә" .\n',
    '<https://w3id.org/kzcn/id/B> <p> "a" .\n',
    '<https://w3id.org/kzcn/id/b> <p> "é" .\n',
    '<https://w3id.org/kzcn/id/b> <p> "中" .\n',
    '<https://w3id.org/kzcn/id/b> <p> "a" .\n',
    '<https://w3id.org/kzcn/id/b> <p> "a b" .\n',
    '<https://w3id.org/kzcn/id/b> <p> "a" .\n',
    '<https://w3id.org/kzcn/id/b-c> <p> "z" .\n',
    '<https://w3id.org/kzcn/id/b/c> <p> "z" .\n',
]


def sample_lines(copies: int = 40) -> list[bytes]:
    lines = [line.encode() for line in SAMPLE] + [
        f'<https://w3id.org/kzcn/id/n{i}> <p> "{i}" .\n'.encode() for i in range(copies)
    ]
    random.Random(5).shuffle(lines)
    return lines


@pytest.mark.parametrize("in_memory", [10_000, 3])
def test_sorting_in_memory_or_on_disk_gives_pythons_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: int
) -> None:
    monkeypatch.setattr(lines_module, "IN_MEMORY_LINES", in_memory)
    unsorted = sample_lines()
    result = sort_unique(unsorted, tmp_path, "sample")
    assert isinstance(result, LineList if in_memory > len(unsorted) else LineFile)
    assert list(result) == sorted(set(unsorted))
    assert len(result) == len(set(unsorted))
    assert list(result) == list(result), "iterable more than once"


def test_merging_keeps_each_line_once() -> None:
    first, second = sorted({b"a\n", b"c\n", b"d\n"}), sorted({b"b\n", b"c\n", b"e\n"})
    assert list(merge_unique([first, second])) == [b"a\n", b"b\n", b"c\n", b"d\n", b"e\n"]


def test_a_union_of_files_is_the_union_of_their_lines(tmp_path: Path) -> None:
    """Files are merged by GNU sort, lists in Python: the same lines in the same order."""
    lines = sample_lines()
    parts = [sorted(set(lines[0::2])), sorted(set(lines[1::2])), sorted(set(lines[::3]))]
    files = []
    for index, part in enumerate(parts):
        path = tmp_path / f"part{index}.sorted"
        path.write_bytes(b"".join(part))
        files.append(LineFile(path, len(part)))
    merged = union_of(files, tmp_path, "union")
    assert isinstance(merged, LineFile)
    assert list(merged) == sorted(set(lines))
    assert len(merged) == len(set(lines))
    assert list(union_of([LineList(part) for part in parts], tmp_path, "listed")) == list(merged)


def test_a_release_written_through_files_is_the_same_as_from_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = datetime.date(2026, 1, 2)
    in_memory = publish(tmp_path / "memory", sample_graphs(), sample_report(), "v1", created)
    monkeypatch.setattr(lines_module, "IN_MEMORY_LINES", 2)  # every graph and the JSON-LD spill
    on_disk = publish(tmp_path / "disk", sample_graphs(), sample_report(), "v1", created)
    for file in RELEASE_FILES:
        assert (on_disk / file.name).read_bytes() == (in_memory / file.name).read_bytes(), file
    assert not (on_disk / ".work").exists(), "the scratch folder is not published"


NODES = [
    {"@id": "inst:x"},
    {"@id": "_:c14n0", "@type": ["kzcn:A", "schema:Organization"]},
    {
        "@id": "https://example.org/a b",
        "rdfs:label": [
            {"@language": "kk", "@value": 'Қазақстан "ұлттық"\nуниверситеті\t\\'},
            {"@value": "中哈 \u0001 \u2028"},
            {"@type": "xsd:date", "@value": "2025-09-02"},
        ],
        "kzcn:party": [{"@id": "inst:y"}],
        "empty": [],
        "flat": [{}],
    },
]


@pytest.mark.parametrize("node", NODES)
def test_the_jsonld_node_writer_is_json_dumps_with_indent_one(node) -> None:
    expected = json.dumps(node, sort_keys=True, ensure_ascii=False, indent=1)
    assert publish_module._node_json(node) == expected


def test_jsonld_written_from_line_text_reads_back_as_the_lines(tmp_path: Path) -> None:
    """The JSON-LD writer works on the text of canonical lines: escaped lexical forms, typed,
    language-tagged and plain literals, blank nodes and an rdf:type whose object is a literal
    must all read back as the same graph."""
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    school, blank = ox.NamedNode("https://w3id.org/kzcn/id/school"), ox.BlankNode("a1")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    xsd = "http://www.w3.org/2001/XMLSchema#"
    triples = [
        ox.Triple(school, rdf_type, ox.NamedNode("https://w3id.org/kzcn/ontology#School")),
        ox.Triple(school, rdf_type, ox.Literal("not a class")),
        ox.Triple(school, label, ox.Literal('Quote " back\\slash\nnew\ttab\r', language="kk")),
        ox.Triple(school, label, ox.Literal("中哈 \u0001 plain")),
        ox.Triple(school, label, ox.Literal("7", datatype=ox.NamedNode(f"{xsd}integer"))),
        ox.Triple(school, label, ox.Literal("x\\y", datatype=ox.NamedNode("https://ex.org/dt"))),
        ox.Triple(school, ox.NamedNode("https://ex.org/p"), blank),
        ox.Triple(blank, label, ox.Literal("Атырау", language="kk")),
    ]
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    lines = LineList(sorted(text.splitlines(keepends=True)))
    document = b"".join(publish_module._jsonld(lines, tmp_path))
    written = rdflib.Graph().parse(data=document, format="json-ld")
    expected = rdflib.Graph().parse(data=text, format="nt")
    assert isomorphic(written, expected)
