"""The two build engines (issue #5): `--engine scalable` publishes exactly the release the
reference engine publishes — every file byte for byte, the store with the same graphs — on
the real data and on a generated ~10^4-triple project; and the command line chooses, reports
and refuses as it promises."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.build import scalable
from server.build.pipeline import build
from server.cli import main
from server.config import PACKAGE_ROOT, Paths
from server.release import RELEASE_FILES, current
from server.vocab import GRAPHS, ID, KZCN

from .conftest import edit

GENERATED_TRIPLES = 10_000
TIMING_LINE = re.compile(
    r"  parse \d+\.\d\d s, reason \d+\.\d\d s, validate \d+\.\d\d s, publish \d+\.\d\d s"
)


def build_both(root: Path, build_root: Path) -> tuple[Path, Path]:
    releases = []
    for engine in ("reference", "scalable"):
        built = build(Paths(root=root, build_dir=build_root / engine), engine)
        assert built.release == current(build_root / engine).path
        releases.append(built.release)
    return releases[0], releases[1]


def published_files(release: Path) -> dict[str, bytes]:
    """Every file of a release except the store, by path."""
    return {
        str(path.relative_to(release)): path.read_bytes()
        for path in sorted(release.rglob("*"))
        if path.is_file() and "store" not in path.relative_to(release).parts
    }


def store_quads(release: Path) -> set[str]:
    store = ox.Store.read_only(str(release / "store"))
    return {str(quad) for quad in store}


def assert_same_release(reference: Path, scalable: Path) -> None:
    expected, got = published_files(reference), published_files(scalable)
    assert sorted(got) == sorted(expected)
    assert {f.name for f in RELEASE_FILES} <= set(got)
    different = [name for name in expected if got[name] != expected[name]]
    assert not different, f"not byte-identical: {different}"
    assert store_quads(scalable) == store_quads(reference)


@pytest.fixture(scope="module")
def generated_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    script = PACKAGE_ROOT / "bench" / "generate.py"
    subprocess.run(
        [sys.executable, str(script), "--triples", str(GENERATED_TRIPLES), "--out", str(root)],
        check=True,
        capture_output=True,
    )
    return root


@pytest.mark.parametrize("store", ["in memory", "on disk"])
def test_the_engines_publish_the_same_release_of_the_real_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """Validating in a store in memory or on disk (what a large input gets) changes nothing
    published; the release's store holds the four graphs and no scratch graph."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1756771200")
    if store == "on disk":  # what a large input gets
        monkeypatch.setattr(scalable, "MEMORY_STORE_BYTES", 0)
    reference, built = build_both(PACKAGE_ROOT, tmp_path)
    assert_same_release(reference, built)
    store_ = ox.Store.read_only(str(built / "store"))
    assert {g.value for g in store_.named_graphs()} == {str(iri) for iri in GRAPHS.values()}


