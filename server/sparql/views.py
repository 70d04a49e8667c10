"""The /sparql endpoint: protocol → safety → negotiation → cache → store, in that order.

A cached answer is written straight out as bytes; only a miss reaches a query worker."""

from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request

from .. import formats
from ..store import QueryJob, StoreError
from ..vocab import PREFIXES
from . import prepared
from .protocol import ProtocolError, SparqlRequest, parse
from .query_text import QueryRefused, inspect
from .service import QueryService, formats_for
from .service_description import service_description

blueprint = Blueprint("sparql", __name__)

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": (
        f"ETag, Content-Type, Content-Length, X-Kzcn-Version, {prepared.HEADER}"
    ),
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
    sparql_request = parse(request, query_service().settings.max_query_bytes)
    if sparql_request.query is None:
        return describe_service(sparql_request.format)
    return answer(sparql_request)


@blueprint.app_errorhandler(ProtocolError)
def protocol_error(error: ProtocolError) -> Response:
    return plain_error(error.status, error.message)


@blueprint.app_errorhandler(StoreError)
def store_error(error: StoreError) -> Response:
    """Wherever a query fails — endpoint, example pages, resource pages — the client gets
    the status and the reason; a 503 also says when to try again."""
    response = plain_error(error.status, error.message)
    if error.status == 503:
        response.headers["Retry-After"] = "5"
    return add_cors(response)


EDITOR_ASSETS = ("vendor/yasgui/yasgui.min.js", "vendor/yasgui/yasgui.min.css")


def describe_service(format_name: str | None) -> Response:
    """Browsers get the query editor; machines (or `?format=`) the Service Description."""
    accept = request.headers.get("Accept")
    if format_name is None and formats.prefers_html(accept, formats.GRAPH_FORMATS):
        return Response(
            editor_page(), content_type="text/html; charset=utf-8", headers={"Vary": "Accept"}
        )
    if format_name is not None:
        fmt = formats.by_name(formats.GRAPH_FORMATS, format_name)
        if fmt is None:
            names = ", ".join(f.name for f in formats.GRAPH_FORMATS)
            return plain_error(400, f"Unknown format {format_name!r}; use one of {names}.")
    else:
        fmt = formats.negotiate(accept, formats.GRAPH_FORMATS)
        if fmt is None:
            return not_acceptable(formats.GRAPH_FORMATS)
    body = service_description(endpoint_url(), fmt)
    return Response(body, content_type=fmt.content_type, headers={"Vary": "Accept"})


def endpoint_url() -> str:
    return request.url_root.rstrip("/") + "/sparql"


def editor_page() -> str:
    """YASGUI with our endpoint, prefixes and examples; the plain form if its assets are
    missing (they are installed by `make setup`, from npm)."""
    static = Path(current_app.static_folder or "")
    return render_template(
        "editor.html",
        yasgui=all((static / asset).is_file() for asset in EDITOR_ASSETS),
        endpoint=endpoint_url(),
        prefixes=PREFIXES,
        examples=[
            {"name": e.name, "title": e.title, "query": e.text}
            for e in current_app.extensions["kzcn_examples"].values()
        ],
    )


def answer(sparql_request: SparqlRequest) -> Response:
    service = query_service()
    try:
        query = inspect(sparql_request.query or "", service.settings.max_nesting)
    except QueryRefused as refusal:
        return plain_error(400, str(refusal))
    offered = formats_for(query.form)
    if sparql_request.format:
        fmt = formats.by_name(offered, sparql_request.format)
        if fmt is None:
            names = ", ".join(f.name for f in offered)
            return plain_error(
                400,
                f"Unknown format {sparql_request.format!r} for a {query.form} query; "
                f"use one of {names}.",
            )
    else:
        fmt = formats.negotiate(request.headers.get("Accept"), offered)
        if fmt is None:
            return not_acceptable(offered)
    job = service.job(query.text, fmt, sparql_request.default_graphs, sparql_request.named_graphs)
    return send_answer(job, sparql_request.timeout)


def query_service() -> QueryService:
    return current_app.extensions["kzcn_queries"]


def send_answer(job: QueryJob, timeout: float | None = None) -> Response:
    """A query's answer with validators: 304 for a fresh If-None-Match, else the bytes."""
    service = query_service()
    key = service.key(job)
    headers = {
        "ETag": f'"{key}"',
        "Vary": "Accept",
        "Cache-Control": f"public, max-age={service.settings.cache_max_age}",
        "X-Kzcn-Version": service.version,
    }
    if key in request.if_none_match:
        return Response(status=304, headers=headers)
    answer = service.answer(job, timeout)
    if answer.prepared:
        headers[prepared.HEADER] = prepared.PREPARED
    return Response(answer.body, content_type=job.format.content_type, headers=headers)


def plain_error(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def not_acceptable(offered: tuple[formats.Format, ...]) -> Response:
    return plain_error(
        406,
        "None of the requested media types can be produced here; "
        f"available: {', '.join(f.media_type for f in offered)}.",
    )
