"""Class pages: every instance of a class as a table you can sort and filter (all
universities, all agreements, all research domains…), like a Datasette table: a page of
KZCN_TABLE_PAGE_SIZE rows at a time (pages.paging), so that a class of 50,000 agreements
costs what a class of 25 does."""

from flask import Blueprint, abort, current_app, render_template

from ..vocab import KZCN
from . import languages
from .describe import ask, labels_of, select
from .links import href, prefixed
from .paging import Page, page_href, page_number

blueprint = Blueprint("classes", __name__)

languages.add_messages(
    {
        "classes": {"en": "Classes", "kk": "Кластар", "ru": "Классы", "zh-Hans": "类"},
        "instances": {"en": "instances", "kk": "дана", "ru": "экземпляров", "zh-Hans": "个实例"},
        "filter": {
            "en": "Filter the table",
            "kk": "Кестені сүзу",
            "ru": "Фильтр таблицы",
            "zh-Hans": "筛选表格",
        },
        "name": {"en": "Name", "kk": "Атауы", "ru": "Название", "zh-Hans": "名称"},
        "country": {"en": "Country", "kk": "Елі", "ru": "Страна", "zh-Hans": "国家"},
        "kind": {"en": "Kind", "kk": "Түрі", "ru": "Вид", "zh-Hans": "类型"},
        "links": {"en": "Agreements", "kk": "Келісімдер", "ru": "Соглашения", "zh-Hans": "协议"},
        "paragraphs": {"en": "Paragraph", "kk": "Абзац", "ru": "Абзац", "zh-Hans": "段落"},
        "previous": {"en": "Previous", "kk": "Алдыңғы", "ru": "Назад", "zh-Hans": "上一页"},
        "next": {"en": "Next", "kk": "Келесі", "ru": "Далее", "zh-Hans": "下一页"},
    }
)

CLASSES_WITH_INSTANCES = f"""
SELECT ?class (COUNT(DISTINCT ?x) AS ?n) WHERE {{
  ?x a ?class . FILTER (STRSTARTS(STR(?class), "{KZCN}"))
}} GROUP BY ?class ORDER BY ?class
"""

INSTANCES = """
PREFIX kzcn: <https://w3id.org/kzcn/ontology#>
SELECT ?x (GROUP_CONCAT(DISTINCT STR(?countryNode); separator=" ") AS ?countries)
       (SAMPLE(?kindNode) AS ?kind)
       (COUNT(DISTINCT ?agreement) AS ?agreements) (MIN(?para) AS ?paragraph)
WHERE {
  { SELECT DISTINCT ?x WHERE { ?x a <CLASS> } LIMIT SIZE OFFSET SKIP }
  OPTIONAL { ?x kzcn:country ?countryNode }
  OPTIONAL { ?x a ?kindNode . ?kindNode rdfs:subClassOf <CLASS> . FILTER (?kindNode != <CLASS>)
             FILTER NOT EXISTS { ?x a ?narrower . ?narrower rdfs:subClassOf ?kindNode .
                                 FILTER (?narrower != ?kindNode) } }
  OPTIONAL { { ?x kzcn:partyTo ?agreement } UNION { ?agreement kzcn:establishes ?x }
             UNION { ?x a kzcn:Agreement . BIND (?x AS ?agreement) } }
  OPTIONAL { ?x kzcn:sourceParagraph ?para }
} GROUP BY ?x
"""
INSTANCE_COUNT = "SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a <CLASS> }"


@blueprint.get("/classes/")
def index() -> str:
    rows = select(CLASSES_WITH_INSTANCES)
    iris = {row["class"]["value"] for row in rows}
    lang = languages.current()
    labels, definitions = labels_of(iris, ("skos:prefLabel", "rdfs:label"))
    classes = [
        {
            "name": row["class"]["value"][len(str(KZCN)) :],
            "count": int(row["n"]["value"]),
            "label": languages.choose(labels.get(row["class"]["value"], []), lang),
            "definition": languages.choose(definitions.get(row["class"]["value"], []), lang),
        }
        for row in rows
    ]
    return render_template("classes/index.html", classes=classes)


@blueprint.get("/classes/<name>")
def instances(name: str) -> str:
    cls = f"{KZCN}{name}"
    if not name.isalnum() or not ask(f"ASK {{ <{cls}> a owl:Class }}"):
        abort(404)
    total = int(select(INSTANCE_COUNT.replace("CLASS", cls))[0]["n"]["value"])
    page = Page(page_number(), current_app.config["KZCN_SETTINGS"].table_page_size, total)
    if not page.exists:
        abort(404)
    query = INSTANCES.replace("SIZE", str(page.size)).replace("SKIP", str(page.skip))
    rows = select(query.replace("CLASS", cls))
    lang = languages.current()
    named = {cls} | {row[key]["value"] for row in rows for key in ("x", "kind") if key in row}
    named |= {country for row in rows for country in countries_of(row)}
    labels, definitions = labels_of(named, ("skos:prefLabel", "rdfs:label", "schema:name"))

    def label(iri: str | None) -> languages.Label | None:
        return languages.choose(labels.get(iri, []), lang) if iri else None

    table = [
        {
            "href": href(row["x"]["value"]),
            "iri": row["x"]["value"],
            "label": label(row["x"]["value"])
            or languages.Label(prefixed(row["x"]["value"]), None, True),
            "countries": [label(country) for country in countries_of(row)],
            "kind": label(row.get("kind", {}).get("value")),
            "agreements": int(row["agreements"]["value"]),
            "paragraph": int(row["paragraph"]["value"]) if "paragraph" in row else None,
        }
        for row in rows
    ]
    table.sort(key=lambda r: r["label"].text.casefold())
    return render_template(
        "classes/instances.html",
        name=name,
        table=table,
        label=label(cls),
        definition=languages.choose(definitions.get(cls, []), lang),
        page=page,
        page_href=page_href,
    )


def countries_of(row: dict) -> list[str]:
    """The country IRIs of a row (joined with spaces: no IRI of ours holds one)."""
    return sorted(row.get("countries", {}).get("value", "").split())
