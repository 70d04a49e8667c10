"""/queries: the example queries as pages, like Datasette's canned queries.

/queries lists them; /queries/{name} runs one and shows the answer as a table;
/queries/{name}.{json,csv,tsv,…} returns the answer itself; /queries/{name}.rq the query."""

import json

from flask import Blueprint, Response, abort, current_app, render_template, url_for

from . import formats
from .examples import Example
from .pages.links import prefixed
from .sparql import prepared
from .sparql.query_text import inspect
from .sparql.service import formats_for
from .sparql.views import query_service, send_answer
from .store import StoreError

blueprint = Blueprint("examples", __name__)


def examples() -> dict[str, Example]:
    return current_app.extensions["kzcn_examples"]


def example_or_404(name: str) -> Example:
    example = examples().get(name)
    if example is None:
        abort(404)
    return example


def form_of(example: Example) -> str:
    return inspect(example.text, max_depth=10_000).form


@blueprint.get("/queries")
def index() -> str:
    listed = list(examples().values())
    formats_of = {e.name: formats_for(form_of(e)) for e in listed}
    return render_template("examples/index.html", examples=listed, formats_of=formats_of)


@blueprint.get("/queries.json")
def listing() -> Response:
    body = [
        {
            "name": e.name,
            "title": e.title,
            "question_en": e.question_en,
            "question_kk": e.question_kk,
            "shows": e.shows,
            "query": e.text,
            "url": url_for("examples.show", name=e.name, _external=True),
        }
        for e in examples().values()
    ]
    return Response(
        json.dumps(body, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
        headers={"Access-Control-Allow-Origin": "*"},
    )


@blueprint.get("/queries/<name>")
def show(name: str) -> tuple[str, int, dict[str, str]]:
    example = example_or_404(name)
    form = form_of(example)
    context = {
        "example": example,
        "formats": formats_for(form),
        "error": None,
        "boolean": None,
        "graph": None,
        "variables": [],
        "rows": [],
    }
    service = query_service()
    fmt = (
        formats.GRAPH_FORMATS[0]
        if form in ("CONSTRUCT", "DESCRIBE")
        else (formats.RESULT_FORMATS[0])
    )
    try:
        answer = service.answer(service.job(example.text, fmt))
    except StoreError as error:
        context["error"] = error.message
        return render_template("examples/show.html", **context), error.status, {}
    if fmt is formats.GRAPH_FORMATS[0]:
        context["graph"] = answer.body.decode("utf-8")
    else:
        context |= table(json.loads(answer.body))
    headers = {prepared.HEADER: prepared.PREPARED} if answer.prepared else {}
    return render_template("examples/show.html", **context), 200, headers


@blueprint.get("/queries/<name>.<ext>")
def download(name: str, ext: str) -> Response:
    example = example_or_404(name)
    if ext == "rq":
        return Response(
            example.text,
            content_type="application/sparql-query; charset=utf-8",
            headers={"Access-Control-Allow-Origin": "*"},
        )
    fmt = formats.by_name(formats_for(form_of(example)), ext)
    if fmt is None:
        abort(404)
    response = send_answer(query_service().job(example.text, fmt))
    response.headers["Access-Control-Allow-Origin"] = "*"
    # The name is built from what we know (the example's and the format's), never from the URL.
    response.headers["Content-Disposition"] = f'inline; filename="{example.name}.{fmt.name}"'
    return response


def table(results: dict) -> dict:
    """SPARQL JSON results as the template's variables, rows and boolean."""
    if "boolean" in results:
        return {"boolean": results["boolean"]}
    variables = results["head"]["vars"]
    rows = [[cell(binding.get(v)) for v in variables] for binding in results["results"]["bindings"]]
    return {"variables": variables, "rows": rows}


def cell(term: dict | None) -> dict | None:
    if term is None:
        return None
    value = term["value"]
    return {
        "type": term["type"],
        "value": value,
        "lang": term.get("xml:lang"),
        "short": prefixed(value) if term["type"] == "uri" else value,
    }
