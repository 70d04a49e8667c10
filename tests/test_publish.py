"""Tests for the publish step (server.build.publish) on small synthetic graphs."""

import datetime
import gzip
import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import CancelledError
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, XSD, BNode, Dataset, Graph, Literal, Namespace
from rdflib.compare import isomorphic
from rdflib.namespace import OWL

from server.build import dataset_dumps
from server.build import publish as publish_module
from server.build.formats import nquads, trig
from server.build.lines import LineFile, LineList
from server.build.metadata import UnionStats, distribution_iri, partition_iri
from server.build.publish import current_release, publish
from server.build.server_files import server_files_alongside, things
from server.release import (
    MANIFEST_JSON,
    METADATA_TURTLE,
    NQUADS,
    RELEASE_FILES,
    REPORT_TURTLE,
    SERVER_FILES,
    STORE_DIR,
    TRIG,
    UNION_GRAPHS,
    UNION_JSONLD,
    UNION_NTRIPLES_GZ,
    UNION_TURTLE,
)
from server.vocab import DATASET, GRAPHS, ID, KZCN, SPDX, VOID

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Namespace("https://schema.org/")
SH = Namespace("http://www.w3.org/ns/shacl#")
VERSION = "0123abcd"
CREATED = datetime.date(2026, 1, 2)
KAZAKH = "Қазақстан–Қытай халықаралық инженерлік мектебі"
CHINESE = "中哈国际工程学校"

# One blank node shared by two graphs: it must stay one node in the union dumps.
ADDRESS = BNode()  # a random label in each process


def sample_graphs() -> dict[str, Graph]:
    school, atyrau = ID["school"], ID["org/atyrau-university"]  # the latter has no pname
    ontology = [
        (KZCN.School, RDF.type, OWL.Class),
        (KZCN.School, RDFS.label, Literal("Мектеп", lang="kk")),
        (KZCN.School, RDFS.label, Literal("School", lang="en")),
    ]
    data = [
        (school, RDF.type, KZCN.School),
        (school, RDFS.label, Literal(KAZAKH, lang="kk")),
        (school, RDFS.label, Literal(CHINESE, lang="zh")),
        (school, RDFS.label, Literal("Kazakhstan–China International School", lang="en")),
        (school, RDFS.comment, Literal('Quote " backslash \\ newline\nend')),
        (school, SCHEMA.foundingDate, Literal("2025-09-01", datatype=XSD.date)),
        # Equal values, different terms: rdflib's own serializers order these by insertion.
        (school, SCHEMA.numberOfStudents, Literal("1", datatype=XSD.integer)),
        (school, SCHEMA.numberOfStudents, Literal("1.0", datatype=XSD.decimal)),
        (school, SCHEMA.parentOrganization, atyrau),
        (school, SCHEMA.address, ADDRESS),
        (ADDRESS, SCHEMA.addressLocality, Literal("Атырау", lang="kk")),
        (atyrau, RDF.type, KZCN.School),
    ]
    inferred = [
        (school, RDF.type, SCHEMA.Organization),
        (atyrau, RDF.type, SCHEMA.Organization),
        (ADDRESS, RDF.type, SCHEMA.PostalAddress),
        (school, RDF.type, KZCN.School),  # also in data: counted once in the union
    ]
    return {
        name: _graph(triples)
        for name, triples in zip(UNION_GRAPHS, (ontology, data, inferred), strict=True)
    }


def sample_report() -> Graph:
    report, result = BNode(), BNode()
    return _graph(
        [
            (report, RDF.type, SH.ValidationReport),
            (report, SH.conforms, Literal(False)),
            (report, SH.result, result),
            (result, SH.focusNode, ID["school"]),
            (result, SH.resultMessage, Literal("Атауы жоқ")),
        ]
    )


def _graph(triples: list[tuple]) -> Graph:
    graph = Graph()
    for triple in set(triples):  # set order follows PYTHONHASHSEED: insertion order varies
        graph.add(triple)
    return graph


def union_graph(graphs: dict[str, Graph]) -> Graph:
    union = Graph()
    for graph in graphs.values():
        for triple in graph:
            union.add(triple)
    return union


