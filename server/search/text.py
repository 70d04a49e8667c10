"""Text as search compares it: one script, no case, no diacritics, words.

A Kazakh name may be typed in Cyrillic or in the 2021 Latin alphabet, with or without its
special letters (ū or u, ı or i), in capitals or not. Labels and queries therefore go through
the same `fold`: Cyrillic is transliterated with the project's own `kk_latin` (so Цинхуа and
Tsinhua meet), then case and diacritics are dropped (so Qazaq ūlttyq and ҚАЗАҚ ҰЛТТЫҚ meet).
Nothing here knows about Flask or the store.
"""

import re
import unicodedata

from ..kazakh import KAZAKH_LATIN

# Cyrillic → Latin with the project's own letter table (the one `kk_latin` uses), applied to
# lower-cased text with `str.translate`: case is folded away anyway, and this is many times
# faster than `kk_latin`'s letter-by-letter case handling, which matters when a thousand
# labels are folded at start-up (`fold(kk_latin(x)) == fold(x)` is tested). The dotless ı
# of Kazakh Latin is the one letter NFKD does not take apart; the others the alphabet adds
# (ä ö ü ū ğ ş ñ ç İ) decompose into a base letter and a combining mark, which `fold` drops.
BASE_LETTERS = {"ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss"}
# `str.translate` makes one pass, so Cyrillic і must go straight to i, not to ı.
LETTERS = str.maketrans(
    {
        **{cyrillic: latin.replace("ı", "i") for cyrillic, latin in KAZAKH_LATIN.items()},
        **BASE_LETTERS,
    }
)
# Apostrophes join a word rather than split it (O'zbek, Xi’an): they are dropped, not spaced.
APOSTROPHES = re.compile(r"['’ʼ`´]")
WORD = re.compile(r"\w+")
# The Unicode blocks of combining marks, as one pattern: removing them with a regex is several
# times faster than testing `unicodedata.combining` letter by letter.
MARKS = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
# How many folded pieces fold_all remembers (bounded: a graph of 10^7 triples has millions).
MAX_REMEMBERED = 200_000
# Query words shorter than this must be typed right: see `typo_distance`.
MIN_TYPO_LENGTH = 5


def fold(text: str) -> str:
    """The comparable form of `text`: Latin script, lower case, no marks, words joined by
    single spaces. `fold("ҚАЗАҚ ҰЛТТЫҚ") == fold("Qazaq ūlttyq") == "qazaq ulttyq"`."""
    # Marks go first, so that ё is е (Russian writes Гумилёв and Гумилев alike) and й is и;
    # then the letter table, whose Kazakh Latin letters carry marks of their own.
    text = without_marks(APOSTROPHES.sub("", text).casefold())
    return " ".join(WORD.findall(without_marks(text.translate(LETTERS))))


def fold_all(texts: list[str]) -> list[str]:
    """`fold` of many texts (an index of a million labels), faster: every step of `fold`
    maps letter by letter and its words are the runs of word letters, so the texts can be
    case-folded in one pass, joined by line breaks (a text holding one has it read as the
    space it folds to anyway), and the rest done once per distinct whitespace-separated
    piece, as labels share most of their words (tested against `fold`)."""
    if not texts:
        return []
    joined = "\n".join(texts) if not any("\n" in t for t in texts) else _one_line(texts)
    folded: dict[str, str] = {}
    keys = []
    for line in without_marks(APOSTROPHES.sub("", joined).casefold()).split("\n"):
        words = []
        for piece in line.split():
            key = folded.get(piece)
            if key is None:
                if len(folded) > MAX_REMEMBERED:  # numbers and the like: mostly unique
                    folded.clear()
                key = folded[piece] = " ".join(WORD.findall(_letters(piece)))
            if key:
                words.append(key)
        keys.append(" ".join(words))
    return keys


def _one_line(texts: list[str]) -> str:
    return "\n".join(t.replace("\n", " ") for t in texts)


def _letters(text: str) -> str:
    """The letter table and the marks it brings (the rest of `fold` after case)."""
    return text if text.isascii() else without_marks(text.translate(LETTERS))


def without_marks(text: str) -> str:
    if text.isascii():
        return text
    return MARKS.sub("", unicodedata.normalize("NFKD", text))


def typo_distance(query_word: str, word: str) -> int | None:
    """0 if `word` starts with `query_word`; 1 if one typo — a letter wrong, added, missing,
    or two neighbours swapped ("Tsnighua") — turns the query word into the start of `word`
    (so "Tsingua" finds Tsinghua and "Gumily" Gumilyov); otherwise None. Short words get no
    typo at all: one edit turns most of them into other words (enu/ebu), so only words of
    `MIN_TYPO_LENGTH` letters or more are forgiven one.

    Checked at the first differing letter only, which is enough for a single edit: the
    linear check keeps a query over the whole vocabulary well under a millisecond."""
    q, w = query_word, word
    shared = min(len(q), len(w))
    i = 0
    while i < shared and q[i] == w[i]:
        i += 1
    if i == len(q):
        return 0
    if len(q) < MIN_TYPO_LENGTH:
        return None
    # Slices come out short when `word` is too short, so each comparison also checks length.
    wrong = w[i + 1 : len(q)] == q[i + 1 :] and len(w) >= len(q)
    added = w[i : len(q) - 1] == q[i + 1 :]
    missing = w[i + 1 : len(q) + 1] == q[i:] and len(w) > len(q)
    swapped = (
        i + 1 < len(q)
        and i + 1 < len(w)
        and (q[i], q[i + 1]) == (w[i + 1], w[i])
        and w[i + 2 : len(q)] == q[i + 2 :]
        and len(w) >= len(q)
    )
    return 1 if wrong or added or missing or swapped else None
