"""Not found: people get a page that suggests what they may have meant (from search);
machines get a short text/plain answer."""

import re

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, NotFound

from .. import formats
from . import languages

languages.add_messages(
    {
        "not-found": {
            "en": "Not found",
            "kk": "Табылмады",
            "ru": "Не найдено",
            "zh-Hans": "未找到",
        },
        "not-found-text": {
            "en": "Nothing in this graph has this address.",
            "kk": "Бұл графта мұндай мекенжайы бар нәрсе жоқ.",
            "ru": "В этом графе нет ничего с таким адресом.",
            "zh-Hans": "此图中没有此地址的内容。",
        },
        "did-you-mean": {
            "en": "Did you mean",
            "kk": "Мүмкін, сіз мынаны іздедіңіз",
            "ru": "Возможно, вы искали",
            "zh-Hans": "您是否要找",
        },
    }
)


def words_of(path: str) -> str:
    """`/id/organization/tsinghua-univ.html` → "tsinghua univ", a query for suggestions."""
    last = path.rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return " ".join(re.split(r"[-_\s]+", last)).strip()


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def not_found(error: HTTPException) -> Response:
        if not formats.prefers_html(request.headers.get("Accept"), formats.GRAPH_FORMATS):
            return Response("Not found.\n", status=404, content_type="text/plain; charset=utf-8")
        from ..search import suggest

        query = words_of(request.path)
        suggestions = suggest(query, 5) if query else []
        page = render_template("404.html", suggestions=suggestions, query=query)
        return Response(page, status=404, content_type="text/html; charset=utf-8")