def publish_sample(build_dir: Path) -> Path:
    """Entry point for the subprocesses of the determinism test, too."""
    return publish(build_dir, sample_graphs(), sample_report(), VERSION, CREATED)


def read_file(release: Path, name: str) -> bytes:
    data = (release / name).read_bytes()
    return gzip.decompress(data) if name.endswith(".gz") else data


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return publish_sample(tmp_path / "build")


@pytest.fixture
def metadata(release: Path) -> Graph:
    return Graph().parse(release / METADATA_TURTLE, format="turtle")


def test_release_has_every_file_and_is_current(release: Path) -> None:
    assert release.name == f"{VERSION}-1"
    for file in RELEASE_FILES:
        assert (release / file.name).is_file(), file.name
    assert (release / STORE_DIR).is_dir()
    assert current_release(release.parent.parent) == release


def test_dataset_dumps_hold_four_named_graphs(release: Path) -> None:
    graphs = sample_graphs()
    manifest = json.loads(read_file(release, MANIFEST_JSON))
    for name, fmt in ((TRIG, "trig"), (NQUADS, "nquads")):
        dataset = Dataset().parse(data=read_file(release, name), format=fmt)
        named = {g.identifier: g for g in dataset.graphs() if len(g)}
        assert set(named) == set(GRAPHS.values()), name
        for graph_name, iri in GRAPHS.items():
            assert len(named[iri]) == manifest["graphs"][graph_name]["triples"]
        for graph_name in UNION_GRAPHS:
            assert isomorphic(named[GRAPHS[graph_name]], graphs[graph_name]), (name, graph_name)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [(UNION_TURTLE, "turtle"), (UNION_NTRIPLES_GZ, "nt"), (UNION_JSONLD, "json-ld")],
)
def test_union_dumps_are_the_union(release: Path, name: str, fmt: str) -> None:
    parsed = Graph().parse(data=read_file(release, name), format=fmt)
    expected = union_graph(sample_graphs())
    assert len(parsed) == len(expected) == 18
    assert isomorphic(parsed, expected)


def test_a_strict_parser_reads_every_rdf_file(release: Path) -> None:
    manifest = json.loads(read_file(release, MANIFEST_JSON))
    graphs = manifest["graphs"]
    expected = {
        UNION_TURTLE: manifest["union_triples"],
        UNION_NTRIPLES_GZ: manifest["union_triples"],
        UNION_JSONLD: manifest["union_triples"],
        TRIG: sum(g["triples"] for g in graphs.values()),
        NQUADS: sum(g["triples"] for g in graphs.values()),
        METADATA_TURTLE: graphs["metadata"]["triples"],
        REPORT_TURTLE: len(sample_report()),
    }
    for file in RELEASE_FILES:
        if file.name in expected:
            rdf_format = ox.RdfFormat.from_media_type(file.media_type)
            quads = ox.parse(read_file(release, file.name), format=rdf_format)
            assert len(list(quads)) == expected[file.name], file.name


@pytest.mark.parametrize("name", [UNION_TURTLE, UNION_NTRIPLES_GZ, UNION_JSONLD, TRIG, NQUADS])
def test_non_ascii_text_is_written_literally(release: Path, name: str) -> None:
    data = read_file(release, name)
    assert KAZAKH.encode() in data
    assert CHINESE.encode() in data
    assert b"\\u04" not in data.lower()


def test_metadata_states_the_kazakh_title_literally(release: Path) -> None:
    title = "Қазақстан–Қытай академиялық ынтымақтастығының білім графы"
    assert title.encode() in read_file(release, METADATA_TURTLE)


