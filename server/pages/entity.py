"""A resource's page, as data for the template: title by the label chain in the reader's
language, types as badges, facts grouped by property, links in with counts, where in the
article each fact comes from, and a schema.org JSON-LD block for search engines."""

from collections import defaultdict
from urllib.parse import quote

from ..vocab import KZCN
from . import languages
from .describe import Description, Fact, select
from .links import href, local_path, prefixed

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
PROV_DERIVED = "http://www.w3.org/ns/prov#wasDerivedFrom"
SCHEMA = "https://schema.org/"
NAME_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#altLabel",
    SCHEMA + "name",
    str(KZCN.uncertainTranslation),
)
SOURCE_PROPERTIES = (PROV_DERIVED, str(KZCN.sourceParagraph), str(KZCN.mentionText))
LANGUAGE_ORDER = ("kk", "kk-latn", "ru", "en", "zh-hans")

languages.add_messages(
    {
        "names": {"en": "Names", "kk": "Атаулары", "ru": "Названия", "zh-Hans": "名称"},
        "facts": {"en": "Facts", "kk": "Деректер", "ru": "Факты", "zh-Hans": "事实"},
        "links-here": {
            "en": "Links to this",
            "kk": "Осыған сілтемелер",
            "ru": "Ссылки сюда",
            "zh-Hans": "指向此处的链接",
        },
        "where-source": {
            "en": "Where the article says so",
            "kk": "Мақалада қай жерде айтылған",
            "ru": "Где это сказано в статье",
            "zh-Hans": "文章出处",
        },
        "paragraph": {"en": "paragraph", "kk": "абзац", "ru": "абзац", "zh-Hans": "段落"},
        "as-written": {
            "en": "As written in the article",
            "kk": "Мақаладағы жазылуы",
            "ru": "Как написано в статье",
            "zh-Hans": "文章原文",
        },
        "inferred": {"en": "inferred", "kk": "шығарылған", "ru": "выведено", "zh-Hans": "推断"},
        "inferred-title": {
            "en": "Inferred by the build (reasoning), not stated in data/",
            "kk": "Құрастыру кезінде логикалық түрде шығарылған, деректерде жазылмаған",
            "ru": "Выведено при сборке (логический вывод), не записано в данных",
            "zh-Hans": "由构建过程推理得出，并非数据中直接陈述",
        },
        "permanent-iri": {
            "en": "Permanent IRI",
            "kk": "Тұрақты IRI",
            "ru": "Постоянный IRI",
            "zh-Hans": "永久 IRI",
        },
        "copy": {"en": "Copy", "kk": "Көшіру", "ru": "Копировать", "zh-Hans": "复制"},
        "formats": {
            "en": "This page as data",
            "kk": "Бұл бет дерек ретінде",
            "ru": "Эта страница как данные",
            "zh-Hans": "本页数据格式",
        },
        "query-this": {
            "en": "Query this in SPARQL",
            "kk": "SPARQL арқылы сұрау",
            "ru": "Запросить в SPARQL",
            "zh-Hans": "用 SPARQL 查询",
        },
        "article": {"en": "the article", "kk": "мақала", "ru": "статья", "zh-Hans": "文章"},
    }
)


def entity_view(description: Description, lang: str) -> dict:
    iri = description.iri
    title = label_for(description, iri, lang) or languages.Label(prefixed(iri), None, True)
    facts = [f for f in description.facts if f.predicate not in (RDF_TYPE, *SOURCE_PROPERTIES)]
    return {
        "iri": iri,
        "title": title,
        "types": [
            value_view(description, f, lang) for f in description.facts if f.predicate == RDF_TYPE
        ],
        "names": names(description),
        "groups": groups(
            description, [f for f in facts if f.predicate not in NAME_PROPERTIES], lang
        ),
        "incoming": groups(description, description.incoming, lang),
        "source": source(description),
        "formats": [(name, f"{local_path(iri)}.{name}") for name in ("ttl", "nt", "jsonld", "rdf")],
        "query_link": "/sparql#query="
        + quote(f"SELECT ?property ?value WHERE {{\n  <{iri}> ?property ?value\n}}", safe=""),
        "jsonld": schema_org(description, title.text),
    }


