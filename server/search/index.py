"""The label index and its ranking: every name of every thing, folded once, searched in memory.

An index belongs to one release, which never changes, so there is nothing to keep in sync.
The build writes its tables into the release (`tables.py`, `server/build/search_index.py`):
the server maps them, whatever the size of the graph (10^6 triples: ~580k labels), and a
query reads only the labels that can match (see `Index`). It can also be built from SPARQL
JSON result rows (`from_bindings`), so it can be tested with hand-made rows and no Flask.

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

import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from . import tables
from .tables import ALT_LABEL, NAME_PROPERTIES, Tables, canonical_tag
from .text import fold, typo_distance

__all__ = ["ALT_LABEL", "NAME_PROPERTIES", "Entry", "Hit", "Index", "Label", "Query", "Tier"]


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
    """Search over the tables of a release (`tables.py`). A query never scans every label:
    the tiers are found in turn from the tables — EXACT, ACRONYM and PREFIX as a range of the
    keys in order, WORDS from the labels holding a word the query's first word starts,
    CONTAINED by a substring search of the keys, FUZZY from the words one typo away — and the
    search stops once `limit` things rank above anything a later step could find. Every
    label found is ranked by `match`, as before, so the answers do not depend on the steps."""

    def __init__(self, data: Tables, within: str = "") -> None:
        """Only things whose IRI starts with `within` are found by `search`; the others
        (classes, countries…) are there to be named."""
        self.data, self.within = data, within
        words = data.words
        self.word_ids = {words[i]: i for i in range(len(words))}
        self.vocabulary = Vocabulary(self.word_ids)
        self.entries = Entries(self)

    @classmethod
    def from_bindings(
        cls, rows: Iterable[Mapping[str, Mapping[str, str]]], within: str = ""
    ) -> "Index":
        """From SPARQL JSON bindings of ?s ?p ?o: label literals, rdf:type and kzcn:country."""
        facts = (
            (
                row["s"]["value"],
                row["p"]["value"],
                row["o"]["value"],
                row["o"].get("xml:lang"),
                row["o"].get("type") in ("literal", "typed-literal"),
            )
            for row in rows
            if row["s"].get("type", "uri") == "uri"
        )
        return cls(tables.build(facts), within)

    @classmethod
    def load(cls, path: Path, within: str = "") -> "Index":
        """From a search index file of a release (written by the build)."""
        return cls(tables.load(path), within)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, iri: str) -> "Entry | None":
        found = self.data.iris.find(iri)
        return None if found is None else self.entry(found)

    def entry(self, i: int) -> Entry:
        data = self.data
        labels = range(data.label_start[i], data.label_start[i + 1])
        return Entry(
            data.iris[i],
            [self.label(k) for k in labels],
            [data.iris[t] for t in data.types[i]],
            [data.iris[c] for c in data.countries[i]],
        )

    def label(self, k: int) -> Label:
        data = self.data
        key = data.keys[k]
        prop = NAME_PROPERTIES[data.prop[k]]
        return Label(data.texts[k], data.langs[data.lang[k]], prop, key, tuple(key.split()))

    def search(self, text: str, limit: int = 20, types: Iterable[str] | None = None) -> list[Hit]:
        """The best `limit` things for `text`, each once; with `types`, only things of at
        least one of them (inferred types included, so an organization filter finds
        universities)."""
        query = Query.parse(text, self.vocabulary)
        if not query.key or limit < 1:
            return []
        wanted = None if types is None else self.type_ids(types)
        best: dict[int, tuple[tuple, Hit]] = {}  # entry id → (rank, hit)
        seen: set[int] = set()
        for candidates, tier, ceiling in self.steps(query):
            fresh = [k for k in dict.fromkeys(candidates) if k not in seen]
            seen.update(fresh)
            # Shorter keys first: a label's score only falls as its key grows, so once
            # `limit` things beat the best a longer key could score, the step is done.
            fresh.sort(key=self.data.key_chars.__getitem__)
            length = 0
            for k in fresh:
                if self.data.key_chars[k] != length:
                    length = self.data.key_chars[k]
                    if enough(best, limit, *best_possible(tier, len(query.key), length)):
                        break
                self.consider(query, k, wanted, best)
            if enough(best, limit, ceiling, math.inf):
                break
        ranked = sorted(best.values(), key=lambda found: found[0])[:limit]
        return [self.completed(hit) for _, hit in ranked]

    def type_ids(self, types: Iterable[str]) -> set[int]:
        found = (self.data.iris.find(t) for t in types)
        return {i for i in found if i is not None}

    def steps(self, query: Query) -> Iterator[tuple[Iterable[int], Tier, int]]:
        """Candidate labels, step by step, each with the best tier one of them can reach and
        the best tier a label not found yet can still reach (0: none left)."""
        yield self.starting_with(query.key), Tier.EXACT, Tier.WORDS
        first = self.rarest_word(query)
        exact = [w for w, typos in query.starts.get(first, {}).items() if typos == 0]
        yield self.holding(exact if first else []), Tier.WORDS, Tier.CONTAINED
        yield self.data.keys.containing(query.key), Tier.CONTAINED, Tier.FUZZY
        yield self.holding(list(query.starts.get(first, {})) if first else []), Tier.FUZZY, 0

    def starting_with(self, key: str) -> Iterable[int]:
        """Labels whose key starts with `key`: a range of `by_key`."""
        keys, by_key = self.data.keys, self.data.by_key
        prefix = key.encode("utf-8")
        start = bisect_left(by_key, prefix, key=keys.raw)
        end = bisect_left(by_key, prefix + b"\xff", lo=start, key=keys.raw)  # no UTF-8 has ff
        return by_key[start:end]

    def rarest_word(self, query: Query) -> str | None:
        """The query word whose candidate words are held by the fewest labels: every label
        of the WORDS and FUZZY tiers holds one of them. None when there can be no such
        label (a word past MAX_QUERY_WORDS must match, and never does)."""
        if len(query.words) > MAX_QUERY_WORDS:
            return None
        postings = self.data.postings

        def held(word: str) -> int:
            ids = (self.word_ids[w] for w in query.starts[word])
            return sum(len(postings[i]) for i in ids)

        return min(query.words, key=held)

    def holding(self, words: list[str]) -> Iterator[int]:
        for word in words:
            yield from self.data.postings[self.word_ids[word]]

    def consider(
        self, query: Query, k: int, wanted: set[int] | None, best: dict[int, tuple[tuple, Hit]]
    ) -> None:
        """Rank label `k` and keep it if it is its thing's best so far (on a tie, the
        thing's earlier label)."""
        data = self.data
        i = data.entry[k]
        if wanted is not None and wanted.isdisjoint(data.types[i]):
            return
        iri = data.iris[i]
        if not iri.startswith(self.within):
            return
        hit = match(query, Entry(iri), self.label(k))
        if hit is None:
            return
        rank = (*hit.rank_key(), k)
        if i not in best or rank < best[i][0]:
            best[i] = (rank, hit)

    def completed(self, hit: Hit) -> Hit:
        """A hit with its thing's names, types and countries (found without them)."""
        entry = self.get(hit.entry.iri)
        assert entry is not None
        return Hit(entry, hit.label, hit.tier, hit.score, hit.as_typed)


