"""The home page's figures (`home-figures.json`), counted once per release from the sorted
N-Triples lines of the union graph that the publish step writes its dumps from.

Each of the page's SPARQL queries (server/pages/home.py, QUERIES) reads the whole graph: at
10^6 triples together they take past 30 s. Here one pass over the lines keeps, per thing, only
what the page counts, and the answers are written as the SPARQL JSON rows those queries give
(tested against them on the real data), so the page reads them exactly as it reads the store's.
The agreements (and so the parties of the network picture) are the first AGREEMENT_LIMIT by
paragraph and IRI: a page must not grow with the graph.
"""

import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from server.build.search_index import (
    Pieces,
    Remembered,
    Values,
    computed,
    term_iri,
    term_literal,
)

KZCN = "https://w3id.org/kzcn/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
SCHEMA_URL = "https://schema.org/url"
NEWS_ARTICLE = "https://schema.org/NewsArticle"
ORGANIZATION, AGREEMENT, INITIATIVE = (
    f"{KZCN}{n}" for n in ("Organization", "Agreement", "Initiative")
)
DOMAIN, UNNAMED, PLANNED = (f"{KZCN}{n}" for n in ("ResearchDomain", "UnnamedParty", "Planned"))
STATUS, CLAIM = f"{KZCN}AgreementStatus", f"{KZCN}CountClaim"
TOTALLED = (ORGANIZATION, AGREEMENT, INITIATIVE, DOMAIN)
COUNTED = frozenset((*TOTALLED, STATUS, CLAIM, NEWS_ARTICLE))  # a thing of none counts for none
PROPERTIES = {
    name: f"{KZCN}{name}"
    for name in [
        "country",
        "status",
        "sourceParagraph",
        "party",
        "establishes",
        "concerns",
        "signedDuring",
        "announcedDuring",
        "claimedMoreThan",
        "claimAbout",
    ]
}
# What the page reads of a thing (a property's short name, or its IRI) → the property as a
# line has it.
TERMS = {
    name: f"<{PROPERTIES.get(name, name)}>".encode()
    for name in (RDF_TYPE, SUBCLASS, SCHEMA_URL, *PROPERTIES)
}
AGREEMENT_LIMIT = 100

Row = dict[str, dict[str, str]]
# Agreements counted together: their types, statuses and events (signed or announced during).
Agreements = tuple[frozenset[str], frozenset[str], frozenset[str]]


@dataclass
class Thing:
    """A subject and its values of the properties read, as its lines have them: decoded when
    asked, as the page reads few of them (an organization's types and countries only)."""

    iri: str
    types: frozenset[str]
    values: Values
    texts: Remembered[bytes, str]

    def __getitem__(self, name: str) -> list[str]:
        return list(map(self.texts.__getitem__, self.values.get(TERMS[name], ())))


def home_figures(union: Iterable[bytes]) -> bytes:
    """The figures file of the union graph, from its sorted canonical N-Triples lines."""
    return computed(union, FiguresFile())


def text(term: bytes) -> str:
    """The value of a term (an IRI or a literal, as its line has it) as text."""
    return (term_iri(term) if term[:1] == b"<" else term_literal(term)[0]).decode()


class FiguresFile:
    """Each subject counted with the values of the properties read."""

    properties = frozenset(TERMS.values())

    def __init__(self) -> None:
        self.counted = Counted()
        self.texts = Remembered(text)  # most come back often: types, statuses, parties
        self.types = Remembered(self._types)  # a thing's type terms → its types (few sets)

    def add(self, subject: bytes, values: Values) -> None:
        # Every subject, even one with none of the properties read: it changes no figure.
        types = self.types[tuple(values.get(TERMS[RDF_TYPE], ()))]
        self.counted.add(Thing(subject.decode(), types, values, self.texts))

    def _types(self, terms: tuple[bytes, ...]) -> frozenset[str]:
        return frozenset(map(self.texts.__getitem__, terms))

    def file(self) -> Pieces:
        rows = self.counted.rows()
        return [(json.dumps(rows, ensure_ascii=False, sort_keys=True) + "\n").encode()]


