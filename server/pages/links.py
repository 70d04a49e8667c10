"""Our IRIs and this server's paths: every IRI under the public base is served here, so a page
links to the local path (the deployment's public base makes them one and the same)."""

from flask import current_app

from ..vocab import PREFIXES


def public_base() -> str:
    return current_app.config["KZCN_SETTINGS"].public_base


def local_path(iri: str) -> str | None:
    """`https://w3id.org/kzcn/id/x` → `/id/x`; None for an IRI that is not ours."""
    base = public_base()
    if iri.startswith(base):
        return "/" + iri[len(base) :]
    return None


def href(iri: str) -> str:
    """Where a link to `iri` should point: our own path, or the IRI itself."""
    return local_path(iri) or iri


def iri_of(path: str) -> str:
    """The IRI a local path serves: `/id/x` → `https://w3id.org/kzcn/id/x`."""
    return public_base() + path.lstrip("/")


def prefixed(iri: str) -> str:
    """A prefixed name for display, the longest namespace winning (inst: over kzcnid:)."""
    best = max((ns for ns in PREFIXES.values() if iri.startswith(ns)), key=len, default=None)
    if best is None or not iri[len(best) :]:
        return iri
    prefix = next(p for p, ns in PREFIXES.items() if ns == best)
    return f"{prefix}:{iri[len(best) :]}"
