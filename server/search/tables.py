"""The search index as a few flat tables: what the build writes into a release
(`search-index.bin`) and the server maps into memory, and what `Index` searches.

At 10^6 triples the graph has ~580k labels; as Python objects (a dataclass, its folded key, a
tuple of words per label) they would take hundreds of MB in every web worker and seconds to
load. Here the strings are UTF-8 blobs and everything else arrays of integers, so the file is
`mmap`ed and read as it is: nothing is parsed or copied at start, and the pages are shared by
the web workers (and dropped by the kernel when memory is short).

The tables, for N IRIs (every subject, type and country), L labels and W words:

- `iris`: the IRIs, sorted by their UTF-8 bytes (an IRI's id is its place);
- `types`, `countries`: per IRI its types (most specific first) and countries, as IRI ids;
- `label_start`: per IRI where its labels begin (labels are numbered subject by subject, in
  the order the facts came), and per label its `entry`, `prop` and `lang` (indexes into
  NAME_PROPERTIES and `langs`), `keys` (folded text) and `texts` (as written);
- `by_key`: the label ids sorted by key (the prefix tiers are a range of it), and `key_chars`
  the length of each key;
- `words`: every word of every key, sorted, with `postings`: the labels holding each.

Nothing here knows about Flask, the store or the ranking.
"""

import io
import json
import mmap
import sys
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, chain, groupby, repeat
from operator import add, eq, sub
from pathlib import Path
from typing import NamedTuple

from .text import fold_all

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
NAME_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "https://schema.org/name",
    ALT_LABEL,
)
COUNTRY = "https://w3id.org/kzcn/ontology#country"
INDEXED_PROPERTIES = frozenset((RDF_TYPE, COUNTRY, *NAME_PROPERTIES))

MAGIC = b"kzcn-search-index 1\n"
ALIGN = 8  # every table starts on a multiple of 8 bytes, so arrays are read in place
SEPARATOR = b"\n"  # after every string: a folded key holds none, so no match spans two keys


# One triple the index keeps: (subject, property, value, language, literal?) — a label (a
# literal, with its language) or a type or country (an IRI, language None). A plain tuple:
# a million of them are made at build time.
Fact = tuple[str, str, str, str | None, bool]


@cache
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


# --------------------------------------------------------------------------- reading


class Strings(Sequence[str]):
    """Strings in one blob, each followed by SEPARATOR; `offsets` has one more item than
    there are strings."""

    def __init__(self, blob: bytes | mmap.mmap, offsets: Sequence[int]) -> None:
        self.blob, self.offsets = blob, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def raw(self, i: int) -> bytes:
        return self.blob[self.offsets[i] : self.offsets[i + 1] - 1]

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        return self.raw(i).decode("utf-8")

    def find(self, text: str) -> int | None:
        """The id of `text` in sorted strings, or None."""
        wanted = text.encode("utf-8")
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.raw(mid) < wanted:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self.raw(lo) == wanted else None

    def containing(self, part: str) -> Iterator[int]:
        """Ids of the strings `part` occurs in, each once, in order."""
        needle, offsets = part.encode("utf-8"), self.offsets
        end = offsets[len(offsets) - 1]
        at = self.blob.find(needle, offsets[0], end)
        while at >= 0:
            i = _place(offsets, at)
            yield i
            at = self.blob.find(needle, offsets[i + 1], end)


def _place(offsets: Sequence[int], position: int) -> int:
    """The string whose bytes hold `position`."""
    lo, hi = 0, len(offsets) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if offsets[mid] <= position:
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class Ragged:
    """A list of lists of ints: `values[start[i]:start[i + 1]]` is list i."""

    start: Sequence[int]
    values: Sequence[int]

    def __getitem__(self, i: int) -> Sequence[int]:
        return self.values[self.start[i] : self.start[i + 1]]


@dataclass
class Tables:
    langs: list[str | None]
    iris: Strings
    types: Ragged
    countries: Ragged
    label_start: Sequence[int]
    entry: Sequence[int]
    prop: Sequence[int]
    lang: Sequence[int]
    keys: Strings
    key_chars: Sequence[int]  # each key's length in characters (at most 65535)
    texts: Strings
    by_key: Sequence[int]
    words: Strings
    postings: Ragged
    # Kept only to hold the mapping open as long as the tables are read.
    source: object = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.iris)


