"""The streaming reasoner (server/build/stream_rules.py) against its in-store twin
(rules.materialize): byte for byte the same sorted lines of the inferred graph — the lines the
scalable build publishes — on the real data, on a generated ~10^4-triple project, and on small
ontologies that make each rule fire. test_scalable.py checks both against owlrl."""

from itertools import pairwise
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal

from server.build import scalable, stream_rules
from server.build.lines import restore_tag_case, sort_file
from server.build.rules import (
    DATA_GRAPH,
    INFERRED_GRAPH,
    ONTOLOGY_GRAPH,
    UnsupportedVocabulary,
    materialize,
)
from server.build.sources import rdf_files
from server.build.stream_rules import Inference, infer_lines
from server.config import PACKAGE_ROOT, Paths, paths_from_env
from server.kazakh import kk_latin

from .test_scalable import SCHEMA_FRAGMENT, generate_project

# --------------------------------------------------------------------------- comparing


def parse_like_the_build(
    ontology: list[Path], data: list[Path], workdir: Path
) -> tuple[ox.Store, dict[str, Path]]:
    """A Store holding the files, and their parsed N-Triples, as scalable.parse_into makes them."""
    store = ox.Store()
    parsed = {"ontology": workdir / "ontology.nt", "data": workdir / "data.nt"}
    for name, files, graph in (("ontology", ontology, ONTOLOGY_GRAPH), ("data", data, DATA_GRAPH)):
        scalable.parse_files_to(store, files, graph, parsed[name])
    return store, parsed


def materialized_lines(store: ox.Store, workdir: Path) -> bytes:
    """materialize's inferred graph as the scalable build published it before streaming: the
    store's dump, language tags in their case, sorted by GNU sort."""
    materialize(store)
    unsorted = workdir / "materialized.unsorted"
    store.dump(unsorted, format=ox.RdfFormat.N_TRIPLES, from_graph=INFERRED_GRAPH)
    return sorted_in_tag_case(unsorted, workdir)


def sorted_in_tag_case(path: Path, workdir: Path) -> bytes:
    """What the scalable build published from a file of lines before streaming."""
    unsorted = workdir / f"{path.name}.copy"
    unsorted.write_bytes(path.read_bytes())
    restore_tag_case(unsorted)
    return sort_file(unsorted, workdir / f"{path.name}.sorted", workdir).path.read_bytes()


def assert_same_lines(expected: bytes, got: bytes) -> None:
    missing = sorted(set(expected.splitlines()) - set(got.splitlines()))
    extra = sorted(set(got.splitlines()) - set(expected.splitlines()))
    assert expected == got, (
        f"{len(missing)} inferred by materialize only:\n"
        + "\n".join(line.decode() for line in missing[:30])
        + f"\n{len(extra)} inferred by the streaming reasoner only:\n"
        + "\n".join(line.decode() for line in extra[:30])
    )


def both(ontology: list[Path], data: list[Path], workdir: Path) -> Inference:
    """Run both reasoners on the files; assert the same lines; the streaming run."""
    store, parsed = parse_like_the_build(ontology, data, workdir)
    streamed = infer_lines(parsed, workdir)
    assert_same_lines(materialized_lines(store, workdir), streamed.lines.path.read_bytes())
    assert len(streamed.lines) == streamed.inferred
    for name, path in parsed.items():  # sorted as publishing needs them
        expected = sorted_in_tag_case(path, workdir)
        assert streamed.asserted[name].path.read_bytes() == expected
        assert len(streamed.asserted[name]) == expected.count(b"\n")
    return streamed


def write_project(folder: Path, ontology: str, data: str) -> tuple[list[Path], list[Path]]:
    files = []
    for name, text in (("ontology", ontology), ("data", data)):
        path = folder / f"{name}.ttl"
        path.write_text(PREFIXES + text, encoding="utf-8")
        files.append([path])
    return files[0], files[1]