def test_manifest_checksums_match_files(release: Path) -> None:
    manifest = json.loads(read_file(release, MANIFEST_JSON))
    expected = {f.name for f in RELEASE_FILES} - {MANIFEST_JSON}
    assert set(manifest["files"]) == expected
    for name, entry in manifest["files"].items():
        data = (release / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name
        assert entry["bytes"] == len(data), name
    assert manifest["version"] == VERSION
    assert manifest["created"] == CREATED.isoformat()
    assert manifest["union_triples"] == 18


def test_metadata_counts_match_the_union(metadata: Graph) -> None:
    union = union_graph(sample_graphs())
    assert metadata.value(DATASET, VOID.triples).toPython() == len(union)
    assert metadata.value(DATASET, VOID.distinctSubjects).toPython() == len(set(union.subjects()))
    entities = {
        cls: len(set(union.subjects(RDF.type, cls))) for cls in set(union.objects(None, RDF.type))
    }
    assert metadata.value(DATASET, VOID.classes).toPython() == len(entities)
    partitions = set(metadata.objects(DATASET, VOID.classPartition))
    assert partitions == {partition_iri("class", cls) for cls in entities}
    for cls, count in entities.items():
        partition = partition_iri("class", cls)
        assert metadata.value(partition, VOID["class"]) == cls
        assert metadata.value(partition, VOID.entities).toPython() == count
    property_triples = sum(
        metadata.value(p, VOID.triples).toPython()
        for p in metadata.objects(DATASET, VOID.propertyPartition)
    )
    assert property_triples == len(union)
    for name, graph in sample_graphs().items():
        assert metadata.value(GRAPHS[name], VOID.triples).toPython() == len(graph)


def test_metadata_checksums_match_the_union_dumps(release: Path, metadata: Graph) -> None:
    for name in (UNION_TURTLE, UNION_NTRIPLES_GZ, UNION_JSONLD, REPORT_TURTLE):
        data = (release / name).read_bytes()
        checksum = metadata.value(distribution_iri(name), SPDX.checksum)
        assert str(metadata.value(checksum, SPDX.checksumValue)) == hashlib.sha256(data).hexdigest()
    assert not any(metadata.triples((distribution_iri(TRIG), SPDX.checksum, None)))
    assert not any(isinstance(term, BNode) for triple in metadata for term in triple)


def test_store_reopens_read_only_with_the_union(release: Path) -> None:
    store = ox.Store.read_only(str(release / STORE_DIR))
    expected = union_graph(sample_graphs())
    metadata = Graph().parse(release / METADATA_TURTLE, format="turtle")
    everything = len(expected) + len(metadata)  # the two share no triple
    # DISTINCT: pyoxigraph 0.5 yields a triple once per graph holding it in the union default
    # graph (oxigraph issue #1919), and data and inferred share one triple here.
    query = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT * WHERE { ?s ?p ?o } }"
    (row,) = store.query(query, use_default_graph_as_union=True)
    assert int(row["n"].value) == everything
    (row,) = store.query(query)
    assert int(row["n"].value) == 0  # the default graph itself stays empty
    assert {g.value for g in store.named_graphs()} == {str(iri) for iri in GRAPHS.values()}


