"""The benchmark generator (bench/generate.py): a ~10^4-triple synthetic project builds and
validates with the project's own pipeline, hits its size, is reproducible, keeps the data
contract's main rules, and answers every example query.

One generation and one `check()` serve the whole module (the check is most of its ~20 s)."""

import hashlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pyoxigraph as ox
import pytest
from rdflib import RDF, Graph, Literal, URIRef

from server.build.pipeline import Checked, check
from server.config import PACKAGE_ROOT, Paths
from server.vocab import GRAPHS, KZCN, PREFIXES

TARGET = 10_000
COUNTRY_KAZAKHSTAN = URIRef("https://w3id.org/kzcn/id/country/kazakhstan")


def load_generator() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the file itself.
    path = PACKAGE_ROOT / "bench" / "generate.py"
    spec = importlib.util.spec_from_file_location("bench_generate", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


generator = load_generator()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    generator.generate(TARGET, out, seed=1)
    return out


@pytest.fixture(scope="module")
def checked(root: Path) -> Checked:
    return check(Paths(root=root, build_dir=root / "build"))


@pytest.fixture(scope="module")
def data(checked: Checked) -> Graph:
    return checked.sources.data


def tree_digests(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_it_builds_and_validates(checked: Checked) -> None:
    assert checked.validation.conforms, checked.validation.text()


def test_size_is_within_five_percent_and_nothing_is_written_twice(root: Path, data: Graph) -> None:
    assert abs(len(data) / TARGET - 1) <= 0.05, len(data)
    written = sum(
        1
        for path in (root / "data").glob("*.ttl")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith(("#", "@prefix"))
    )
    assert written == len(data), "a triple was written twice (the graph counts it once)"


def test_the_project_root_is_complete_and_marked_synthetic(root: Path) -> None:
    for folder in ("ontology", "shapes"):
        for original in (PACKAGE_ROOT / folder).glob("*.ttl"):
            assert (root / folder / original.name).read_bytes() == original.read_bytes()
    queries = sorted(path.name for path in (PACKAGE_ROOT / "queries").glob("*.rq"))
    assert sorted(path.name for path in (root / "queries").glob("*.rq")) == queries
    data_files = sorted((root / "data").glob("*.ttl"))
    assert len(data_files) >= 4
    for path in data_files:
        assert path.read_text(encoding="utf-8").startswith(generator.MARKER), path.name


def test_same_seed_same_bytes_other_seed_other_data(root: Path, tmp_path: Path) -> None:
    generator.generate(TARGET, tmp_path / "again", seed=1)
    generator.generate(TARGET, tmp_path / "other", seed=2)
    first = {k: v for k, v in tree_digests(root).items() if not k.startswith("build/")}
    assert tree_digests(tmp_path / "again") == first
    other = tree_digests(tmp_path / "other")
    assert other.keys() >= {k for k in first if not k.startswith("data/")}
    data_files = [k for k in first if k.startswith("data/")]
    assert any(other.get(k) != first[k] for k in data_files)


def test_every_agreement_has_two_parties_one_kazakh(data: Graph) -> None:
    agreements = set(data.subjects(KZCN.party, None))
    assert len(agreements) > 100
    for agreement in agreements:
        parties = set(data.objects(agreement, KZCN.party))
        assert len(parties) >= 2, agreement
        assert any((p, KZCN.country, COUNTRY_KAZAKHSTAN) in data for p in parties), agreement


def test_partner_is_never_asserted_only_inferred(checked: Checked) -> None:
    assert not any(checked.sources.data.triples((None, KZCN.partner, None)))
    assert any(checked.inferred.triples((None, KZCN.partner, None)))


def test_source_paragraphs_stay_within_the_article(data: Graph) -> None:
    paragraphs = {int(o) for o in data.objects(None, KZCN.sourceParagraph)}
    assert paragraphs <= set(range(1, 13))
    assert all(isinstance(o, Literal) for o in data.objects(None, KZCN.sourceParagraph))


def test_every_kind_is_present(data: Graph) -> None:
    types = set(data.objects(None, RDF.type))
    kinds = [
        "HigherEducationInstitution",
        "ResearchInstitute",
        "Company",
        "UnnamedParty",
        "NewsAgency",
        "Agreement",
        "Memorandum",
        "CooperationAgreement",
        "SupplementaryAgreement",
        "Alliance",
        "JointLaboratory",
        "ResearchCentre",
        "EngineeringSchool",
        "BranchCampus",
        "AcademicProgramme",
        "DoubleDegreeProgramme",
        "StateVisit",
        "Event",
        "Country",
        "ResearchDomain",
        "CountClaim",
        "ExpectedOutcome",
    ]
    assert [k for k in kinds if KZCN[k] not in types] == []
    statuses = set(data.objects(None, KZCN.status))
    assert {KZCN[s] for s in ("Signed", "Concluded", "Agreed", "Planned")} <= statuses


@pytest.fixture(scope="module")
def store(checked: Checked) -> ox.Store:
    """The generated release as the server sees it: one named graph each, union by default."""
    store = ox.Store()
    graphs = {
        "ontology": checked.sources.ontology,
        "data": checked.sources.data,
        "inferred": checked.inferred,
    }
    for name, graph in graphs.items():
        store.load(
            graph.serialize(format="nt", encoding="utf-8"),
            format=ox.RdfFormat.N_TRIPLES,
            to_graph=ox.NamedNode(str(GRAPHS[name])),
        )
    return store


QUERIES = sorted(PACKAGE_ROOT.joinpath("queries").glob("*.rq"))


@pytest.mark.parametrize("name", [path.name for path in QUERIES])
def test_example_query_runs_and_answers(root: Path, store: ox.Store, name: str) -> None:
    text = (root / "queries" / name).read_text(encoding="utf-8")
    result = store.query(text, prefixes=PREFIXES, use_default_graph_as_union=True)
    if isinstance(result, ox.QueryBoolean):
        # The one question whose right answer is no: kzcn:partner is never asserted.
        assert bool(result) is (name != "is-partner-ever-asserted.rq")
        return
    rows = list(result)
    # The synthetic data is shaped like the real one, so every question has an answer.
    assert rows, f"{name}: no answer on the synthetic data"
