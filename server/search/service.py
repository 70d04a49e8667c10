"""Search for the web application: one label index per application, the one the build wrote
into the release being served, loaded the first time anyone searches (whichever store answers
the queries: it is read from the release directory), and results dressed for readers (names
in their language, local links). The views, the reconciliation API and the not-found page all
come through here."""

import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app

from ..build import search_index  # a module, not a name: the build imports tables from here
from ..current_release import EXTENSION as RELEASE_EXTENSION
from ..pages import languages
from ..pages.links import href, prefixed
from ..release import SEARCH_INDEX, UNION_NTRIPLES_GZ, Release
from ..store import StoreError
from ..vocab import ID, KZCN, PREFIXES
from .index import ALT_LABEL, Entry, Hit, Index, Label, Tier

log = logging.getLogger(__name__)

EXTENSION = "kzcn_search"
# One lock for loading: two first searches at once must not both read the index.
BUILD_LOCK = threading.Lock()


def get_index(app: Flask | None = None) -> Index:
    """The index of the request's release, loaded on first use (double-checked, so the lock
    is only taken until the index exists), again after a release switch (it is kept with its
    dataset version). A failed load is not cached: the next search retries."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    release = app.extensions[RELEASE_EXTENSION].pinned().release
    built = app.extensions.get(EXTENSION)  # (dataset version, index)
    if built is None or built[0] != release.version:
        with BUILD_LOCK:
            built = app.extensions.get(EXTENSION)
            if built is None or built[0] != release.version:
                built = app.extensions[EXTENSION] = (release.version, load_index(release))
    return built[1]


def load_index(release: Release) -> Index:
    """The index file the build wrote into the release, mapped, whichever store serves the
    queries (the release directory is there either way). A release published before there
    was such a file gets its index made from its N-Triples dump instead, in memory."""
    path = release.path / SEARCH_INDEX
    if path.is_file():
        return Index.load(path, within=str(ID))
    log.warning("%s has no %s: indexing %s", release.path, SEARCH_INDEX, UNION_NTRIPLES_GZ)
    return Index(search_index.from_dump(release.path / UNION_NTRIPLES_GZ), within=str(ID))


@dataclass(frozen=True)
class Named:
    """A linked thing with a name in the reader's language (a type, a country)."""

    iri: str
    label: str
    lang: str | None
    url: str

    def as_json(self) -> dict[str, str | None]:
        return {"iri": self.iri, "label": self.label, "lang": self.lang}


@dataclass(frozen=True)
class Result:
    iri: str
    label: str  # its name in the reader's language (or the best fallback)
    lang: str | None
    fallback: bool  # the name is not in the reader's language
    matched: str  # the name the query matched
    matched_lang: str | None
    types: tuple[Named, ...]  # our ontology's types, most specific first
    countries: tuple[Named, ...]
    score: float
    url: str  # where to link: the local path for our IRIs
    exact: bool  # the query is one of its names or acronyms

    def as_json(self) -> dict[str, object]:
        return {
            "iri": self.iri,
            "label": self.label,
            "lang": self.lang,
            "matched": self.matched,
            "matched_lang": self.matched_lang,
            "types": [t.as_json() for t in self.types],
            "score": self.score,
            "url": self.url,
        }

    @property
    def description(self) -> str:
        """A line to tell namesakes apart: "Higher education institution · China"."""
        return " · ".join(n.label for n in (*self.types[:1], *self.countries))


def search(
    query: str,
    limit: int = 20,
    types: list[str] | None = None,
    language: str | None = None,
) -> list[Result]:
    """The best matches for `query`, named in `language` (the reader's by default)."""
    namer = Namer.for_request(language)
    return [namer.result(hit) for hit in namer.index.search(query, limit, types)]


def suggest(query: str, limit: int = 5) -> list[Result]:
    """A few things a reader may have meant, for the not-found page. That page must render
    even when the store cannot answer, so a store failure here means no suggestions."""
    try:
        return search(query, limit)
    except StoreError as error:
        log.warning("no suggestions for %r: %s", query, error.message)
        return []


def result_for(entry: Entry, language: str | None = None) -> Result:
    """A thing asked for by its identifier: a perfect match, as the reconciliation spec
    expects of a query that is an entity's id."""
    return Namer.for_request(language).dress(entry, None, 100.0, exact=True)


def entry_of(identifier: str) -> Entry | None:
    """The thing an identifier names: a full IRI or a prefixed name (`inst:alt-university`)."""
    iri = expand(identifier.strip())
    entry = get_index().get(iri)
    return entry if entry is not None and iri.startswith(str(ID)) else None


def expand(name: str) -> str:
    """`kzcn:Company` → its IRI; anything else (a full IRI) is returned as it is."""
    prefix, colon, local = name.partition(":")
    if colon and prefix in PREFIXES and not local.startswith("//"):
        return PREFIXES[prefix] + local
    return name


class Namer:
    """Names things in one language for one request, remembering each name it looks up
    (twenty results share a handful of types and two countries)."""

    def __init__(self, index: Index, language: str, properties: tuple[str, ...]) -> None:
        self.index, self.language, self.properties = index, language, properties
        self.names: dict[str, languages.Label] = {}

    @classmethod
    def for_request(cls, language: str | None = None) -> "Namer":
        """In the reader's language, with the configured label chain (skos:altLabel last)."""
        chain = current_app.config["KZCN_SETTINGS"].label_chain
        properties = (*(expand(name) for name in chain), ALT_LABEL)
        return cls(get_index(), language or languages.current(), properties)

    def name(self, iri: str) -> languages.Label:
        if iri not in self.names:
            entry = self.index.get(iri)
            label = languages.choose(entry.names(self.properties), self.language) if entry else None
            self.names[iri] = label or languages.Label(prefixed(iri), None, True)
        return self.names[iri]

    def named(self, iri: str) -> Named:
        label = self.name(iri)
        return Named(iri, label.text, label.lang, href(iri))

    def result(self, hit: Hit) -> Result:
        return self.dress(hit.entry, hit.label, hit.score, exact=hit.tier >= Tier.ACRONYM)

    def dress(self, entry: Entry, matched: Label | None, score: float, exact: bool) -> Result:
        """A thing as a reader sees it: its name in their language, its types and country
        named too, and a link that stays on this server."""
        label = self.name(entry.iri)
        return Result(
            iri=entry.iri,
            label=label.text,
            lang=label.lang,
            fallback=label.fallback,
            matched=matched.text if matched else label.text,
            matched_lang=matched.lang if matched else label.lang,
            types=tuple(self.named(t) for t in display_types(entry)),
            countries=tuple(self.named(c) for c in entry.countries),
            score=score,
            url=href(entry.iri),
            exact=exact,
        )


def display_types(entry: Entry) -> list[str]:
    """Our ontology's types only: schema.org, FOAF, ORG and PROV restate them and would
    crowd the badges. A thing with none of ours shows all of its types."""
    ours = [t for t in entry.types if t.startswith(str(KZCN))]
    return ours or entry.types
