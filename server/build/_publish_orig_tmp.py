"""Publish step: write a release directory, then atomically make it the current one.

Layout under `build_dir`:

    releases/<version>-<n>/   one directory per published release (see RELEASE_FILES)
    releases/.tmp-*/          a release being written; renamed only once complete
    current -> releases/<version>-<n>   swapped with os.replace, so readers never see a mix

Every file except the store is byte-identical for the same input graphs, version and date.
That is why nothing here relies on rdflib's serializers: rdflib sorts with Python
comparisons that tie on literals with equal values ("1"^^xsd:integer, "01"^^xsd:integer,
"1.0"^^xsd:decimal), so its Turtle follows insertion order, which upstream steps derive
from set iteration (hash-seed dependent). Instead every graph becomes a sorted list of
canonical N-Triples lines (pyoxigraph), and all formats are written from those lines.
"""

from __future__ import annotations

import gc
import gzip
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from itertools import groupby
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import rdflib
from rdflib.namespace import RDF, XSD
from rdflib.term import BNode, Node, URIRef

from server.build.metadata import UnionStats, describe, split_iri
from server.release import (
    MANIFEST_JSON,
    METADATA_TURTLE,
    NQUADS,
    RELEASE_FILES,
    RELEASE_FILES_BY_NAME,
    REPORT_TURTLE,
    STORE_DIR,
    TRIG,
    UNION_GRAPHS,
    UNION_JSONLD,
    UNION_NTRIPLES_GZ,
    UNION_TURTLE,
    ReleaseFile,
)
from server.vocab import GRAPHS, PREFIXES

__all__ = ["RELEASE_FILES", "ReleaseFile", "current_release", "publish"]

log = logging.getLogger(__name__)

RELEASES_DIR = "releases"
CURRENT_LINK = "current"
_SAFE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # it becomes a directory name

_RDF_TYPE = ox.NamedNode(str(RDF.type))
_XSD_STRING = ox.NamedNode(str(XSD.string))
_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}
# Conservative PN_LOCAL (ASCII, no escapes): anything else is written as a full <IRI>.
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_INDENT = "    "
_LINE_WIDTH = 100

