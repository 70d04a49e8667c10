"""What the server reads of a published release: `build/current` → manifest and store.

The build writes releases (server/build/publish.py); the server only ever reads them. The
layout of a release — its files and what each holds — is defined here, once, for both."""

import json
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from .vocab import GRAPHS

# The graphs whose union is "the knowledge graph". The metadata graph is left out: it
# describes the union (counts, checksums of its dumps), so it cannot be part of it.
UNION_GRAPHS: tuple[str, ...] = tuple(name for name in GRAPHS if name != "metadata")


class Role(StrEnum):
    """What a release file holds; decides how the metadata graph describes it."""

    UNION = "union"  # the union of UNION_GRAPHS: a checksummed distribution
    DATASET = "dataset"  # all named graphs incl. metadata: a distribution without checksum
    METADATA = "metadata"  # the metadata graph alone
    REPORT = "report"  # the SHACL validation report
    MANIFEST = "manifest"  # machine-readable inventory of the release


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release. `file_type` is a name in the EU file-type authority table."""

    name: str
    media_type: str
    description: str
    role: Role
    file_type: str
    compression: str | None = None  # media type of the compression wrapper, if any


TRIG = "dataset.trig"
NQUADS = "dataset.nq"
UNION_TURTLE = "kzcn-kg.ttl"
UNION_NTRIPLES_GZ = "kzcn-kg.nt.gz"
UNION_JSONLD = "kzcn-kg.jsonld"
METADATA_TURTLE = "metadata.ttl"
REPORT_TURTLE = "validation-report.ttl"
MANIFEST_JSON = "manifest.json"
STORE_DIR = "store"  # the pyoxigraph store: a directory, not a downloadable file
# Read by the server, not downloads: the label index search maps (server/search/tables.py),
# the home page's figures (server/build/home_figures.py) and the things the sitemap lists.
SEARCH_INDEX = "search-index.bin"
HOME_FIGURES = "home-figures.json"
THINGS = "things.txt"  # every IRI under the id namespace with a fact, one per line: the sitemap
# In the manifest under "server_files" (its "files" are the downloads), sizes checked alike.
SERVER_FILES: dict[str, str] = {  # name → media type
    SEARCH_INDEX: "application/octet-stream",
    HOME_FIGURES: "application/json",
    THINGS: "text/plain",
}
CURRENT_LINK = "current"  # build_dir/current -> releases/<version>-<n>

# The single list of release files: the publisher writes exactly these and the server lists
# its downloads from here.
RELEASE_FILES: tuple[ReleaseFile, ...] = (
    ReleaseFile(
        TRIG,
        "application/trig",
        "All named graphs (ontology, data, inferred, metadata) as TriG",
        Role.DATASET,
        "RDF_TRIG",
    ),
    ReleaseFile(
        NQUADS,
        "application/n-quads",
        "All named graphs (ontology, data, inferred, metadata) as sorted N-Quads",
        Role.DATASET,
        "RDF_N_QUADS",
    ),
    ReleaseFile(
        UNION_TURTLE,
        "text/turtle",
        "The knowledge graph (ontology, data and inferred triples) as Turtle",
        Role.UNION,
        "RDF_TURTLE",
    ),
    ReleaseFile(
        UNION_NTRIPLES_GZ,
        "application/n-triples",
        "The knowledge graph (ontology, data and inferred triples) as sorted, gzipped N-Triples",
        Role.UNION,
        "RDF_N_TRIPLES",
        compression="application/gzip",
    ),
    ReleaseFile(
        UNION_JSONLD,
        "application/ld+json",
        "The knowledge graph (ontology, data and inferred triples) as JSON-LD",
        Role.UNION,
        "JSON_LD",
    ),
    ReleaseFile(
        METADATA_TURTLE,
        "text/turtle",
        "VoID and DCAT description of this release",
        Role.METADATA,
        "RDF_TURTLE",
    ),
    ReleaseFile(
        REPORT_TURTLE,
        "text/turtle",
        "SHACL validation report of the data",
        Role.REPORT,
        "RDF_TURTLE",
    ),
    ReleaseFile(
        MANIFEST_JSON,
        "application/json",
        "Release manifest: version, graph sizes, file checksums",
        Role.MANIFEST,
        "JSON",
    ),
)
RELEASE_FILES_BY_NAME: dict[str, ReleaseFile] = {f.name: f for f in RELEASE_FILES}


class ReleaseMissing(Exception):
    """No usable release: the server must not start on half a graph."""


class ReleaseBroken(ReleaseMissing):
    """A release is there but unusable (corrupt or incomplete). Unlike a missing one it is
    not silently rebuilt over: whatever broke it deserves a look first."""


@dataclass(frozen=True)
class Release:
    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def store_path(self) -> Path:
        return self.path / str(self.manifest.get("store", STORE_DIR))


def link_target(build_dir: Path) -> str | None:
    """Where `build_dir/current` points (None if there is no link): one readlink, cheap
    enough to ask often, which is how a running server notices a new release."""
    try:
        return os.readlink(build_dir / CURRENT_LINK)
    except OSError:
        return None


def current(build_dir: Path) -> Release:
    return read(build_dir, link_target(build_dir))


def read(build_dir: Path, target: str | None) -> Release:
    """The release `current` points at, checked cheaply (no file is read but the manifest)."""
    if target is None:
        raise ReleaseMissing(f"No release in {build_dir}: run `kzcn-kg build` first.")
    path = (build_dir / target).resolve()
    if not path.is_dir():
        raise ReleaseBroken(f"{build_dir / CURRENT_LINK} points to {path}, which does not exist.")
    try:
        manifest = json.loads((path / MANIFEST_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReleaseBroken(f"The release {path} has no readable manifest.json: {error}") from None
    if not isinstance(manifest, dict) or "version" not in manifest:
        raise ReleaseBroken(f"The release {path} has a manifest.json without a version.")
    release = Release(path, manifest)
    if not release.store_path.is_dir():
        raise ReleaseBroken(f"The release {path} has no store directory ({release.store_path}).")
    return release


def verify_files(release: Release) -> None:
    """Every file the manifest lists is there with its size. Checksums are not recomputed:
    that would cost a full read of every dump at each start."""
    listed = {**release.manifest.get("files", {}), **release.manifest.get("server_files", {})}
    for name, entry in listed.items():
        path = release.path / name
        size = path.stat().st_size if path.is_file() else None
        if size is None:
            raise ReleaseBroken(
                f"The release {release.path} lacks {name}, which its manifest lists."
            )
        if size != entry.get("bytes"):
            raise ReleaseBroken(
                f"The release {release.path} has {name} of {size} bytes; "
                f"its manifest says {entry.get('bytes')}."
            )


def graph_checks(release: Release) -> list[tuple[str, str]]:
    """(graph name, ASK query) for every graph the manifest counts triples in: the store
    must hold each, or it is half a graph."""
    return [
        (name, f"ASK {{ GRAPH <{graph['iri']}> {{ ?s ?p ?o }} }}")
        for name, graph in release.manifest.get("graphs", {}).items()
        if graph.get("triples")
    ]
