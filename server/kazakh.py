"""Kazakh Cyrillic → Kazakh Latin (the 2021 alphabet), for the build's generated labels and
for search, which must find a name typed in either script."""

import re

# Kazakh Cyrillic → the official Kazakh Latin alphabet presented in January 2021 (31 letters;
# letter table as in Wikipedia, "Kazakh alphabets", Latin script): Ә ä, Ғ ğ, Қ q, Ң ñ, Ө ö,
# Ұ ū, Ү ü, Ш ş, Ж j, Ы y, І ı (dotless), И and Й both i (dotted), У u, Х and Һ both h.
# The alphabet has no letters for the Russian-only Cyrillic letters; this table writes
# Ц ts, Ч ç, Щ şş (a long ш), Э e, Ё io, Ю iu, Я ia (the i being the dotted И), and drops
# Ъ and Ь. Keys and values are lowercase; capitals are handled by `_upper`.
KAZAKH_LATIN: dict[str, str] = {
    "а": "a",
    "ә": "ä",
    "б": "b",
    "в": "v",
    "г": "g",
    "ғ": "ğ",
    "д": "d",
    "е": "e",
    "ё": "io",
    "ж": "j",
    "з": "z",
    "и": "i",
    "й": "i",
    "к": "k",
    "қ": "q",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "ñ",
    "о": "o",
    "ө": "ö",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ұ": "ū",
    "ү": "ü",
    "ф": "f",
    "х": "h",
    "һ": "h",
    "ц": "ts",
    "ч": "ç",
    "ш": "ş",
    "щ": "şş",
    "ъ": "",
    "ы": "y",
    "і": "ı",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}

_WORD = re.compile(r"[^\W\d_]+")


def _upper(latin: str) -> str:
    """Uppercase with the Turkic pairs the alphabet uses: i ↔ İ and ı ↔ I."""
    return latin.replace("i", "İ").upper()


def _letter(char: str, all_caps_word: bool) -> str:
    """One Cyrillic letter in Latin; anything outside the table is returned unchanged."""
    latin = KAZAKH_LATIN.get(char.lower())
    if latin is None:
        return char
    if not char.isupper():
        return latin
    if all_caps_word:
        return _upper(latin)
    return _upper(latin[:1]) + latin[1:]


def _word(match: re.Match[str]) -> str:
    word = match.group()
    all_caps = len(word) > 1 and word.isupper()
    return "".join(_letter(char, all_caps) for char in word)


def kk_latin(text: str) -> str:
    """Transliterate Kazakh Cyrillic `text` into the 2021 Kazakh Latin alphabet.

    Case follows the source: a capital whose Latin form is two letters (Я → İa) is written
    in full capitals inside an all-capital word (ЯНА → İANA) and as title case otherwise.
    Everything that is not Cyrillic passes through unchanged.
    """
    return _WORD.sub(_word, text)
