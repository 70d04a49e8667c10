"""The label index and its ranking: every name of every thing, folded once, searched in memory.

The graph is small (a few thousand triples, about a thousand labels), so a query is a linear
scan over pre-folded labels — a millisecond or two — and there is nothing to keep in sync:
an index belongs to one release, which never changes. Built from SPARQL JSON result rows
(`from_bindings`), so it can be tested with hand-made rows and no Flask at all.

Ranking, best first (each label of a thing is tried; the thing keeps its best):

1. EXACT     the query is one of its names (skos:prefLabel, rdfs:label, schema:name);
2. ACRONYM   the query is one of its skos:altLabel, where the data keeps acronyms (KazNU,
             NCWU, ENU…) and other alternative names;
3. PREFIX    a name starts with the query;
4. WORDS     every query word starts a word of a name, in any order;
5. CONTAINED the query occurs inside a name (mid-word, and Chinese, which has no spaces);
6. FUZZY     every query word starts a word of a name, or would but for one typo (words of
             five letters or more: see `text.typo_distance`).

All comparisons are between folded forms (see `text.fold`). Within a tier the label the
query covers more of wins, so shorter labels come first; then a label holding the query
exactly as typed; then the IRI decides.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

from .text import fold, typo_distance

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
NAME_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "https://schema.org/name",
    ALT_LABEL,
)
COUNTRY = "https://w3id.org/kzcn/ontology#country"


class Tier(IntEnum):
    FUZZY = 1
    CONTAINED = 2
    WORDS = 3
    PREFIX = 4
    ACRONYM = 5
    EXACT = 6


# Scores: a tier's base, plus up to 9 for how much of the label the query covers, so that
# scores never cross tiers (and a reconciliation client can read them on a 0–100 scale).
BASE_SCORE = {
    Tier.EXACT: 100.0,
    Tier.ACRONYM: 90.0,
    Tier.PREFIX: 80.0,
    Tier.WORDS: 70.0,
    Tier.CONTAINED: 60.0,
    Tier.FUZZY: 50.0,
}
COVERAGE_POINTS = 9.0
TYPO_PENALTY = 4.0  # per edit, so one typo ranks above two
# Every query word is compared with the whole vocabulary, so a query's cost grows with its
# words: past this many characters (more than the longest name, 170) the rest is ignored.
MAX_QUERY_LENGTH = 300
# Likewise for words: the longest name has 21. Words past this many are matched by the
# whole-query tiers only (exact, prefix, contained).
MAX_QUERY_WORDS = 30


def canonical_tag(tag: str | None) -> str | None:
    """BCP 47 case conventions (Oxigraph lower-cases tags): kk-latn → kk-Latn,
    zh-hans → zh-Hans, en-gb → en-GB."""
    if not tag:
        return None
    first, *rest = tag.split("-")
    parts = [first.lower()]
    for part in rest:
        if len(part) == 4 and part.isalpha():
            parts.append(part.title())
        elif len(part) == 2 and part.isalpha():
            parts.append(part.upper())
        else:
            parts.append(part.lower())
    return "-".join(parts)


@dataclass(frozen=True)
class Label:
    text: str
    lang: str | None
    property: str  # the full IRI of the label property
    key: str  # the folded text
    words: tuple[str, ...]

    @classmethod
    def of(cls, text: str, lang: str | None, prop: str) -> "Label":
        key = fold(text)
        return cls(text, canonical_tag(lang), prop, key, tuple(key.split()))

    @property
    def is_alternative(self) -> bool:
        return self.property == ALT_LABEL


@dataclass
class Entry:
    """One thing: its names, its types (most specific first) and its country."""

    iri: str
    labels: list[Label] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)

    def names(self, properties: Iterable[str]) -> list[tuple[str, str | None]]:
        """(text, language) of its labels, property by property in the order given, for
        `languages.choose`."""
        return [
            (label.text, label.lang)
            for prop in properties
            for label in self.labels
            if label.property == prop
        ]


@dataclass(frozen=True)
class Hit:
    entry: Entry
    label: Label  # the label that matched best
    tier: Tier
    score: float
    as_typed: bool  # the label holds the query as typed, in its script and letters

    def rank_key(self) -> tuple[int, float, bool, int, str]:
        # `as_typed` settles ties between a name and its transliteration (Цинхуа and
        # Tsinhua fold alike): the one in the reader's own script is the one to show.
        return (-self.tier, -self.score, not self.as_typed, len(self.label.text), self.entry.iri)


@dataclass
class Query:
    """A query, folded once, with the label words each of its words starts (0 typos) or
    nearly starts (1 typo): worked out once against the vocabulary, not once per label."""

    text: str
    key: str
    words: tuple[str, ...]
    starts: dict[str, dict[str, int]]  # query word → {label word: typos}

    @classmethod
    def parse(cls, text: str, vocabulary: "Vocabulary") -> "Query":
        text = text.strip()[:MAX_QUERY_LENGTH]
        key = fold(text)
        words = tuple(dict.fromkeys(key.split()))
        starts: dict[str, dict[str, int]] = {word: {} for word in words}
        for word in words[:MAX_QUERY_WORDS]:
            for candidate in vocabulary.candidates(word):
                typos = typo_distance(word, candidate)
                if typos is not None:
                    starts[word][candidate] = typos
        return cls(text, key, words, starts)


class Vocabulary:
    """Every word of every name, filed by its first and by its second letter. A word that a
    query word starts with at most one typo has one of the query word's first two letters
    in one of those two places (a wrong, added, missing or swapped letter moves the match
    by one place at most: see `text.typo_distance`), so a query word is compared with four
    files only, not with every word: a batch of long queries stays cheap."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        self.files: dict[tuple[int, str], set[str]] = defaultdict(set)
        for word in self.words:
            for place, letter in enumerate(word[:2]):
                self.files[(place, letter)].add(word)

    def candidates(self, query_word: str) -> set[str]:
        return set().union(
            *(self.files.get((place, letter), ()) for place in (0, 1) for letter in query_word[:2])
        )