def load(path: Path) -> Tables:
    """The tables of a search index file, mapped into memory (read in place, not copied)."""
    with path.open("rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return decode(mapped)


def decode(buffer: bytes | mmap.mmap) -> Tables:
    if buffer[: len(MAGIC)] != MAGIC:
        raise ValueError("not a kzcn search index (or another version of its format)")
    end = buffer.find(b"\n", len(MAGIC))
    header = json.loads(bytes(buffer[len(MAGIC) : end]))
    if header["byteorder"] != sys.byteorder:
        raise ValueError(f"search index written on a {header['byteorder']}-endian machine")
    view = memoryview(buffer)

    def table(name: str) -> Sequence[int]:
        start, size, code = header["tables"][name]
        return view[start : start + size].cast(code)

    def strings(name: str) -> Strings:
        # Over the whole mapping, so that reading one string copies that string only, and
        # `find` searches the mapping in place.
        start = header["tables"][f"{name}.blob"][0]
        return Strings(buffer, _Shifted(table(f"{name}.offsets"), start))

    return Tables(
        langs=header["langs"],
        iris=strings("iris"),
        types=Ragged(table("types.start"), table("types")),
        countries=Ragged(table("countries.start"), table("countries")),
        label_start=table("label_start"),
        entry=table("entry"),
        prop=table("prop"),
        lang=table("lang"),
        keys=strings("keys"),
        key_chars=table("key_chars"),
        texts=strings("texts"),
        by_key=table("by_key"),
        words=strings("words"),
        postings=Ragged(table("postings.start"), table("postings")),
        source=buffer,
    )


@dataclass(frozen=True)
class _Shifted(Sequence[int]):
    """Offsets within a blob, read as offsets within the whole file."""

    offsets: Sequence[int]
    by: int

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int) -> int:  # type: ignore[override]
        return self.offsets[i] + self.by


# --------------------------------------------------------------------------- building

# Texts folded, or strings joined, in one piece: each piece's copies (as `str`, or as one
# buffer record of 80 bytes per string that `bytes.join` holds) are in memory at once.
AT_ONCE = 50_000

# A label as its subject states it: the text (UTF-8), the language tag (`canonical_tag`), and
# the property (an index into NAME_PROPERTIES).
Label = tuple[bytes, str | None, int]


def build(facts: Iterable[Fact]) -> Tables:
    """The tables of `facts` (in memory, in any order). Facts other than labels, types and
    countries of IRI subjects are ignored."""
    builder = Builder()
    for iri, subject in _subjects(facts).items():
        types, countries = builder.set(subject.types), builder.set(subject.countries)
        builder.add(iri.encode(), types, countries, subject.labels)
    return builder.tables()


class _Subject(NamedTuple):
    types: list[bytes]
    countries: list[bytes]
    labels: list[Label]


def _subjects(facts: Iterable[Fact]) -> dict[str, _Subject]:
    subjects: dict[str, _Subject] = defaultdict(lambda: _Subject([], [], []))
    prop_ids = {p: i for i, p in enumerate(NAME_PROPERTIES)}
    for subject, prop, value, lang, literal in facts:
        if subject.startswith("_:"):
            continue
        if not literal:
            if prop == RDF_TYPE:
                subjects[subject].types.append(value.encode())
            elif prop == COUNTRY:
                subjects[subject].countries.append(value.encode())
        elif prop in prop_ids:
            label = (value.encode(), canonical_tag(lang), prop_ids[prop])
            subjects[subject].labels.append(label)
    return subjects


class _Ids(dict[Hashable, int]):
    """Each key its number, in the order first asked."""

    def __missing__(self, key: Hashable) -> int:
        found = self[key] = len(self)
        return found


