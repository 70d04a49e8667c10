"""Repeat GET requests answered before Flask: a WSGI middleware holding whole responses.

A query's answer depends only on the dataset version, the request line and its Accept header,
so once a view has marked a response as shareable, the same request for the same release is
answered from here in a few microseconds — Python's web stack stays off the hot path. The
version is that of the release the request is pinned to (current_release.py): after a switch,
the old release's responses are never replayed, they age out. Conditional requests are
honoured: a matching If-None-Match gets a 304."""

from collections.abc import Callable, Iterable
from typing import Any

from .cache import LruCache
from .current_release import PINNED

# A view sets this in the WSGI environ to let its 200 response be replayed.
SHAREABLE = "kzcn.shareable"

Headers = list[tuple[str, str]]
StartResponse = Callable[..., Any]
Entry = tuple[str, Headers, bytes, str]  # status, headers, body, ETag


class ResponseCache:
    def __init__(self, app: Callable[..., Iterable[bytes]], max_bytes: int) -> None:
        self.app = app
        self.cache: LruCache[tuple[str, str, str, str], Entry] = LruCache(max_bytes)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        pinned = environ.get(PINNED)
        key = (
            pinned.version if pinned is not None else "",
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_ACCEPT", ""),
        )
        entry = self.cache.get(key)
        if entry is not None:
            return replay(entry, environ, start_response)
        return self.record(key, environ, start_response)

    def record(
        self, key: tuple[str, str, str, str], environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: list[tuple[str, Headers]] = []

        def capture(status: str, headers: Headers, exc_info: Any = None) -> Any:
            seen.append((status, headers))
            return start_response(status, headers, exc_info)

        body = self.app(environ, capture)
        if not (environ.get(SHAREABLE) and seen and seen[0][0].startswith("200")):
            return body
        data = b"".join(body)
        if hasattr(body, "close"):
            body.close()
        status, headers = seen[0]
        etag = next((v for k, v in headers if k.lower() == "etag"), "")
        self.cache.put(key, (status, headers, data, etag), len(data) + 512)
        return [data]


def replay(entry: Entry, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    status, headers, body, etag = entry
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match and etag and (etag in match or match.strip() == "*"):
        kept = [(k, v) for k, v in headers if k.lower() not in ("content-type", "content-length")]
        start_response("304 NOT MODIFIED", kept)
        return []
    start_response(status, headers)
    return [body]