def test_output_is_identical_across_processes(tmp_path: Path) -> None:
    releases = []
    for seed in ("1", "2"):
        build_dir = tmp_path / f"build-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        script = "import sys; from pathlib import Path; from tests.test_publish import *; "
        script += "print(publish_sample(Path(sys.argv[1])))"
        run = subprocess.run(
            [sys.executable, "-c", script, str(build_dir)],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        releases.append(Path(run.stdout.strip()))
    for file in RELEASE_FILES:
        first, second = (r / file.name for r in releases)
        assert first.read_bytes() == second.read_bytes(), file.name


# The JSON-LD writer runs in the main thread, gzip and the store each in a thread of their own:
# a failure in any of them must fail the publish.
@pytest.mark.parametrize("broken", ["jsonld", "_gzip", "load_store"])
def test_failed_publish_keeps_the_previous_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    build_dir = tmp_path / "build"
    first = publish_sample(build_dir)

    def broken_writer(*_: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(publish_module, broken, broken_writer)
    with pytest.raises(RuntimeError, match="disk full"):
        publish_sample(build_dir)
    assert current_release(build_dir) == first
    assert [p.name for p in (build_dir / "releases").iterdir()] == [first.name]
    assert not [p for p in build_dir.iterdir() if p.name.startswith(".")]


def test_when_a_dump_and_the_store_both_fail_neither_error_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(message: str):
        def fail(*_: object) -> None:
            raise OSError(message)

        return fail

    monkeypatch.setattr(publish_module, "load_store", broken("store broken"))
    monkeypatch.setattr(publish_module, "jsonld", broken("disk full"))
    with pytest.raises(OSError, match="disk full") as raised:
        publish_sample(tmp_path / "build")
    assert "store broken" in "\n".join(raised.value.__notes__)
    assert not (tmp_path / "build" / "current").exists()


def watch_store(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """The errors the store's thread ends with, from now on."""
    seen: list[BaseException] = []
    load_store = publish_module.load_store

    def watched_store(*args: object) -> None:
        try:
            load_store(*args)
        except BaseException as error:
            seen.append(error)
            raise

    monkeypatch.setattr(publish_module, "load_store", watched_store)
    return seen


def test_a_failed_dump_stops_the_store_waiting_for_the_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store is built in a thread that waits for the metadata graph at its end: when a
    dump fails first, that wait ends with CancelledError (no thread left blocked) and the
    dump's own error is the one raised."""
    seen = watch_store(monkeypatch)

    def broken_writer(*_: object) -> bytes:
        raise RuntimeError("disk full")

    monkeypatch.setattr(dataset_dumps, "trig", broken_writer)  # after the metadata is known
    with pytest.raises(RuntimeError, match="disk full"):
        publish_sample(tmp_path / "late")
    assert seen == []  # the store had its metadata and was complete
    monkeypatch.setattr(publish_module, "jsonld", broken_writer)  # before
    with pytest.raises(RuntimeError, match="disk full"):
        publish_sample(tmp_path / "early")
    assert [type(error) for error in seen] == [CancelledError]
    assert not (tmp_path / "early" / "current").exists()


def test_pruning_keeps_the_new_and_the_previous_release(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    assert current_release(build_dir) is None
    published = [publish_sample(build_dir) for _ in range(3)]
    assert [p.name for p in published] == [f"{VERSION}-{n}" for n in (1, 2, 3)]
    remaining = sorted(p.name for p in (build_dir / "releases").iterdir())
    assert remaining == [published[1].name, published[2].name]
    assert current_release(build_dir) == published[2]
    assert os.readlink(build_dir / "current") == f"releases/{published[2].name}"


def test_the_server_files_child_failing_fails_the_block(tmp_path):
    """The search index and home figures of a large union are written by a child process:
    its failure is the build's, with the child's own message."""
    missing = LineFile(tmp_path / "no-such-union.sorted", 1)
    failing = server_files_alongside(tmp_path, missing)
    with pytest.raises(RuntimeError, match=r"server files failed.*No such file"), failing:
        pass


def test_the_server_files_child_writes_what_the_parent_would(tmp_path):
    lines = sorted(
        f'<{ID}organization/o{i}> <{RDFS.label}> "University {i}"@en .\n'.encode()
        for i in range(50)
    )
    union = tmp_path / "union.sorted"
    union.write_bytes(b"".join(lines))
    (tmp_path / "child").mkdir()
    (tmp_path / "parent").mkdir()
    with server_files_alongside(tmp_path / "child", LineFile(union, len(lines))) as child:
        pass
    with server_files_alongside(tmp_path / "parent", LineList(lines)) as parent:
        pass
    assert child["files"] == parent["files"] and set(child["files"]) == set(SERVER_FILES)
    for name in SERVER_FILES:
        assert (tmp_path / "child" / name).read_bytes() == (tmp_path / "parent" / name).read_bytes()


def _sample_line_files(directory: Path) -> dict[str, LineFile]:
    """The sample's content graphs as sorted line files, as the scalable build has them."""
    graphs = sample_graphs()
    named = {}
    for name in UNION_GRAPHS:
        (lines,) = publish_module._canonical_lines([graphs[name]])
        (directory / name).write_bytes(b"".join(lines))
        named[name] = LineFile(directory / name, len(lines))
    return named


def test_the_dataset_child_writes_what_the_whole_files_would(tmp_path):
    """dataset.trig and dataset.nq written ahead by the child, the metadata graph added last,
    are the files written at once from all four graphs; its statistics are the parent's."""
    named = _sample_line_files(tmp_path)
    union_lines = sorted({line for lines in named.values() for line in lines})
    union = tmp_path / "union.sorted"
    union.write_bytes(b"".join(union_lines))
    metadata = LineList(
        sorted(f'<{iri}> <{RDFS.label}> "m" .\n'.encode() for iri in (ID, DATASET, "urn:z"))
    )
    (tmp_path / "child").mkdir()
    alongside = dataset_dumps.dataset_dumps_alongside(
        tmp_path / "child", LineFile(union, len(union_lines)), named
    )
    with alongside as child:
        assert isinstance(child, dataset_dumps.Child)
        stats = child.stats()
        digests = child.finish(metadata)
    assert stats == UnionStats.count(LineList(union_lines), {n: len(g) for n, g in named.items()})
    everything = {**named, "metadata": metadata}
    for name, whole in [(TRIG, trig(everything)), (NQUADS, nquads(everything))]:
        written = (tmp_path / "child" / name).read_bytes()
        assert written == b"".join(whole), name
        assert digests[name].sha256 == hashlib.sha256(written).hexdigest()
        assert digests[name].size == len(written)


def test_the_dataset_child_failing_fails_the_block(tmp_path):
    named = _sample_line_files(tmp_path)
    missing = LineFile(tmp_path / "no-such-union.sorted", 1)
    failing = dataset_dumps.dataset_dumps_alongside(tmp_path, missing, named)
    with (
        pytest.raises(RuntimeError, match=r"dataset's files failed.*No such file"),
        failing as child,
    ):
        child.stats()


def test_the_dataset_child_is_stopped_when_the_block_fails(tmp_path):
    named = _sample_line_files(tmp_path)
    union = next(iter(named.values()))
    with (
        pytest.raises(KeyboardInterrupt),
        dataset_dumps.dataset_dumps_alongside(tmp_path, union, named) as child,
    ):
        raise KeyboardInterrupt
    assert child.process.returncode is not None  # ended (killed, or done), not left running


def test_the_build_children_run_the_parents_code_wherever_it_runs(tmp_path, monkeypatch):
    """A child process (`python -m server.build.…`) started from a folder holding another
    `server` package (another checkout, say) still runs this code, not that one."""
    other = tmp_path / "elsewhere"
    (other / "server" / "build").mkdir(parents=True)
    for package in (other / "server", other / "server" / "build"):
        (package / "__init__.py").write_text("raise ImportError('the wrong checkout')\n")
    monkeypatch.chdir(other)
    named = _sample_line_files(tmp_path)
    union = next(iter(named.values()))
    with server_files_alongside(tmp_path, union) as served:
        pass
    assert set(served["files"]) == set(SERVER_FILES)
    with dataset_dumps.dataset_dumps_alongside(tmp_path, union, named) as child:
        assert child.stats().triples == len(union)


def test_the_list_of_things_names_each_subject_of_ours_once():
    lines = [
        f'<{ID}a> <{RDFS.label}> "A" .\n'.encode(),
        f"<{ID}a> <{RDF.type}> <{KZCN.Agreement}> .\n".encode(),
        f'<{ID}a/b> <{RDFS.label}> "B" .\n'.encode(),
        f'<{KZCN.Agreement}> <{RDFS.label}> "Agreement" .\n'.encode(),
    ]
    # Sorted lines: "<…a/b> " comes before "<…a> " ('/' < '>').
    assert things(sorted(lines)) == f"{ID}a/b\n{ID}a\n".encode()


def test_a_release_left_unfinished_is_refused_and_its_store_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """release_writer starts the store before the build knows whether it will publish: a
    block that ends without `finish` (a failed validation is an error before it) fails, and
    the store's thread, waiting for the metadata, ends with CancelledError."""
    seen = watch_store(monkeypatch)
    graphs = sample_graphs()
    lines = {name: LineList(publish_module._canonical_lines([graphs[name]])[0]) for name in graphs}
    unfinished = publish_module.release_writer(tmp_path, lines)
    with pytest.raises(RuntimeError, match="left unfinished"), unfinished:
        pass
    assert [type(error) for error in seen] == [CancelledError]
    assert not (tmp_path / MANIFEST_JSON).exists()