class Builder:
    """The tables, one subject at a time: each IRI subject once, in any order, with its types,
    countries and labels (repeats are dropped: the same triple may come from two graphs).

    Compact, for millions of labels: per subject its IRI and the ids of its set of types and
    of countries (a graph has few distinct sets), per label small integers in arrays (its
    text's among the distinct texts, held once). `tables` puts them in IRI order."""

    def __init__(self) -> None:
        self.subjects: list[bytes] = []
        self.sets = _Ids({frozenset(): 0})  # a set of IRIs (UTF-8) → its id
        self.type_set, self.country_set = array("I"), array("I")
        self.label_start = array("Q", [0])
        self.texts = _Ids()  # each distinct text (UTF-8): labels repeat (see `_keys`)
        self.text = array("I")  # per label, its text's id
        self.prop, self.lang = array("B"), array("H")
        self.tags = _Ids()  # a language tag → its id here

    def set(self, iris: Iterable[bytes]) -> int:
        """The id of a set of types or of countries (IRIs as UTF-8), for `add`."""
        return self.sets[frozenset(iris)]

    def add(self, iri: bytes, types: int, countries: int, labels: Sequence[Label]) -> None:
        """A subject: its IRI (UTF-8), the ids of its sets of types and of countries, and its
        labels. One with none of them is not indexed."""
        unique = dict.fromkeys(labels) if len(labels) > 1 else labels
        if not (types or countries or unique):
            return
        self.subjects.append(iri)
        self.type_set.append(types)
        self.country_set.append(countries)
        if unique:
            texts, tags, props = zip(*unique, strict=True)
            self.text.extend(map(self.texts.__getitem__, texts))
            self.prop.extend(props)
            self.lang.extend(map(self.tags.__getitem__, tags))
        self.label_start.append(len(self.text))

    def tables(self) -> Tables:
        """The tables (once: the distinct texts are let go as soon as they are used)."""
        iris, records = self._iris()
        sets = list(self.sets)
        ids = {iri: bisect_left(iris, iri) for found in sets for iri in found}
        instances: Counter[bytes] = Counter()
        for set_id, n in Counter(self.type_set).items():
            instances.update(dict.fromkeys(sets[set_id], n))
        # Per set: as types, most specific (fewest instances) first; as countries, sorted.
        types = [[ids[t] for t in sorted(s, key=lambda t: (instances[t], t))] for s in sets]
        countries = [sorted(ids[c] for c in found) for found in sets]
        # Records past the last subject are the IRIs that are only a type or a country.
        type_set = self.type_set + array("I", [0])
        country_set = self.country_set + array("I", [0])
        ends = self.label_start[1:] + self.label_start[-1:]
        starts = list(map(self.label_start.__getitem__, records))
        counts = list(map(sub, map(ends.__getitem__, records), starts))
        order = array("I", chain.from_iterable(map(range, starts, map(add, starts, counts))))
        langs = sorted(self.tags, key=str)
        lang_ids = [langs.index(tag) for tag in self.tags]
        texts, self.texts = list(self.texts), _Ids()
        text = array("I", map(self.text.__getitem__, order))
        keys, key_chars = _keys(texts, text)
        written = _strings(list(map(texts.__getitem__, text)))
        del texts
        return _tables(
            iris=iris,
            types=_ragged(map(types.__getitem__, map(type_set.__getitem__, records))),
            countries=_ragged(map(countries.__getitem__, map(country_set.__getitem__, records))),
            label_start=array("Q", accumulate(counts, initial=0)),
            entry=array("I", chain.from_iterable(map(repeat, range(len(iris)), counts))),
            prop=array("B", map(self.prop.__getitem__, order)),
            lang=array("H", map(lang_ids.__getitem__, map(self.lang.__getitem__, order))),
            langs=langs,
            keys=keys,
            key_chars=key_chars,
            texts=written,
        )

    def _iris(self) -> tuple[list[bytes], list[int]]:
        """Every IRI in byte order (the subjects, and the types and countries that are not
        subjects), and for each the subject it is (past the last subject when none)."""
        subjects = sorted(range(len(self.subjects)), key=self.subjects.__getitem__)
        ordered = list(map(self.subjects.__getitem__, subjects))
        if any(map(eq, ordered, ordered[1:])):
            raise ValueError("a subject was added twice")
        iris, records, at = [], [], 0
        for iri in sorted(set().union(*self.sets)):
            cut = bisect_left(ordered, iri, at)
            if cut < len(ordered) and ordered[cut] == iri:
                continue
            iris += ordered[at:cut]
            records += subjects[at:cut]
            iris.append(iri)
            records.append(len(self.subjects))
            at = cut
        iris += ordered[at:]
        records += subjects[at:]
        return iris, records


def _tables(
    *,
    iris: list[bytes],
    types: Ragged,
    countries: Ragged,
    label_start: array,
    entry: array,
    prop: array,
    lang: array,
    langs: list[str | None],
    keys: list[bytes],
    key_chars: array,
    texts: Strings,
) -> Tables:
    """The tables, with the words of the labels' keys."""
    by_key = array("I", sorted(range(len(keys)), key=keys.__getitem__))
    words, postings = _postings(keys, by_key)
    return Tables(
        langs=langs,
        iris=_strings(iris),
        types=types,
        countries=countries,
        label_start=label_start,
        entry=entry,
        prop=prop,
        lang=lang,
        keys=_strings(keys),
        key_chars=key_chars,
        texts=texts,
        by_key=by_key,
        words=_strings(words),
        postings=postings,
    )


def _keys(texts: list[bytes], text: Sequence[int]) -> tuple[list[bytes], array]:
    """The folded key (UTF-8) of each label, from the distinct `texts` and each label's text,
    and its length in characters (at most 65535). Labels repeat (a thing's name in several
    properties, things of one name, the Cyrillic and Latin spellings of a Kazakh name fold
    alike), so each distinct text is folded once and its key shared; in pieces, so that the
    texts are never all held as `str` at once."""
    encoded: list[bytes] = []
    chars = array("H")
    for start in range(0, len(texts), AT_ONCE):
        folded = fold_all([t.decode() for t in texts[start : start + AT_ONCE]])
        encoded += [key.encode() for key in folded]
        chars.extend(min(len(key), 0xFFFF) for key in folded)
    return list(map(encoded.__getitem__, text)), array("H", map(chars.__getitem__, text))