def best_possible(tier: Tier, query_length: int, key_length: int) -> tuple[int, float]:
    """The best (tier, score) a label of a step can reach, its key being `key_length` long
    (see `match`). The first step finds exact names (as long as the query) and prefixes."""
    if tier == Tier.EXACT and key_length > query_length:
        tier = Tier.PREFIX
    if tier in (Tier.EXACT, Tier.ACRONYM):
        return tier, BASE_SCORE[tier]
    return tier, round(BASE_SCORE[tier] + COVERAGE_POINTS * min(1.0, query_length / key_length), 2)


def enough(best: dict[int, tuple[tuple, Hit]], limit: int, tier: int, score: float) -> bool:
    """Whether `limit` things rank above anything of (tier, score): their place is settled."""
    above = 0
    for _, hit in best.values():
        if hit.tier > tier or (hit.tier == tier and hit.score > score):
            above += 1
            if above >= limit:
                return True
    return False


class Entries(Mapping[str, Entry]):
    """Every thing of an index by IRI, made on demand."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def __getitem__(self, iri: str) -> Entry:
        entry = self.index.get(iri)
        if entry is None:
            raise KeyError(iri)
        return entry

    def __iter__(self) -> Iterator[str]:
        iris = self.index.data.iris
        return (iris[i] for i in range(len(iris)))

    def __len__(self) -> int:
        return len(self.index.data)


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
