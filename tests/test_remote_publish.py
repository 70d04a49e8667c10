"""`kzcn-kg publish --to URL` against a real private Virtuoso (Debian's package, started on
127.0.0.1 by server/store/virtuoso.py): a release uploaded with the Graph Store HTTP Protocol
as a user allowed to update, its counts checked, the switch to a second release seen by
concurrent readers as wholly old or wholly new, failures that leave the old version serving,
and a public endpoint that stays read-only.

Virtuoso must be installed (`scripts/install-virtuoso.sh`); without it these tests fail."""

import io
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from server import deadlocks
from server.build.pipeline import build
from server.release import Release, current
from server.remote_publish import (
    STAGING_PREFIX,
    SWITCH_STEP,
    Published,
    PublishError,
    Store,
    Switch,
    Target,
    chunks,
    main,
    moves,
    publish,
    published_version,
    report,
    sparql_switch,
    staging_graph,
)
from server.store.embedded import EmbeddedStore
from server.store.remote import RemoteStore
from server.store.virtuoso import DBA, MOVE_PROCEDURE, Virtuoso, VirtuosoError, sql_string
from server.vocab import DATASET, GRAPHS
from tests.conftest import edit, inputs_copied_to
from tests.deadlocking_engine import DeadlockingEngine, deadlocking_engine
from tests.test_remote_store import EXAMPLES, rows, run

DATA, METADATA = str(GRAPHS["data"]), str(GRAPHS["metadata"])
ALT = "https://w3id.org/kzcn/id/organization/alt-university"
LABEL_LINE = 'rdfs:label "ALT университеті"@kk , "ALT University{}"@en ;'
OLD_LABEL, NEW_LABEL = LABEL_LINE.format(""), LABEL_LINE.format(" (second release)")
# Property paths (rdfs:subClassOf*) included: see the `published` fixture.
COMPARED = ("who-signed-with-whom", "agreements-by-kind", "what-the-agreements-set-up")
# One query that sees every graph: its triple count, the version and the label that differs.
STATE_QUERY = f"""SELECT ?g ?n ?version ?label WHERE {{
  {{ SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }}
     VALUES ?g {{ {" ".join(f"<{iri}>" for iri in GRAPHS.values())} }} }} GROUP BY ?g }}
  UNION {{ GRAPH <{METADATA}> {{ <{DATASET}> owl:versionInfo ?version }} }}
  UNION {{ GRAPH <{DATA}> {{ <{ALT}> <http://www.w3.org/2000/01/rdf-schema#label> ?label
           FILTER (lang(?label) = "en") }} }}
}}"""

State = tuple[tuple[tuple[str, int], ...], tuple[str, ...], tuple[str, ...]]


@pytest.fixture(scope="module")
def release(release_build_dir: Path) -> Release:
    return current(release_build_dir)


@pytest.fixture(scope="module")
def virtuoso() -> Iterator[Virtuoso]:
    """Empty at start: everything it serves comes through the publish under test."""
    try:
        server = Virtuoso([])
    except VirtuosoError as error:
        pytest.fail(str(error))
    with server:
        yield server


@pytest.fixture(scope="module")
def target(virtuoso: Virtuoso) -> Target:
    user, password = virtuoso.publisher
    return Target(virtuoso.update_url, virtuoso.graph_store_url, user, password)


def sql_switch(virtuoso: Virtuoso) -> Switch:
    """Virtuoso's atomic switch: one SQL transaction."""
    return lambda release: virtuoso.move_graphs(moves(release))


@pytest.fixture(scope="module")
def published(virtuoso: Virtuoso, target: Target, release: Release) -> Published:
    # Small chunks: every graph goes up in several requests, as a large one would.
    done = publish(release, target, chunk_bytes=16 * 1024)
    # Virtuoso 7.2 answers property paths wrongly on a database first filled since it
    # started, whether by the bulk loader or the Graph Store, until it restarts (see
    # Virtuoso.load); once restarted, later publishes are answered rightly (tested below).
    virtuoso.stop()
    virtuoso.start()
    return done


