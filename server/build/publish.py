"""Publish step: write a release directory, then atomically make it the current one.

Layout under `build_dir`:

    releases/<version>-<n>/   one directory per published release (see RELEASE_FILES)
    releases/.tmp-*/          a release being written; renamed only once complete
    current -> releases/<version>-<n>   swapped with os.replace, so readers never see a mix

Every file except the store is byte-identical for the same input graphs, version and date.
That is why nothing here relies on rdflib's serializers: rdflib sorts with Python
comparisons that tie on literals with equal values ("1"^^xsd:integer, "01"^^xsd:integer,
"1.0"^^xsd:decimal), so its Turtle follows insertion order, which upstream steps derive
from set iteration (hash-seed dependent). Instead every graph becomes sorted canonical N-Triples
lines (pyoxigraph), and all formats are written from those lines by one writer
(`write_release`), whichever engine built them: the reference build turns its rdflib graphs
into lines in memory (`publish`); the scalable build (scalable.py) has them sorted on disk.
Every file is written piece by piece from those lines, so memory does not grow with the
graph (the JSON-LD nodes, sorted by @id, go through lines.sort_unique as well).

`release_writer` starts what needs only those lines as soon as they exist: the release's
Oxigraph store, bulk-loaded in a thread, and the union's merge; the scalable build validates
meanwhile. The dumps follow (`finish`), the gzipped one compressed in a thread of its own,
the server files computed by a child process (server_files.py), and the files of all four
graphs written ahead of the metadata graph by another (dataset_dumps.py). Oxigraph, zlib and
hashlib release the GIL, so all of this runs on other cores than the Python writers (at 10^6
triples the store alone takes as long as all the writers together).
"""

from __future__ import annotations

import gc
import logging
import os
import re
import secrets
import shutil
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox
import rdflib
from rdflib.term import BNode, Node, URIRef

from server.build.dataset_dumps import dataset_dumps_alongside
from server.build.formats import json_bytes, jsonld, turtle
from server.build.lines import (
    LineFile,
    LineList,
    SortedLines,
    union_of,
    with_tag_case,
)
from server.build.metadata import describe
from server.build.rules import bulk_load_files
from server.build.server_files import server_files_alongside
from server.build.written import Digest, write_file
from server.release import (
    MANIFEST_JSON,
    METADATA_TURTLE,
    RELEASE_FILES,
    RELEASE_FILES_BY_NAME,
    REPORT_TURTLE,
    SERVER_FILES,
    STORE_DIR,
    UNION_GRAPHS,
    UNION_JSONLD,
    UNION_NTRIPLES_GZ,
    UNION_TURTLE,
    ReleaseFile,
)
from server.vocab import GRAPHS

__all__ = [
    "RELEASE_FILES",
    "ReleaseFile",
    "current_release",
    "publish",
    "release_writer",
    "staged_release",
    "write_release",
]

log = logging.getLogger(__name__)

RELEASES_DIR = "releases"
CURRENT_LINK = "current"
_SAFE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # it becomes a directory name

WORKDIR = ".work"  # inside a staged release: sort files and the like, never published

Lines = list[bytes]  # sorted canonical N-Triples lines, each ending in " .\n"
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal
T = TypeVar("T")


# --------------------------------------------------------------------------- release dirs


def current_release(build_dir: Path) -> Path | None:
    """The release `build_dir/current` points at, or None if there is none (yet)."""
    link = build_dir / CURRENT_LINK
    if not link.is_symlink():
        return None
    target = build_dir / os.readlink(link)
    return target if target.is_dir() else None


