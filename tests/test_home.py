"""The home page: its numbers are the data's (checked against independent SPARQL through the
/sparql endpoint), it speaks the five languages, its network picture has every party to an
agreement, its table every agreement, names stay text, and the graph library is served from
our own origin.

The library file comes from `make assets` (npm); without it the test fails rather than skips,
since a release without the picture would otherwise pass unnoticed."""

import gzip
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import render_template_string

from server.build.home_figures import home_figures
from server.pages import home, languages
from server.release import HOME_FIGURES, UNION_NTRIPLES_GZ
from server.vocab import BASE

LANGUAGES = ("kk", "kk-Latn", "ru", "en", "zh-Hans")
HEADINGS = ("home-about-heading", "home-numbers-heading", "home-network-heading")
LIBRARY = "vendor/cytoscape/cytoscape.min.js"
JAVASCRIPT_TYPES = ("text/javascript", "application/javascript")
ORGANIZATION = BASE + "id/organization/"
EXPLORE_LINKS = (
    "/sparql",
    "/queries",
    "/dumps/",
    "/ontology",
    "/.well-known/void",
    "/search",
    "/dumps/validation-report.ttl",
)


# --- reading the page ------------------------------------------------------------------------


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    children: list["Element | str"] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def words(self) -> str:
        return " ".join(self.text.split())

    def find_all(self, tag: str | None = None, **attrs: str | None) -> list["Element"]:
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if (tag is None or child.tag == tag) and all(
                    child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items()
                ):
                    found.append(child)
                found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str | None) -> "Element":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}> in the page"
        return found[0]

    def has(self, attribute: str) -> bool:
        return attribute in self.attrs