PREFIXES = """
@prefix k: <https://w3id.org/kzcn/ontology#> . @prefix i: <https://w3id.org/kzcn/id/x/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> . @prefix ex: <http://example.org/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""

# --------------------------------------------------------------------------- real and generated


def test_the_real_data(tmp_path: Path) -> None:
    paths = paths_from_env(PACKAGE_ROOT)
    streamed = both(rdf_files(paths.ontology), rdf_files(paths.data), tmp_path)
    assert streamed.inferred > 500
    assert streamed.passes == 1, "the data entails no schema triple"
    inferred = streamed.lines.path.read_text(encoding="utf-8")
    assert "@kk-Latn ." in inferred and "@kk-latn" not in inferred  # tags in BCP 47 case
    assert "/ontology#partner>" in inferred


def test_a_generated_project(tmp_path: Path) -> None:
    root = generate_project(tmp_path / "generated")
    streamed = both(rdf_files(root / "ontology"), rdf_files(root / "data"), tmp_path)
    assert streamed.inferred > 5_000


def test_repeats_are_removed_by_the_sort_alone(tmp_path: Path, monkeypatch) -> None:
    """Remembering recent conclusions only saves work: with a memory of one line, the same."""
    monkeypatch.setattr(stream_rules, "RECENT_LINES", 1)
    ontology, data = write_project(tmp_path, ONTOLOGY, CHAINS)
    both(ontology, data, tmp_path)


# --------------------------------------------------------------------------- each rule

# Subproperty chains with domains and ranges on the superproperties, an inverse reached through
# a subproperty, a symmetric subproperty, a subclass cycle (owl:equivalentClass), partners by
# asserted and by inverse party statements (SCHEMA_FRAGMENT says k:party is the inverse of
# k:partyTo), subjects of other datasets (derived triples not published), literals.
CHAINS = """
i:a k:p i:b . i:b k:p i:a . i:c k:s i:d . i:e k:r i:f . i:g k:rInv i:h . i:m k:t i:n .
i:u1 k:u i:u2 . i:o1 k:partyTo i:ag . i:o2 k:partyTo i:ag . i:ag k:party i:o3 , i:o1 .
ex:outside k:p i:a . i:a k:p ex:outside . i:z a k:A . ex:thing a k:B .
i:lit k:note "a value" , "7"^^xsd:integer .
"""
# SCHEMA_FRAGMENT and a subproperty with literal values.
ONTOLOGY = SCHEMA_FRAGMENT + "k:note rdfs:subPropertyOf k:comment . k:comment rdfs:domain k:Noted ."

LABELS = """
i:z rdfs:label "Алма"@kk , "Alma"@kk-Latn , "Алма"@kk-Cyrl , "Apple"@kk , "Алма"@en ;
    skos:prefLabel "Қала \\"Алматы\\"\\nжаңа"@KK ; skos:altLabel "Ұя"@kk , "Ūia"@kk-latn .