def state(virtuoso: Virtuoso) -> State:
    answer = virtuoso.select(STATE_QUERY)
    counts = tuple(sorted((r["g"]["value"], int(r["n"]["value"])) for r in answer if "g" in r))
    versions = tuple(sorted(r["version"]["value"] for r in answer if "version" in r))
    labels = tuple(sorted(r["label"]["value"] for r in answer if "label" in r))
    return counts, versions, labels


def manifest_counts(release: Release) -> dict[str, int]:
    return {e["iri"]: e["triples"] for e in release.manifest["graphs"].values()}


def ours(virtuoso: Virtuoso) -> dict[str, int]:
    """The release graphs and any staging graph left behind."""
    counts = virtuoso.graph_counts()
    return {g: n for g, n in counts.items() if g in map(str, GRAPHS.values()) or "x-kzcn" in g}


# --- one release --------------------------------------------------------------------------------


def test_publish_puts_every_graph_with_the_manifest_counts_and_no_staging_left(
    published: Published, virtuoso: Virtuoso, release: Release
) -> None:
    assert published.version == release.version
    assert published.triples == manifest_counts(release)
    assert ours(virtuoso) == manifest_counts(release)


def test_readers_can_tell_the_published_version(
    published: Published, target: Target, release: Release
) -> None:
    assert published_version(Store(target)) == release.version


@pytest.mark.parametrize("name", COMPARED)
def test_answers_through_the_remote_store_equal_the_embedded_store(
    name: str, published: Published, virtuoso: Virtuoso, release: Release
) -> None:
    assert_same_answers(virtuoso, release, name)


def assert_same_answers(virtuoso: Virtuoso, release: Release, name: str) -> None:
    query = next(example.text for example in EXAMPLES if example.name == name)
    remote = RemoteStore(virtuoso.sparql_url, release.version)
    embedded = EmbeddedStore(release.store_path, release.version, workers=1)
    try:
        theirs, expected = rows(run(remote, query)), rows(run(embedded, query))
    finally:
        remote.close()
        embedded.close()
    assert theirs == expected, name
    assert expected[1], "a query with no answer compares nothing"


