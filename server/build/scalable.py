"""The scalable build engine: parse, reason, validate and publish without an rdflib data graph.

The reference engine (sources.py, reason.py, validate.py) holds everything in rdflib graphs,
which stops at about 10^5 triples. Here:
- parse: each RDF file is parsed once by pyoxigraph and written as N-Triples to a work file,
  which is then bulk-loaded into an on-disk Oxigraph store (the very store the release will
  serve) — no Python object per triple stays alive;
- reason: stream_rules.infer_lines, OWL RL in one pass over the parsed lines (rules.materialize
  is its in-store twin), the result then bulk-loaded into the store for validation;
- validate: shacl_sparql.validate_store, the shapes as SPARQL queries (the shapes graph itself
  is small and read with rdflib);
- publish: publish.write_release, fed with sorted lines from files, which the reason step
  sorted (GNU sort, lines.sort_file): the asserted graphs from the parsed N-Triples as written
  (the store would give its normalized literals: "+07" → "7"), and the inferred graph.

Input with blank nodes is refused (UnsupportedInput): publishing needs canonical blank node
labels, computed over the whole dataset in memory (publish._canonicalize); the reference
engine does that.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from ..config import Paths
from ..release import STORE_DIR, UNION_GRAPHS
from ..vocab import GRAPHS
from .lines import LineFile, SortedLines
from .publish import Staged, load_store, staged_release, write_release
from .rules import (
    DATA_GRAPH,
    ONTOLOGY_GRAPH,
    OX_FORMATS,
    UnsupportedVocabulary,
    count,
    drop_build_graphs,
    written_as_quad,
)
from .shacl_sparql import validate_store
from .sources import SourceError, content_hash, error_message, parse_files, rdf_files
from .stream_rules import Inference, infer_lines, load_inferred
from .validate import Validation

METADATA_GRAPH = ox.NamedNode(str(GRAPHS["metadata"]))
ASSERTED = {"ontology": ONTOLOGY_GRAPH, "data": DATA_GRAPH}
# Input (ontology/ + data/ files) up to this size is reasoned in memory: our Turtle takes
# ~100 MB per 10^6 triples, and a build in memory peaks at ~2.1 GiB per 10^6 triples
# (measured at 10^6), so 300 MB stays within the 8 GiB budget of issue #5.
MEMORY_STORE_BYTES = int(os.environ.get("KZCN_MEMORY_STORE_BYTES", 300 << 20))

# Given by pipeline.py, which owns timing and the "does not conform" decision.
Timer = Callable[[dict[str, float], str, Callable[[], Any]], Any]
ConformingCheck = Callable[[Validation], None]


class UnsupportedInput(UnsupportedVocabulary):
    """Input the scalable engine cannot publish exactly as the reference engine would."""


@dataclass(frozen=True)
class Inputs:
    """The input files by folder, and the dataset version they make."""

    files: dict[str, list[Path]]
    version: str


@dataclass
class StoreChecked:
    """The outcome of parse → reason → validate in a store (see pipeline.Checked)."""

    version: str
    asserted_triples: int
    inferred_triples: int
    validation: Validation
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Workspace:
    """The build's store and its scratch folder (parsed N-Triples, sort files)."""

    store: ox.Store
    workdir: Path
    on_disk: bool  # then at the release's store path, to become the release's store
    # The sorted lines of the union's graphs, from the reasoner (see sorted_graph).
    sorted: dict[str, LineFile] = field(default_factory=dict)

    @classmethod
    def open(cls, found: Inputs, store_path: Path, workdir: Path) -> Workspace:
        """The store in memory while the input is small enough (rules and queries run
        several times faster there: Oxigraph's on-disk writes are transactional), on disk at
        `store_path` beyond, so that memory stays bounded."""
        size = sum(file.stat().st_size for name in ASSERTED for file in found.files[name])
        if size <= MEMORY_STORE_BYTES:
            return cls(ox.Store(), workdir, on_disk=False)
        return cls(ox.Store(str(store_path)), workdir, on_disk=True)

    def parsed(self, name: str) -> Path:
        """The N-Triples of an asserted graph as parsed from its files (unsorted)."""
        return self.workdir / f"{name}.nt"


def inputs(paths: Paths) -> Inputs:
    """The files sources.load_sources reads, and the same version, without parsing them."""
    files = {name: rdf_files(paths.root / name) for name in ("ontology", "data", "shapes")}
    for name, found in files.items():
        if not found:
            raise SourceError(paths.root / name, None, "no RDF files found")
    hashed = tuple(f for group in files.values() for f in group)
    hashed += tuple(sorted(paths.queries.glob("*.rq")))
    return Inputs(files, content_hash(hashed, paths.root))


# --------------------------------------------------------------------------- parse


def parse_into(workspace: Workspace, inputs: Inputs) -> tuple[Graph, int]:
    """Load ontology/ and data/ into their graphs of the store; returns the shapes graph and
    the number of asserted data triples."""
    for name, graph in ASSERTED.items():
        parse_files_to(workspace.store, inputs.files[name], graph, workspace.parsed(name))
    return parse_files(inputs.files["shapes"]), count(workspace.store, DATA_GRAPH)