def publish(
    build_dir: Path,
    graphs: dict[str, rdflib.Graph],
    report: rdflib.Graph,
    version: str,
    created: date,
    extras: Mapping[str, bytes] | None = None,
) -> Path:
    """Write a release of rdflib graphs, make it current and prune old ones; returns the
    release directory.

    Until `current` is swapped, any failure removes what was written and leaves the previous
    release current.
    """
    if set(graphs) != set(UNION_GRAPHS):
        raise ValueError(f"expected graphs {sorted(UNION_GRAPHS)}, got {sorted(graphs)}")
    with staged_release(build_dir, version) as staged, _cyclic_gc_paused():
        content = _canonical_lines([graphs[name] for name in UNION_GRAPHS])
        lines = {name: LineList(graph) for name, graph in zip(UNION_GRAPHS, content, strict=True)}
        write_release(staged.directory, lines, report, version, created, extras or {})
    return staged.release


@dataclass
class Staged:
    """A release being written (`directory`), and where it went once published (`release`)."""

    directory: Path
    release: Path | None = None

    @property
    def workdir(self) -> Path:
        """Scratch space on the release's own disk, removed before the release is renamed."""
        path = self.directory / WORKDIR
        path.mkdir(exist_ok=True)
        return path


@contextmanager
def staged_release(build_dir: Path, version: str) -> Iterator[Staged]:
    """A temporary release directory to write into; on leaving the block without an error it
    becomes `releases/<version>-<n>` and `current` points to it, on an error it is removed."""
    if not _SAFE_VERSION.fullmatch(version):
        raise ValueError(f"version {version!r} is not usable as a directory name")
    releases = build_dir / RELEASES_DIR
    releases.mkdir(parents=True, exist_ok=True)
    staged = Staged(Path(tempfile.mkdtemp(prefix=".tmp-", dir=releases)))
    where = staged.directory
    try:
        where.chmod(0o755)  # mkdtemp makes it 0700; the server may run as another user
        yield staged
        shutil.rmtree(where / WORKDIR, ignore_errors=True)
        where = _rename_into_place(where, _next_release_dir(releases, version))
        previous = current_release(build_dir)
        _point_current(build_dir, where)
    except BaseException:
        shutil.rmtree(where, ignore_errors=True)
        raise
    staged.release = where
    # Keep the previous release: a running server may still have its store open.
    _prune(releases, keep={where.name} | ({previous.name} if previous else set()))


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Writing allocates millions of short-lived, acyclic objects, and every full collection
    they trigger also walks all terms of the (large) input graphs: pausing the collector cut
    publishing 100k triples from 7.0 s to 5.6 s. Reference counting still frees everything."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _next_release_dir(releases: Path, version: str) -> Path:
    """`<version>-<n>` with the next free n, so rebuilding the same inputs gets a new dir."""
    pattern = re.compile(re.escape(version) + r"-(\d+)")
    taken = [int(m[1]) for p in releases.iterdir() if (m := pattern.fullmatch(p.name))]
    return releases / f"{version}-{max(taken, default=0) + 1}"


def _rename_into_place(staged: Path, target: Path) -> Path:
    if target.exists():  # rename(2) would silently replace an empty directory
        raise FileExistsError(target)
    staged.rename(target)
    return target


def _point_current(build_dir: Path, release: Path) -> None:
    """Swap `current` atomically: a new symlink renamed over the old one."""
    link = build_dir / CURRENT_LINK
    temp_link = build_dir / f".{CURRENT_LINK}-{secrets.token_hex(8)}"
    # Relative target, so the build directory can be moved or mounted elsewhere.
    temp_link.symlink_to(Path(RELEASES_DIR) / release.name, target_is_directory=True)
    try:
        os.replace(temp_link, link)
    except BaseException:
        temp_link.unlink(missing_ok=True)
        raise


def _prune(releases: Path, keep: set[str]) -> None:
    """Remove finished releases not in `keep`. Failing here must not fail the publish: the
    new release is already current."""
    for path in releases.iterdir():
        if path.name in keep or path.name.startswith(".") or not path.is_dir():
            continue  # dot-dirs are builds in progress (or crashed ones; remove by hand)
        try:
            shutil.rmtree(path)
        except OSError as error:
            log.warning("could not prune old release %s: %s", path, error)


# --------------------------------------------------------------------------- release files


