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

import json
import mmap
import sys
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
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


class _Subject(NamedTuple):
    labels: list[tuple[str, str | None, int]]  # text, language, property index
    types: set[str]
    countries: set[str]


def _subject() -> _Subject:
    return _Subject([], set(), set())


def build(facts: Iterable[Fact]) -> Tables:
    """The tables of `facts` (in memory). Facts other than labels, types and countries of
    IRI subjects are ignored."""
    subjects = _subjects(facts)
    iris = sorted(
        set(subjects).union(*(s.types | s.countries for s in subjects.values())),
        key=lambda iri: iri.encode("utf-8"),
    )
    ids = {iri: i for i, iri in enumerate(iris)}
    instances = Counter(t for s in subjects.values() for t in s.types)
    langs = sorted({lang for s in subjects.values() for _, lang, _ in s.labels}, key=str)
    lang_ids = {lang: i for i, lang in enumerate(langs)}
    types, countries = _Ragged(), _Ragged()
    label_start, entry, prop, lang = array("Q", [0]), array("I"), array("B"), array("H")
    texts: list[str] = []
    for i, iri in enumerate(iris):
        subject = subjects.get(iri) or _NONE
        types.add(ids[t] for t in sorted(subject.types, key=lambda t: (instances[t], t)))
        countries.add(ids[c] for c in sorted(subject.countries))
        for text, tag, prop_index in subject.labels:
            entry.append(i)
            prop.append(prop_index)
            lang.append(lang_ids[tag])
            texts.append(text)
        label_start.append(len(entry))
    keys = fold_all(texts)
    by_key = array("I", sorted(range(len(keys)), key=lambda k: keys[k].encode("utf-8")))
    words, postings = _postings(keys)
    return Tables(
        langs=langs,
        iris=_strings(iris),
        types=types.done(),
        countries=countries.done(),
        label_start=label_start,
        entry=entry,
        prop=prop,
        lang=lang,
        keys=_strings(keys),
        key_chars=array("H", (min(len(key), 0xFFFF) for key in keys)),
        texts=_strings(texts),
        by_key=by_key,
        words=_strings(words),
        postings=postings,
    )


_NONE = _subject()


def _subjects(facts: Iterable[Fact]) -> dict[str, _Subject]:
    subjects: dict[str, _Subject] = defaultdict(_subject)
    prop_ids = {p: i for i, p in enumerate(NAME_PROPERTIES)}
    for subject, prop, value, lang, literal in facts:
        if subject.startswith("_:"):
            continue
        if not literal:
            if prop == RDF_TYPE:
                subjects[subject].types.add(value)
            elif prop == COUNTRY:
                subjects[subject].countries.add(value)
        elif prop in prop_ids:
            label = (value, canonical_tag(lang), prop_ids[prop])
            labels = subjects[subject].labels
            if label not in labels:  # the same triple in two named graphs
                labels.append(label)
    return subjects


class _Ragged:
    def __init__(self) -> None:
        self.start, self.values = array("Q", [0]), array("I")

    def add(self, values: Iterable[int]) -> None:
        self.values.extend(values)
        self.start.append(len(self.values))

    def done(self) -> Ragged:
        return Ragged(self.start, self.values)


def _postings(keys: list[str]) -> tuple[list[str], Ragged]:
    holders: dict[str, list[int]] = defaultdict(list)
    for label, key in enumerate(keys):
        for word in dict.fromkeys(key.split()):
            holders[word].append(label)
    words = sorted(holders, key=lambda w: w.encode("utf-8"))
    postings = _Ragged()
    for word in words:
        postings.add(holders[word])
    return words, postings.done()


def _strings(items: list[str]) -> Strings:
    encoded = [item.encode("utf-8") + SEPARATOR for item in items]
    offsets = array("Q", [0])
    for item in encoded:
        offsets.append(offsets[-1] + len(item))
    return Strings(b"".join(encoded), offsets)


# --------------------------------------------------------------------------- writing


def encode(tables: Tables) -> bytes:
    """The file: MAGIC, a one-line JSON header (where each table lies), then the tables."""
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


def _layout(named: dict[str, bytes | array], langs: list[str | None]) -> bytes:
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
    pieces = [MAGIC, _header(places, langs, width)]
    written = len(MAGIC) + header_size
    for name, data in named.items():
        start = places[name][0]
        pieces.append(b"\0" * (start - written))
        pieces.append(data.tobytes() if isinstance(data, array) else data)
        written = start + _size(data)
    return b"".join(pieces)


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