def label_for(description: Description, iri: str, lang: str) -> languages.Label | None:
    return languages.choose(description.labels.get(iri, []), lang)


def value_view(description: Description, fact: Fact, lang: str) -> dict:
    term = fact.value
    if term.type == "uri":
        label = label_for(description, term.value, lang)
        return {
            "iri": term.value,
            "href": href(term.value),
            "inferred": fact.inferred,
            "text": label.text if label else prefixed(term.value),
            "lang": label.lang if label else None,
            "fallback": bool(label and label.fallback),
        }
    return {
        "iri": None,
        "href": None,
        "inferred": fact.inferred,
        "text": term.value,
        "lang": term.lang,
        "fallback": False,
    }


def groups(description: Description, facts: list[Fact], lang: str) -> list[dict]:
    """Facts by property, each property labelled from the ontology, its definition a tooltip."""
    by_predicate: dict[str, list[Fact]] = defaultdict(list)
    for fact in facts:
        by_predicate[fact.predicate].append(fact)
    result = []
    for predicate, group in by_predicate.items():
        label = label_for(description, predicate, lang)
        definition = languages.choose(description.definitions.get(predicate, []), lang)
        values = sorted(
            (value_view(description, f, lang) for f in group),
            key=lambda v: (v["inferred"], v["text"].casefold()),
        )
        result.append(
            {
                "predicate": predicate,
                "curie": prefixed(predicate),
                "label": label.text if label else prefixed(predicate),
                "definition": definition.text if definition else "",
                "entries": values,
                "count": len(values),
            }
        )
    return sorted(result, key=lambda g: (g["curie"].split(":")[0] != "kzcn", g["label"].casefold()))


def names(description: Description) -> list[dict]:
    """Every name in every language, once, with the properties that give it: a person
    checks the translations here."""
    rows: dict[tuple[str, str | None], dict] = {}
    for fact in description.facts:
        if fact.predicate in NAME_PROPERTIES and fact.value.type == "literal":
            key = (fact.value.value, fact.value.lang)
            row = rows.setdefault(
                key,
                {
                    "text": fact.value.value,
                    "lang": fact.value.lang,
                    "properties": [],
                    "inferred": fact.inferred,
                },
            )
            row["properties"].append(prefixed(fact.predicate))
    order = {code: i for i, code in enumerate(LANGUAGE_ORDER)}
    return sorted(
        rows.values(), key=lambda r: (order.get((r["lang"] or "").lower(), 99), r["text"])
    )


def source(description: Description) -> dict:
    """The paragraphs of the article the facts come from, the words as written there, and
    the article's own address."""
    articles = [t.value for t in description.objects(PROV_DERIVED) if t.type == "uri"]
    urls = []
    for article in articles:
        rows = select(f"SELECT ?url WHERE {{ <{article}> <{SCHEMA}url> ?url }}")
        urls += [(article, href(article), row["url"]["value"]) for row in rows]
    paragraphs = sorted({int(t.value) for t in description.objects(str(KZCN.sourceParagraph))})
    mentions = [t for t in description.objects(str(KZCN.mentionText))]
    return {
        "articles": urls,
        "paragraphs": paragraphs,
        "mentions": [{"text": m.value, "lang": m.lang} for m in mentions],
    }


def schema_org(description: Description, name: str) -> dict:
    """JSON-LD for search engines: the schema.org types (inferred ones included) and names."""
    types = sorted(
        {
            t.value[len(SCHEMA) :]
            for t in description.objects(RDF_TYPE)
            if t.value.startswith(SCHEMA)
        }
    )
    names_ = [
        {"@value": t.value, "@language": t.lang}
        for t in description.objects("http://www.w3.org/2000/01/rdf-schema#label")
        if t.lang
    ]
    data: dict = {"@context": "https://schema.org", "@id": description.iri, "name": names_ or name}
    if types:
        data["@type"] = types if len(types) > 1 else types[0]
    same = [t.value for t in description.objects("http://www.w3.org/2002/07/owl#sameAs")]
    if same:
        data["sameAs"] = same
    return data