class Tree(HTMLParser):
    """The page as a tree of elements, enough to read its tables, links and attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def page(client, language: str = "en", **headers: str) -> Element:
    query = f"/?lang={language}" if language else "/"
    response = client.get(query, headers=headers)
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    return Tree(response.get_data(as_text=True)).root


def network_of(root: Element) -> dict:
    return json.loads(root.find("script", id="kzcn-network").text)


def select(client, query: str) -> list[dict[str, str]]:
    """An independent answer from the public endpoint, as {variable: value} rows."""
    response = client.get(
        "/sparql",
        query_string={"query": query},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = response.get_json()["results"]["bindings"]
    return [{name: binding["value"] for name, binding in row.items()} for row in rows]


def count(client, query: str) -> int:
    (row,) = select(client, query)
    return int(row["n"])


def labelled_counts(client, query: str) -> dict[str, int]:
    return {row["label"]: int(row["n"]) for row in select(client, query)}


def tally(root: Element, name: str) -> dict[str, tuple[int, int]]:
    """A table of counts on the page: name → (count, unnamed)."""
    rows = {}
    for row in root.find("tbody", data_tally=name).find_all("tr"):
        label = row.find("th").words
        total, unnamed = (cell.words for cell in row.find_all("td"))
        rows[label] = (int(total), int(unnamed or 0))
    return rows


def local(iri: str) -> str:
    assert iri.startswith(BASE), iri
    return "/" + iri[len(BASE) :]


# --- the numbers -----------------------------------------------------------------------------


def test_headline_numbers_are_the_data(client):
    root = page(client)
    shown = {e.attrs["data-count"]: e.words for e in root.find_all() if e.has("data-count")}
    expected = {
        "organizations": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:Organization }",
        "unnamed": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:UnnamedParty }",
        "agreements": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:Agreement }",
        "initiatives": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:Initiative }",
        "domains": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:ResearchDomain }",
        "enumerated": "SELECT (COUNT(DISTINCT ?x) AS ?n) { ?x a kzcn:Agreement }",
        # An initiative can be planned too; the page counts planned agreements.
        "planned": "SELECT (COUNT(DISTINCT ?x) AS ?n) "
        "{ ?x a kzcn:Agreement ; kzcn:status kzcn:Planned }",
        "claimed": "SELECT (MAX(?m) AS ?n) { ?c a kzcn:CountClaim ; kzcn:claimedMoreThan ?m }",
    }
    for name, query in expected.items():
        number = int(shown[name].lstrip("> "))
        assert number == count(client, query), name
    assert shown["claimed"].startswith(">"), "the article claims *more than* its number"
    # The data as this release has it: 20 enumerated, one of them planned, "more than 20".
    assert (shown["enumerated"], shown["planned"], shown["claimed"]) == ("20", "1", "> 20")


def test_organizations_by_country(client):
    by_country = tally(page(client), "by-country")
    single = """SELECT ?label (COUNT(DISTINCT ?o) AS ?n) {
      ?o a kzcn:Organization ; kzcn:country ?c . ?c rdfs:label ?label .
      FILTER (lang(?label) = "en")
      FILTER NOT EXISTS { ?o kzcn:country ?other FILTER (?other != ?c) }
      UNNAMED } GROUP BY ?label"""
    totals = labelled_counts(client, single.replace("UNNAMED", ""))
    unnamed = labelled_counts(client, single.replace("UNNAMED", "?o a kzcn:UnnamedParty ."))
    both = "SELECT (COUNT(DISTINCT ?o) AS ?n) { ?o kzcn:country ?a , ?b FILTER (?a != ?b) }"
    expected = {label: (n, unnamed.get(label, 0)) for label, n in totals.items()}
    expected["Kazakhstan + China"] = (count(client, both), 0)
    assert by_country == expected
    assert list(by_country)[:2] == ["Kazakhstan", "China"]


def test_organizations_by_type(client):
    by_type = tally(page(client), "by-type")
    typed = """SELECT ?label (COUNT(DISTINCT ?o) AS ?n) {
      ?o a ?t . ?t rdfs:subClassOf kzcn:Organization ; rdfs:label ?label .
      FILTER (?t != kzcn:UnnamedParty && lang(?label) = "en") UNNAMED } GROUP BY ?label"""
    totals = labelled_counts(client, typed.replace("UNNAMED", ""))
    unnamed = labelled_counts(client, typed.replace("UNNAMED", "?o a kzcn:UnnamedParty ."))
    untyped = """SELECT (COUNT(DISTINCT ?o) AS ?n) { ?o a kzcn:Organization UNNAMED
      FILTER NOT EXISTS { ?o a ?t . ?t rdfs:subClassOf kzcn:Organization
                          FILTER (?t != kzcn:UnnamedParty) } }"""
    expected = {label: (n, unnamed.get(label, 0)) for label, n in totals.items()}
    expected["Other, or not stated"] = (
        count(client, untyped.replace("UNNAMED", "")),
        count(client, untyped.replace("UNNAMED", ". ?o a kzcn:UnnamedParty")),
    )
    assert by_type == expected
    for name in ("HigherEducationInstitution", "ResearchInstitute", "Company", "NewsAgency"):
        assert f"/classes/{name}" in {a.attrs["href"] for a in page(client).find_all("a")}


def test_agreements_by_kind_and_status(client):
    root = page(client)
    kinds = """SELECT ?label (COUNT(DISTINCT ?a) AS ?n) {
      ?a a ?k . ?k rdfs:subClassOf kzcn:Agreement ; rdfs:label ?label .
      FILTER (lang(?label) = "en") } GROUP BY ?label"""
    plain = """SELECT (COUNT(DISTINCT ?a) AS ?n) { ?a a kzcn:Agreement
      FILTER NOT EXISTS { ?a a ?k . ?k rdfs:subClassOf kzcn:Agreement } }"""
    expected = {label: (n, 0) for label, n in labelled_counts(client, kinds).items()}
    expected["Agreement"] = (count(client, plain), 0)
    assert tally(root, "by-kind") == expected

    statuses = """SELECT ?label (COUNT(DISTINCT ?a) AS ?n) {
      ?s a kzcn:AgreementStatus ; rdfs:label ?label . FILTER (lang(?label) = "en")
      OPTIONAL { ?a a kzcn:Agreement ; kzcn:status ?s } } GROUP BY ?label"""
    by_status = tally(root, "by-status")
    assert by_status == {label: (n, 0) for label, n in labelled_counts(client, statuses).items()}
    assert list(by_status) == ["Signed", "Concluded", "Agreed", "Planned"]


def test_initiatives_by_kind(client):
    leaves = """SELECT ?label (COUNT(DISTINCT ?i) AS ?n) {
      ?i a ?k . ?k rdfs:subClassOf kzcn:Initiative ; rdfs:label ?label .
      FILTER (lang(?label) = "en")
      FILTER NOT EXISTS { ?narrower rdfs:subClassOf ?k FILTER (?narrower != ?k) }
    } GROUP BY ?label"""
    expected = {label: (n, 0) for label, n in labelled_counts(client, leaves).items()}
    assert tally(page(client), "initiatives") == expected


def test_research_domains_link_to_their_pages(client):
    domains = page(client).find("ul", data_tally="domains").find_all("li")
    shown = {
        li.find("a").attrs["href"]: int(li.find("span", **{"class": "count"}).words.strip("()"))
        for li in domains
    }
    rows = select(
        client,
        """SELECT ?d (COUNT(DISTINCT ?a) AS ?n) { ?d a kzcn:ResearchDomain
           OPTIONAL { ?a a kzcn:Agreement ; kzcn:concerns ?d } } GROUP BY ?d""",
    )
    assert shown == {local(row["d"]): int(row["n"]) for row in rows}
    first = next(iter(shown))
    assert client.get(first).status_code == 303  # a thing's IRI: 303 to its page


# --- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_its_page(client, language):
    root = page(client, language)
    assert root.find("html").attrs["lang"] == language
    headings = [h2.words for h2 in root.find_all("h2")]
    for key in HEADINGS:
        assert languages.text(key, language) in headings
        if language != "en":
            assert languages.text(key, language) != languages.text(key, "en"), key
    summary = root.find("p", **{"class": "claim-summary"}).words
    assert "20" in summary and "1" in summary


@pytest.mark.parametrize(
    ("accept", "language"),
    [("ru-RU,ru;q=0.9,en;q=0.5", "ru"), ("zh-CN,zh;q=0.9", "zh-Hans"), ("kk-KZ", "kk")],
)
def test_accept_language_picks_the_language(client, accept, language):
    root = page(client, "", **{"Accept-Language": accept})
    assert root.find("html").attrs["lang"] == language
    assert languages.text("home-network-heading", language) in root.find("h2", id="network").words


def test_names_carry_their_language_and_fallbacks_are_marked(client):
    root = page(client, "zh-Hans")
    spans = {
        span.words: span for span in root.find("table", id="agreements-table").find_all("span")
    }
    chinese = spans["浙江工业大学"]
    assert chinese.attrs["lang"] == "zh-Hans"
    english = spans["Al-Farabi Kazakh National University"]
    assert english.attrs["lang"] == "en"
    html = client.get("/?lang=zh-Hans").get_data(as_text=True)
    marked = re.search(
        r'<span lang="en">Al-Farabi Kazakh National University</span><sup [^>]*>', html
    )
    assert marked and 'class="fallback"' in marked.group(0)
    assert f'title="{languages.text("fallback", "zh-Hans")}"' in marked.group(0)
    assert '<span lang="zh-Hans">浙江工业大学</span><sup' not in html


# --- the network picture ---------------------------------------------------------------------


def test_the_network_has_every_party_with_its_country_and_page(client):
    network = network_of(page(client))
    rows = select(
        client,
        """SELECT DISTINCT ?org ?country { ?a a kzcn:Agreement ; kzcn:party ?org .
           OPTIONAL { ?org kzcn:country ?country } }""",
    )
    expected: dict[str, set[str]] = {}
    for row in rows:
        expected.setdefault(row["org"], set()).add(row.get("country", ""))
    nodes = {node["id"]: node for node in network["organizations"]}
    assert set(nodes) == set(expected)
    for iri, node in nodes.items():
        assert set(node["countries"]) == expected[iri], iri
        assert node["href"] == "/id/organization/" + iri.removeprefix(ORGANIZATION)
        group = {"kazakhstan", "china"} & {c.rsplit("/", 1)[-1] for c in node["countries"]}
        assert node["group"] == (group.pop() if len(group) == 1 else "bilateral")
        assert node["label"] and node["lang"]
    unnamed = {row["o"] for row in select(client, "SELECT ?o { ?o a kzcn:UnnamedParty }")}
    assert {iri for iri, node in nodes.items() if node["unnamed"]} == unnamed & set(nodes)
    assert client.get(nodes[next(iter(nodes))]["href"]).status_code == 303


def test_the_network_joins_each_agreement_to_its_parties(client):
    network = network_of(page(client))
    rows = select(client, "SELECT ?a ?p { ?a a kzcn:Agreement ; kzcn:party ?p }")
    expected: dict[str, set[str]] = {}
    for row in rows:
        expected.setdefault(row["a"], set()).add(row["p"])
    shown = {a["id"]: set(a["parties"]) for a in network["agreements"]}
    assert shown == expected
    planned = [a["id"] for a in network["agreements"] if a["planned"]]
    assert planned == [
        row["a"]
        for row in select(client, "SELECT ?a { ?a a kzcn:Agreement ; kzcn:status kzcn:Planned }")
    ]
    assert [side["group"] for side in network["sides"]] == ["kazakhstan", "china"]


def test_the_picture_is_described_and_degrades(client):
    root = page(client)
    picture = root.find("div", id="kzcn-network-picture")
    assert picture.attrs.get("role") == "img" and picture.attrs.get("aria-label")
    assert picture.has("hidden"), "shown by home.js once the library has drawn it"
    assert not root.find("p", id="kzcn-network-unavailable").has("hidden")
    legend_block = root.find("div", **{"class": "legend"})
    assert legend_block.has("hidden"), "a legend without its picture would be noise"
    legend = legend_block.words
    for name in ("Kazakhstan", "China", "Unnamed party", "Higher education institution", "Planned"):
        assert name in legend


def test_without_the_library_the_page_still_works(client, monkeypatch):
    monkeypatch.setattr(home, "NETWORK_LIBRARY", "vendor/missing/missing.min.js")
    html = client.get("/?lang=en&no-library").get_data(as_text=True)  # a URL not replayed
    root = Tree(html).root
    sources = [s.attrs.get("src") for s in root.find_all("script") if s.attrs.get("src")]
    assert sources == ["/static/home.js"]
    assert "vendor/" not in html
    assert not root.find("p", id="kzcn-network-unavailable").has("hidden")
    rows = root.find("table", id="agreements-table").find_all("tr")
    assert len([tr for tr in rows if tr.has("data-agreement")]) == 20


# --- the agreements table --------------------------------------------------------------------


def test_every_agreement_is_in_the_table(client):
    table = page(client).find("table", id="agreements-table")
    rows = [tr for tr in table.find_all("tr") if tr.has("data-agreement")]
    data = select(
        client,
        """SELECT ?a ?paragraph ?status (GROUP_CONCAT(STR(?p); separator=" ") AS ?parties) {
           ?a a kzcn:Agreement ; kzcn:sourceParagraph ?paragraph ; kzcn:party ?p ;
              kzcn:status/rdfs:label ?status . FILTER (lang(?status) = "en")
        } GROUP BY ?a ?paragraph ?status""",
    )
    expected = {row["a"]: row for row in data}
    assert sorted(tr.attrs["data-agreement"] for tr in rows) == sorted(expected)
    paragraphs = []
    for tr in rows:
        row = expected[tr.attrs["data-agreement"]]
        cells = tr.find_all("td")
        paragraphs.append(int(cells[0].words))
        assert cells[0].words == row["paragraph"]
        assert cells[1].find("a").attrs["href"] == local(row["a"])
        assert cells[3].words == row["status"]
        parties = {a.attrs["href"] for a in cells[4].find_all("a")}
        assert parties == {local(p) for p in row["parties"].split()}
    assert paragraphs == sorted(paragraphs), "sorted by the article's paragraphs"


def test_the_page_links_to_everything_else(client):
    links = {
        a.attrs.get("href") for a in page(client).find("ul", **{"class": "explore"}).find_all("a")
    }
    for path in EXPLORE_LINKS:
        assert path in links, path
        assert client.get(path).status_code in (200, 301, 302, 303, 308), path


# --- safety and speed ------------------------------------------------------------------------


def test_the_json_block_cannot_be_broken_out_of(app):
    crafted = '</script><script>alert("x")</script><!-- & \u2028'
    data = {"organizations": [{"id": "x", "label": crafted}], "agreements": []}
    with app.test_request_context("/"):
        html = render_template_string(
            '<script type="application/json" id="kzcn-network">{{ data|tojson }}</script>',
            data=data,
        )
    assert html.count("</script>") == 1 and "<script>" not in html and "<!--" not in html
    text = Tree(html).root.find("script").text
    assert json.loads(text) == data


def test_markup_in_a_label_stays_text(hostile_app):
    from .conftest import HOSTILE_LABEL

    html = hostile_app.test_client().get("/?lang=en").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    opening = '<script type="application/json" id="kzcn-network">'
    start = html.index(opening) + len(opening)
    assert "<" not in html[start : html.index("</script>", start)]  # tojson wrote \u003c
    names = {node["name"] for node in network_of(Tree(html).root)["organizations"]}
    assert HOSTILE_LABEL in names


def test_no_inline_script_and_a_strict_policy(client):
    response = client.get("/?lang=en")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    root = Tree(response.get_data(as_text=True)).root
    for script in root.find_all("script"):
        assert script.attrs.get("src") or script.attrs.get("type") == "application/json"
    for element in root.find_all():
        handlers = [name for name in element.attrs if name.startswith("on")]
        assert not handlers, f"<{element.tag}> has inline event handlers {handlers}"


def test_the_library_is_served_from_our_origin(app, client):
    path = Path(app.static_folder) / LIBRARY
    if not path.is_file():
        pytest.fail(
            f"{path} is missing: run `make assets` (it installs Cytoscape.js with npm and "
            "copies its browser bundle into server/static/vendor/)",
            pytrace=False,
        )
    sources = [s.attrs.get("src") for s in page(client).find_all("script") if s.attrs.get("src")]
    assert sources == [f"/static/{LIBRARY}", "/static/home.js"], "the library loads first"
    for name in (LIBRARY, "home.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200
        assert response.mimetype in JAVASCRIPT_TYPES
        response.close()
    assert client.get("/static/home.css").mimetype == "text/css"


def test_a_warm_page_is_answered_from_the_query_cache(app, client, monkeypatch):
    client.get("/?lang=ru")  # warm: every query of the page is now in the answer cache

    def no_store(*args, **kwargs):
        raise AssertionError("a warm home page must not run a query")

    monkeypatch.setattr(app.extensions["kzcn_queries"].store, "run", no_store)
    for _ in range(3):
        assert client.get("/?lang=ru").status_code == 200


# --- the figures the build counts -------------------------------------------------------------


def comparable(rows: list[dict]) -> list[dict[str, object]]:
    """Rows as values only, space-separated lists sorted (their order is the engine's), an
    empty list as none (engines differ there too)."""
    lists = ("parties", "establishes", "countries")
    return sorted(
        (
            {
                k: sorted(v["value"].split()) if k in lists else v["value"]
                for k, v in row.items()
                if v["value"]
            }
            for row in rows
        ),
        key=lambda row: sorted(row.items()),
    )


def test_the_builds_figures_are_the_answers_of_the_pages_queries(client, release):
    with gzip.open(release.path / UNION_NTRIPLES_GZ) as lines:
        counted = json.loads(home_figures(lines))
    assert set(counted) == set(home.QUERIES)
    for name, query in home.QUERIES.items():
        response = client.get(
            "/sparql", query_string={"query": query}, headers={"Accept": "application/json"}
        )
        asked = response.get_json()["results"]["bindings"]
        assert comparable(counted[name]) == comparable(asked), name
        assert asked, name


def test_the_page_is_the_same_from_the_builds_figures(client, release):
    """The page from the store's answers (a release without the file) and from the file."""
    with gzip.open(release.path / UNION_NTRIPLES_GZ) as lines:
        figures = home_figures(lines)
    path, aside = release.path / HOME_FIGURES, release.path / "home-figures.aside"
    written = path.is_file()
    if written:  # the build wrote it: the same bytes
        assert path.read_bytes() == figures
        path.rename(aside)
    try:
        from_store = client.get("/?lang=kk&from=store").get_data(as_text=True)
        path.write_bytes(figures)
        from_figures = client.get("/?lang=kk&from=figures").get_data(as_text=True)
    finally:
        path.unlink()
        if written:
            aside.rename(path)
    # The two URLs differ (the language switcher repeats them), to pass the response cache.
    assert from_figures.replace("from=figures", "from=") == from_store.replace(
        "from=store", "from="
    )


def test_a_big_graph_shows_the_first_agreements_and_links_to_all(app, monkeypatch):
    """A page must not grow with the graph: past AGREEMENT_LIMIT agreements, the table and
    the picture hold the first ones, and a link leads to all of them."""
    monkeypatch.setattr(home, "AGREEMENT_LIMIT", 5)
    monkeypatch.setattr(home, "DOMAIN_LIMIT", 4)
    root = Tree(app.test_client().get("/?lang=en&limit=5").get_data(as_text=True)).root
    rows = [tr for tr in root.find("table", id="agreements-table").find_all("tr")]
    shown = [tr.attrs["data-agreement"] for tr in rows if tr.has("data-agreement")]
    assert len(shown) == 5
    network = network_of(root)
    assert [a["id"] for a in network["agreements"]] == shown
    parties = {p for a in network["agreements"] for p in a["parties"]}
    assert {o["id"] for o in network["organizations"]} == parties
    more = root.find("p", data_more="agreements")
    assert "The first 5 of 20 agreements" in more.words
    assert more.find("a").attrs["href"] == "/classes/Agreement"
    assert len(root.find("ul", data_tally="domains").find_all("li")) == 4