Lines = list[bytes]  # sorted canonical N-Triples lines, each ending in " .\n"
OxTerm = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int


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
    """Write a release, make it current and prune old ones; returns the release directory.

    Until `current` is swapped, any failure removes what was written and leaves the previous
    release current.
    """
    _check_inputs(graphs, version)
    releases = build_dir / RELEASES_DIR
    releases.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".tmp-", dir=releases))
    try:
        staged.chmod(0o755)  # mkdtemp makes it 0700; the server may run as another user
        with _cyclic_gc_paused():
            _write_release(staged, graphs, report, version, created, extras or {})
        staged = _rename_into_place(staged, _next_release_dir(releases, version))
        previous = current_release(build_dir)
        _point_current(build_dir, staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    # Keep the previous release: a running server may still have its store open.
    _prune(releases, keep={staged.name} | ({previous.name} if previous else set()))
    return staged


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


def _check_inputs(graphs: Mapping[str, rdflib.Graph], version: str) -> None:
    if set(graphs) != set(UNION_GRAPHS):
        raise ValueError(f"expected graphs {sorted(UNION_GRAPHS)}, got {sorted(graphs)}")
    if not _SAFE_VERSION.fullmatch(version):
        raise ValueError(f"version {version!r} is not usable as a directory name")


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


def _write_release(
    directory: Path,
    graphs: Mapping[str, rdflib.Graph],
    report: rdflib.Graph,
    version: str,
    created: date,
    extras: Mapping[str, bytes],
) -> None:
    for relative, data in sorted(extras.items()):  # e.g. the example queries, as they are
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        _write(directory / relative, data)
    content = _canonical_lines([graphs[name] for name in UNION_GRAPHS])
    named = dict(zip(UNION_GRAPHS, content, strict=True))
    union = sorted(set().union(*content))
    digests = _write_union_dumps(directory, union)
    (report_lines,) = _canonical_lines([report])
    digests[REPORT_TURTLE] = _write(directory / REPORT_TURTLE, _turtle(report_lines))
    stats = UnionStats.count(union, {name: len(lines) for name, lines in named.items()})
    dumps = {name: (d.sha256, d.size) for name, d in digests.items()}
    named["metadata"] = _metadata_lines(describe(stats, dumps, version, created))
    digests |= _write_dataset_dumps(directory, named)
    manifest = _manifest(version, created, named, stats.triples, digests, sorted(extras))
    _write(directory / MANIFEST_JSON, manifest)


def _write_union_dumps(directory: Path, union: Lines) -> dict[str, Digest]:
    # The metadata graph is not in these union dumps: it records their sha256, which would
    # otherwise depend on itself.
    return {
        UNION_TURTLE: _write(directory / UNION_TURTLE, _turtle(union)),
        UNION_NTRIPLES_GZ: _write(directory / UNION_NTRIPLES_GZ, _gzip(b"".join(union))),
        UNION_JSONLD: _write(directory / UNION_JSONLD, _jsonld(union)),
    }


def _write_dataset_dumps(directory: Path, named: Mapping[str, Lines]) -> dict[str, Digest]:
    """The files holding all four named graphs, and the store built from the same N-Quads."""
    nquads = _nquads(named)
    _load_store(directory / STORE_DIR, nquads)
    return {
        METADATA_TURTLE: _write(directory / METADATA_TURTLE, _turtle(named["metadata"])),
        TRIG: _write(directory / TRIG, _trig(named)),
        NQUADS: _write(directory / NQUADS, nquads),
    }


def _write(path: Path, data: bytes) -> Digest:
    """Write and fsync a file (the rename that publishes it must not outrun its contents)."""
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Digest(hashlib.sha256(data).hexdigest(), len(data))


def _gzip(data: bytes) -> bytes:
    # mtime=0 and no file name in the header: the bytes depend on the content only.
    return gzip.compress(data, compresslevel=6, mtime=0)


def _metadata_lines(metadata: rdflib.Graph) -> Lines:
    # Labelled apart from the content graphs, a blank node here could clash with theirs.
    if any(isinstance(term, BNode) for triple in metadata for term in triple):
        raise ValueError("the metadata graph must not contain blank nodes")
    (lines,) = _canonical_lines([metadata])
    return lines


def _load_store(path: Path, nquads: bytes) -> None:
    """Build the on-disk store; it is dropped (closed) on return so it can be reopened
    read-only."""
    store = ox.Store(str(path))
    store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
    store.optimize()
    store.flush()


def _manifest(
    version: str,
    created: date,
    named: Mapping[str, Lines],
    union_triples: int,
    digests: Mapping[str, Digest],
    extras: Sequence[str],
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
    }
    return _json_bytes(manifest)


def _file(name: str) -> ReleaseFile:
    return RELEASE_FILES_BY_NAME[name]


def _json_bytes(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, indent=1)
    return (text + "\n").encode("utf-8")


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
    return sorted(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).splitlines(keepends=True))


def _parse(lines: Lines) -> Iterator[ox.Quad]:
    return ox.parse(
        b"".join(lines), format=ox.RdfFormat.N_TRIPLES, rename_blank_nodes=False, lenient=True
    )


def _nquads(named: Mapping[str, Lines]) -> bytes:
    """N-Quads by inserting the graph IRI into each canonical N-Triples line, then sorting."""
    quads = [
        line[:-3] + f" <{GRAPHS[name]}> .\n".encode()
        for name, lines in named.items()
        for line in lines
    ]
    return b"".join(sorted(quads))


# --------------------------------------------------------------------------- Turtle / TriG


@lru_cache(maxsize=1 << 16)  # predicates, classes and linked things recur on many lines
def _pname(iri: str) -> str | None:
    """`prefix:local` for IRIs in a PREFIXES namespace with a plain local name."""
    namespace, local = split_iri(iri)
    prefix = _PREFIX_OF.get(namespace)
    if prefix is None or not _LOCAL_NAME.fullmatch(local):
        return None
    return f"{prefix}:{local}"


def _ttl_term(term: OxTerm) -> str:
    if isinstance(term, ox.NamedNode):
        return _pname(term.value) or str(term)
    if isinstance(term, ox.Literal) and term.language is None and term.datatype != _XSD_STRING:
        # The canonical form is "lexical"^^<datatype>; '^' cannot occur in an IRI.
        lexical, _ = str(term).rsplit("^^", 1)
        return f"{lexical}^^{_ttl_term(term.datatype)}"
    return str(term)  # blank nodes, language-tagged and plain literals: canonical form


