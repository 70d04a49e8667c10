"""/search — the search page for people and its JSON twin for programs — and, on the same
blueprint, /reconcile (see `reconcile`)."""

from flask import Blueprint, Response, current_app, render_template, request

from ..pages import languages
from ..pages.links import prefixed
from ..vocab import KZCN
from . import reconcile
from .http import BadParameter, open_to_all_origins, parse_limit, reply
from .service import Named, Namer, Result, expand, search

blueprint = Blueprint("search", __name__)
blueprint.register_blueprint(reconcile.blueprint)
open_to_all_origins(blueprint)  # nested blueprints inherit it: /reconcile is covered too

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# The kinds offered in the page's filter: the reconciliation service's default types.
KINDS = reconcile.DEFAULT_TYPES

languages.add_messages(
    {
        "search-label": {
            "en": "Name, acronym or part of a name",
            "kk": "Атауы, қысқартылған атауы немесе атауының бір бөлігі",
            "ru": "Название, аббревиатура или часть названия",
            "zh-Hans": "名称、缩写或名称的一部分",
        },
        "search-hint": {
            "en": "Searches every name in Kazakh (Cyrillic or Latin script), Russian, English "
            "and Chinese; acronyms such as KazNU work too, and small typos are forgiven.",
            "kk": "Қазақша (кирилл не латын әрпімен), орысша, ағылшынша және қытайша барлық "
            "атаулар бойынша іздейді; KazNU сияқты қысқартылған атаулар да жарайды, шағын "
            "қателер ескерілмейді.",
            "ru": "Поиск по всем названиям на казахском (кириллицей или латиницей), русском, "
            "английском и китайском языках; подходят и аббревиатуры, например KazNU, а мелкие "
            "опечатки не мешают.",
            "zh-Hans": "搜索哈萨克语（西里尔字母或拉丁字母）、俄语、英语和中文的所有名称；"
            "也支持 KazNU 等缩写，并容许小的拼写错误。",
        },
        "search-country": {"en": "Country", "kk": "Елі", "ru": "Страна", "zh-Hans": "国家"},
        "search-kind": {"en": "Kind", "kk": "Түрі", "ru": "Тип", "zh-Hans": "类型"},
        "search-any-kind": {
            "en": "All kinds",
            "kk": "Барлық түрі",
            "ru": "Все типы",
            "zh-Hans": "所有类型",
        },
        "search-results": {
            "en": "Results",
            "kk": "Нәтижелер",
            "ru": "Результаты",
            "zh-Hans": "搜索结果",
        },
        "search-matched": {
            "en": "found by the name",
            "kk": "табылған атауы",
            "ru": "найдено по названию",
            "zh-Hans": "匹配的名称",
        },
        "search-no-results": {
            "en": "Nothing matches this search. Check the spelling, or try fewer words, "
            "another language or an acronym.",
            "kk": "Бұл сұрауға сәйкес ештеңе табылмады. Жазылуын тексеріңіз немесе азырақ "
            "сөз, басқа тіл не қысқартылған атау қолданып көріңіз.",
            "ru": "По этому запросу ничего не найдено. Проверьте написание или попробуйте "
            "меньше слов, другой язык или аббревиатуру.",
            "zh-Hans": "没有找到匹配的结果。请检查拼写，或尝试减少词语、换用其他语言或缩写。",
        },
    }
)


@blueprint.get("/search", endpoint="search")  # base.html links to search.search
def search_page() -> Response:
    fmt = request.args.get("format", "html").strip().lower()
    if fmt == "json":
        return search_json()
    if fmt != "html":
        raise BadParameter("format must be html or json")
    query, limit, types = search_args()
    results = search(query, limit, types) if query else []
    page = render_template(
        "search/index.html",
        query=query,
        results=results,
        kinds=kind_options(),
        selected=set(types or ()),
        # A language chosen with ?lang= survives the next search.
        chosen_lang=languages.current() if request.args.get("lang") else None,
    )
    return with_cache_headers(Response(page, content_type="text/html; charset=utf-8"))


@blueprint.get("/search.json")
def search_json() -> Response:
    query, limit, types = search_args()
    results: list[Result] = search(query, limit, types) if query else []
    return with_cache_headers(reply({"query": query, "results": [r.as_json() for r in results]}))


def search_args() -> tuple[str, int, list[str] | None]:
    """`q` (blank: no search), `limit` (20 by default, at most 100) and any number of `type`
    (a class IRI or prefixed name such as kzcn:Company)."""
    query = request.args.get("q", "").strip()
    limit = parse_limit(request.args.get("limit"), DEFAULT_LIMIT, MAX_LIMIT)
    types = [expand(t.strip()) for t in request.args.getlist("type") if t.strip()]
    return query, limit, types or None


def kind_options() -> list[tuple[str, Named]]:
    """(value for the form, named class) for the page's filter."""
    namer = Namer.for_request()
    return [(prefixed(f"{KZCN}{kind}"), namer.named(f"{KZCN}{kind}")) for kind in KINDS]


def with_cache_headers(response: Response) -> Response:
    """Answers depend on the query string and the reader's language, and never change
    within a release."""
    response.headers["Vary"] = "Accept-Language"
    max_age = current_app.config["KZCN_SETTINGS"].cache_max_age
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response