class Index:
    def __init__(self, entries: Mapping[str, Entry], within: str = "") -> None:
        """`entries` by IRI; only things whose IRI starts with `within` are found by
        `search` — the others (classes, countries' names…) are there to be named."""
        self.entries = dict(entries)
        self.searchable = [
            (entry, label)
            for iri, entry in sorted(self.entries.items())
            if iri.startswith(within)
            for label in entry.labels
            if label.key
        ]
        self.vocabulary = Vocabulary(word for _, label in self.searchable for word in label.words)

    @classmethod
    def from_bindings(
        cls, rows: Iterable[Mapping[str, Mapping[str, str]]], within: str = ""
    ) -> "Index":
        """From SPARQL JSON bindings of ?s ?p ?o: label literals, rdf:type and kzcn:country."""
        entries: dict[str, Entry] = {}
        seen: set[tuple[str, str, str, str | None]] = set()
        for row in rows:
            subject, prop, value = row["s"]["value"], row["p"]["value"], row["o"]
            lang = value.get("xml:lang")
            fact = (subject, prop, value["value"], lang)
            if fact in seen:  # the same triple in two named graphs
                continue
            seen.add(fact)
            entry = entries.setdefault(subject, Entry(subject))
            if prop == RDF_TYPE:
                entry.types.append(value["value"])
            elif prop == COUNTRY:
                entry.countries.append(value["value"])
            elif value.get("type") == "literal" and prop in NAME_PROPERTIES:
                entry.labels.append(Label.of(value["value"], lang, prop))
        order_types(entries.values())
        return cls(entries, within)

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, iri: str) -> Entry | None:
        return self.entries.get(iri)

    def search(self, text: str, limit: int = 20, types: Iterable[str] | None = None) -> list[Hit]:
        """The best `limit` things for `text`, each once; with `types`, only things of at
        least one of them (inferred types included, so an organization filter finds
        universities)."""
        query = Query.parse(text, self.vocabulary)
        if not query.key or limit < 1:
            return []
        wanted = set(types) if types else None
        best: dict[str, Hit] = {}
        for entry, label in self.searchable:
            if wanted is not None and wanted.isdisjoint(entry.types):
                continue
            hit = match(query, entry, label)
            if hit is None:
                continue
            known = best.get(entry.iri)
            if known is None or hit.rank_key() < known.rank_key():
                best[entry.iri] = hit
        return sorted(best.values(), key=Hit.rank_key)[:limit]


def order_types(entries: Iterable[Entry]) -> None:
    """Most specific type first. A subclass never has more instances than its superclass, so
    fewer instances means narrower (HigherEducationInstitution before Organization) without
    reading the class hierarchy; ties go by IRI."""
    entries = list(entries)
    instances = Counter(t for entry in entries for t in set(entry.types))
    for entry in entries:
        entry.types = sorted(set(entry.types), key=lambda t: (instances[t], t))
        entry.countries = sorted(set(entry.countries))


def match(query: Query, entry: Entry, label: Label) -> Hit | None:
    tier, edits = classify(query, label)
    if tier is None:
        return None
    score = BASE_SCORE[tier]
    if tier not in (Tier.EXACT, Tier.ACRONYM):
        score += COVERAGE_POINTS * min(1.0, len(query.key) / len(label.key))
    score -= TYPO_PENALTY * edits
    as_typed = query.text.casefold() in label.text.casefold()
    return Hit(entry, label, tier, round(score, 2), as_typed)


def classify(query: Query, label: Label) -> tuple[Tier | None, int]:
    """The tier at which `label` matches, and the number of typos it took."""
    if label.key == query.key:
        return (Tier.ACRONYM if label.is_alternative else Tier.EXACT), 0
    if label.key.startswith(query.key):
        return Tier.PREFIX, 0
    typos = typos_needed(query, label)
    if typos == 0:
        return Tier.WORDS, 0
    if query.key in label.key:
        return Tier.CONTAINED, 0
    return (Tier.FUZZY, typos) if typos is not None else (None, 0)


def typos_needed(query: Query, label: Label) -> int | None:
    """How many typos it takes for every query word to start a word of the label (0: none,
    every word is a prefix), or None when some query word starts none."""
    total = 0
    for q in query.words:
        starts = query.starts[q]
        options = [starts[word] for word in label.words if word in starts]
        if not options:
            return None
        total += min(options)
    return total