def parse_files_to(store: ox.Store, files: Iterable[Path], graph: ox.NamedNode, out: Path) -> None:
    """Parse each file once into N-Triples (`out`), bulk-load that into `graph`, and add the
    side-graph copies of literals the store would not keep as written (rules.STORED_AS)."""
    with out.open("wb") as ntriples:
        for path in files:
            side: list[ox.Quad] = []
            try:
                ox.serialize(_noting(_parse(path), side), ntriples, format=ox.RdfFormat.N_TRIPLES)
            except SyntaxError as error:
                raise _source_error(path, error) from error
            store.bulk_extend(side)  # not transactional: several times cheaper on disk
    store.bulk_load(path=out, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


def _parse(path: Path) -> Iterator[ox.Quad]:
    # As sources.py: relative IRIs against the file's URI.
    return ox.parse(path=path, format=OX_FORMATS[path.suffix], base_iri=path.as_uri())


def _noting(quads: Iterator[ox.Quad], side: list[ox.Quad]) -> Iterator[ox.Quad]:
    for quad in quads:
        if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
            raise UnsupportedInput(
                f"a blank node in {quad}: the scalable engine publishes only graphs without "
                "blank nodes; build with the reference engine instead"
            )
        if (copy := written_as_quad(quad)) is not None:
            side.append(copy)
        yield quad


def _source_error(path: Path, error: SyntaxError) -> SourceError:
    text = path.read_text(encoding="utf-8", errors="replace")
    return SourceError(path, error.lineno, error_message(Exception(error.msg), text, error.lineno))


# --------------------------------------------------------------------------- check


def check_in(workspace: Workspace, inputs: Inputs, timed: Timer) -> StoreChecked:
    """parse → reason → validate inside the workspace's store."""
    seconds: dict[str, float] = {}
    shapes, asserted = timed(seconds, "parse", lambda: parse_into(workspace, inputs))
    run = timed(seconds, "reason", lambda: reason(workspace))
    validation = timed(seconds, "validate", lambda: validate_store(workspace.store, shapes))
    return StoreChecked(inputs.version, asserted, run.inferred, validation, seconds)


def reason(workspace: Workspace) -> Inference:
    """The inferred graph from the parsed lines, kept for publishing and loaded into the store
    for validation."""
    parsed = {name: workspace.parsed(name) for name in ASSERTED}
    inference = infer_lines(parsed, workspace.workdir)
    load_inferred(workspace.store, inference.lines)
    workspace.sorted = {**inference.asserted, "inferred": inference.lines}
    for path in parsed.values():
        path.unlink()  # sorted now: at 10^7 triples, gigabytes of disk
    return inference


def check(paths: Paths, timed: Timer) -> StoreChecked:
    """Check without publishing, in a temporary folder of the build folder."""
    found = inputs(paths)
    paths.build_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".check-", dir=paths.build_dir))
    try:
        return check_in(Workspace.open(found, folder / STORE_DIR, folder), found, timed)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- build


def build(
    paths: Paths,
    created: date,
    extras: Mapping[str, bytes],
    timed: Timer,
    conforming: ConformingCheck,
) -> tuple[StoreChecked, Path]:
    """parse → reason → validate → publish; the store is built where the release keeps it."""
    found = inputs(paths)
    with staged_release(paths.build_dir, found.version) as staged:
        checked = build_in(staged, found, created, extras, timed, conforming)
    assert staged.release is not None
    return checked, staged.release


def build_in(
    staged: Staged,
    found: Inputs,
    created: date,
    extras: Mapping[str, bytes],
    timed: Timer,
    conforming: ConformingCheck,
) -> StoreChecked:
    """The build in a staged release; the store is closed on return (its last reference
    goes), before the release is renamed and served."""
    workspace = Workspace.open(found, staged.directory / STORE_DIR, staged.workdir)
    checked = check_in(workspace, found, timed)
    conforming(checked.validation)
    timed(checked.seconds, "publish", lambda: publish(workspace, staged, checked, created, extras))
    return checked


def publish(
    workspace: Workspace,
    staged: Staged,
    checked: StoreChecked,
    created: date,
    extras: Mapping[str, bytes],
) -> None:
    content = {name: sorted_graph(workspace, name) for name in UNION_GRAPHS}
    report = checked.validation.report

    def finish_store(
        path: Path, content: Mapping[str, SortedLines], metadata: Callable[[], SortedLines]
    ) -> None:
        """An on-disk build store becomes the release's: scratch out, the metadata graph in.
        An in-memory one is left behind: the release's store is loaded from the lines."""
        store = workspace.store
        if not workspace.on_disk:
            load_store(path, content, metadata)
            return
        drop_build_graphs(store)  # while the dumps are written, before the metadata is known
        store.optimize()
        store.load(metadata().open(), format=ox.RdfFormat.N_TRIPLES, to_graph=METADATA_GRAPH)
        store.flush()

    write_release(staged.directory, content, report, checked.version, created, extras, finish_store)


def sorted_graph(workspace: Workspace, name: str) -> SortedLines:
    """The sorted, distinct N-Triples lines of one graph of the union, in a file: as the
    reasoner sorted them (the asserted graphs as parsed, language tags in their case)."""
    return workspace.sorted[name]