def test_the_engines_publish_the_same_release_of_a_generated_graph(
    generated_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1756771200")
    reference, scalable = build_both(generated_root, tmp_path)
    assert_same_release(reference, scalable)
    triples = len((scalable / "dataset.nq").read_bytes().splitlines())
    assert triples > GENERATED_TRIPLES


def test_the_cli_builds_with_the_engine_named_and_prints_the_timing_line(
    project_copy: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--root", str(project_copy.root), "build", "--engine", "scalable"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"built release \S+ \(dataset version \w+\): \d+ asserted, \d+ inferred.*", out[0]
    )
    assert TIMING_LINE.fullmatch(out[1]), out[1]
    release = current(project_copy.build_dir).path
    assert not [p for p in release.iterdir() if p.name.startswith(".")]


def test_the_engine_comes_from_the_environment(
    project_copy: Paths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transitive property is reasoned with by owlrl and refused by the scalable engine
    only: which engine ran shows in the exit code."""
    with (project_copy.ontology / "kzcn.ttl").open("a", encoding="utf-8") as out:
        out.write(TRANSITIVE_PARTNER)
    root = ["--root", str(project_copy.root)]
    monkeypatch.setenv("KZCN_ENGINE", "scalable")
    assert main([*root, "validate"]) == 3
    assert main([*root, "validate", "--engine", "reference"]) == 0
    monkeypatch.delenv("KZCN_ENGINE")
    assert main([*root, "validate"]) == 0
    monkeypatch.setenv("KZCN_ENGINE", "no-such-engine")
    assert main([*root, "validate"]) == 2
    assert "no-such-engine" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main([*root, "validate", "--engine", "fast"])
    assert exit_.value.code == 2


TRANSITIVE_PARTNER = f"\n<{KZCN.partner}> a <http://www.w3.org/2002/07/owl#TransitiveProperty> .\n"


def test_validate_with_the_scalable_engine_writes_nothing(
    project_copy: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(project_copy.root), "validate", "--engine", "scalable"]) == 0
    assert "Conforms" in capsys.readouterr().out
    assert list(project_copy.build_dir.iterdir()) == []


def test_a_scalable_build_that_does_not_conform_keeps_the_previous_release(
    project_copy: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    root = ["--root", str(project_copy.root)]
    assert main([*root, "build", "--engine", "scalable"]) == 0
    before = current(project_copy.build_dir)
    edit(  # a second status: a SHACL violation
        project_copy.data / "agreements.ttl",
        "    kzcn:concerns domain:unmanned-aerial-vehicles",
        "    kzcn:status kzcn:Agreed ;\n    kzcn:concerns domain:unmanned-aerial-vehicles",
    )
    assert main([*root, "build", "--engine", "scalable"]) == 1
    assert "kzsh:AgreementShape" in capsys.readouterr().err
    assert current(project_copy.build_dir).path == before.path
    leftovers = [p for p in (project_copy.build_dir / "releases").iterdir() if p.name[0] == "."]
    assert not leftovers


def test_a_syntax_error_names_file_and_line_with_the_scalable_engine(
    project_copy: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        project_copy.data / "organizations.ttl",
        'kzcn:mentionText "ALT университеті"@kk',
        'kzcn:mentionText "ALT университеті"@kk kzcn:oops',
    )
    argv = ["--root", str(project_copy.root), "build", "--engine", "scalable"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    line = next(
        n
        for n, text in enumerate(
            (project_copy.data / "organizations.ttl").read_text().split("\n"), 1
        )
        if "kzcn:oops" in text
    )
    assert f"organizations.ttl:{line}:" in err
    assert current_or_none(project_copy.build_dir) is None


def current_or_none(build_dir: Path) -> Path | None:
    link = build_dir / "current"
    return link if link.exists() else None


@pytest.mark.parametrize(
    ("file", "extra", "complaint"),
    [
        (  # OWL the scalable reasoner does not implement
            "ontology/kzcn.ttl",
            TRANSITIVE_PARTNER,
            "TransitiveProperty",
        ),
        (  # SHACL the SPARQL validator does not compile
            "shapes/kzcn-shapes.ttl",
            "\n<urn:x:Closed> a <http://www.w3.org/ns/shacl#NodeShape> ; "
            f"<http://www.w3.org/ns/shacl#targetNode> <{ID['country/china']}> ; "
            "<http://www.w3.org/ns/shacl#closed> true .\n",
            "sh:closed",
        ),
        (  # a blank node, which it cannot publish canonically
            "data/organizations.ttl",
            f"\n<{ID['country/china']}> <{KZCN.note}> [ <{KZCN.note}> 1 ] .\n",
            "blank node",
        ),
    ],
)
def test_input_the_scalable_engine_cannot_handle_is_refused_clearly(
    project_copy: Paths, capsys: pytest.CaptureFixture[str], file, extra, complaint
) -> None:
    path = project_copy.root / file
    assert path.is_file(), f"{file} moved: update this test"
    with path.open("a", encoding="utf-8") as out:
        out.write(extra)
    argv = ["--root", str(project_copy.root), "build", "--engine", "scalable"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "error: the scalable engine cannot build this input" in err
    assert complaint in err
    assert current_or_none(project_copy.build_dir) is None
    assert not [p for p in project_copy.build_dir.rglob(".*")]


def test_a_scalable_build_from_a_subprocess_is_byte_identical_to_itself(
    project_copy: Paths, tmp_path: Path
) -> None:
    """Two processes, two hash seeds: the same bytes (the store aside)."""
    releases = []
    for seed in ("1", "2"):
        build_dir = tmp_path / f"build-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1756771200"}
        argv = ["--root", str(project_copy.root), "--build-dir", str(build_dir), "build"]
        subprocess.run(
            [sys.executable, "-m", "server.cli", *argv, "--engine", "scalable"],
            check=True,
            env=env,
            capture_output=True,
            cwd=PACKAGE_ROOT,
        )
        releases.append(current(build_dir).path)
    assert published_files(releases[0]) == published_files(releases[1])
