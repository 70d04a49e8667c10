"""/ontology: the kzcn ontology, documented for people and served as RDF for machines.

Every term is a hash IRI in `https://w3id.org/kzcn/ontology#`, so all of them dereference to
this one document: `/ontology#Agreement` lands on the term's entry, whose `id` is its local
name. Browsers get the documentation in the reader's language (labels of the ontology graph,
Latin-script Kazakh from the inferred graph, fallbacks marked); machines get the ontology graph
in the format they ask for by Accept or `?format=` (Turtle by default), through the query
service so that answers are cached and carry ETags.

Structure (super-classes, domains, …) is read from what was asserted (the ontology and data
graphs): the inferred graph's closure (every class a subclass of itself and of owl:Thing) would
bury it. Examples of use are read from the union, inferred facts included.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import Blueprint, Response, abort, current_app, render_template, request
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from .. import formats
from ..sparql.views import query_service, send_answer
from ..vocab import GRAPHS, KZCN, ONTOLOGY_IRI, SCHEMA
from . import languages
from .describe import labels_of, select
from .dumps import alternates, requested_format
from .languages import Label, choose
from .links import local_path, prefixed

blueprint = Blueprint("ontology", __name__)

NS = str(KZCN)
ONTOLOGY = str(GRAPHS["ontology"])
ASSERTED = f"<{ONTOLOGY}> <{GRAPHS['data']}>"
DCTERMS = "http://purl.org/dc/terms/"
VANN = "http://purl.org/vocab/vann/"
MAX_INSTANCES = 5
MAX_EXAMPLES = 3

ONTOLOGY_RDF = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY}> {{ ?s ?p ?o }} }}"
HEADER = f"SELECT ?p ?o WHERE {{ GRAPH <{ONTOLOGY}> {{ <{ONTOLOGY_IRI}> ?p ?o }} }}"
TERMS = f"""
SELECT DISTINCT ?term ?p ?o WHERE {{
  VALUES ?g {{ {ASSERTED} }}
  GRAPH ?g {{ ?term ?p ?o }}
  FILTER (STRSTARTS(STR(?term), "{NS}"))
}}
"""
# The graph describes one news article (a few hundred things), so every instance of every
# class and every use of every property is read in one query each and trimmed here: SPARQL has
# no "first five per group", and one cached query beats one query per term.
INSTANCES = f"""
SELECT DISTINCT ?class ?x WHERE {{ ?x a ?class FILTER (STRSTARTS(STR(?class), "{NS}")) }}
ORDER BY ?class ?x
"""
USES = f"""
SELECT DISTINCT ?p ?s ?o WHERE {{ ?s ?p ?o FILTER (STRSTARTS(STR(?p), "{NS}")) }}
ORDER BY ?p ?s ?o
"""

# Sections of the page, in order: the kind of a term is its first rdf:type found here.
KINDS: tuple[tuple[str, str], ...] = (
    ("class", str(OWL.Class)),
    ("object", str(OWL.ObjectProperty)),
    ("datatype", str(OWL.DatatypeProperty)),
    ("annotation", str(OWL.AnnotationProperty)),
    ("individual", str(OWL.NamedIndividual)),
    ("scheme", str(SKOS.ConceptScheme)),
)
OTHER = "other"
PROPERTY_KINDS = ("object", "datatype", "annotation")
MAIN_TYPES = {iri for _, iri in KINDS}
SECTION_TITLES = {
    "class": "onto-classes",
    "object": "onto-object-properties",
    "datatype": "onto-datatype-properties",
    "annotation": "onto-annotation-properties",
    "individual": "onto-individuals",
    "scheme": "onto-schemes",
    OTHER: "onto-other",
}
# Links to terms of other vocabularies: what "alignment" means on this page.
ALIGNMENT = (
    str(RDFS.subClassOf),
    str(RDFS.subPropertyOf),
    str(OWL.equivalentClass),
    str(OWL.equivalentProperty),
    str(SKOS.exactMatch),
    str(SKOS.closeMatch),
)

languages.add_messages(
    {
        "onto-contents": {"en": "Contents", "kk": "Мазмұны", "ru": "Содержание", "zh-Hans": "目录"},
        "onto-classes": {"en": "Classes", "kk": "Кластар", "ru": "Классы", "zh-Hans": "类"},
        "onto-object-properties": {
            "en": "Object properties",
            "kk": "Объектілік қасиеттер",
            "ru": "Объектные свойства",
            "zh-Hans": "对象属性",
        },
        "onto-datatype-properties": {
            "en": "Datatype properties",
            "kk": "Дерек типті қасиеттер",
            "ru": "Свойства типов данных",
            "zh-Hans": "数据属性",
        },
        "onto-annotation-properties": {
            "en": "Annotation properties",
            "kk": "Аннотациялық қасиеттер",
            "ru": "Свойства-аннотации",
            "zh-Hans": "注释属性",
        },
        "onto-individuals": {
            "en": "Named individuals",
            "kk": "Атаулы даралар",
            "ru": "Именованные индивиды",
            "zh-Hans": "命名个体",
        },
        "onto-schemes": {
            "en": "Concept schemes",
            "kk": "Ұғымдар схемалары",
            "ru": "Схемы понятий",
            "zh-Hans": "概念体系",
        },
        "onto-other": {
            "en": "Other terms",
            "kk": "Басқа терминдер",
            "ru": "Прочие термины",
            "zh-Hans": "其他术语",
        },
        "onto-version": {"en": "Version", "kk": "Нұсқасы", "ru": "Версия", "zh-Hans": "版本"},
        "onto-version-iri": {
            "en": "Version IRI",
            "kk": "Нұсқаның IRI-і",
            "ru": "IRI версии",
            "zh-Hans": "版本 IRI",
        },
        "onto-namespace": {
            "en": "Namespace",
            "kk": "Атаулар кеңістігі",
            "ru": "Пространство имён",
            "zh-Hans": "命名空间",
        },
        "onto-prefix": {
            "en": "Preferred prefix",
            "kk": "Ұсынылатын префикс",
            "ru": "Рекомендуемый префикс",
            "zh-Hans": "推荐前缀",
        },
        "onto-created": {
            "en": "Created",
            "kk": "Жасалған күні",
            "ru": "Дата создания",
            "zh-Hans": "创建日期",
        },
        "onto-creator": {"en": "Creator", "kk": "Авторы", "ru": "Автор", "zh-Hans": "作者"},
        "onto-licence": {
            "en": "Licence",
            "kk": "Лицензиясы",
            "ru": "Лицензия",
            "zh-Hans": "许可协议",
        },
        "onto-download": {
            "en": "The ontology as data",
            "kk": "Онтология дерек ретінде",
            "ru": "Онтология в машиночитаемом виде",
            "zh-Hans": "机器可读的本体",
        },
        "onto-fallback-note": {
            "en": "A name or definition marked with a language code is not available in your "
            "language and is shown in that language instead.",
            "kk": "Тіл коды белгіленген атау не анықтама сіздің тіліңізде жоқ, сондықтан сол "
            "тілде көрсетілген.",
            "ru": "Название или определение с пометкой кода языка недоступно на вашем языке и "
            "показано на указанном языке.",
            "zh-Hans": "标有语言代码的名称或定义没有您所选语言的版本，因此以该语言显示。",
        },
        "onto-superclasses": {
            "en": "Superclasses",
            "kk": "Жоғарғы кластары",
            "ru": "Надклассы",
            "zh-Hans": "上位类",
        },
        "onto-subclasses": {
            "en": "Subclasses",
            "kk": "Ішкі кластары",
            "ru": "Подклассы",
            "zh-Hans": "下位类",
        },
        "onto-superproperties": {
            "en": "Superproperties",
            "kk": "Жоғарғы қасиеттері",
            "ru": "Надсвойства",
            "zh-Hans": "上位属性",
        },
        "onto-alignment": {
            "en": "Aligned with",
            "kk": "Сыртқы сөздіктердегі сәйкесі",
            "ru": "Соответствие во внешних словарях",
            "zh-Hans": "对应的外部术语",
        },
        "onto-characteristics": {
            "en": "Characteristics",
            "kk": "Ерекшеліктері",
            "ru": "Характеристики",
            "zh-Hans": "特性",
        },
        "onto-inverse": {
            "en": "Inverse of",
            "kk": "Кері қасиеті",
            "ru": "Обратное свойство",
            "zh-Hans": "逆属性",
        },
        "onto-domain": {
            "en": "Domain",
            "kk": "Анықталу облысы",
            "ru": "Область определения",
            "zh-Hans": "定义域",
        },
        "onto-range": {
            "en": "Range",
            "kk": "Мәндер облысы",
            "ru": "Область значений",
            "zh-Hans": "值域",
        },
        "onto-domain-includes": {
            "en": "Used with (schema:domainIncludes)",
            "kk": "Қолданылатын кластар (schema:domainIncludes)",
            "ru": "Применяется к (schema:domainIncludes)",
            "zh-Hans": "适用于（schema:domainIncludes）",
        },
        "onto-range-includes": {
            "en": "Values (schema:rangeIncludes)",
            "kk": "Мәндері (schema:rangeIncludes)",
            "ru": "Значения (schema:rangeIncludes)",
            "zh-Hans": "取值（schema:rangeIncludes）",
        },
        "onto-domain-of": {
            "en": "Properties of this class",
            "kk": "Осы кластың қасиеттері",
            "ru": "Свойства этого класса",
            "zh-Hans": "本类的属性",
        },
        "onto-range-of": {
            "en": "Properties whose values are of this class",
            "kk": "Мәндері осы класқа жататын қасиеттер",
            "ru": "Свойства со значениями этого класса",
            "zh-Hans": "取值属于本类的属性",
        },
        "onto-type": {"en": "Type", "kk": "Түрі", "ru": "Тип", "zh-Hans": "类型"},
        "onto-in-scheme": {
            "en": "In scheme",
            "kk": "Схемасы",
            "ru": "Схема",
            "zh-Hans": "所属体系",
        },
        "onto-top-concepts": {
            "en": "Top concepts",
            "kk": "Жоғарғы ұғымдары",
            "ru": "Верхние понятия",
            "zh-Hans": "顶层概念",
        },
        "onto-instances": {
            "en": "Instances",
            "kk": "Даналары",
            "ru": "Экземпляры",
            "zh-Hans": "实例",
        },
        "onto-examples": {
            "en": "Examples of use",
            "kk": "Қолдану мысалдары",
            "ru": "Примеры использования",
            "zh-Hans": "使用示例",
        },
        "onto-more": {
            "en": "and {n} more",
            "kk": "және тағы {n}",
            "ru": "и ещё {n}",
            "zh-Hans": "另有 {n} 个",
        },
        "onto-all-instances": {
            "en": "all instances",
            "kk": "барлық даналары",
            "ru": "все экземпляры",
            "zh-Hans": "全部实例",
        },
        "onto-unused": {
            "en": "Not used in the data.",
            "kk": "Деректерде қолданылмайды.",
            "ru": "В данных не используется.",
            "zh-Hans": "数据中未使用。",
        },
    }
)


@dataclass(frozen=True)
class Ref:
    """Something the page shows: an ontology term (its label, to its anchor), another
    vocabulary's term (its prefixed name, out to its IRI), a thing of the data (its label, to
    its page) or a literal (its text, `note` its datatype)."""

    text: str
    href: str | None = None
    lang: str | None = None
    fallback: bool = False
    note: str | None = None


@dataclass
class Entry:
    name: str  # the local name: the anchor
    iri: str
    kind: str
    label: Label | None
    definition: Label | None
    facts: list[tuple[str, list[Ref]]] = field(default_factory=list)  # (message key, values)
    count: int = 0  # instances of a class, triples using a property
    instances: list[Ref] = field(default_factory=list)
    examples: list[tuple[Ref, Ref]] = field(default_factory=list)

    @property
    def curie(self) -> str:
        return prefixed(self.iri)


@dataclass
class Asserted:
    """The asserted statements about every term: term → property → objects (SPARQL JSON)."""

    statements: dict[str, dict[str, list[dict]]]

    def objects(self, term: str, predicate: str) -> list[dict]:
        return self.statements.get(term, {}).get(predicate, [])

    def iris(self, term: str, predicate: str) -> list[str]:
        return [o["value"] for o in self.objects(term, predicate) if o["type"] == "uri"]

    def subjects(self, predicates: Iterable[str], value: str) -> list[str]:
        """Terms pointing at `value` with any of `predicates` (reverse lookups)."""
        wanted = set(predicates)
        return sorted(
            term
            for term, facts in self.statements.items()
            if any(o["value"] == value for p in wanted for o in facts.get(p, []))
        )

    def kind(self, term: str) -> str:
        types = set(self.iris(term, str(RDF.type)))
        return next((kind for kind, iri in KINDS if iri in types), OTHER)


@dataclass
class Usage:
    """How the data uses the terms: instances of classes, triples of properties."""

    instances: dict[str, list[str]]
    uses: dict[str, list[tuple[dict, dict]]]


# --------------------------------------------------------------------------- routes


# Decorators apply bottom-up: "/ontology" is registered first, so url_for gives it.
@blueprint.get("/ontology/")
@blueprint.get("/ontology")
def page() -> Response:
    return serve()


@blueprint.get("/ontology/<version>")
def version(version: str) -> Response:
    """The versionIRI (`…/ontology/0.1.0`) of the ontology this release holds; older
    versions are not kept, so any other version is a 404."""
    version_iri = next(
        (row["o"]["value"] for row in select(HEADER) if row["p"]["value"] == str(OWL.versionIRI)),
        None,
    )
    if version_iri is None or local_path(version_iri) != request.path:
        abort(404)
    return serve()


def serve() -> Response:
    choice = requested_format(formats.GRAPH_FORMATS, html=True)
    if isinstance(choice, Response):
        response = choice
    elif choice is formats.HTML:
        response = Response(documentation(), content_type=formats.HTML.content_type)
        # The language comes from ?lang= or Accept-Language; the variant from Accept.
        response.headers["Vary"] = "Accept, Accept-Language"
    else:
        response = send_answer(query_service().job(ONTOLOGY_RDF, choice))
        response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Link"] = ", ".join(alternates(formats.GRAPH_FORMATS, html=True))
    response.headers.setdefault("Vary", "Accept")  # a 406 or 400 depends on Accept too
    return response


# --------------------------------------------------------------------------- the page


def documentation() -> str:
    language = languages.current()
    graph = asserted_graph()
    usage = data_usage()
    terms = sorted(graph.statements, key=lambda iri: iri[len(NS) :].casefold())
    labels, definitions = labels_of(
        named_iris(graph, usage, terms), current_app.config["KZCN_SETTINGS"].label_chain
    )
    view = Viewer(labels, language)
    entries = [entry(term, graph, usage, view, definitions) for term in terms]
    sections = [
        (kind, SECTION_TITLES[kind], [e for e in entries if e.kind == kind])
        for kind in (*(k for k, _ in KINDS), OTHER)
    ]
    return render_template(
        "ontology/index.html",
        header=header(language),
        sections=[s for s in sections if s[2]],
        formats=formats.GRAPH_FORMATS,
        class_pages="classes.instances" in current_app.view_functions,
    )


def asserted_graph() -> Asserted:
    statements: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in select(TERMS):
        statements[row["term"]["value"]][row["p"]["value"]].append(row["o"])
    return Asserted({term: dict(facts) for term, facts in statements.items()})


def data_usage() -> Usage:
    instances: dict[str, list[str]] = defaultdict(list)
    for row in select(INSTANCES):
        instances[row["class"]["value"]].append(row["x"]["value"])
    uses: dict[str, list[tuple[dict, dict]]] = defaultdict(list)
    for row in select(USES):
        uses[row["p"]["value"]].append((row["s"], row["o"]))
    return Usage(dict(instances), dict(uses))


def named_iris(graph: Asserted, usage: Usage, terms: list[str]) -> set[str]:
    """Every IRI the page names, so that all labels come in one query."""
    named = set(terms)
    for facts in graph.statements.values():
        named |= {o["value"] for objects in facts.values() for o in objects if o["type"] == "uri"}
    for things in usage.instances.values():
        named |= set(things[:MAX_INSTANCES])
    for triples in usage.uses.values():
        for s, o in triples[:MAX_EXAMPLES]:
            named |= {t["value"] for t in (s, o) if t["type"] == "uri"}
    return named


@dataclass(frozen=True)
class Viewer:
    """Turns IRIs and literals into what the reader sees, in their language."""

    labels: dict[str, list[tuple[str, str | None]]]
    language: str

    def label(self, iri: str) -> Label | None:
        return choose(self.labels.get(iri, []), self.language)

    def ref(self, term: dict) -> Ref:
        if term["type"] != "uri":
            return self.literal(term)
        iri = term["value"]
        label = self.label(iri)
        if iri.startswith(NS):  # a term of this page: to its anchor
            name = iri[len(NS) :]
            if label is None:
                return Ref(prefixed(iri), f"#{name}")
            return Ref(label.text, f"#{name}", label.lang, label.fallback, prefixed(iri))
        path = local_path(iri)
        if path is not None:  # a thing of the data: to its page
            if label is None:
                return Ref(prefixed(iri), path)
            return Ref(label.text, path, label.lang, label.fallback)
        return Ref(prefixed(iri), iri)  # another vocabulary: its prefixed name, linking out

    def refs(self, iris: Iterable[str]) -> list[Ref]:
        return [self.ref({"type": "uri", "value": iri}) for iri in iris]

    @staticmethod
    def literal(term: dict) -> Ref:
        datatype = term.get("datatype")
        note = prefixed(datatype) if datatype and datatype != str(RDF.langString) else None
        return Ref(term["value"], lang=term.get("xml:lang"), note=note)


def entry(term: str, graph: Asserted, usage: Usage, view: Viewer, definitions: dict) -> Entry:
    kind = graph.kind(term)
    item = Entry(
        name=term[len(NS) :],
        iri=term,
        kind=kind,
        label=view.label(term),
        definition=choose(definitions.get(term, []), view.language),
    )
    facts = FACTS.get(kind, other_facts)(term, graph, view)
    item.facts = [(key, refs) for key, refs in facts if refs]
    if kind == "class":
        things = usage.instances.get(term, [])
        item.count = len(things)
        item.instances = view.refs(things[:MAX_INSTANCES])
    elif kind in PROPERTY_KINDS:
        triples = usage.uses.get(term, [])
        item.count = len(triples)
        item.examples = [(view.ref(s), view.ref(o)) for s, o in triples[:MAX_EXAMPLES]]
    return item


Facts = list[tuple[str, list[Ref]]]


def internal(iris: Iterable[str]) -> list[str]:
    return sorted(i for i in iris if i.startswith(NS))


def external(iris: Iterable[str]) -> list[str]:
    return sorted(i for i in iris if not i.startswith(NS))


def aligned(term: str, graph: Asserted) -> list[str]:
    return external(iri for p in ALIGNMENT for iri in graph.iris(term, p))


def class_facts(term: str, graph: Asserted, view: Viewer) -> Facts:
    domain = (str(RDFS.domain), str(SCHEMA.domainIncludes))
    range_ = (str(RDFS.range), str(SCHEMA.rangeIncludes))
    return [
        ("onto-superclasses", view.refs(internal(graph.iris(term, str(RDFS.subClassOf))))),
        ("onto-alignment", view.refs(aligned(term, graph))),
        ("onto-subclasses", view.refs(graph.subjects([str(RDFS.subClassOf)], term))),
        ("onto-domain-of", view.refs(graph.subjects(domain, term))),
        ("onto-range-of", view.refs(graph.subjects(range_, term))),
    ]


def property_facts(term: str, graph: Asserted, view: Viewer) -> Facts:
    characteristics = sorted(set(graph.iris(term, str(RDF.type))) - MAIN_TYPES)
    inverse = set(graph.iris(term, str(OWL.inverseOf)))
    inverse |= set(graph.subjects([str(OWL.inverseOf)], term))
    return [
        ("onto-characteristics", view.refs(characteristics)),
        ("onto-superproperties", view.refs(internal(graph.iris(term, str(RDFS.subPropertyOf))))),
        ("onto-alignment", view.refs(aligned(term, graph))),
        ("onto-inverse", view.refs(sorted(inverse))),
        ("onto-domain", view.refs(graph.iris(term, str(RDFS.domain)))),
        ("onto-domain-includes", view.refs(graph.iris(term, str(SCHEMA.domainIncludes)))),
        ("onto-range", view.refs(graph.iris(term, str(RDFS.range)))),
        ("onto-range-includes", view.refs(graph.iris(term, str(SCHEMA.rangeIncludes)))),
    ]


def individual_facts(term: str, graph: Asserted, view: Viewer) -> Facts:
    types = [t for t in graph.iris(term, str(RDF.type)) if t not in MAIN_TYPES]
    return [
        ("onto-type", view.refs(sorted(types))),
        ("onto-in-scheme", view.refs(graph.iris(term, str(SKOS.inScheme)))),
    ]


def scheme_facts(term: str, graph: Asserted, view: Viewer) -> Facts:
    return [("onto-top-concepts", view.refs(sorted(graph.iris(term, str(SKOS.hasTopConcept)))))]


def other_facts(term: str, graph: Asserted, view: Viewer) -> Facts:
    return [("onto-type", view.refs(sorted(graph.iris(term, str(RDF.type)))))]


FACTS = {
    "class": class_facts,
    "object": property_facts,
    "datatype": property_facts,
    "annotation": property_facts,
    "individual": individual_facts,
    "scheme": scheme_facts,
}


@dataclass(frozen=True)
class Header:
    title: Label | None
    description: Label | None
    creator: Label | None
    version: str | None
    version_iri: str | None
    version_href: str | None
    license: str | None
    created: str | None
    prefix: str | None
    namespace: str | None


def header(language: str) -> Header:
    """What the ontology says about itself (owl:Ontology, Dublin Core, VANN)."""
    values: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for row in select(HEADER):
        values[row["p"]["value"]].append((row["o"]["value"], row["o"].get("xml:lang")))

    def first(predicate: str) -> str | None:
        return next((text for text, _ in values.get(predicate, [])), None)

    version_iri = first(str(OWL.versionIRI))
    return Header(
        title=choose(values.get(DCTERMS + "title", []), language),
        description=choose(values.get(DCTERMS + "description", []), language),
        creator=choose(values.get(DCTERMS + "creator", []), language),
        version=first(str(OWL.versionInfo)),
        version_iri=version_iri,
        version_href=local_path(version_iri) if version_iri else None,
        license=first(DCTERMS + "license"),
        created=first(DCTERMS + "created"),
        prefix=first(VANN + "preferredNamespacePrefix"),
        namespace=first(VANN + "preferredNamespaceUri") or NS,
    )
