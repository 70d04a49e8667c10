"""Shared fixtures: the real project's inputs, checked once per session, and throwaway
copies of the project for tests that break or rebuild things."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph

from server import create_app, deadlocks
from server.build.pipeline import Checked, build, check
from server.config import PACKAGE_ROOT, Paths, Settings, paths_from_env
from server.release import Release, current
from server.store.virtuoso import Virtuoso, VirtuosoError

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


def inputs_copied_to(root: Path) -> Paths:
    """A copy of the project's inputs to edit, with its own build folder."""
    for folder in INPUT_FOLDERS:
        shutil.copytree(PACKAGE_ROOT / folder, root / folder)
    return Paths(root=root, build_dir=root / "build")


@pytest.fixture
def short_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after a deadlock pause 1 ms: what is tested is how many attempts, not how long."""
    monkeypatch.setattr(deadlocks, "PAUSE", 0.001)


@pytest.fixture
def project_copy(tmp_path: Path) -> Paths:
    return inputs_copied_to(tmp_path)


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence, failing loudly if the text to edit is not there."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="session")
def release_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release of the real inputs, built once for every test that serves it."""
    build_dir = tmp_path_factory.mktemp("release") / "build"
    build(Paths(root=PACKAGE_ROOT, build_dir=build_dir))
    return build_dir


# --- the store behind the server: every test of the server runs over both -------------------

BACKENDS = ("embedded", "virtuoso")


@pytest.fixture(scope="session")
def release(release_build_dir: Path) -> Release:
    return current(release_build_dir)


@contextmanager
def private_virtuoso(release_dir: Path) -> Iterator[Virtuoso]:
    """A private Virtuoso (server/store/virtuoso.py) allowed to read a release. Not installed
    is a failure, not a skip: the remote store is part of what the project ships."""
    try:
        server = Virtuoso([release_dir])
    except VirtuosoError as error:
        pytest.fail(str(error))
    with server:
        yield server


@pytest.fixture(scope="session")
def virtuoso_server(release: Release) -> Iterator[Virtuoso]:
    """Started once per session, on first use; not loaded yet."""
    with private_virtuoso(release.path) as server:
        yield server


@pytest.fixture(scope="session")
def loaded(virtuoso_server: Virtuoso, release: Release) -> dict[str, int]:
    return virtuoso_server.load(release.path)


@pytest.fixture(scope="session")
def virtuoso(virtuoso_server: Virtuoso, loaded: dict[str, int]) -> Virtuoso:
    """The private Virtuoso, loaded with the release the tests serve."""
    return virtuoso_server


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which store the server reads: its own embedded Oxigraph store, or a real Virtuoso over
    SPARQL. Issue #5: the whole server behaves the same over either, proven by the same tests.
    Session-scoped, so pytest runs every test of one backend before switching to the next."""
    return request.param


@pytest.fixture(scope="session")
def store_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """Settings.store_url for the backend; Virtuoso is started only when a test needs it."""
    if backend == "embedded":
        return None
    return request.getfixturevalue("virtuoso").sparql_url


@contextmanager
def serving(settings: Settings) -> Iterator[Flask]:
    """An application, the stores of every release it opened closed after."""
    application = create_app(settings)
    try:
        yield application
    finally:
        application.extensions["kzcn_release"].close()


@pytest.fixture(scope="session")
def app(release_build_dir: Path, store_url: str | None) -> Iterator[Flask]:
    settings = Settings(build_dir=release_build_dir, store_url=store_url, query_timeout=10.0)
    with serving(settings) as application:
        yield application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def embedded_app(release_build_dir: Path) -> Iterator[Flask]:
    """Over the embedded store only: for the few tests about its own machinery (the pool of
    query processes it kills and replaces), which a remote store does not have."""
    with serving(Settings(build_dir=release_build_dir, query_timeout=10.0)) as application:
        yield application


HOSTILE_LABEL = '<script>alert("x")</script> & "ALT" <b>University</b>'


@pytest.fixture(scope="session")
def hostile_build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A release whose data holds markup in a label."""
    paths = inputs_copied_to(tmp_path_factory.mktemp("hostile"))
    data = paths.data / "organizations.ttl"
    turtle_string = HOSTILE_LABEL.replace("\\", "\\\\").replace('"', '\\"')
    data.write_text(
        data.read_text(encoding="utf-8").replace('"ALT University"@en', f'"{turtle_string}"@en'),
        encoding="utf-8",
    )
    build(paths)
    return paths.build_dir


@pytest.fixture(scope="session")
def hostile_virtuoso(hostile_build_dir: Path) -> Iterator[Virtuoso]:
    """A second private Virtuoso: the first one holds the real release."""
    hostile = current(hostile_build_dir)
    with private_virtuoso(hostile.path) as server:
        server.load(hostile.path)
        yield server


@pytest.fixture(scope="session")
def hostile_app(
    hostile_build_dir: Path, backend: str, request: pytest.FixtureRequest
) -> Iterator[Flask]:
    """An application over the hostile release: pages, search, the editor and the network
    picture must all show the markup as text."""
    url = None if backend == "embedded" else request.getfixturevalue("hostile_virtuoso").sparql_url
    with serving(Settings(build_dir=hostile_build_dir, store_url=url)) as application:
        yield application