def write_release(
    directory: Path,
    content: Mapping[str, SortedLines],
    report: rdflib.Graph,
    version: str,
    created: date,
    extras: Mapping[str, bytes],
) -> None:
    """Write every release file into `directory` from the sorted canonical N-Triples lines of
    each graph of UNION_GRAPHS (the one writer of both build engines)."""
    with release_writer(directory, content) as writer:
        writer.finish(report, version, created, extras)


@contextmanager
def release_writer(
    directory: Path,
    content: Mapping[str, SortedLines] | None = None,
    early: Mapping[str, Sequence[Path]] | None = None,
) -> Iterator[ReleaseWriter]:
    """Start the work that needs only the content lines: the release's store, bulk-loaded in a
    thread, and the union of the graphs, merged in another once `content` is known (given
    here, or later to `add_content`). `early`: graphs whose triples are known before their
    sorted lines are, as the RDF files they come from (the asserted graphs' sources): the
    store starts with them at once, while the scalable build parses and reasons. The block
    then calls `finish`; the
    scalable build validates first, on this core, while the threads run on the other. Leaving
    the block without `finish` (an error, a failed validation) stops them and raises."""
    workdir = directory / WORKDIR
    workdir.mkdir(exist_ok=True)
    known: Future[Mapping[str, SortedLines]] = Future()
    metadata: Future[SortedLines] = Future()
    store = partial(load_store, directory / STORE_DIR, early or {}, known, metadata)

    def stop() -> None:  # what the store's thread may be waiting for
        known.cancel()
        metadata.cancel()

    with _alongside(store, on_error=stop), ExitStack() as merging:

        def merge(content: Mapping[str, SortedLines]) -> Future[SortedLines]:
            union = partial(union_of, [content[name] for name in UNION_GRAPHS], workdir, "union")
            return merging.enter_context(_alongside(union))

        writer = ReleaseWriter(directory, known, metadata, merge)
        if content is not None:
            writer.add_content(content)
        yield writer
        if not writer.finished:
            raise RuntimeError("the release was left unfinished")


@dataclass
class ReleaseWriter:
    """The release files written from the content lines, given what only the end of a build
    knows (the validation report, the version, the date, the extra files)."""

    directory: Path
    content: Future[Mapping[str, SortedLines]]  # the store's thread waits for it
    metadata: Future[SortedLines]  # and then for this
    merge: Callable[[Mapping[str, SortedLines]], Future[SortedLines]]
    union: Future[SortedLines] | None = None
    finished: bool = False

    def add_content(self, content: Mapping[str, SortedLines]) -> None:
        """The sorted lines of every graph of UNION_GRAPHS: the store loads those it does
        not have yet, and the union's merge starts."""
        self.content.set_result(content)
        self.union = self.merge(content)

    def finish(
        self, report: rdflib.Graph, version: str, created: date, extras: Mapping[str, bytes]
    ) -> None:
        """Every file but the store's. The server files are computed alongside the dumps, by
        a child process for lines in files: not during validation, whose store may hold
        gigabytes at once (at 10^7 triples the two would pass 8 GiB together)."""
        if self.union is None:
            raise RuntimeError("the release's content was never given")
        directory, content, union = self.directory, self.content.result(), self.union.result()
        for relative, data in sorted(extras.items()):  # e.g. the example queries, as they are
            (directory / relative).parent.mkdir(parents=True, exist_ok=True)
            write_file(directory / relative, data)
        named = {name: content[name] for name in UNION_GRAPHS}
        workdir = directory / WORKDIR
        with (
            server_files_alongside(directory, union) as served,
            dataset_dumps_alongside(directory, union, named) as dataset,
        ):
            digests = _write_union_dumps(directory, union, workdir)
            (report_lines,) = _canonical_lines([report])
            report_turtle = turtle(LineList(report_lines))
            digests[REPORT_TURTLE] = write_file(directory / REPORT_TURTLE, report_turtle)
            stats = dataset.stats()
            dumps = {name: (d.sha256, d.size) for name, d in digests.items()}
            described = describe(stats, dumps, version, created)
            self.metadata.set_result(metadata := LineList(_metadata_lines(described)))
            named["metadata"] = metadata
            digests[METADATA_TURTLE] = write_file(directory / METADATA_TURTLE, turtle(metadata))
            digests |= dataset.finish(metadata)
        manifest = _manifest(
            version, created, named, stats.triples, digests, sorted(extras), served["files"]
        )
        write_file(directory / MANIFEST_JSON, manifest)
        self.finished = True


