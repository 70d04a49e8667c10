"""The /sparql endpoint: protocol → safety → negotiation → cache → store, in that order.

A cached answer is written straight out as bytes; only a miss reaches a query worker."""

import hashlib

from flask import Blueprint, Response, current_app, render_template, request

from .. import formats
from ..store import QueryJob, StoreError
from .cache import ResultCache
from .protocol import ProtocolError, SparqlRequest, parse
from .query_text import QueryRefused, inspect
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Content-Type, Content-Length, X-Kzcn-Version",
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Content-Type, If-None-Match, Cache-Control",
    "Access-Control-Max-Age": "86400",
}


@blueprint.after_request
def add_cors(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    return response


@blueprint.route("/sparql", methods=["OPTIONS"])
def preflight() -> Response:
    return Response(status=204, headers=PREFLIGHT_HEADERS)


@blueprint.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    settings = current_app.config["KZCN_SETTINGS"]
    try:
        sparql_request = parse(request, settings.max_query_bytes)
        if sparql_request.query is None:
            return describe_service()
        return answer(sparql_request)
    except ProtocolError as error:
        return plain_error(error.status, error.message)
    except StoreError as error:
        response = plain_error(error.status, error.message)
        if error.status == 503:
            response.headers["Retry-After"] = "5"
        return response


def describe_service() -> Response:
    """Browsers get the query editor; machines get the Service Description."""
    if formats.prefers_html(request.headers.get("Accept"), formats.GRAPH_FORMATS):
        return Response(render_template("editor.html"), content_type="text/html; charset=utf-8")
    fmt = formats.negotiate(request.headers.get("Accept"), formats.GRAPH_FORMATS)
    if fmt is None:
        return not_acceptable(formats.GRAPH_FORMATS)
    body = service_description(request.url_root.rstrip("/") + "/sparql", fmt)
    return Response(body, content_type=fmt.content_type, headers={"Vary": "Accept"})


def answer(sparql_request: SparqlRequest) -> Response:
    settings = current_app.config["KZCN_SETTINGS"]
    store = current_app.config["KZCN_STORE"]
    cache: ResultCache = current_app.config["KZCN_CACHE"]
    try:
        query = inspect(sparql_request.query or "", settings.max_nesting)
    except QueryRefused as refusal:
        return plain_error(400, str(refusal))
    offered = (
        formats.GRAPH_FORMATS
        if query.form in ("CONSTRUCT", "DESCRIBE")
        else (formats.RESULT_FORMATS)
    )
    if sparql_request.format:
        fmt = formats.by_name(offered, sparql_request.format)
        if fmt is None:
            return plain_error(
                400,
                f"Unknown format {sparql_request.format!r} for a "
                f"{query.form} query; use one of "
                f"{', '.join(f.name for f in offered)}.",
            )
    else:
        fmt = formats.negotiate(request.headers.get("Accept"), offered)
        if fmt is None:
            return not_acceptable(offered)
    key = cache_key(store.version, query.text, fmt, sparql_request)
    etag = f'"{key}"'
    headers = {
        "ETag": etag,
        "Vary": "Accept",
        "Cache-Control": f"public, max-age={settings.cache_max_age}",
        "X-Kzcn-Version": store.version,
    }
    if key in request.if_none_match:
        return Response(status=304, headers=headers)
    body = cache.get(key)
    if body is None:
        timeout = min(sparql_request.timeout or settings.query_timeout, settings.query_timeout)
        body = store.run(
            QueryJob(
                query.text,
                fmt,
                sparql_request.default_graphs,
                sparql_request.named_graphs,
                settings.max_result_bytes,
            ),
            timeout,
        )
        cache.put(key, body)
    return Response(body, content_type=fmt.content_type, headers=headers)


def cache_key(version: str, query: str, fmt: formats.Format, req: SparqlRequest) -> str:
    parts = [version, fmt.media_type, query, *req.default_graphs, "\0", *req.named_graphs]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def plain_error(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def not_acceptable(offered: tuple[formats.Format, ...]) -> Response:
    return plain_error(
        406,
        "None of the requested media types can be produced here; "
        f"available: {', '.join(f.media_type for f in offered)}.",
    )