class Counted:
    """What the page needs, kept small: things counted by the combination of what the page
    asks of them (the combinations are few), and the first agreements in full."""

    def __init__(self) -> None:
        self.subclass: dict[str, set[str]] = defaultdict(set)  # class → its superclasses
        self.organizations: Counter[tuple[frozenset[str], frozenset[str]]] = Counter()
        self.party: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # types, countries
        self.agreements: Counter[Agreements] = Counter()
        self.first: list[tuple[tuple[int, str], int, Thing]] = []  # a heap, negated
        self.initiatives: Counter[frozenset[str]] = Counter()
        self.domains: set[str] = set()
        self.concerned: Counter[str] = Counter()
        self.statuses: set[str] = set()
        self.claims: list[Thing] = []
        self.articles: list[tuple[str, str]] = []
        self.total: Counter[str] = Counter()
        self.unnamed: Counter[str] = Counter()
        self.counter = 0
        self.same: dict[frozenset[str], frozenset[str]] = {}  # one copy of each set of IRIs

    def shared(self, values: Iterable[str]) -> frozenset[str]:
        found = frozenset(values)
        return self.same.setdefault(found, found)

    def add(self, thing: Thing) -> None:
        types = self.shared(thing.types)
        for parent in thing[SUBCLASS]:
            self.subclass[thing.iri].add(parent)
        if types.isdisjoint(COUNTED):
            return
        for cls in types.intersection(TOTALLED):
            self.total[cls] += 1
            self.unnamed[cls] += UNNAMED in types
        if ORGANIZATION in types:
            countries = self.shared(thing["country"])
            self.organizations[(types, countries)] += 1
            self.party[thing.iri] = (types, countries)
        if AGREEMENT in types:
            self.add_agreement(thing, types)
        if INITIATIVE in types:
            self.initiatives[types] += 1
        if DOMAIN in types:
            self.domains.add(thing.iri)
        if STATUS in types:
            self.statuses.add(thing.iri)
        if CLAIM in types and thing["claimedMoreThan"] and thing["claimAbout"]:
            self.claims.append(thing)
        if NEWS_ARTICLE in types:
            self.articles.extend((thing.iri, url) for url in thing[SCHEMA_URL])

    def add_agreement(self, thing: Thing, types: frozenset[str]) -> None:
        events = self.shared(thing["signedDuring"] + thing["announcedDuring"])
        self.agreements[(types, self.shared(thing["status"]), events)] += 1
        self.concerned.update(set(thing["concerns"]))
        paragraphs = [int(p) for p in thing["sourceParagraph"]]
        # Largest key out first: the heap keeps the AGREEMENT_LIMIT smallest.
        key = (min(paragraphs) if paragraphs else 0, thing.iri)
        self.counter += 1
        item = (Negated(key), self.counter, thing)
        if len(self.first) < AGREEMENT_LIMIT:
            heapq.heappush(self.first, item)
        elif item[0] > self.first[0][0]:
            heapq.heapreplace(self.first, item)

    # ----------------------------------------------------------------------- the rows

    def rows(self) -> dict[str, list[Row]]:
        hierarchy = Hierarchy(self.subclass)
        first = sorted((item[2] for item in self.first), key=lambda t: t.iri)
        shown = {party for thing in first for party in thing["party"]}
        return {
            "by_country": self.by_country(),
            "totals": self.totals(),
            "by_type": self.kinds(ORGANIZATION, hierarchy, self.organizations_by_type()),
            "by_kind": self.kinds(AGREEMENT, hierarchy, self.agreements_by_type()),
            "by_status": self.by_status(),
            "initiatives": self.kinds(INITIATIVE, hierarchy, self.initiatives),
            "domains": [
                {"domain": iri(d), "agreements": number(self.concerned[d])}
                for d in sorted(self.domains)
            ],
            "claims": self.claim_rows(),
            "agreements": [row for t in first if (row := agreement_row(t, hierarchy))],
            "parties": [
                party_row(org, *self.party.get(org, (frozenset(), frozenset())), hierarchy)
                for org in sorted(shown)
            ],
            "article": [
                {"article": iri(a), "url": literal(u)} for a, u in sorted(self.articles)[:1]
            ],
        }

    def organizations_by_type(self) -> Counter[frozenset[str]]:
        counts: Counter[frozenset[str]] = Counter()
        for (types, _), n in self.organizations.items():
            counts[types] += n
        return counts

    def agreements_by_type(self) -> Counter[frozenset[str]]:
        counts: Counter[frozenset[str]] = Counter()
        for (types, _, _), n in self.agreements.items():
            counts[types] += n
        return counts

    def by_country(self) -> list[Row]:
        groups: Counter[tuple[str, str]] = Counter()
        unnamed: Counter[tuple[str, str]] = Counter()
        for (types, countries), n in self.organizations.items():
            if countries:
                group = (min(countries), max(countries))
                groups[group] += n
                unnamed[group] += n if UNNAMED in types else 0
        return [
            {
                "first": literal(a),
                "last": literal(b),
                "organizations": number(n),
                "unnamed": number(unnamed[(a, b)]),
            }
            for (a, b), n in sorted(groups.items())
        ]

    def totals(self) -> list[Row]:
        return [
            {"class": iri(c), "count": number(self.total[c]), "unnamed": number(self.unnamed[c])}
            for c in TOTALLED
            if self.total[c]
        ]

    def kinds(
        self, base: str, hierarchy: "Hierarchy", counts: Counter[frozenset[str]]
    ) -> list[Row]:
        """MOST_SPECIFIC_KIND: each thing under each of its most specific kinds of `base`."""
        kinds = hierarchy.under(base)
        totals: Counter[str] = Counter()
        unnamed: Counter[str] = Counter()
        for types, n in counts.items():
            for kind in hierarchy.most_specific(types, kinds, ignoring=UNNAMED):
                totals[kind] += n
                unnamed[kind] += n if UNNAMED in types else 0
        return [
            {"kind": iri(k), "count": number(totals[k]), "unnamed": number(unnamed[k])}
            for k in sorted(totals)
        ]

    def by_status(self) -> list[Row]:
        counts: Counter[str] = Counter()
        for (_, statuses, _), n in self.agreements.items():
            for status in statuses:
                counts[status] += n
        return [{"status": iri(s), "count": number(counts[s])} for s in sorted(self.statuses)]

    def claim_rows(self) -> list[Row]:
        under: dict[str, set[Agreements]] = defaultdict(set)  # an event → its agreements
        for agreements in self.agreements:
            for event in agreements[2]:
                under[event].add(agreements)
        rows = []
        for claim in sorted(self.claims, key=lambda t: t.iri):
            about = set().union(*(under.get(event, ()) for event in set(claim["claimAbout"])))
            enumerated = sum(self.agreements[a] for a in about)
            planned = sum(self.agreements[a] for a in about if PLANNED in a[1])
            for claimed in sorted(set(claim["claimedMoreThan"])):
                rows.append(
                    {
                        "claim": iri(claim.iri),
                        "claimedMoreThan": literal(claimed),
                        "enumerated": number(enumerated),
                        "planned": number(planned),
                    }
                )
        return rows


