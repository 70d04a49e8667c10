"""Shared fixtures: the real project's inputs, checked once per session, and throwaway
copies of the project for tests that break or rebuild things."""

import shutil
from pathlib import Path

import pytest
from rdflib import Graph

from server.build.pipeline import Checked, check
from server.config import PACKAGE_ROOT, Paths, paths_from_env

INPUT_FOLDERS = ("ontology", "data", "shapes", "queries")


@pytest.fixture(scope="session")
def checked() -> Checked:
    return check(paths_from_env(PACKAGE_ROOT))


@pytest.fixture(scope="session")
def asserted(checked: Checked) -> Graph:
    return checked.sources.ontology + checked.sources.data


@pytest.fixture(scope="session")
def everything(checked: Checked) -> Graph:
    """What a reader of the default graph sees: ontology + data + inferred."""
    return checked.sources.ontology + checked.sources.data + checked.inferred


@pytest.fixture
def project_copy(tmp_path: Path) -> Paths:
    """A copy of the project's inputs to edit, with its own build folder."""
    for folder in INPUT_FOLDERS:
        shutil.copytree(PACKAGE_ROOT / folder, tmp_path / folder)
    return Paths(root=tmp_path, build_dir=tmp_path / "build")


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence, failing loudly if the text to edit is not there."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="session")
def release_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release of the real inputs, built once for every test that serves it."""
    from server.build.pipeline import build

    build_dir = tmp_path_factory.mktemp("release") / "build"
    build(Paths(root=PACKAGE_ROOT, build_dir=build_dir))
    return build_dir


@pytest.fixture(scope="session")
def app(release_build_dir: Path):
    from server import create_app
    from server.config import Settings

    application = create_app(Settings(build_dir=release_build_dir, query_timeout=10.0))
    yield application
    application.extensions["kzcn_queries"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


HOSTILE_LABEL = '<script>alert("x")</script> & "ALT" <b>University</b>'


@pytest.fixture(scope="session")
def hostile_app(tmp_path_factory: pytest.TempPathFactory):
    """An application over a release whose data holds markup in a label: pages, search, the
    editor and the network picture must all show it as text."""
    from server import create_app
    from server.build.pipeline import build
    from server.config import Settings

    root = tmp_path_factory.mktemp("hostile")
    for folder in INPUT_FOLDERS:
        shutil.copytree(PACKAGE_ROOT / folder, root / folder)
    paths = Paths(root=root, build_dir=root / "build")
    data = paths.data / "organizations.ttl"
    turtle_string = HOSTILE_LABEL.replace("\\", "\\\\").replace('"', '\\"')
    data.write_text(
        data.read_text(encoding="utf-8").replace('"ALT University"@en', f'"{turtle_string}"@en'),
        encoding="utf-8",
    )
    build(paths)
    application = create_app(Settings(build_dir=paths.build_dir))
    yield application
    application.extensions["kzcn_queries"].store.close()
