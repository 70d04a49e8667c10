"""The scalable build engine: parse, reason, validate and publish without an rdflib data graph.

The reference engine (sources.py, reason.py, validate.py) holds everything in rdflib graphs,
which stops at about 10^5 triples. Here:
- parse: each RDF file is parsed once by pyoxigraph and written as N-Triples to a work file,
  which is then bulk-loaded into the validation store (in memory; on disk past
  MEMORY_STORE_BYTES of input) — no Python object per triple stays alive;
- reason: stream_rules.infer_lines, OWL RL in one pass over the parsed lines (rules.materialize
  is its in-store twin), which also sorts every graph of the release (GNU sort);
- validate: shacl_sparql.validate_store, the shapes as SPARQL queries over the asserted graphs
  (the shapes graph itself is small and read with rdflib);
- publish: publish.release_writer. The release's store needs no sorted lines: it starts
  bulk-loading the asserted graphs as parsed as soon as parsing ends, and runs alongside
  reasoning. Once reasoned, the sorted lines are known (the asserted graphs as written: a
  store would give its normalized literals, "+07" → "7"; and the inferred graph): the store
  adds the inferred graph and the union's merge starts, on the other core while validation
  runs; the dumps and the server files (a child process) follow validation, once its store
  is freed.

Input with blank nodes is refused (UnsupportedInput): publishing needs canonical blank node
labels, computed over the whole dataset in memory (publish._canonicalize); the reference
engine does that.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph
from rdflib.namespace import XSD

from ..config import Paths
from ..release import UNION_GRAPHS
from .lines import READ_BUFFER, LineFile, SortedLines, whole_lines
from .publish import Staged, release_writer, staged_release
from .rules import (
    DATA_GRAPH,
    ONTOLOGY_GRAPH,
    OX_FORMATS,
    STORED_AS,
    UnsupportedVocabulary,
    bulk_load_files,
    count,
    written_as_quad,
)
from .shacl_sparql import validate_store
from .sources import SourceError, content_hash, error_message, parse_files, rdf_files
from .stream_rules import Inference, infer_lines
from .validate import Validation

ASSERTED = {"ontology": ONTOLOGY_GRAPH, "data": DATA_GRAPH}
# Input (ontology/ + data/ files) up to this size is validated in memory: our Turtle takes
# ~110 MB per 10^6 triples, and Oxigraph holds them in ~350 MB (3.5 GB at 10^7, measured), so
# 1.2 GB of input stays within the 8 GiB budget of issue #5 with the release's store loading
# alongside (the server files' child starts once the validation store is freed).
MEMORY_STORE_BYTES = int(os.environ.get("KZCN_MEMORY_STORE_BYTES", 1200 << 20))

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
    """The build's validation store and its scratch folder (parsed N-Triples, sort files)."""

    store: ox.Store
    workdir: Path
    # The sorted lines of the union's graphs, from the reasoner (see sorted_graph).
    sorted: dict[str, LineFile] = field(default_factory=dict)

    @classmethod
    def open(cls, found: Inputs, workdir: Path) -> Workspace:
        """The store in memory while the input is small enough (queries run several times
        faster there), on disk in the scratch folder beyond, so that memory stays bounded.
        It only serves validation: the release's store is loaded from the sorted lines."""
        size = sum(file.stat().st_size for name in ASSERTED for file in found.files[name])
        if size <= MEMORY_STORE_BYTES:
            return cls(ox.Store(), workdir)
        return cls(ox.Store(str(workdir / "validation-store")), workdir)

    def parsed(self, name: str) -> Path:
        """The N-Triples of an asserted graph as parsed from its files (unsorted)."""
        return self.workdir / f"{name}.nt"

    def close(self) -> None:
        """Let the validation store go (an empty one takes its place), and its memory with it:
        glibc keeps what Rust frees in its arenas, counted in this process's RSS while the
        release's child processes need it (measured: 4.9 GB kept at 10^7), unless trimmed."""
        self.store = ox.Store()
        with suppress(OSError, AttributeError):  # not glibc: nothing to trim
            ctypes.CDLL("libc.so.6").malloc_trim(0)


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