ex:other rdfs:label "Көл"@kk . i:z k:mentionText "Тау"@kk .
"""

# Conclusions that are schema triples: the schema must grow, and the pass start again.
SCHEMA_FROM_DATA = """
k:Kind rdfs:subClassOf owl:Class . k:narrower rdfs:subPropertyOf rdfs:subClassOf .
k:kind rdfs:subPropertyOf rdf:type . k:makesSymmetric rdfs:range owl:SymmetricProperty .
"""
# The third pass: k:narrower becomes symmetric in the first, which in the second turns
# k:M's subclass link around.
DATA_MAKING_SCHEMA = """
k:X a k:Kind . k:Y k:narrower k:X . i:x k:kind k:Y . i:y k:kind k:X .
i:q1 k:makesSymmetric k:w , k:narrower . i:w1 k:w i:w2 .
k:Z rdfs:subClassOf k:Y . i:zz a k:Z . k:M k:narrower k:N . i:m a k:N .
"""


@pytest.mark.parametrize(
    ("ontology", "data", "passes"),
    [
        (ONTOLOGY, CHAINS, 1),
        (SCHEMA_FRAGMENT, LABELS, 1),
        (SCHEMA_FROM_DATA, DATA_MAKING_SCHEMA, 3),
        ("", ONTOLOGY + CHAINS, 1),  # the whole schema in the data files
    ],
    ids=["rules", "kk-Latn labels", "schema from data", "schema in data"],
)
def test_each_rule_as_materialize(tmp_path: Path, ontology: str, data: str, passes: int) -> None:
    streamed = both(*write_project(tmp_path, ontology, data), tmp_path)
    assert streamed.passes == passes


def test_what_the_rules_give_on_small_examples(tmp_path: Path) -> None:
    """Beyond agreeing with materialize: the conclusions each rule is for are there."""
    lines = both(*write_project(tmp_path, ONTOLOGY, CHAINS + LABELS), tmp_path)
    got = set(lines.lines.path.read_text(encoding="utf-8").splitlines())
    x, k = "https://w3id.org/kzcn/id/x/", "https://w3id.org/kzcn/ontology#"
    expected = {
        f"<{x}a> <{k}r> <{x}b> .",  # prp-spo1, twice
        f"<{x}b> <{k}rInv> <{x}a> .",  # prp-inv1 on a subproperty's statement
        f"<{x}d> <{k}s> <{x}c> .",  # prp-symp
        f"<{x}a> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{k}B> .",  # prp-dom
        f"<{x}z> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{k}C> .",  # cax-sco
        f"<{k}A> <http://www.w3.org/2002/07/owl#equivalentClass> <{k}C> .",  # scm-eqc2
        f"<{x}o1> <{k}partner> <{x}o2> .",  # kzcn-partner on inverse statements
        f"<{x}o3> <{k}partner> <{x}o1> .",
        f'<{x}lit> <{k}comment> "a value" .',  # a literal through a subproperty
        f"<{x}lit> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{k}Noted> .",
        '<http://example.org/other> <http://www.w3.org/2000/01/rdf-schema#label> "Köl"@kk-Latn .',
        f"<{x}z> <http://www.w3.org/2004/02/skos/core#prefLabel> "
        + '"Qala \\"Almaty\\"\\njaña"@kk-Latn .',
    }
    assert expected <= got, sorted(expected - got)
    assert not any(line.startswith("<http://example.org/outside>") for line in got)
    # a twin already asserted is not inferred again, whatever the case of its tag
    assert not any('"Alma"' in line or '"Ūia"' in line for line in got)
    assert not any(line.startswith(f"<{x}a> <{k}p> <{x}b>") for line in got)  # asserted


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        ('i:o1 k:rInv "a literal" .', "literal values.*ontology#rInv"),  # inverse, directly
        ('i:o1 k:p "a literal" .', "literal values.*ontology#r"),  # through subproperties
        ('i:o1 k:s "a literal" .', "literal values.*ontology#s"),  # symmetric
        ("i:o1 owl:sameAs i:o2 .", "owl:sameAs between our own IRIs"),
        ("i:o1 owl:sameAs owl:Nothing .", "owl#Nothing"),
        ("i:o1 a xsd:string .", "XMLSchema#string"),
        ("owl:sameAs rdfs:label 'same' .", "owl#sameAs"),
        ("k:A owl:disjointWith k:B .", "disjointWith"),
    ],
)
def test_refusals_as_materialize(tmp_path: Path, data: str, complaint: str) -> None:
    store, parsed = parse_like_the_build(*write_project(tmp_path, SCHEMA_FRAGMENT, data), tmp_path)
    with pytest.raises(UnsupportedVocabulary, match=complaint):
        materialize(store)
    with pytest.raises(UnsupportedVocabulary, match=complaint):
        infer_lines(parsed, tmp_path)


def test_an_external_identity_link_is_no_refusal(tmp_path: Path) -> None:
    data = "i:o1 owl:sameAs <http://www.wikidata.org/entity/Q1> ."
    both(*write_project(tmp_path, SCHEMA_FRAGMENT, data), tmp_path)


def test_a_partner_rule_feeding_itself_is_refused(tmp_path: Path) -> None:
    """materialize loops until nothing is new; the streaming reasoner refuses instead."""
    ontology = SCHEMA_FRAGMENT + "k:partner rdfs:subPropertyOf k:party ."
    _, parsed = parse_like_the_build(*write_project(tmp_path, ontology, CHAINS), tmp_path)
    with pytest.raises(UnsupportedVocabulary, match="partner rule feeds itself"):
        infer_lines(parsed, tmp_path)


# --------------------------------------------------------------------------- in the build


def test_the_scalable_build_reasons_by_streaming(tmp_path: Path) -> None:
    """check_in's reason step: its lines are what sorted_graph publishes, the asserted graphs
    as parsed and the inferred graph; validation reads the asserted graphs only, so the
    inferred one stays out of the validation store."""
    found = scalable.inputs(Paths(root=PACKAGE_ROOT, build_dir=tmp_path))
    workspace = scalable.Workspace(ox.Store(), tmp_path)
    checked = scalable.check_in(workspace, found, lambda seconds, name, step: step())
    assert checked.validation.conforms
    lines = scalable.sorted_graph(workspace, "inferred")
    assert len(lines) == checked.inferred_triples > 0
    assert len(scalable.sorted_graph(workspace, "data")) == checked.asserted_triples
    assert not any(workspace.parsed(name).exists() for name in scalable.ASSERTED)
    assert INFERRED_GRAPH not in set(workspace.store.named_graphs())
    published = {
        ox.Triple(quad.subject, quad.predicate, quad.object)
        for quad in ox.parse(lines.open(), format=ox.RdfFormat.N_TRIPLES)
    }
    assert len(published) == len(lines)  # distinct, and each line a triple


# --------------------------------------------------------------------------- in parts


@pytest.mark.parametrize("workers", [1, 3])
def test_parts_read_by_other_processes_give_the_same(tmp_path: Path, monkeypatch, workers) -> None:
    """Big input is read in parts by spawned processes; small input here, forced to."""
    monkeypatch.setattr(stream_rules, "_workers", lambda parsed: workers)
    paths = paths_from_env(PACKAGE_ROOT)
    streamed = both(rdf_files(paths.ontology), rdf_files(paths.data), tmp_path)
    assert not list(tmp_path.glob("reason-*")), "the parts' files are removed"
    assert streamed.passes == 1
    (tmp_path / "again").mkdir()
    ontology, data = write_project(tmp_path / "again", SCHEMA_FROM_DATA, DATA_MAKING_SCHEMA)
    assert both(ontology, data, tmp_path / "again").passes == 3


def test_parts_cut_files_after_a_newline(tmp_path: Path) -> None:
    lines = [f"<urn:s{index}> <urn:p> {'<urn:o>' * (index % 7)} .\n" for index in range(300)]
    path = tmp_path / "lines.nt"
    path.write_text("".join(lines), encoding="utf-8")
    content = path.read_bytes()
    for count in (1, 2, 3, 7, 299, 400):
        shares = stream_rules.parts({"data": path}, count)
        assert [share.index for share in shares] == list(range(count))
        ranges = [share.ranges[0] for share in shares]
        assert ranges[0][2] == 0 and ranges[-1][3] == len(content)
        for (_, _, _, end), (_, _, start, _) in pairwise(ranges):
            assert end == start and (start == 0 or content[start - 1 : start] == b"\n")
        pieces = [content[start:end] for _, _, start, end in ranges]
        assert sorted(
            line for piece in pieces for line in piece.splitlines(keepends=True)
        ) == sorted(line.encode() for line in lines)


def test_labels_are_transliterated_as_kk_latin_does(checked) -> None:
    """latin_text caches kk_latin per space-separated token: the same text, every time."""
    texts = {str(label) for _, _, label in checked.sources.data if isinstance(label, Literal)}
    texts |= {"ЯНА  ЖОЛ", " Қала\tАлматы\nжаңа ", "", " ", "Ә-Б С", "ӘЛ-ФАРАБИ атындағы 2025ж."}
    assert len(texts) > 300
    for text in sorted(texts):
        assert stream_rules.latin_text(text) == kk_latin(text), text


def test_a_failing_process_fails_the_reasoning(tmp_path: Path) -> None:
    """What goes wrong in a process of read_parts is raised here, with its traceback."""
    schema = stream_rules.Schema.closed([])
    missing = stream_rules.Part(1, (("data", tmp_path / "missing.nt", 0, 10),))
    with pytest.raises(RuntimeError, match=r"reasoning process failed(?s:.)*FileNotFoundError"):
        stream_rules._finished(*stream_rules._start(schema, missing, tmp_path))
    assert not list(tmp_path.glob("reason-part-*"))