@dataclass(frozen=True)
class Negated:
    """Orders a key the other way round, so that heapq's smallest is the largest key."""

    key: tuple[int, str]

    def __lt__(self, other: "Negated") -> bool:
        return self.key > other.key

    def __gt__(self, other: "Negated") -> bool:
        return self.key < other.key


class Hierarchy:
    """rdfs:subClassOf as the union graph states it (the build's reasoning included)."""

    def __init__(self, parents: dict[str, set[str]]) -> None:
        self.parents = parents
        self.children: dict[str, set[str]] = defaultdict(set)
        for child, supers in parents.items():
            for parent in supers:
                self.children[parent].add(child)

    def under(self, base: str) -> set[str]:
        """`?kind rdfs:subClassOf* base`: base and everything below it."""
        found, todo = {base}, [base]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def most_specific(self, types: frozenset[str], kinds: set[str], ignoring: str) -> list[str]:
        """The kinds among `types` with no narrower type among them (a direct subClassOf)."""
        return sorted(
            kind
            for kind in types & kinds
            if kind != ignoring
            and not any(
                narrower != kind and narrower != ignoring and kind in self.parents.get(narrower, ())
                for narrower in types
            )
        )


def agreement_row(thing: Thing, hierarchy: Hierarchy) -> Row | None:
    kinds = hierarchy.most_specific(thing.types, hierarchy.under(AGREEMENT), ignoring="")
    if not kinds:
        return None
    row = {
        "agreement": iri(thing.iri),
        "kind": iri(kinds[0]),
        "parties": literal(" ".join(sorted(set(thing["party"])))),
        "establishes": literal(" ".join(sorted(set(thing["establishes"])))),
    }
    if thing["status"]:
        row["status"] = iri(min(thing["status"]))
    if thing["sourceParagraph"]:
        row["paragraph"] = number(min(int(p) for p in thing["sourceParagraph"]))
    return row


def party_row(
    org: str, types: frozenset[str], countries: frozenset[str], hierarchy: Hierarchy
) -> Row:
    kinds = hierarchy.most_specific(types, hierarchy.under(ORGANIZATION), ignoring=UNNAMED)
    row = {
        "org": iri(org),
        "unnamed": number(1 if UNNAMED in types else 0),
        "countries": literal(" ".join(sorted(countries))),
    }
    if kinds:
        row["type"] = iri(kinds[0])
    return row


def iri(value: str) -> dict[str, str]:
    return {"type": "uri", "value": value}


def literal(value: str) -> dict[str, str]:
    return {"type": "literal", "value": value}


def number(value: int) -> dict[str, str]:
    return literal(str(value))
