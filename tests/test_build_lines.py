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

from server.build import formats
from server.build import lines as lines_module
from server.build.lines import (
    LineFile,
    LineList,
    merge_unique,
    sort_unique,
    union_of,
    whole_lines,
)
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


@pytest.mark.parametrize(
    ("in_memory", "in_memory_bytes"), [(10_000, 1 << 20), (3, 1 << 20), (10_000, 300)]
)
def test_sorting_in_memory_or_on_disk_gives_pythons_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_memory: int, in_memory_bytes: int
) -> None:
    """Few lines are sorted in memory; past a number of lines, or of bytes (a few long lines
    such as JSON-LD nodes), through a file."""
    monkeypatch.setattr(lines_module, "IN_MEMORY_LINES", in_memory)
    monkeypatch.setattr(lines_module, "IN_MEMORY_BYTES", in_memory_bytes)
    unsorted = sample_lines()
    result = sort_unique(unsorted, tmp_path, "sample")
    spills = in_memory < len(unsorted) or in_memory_bytes < sum(map(len, unsorted))
    assert isinstance(result, LineFile if spills else LineList)
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


def test_blocks_are_the_lines_cut_only_after_a_newline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writers split blocks, not lines: every block must end a line, and the blocks
    together must be the lines, in a file or in memory."""
    monkeypatch.setattr(lines_module, "READ_BUFFER", 50)  # several lines a block, not all
    lines = sorted(set(sample_lines()))
    path = tmp_path / "sample.sorted"
    path.write_bytes(b"".join(lines))
    for source in (LineList(lines), LineFile(path, len(lines))):
        blocks = list(source.blocks())
        assert 1 < len(blocks) < len(lines), type(source)
        assert all(block.endswith(b"\n") for block in blocks)
        assert b"".join(blocks) == b"".join(lines)


def test_a_file_without_a_final_newline_keeps_its_last_line(tmp_path: Path) -> None:
    path = tmp_path / "lines"
    path.write_bytes(b"a\nbb\nccc")
    with path.open("rb") as file:
        assert list(whole_lines(file, 2)) == [b"a\n", b"bb\n", b"ccc"]


def jsonld_of(triples: list[ox.Triple], workdir: Path) -> bytes:
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    lines = LineList(sorted(text.splitlines(keepends=True)))
    return b"".join(formats.jsonld(lines, workdir))


RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
XSD = "http://www.w3.org/2001/XMLSchema#"
SCHOOL = ox.NamedNode("https://w3id.org/kzcn/id/school")
# Text JSON escapes (quote, backslash, controls) or keeps (U+2028, U+0085, \x1c: line breaks
# to str.splitlines), values of every kind, and IRIs whose prefixed names sort differently
# from their lines.
TRICKY = [
    ox.Triple(SCHOOL, RDF_TYPE, ox.NamedNode("https://w3id.org/kzcn/ontology#School")),
    ox.Triple(SCHOOL, RDF_TYPE, ox.NamedNode("https://schema.org/Organization")),
    ox.Triple(SCHOOL, RDF_TYPE, ox.Literal("not a class")),
    ox.Triple(SCHOOL, LABEL, ox.Literal('Quote " back\\slash\nnew\ttab\r', language="kk")),
    ox.Triple(SCHOOL, LABEL, ox.Literal("中哈 \u0001 \u2028 \u0085 \x1c plain")),
    ox.Triple(SCHOOL, LABEL, ox.Literal("Атырау", language="kk")),
    ox.Triple(SCHOOL, LABEL, ox.Literal("Atyrau", language="en")),
    ox.Triple(SCHOOL, LABEL, ox.Literal("7", datatype=ox.NamedNode(f"{XSD}integer"))),
    ox.Triple(SCHOOL, LABEL, ox.Literal("07", datatype=ox.NamedNode(f"{XSD}decimal"))),
    ox.Triple(SCHOOL, LABEL, ox.Literal("x\\y", datatype=ox.NamedNode("https://ex.org/dt"))),
    ox.Triple(SCHOOL, LABEL, ox.NamedNode("https://ex.org/z")),
    ox.Triple(SCHOOL, ox.NamedNode("https://ex.org/p"), ox.BlankNode("a1")),
    ox.Triple(SCHOOL, ox.NamedNode("https://ex.org/p"), ox.NamedNode("https://w3id.org/kzcn/id/a")),
    ox.Triple(ox.BlankNode("a1"), LABEL, ox.Literal("Атырау", language="kk")),
    ox.Triple(ox.NamedNode("https://w3id.org/kzcn/id/school/x"), LABEL, ox.Literal("x")),
    ox.Triple(ox.NamedNode("https://w3id.org/kzcn/id/school-y"), LABEL, ox.Literal("y")),
    ox.Triple(ox.NamedNode("https://ex.org/a"), LABEL, ox.Literal("a")),
]


def test_the_jsonld_document_is_json_dumps_of_itself_in_canonical_order(tmp_path: Path) -> None:
    """The writer lays JSON out itself: the bytes must be what json.dumps(indent=1,
    sort_keys=True, ensure_ascii=False) writes of the same document, with the nodes sorted by
    @id and each value list sorted by its values' sorted items (content decides the order)."""
    document = jsonld_of(TRICKY, tmp_path)
    parsed = json.loads(document)
    expected = json.dumps(parsed, sort_keys=True, ensure_ascii=False, indent=1) + "\n"
    assert document.decode("utf-8") == expected
    nodes = parsed["@graph"]
    assert [node["@id"] for node in nodes] == sorted(node["@id"] for node in nodes)
    assert len(nodes) == 5
    for node in nodes:
        for name, values in node.items():
            if isinstance(values, list):
                keys = [v if isinstance(v, str) else sorted(v.items()) for v in values]
                assert keys == sorted(keys), (node["@id"], name)


def test_jsonld_written_from_line_text_reads_back_as_the_lines(tmp_path: Path) -> None:
    """The JSON-LD writer works on the text of canonical lines: escaped lexical forms, typed,
    language-tagged and plain literals, blank nodes and an rdf:type whose object is a literal
    must all read back as the same graph."""
    written = rdflib.Graph().parse(data=jsonld_of(TRICKY, tmp_path), format="json-ld")
    text = ox.serialize(TRICKY, format=ox.RdfFormat.N_TRIPLES)
    assert isomorphic(written, rdflib.Graph().parse(data=text, format="nt"))


def test_turtle_written_from_line_text_reads_back_as_the_lines() -> None:
    text = ox.serialize(TRICKY, format=ox.RdfFormat.N_TRIPLES)
    lines = LineList(sorted(text.splitlines(keepends=True)))
    turtle = b"".join(formats.turtle(lines))
    written = rdflib.Graph().parse(data=turtle, format="turtle")
    assert isomorphic(written, rdflib.Graph().parse(data=text, format="nt"))
