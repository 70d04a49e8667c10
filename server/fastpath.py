"""Repeat GET requests answered before Flask: a WSGI middleware holding whole responses.

A response is replayed for the same request when it depends only on what the cache key holds:
the dataset version, the request line (and the host and scheme, which absolute links in a
page are made from), `Accept` and `Accept-Language`. Which responses qualify is decided here,
by one rule, not view by view: a GET answered 200 whose body was made in memory (not a file
sent from disk, not a generator: `mark_in_memory`), with no `Set-Cookie`, no
`Cache-Control: no-store` or `private` (how a view that is not deterministic opts out, which
also tells browsers and proxies), a `Vary` naming only headers the key holds, and a body small
enough for the cache. So pages, search, reconciliation GETs, the example queries and SPARQL
answers alike stay off Python's web stack when repeated. The version is that of the release
the request is pinned to (current_release.py): after a switch, the old release's responses are
never replayed, they age out. Conditional requests are honoured: a matching If-None-Match gets
a 304; a Range request always goes to the application (the key does not hold Range).

Nothing of one request leaks into another's replayed response: the application sends no
cookie, nonce or request id (the access log, outermost, logs each request on its own), the
HTTP server adds `Date`, and PinRelease stamps `X-Kzcn-Version` outside this cache."""

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from .cache import LruCache
from .current_release import PINNED

# The application sets this in the WSGI environ when a response's body is in memory.
SHAREABLE = "kzcn.shareable"
# Request headers the key holds, besides the request line: a response may vary by these only.
KEYED_HEADERS = frozenset({"accept", "accept-language"})
OPT_OUT = frozenset({"no-store", "private"})  # Cache-Control directives that forbid replay
ENTRY_OVERHEAD = 512  # bytes counted per entry besides its body: key, headers

Headers = list[tuple[str, str]]
StartResponse = Callable[..., Any]
Key = tuple[str, ...]
Entry = tuple[str, Headers, bytes, str]  # status, headers, body, ETag


class ResponseCache:
    def __init__(self, app: Callable[..., Iterable[bytes]], max_bytes: int) -> None:
        self.app = app
        self.cache: LruCache[Key, Entry] = LruCache(max_bytes)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_RANGE" in environ:
            return self.app(environ, start_response)
        key = cache_key(environ)
        entry = self.cache.get(key)
        if entry is not None:
            return replay(entry, environ, start_response)
        return self.record(key, environ, start_response)

    def record(
        self, key: Key, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: list[tuple[str, Headers]] = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Any:
            seen.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        if not (seen and environ.get(SHAREABLE) and self.replayable(*seen[0])):
            return body
        data = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        status, headers = seen[0]
        # A Date (werkzeug's make_conditional sets one) is of this response only: a replay
        # must not repeat it; the HTTP server dates each response it sends.
        headers = [(k, v) for k, v in headers if k.lower() != "date"]
        self.cache.put(key, (status, headers, data, header(headers, "etag")), entry_size(len(data)))
        return [data]

    def replayable(self, status: str, headers: Headers) -> bool:
        """The rule (see the module docstring), on the headers as the application sent them."""
        if not status.startswith("200") or header(headers, "set-cookie"):
            return False
        directives = {
            d.strip().split("=", 1)[0] for d in header(headers, "cache-control").split(",")
        }
        if directives & OPT_OUT:
            return False
        varies = {name.strip().lower() for name in header(headers, "vary").split(",")} - {""}
        if not varies <= KEYED_HEADERS:
            return False
        length = header(headers, "content-length")
        return not length.isdigit() or self.cache.admits(entry_size(int(length)))


def cache_key(environ: dict[str, Any]) -> Key:
    pinned = environ.get(PINNED)
    return (
        pinned.version if pinned is not None else "",
        environ.get("wsgi.url_scheme", ""),
        environ.get("HTTP_HOST", ""),
        environ.get("SCRIPT_NAME", ""),
        environ.get("PATH_INFO", ""),
        environ.get("QUERY_STRING", ""),
        environ.get("HTTP_ACCEPT", ""),
        environ.get("HTTP_ACCEPT_LANGUAGE", ""),
    )


def header(headers: Headers, name: str) -> str:
    """A response header's value ('' when absent); `name` in lower case."""
    return next((v for k, v in headers if k.lower() == name), "")


def entry_size(body_bytes: int) -> int:
    return body_bytes + ENTRY_OVERHEAD


def replay(entry: Entry, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    status, headers, body, etag = entry
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match and etag and (etag in match or match.strip() == "*"):
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        start_response("304 NOT MODIFIED", kept)
        return []
    start_response(status, headers)
    return [body]


def init_app(app: Flask) -> None:
    """Tell the middleware which responses have their body in memory: only the Response
    object knows (a file sent from disk is `direct_passthrough`; a generator is streamed),
    and such bodies must be neither read into memory nor replayed without Range support.
    A GET 200 made in memory without an ETag gets one from its body, so that every page can
    be revalidated with a 304, by the replay and by the application alike."""

    @app.after_request
    def mark_in_memory(response: Response) -> Response:
        in_memory = not (response.direct_passthrough or response.is_streamed)
        request.environ[SHAREABLE] = in_memory
        if in_memory and request.method == "GET" and response.status_code == 200:
            if "ETag" not in response.headers:
                response.add_etag()
            if request.if_none_match:  # a revalidation the cache could not answer yet
                response.make_conditional(request)
        return response