def parse_files_to(store: ox.Store, files: Sequence[Path], graph: ox.NamedNode, out: Path) -> None:
    """Parse each file once into N-Triples (`out`) while Oxigraph bulk-loads the same files
    into `graph` in a thread, then add the side-graph copies of literals the store would not
    keep as written (rules.STORED_AS). Parsing twice, on both cores, takes less time than
    loading the N-Triples once written (the loader runs in Rust, without the GIL). The error
    reported is the writer's: it names the file and line."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parse") as pool:
        loading = pool.submit(bulk_load_files, store, files, graph)
        with out.open("wb") as ntriples:
            for path in files:
                try:
                    ox.serialize(_parse(path), ntriples, format=ox.RdfFormat.N_TRIPLES)
                except SyntaxError as error:
                    raise _source_error(path, error) from error
        loading.result()
    store.bulk_extend(side_copies(out))  # not transactional: several times cheaper on disk


def _parse(path: Path) -> Iterator[ox.Quad]:
    # As sources.py: relative IRIs against the file's URI.
    return ox.parse(path=path, format=OX_FORMATS[path.suffix], base_iri=path.as_uri())


# The lines that may hold a blank node or a literal the store would not keep as written: found
# in the written N-Triples by a scan, and only those parsed again (looking at every quad as it
# was written, in Python, cost more than writing them). Each pattern opens with a literal, which
# the regex engine looks for first: a pattern such as ^_: would be tried at every byte.
_NOTED = [
    re.compile(rb"_:"),
    re.compile(
        rb"\^\^<http://www\.w3\.org/2001/XMLSchema#(?:"
        + b"|".join(re.escape(t.removeprefix(str(XSD)).encode()) for t in STORED_AS)
        + rb")> \.$",
        re.MULTILINE,
    ),
]


def side_copies(ntriples: Path) -> list[ox.Quad]:
    """The side-graph copies (rules.written_as_quad) of the lines of `ntriples`; input with a
    blank node is refused."""
    side = []
    with ntriples.open("rb") as lines:
        for block in whole_lines(lines, READ_BUFFER):
            noted = b"".join(_noted_lines(block))
            for quad in ox.parse(noted, format=ox.RdfFormat.N_TRIPLES) if noted else ():
                if isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode):
                    raise UnsupportedInput(
                        f"a blank node in {quad}: the scalable engine publishes only graphs "
                        "without blank nodes; build with the reference engine instead"
                    )
                if (copy := written_as_quad(quad)) is not None:
                    side.append(copy)
    return side


def _noted_lines(block: bytes) -> Iterator[bytes]:
    """The lines of `block` where some _NOTED pattern matches, each once, in order."""
    found = (m.start() for pattern in _NOTED for m in pattern.finditer(block))
    for start in sorted({block.rfind(b"\n", 0, at) + 1 for at in found}):
        yield block[start : block.index(b"\n", start) + 1]


def _source_error(path: Path, error: SyntaxError) -> SourceError:
    text = path.read_text(encoding="utf-8", errors="replace")
    return SourceError(path, error.lineno, error_message(Exception(error.msg), text, error.lineno))


# --------------------------------------------------------------------------- check


def check_in(workspace: Workspace, inputs: Inputs, timed: Timer) -> StoreChecked:
    """parse → reason → validate inside the workspace's store."""
    seconds: dict[str, float] = {}
    shapes, asserted, inference = parse_and_reason(workspace, inputs, timed, seconds)
    validation = timed(seconds, "validate", lambda: validate_store(workspace.store, shapes))
    return StoreChecked(inputs.version, asserted, inference.inferred, validation, seconds)


def parse_and_reason(
    workspace: Workspace, inputs: Inputs, timed: Timer, seconds: dict[str, float]
) -> tuple[Graph, int, Inference]:
    """The shapes graph, the number of asserted data triples and the inference."""
    shapes, asserted = timed(seconds, "parse", lambda: parse_into(workspace, inputs))
    return shapes, asserted, timed(seconds, "reason", lambda: reason(workspace))


def reason(workspace: Workspace) -> Inference:
    """The inferred graph from the parsed lines, kept for publishing. Validation reads the
    asserted graphs only (as pyshacl does in validate.py), so it stays out of the store.
    The parsed files go once sorted (at 10^7 triples, gigabytes of disk)."""
    parsed = {name: workspace.parsed(name) for name in ASSERTED}
    inference = infer_lines(parsed, workspace.workdir)
    workspace.sorted = {**inference.asserted, "inferred": inference.lines}
    for path in parsed.values():
        path.unlink()
    return inference


def check(paths: Paths, timed: Timer) -> StoreChecked:
    """Check without publishing, in a temporary folder of the build folder."""
    found = inputs(paths)
    paths.build_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".check-", dir=paths.build_dir))
    try:
        return check_in(Workspace.open(found, folder), found, timed)
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
    """The build in a staged release. The release's store starts at once, from the source
    files (parsing leaves a core idle for its second half, the Python writer alone); once
    reasoned, the release's content is known and the union's merge starts too, on the other
    core while validation runs on this one; a failed check stops them and nothing is
    published."""
    workspace = Workspace.open(found, staged.workdir)
    seconds: dict[str, float] = {}
    sources = {name: found.files[name] for name in ASSERTED}
    with ExitStack() as publishing:
        writer = publishing.enter_context(release_writer(staged.directory, early=sources))
        shapes, asserted = timed(seconds, "parse", lambda: parse_into(workspace, found))
        inference = timed(seconds, "reason", lambda: reason(workspace))
        writer.add_content({name: sorted_graph(workspace, name) for name in UNION_GRAPHS})
        validation = timed(seconds, "validate", lambda: validate_store(workspace.store, shapes))
        checked = StoreChecked(found.version, asserted, inference.inferred, validation, seconds)
        conforming(validation)
        workspace.close()  # its memory goes to the writers (at 10^7: gigabytes)

        def publish() -> None:  # until the store and the server files are complete too
            writer.finish(validation.report, found.version, created, extras)
            publishing.close()

        timed(seconds, "publish", publish)
    return checked


def sorted_graph(workspace: Workspace, name: str) -> SortedLines:
    """The sorted, distinct N-Triples lines of one graph of the union, in a file: as the
    reasoner sorted them (the asserted graphs as parsed, language tags in their case)."""
    return workspace.sorted[name]