def _ragged(lists: Iterable[Sequence[int]]) -> Ragged:
    held = list(lists)
    start = array("Q", accumulate(map(len, held), initial=0))
    return Ragged(start, array("I", chain.from_iterable(held)))


def _postings(keys: list[bytes], by_key: Sequence[int]) -> tuple[list[bytes], Ragged]:
    """Each word of the keys, with the labels holding it. The labels of a key are adjacent in
    `by_key` (and ascending: the sort is stable), so each distinct key is split once; a word's
    labels, runs from several keys, are then sorted (Timsort merges runs). A key's words are
    joined by single spaces and no byte of a multi-byte UTF-8 letter is a space, so
    `bytes.split` splits a key as `str.split` would."""
    holders: dict[bytes, list[int]] = defaultdict(list)
    for key, labels in groupby(by_key, keys.__getitem__):
        run = list(labels)
        for word in dict.fromkeys(key.split()):
            holders[word].extend(run)
    words = sorted(holders)
    for word in words:
        holders[word].sort()
    return words, _ragged(map(holders.__getitem__, words))


def _strings(items: list[bytes]) -> Strings:
    lengths = map(len(SEPARATOR).__add__, map(len, items))
    return Strings(_joined(items), array("Q", accumulate(lengths, initial=0)))


def _joined(items: list[bytes]) -> bytes:
    """The items, each followed by SEPARATOR, in pieces (see AT_ONCE): `BytesIO.getvalue`
    hands over its buffer without a copy."""
    blob = io.BytesIO()
    for start in range(0, len(items), AT_ONCE):
        blob.write(SEPARATOR.join(items[start : start + AT_ONCE]))
        blob.write(SEPARATOR)
    return blob.getvalue()


# --------------------------------------------------------------------------- writing


def encode(tables: Tables) -> bytes:
    """The file: MAGIC, a one-line JSON header (where each table lies), then the tables."""
    return b"".join(pieces(tables))


def pieces(tables: Tables) -> list[bytes | memoryview]:
    """The file in pieces, most of them views of the tables' own memory: written one after
    the other, without a copy of the whole (at 10^7 triples the file is past 1 GB)."""
    named: dict[str, bytes | array] = {}
    for name in ("iris", "keys", "texts", "words"):
        strings: Strings = getattr(tables, name)
        named[f"{name}.blob"] = bytes(strings.blob)
        named[f"{name}.offsets"] = _array("Q", strings.offsets)
    for name in ("types", "countries", "postings"):
        ragged: Ragged = getattr(tables, name)
        named[f"{name}.start"] = _array("Q", ragged.start)
        named[name] = _array("I", ragged.values)
    for name, code in (("label_start", "Q"), ("entry", "I"), ("prop", "B"), ("lang", "H")):
        named[name] = _array(code, getattr(tables, name))
    named["by_key"] = _array("I", tables.by_key)
    named["key_chars"] = _array("H", tables.key_chars)
    return _layout(named, tables.langs)


def _array(code: str, values: Sequence[int]) -> array:
    return values if isinstance(values, array) and values.typecode == code else array(code, values)


def _layout(named: dict[str, bytes | array], langs: list[str | None]) -> list[bytes | memoryview]:
    """Place the tables one after the other, aligned; the header says where (its own length
    is settled first: offsets are written with a fixed width)."""
    entries = {
        name: (data.typecode if isinstance(data, array) else "B", _size(data))
        for name, data in named.items()
    }
    width = 12  # digits: offsets up to 10^12 bytes
    header_size = len(_header({n: (0, s, c) for n, (c, s) in entries.items()}, langs, width))
    position = _aligned(len(MAGIC) + header_size)
    places = {}
    for name, (code, size) in entries.items():
        places[name] = (position, size, code)
        position = _aligned(position + size)
    parts: list[bytes | memoryview] = [MAGIC, _header(places, langs, width)]
    written = len(MAGIC) + header_size
    for name, data in named.items():
        start = places[name][0]
        parts.append(b"\0" * (start - written))
        parts.append(memoryview(data).cast("B") if isinstance(data, array) else data)
        written = start + _size(data)
    return parts


def _header(places: dict[str, tuple[int, int, str]], langs: list[str | None], width: int) -> bytes:
    tables = ", ".join(
        f'"{name}": [{start:{width}d}, {size:{width}d}, "{code}"]'
        for name, (start, size, code) in places.items()
    )
    head = json.dumps({"byteorder": sys.byteorder, "langs": langs})[:-1]
    return f'{head}, "tables": {{{tables}}}}}\n'.encode()


def _size(data: bytes | array) -> int:
    return len(data) * data.itemsize if isinstance(data, array) else len(data)


def _aligned(position: int) -> int:
    return -(-position // ALIGN) * ALIGN
