"""Every IRI under https://w3id.org/kzcn/id/ answers here, for people and for machines.

Content negotiation follows "Cool URIs for the Semantic Web" with 303 redirects: the IRI of a
thing (a university, an agreement) is not a document, so `GET /id/organization/x` answers
303 See Other to a document about it — `/id/organization/x.html` for browsers, `.ttl`, `.nt`,
`.jsonld` or `.rdf` for machines (chosen by Accept, q-values honoured). Each document can
also be asked for directly. `curl -L -H 'Accept: text/turtle' IRI` therefore gives Turtle.
"""

from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request

from .. import formats
from ..sparql.views import query_service, send_answer
from . import describe as facts
from . import languages
from .entity import entity_view
from .links import iri_of

blueprint = Blueprint("resources", __name__)

VARIANTS = {f.name: f for f in formats.GRAPH_FORMATS if f.name in ("ttl", "nt", "jsonld", "rdf")}
RDF_OF_RESOURCE = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
CONSTRUCT { <IRI> ?p ?o . ?s ?q <IRI> . ?x ?lp ?l . ?src ?sp ?so . }
WHERE {
  { <IRI> ?p ?o }
  UNION { ?s ?q <IRI> }
  UNION {
    # FILTER, not VALUES: with VALUES, Oxigraph reads every label of the graph before joining.
    { <IRI> ?p0 ?x } UNION { ?x ?q0 <IRI> } UNION { <IRI> ?x ?o0 }
    ?x ?lp ?l
    FILTER (?lp IN (rdfs:label, skos:prefLabel, skos:altLabel, schema:name))
  }
  UNION {
    <IRI> prov:wasDerivedFrom ?src .
    ?src ?sp ?so
    FILTER (?sp IN (schema:url, schema:datePublished, schema:publisher, schema:inLanguage))
  }
}
"""


@blueprint.get("/id/<path:rest>")
def resource(rest: str) -> Response | str:
    stem, dot, ext = rest.rpartition(".")
    if dot and (ext in VARIANTS or ext == "html"):
        return document(stem, ext)
    return thing(rest)


def thing(rest: str) -> Response:
    """The IRI of a thing: 303 to the document in the format the client prefers."""
    exists_or_404(iri_or_404(rest))
    accept = request.headers.get("Accept")
    if formats.prefers_html(accept, formats.GRAPH_FORMATS):
        ext = "html"
    else:
        fmt = formats.negotiate(accept, tuple(VARIANTS.values()))
        if fmt is None:
            return Response(
                "Available: text/html, "
                + ", ".join(f.media_type for f in VARIANTS.values())
                + "\n",
                status=406,
                content_type="text/plain; charset=utf-8",
                headers=alternates(rest),
            )
        ext = fmt.name
    target = f"/id/{quote(rest)}.{ext}"
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    response = redirect(target, code=303)
    response.headers["Vary"] = "Accept"
    response.headers.extend(alternates(rest))
    return response


def document(rest: str, ext: str) -> Response | str:
    iri = iri_or_404(rest)
    if ext == "html":
        settings = current_app.config["KZCN_SETTINGS"]
        description = facts.describe(iri, settings.label_chain)
        if not description.exists:
            abort(404)
        page = render_template("resource.html", **entity_view(description, languages.current()))
        response = Response(page, content_type="text/html; charset=utf-8")
    else:
        exists_or_404(iri)
        service = query_service()
        response = send_answer(service.job(RDF_OF_RESOURCE.replace("IRI", iri), VARIANTS[ext]))
        response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.extend(alternates(rest))
    return response


def iri_or_404(rest: str) -> str:
    iri = iri_of(f"/id/{rest}")
    if not facts.is_iri(iri):
        abort(404)
    return iri


def exists_or_404(iri: str) -> None:
    found = facts.select(
        f"SELECT ?x WHERE {{ {{ <{iri}> ?p ?x }} UNION {{ ?x ?p <{iri}> }} }} LIMIT 1"
    )
    if not found:
        abort(404)


def alternates(rest: str) -> list[tuple[str, str]]:
    """`Link: <…>; rel="alternate"` for every document about the thing."""
    path = f"/id/{quote(rest)}"
    links = [f'<{path}.html>; rel="alternate"; type="text/html"']
    links += [
        f'<{path}.{name}>; rel="alternate"; type="{fmt.media_type}"'
        for name, fmt in VARIANTS.items()
    ]
    return [("Link", ", ".join(links))]
