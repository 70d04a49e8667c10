"""Dereferenceable URIs: every kind of resource answers people with HTML and machines with
RDF (303 to the right document), and the page shows what the graph says, in five languages."""

import json
import re
from html.parser import HTMLParser

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDFS

from server.config import Settings
from server.vocab import ID, KZCN

from .conftest import serving

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
KAZNU = "/id/organization/al-farabi-kazakh-national-university"
RESOURCES = [
    KAZNU,
    "/id/organization/unnamed-chinese-partners-nku",
    "/id/agreement/aitu-tus-holdings-memorandum",
    "/id/initiative/blcu-branch-campus-kazakhstan",
    "/id/domain/agro-industry",
    "/id/country/china",
    "/id/event/state-visit-china-2025",
    "/id/article/baq-kz-2025-09-02-kz-cn-universities",
    "/id/claim/more-than-20-documents",
    "/id/outcome/opportunities-for-young-scientists",
]
RDF_VARIANTS = [
    ("text/turtle", "ttl", "turtle"),
    ("application/n-triples", "nt", "nt"),
    ("application/ld+json", "jsonld", "json-ld"),
    ("application/rdf+xml", "rdf", "xml"),
]


def iri(path: str) -> URIRef:
    return URIRef("https://w3id.org/kzcn" + path)


