"""/reconcile: the W3C Entity Reconciliation Service API (version 0.2), as OpenRefine speaks it,
over the search index.

- `GET /reconcile` with no `queries`: the service manifest (JSONP with `callback=`);
- `POST /reconcile` with a form field `queries` (or `GET ?queries=`): a batch of queries
  `{"q0": {"query": "…", "type": "…", "limit": 3}}` → `{"q0": {"result": [candidates]}}`;
- `GET /reconcile/view?id=` and `/reconcile/preview?id=`: a candidate's page and a small
  HTML preview. Ids are full IRIs, and the spec has clients percent-encode them into the
  `{{id}}` of these templates, so they travel as a query parameter, where an encoded or
  unencoded IRI both arrive intact (in a path, %2F would be decoded into a slash);
- `GET /reconcile/suggest/entity?prefix=`: auto-completion.

Every answer allows any origin (CORS, set by the parent blueprint in `views`)."""

import json
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from ..vocab import ID, KZCN
from .http import BadParameter, parse_limit, plain, reply
from .index import Entry
from .service import Named, Namer, Result, entry_of, expand, result_for, search

blueprint = Blueprint("reconcile", __name__)

SERVICE_NAME = "kzcn-kg: Kazakhstan–China academic cooperation"
DEFAULT_TYPES = (
    "Organization",
    "HigherEducationInstitution",
    "Company",
    "ResearchInstitute",
    "Agreement",
    "ResearchDomain",
)
DEFAULT_LIMIT = 10  # candidates per query when the client does not say
MAX_LIMIT = 100
BATCH_SIZE = 50  # queries per batch; OpenRefine sends 10 at a time by default
SUGGEST_LIMIT = 10
PREVIEW_WIDTH, PREVIEW_HEIGHT = 400, 160


@blueprint.route("/reconcile", methods=["GET", "POST"])
def endpoint() -> Response:
    batch = request.values.get("queries")
    if batch is None:
        if request.method == "POST":
            raise BadParameter("POST a form field 'queries' holding a JSON query batch")
        return reply(manifest())
    queries = parse_batch(batch)
    if len(queries) > BATCH_SIZE:
        # The spec's answer to a batch past the manifest's batchSize.
        return plain(413, f"At most {BATCH_SIZE} queries per batch.")
    return reply({key: {"result": reconcile(query)} for key, query in queries.items()})


def manifest() -> dict[str, Any]:
    namer = Namer.for_request()
    return {
        "versions": ["0.2"],
        "name": SERVICE_NAME,
        "identifierSpace": str(ID),
        "schemaSpace": str(KZCN),
        "documentation": url_for("search.search", _external=True),
        # What changes candidates is the data, so the version given is the dataset's.
        "serviceVersion": current_app.extensions["kzcn_queries"].version,
        "defaultTypes": [type_json(namer.named(f"{KZCN}{name}")) for name in DEFAULT_TYPES],
        "view": {"url": template_url("search.reconcile.view")},
        "preview": {
            "url": template_url("search.reconcile.preview"),
            "width": PREVIEW_WIDTH,
            "height": PREVIEW_HEIGHT,
        },
        "suggest": {
            "entity": {
                # service_url + service_path is the address; the path carries any script
                # root, so the URL is the bare host.
                "service_url": request.host_url.rstrip("/"),
                "service_path": url_for("search.reconcile.suggest_entity"),
            }
        },
        "batchSize": BATCH_SIZE,
    }


def template_url(endpoint: str) -> str:
    """`…?id={{id}}`: built by hand, as url_for would percent-encode the braces."""
    return url_for(endpoint, _external=True) + "?id={{id}}"


def parse_batch(text: str) -> dict[str, dict[str, Any]]:
    try:
        batch = json.loads(text)
    except ValueError as error:
        raise BadParameter(f"queries is not JSON: {error}") from None
    except RecursionError:  # [[[[…]]]] nested deeper than the parser's stack
        raise BadParameter("queries is nested too deeply") from None
    if not isinstance(batch, dict) or not all(isinstance(q, dict) for q in batch.values()):
        raise BadParameter('queries must be an object of queries: {"q0": {"query": "…"}}')
    return batch


