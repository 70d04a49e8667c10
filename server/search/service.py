"""Search for the web application: one label index per application, built from the store the
first time anyone searches, and results dressed for readers (names in their language, local
links). The views, the reconciliation API and the not-found page all come through here."""

import json
import logging
import threading
from dataclasses import dataclass

from flask import Flask, current_app

from ..formats import RESULT_FORMATS
from ..pages import languages
from ..pages.links import href, prefixed
from ..store import StoreError
from ..vocab import ID, KZCN, PREFIXES
from .index import ALT_LABEL, Entry, Hit, Index, Label, Tier

log = logging.getLogger(__name__)

EXTENSION = "kzcn_search"
# One lock for building: two first searches at once must not both run the index query.
BUILD_LOCK = threading.Lock()

# Every IRI subject's names, types and country. The default graph is the union of the named
# graphs, so inferred types (a university is an organization) and the generated kk-Latn
# labels are included.
INDEX_QUERY = """
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX schema: <https://schema.org/>
PREFIX kzcn: <https://w3id.org/kzcn/ontology#>
# One VALUES per branch: Virtuoso 7.2 refuses a FILTER with a BIND in UNION branches (SP031).
SELECT DISTINCT ?s ?p ?o WHERE {
  {
    VALUES ?p { rdfs:label skos:prefLabel skos:altLabel schema:name }
    ?s ?p ?o . FILTER (isLiteral(?o))
  }
  UNION { VALUES ?p { rdf:type kzcn:country } ?s ?p ?o . FILTER (isIRI(?o)) }
  FILTER (isIRI(?s))
}
"""


def get_index(app: Flask | None = None) -> Index:
    """The index of the request's release, built on first use (double-checked, so the lock
    is only taken until the index exists), again after a release switch (it is kept with its
    dataset version). A failed build is not cached: the next search retries."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    version = app.extensions["kzcn_queries"].version
    built = app.extensions.get(EXTENSION)  # (dataset version, index)
    if built is None or built[0] != version:
        with BUILD_LOCK:
            built = app.extensions.get(EXTENSION)
            if built is None or built[0] != version:
                built = app.extensions[EXTENSION] = (version, build_index(app))
    return built[1]


def build_index(app: Flask) -> Index:
    service = app.extensions["kzcn_queries"]
    body = service.run(service.job(INDEX_QUERY, RESULT_FORMATS[0]))
    return Index.from_bindings(json.loads(body)["results"]["bindings"], within=str(ID))


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