@pytest.mark.parametrize("path", RESOURCES)
def test_browsers_are_sent_to_the_html_page(client, path):
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{path}.html")
    assert "Accept" in response.headers["Vary"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert page.content_type == "text/html; charset=utf-8"


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize(("media_type", "ext", "parser"), RDF_VARIANTS)
def test_machines_get_rdf(client, path, media_type, ext, parser):
    response = client.get(path, headers={"Accept": media_type})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{path}.{ext}")
    document = client.get(response.headers["Location"])
    assert document.content_type == f"{media_type}; charset=utf-8"
    graph = Graph().parse(data=document.data, format=parser)
    assert len(set(graph.predicate_objects(iri(path)))) > 0


def test_curl_follows_to_turtle(client):
    response = client.get(KAZNU, headers={"Accept": "text/turtle"}, follow_redirects=True)
    assert response.content_type == "text/turtle; charset=utf-8"
    assert b"@prefix" in response.data


def test_curl_default_accept_gets_turtle(client):
    assert client.get(KAZNU, headers={"Accept": "*/*"}).headers["Location"].endswith(".ttl")


def test_q_values_choose_the_variant(client):
    response = client.get(
        KAZNU, headers={"Accept": "text/turtle;q=0.5, application/ld+json;q=0.9, text/html;q=0.1"}
    )
    assert response.headers["Location"].endswith(".jsonld")


def test_406_when_nothing_fits(client):
    assert client.get(KAZNU, headers={"Accept": "image/png"}).status_code == 406


def test_every_variant_is_announced(client):
    links = client.get(f"{KAZNU}.html").headers["Link"]
    for ext in ("html", "ttl", "nt", "jsonld", "rdf"):
        assert f'<{KAZNU}.{ext}>; rel="alternate"' in links


@pytest.mark.parametrize(
    "path",
    [
        "/id/organization/no-such-university",
        "/id/organization/no-such-university.ttl",
        "/id/organization/no-such-university.html",
        "/id/nothing",
        '/id/bad"iri',
    ],
)
def test_unknown_iris_are_404(client, path):
    assert client.get(path, headers={"Accept": "text/turtle"}).status_code == 404


def test_the_rdf_of_a_resource(client):
    graph = Graph().parse(data=client.get(f"{KAZNU}.ttl").data, format="turtle")
    kaznu = iri(KAZNU)
    agreement = ID["agreement/kaznu-yuan-zhen-uav-cooperation"]
    assert (kaznu, KZCN.country, ID["country/kazakhstan"]) in graph  # outgoing
    assert (agreement, KZCN.party, kaznu) in graph  # incoming
    assert graph.value(ID["country/kazakhstan"], RDFS.label) is not None  # labels of what it names
    assert graph.value(agreement, RDFS.label) is not None
    article = ID["article/baq-kz-2025-09-02-kz-cn-universities"]
    assert (kaznu, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"), article) in graph
    assert graph.value(article, URIRef("https://schema.org/url")) is not None  # provenance


class Page(HTMLParser):
    """The bits of a page the tests look at: lang attributes, JSON-LD, links, headings."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.langs: list[str] = []
        self.jsonld: list[str] = []
        self.links: list[str] = []
        self.html_lang = ""
        self.h1 = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang", "")
        if "lang" in attrs and tag != "html":
            self.langs.append(attrs["lang"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "script" and attrs.get("type") == "application/ld+json":
            self._in = "jsonld"
        if tag == "h1":
            self._in = "h1"

    def handle_endtag(self, tag):
        if tag in ("script", "h1"):
            self._in = None

    def handle_data(self, data):
        if self._in == "jsonld":
            self.jsonld.append(data)
        elif self._in == "h1":
            self.h1 += data


@pytest.mark.parametrize(
    ("lang", "title"),
    [
        ("en", "Al-Farabi Kazakh National University"),
        ("kk", "Әл-Фараби атындағы Қазақ ұлттық университеті"),
        ("kk-Latn", "Äl-Farabi atyndağy Qazaq ūlttyq universitetı"),
        ("ru", "Казахский национальный университет имени аль-Фараби"),
    ],
)
def test_title_in_the_readers_language(client, lang, title):
    page = Page(client.get(f"{KAZNU}.html?lang={lang}").data.decode())
    assert page.h1.strip() == title
    assert page.html_lang == lang


def test_a_fallback_is_marked(client):
    html = client.get(f"{KAZNU}.html?lang=zh-Hans").data.decode()
    h1 = re.search(r"<h1>(.*?)</h1>", html, re.S).group(1)
    assert 'class="fallback"' in h1  # no Chinese name: shown in another language, marked
    tsinghua = client.get("/id/organization/tsinghua-university.html?lang=zh-Hans").data.decode()
    assert "清华大学" in re.search(r"<h1>(.*?)</h1>", tsinghua, re.S).group(1)
    assert 'class="fallback"' not in re.search(r"<h1>(.*?)</h1>", tsinghua, re.S).group(1)


def test_accept_language_chooses_and_lang_overrides(client):
    kk = client.get(f"{KAZNU}.html", headers={"Accept-Language": "kk-KZ,kk;q=0.9,en;q=0.5"})
    assert Page(kk.data.decode()).html_lang == "kk"
    en = client.get(f"{KAZNU}.html?lang=en", headers={"Accept-Language": "kk"})
    assert Page(en.data.decode()).html_lang == "en"


def test_literals_keep_their_language(client):
    page = Page(client.get(f"{KAZNU}.html?lang=en").data.decode())
    assert {"kk", "ru", "en"} <= {lang.lower() for lang in page.langs}
    assert "kk-latn" in {lang.lower() for lang in page.langs}


def test_linked_resources_show_labels_not_iris(client):
    html = client.get(f"{KAZNU}.html?lang=en").data.decode()
    assert '<a href="/id/country/kazakhstan" lang="en">Kazakhstan</a>' in html
    assert ">https://w3id.org/kzcn/id/country/kazakhstan<" not in html


def test_inferred_facts_are_marked(client):
    html = client.get(f"{KAZNU}.html?lang=en").data.decode()
    partner = html[html.index("kzcn:partner") :]
    assert 'class="inferred"' in partner[:2000]
    assert "inferred-badge" in html  # schema:CollegeOrUniversity is an inferred type


def test_where_in_the_article(client):
    html = client.get(f"{KAZNU}.html?lang=en").data.decode()
    assert "paragraph 4" in html
    assert "https://baq.kz/" in html
    assert "Әл-Фараби атындағы Қазақ ұлттық университеті" in html


def test_schema_org_json_ld_in_the_head(client):
    page = Page(client.get(f"{KAZNU}.html").data.decode())
    data = json.loads("".join(page.jsonld))
    assert data["@context"] == "https://schema.org"
    assert data["@id"] == str(iri(KAZNU))
    assert "CollegeOrUniversity" in data["@type"]
    china = json.loads("".join(Page(client.get("/id/country/china.html").data.decode()).jsonld))
    assert china["sameAs"] == ["http://www.wikidata.org/entity/Q148"]


def test_links_to_formats_query_and_iri(client):
    page = Page(client.get(f"{KAZNU}.html").data.decode())
    for ext in ("ttl", "nt", "jsonld", "rdf"):
        assert f"{KAZNU}.{ext}" in page.links
    assert any(link.startswith("/sparql#query=") for link in page.links)
    html = client.get(f"{KAZNU}.html").data.decode()
    assert f'<code id="permanent-iri">{iri(KAZNU)}</code>' in html
    assert 'data-copy="permanent-iri"' in html


def test_incoming_links_grouped_with_counts(client):
    html = client.get("/id/country/kazakhstan.html?lang=en").data.decode()
    incoming = html[html.index("Links to this") :]
    assert re.search(r"kzcn:country</span> <span class=\"count\">\(\d+\)</span>", incoming)


@pytest.mark.parametrize("lang", ["en", "kk", "kk-Latn", "ru", "zh-Hans"])
def test_the_interface_is_translated(client, lang):
    html = client.get(f"{KAZNU}.html?lang={lang}").data.decode()
    expected = {
        "en": "Names",
        "kk": "Атаулары",
        "kk-Latn": "Ataulary",
        "ru": "Названия",
        "zh-Hans": "名称",
    }[lang]
    assert f"<h2>{expected}</h2>" in html


def test_class_pages(client):
    index = client.get("/classes/").data.decode()
    assert "/classes/HigherEducationInstitution" in index
    table = client.get("/classes/HigherEducationInstitution?lang=en").data.decode()
    assert table.count("<tr>") == 1 + 24 + 9 + 1  # header, named, unnamed Chinese and Kazakh
    assert 'class="results sortable"' in table and "data-filter" in table
    assert client.get("/classes/NoSuchClass").status_code == 404
    assert client.get("/classes/..%2Fetc").status_code == 404


def test_markup_in_a_label_is_shown_as_text(hostile_app):
    from .conftest import HOSTILE_LABEL

    client = hostile_app.test_client()
    html = client.get("/id/organization/alt-university.html?lang=en").data.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;ALT&#34;" in html
    head = html[: html.index("</head>")]
    jsonld = head[head.index('type="application/ld+json">') + 27 : head.index("</script>")]
    assert "</script" not in jsonld  # tojson escapes <, > and &
    assert HOSTILE_LABEL in [name["@value"] for name in json.loads(jsonld)["name"]]
    table = client.get("/classes/HigherEducationInstitution?lang=en").data.decode()
    assert "<script>alert" not in table and "&lt;script&gt;" in table


def test_a_404_page_suggests_matches(client):
    response = client.get(
        "/id/organization/tsinghua-universty.html?lang=en", headers={"Accept": BROWSER}
    )
    assert response.status_code == 404
    html = response.data.decode()
    assert 'href="/id/organization/tsinghua-university' in html  # suggested despite the typo
    assert 'name="q" value="tsinghua universty"' in html
    machine = client.get("/id/organization/tsinghua-universty", headers={"Accept": "text/turtle"})
    assert machine.status_code == 404
    assert machine.content_type == "text/plain; charset=utf-8"


@pytest.fixture(scope="module")
def paged_client(release_build_dir, store_url):
    """Two links to a thing per RDF document and ten rows per table, so that the real data
    needs several pages."""
    settings = Settings(
        build_dir=release_build_dir,
        store_url=store_url,
        incoming_page_size=2,
        table_page_size=10,
    )
    with serving(settings) as application:
        yield application.test_client()


def incoming_links(body: bytes, target: URIRef) -> set:
    graph = Graph().parse(data=body, format="turtle")
    return set(graph.triples((None, None, target)))


def test_links_to_a_hub_come_in_pages(client, paged_client):
    china = "/id/country/china"
    every = incoming_links(client.get(f"{china}.ttl").data, iri(china))
    assert len(every) > 4  # enough for three pages of two
    pages, seen, url = [], set(), f"{china}.ttl"
    while url:
        answer = paged_client.get(url)
        assert answer.status_code == 200
        links = incoming_links(answer.data, iri(china))
        assert len(links) <= 2 and not links & seen  # pages do not overlap
        seen |= links
        pages.append(answer)
        found = re.search(r'<([^>]+)>; rel="next"', answer.headers.get("Link", ""))
        url = found[1] if found else None
    assert seen == every  # and together they hold every link
    assert len(pages) == -(-len(every) // 2)
    assert 'rel="prev"' in pages[-1].headers["Link"] and 'rel="first"' in pages[-1].headers["Link"]
    # Every page still carries the thing's own facts.
    last = Graph().parse(data=pages[-1].data, format="turtle")
    assert last.value(iri(china), RDFS.label) is not None


def test_a_page_past_the_last_is_404_and_a_bad_page_400(paged_client):
    assert paged_client.get("/id/country/china.ttl?page=1000").status_code == 404
    for bad in ("0", "-1", "x", "1.5", "99999999999"):
        assert paged_client.get(f"/id/country/china.ttl?page={bad}").status_code == 400


def test_a_thing_with_few_links_has_one_page(client):
    answer = client.get(f"{KAZNU}.ttl")
    assert 'rel="next"' not in answer.headers["Link"]


def instance_links(html: str) -> list[str]:
    return re.findall(r'<td><a href="(/id/[^"]+)">', html)


def test_a_class_table_comes_in_pages(client, paged_client):
    path = "/classes/HigherEducationInstitution"
    every = instance_links(client.get(f"{path}?lang=en").data.decode())
    assert len(every) == 34 and len(set(every)) == 34
    seen: list[str] = []
    url: str | None = f"{path}?lang=en"
    while url:
        html = paged_client.get(url).data.decode()
        assert '<span class="count">(34)</span>' in html  # the whole class, on every page
        rows = instance_links(html)
        assert 0 < len(rows) <= 10 and not set(rows) & set(seen)
        seen += rows
        found = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = found[1].replace("&amp;", "&") if found else None
        if url:
            assert "lang=en" in url  # the reader's language goes on
    assert sorted(seen) == sorted(every)
    assert paged_client.get(f"{path}?page=5").status_code == 404
    assert paged_client.get(f"{path}?page=0").status_code == 400


def test_a_class_table_shows_countries(client):
    html = client.get("/classes/HigherEducationInstitution?lang=en").data.decode()
    row = next(
        r
        for r in html.split("<tr>")
        if "/id/organization/al-farabi-kazakh-national-university" in r
    )
    assert ">Kazakhstan<" in row
