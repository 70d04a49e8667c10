"""The whole build from the command line: deterministic, atomic, and checked against the
article."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from server.cli import main
from server.config import PACKAGE_ROOT, Paths
from server.release import MANIFEST_JSON, RELEASE_FILES, current
from server.vocab import GRAPHS

from .conftest import edit

ARTICLE = PACKAGE_ROOT.parent / "shared" / "source"


def build_in_subprocess(paths: Paths, seed: str) -> Path:
    env = {**os.environ, "PYTHONHASHSEED": seed, "SOURCE_DATE_EPOCH": "1756771200"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "--root",
            str(paths.root),
            "--build-dir",
            str(paths.build_dir),
            "build",
        ],
        check=True,
        env=env,
        capture_output=True,
        cwd=PACKAGE_ROOT,
    )
    return current(paths.build_dir).path


def test_two_builds_are_byte_identical(project_copy: Paths, tmp_path: Path):
    first = build_in_subprocess(project_copy, seed="1")
    contents = {f.name: (first / f.name).read_bytes() for f in RELEASE_FILES}
    other = Paths(root=project_copy.root, build_dir=tmp_path / "other-build")
    second = build_in_subprocess(other, seed="2")
    for name, data in contents.items():
        assert (second / name).read_bytes() == data, name


def test_a_failing_build_keeps_the_previous_release(project_copy: Paths):
    assert main(["--root", str(project_copy.root), "build"]) == 0
    before = current(project_copy.build_dir)
    edit(  # a second status: a SHACL violation
        project_copy.data / "agreements.ttl",
        "    kzcn:concerns domain:unmanned-aerial-vehicles",
        "    kzcn:status kzcn:Agreed ;\n    kzcn:concerns domain:unmanned-aerial-vehicles",
    )
    assert main(["--root", str(project_copy.root), "build"]) == 1
    after = current(project_copy.build_dir)
    assert after.path == before.path
    assert after.version == before.version
    releases = project_copy.build_dir / "releases"
    assert not [p for p in releases.iterdir() if p.name.startswith(".tmp")]


def test_the_release_store_holds_the_four_graphs(project_copy: Paths):
    assert main(["--root", str(project_copy.root), "build"]) == 0
    release = current(project_copy.build_dir)
    manifest = json.loads((release.path / MANIFEST_JSON).read_text())
    store = ox.Store.read_only(str(release.store_path))
    for name, iri in GRAPHS.items():
        rows = list(store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}"))
        assert int(rows[0]["n"].value) == manifest["graphs"][name]["triples"] > 0


def test_no_triple_is_in_two_graphs(checked):
    """The store's union default graph counts a triple once per graph holding it, so the
    graphs of a release must be disjoint for COUNTs over the union to be right."""
    graphs = [set(checked.sources.ontology), set(checked.sources.data), set(checked.inferred)]
    for i, first in enumerate(graphs):
        for second in graphs[i + 1 :]:
            assert not first & second


def test_check_source_passes_on_the_article(capsys):
    assert main(["check-source", str(ARTICLE)]) == 0
    assert "every mention occurs" in capsys.readouterr().out


def test_check_source_catches_a_mention_the_article_lacks(project_copy: Paths, capsys):
    edit(
        project_copy.data / "organizations.ttl",
        'kzcn:mentionText "ALT университеті"@kk',
        'kzcn:mentionText "ALT University"@kk',
    )
    assert main(["--root", str(project_copy.root), "check-source", str(ARTICLE)]) == 1
    err = capsys.readouterr().err
    assert "inst:alt-university: mention 'ALT University' does not occur in paragraph(s) [8]" in err


def test_check_source_catches_a_wrong_paragraph(project_copy: Paths, capsys):
    edit(
        project_copy.data / "organizations.ttl",
        'kzcn:mentionText "Ляонин мұнай-химия университеті"@kk ;\n'
        '    kzcn:sourceParagraph "9"^^xsd:positiveInteger',
        'kzcn:mentionText "Ляонин мұнай-химия университеті"@kk ;\n'
        '    kzcn:sourceParagraph "8"^^xsd:positiveInteger',
    )
    assert main(["--root", str(project_copy.root), "check-source", str(ARTICLE)]) == 1
    assert "inst:liaoning-petrochemical-university: mention" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["build", "validate", "check-source", "serve", "query"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: kzcn-kg" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["no-such-command"])
    assert exit_.value.code == 2


def test_query_prints_a_table(release_build_dir: Path, capsys):
    query = 'SELECT ?c ?l WHERE { ?c a kzcn:Country ; rdfs:label ?l FILTER (lang(?l) = "en") }'
    assert main(["--build-dir", str(release_build_dir), "query", query]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["c", "l"]
    assert any("Kazakhstan@en" in line for line in out)
    assert out[-1] == "(2 rows)"


def test_query_in_another_format_and_from_a_file(release_build_dir: Path, tmp_path, capsys):
    file = tmp_path / "q.rq"
    file.write_text("ASK { ?a kzcn:status kzcn:Planned }")
    argv = ["--build-dir", str(release_build_dir), "query", "--file", str(file), "--format"]
    assert main([*argv, "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"head": {}, "boolean": True}


def test_query_errors_are_reported(release_build_dir: Path, capsys):
    argv = ["--build-dir", str(release_build_dir), "query"]
    assert main([*argv, "SELECT * WHERE { ?s ?p"]) == 1
    assert "error at 1:" in capsys.readouterr().err
    assert main([*argv, "SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"]) == 1
    assert "SERVICE" in capsys.readouterr().err
