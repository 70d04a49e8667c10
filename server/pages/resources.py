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
from .paging import Page, page_links, page_number

blueprint = Blueprint("resources", __name__)

VARIANTS = {f.name: f for f in formats.GRAPH_FORMATS if f.name in ("ttl", "nt", "jsonld", "rdf")}
# One page of the links to the thing. No ORDER BY: ordering IRIs makes the engine fetch each
# one's text for every comparison (a country's 19,000 links at 10^6 triples: 3.5 s against
# 0.01 s); the store's own index order is fixed for a release, whose store never changes.
INCOMING_PAGE = "{ SELECT DISTINCT ?s ?q WHERE { ?s ?q <IRI> } LIMIT SIZE OFFSET SKIP }"
RDF_OF_RESOURCE = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
CONSTRUCT { <IRI> ?p ?o . ?s ?q <IRI> . ?x ?lp ?l . ?src ?sp ?so . }
WHERE {
  { <IRI> ?p ?o }
  UNION { INCOMING }
  UNION {
    # FILTER, not VALUES: with VALUES, Oxigraph reads every label of the graph before joining.
    { <IRI> ?p0 ?x } UNION { INCOMING BIND (?s AS ?x) } UNION { <IRI> ?x ?o0 }
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
# Whether links beyond the first SKIP exist (no ORDER BY needed to count them).
MORE_INCOMING = "ASK { { SELECT ?s WHERE { ?s ?q <IRI> } LIMIT 1 OFFSET SKIP } }"


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
        response = rdf_document(iri, rest, ext)
    response.headers.extend(alternates(rest))
    return response


def rdf_document(iri: str, rest: str, ext: str) -> Response:
    """The thing's facts, the labels of what they name, and one page of the links to it
    (`?page=n`, from 1); further pages are announced in `Link: rel="next"` headers."""
    page = Page(page_number(), current_app.config["KZCN_SETTINGS"].incoming_page_size)
    if page.number > 1 and not has_incoming_beyond(iri, page.skip):
        abort(404)
    exists_or_404(iri)
    incoming = INCOMING_PAGE.replace("SIZE", str(page.size)).replace("SKIP", str(page.skip))
    query = RDF_OF_RESOURCE.replace("INCOMING", incoming).replace("IRI", iri)
    response = send_answer(query_service().job(query, VARIANTS[ext]))
    response.headers["Access-Control-Allow-Origin"] = "*"
    more = has_incoming_beyond(iri, page.skip + page.size)
    response.headers.extend(page_links(f"/id/{quote(rest)}.{ext}", page.number, more))
    return response


def has_incoming_beyond(iri: str, skip: int) -> bool:
    # SKIP first: the IRI's own text could contain the word.
    return facts.ask(MORE_INCOMING.replace("SKIP", str(skip)).replace("IRI", iri))


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
