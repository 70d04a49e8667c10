"""The SPARQL 1.1 Protocol's query operation: from an HTTP request to what to run.

Three ways to send a query (GET ?query=, POST form, POST application/sparql-query), the
dataset parameters, and the refusals the protocol leaves to us: updates, duplicate
parameters, oversized requests and unknown media types.
"""

from dataclasses import dataclass

import pyoxigraph as ox
from flask import Request
from werkzeug.datastructures import MultiDict

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"


# A client's time limit is raised to this: with less, even a cheap query runs past its limit,
# and each such request would cost the embedded store a query worker, killed and restarted.
MIN_CLIENT_TIMEOUT = 0.5


class ProtocolError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message
        super().__init__(message)


@dataclass(frozen=True)
class SparqlRequest:
    query: str | None  # None: no query at all (service description or editor)
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    format: str | None  # an explicit ?format= override of the Accept header
    timeout: float | None  # the client's own, lower time limit


def parse(request: Request, max_bytes: int) -> SparqlRequest:
    if request.content_length is not None and request.content_length > max_bytes:
        raise ProtocolError(413, f"The request body is larger than the limit of {max_bytes} bytes.")
    if request.method == "GET":
        return from_params(request.args, None, max_bytes)
    content_type = request.mimetype
    if content_type == FORM:
        return from_params(request.form, request.args, max_bytes)
    if content_type == SPARQL_QUERY:
        return from_params(request.args, None, max_bytes, body=body_text(request, max_bytes))
    if content_type == SPARQL_UPDATE:
        raise ProtocolError(403, "SPARQL Update is not accepted: this endpoint is read-only.")
    raise ProtocolError(
        415,
        f"POST a query as {FORM} (with a query parameter) or as {SPARQL_QUERY}; "
        f"got {content_type or 'no Content-Type'}.",
    )


def body_text(request: Request, max_bytes: int) -> str:
    data = request.get_data(cache=False)
    if len(data) > max_bytes:
        raise ProtocolError(413, f"The query is longer than the limit of {max_bytes} bytes.")
    return decode(data)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProtocolError(400, f"The query is not valid UTF-8 (byte {error.start}).") from None


def from_params(
    params: MultiDict, url_params: MultiDict | None, max_bytes: int, body: str | None = None
) -> SparqlRequest:
    """Parameters of the form body and, for POST, of the URL, taken together."""
    merged = MultiDict(params)
    if url_params is not None:
        for key, value in url_params.items(multi=True):
            merged.add(key, value)
    if "update" in merged:
        raise ProtocolError(403, "SPARQL Update is not accepted: this endpoint is read-only.")
    queries = merged.getlist("query")
    if body is not None:
        queries.append(body)
    if len(queries) > 1:
        raise ProtocolError(400, "Send exactly one query; this request has several.")
    query = queries[0] if queries else None
    if query is not None and len(query.encode("utf-8")) > max_bytes:
        raise ProtocolError(413, f"The query is longer than the limit of {max_bytes} bytes.")
    return SparqlRequest(
        query=query,
        default_graphs=graph_iris(merged, "default-graph-uri"),
        named_graphs=graph_iris(merged, "named-graph-uri"),
        format=merged.get("format") or None,
        timeout=client_timeout(merged.get("timeout")),
    )


def graph_iris(params: MultiDict, name: str) -> tuple[str, ...]:
    """The graphs a dataset parameter names: absolute IRIs, checked here so that a bad one
    is the client's 400 rather than an engine's failure (it once killed a query worker)."""
    iris = tuple(params.getlist(name))
    for iri in iris:
        try:
            ox.NamedNode(iri)
        except ValueError as error:
            raise ProtocolError(400, f"{name} must be an absolute IRI: {error}.") from None
    return iris


def client_timeout(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise ProtocolError(400, f"timeout must be a number of seconds, not {value!r}.") from None
    if not seconds > 0:
        raise ProtocolError(400, "timeout must be a positive number of seconds.")
    return max(seconds, MIN_CLIENT_TIMEOUT)