def reconcile(query: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Candidates for one query, best first. Only `query`, `type` and `limit` are used:
    `properties` and `type_strict` are accepted and ignored (types are a hard filter)."""
    text = query.get("query")
    if text is not None and not isinstance(text, str):
        raise BadParameter("query must be a string")
    text = (text or "").strip()
    if not text:
        return []
    limit = query_limit(query.get("limit"))
    types = query_types(query.get("type"))
    entry = entry_of(text)
    if entry is not None and (types is None or not types.isdisjoint(entry.types)):
        # The spec: a query that is an entity's identifier finds that entity.
        return [candidate(result_for(entry), match=True)]
    # At least two, so that a unique top match is known to be unique even if one is asked.
    results = search(text, max(limit, 2), sorted(types) if types else None)
    decided = is_clear_match(results)
    return [candidate(r, match=decided and i == 0) for i, r in enumerate(results[:limit])]


def is_clear_match(results: list[Result]) -> bool:
    """`match: true` only for a clear, unique top match: the query is exactly one of the top
    candidate's names or acronyms (after folding case, script and diacritics) and of no
    other candidate's. OpenRefine matches such cells without asking, so anything
    approximate or ambiguous must be left to a person."""
    if not results or not results[0].exact:
        return False
    return len(results) == 1 or not results[1].exact


def query_limit(value: object) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadParameter("limit must be a positive whole number")
    return parse_limit(str(value), DEFAULT_LIMIT, MAX_LIMIT)


def query_types(value: object) -> set[str] | None:
    """`type` as a string or a list (0.2), of ids or of {"id": …} objects. An id is a class
    IRI, a prefixed name (kzcn:Company) or one of our class names (Company)."""
    if value is None or value == "" or value == []:
        return None
    values = value if isinstance(value, list) else [value]
    ids = [v.get("id") if isinstance(v, dict) else v for v in values]
    if not all(isinstance(i, str) and i.strip() for i in ids):
        raise BadParameter("type must be a class id or a list of class ids")
    return {type_iri(i.strip()) for i in ids}


def type_iri(identifier: str) -> str:
    return expand(identifier) if ":" in identifier else f"{KZCN}{identifier}"


def candidate(result: Result, match: bool) -> dict[str, Any]:
    return {
        "id": result.iri,
        "name": result.label,
        "description": result.description,
        "type": [type_json(t) for t in result.types],
        "score": result.score,
        "match": match,
    }


def type_json(item: Named) -> dict[str, str]:
    return {"id": item.iri, "name": item.label}


@blueprint.get("/reconcile/view")
def view() -> Response:
    """A candidate's page: 303 to the thing's own path (never to somewhere else: only our
    IRIs are accepted, so this is no open redirect)."""
    result = result_for(known_entry())
    return redirect(result.url, code=303)


@blueprint.get("/reconcile/preview")
def preview() -> Response:
    result = result_for(known_entry())
    page = render_template("search/preview.html", result=result)
    response = Response(page, content_type="text/html; charset=utf-8")
    # Clients show the preview in an iframe, so unlike our pages it must be frameable; it
    # runs no script at all. (For now server/security.py replaces this policy with the
    # site's, which forbids framing: it must leave a view's own policy in place.)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors *"
    )
    return response


def known_entry() -> Entry:
    """The thing `?id=` names, or 404."""
    entry = entry_of(request.args.get("id", ""))
    if entry is None:
        abort(404)
    return entry


@blueprint.get("/reconcile/suggest/entity")
def suggest_entity() -> Response:
    """Auto-completion: `prefix`, optional `cursor` (how many to skip), `type` and `limit`."""
    prefix = request.args.get("prefix", "").strip()
    cursor = cursor_of(request.args.get("cursor"))
    limit = parse_limit(request.args.get("limit"), SUGGEST_LIMIT, MAX_LIMIT)
    types = query_types(request.args.getlist("type") or None)
    if not prefix:
        return reply({"result": []})
    entry = entry_of(prefix)
    if entry is not None:
        results = [result_for(entry)]
    else:
        results = search(prefix, cursor + limit, sorted(types) if types else None)[cursor:]
    return reply({"result": [suggestion(r) for r in results]})


def cursor_of(value: str | None) -> int:
    if value is None or value.strip() == "":
        return 0
    try:
        cursor = int(value)
    except ValueError:
        cursor = -1
    if cursor < 0:
        raise BadParameter("cursor must be a whole number, 0 or more")
    return cursor


def suggestion(result: Result) -> dict[str, Any]:
    return {
        "id": result.iri,
        "name": result.label,
        "description": result.description,
        "notable": [type_json(t) for t in result.types],
    }
