"""What the search and reconciliation endpoints share on the wire: JSON (or JSONP) answers,
CORS, and plain-text 400s for bad parameters."""

import json
import re

from flask import Blueprint, Response, request

# A JSONP callback is a JavaScript name, possibly dotted (jQuery's are jQuery123_456);
# anything else could smuggle code into the answer.
CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
MAX_CALLBACK = 128
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, Content-Type",
    "Access-Control-Max-Age": "86400",
}


class BadParameter(ValueError):
    """A request parameter we cannot use: the client gets a 400 saying which and why."""


def plain(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def reply(data: object, status: int = 200) -> Response:
    """JSON, or JSONP when the request has `callback=` (older OpenRefine and other
    browser clients from before CORS)."""
    body = json.dumps(data, ensure_ascii=False)
    callback = request.args.get("callback")
    if callback is None:
        return Response(body, status=status, content_type="application/json; charset=utf-8")
    if len(callback) > MAX_CALLBACK or not CALLBACK.fullmatch(callback):
        raise BadParameter("callback must be a JavaScript function name")
    # U+2028 and U+2029 are valid in JSON but end a line in older JavaScript. The leading
    # comment keeps the answer from starting with bytes a plugin could mistake for its own
    # file type (the "Rosetta Flash" attack on JSONP).
    body = body.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Response(
        f"/**/{callback}({body});",
        status=status,
        content_type="application/javascript; charset=utf-8",
    )


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    """A positive whole number; more than `maximum` is cut down to it."""
    if value is None or value.strip() == "":
        return default
    try:
        limit = int(value)
    except ValueError:
        raise BadParameter(f"limit must be a whole number from 1 to {maximum}") from None
    if limit < 1:
        raise BadParameter(f"limit must be a whole number from 1 to {maximum}")
    return min(limit, maximum)


def open_to_all_origins(blueprint: Blueprint) -> None:
    """CORS on every answer of `blueprint` (errors included), with preflight for POST."""

    @blueprint.after_request
    def add_cors(response: Response) -> Response:
        response.headers.update(CORS_HEADERS)
        if request.method == "OPTIONS":
            response.headers.update(PREFLIGHT_HEADERS)
        return response

    @blueprint.errorhandler(BadParameter)
    def bad_parameter(error: BadParameter) -> Response:
        return plain(400, str(error))