def _predicate_objects(quads: Iterable[ox.Quad]) -> list[tuple[str, list[str]]]:
    """One subject's (predicate, objects) in line order, but rdf:type first (as `a`)."""
    pairs = sorted(((q.predicate, q.object) for q in quads), key=lambda po: po[0] != _RDF_TYPE)
    return [
        ("a" if p == _RDF_TYPE else _ttl_term(p), [_ttl_term(po[1]) for po in group])
        for p, group in groupby(pairs, key=lambda po: po[0])
    ]


def _subject_block(subject: OxTerm, quads: Iterable[ox.Quad], indent: str) -> str:
    parts = []
    for predicate, objects in _predicate_objects(quads):
        head = f"{predicate} {', '.join(objects)}"
        if len(indent) + len(_INDENT) + len(head) > _LINE_WIDTH and len(objects) > 1:
            head = f"{predicate} " + f",\n{indent}{_INDENT * 2}".join(objects)
        parts.append(head)
    body = f" ;\n{indent}{_INDENT}".join(parts)
    return f"{indent}{_ttl_term(subject)} {body} .\n"


def _turtle_body(lines: Lines, indent: str = "") -> str:
    """Subjects in line order (lines sharing a subject are adjacent once sorted)."""
    blocks = (
        _subject_block(subject, quads, indent)
        for subject, quads in groupby(_parse(lines), key=lambda q: q.subject)
    )
    return "\n".join(blocks)


def _prefix_header() -> str:
    return "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()) + "\n"


def _turtle(lines: Lines) -> bytes:
    return (_prefix_header() + _turtle_body(lines)).encode("utf-8")


def _trig(named: Mapping[str, Lines]) -> bytes:
    graphs = (
        f"<{GRAPHS[name]}> {{\n{_turtle_body(lines, _INDENT)}}}\n" for name, lines in named.items()
    )
    return (_prefix_header() + "\n".join(graphs)).encode("utf-8")


# --------------------------------------------------------------------------- JSON-LD


def _jsonld_iri(term: ox.NamedNode | ox.BlankNode) -> str:
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return _pname(term.value) or term.value


def _jsonld_value(term: OxTerm) -> dict[str, str]:
    if not isinstance(term, ox.Literal):
        return {"@id": _jsonld_iri(term)}
    if term.language is not None:
        return {"@value": term.value, "@language": term.language}
    if term.datatype == _XSD_STRING:
        return {"@value": term.value}
    return {"@value": term.value, "@type": _jsonld_iri(term.datatype)}


def _jsonld_node(subject: ox.NamedNode | ox.BlankNode, quads: Iterable[ox.Quad]) -> dict[str, Any]:
    node: dict[str, Any] = {"@id": _jsonld_iri(subject)}
    for q in quads:
        if q.predicate == _RDF_TYPE and isinstance(q.object, ox.NamedNode):
            node.setdefault("@type", []).append(_jsonld_iri(q.object))
        else:
            node.setdefault(_jsonld_iri(q.predicate), []).append(_jsonld_value(q.object))
    return node


def _canonical_jsonld(nodes: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort nodes by @id and every value list, so the document depends on content only."""
    sorted_nodes = [
        {k: sorted(v, key=_jsonld_sort_key) if isinstance(v, list) else v for k, v in node.items()}
        for node in nodes
    ]
    return sorted(sorted_nodes, key=lambda node: node["@id"])


def _jsonld_sort_key(value: str | dict[str, str]) -> tuple[tuple[str, str], ...]:
    # Values are @type strings or flat {"@id"|"@value", "@language"|"@type": str} objects.
    return (("", value),) if isinstance(value, str) else tuple(sorted(value.items()))


def _jsonld(lines: Lines) -> bytes:
    nodes = [
        _jsonld_node(subject, quads)
        for subject, quads in groupby(_parse(lines), key=lambda q: q.subject)
    ]
    return _json_bytes({"@context": dict(PREFIXES), "@graph": _canonical_jsonld(nodes)})