@contextmanager
def _alongside(
    work: Callable[[], T], on_error: Callable[[], object] | None = None
) -> Iterator[Future[T]]:
    """Run `work` in a thread while the block runs. Leaving the block waits for it, and raises
    its error if it failed. If the block fails, `on_error` is called first (to release work
    waiting on the block) and the block's error is raised once the thread has ended, so that
    nothing writes into a release being removed; an error of the thread too is noted on it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish") as pool:
        future = pool.submit(work)
        try:
            yield future
        except BaseException as error:
            if on_error is not None:
                on_error()
            pool.shutdown()  # waits
            if not isinstance(also := future.exception(), CancelledError | None):
                error.add_note(f"and, in a thread alongside: {also!r}")
            raise
        future.result()


def _write_union_dumps(directory: Path, union: SortedLines, workdir: Path) -> dict[str, Digest]:
    # The metadata graph is not in these union dumps: it records their sha256, which would
    # otherwise depend on itself.
    # Compressing holds the GIL only between pieces (zlib, hashlib and file I/O release it):
    # it runs alongside the other writers, on another core.
    gzipped = partial(write_file, directory / UNION_NTRIPLES_GZ, _gzip(union.blocks()))
    with _alongside(gzipped) as compressing:
        written = {
            UNION_TURTLE: write_file(directory / UNION_TURTLE, turtle(union)),
            UNION_JSONLD: write_file(directory / UNION_JSONLD, jsonld(union, workdir)),
        }
    return written | {UNION_NTRIPLES_GZ: compressing.result()}


def _gzip(pieces: Iterable[bytes]) -> Iterator[bytes]:
    # Streamed; mtime 0 and no file name in the header: the bytes depend on the content only.
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    for piece in pieces:
        if out := compressor.compress(piece):
            yield out
    yield compressor.flush()


def _metadata_lines(metadata: rdflib.Graph) -> Lines:
    # Labelled apart from the content graphs, a blank node here could clash with theirs.
    if any(isinstance(term, BNode) for triple in metadata for term in triple):
        raise ValueError("the metadata graph must not contain blank nodes")
    (lines,) = _canonical_lines([metadata])
    return lines


def load_store(
    path: Path,
    early: Mapping[str, Sequence[Path]],
    content: Future[Mapping[str, SortedLines]],
    metadata: Future[SortedLines],
) -> None:
    """Build the on-disk store graph by graph — the `early` ones first, then the rest of the
    content once it is known — then add the metadata graph once that is known; it is dropped
    (closed) on return so it can be reopened read-only. A cancelled `metadata` (the release
    failed) stops it at the next graph: a bulk load cannot be interrupted."""
    store = ox.Store(str(path))
    for name, sources in early.items():
        _load_unless_cancelled(store, name, sources, metadata)
    for name, lines in content.result().items():
        if name not in early:
            _load_unless_cancelled(store, name, lines, metadata)
    store.optimize()  # before waiting: the metadata graph is a few hundred triples
    load_graph(store, "metadata", metadata.result())
    store.flush()


def _load_unless_cancelled(
    store: ox.Store,
    name: str,
    lines: SortedLines | Sequence[Path],
    metadata: Future[SortedLines],
) -> None:
    if metadata.cancelled():
        raise CancelledError
    load_graph(store, name, lines)


def load_graph(store: ox.Store, name: str, lines: SortedLines | Sequence[Path]) -> None:
    """Bulk-load the lines of a graph of the release (or the RDF files of its triples) into
    its named graph of `store`; files are read by Oxigraph itself, not through the GIL."""
    graph = ox.NamedNode(str(GRAPHS[name]))
    if isinstance(lines, LineFile):
        store.bulk_load(path=lines.path, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
    elif isinstance(lines, Sequence):
        bulk_load_files(store, lines, graph)
    else:
        store.bulk_load(lines.open(), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


def _manifest(
    version: str,
    created: date,
    named: Mapping[str, SortedLines],
    union_triples: int,
    digests: Mapping[str, Digest],
    extras: Sequence[str],
    served: Mapping[str, tuple[str, int]],
) -> bytes:
    files = {
        name: {"sha256": d.sha256, "bytes": d.size, "media_type": _file(name).media_type}
        for name, d in digests.items()
    }
    graphs = {
        name: {"iri": str(GRAPHS[name]), "triples": len(lines)} for name, lines in named.items()
    }
    manifest = {
        "version": version,
        "created": created.isoformat(),
        "graphs": graphs,
        "union_triples": union_triples,
        "files": files,
        "store": STORE_DIR,
        "extras": list(extras),
        # Read by the server, not downloads (so not in "files"); checked alike on opening.
        "server_files": {
            name: {"sha256": sha256, "bytes": size, "media_type": SERVER_FILES[name]}
            for name, (sha256, size) in served.items()
        },
    }
    return json_bytes(manifest)


def _file(name: str) -> ReleaseFile:
    return RELEASE_FILES_BY_NAME[name]


# --------------------------------------------------------------------------- rdflib → lines


class _Terms:
    """rdflib → pyoxigraph terms. Each rdflib blank node maps to one fresh oxigraph blank
    node (rdflib allows labels oxigraph rejects); canonicalisation renames them anyway."""

    def __init__(self) -> None:
        self.blank_nodes: dict[BNode, ox.BlankNode] = {}

    def __call__(self, term: Node) -> OxTerm:
        # Called ~3 times per triple: the common case (an IRI) is tested first.
        if isinstance(term, URIRef):
            return ox.NamedNode(term)
        if isinstance(term, rdflib.Literal):
            return self._literal(term)
        if isinstance(term, BNode):
            if term not in self.blank_nodes:
                self.blank_nodes[term] = ox.BlankNode()
            return self.blank_nodes[term]
        raise TypeError(f"cannot publish RDF term {term!r}")

    @staticmethod
    def _literal(term: rdflib.Literal) -> ox.Literal:
        if term.language:
            return ox.Literal(term, language=term.language)
        if term.datatype:
            return ox.Literal(term, datatype=ox.NamedNode(term.datatype))
        return ox.Literal(term)


def _canonical_lines(graphs: Sequence[rdflib.Graph]) -> list[Lines]:
    """Sorted canonical N-Triples lines per graph. Blank nodes, if any, get RDFC-1.0 labels
    computed over all the given graphs together (they may share blank nodes)."""
    terms = _Terms()
    triples = [[ox.Triple(terms(s), terms(p), terms(o)) for s, p, o in g] for g in graphs]
    if terms.blank_nodes:
        triples = _canonicalize(triples)
    return [_sorted_ntriples(graph) for graph in triples]


def _canonicalize(graphs: list[list[ox.Triple]]) -> list[list[ox.Triple]]:
    # Placeholder graph names: they only keep the graphs apart while canonicalising.
    names = [ox.NamedNode(f"urn:x-kzcn:graph:{i}") for i in range(len(graphs))]
    dataset = ox.Dataset(
        ox.Quad(t.subject, t.predicate, t.object, name)
        for name, triples in zip(names, graphs, strict=True)
        for t in triples
    )
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return [[q.triple for q in dataset.quads_for_graph_name(name)] for name in names]


def _sorted_ntriples(triples: Iterable[ox.Triple]) -> Lines:
    # Canonical N-Triples writes each term one way, so sorting lines sorts triples.
    ntriples = with_tag_case(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
    return sorted(ntriples.splitlines(keepends=True))