def test_the_command_publishes_with_credentials_from_the_environment(
    published: Published,
    virtuoso: Virtuoso,
    release_build_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user, password = virtuoso.publisher
    monkeypatch.setenv("KZCN_STORE_PASSWORD", password)
    arguments = ["--to", virtuoso.update_url, "--graph-store", virtuoso.graph_store_url]
    code = main(["--build-dir", str(release_build_dir), *arguments, "--user", user])
    assert code == 0, capsys.readouterr().err
    assert f"published version {current(release_build_dir).version}" in capsys.readouterr().out

    monkeypatch.setenv("KZCN_STORE_PASSWORD", "wrong")
    code = main(["--build-dir", str(release_build_dir), *arguments, "--user", user])
    assert code == 4
    assert "error: upload the" in capsys.readouterr().err


def test_the_command_switches_through_virtuoso_sql(
    published: Published,
    virtuoso: Virtuoso,
    release_build_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = ours(virtuoso)
    arguments = ["--to", virtuoso.update_url, "--graph-store", virtuoso.graph_store_url]
    sql_server = f"127.0.0.1:{virtuoso.sql_port}"
    user, password = DBA  # the account must be allowed to (re)create the procedure
    account = ["--user", user, "--password", password, "--virtuoso-sql", sql_server]
    code = main(["--build-dir", str(release_build_dir), *arguments, *account])
    assert code == 0, capsys.readouterr().err
    assert ours(virtuoso) == before  # the same release again: the same graphs, no staging


# --- the public endpoint stays read-only ------------------------------------------------------


def test_the_public_endpoint_refuses_updates(published: Published, virtuoso: Virtuoso) -> None:
    before = ours(virtuoso)
    update = f"DROP GRAPH <{DATA}>"
    request = urllib.request.Request(
        virtuoso.sparql_url, urllib.parse.urlencode({"update": update}).encode()
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert "No permission" in refused.value.read().decode()
    # Its Graph Store without authentication too.
    crud = virtuoso.sparql_url + "-graph-crud?" + urllib.parse.urlencode({"graph-uri": DATA})
    request = urllib.request.Request(crud, b"<urn:a> <urn:b> <urn:c> .\n", method="PUT")
    request.add_header("Content-Type", "application/n-triples")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    assert ours(virtuoso) == before


# --- failures leave the old version serving -----------------------------------------------------


def test_bad_credentials_fail_the_upload_and_change_nothing(
    published: Published, virtuoso: Virtuoso, target: Target, release: Release
) -> None:
    before = state(virtuoso)
    with pytest.raises(PublishError) as failed:
        publish(release, replace(target, password="wrong"))
    assert failed.value.step.startswith("upload the")
    assert "HTTP 401" in str(failed.value) and "password refused" in str(failed.value)
    assert state(virtuoso) == before


def test_counts_that_differ_from_the_manifest_stop_before_the_switch(
    published: Published, virtuoso: Virtuoso, target: Target, release: Release
) -> None:
    before = ours(virtuoso)
    graphs = {**release.manifest["graphs"]}
    graphs["data"] = {**graphs["data"], "triples": graphs["data"]["triples"] + 1}
    wrong = Release(release.path, {**release.manifest, "graphs": graphs})
    with pytest.raises(PublishError) as failed:
        publish(wrong, target)
    assert failed.value.step == "verify the staged data graph"
    assert "the manifest says" in str(failed.value)
    assert ours(virtuoso) == before  # staging graphs removed, live graphs untouched


def test_staging_graphs_the_store_would_not_drop_after_the_switch_are_reported(
    published: Published,
    virtuoso: Virtuoso,
    target: Target,
    release: Release,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = ours(virtuoso)
    refuse_drops = f'REVOKE SPARQL_UPDATE FROM "{target.user}";'

    def switch_then_refuse_drops(release: Release) -> None:
        sql_switch(virtuoso)(release)
        virtuoso.sql(refuse_drops)

    staging = {staging_graph(release.version, name) for name in GRAPHS}
    try:
        done = publish(release, target, switch=switch_then_refuse_drops)
    finally:
        virtuoso.sql(f'GRANT SPARQL_UPDATE TO "{target.user}";')
    assert set(done.left) == staging  # the version is live: left graphs reported, no error
    assert all(done.left.values())  # each with the engine's message
    assert set(ours(virtuoso)) - set(before) == staging
    report(done, target.endpoint)
    warnings = capsys.readouterr().err
    assert all(f"DROP SILENT GRAPH <{graph}>" in warnings for graph in staging)
    for graph in staging:
        virtuoso.sql(f"SPARQL DROP SILENT GRAPH <{graph}>;")
    assert ours(virtuoso) == before


def test_a_stopped_server_fails_the_upload_and_the_old_version_serves_after(
    published: Published, virtuoso: Virtuoso, target: Target, release: Release
) -> None:
    before = state(virtuoso)
    virtuoso.stop()
    try:
        with pytest.raises(PublishError, match="not reachable") as failed:
            publish(release, target)
        assert failed.value.step.startswith("upload the")
    finally:
        virtuoso.start()
    assert state(virtuoso) == before


def test_the_sql_switch_rolls_back_entirely_on_an_error(
    published: Published, virtuoso: Virtuoso, release: Release
) -> None:
    before = ours(virtuoso)
    staging = STAGING_PREFIX + "rollback"
    virtuoso.sql(f"SPARQL INSERT DATA {{ GRAPH <{staging}> {{ <urn:a> <urn:b> <urn:c> }} }};")
    virtuoso.move_graphs([])  # installs the procedure, moves nothing
    # The first move is valid; the second (a number for a graph) fails.
    with pytest.raises(VirtuosoError, match="iri_to_id"):
        virtuoso.sql(
            f"{MOVE_PROCEDURE} (vector ({sql_string(staging)}, {sql_string(DATA)}, 'x', 1));"
        )
    assert ours(virtuoso) == {**before, staging: 1}
    virtuoso.sql(f"SPARQL DROP SILENT GRAPH <{staging}>;")


def test_virtuoso_runs_an_update_of_several_operations_without_a_transaction(
    published: Published, virtuoso: Virtuoso, target: Target
) -> None:
    """Why the switch on Virtuoso goes through SQL: an error in a later operation of one
    SPARQL Update request leaves the earlier ones done."""
    store, done = Store(target), STAGING_PREFIX + "partial"
    store.update("create", f"CREATE SILENT GRAPH <{STAGING_PREFIX}exists>")
    with pytest.raises(PublishError, match="explicitly created"):
        store.update(
            "partial",
            f"INSERT DATA {{ GRAPH <{done}> {{ <urn:a> <urn:b> <urn:c> }} }} ; "
            f"CREATE GRAPH <{STAGING_PREFIX}exists>",
        )
    assert virtuoso.graph_counts().get(done) == 1
    store.update(
        "clean", f"DROP SILENT GRAPH <{done}> ; DROP SILENT GRAPH <{STAGING_PREFIX}exists>"
    )


# --- a second release, with readers -------------------------------------------------------------


SWITCHES = 3  # back and forth, odd: the second release is live at the end


@dataclass(frozen=True)
class SwitchesUnderReaders:
    old: State  # each release as a reader sees it when nothing is being written
    new: State
    seen: dict[State, int]  # every state a reader saw during the publishes, how often
    errors: list[BaseException]
    order: list[Release]
    done: list[Published]


@pytest.fixture(scope="module")
def under_readers(
    published: Published,
    virtuoso: Virtuoso,
    target: Target,
    release: Release,
    tmp_path_factory: pytest.TempPathFactory,
) -> SwitchesUnderReaders:
    """Three readers query without a pause while the first and a second release are
    published in turn. Virtuoso may roll back publishing requests to break deadlocks with
    them (retried: server/deadlocks.py)."""
    publish(release, target, switch=sql_switch(virtuoso))
    old = state(virtuoso)
    project = inputs_copied_to(tmp_path_factory.mktemp("second"))
    edit(project.data / "organizations.ttl", OLD_LABEL, NEW_LABEL)
    build(project)
    second = current(project.build_dir)
    assert second.version != release.version

    seen: dict[State, int] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                observed = state(virtuoso)
            except BaseException as error:  # collected: the assertion below shows it
                errors.append(error)
                return
            seen[observed] = seen.get(observed, 0) + 1

    order = [(second, release)[turn % 2] for turn in range(SWITCHES)]
    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        done = [publish(each, target, switch=sql_switch(virtuoso)) for each in order]
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    return SwitchesUnderReaders(old, state(virtuoso), seen, errors, order, done)


def test_readers_see_the_old_or_the_new_version_with_its_own_label(
    under_readers: SwitchesUnderReaders, virtuoso: Virtuoso, release: Release
) -> None:
    """The version (metadata graph) and a label that differs (data graph), read in one query:
    never one release's version with the other's label, whatever the switch is doing."""
    run = under_readers
    second = run.order[-1]
    assert [each.version for each in run.done] == [each.version for each in run.order]
    assert run.new[1:] == ((second.version,), ("ALT University (second release)",))
    assert run.old[1:] == ((release.version,), ("ALT University",))
    assert not run.errors
    versions_and_labels = {seen[1:] for seen in run.seen}
    assert versions_and_labels <= {run.old[1:], run.new[1:]}, versions_and_labels
    assert run.old[1:] in versions_and_labels, "no reader saw the old release: no switch seen"
    assert ours(virtuoso) == manifest_counts(second)
    for name in COMPARED:  # property paths too: the database was not empty at its start
        assert_same_answers(virtuoso, second, name)


# A known defect of Virtuoso 7.2 (README, Known limitations): while triples are written in
# any graph, a reader's query rarely counts some or all of the rdf:type triples of a graph
# twice (data 1,136 -> 1,246: its 110 rdf:type triples; ontology 423 -> 456: its 27
# owl:Class and 6 owl:NamedIndividual ones). Reproduced with no switch at all, readers
# counting while staging graphs were uploaded and dropped (1 read in ~130,000); about one run
# in five of this file. Still run and reported every time; non-strict, as it mostly passes.
@pytest.mark.xfail(
    strict=False,
    reason="Virtuoso 7.2 rarely counts rdf:type triples twice while writing (README)",
)
def test_readers_count_the_old_or_the_new_graphs(under_readers: SwitchesUnderReaders) -> None:
    run = under_readers
    assert set(run.seen) <= {run.old, run.new}, f"mixed: {set(run.seen) - {run.old, run.new}}"


# --- the release in chunks ----------------------------------------------------------------------


def test_chunks_are_bounded_and_keep_blank_nodes_together(tmp_path: Path) -> None:
    graph_a, graph_b = "urn:g:a", "urn:g:b"
    lines = [f'<urn:s{i}> <urn:p> "{i}" <{graph_a if i % 3 else graph_b}> .\n' for i in range(300)]
    lines += [f"_:b{i} <urn:p> _:b{i + 1} <{graph_a}> .\n" for i in range(20)]
    dataset = tmp_path / "dataset.nq"
    dataset.write_text("".join(sorted(lines)), encoding="utf-8")

    pieces = list(chunks(dataset, chunk_bytes=500))
    assert len(pieces) > 4
    per_graph: dict[str, list[str]] = {}
    for graph, body in pieces:
        per_graph.setdefault(graph, []).extend(body.decode().splitlines())
    assert len(per_graph[graph_a]) == 200 + 20 and len(per_graph[graph_b]) == 100
    blank = [(graph, body) for graph, body in pieces if b"_:" in body]
    assert len(blank) == 1 and blank[0][1].count(b"\n") >= 20  # one request: one scope
    for _, body in pieces:
        if b"_:" not in body:
            assert len(body) < 500 + 100  # a chunk stops at the first line past the bound
    parsed = list(ox.parse(io.BytesIO(blank[0][1]), format=ox.RdfFormat.N_TRIPLES))
    assert len({t.object for t in parsed if isinstance(t.object, ox.BlankNode)}) == 20


# --- a request chosen as a deadlock victim ------------------------------------------------------


def publisher(engine: DeadlockingEngine) -> Store:
    return Store(Target(engine.url, engine.url))


@pytest.mark.usefixtures("short_pauses")
def test_a_chunk_chosen_as_a_deadlock_victim_is_sent_again_until_it_is_taken() -> None:
    chunk = b"<urn:a> <urn:b> 1 .\n"
    with deadlocking_engine(deadlocks=2) as engine:
        publisher(engine).upload("upload the data graph", "urn:g", chunk, replace=True)
    assert engine.bodies == [chunk] * 3


@pytest.mark.usefixtures("short_pauses")
def test_a_request_deadlocked_every_time_fails_with_the_engines_words() -> None:
    with (
        deadlocking_engine(deadlocks=100) as engine,
        pytest.raises(PublishError, match="SR172: Transaction deadlocked") as failed,
    ):
        publisher(engine).drop("remove the staging graphs", "urn:g")
    assert failed.value.step == "remove the staging graphs"
    assert len(engine.bodies) == deadlocks.ATTEMPTS


@pytest.mark.usefixtures("short_pauses")
def test_the_sparql_switch_is_never_sent_twice(release: Release) -> None:
    """On an engine that may have done part of a request of several operations before the
    deadlock (Virtuoso), sending the MOVEs again could empty a live graph."""
    with (
        deadlocking_engine(deadlocks=1) as engine,
        pytest.raises(PublishError, match="SR172") as failed,
    ):
        sparql_switch(publisher(engine))(release)
    assert failed.value.step == SWITCH_STEP
    assert len(engine.bodies) == 1
