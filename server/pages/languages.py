"""Languages of the site: which one a reader gets, which label of a thing to show them, and
the interface text in that language.

Five languages: Kazakh in Cyrillic (kk) and Latin script (kk-Latn), Russian, English and
Chinese (zh-Hans). The reader's choice comes from `?lang=`, else `Accept-Language`, else
English. Labels fall back along a chain per language, and a fallback is shown as such.
Oxigraph lower-cases language tags (kk-latn), so tags are always compared case-insensitively.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, Response, request

from ..kazakh import kk_latin


@dataclass(frozen=True)
class Language:
    code: str  # BCP 47, as in the data and in `?lang=`
    name: str  # the language's name for itself, for the switcher


LANGUAGES: tuple[Language, ...] = (
    Language("kk", "Қазақша"),
    Language("kk-Latn", "Qazaqşa"),
    Language("ru", "Русский"),
    Language("en", "English"),
    Language("zh-Hans", "中文"),
)
CODES = {language.code.lower(): language.code for language in LANGUAGES}
DEFAULT = "en"

# Where to look when a thing has no label in the reader's language. Kazakh readers in either
# script read the other script before Russian; everyone ends with English, then anything.
FALLBACKS: dict[str, tuple[str, ...]] = {
    "kk": ("kk", "kk-Latn", "ru", "en"),
    "kk-Latn": ("kk-Latn", "kk", "en", "ru"),
    "ru": ("ru", "kk", "en"),
    "en": ("en", "kk-Latn", "kk", "ru"),
    "zh-Hans": ("zh-Hans", "zh", "en", "kk"),
}


def from_tag(tag: str) -> str | None:
    """Our UI language for a BCP 47 tag from a browser: kk-KZ → kk, zh-CN → zh-Hans, …"""
    tag = tag.strip().lower()
    if tag in CODES:
        return CODES[tag]
    if tag.startswith("kk-latn"):
        return "kk-Latn"
    base = tag.split("-", 1)[0]
    if base == "zh" and not tag.startswith("zh-hant"):
        return "zh-Hans"
    return CODES.get(base) if base in ("kk", "ru", "en") else None


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header (q-values honoured)."""
    best, best_q = DEFAULT, 0.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = from_tag(tag) if tag.strip() != "*" else None
        if code and q > best_q:
            best, best_q = code, q
    return best


def current() -> str:
    """The reader's language for this request."""
    chosen = request.args.get("lang")
    if chosen and chosen.lower() in CODES:
        return CODES[chosen.lower()]
    return negotiate(request.headers.get("Accept-Language"))


@dataclass(frozen=True)
class Label:
    text: str
    lang: str | None  # the label's own language tag, for the HTML lang attribute
    fallback: bool  # True when it is not in the reader's language


def choose(labels: Iterable[tuple[str, str | None]], language: str) -> Label | None:
    """The label to show in `language`: its fallback chain first, then any label at all.
    `labels` are (text, language tag) in order of preference (e.g. skos:prefLabel first)."""
    labels = list(labels)
    for code in FALLBACKS.get(language, (language,)):
        for text, tag in labels:
            if tag and tag.lower() == code.lower():
                return Label(text, tag, fallback=code != language)
    if labels:
        text, tag = min(labels, key=lambda label: (label[1] is None, label[1] or "", label[0]))
        return Label(text, tag, fallback=True)
    return None


# Interface text: one dict per message, Cyrillic Kazakh written by hand and its Latin twin
# generated. Page modules add their own with `add_messages`.
MESSAGES: dict[str, dict[str, str]] = {}


def add_messages(messages: Mapping[str, Mapping[str, str]]) -> None:
    for key, texts in messages.items():
        entry = dict(texts)
        if "kk" in entry and "kk-Latn" not in entry:
            entry["kk-Latn"] = kk_latin(entry["kk"])
        MESSAGES[key] = entry


def text(key: str, language: str | None = None) -> str:
    """An interface message in the reader's language (English if it lacks one)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    language = language or current()
    return entry.get(language) or entry.get(DEFAULT) or key


add_messages(
    {
        "home": {"en": "Home", "kk": "Басты бет", "ru": "Главная", "zh-Hans": "首页"},
        "search": {"en": "Search", "kk": "Іздеу", "ru": "Поиск", "zh-Hans": "搜索"},
        "sparql": {"en": "SPARQL", "kk": "SPARQL", "ru": "SPARQL", "zh-Hans": "SPARQL"},
        "examples": {
            "en": "Example queries",
            "kk": "Сұрау мысалдары",
            "ru": "Примеры запросов",
            "zh-Hans": "查询示例",
        },
        "ontology": {"en": "Ontology", "kk": "Онтология", "ru": "Онтология", "zh-Hans": "本体"},
        "dumps": {"en": "Downloads", "kk": "Жүктеп алу", "ru": "Загрузки", "zh-Hans": "下载"},
        "language": {"en": "Language", "kk": "Тіл", "ru": "Язык", "zh-Hans": "语言"},
        "licence": {
            "en": "Data licence",
            "kk": "Деректер лицензиясы",
            "ru": "Лицензия данных",
            "zh-Hans": "数据许可",
        },
        "source": {
            "en": "Source: BAQ.KZ, 2 September 2025",
            "kk": "Дереккөз: BAQ.KZ, 2025 жылғы 2 қыркүйек",
            "ru": "Источник: BAQ.KZ, 2 сентября 2025 г.",
            "zh-Hans": "来源：BAQ.KZ，2025年9月2日",
        },
        "site-title": {
            "en": "Kazakhstan–China academic cooperation",
            "kk": "Қазақстан–Қытай академиялық ынтымақтастығы",
            "ru": "Академическое сотрудничество Казахстана и Китая",
            "zh-Hans": "哈萨克斯坦—中国学术合作",
        },
        "fallback": {
            "en": "not available in English; shown in another language",
            "kk": "қазақ тілінде жоқ; басқа тілде көрсетілген",
            "ru": "нет на русском; показано на другом языке",
            "zh-Hans": "无中文名称；以其他语言显示",
        },
    }
)


def init_app(app: Flask) -> None:
    """Make the reader's language, the switcher and `t()` available to every template."""

    @app.context_processor
    def language_context() -> dict[str, object]:
        language = current()
        return {
            "lang": language,
            "languages": LANGUAGES,
            "t": lambda key: text(key, language),
            "switch_language": switch_url,
        }

    @app.after_request
    def vary_by_language(response: Response) -> Response:
        # A page without ?lang= is in the language Accept-Language chose: caches must know.
        if response.mimetype == "text/html" and "lang" not in request.args:
            response.vary.add("Accept-Language")
        return response


def switch_url(code: str) -> str:
    """The current page in another language."""
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return f"{request.path}?{urlencode(args, doseq=True)}"
