"""Search and reconciliation: a name typed in any script, case, spelling or acronym finds the
right thing first, and the W3C Reconciliation Service API behaves as OpenRefine expects."""

import gzip
import json
import re
import threading
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from flask import render_template

from server.build.search_index import from_dump, search_index
from server.kazakh import kk_latin
from server.release import SEARCH_INDEX, UNION_NTRIPLES_GZ
from server.search import get_index, service, suggest, tables
from server.search.index import (
    ALT_LABEL,
    MAX_QUERY_LENGTH,
    MAX_QUERY_WORDS,
    Index,
    Query,
    Tier,
    match,
)
from server.search.reconcile import is_clear_match
from server.search.service import Named, Result
from server.search.text import fold, fold_all, typo_distance
from server.vocab import ID, KZCN

ORG = f"{ID}organization/"
TSINGHUA = f"{ORG}tsinghua-university"
KAZNU = f"{ORG}al-farabi-kazakh-national-university"
ENU = f"{ORG}eurasian-national-university"
NCWU = f"{ORG}north-china-university-of-water-resources-and-electric-power"
KAZAKH_NATIONAL = {
    f"{ORG}kazakh-national-agrarian-research-university",
    f"{ORG}kazakh-national-university-of-water-management-and-irrigation",
    KAZNU,
}
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


# Folding and typos: plain functions.


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("ҚАЗАҚ ҰЛТТЫҚ", "Qazaq ūlttyq"),  # script, capitals, the ū of the Latin alphabet
        ("qazaq ulttyq", "Қазақ ұлттық"),
        ("Цинхуа", "Tsinhua"),
        ("TSINHUA UNIVERSITETI", "Tsinhua universitetı"),  # dotless ı
        ("Гумилев", "Гумилёв"),  # ё written as е
        ("sanyraq", "Şañyraq"),  # ş, ñ
        ("Al Farabi", "Әл-Фараби"),  # ә, and a hyphen splits words
        ("ozbek", "O’zbek"),  # apostrophes join
    ],
)
def test_folding_meets_scripts_cases_and_marks(typed, label):
    assert fold(typed) == fold(label)


def test_folding_agrees_with_the_projects_transliteration(index):
    """Search folds Cyrillic with kk_latin's letter table, not kk_latin itself: they must
    agree on every Kazakh label of the graph (ё aside, which search reads as е)."""
    labels = [
        label.text
        for entry in index.entries.values()
        for label in entry.labels
        if label.lang == "kk" and "ё" not in label.text.lower()
    ]
    assert len(labels) > 100
    for text in labels:
        assert fold(kk_latin(text)) == fold(text), text


@pytest.mark.parametrize(
    ("query_word", "word", "typos"),
    [
        ("tsinghua", "tsinghua", 0),
        ("tsing", "tsinghua", 0),  # a prefix
        ("tsingua", "tsinghua", 1),  # a letter missing
        ("tsinghuaa", "tsinghua", 1),  # a letter added
        ("tsinhua", "tsinghua", 1),
        ("tsnighua", "tsinghua", 1),  # neighbours swapped
        ("gumilyev", "gumilyov", 1),  # a letter wrong
        ("gumily", "gumilev", 1),  # a typo in a prefix
        ("gumilev", "gumilyov", None),  # two edits
        ("enu", "ebu", None),  # short words must be typed right
        ("unvirsity", "university", None),
    ],
)
def test_typo_distance(query_word, word, typos):
    assert typo_distance(query_word, word) == typos


# Ranking, on hand-made rows: no store, no Flask.


def rows(*facts: tuple[str, str, str, str | None]) -> list[dict]:
    """SPARQL JSON bindings for (subject, property, value, language) — language None for
    an IRI value."""
    out = []
    for subject, prop, value, lang in facts:
        term = (
            {"type": "uri", "value": value}
            if lang is None
            else {
                "type": "literal",
                "value": value,
                "xml:lang": lang,
            }
        )
        out.append(
            {"s": {"type": "uri", "value": subject}, "p": {"type": "uri", "value": prop}, "o": term}
        )
    return out


def thing(name: str) -> str:
    return f"{ID}test/{name}"


def named_rows(names: dict[str, str], prop: str = PREF_LABEL) -> list[dict]:
    return rows(*((thing(key), prop, text, "en") for key, text in names.items()))


def test_tiers_rank_exact_then_acronym_prefix_words_contained_fuzzy():
    index = Index.from_bindings(
        named_rows(
            {
                "fuzzy": "Tsinhua Institute",
                "contained": "Neotsinghua Park",
                "words": "Park of Tsinghua",
                "prefix": "Tsinghua University",
                "exact": "Tsinghua",
            }
        )
        + named_rows({"acronym": "TSINGHUA"}, ALT_LABEL)
        + named_rows({"unrelated": "Beijing Language and Culture University"}),
        within=str(ID),
    )
    hits = index.search("tsinghua", 10)
    assert [h.entry.iri for h in hits] == [
        thing(name) for name in ("exact", "acronym", "prefix", "words", "contained", "fuzzy")
    ]
    assert [h.tier for h in hits] == sorted(Tier, reverse=True)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].score == 100


def test_ties_go_to_the_shorter_label_then_the_iri():
    index = Index.from_bindings(
        named_rows({"b": "Tsinghua Park", "c": "Tsinghua Science Park", "a": "Tsinghua Park"}),
        within=str(ID),
    )
    assert [h.entry.iri for h in index.search("tsinghua", 10)] == [
        thing("a"),
        thing("b"),
        thing("c"),
    ]


def test_each_thing_comes_once_with_the_label_that_matched_best():
    index = Index.from_bindings(
        rows(
            (thing("x"), PREF_LABEL, "Цинхуа университеті", "kk"),
            (thing("x"), PREF_LABEL, "Tsinhua universitetı", "kk-latn"),
            (thing("x"), PREF_LABEL, "Университет Цинхуа", "ru"),
        ),
        within=str(ID),
    )
    [hit] = index.search("Tsinhua", 10)
    assert hit.tier == Tier.PREFIX
    assert hit.label.lang == "kk-Latn"  # Oxigraph's lower-cased tag, put right
    assert hit.label.text == "Tsinhua universitetı"


@pytest.mark.parametrize(
    ("label", "query"),
    [
        ("Қазақ ұлттық аграрлық зерттеу университеті", "Qazaq ūlttyq"),
        ("Қазақ ұлттық аграрлық зерттеу университеті", "qazaq ulttyq agrarlyq"),
        ("Qazaq ūlttyq agrarlyq zertteu universitetı", "ҚАЗАҚ ҰЛТТЫҚ"),
        (
            "Qazaq ūlttyq agrarlyq zertteu universitetı",
            "Қазақ ұлттық аграрлық зерттеу университеті",
        ),
    ],
)
def test_one_script_finds_the_other(label, query):
    index = Index.from_bindings(rows((thing("x"), PREF_LABEL, label, "kk")), within=str(ID))
    [hit] = index.search(query)
    assert hit.tier in (Tier.EXACT, Tier.PREFIX)


def test_only_things_are_found_classes_are_only_named():
    index = Index.from_bindings(
        rows(
            (f"{KZCN}Company", PREF_LABEL, "Company", "en"),
            (thing("acme"), PREF_LABEL, "Acme Company", "en"),
            (thing("acme"), RDF_TYPE, f"{KZCN}Company", None),
        ),
        within=str(ID),
    )
    assert [h.entry.iri for h in index.search("company")] == [thing("acme")]
    assert index.get(f"{KZCN}Company") is not None


def test_type_filter_and_most_specific_type_first():
    index = Index.from_bindings(
        rows(
            (thing("u"), PREF_LABEL, "Zhejiang University", "en"),
            (thing("u"), RDF_TYPE, f"{KZCN}Organization", None),
            (thing("u"), RDF_TYPE, f"{KZCN}HigherEducationInstitution", None),
            (thing("c"), PREF_LABEL, "Zhejiang Company", "en"),
            (thing("c"), RDF_TYPE, f"{KZCN}Organization", None),
            (thing("c"), RDF_TYPE, f"{KZCN}Company", None),
        ),
        within=str(ID),
    )
    assert [h.entry.iri for h in index.search("zhejiang", types=[f"{KZCN}Company"])] == [thing("c")]
    assert len(index.search("zhejiang", types=[f"{KZCN}Organization"])) == 2
    assert index.get(thing("u")).types[0] == f"{KZCN}HigherEducationInstitution"


def test_an_empty_or_unsearchable_query_finds_nothing():
    index = Index.from_bindings(named_rows({"a": "Tsinghua"}), within=str(ID))
    assert index.search("") == []
    assert index.search(" -- «» ") == []
    assert index.search("tsinghua", limit=0) == []


# Ranking on the real graph.


@pytest.fixture(scope="module")
def index(app) -> Index:
    return get_index(app)


def found(index: Index, query: str, n: int = 3, **kwargs) -> list[str]:
    return [hit.entry.iri for hit in index.search(query, n, **kwargs)]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Tsinghua", TSINGHUA),
        ("tsinghua university", TSINGHUA),
        ("Цинхуа", TSINGHUA),  # Kazakh Cyrillic
        ("Tsinhua", TSINGHUA),  # Kazakh Latin
        ("清华", TSINGHUA),  # Chinese, no spaces
        ("kaznu", KAZNU),  # an acronym
        ("KazNU", KAZNU),
        ("ncwu", NCWU),
        ("enu", ENU),
        ("Казахский национальный", KAZNU),  # Russian, the shortest of three namesakes
        ("Gumilyov", ENU),
    ],
)
def test_the_right_thing_comes_first(index, query, first):
    assert found(index, query, 1) == [first]


@pytest.mark.parametrize(("query", "wanted"), [("Tsingua", TSINGHUA), ("Gumilyev", ENU)])
def test_a_typo_still_finds_it_in_the_top_three(index, query, wanted):
    assert wanted in found(index, query, 3)


def test_latin_kazakh_finds_cyrillic_names_whatever_the_case(index):
    latin = index.search("Qazaq ūlttyq", 5)
    assert {h.entry.iri for h in latin[:3]} >= KAZAKH_NATIONAL
    for hit in latin[:3]:
        assert any("Қазақ ұлттық" in label.text for label in hit.entry.labels)
        assert "Qazaq ūlttyq" in hit.label.text  # the matched name is its Latin one: as typed
    capitals = index.search("ҚАЗАҚ ҰЛТТЫҚ", 5)
    assert [(h.entry.iri, h.score) for h in capitals] == [(h.entry.iri, h.score) for h in latin]


def test_the_company_filter_returns_only_companies(index):
    company = f"{KZCN}Company"
    everything = index.search("Zhejiang", 20)
    assert any(company not in h.entry.types for h in everything)
    companies = index.search("Zhejiang", 20, types=[company])
    assert companies and all(company in h.entry.types for h in companies)


def test_an_acronym_beats_a_longer_lookalike(index):
    hits = index.search("kaznu", 5)
    assert hits[0].tier == Tier.ACRONYM and hits[0].label.text == "KazNU"
    assert all(h.tier < Tier.ACRONYM for h in hits[1:])


def test_the_index_is_loaded_once_even_under_concurrent_first_searches(monkeypatch):
    """The first searches of a busy server arrive together: one load, not eight."""
    calls = []

    def load(release):
        calls.append(release)
        time.sleep(0.05)  # long enough for every thread to arrive while it loads
        return Index.from_bindings([])

    monkeypatch.setattr(service, "load_index", load)
    release = SimpleNamespace(version="v1")
    holder = SimpleNamespace(pinned=lambda: SimpleNamespace(release=release))
    fake_app = SimpleNamespace(extensions={"kzcn_release": holder})
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(get_index(fake_app))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [release]
    assert len({id(r) for r in results}) == 1
    release.version = "v2"  # a new release: a new index
    assert get_index(fake_app) is not results[0] and len(calls) == 2


# /search and /search.json


def test_the_json_api_answers_with_cors(client):
    response = client.get("/search.json?q=Tsinghua&limit=2&lang=en")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.json
    assert data["query"] == "Tsinghua"
    first = data["results"][0]
    assert set(first) >= {"iri", "label", "lang", "matched", "types", "score", "url"}
    assert first["iri"] == TSINGHUA
    assert first["label"] == "Tsinghua University" and first["lang"] == "en"
    # The local path (which keeps a language chosen with ?lang=, as every link here does).
    assert first["url"].split("?")[0] == "/id/organization/tsinghua-university"
    assert first["types"][0]["iri"] == f"{KZCN}HigherEducationInstitution"
    assert len(data["results"]) == 2
    assert client.get("/search?q=Tsinghua&limit=2&lang=en&format=json").json == data


def test_names_come_in_the_readers_language(client):
    data = client.get("/search.json?q=Tsinghua&limit=1&lang=zh-Hans").json
    [result] = data["results"]
    assert (result["label"], result["lang"]) == ("清华大学", "zh-Hans")
    assert (result["matched"], result["matched_lang"]) == ("Tsinghua University", "en")
    kk_latin_name = client.get("/search.json?q=Цинхуа&limit=1&lang=kk-Latn").json["results"][0]
    assert kk_latin_name["lang"] == "kk-Latn"


def test_limits(client):
    assert len(client.get("/search.json?q=university").json["results"]) == 20
    assert len(client.get("/search.json?q=a&limit=1000").json["results"]) <= 100
    for bad in ("0", "-3", "ten", "1.5"):
        response = client.get(f"/search.json?q=a&limit={bad}")
        assert response.status_code == 400, bad
        assert response.content_type == "text/plain; charset=utf-8"
    assert client.get("/search?q=a&limit=x").status_code == 400


def test_no_query_no_results(client):
    assert client.get("/search.json").json == {"query": "", "results": []}
    assert client.get("/search.json?q=+").json["results"] == []
    page = client.get("/search").data.decode()
    assert 'name="q"' in page and "search-results" not in page and "no-results" not in page


def test_the_type_parameter_takes_prefixed_names_and_iris(client):
    for company in ("kzcn:Company", f"{KZCN}Company"):
        results = client.get(f"/search.json?q=z&type={quote(company)}").json["results"]
        assert results
        assert all(any(t["iri"] == f"{KZCN}Company" for t in r["types"]) for r in results), company


def test_the_page_lists_results_with_language_and_types(client):
    page = client.get("/search?q=kaznu&lang=ru").data.decode()
    assert re.search(
        r'href="/id/organization/al-farabi-kazakh-national-university(\?lang=ru)?" lang="ru"',
        page,
    )
    assert "Казахский национальный университет имени аль-Фараби" in page
    assert "KazNU" in page  # the name that matched, shown since it differs
    assert 'class="badge"' in page


def test_the_page_says_when_nothing_matches(client):
    page = client.get("/search?q=xyzzyqwerty&lang=kk").data.decode()
    assert 'class="no-results"' in page and "ештеңе табылмады" in page


def test_the_page_escapes_the_query(client):
    page = client.get("/search", query_string={"q": "<script>alert(1)</script>"}).data.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_interface_texts_exist_in_every_language(client):
    hints = {
        lang: client.get(f"/search?lang={lang}").data.decode()
        for lang in ("kk", "kk-Latn", "ru", "en", "zh-Hans")
    }
    assert "KazNU сияқты" in hints["kk"]
    assert "KazNU siiaqty" in hints["kk-Latn"]
    assert "например KazNU" in hints["ru"]
    assert "acronyms such as KazNU" in hints["en"]
    assert "KazNU 等缩写" in hints["zh-Hans"]


def test_suggest_is_a_plain_function_for_the_not_found_page(app, client):
    with app.test_request_context("/?lang=en"):
        suggestions = suggest("tsinghua univ", 5)
    assert suggestions[0].url.split("?")[0] == "/id/organization/tsinghua-university"
    assert suggestions[0].label == "Tsinghua University" and suggestions[0].lang == "en"
    page = client.get("/id/organization/tsinghua-univ", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert 'href="/id/organization/tsinghua-university"' in page.data.decode()


# /reconcile


def test_the_manifest(client):
    response = client.get("/reconcile")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    manifest = response.json
    assert "0.2" in manifest["versions"]
    assert manifest["name"]
    assert manifest["identifierSpace"] == "https://w3id.org/kzcn/id/"
    assert manifest["schemaSpace"] == "https://w3id.org/kzcn/ontology#"
    types = {t["id"]: t["name"] for t in manifest["defaultTypes"]}
    for name in ("Organization", "HigherEducationInstitution", "Company", "ResearchInstitute"):
        assert types[f"{KZCN}{name}"]
    assert {f"{KZCN}Agreement", f"{KZCN}ResearchDomain"} <= set(types)
    assert "{{id}}" in manifest["view"]["url"] and "{{id}}" in manifest["preview"]["url"]
    assert manifest["preview"]["width"] > 0 and manifest["preview"]["height"] > 0
    entity = manifest["suggest"]["entity"]
    assert client.get(entity["service_path"] + "?prefix=kaz").status_code == 200
    assert entity["service_url"] == "http://localhost"


def local(url: str) -> str:
    return url.removeprefix("http://localhost")


@pytest.mark.parametrize("encode", [lambda i: quote(i, safe=""), lambda i: i])
def test_view_and_preview_urls_work_with_full_iris(client, encode):
    """The spec has clients percent-encode the id; OpenRefine runs encodeURI over the
    whole URL, which leaves the IRI's slashes and colon as they are. Both must work."""
    manifest = client.get("/reconcile").json
    view = client.get(local(manifest["view"]["url"].replace("{{id}}", encode(TSINGHUA))))
    assert view.status_code == 303
    assert view.headers["Location"] == "/id/organization/tsinghua-university"
    preview_url = local(manifest["preview"]["url"].replace("{{id}}", encode(TSINGHUA)))
    preview = client.get(preview_url + "&lang=en")
    assert preview.status_code == 200 and preview.mimetype == "text/html"
    html = preview.data.decode()
    assert "Tsinghua University" in html
    assert "Higher education institution" in html and "China" in html


def test_view_is_no_open_redirect(client):
    assert client.get("/reconcile/view?id=https://example.org/x").status_code == 404
    assert client.get("/reconcile/view?id=" + quote(f"{ID}nothing/here")).status_code == 404
    assert client.get("/reconcile/preview").status_code == 404


def batch(client, queries: dict, method: str = "post"):
    payload = {"queries": json.dumps(queries)}
    if method == "post":
        return client.post("/reconcile", data=payload)
    return client.get("/reconcile", query_string=payload)


def test_a_batch_of_queries(client):
    response = batch(
        client,
        {
            "q0": {"query": "Tsinghua University"},
            "q1": {"query": "Tsinghua", "limit": 3},
            "q2": {"query": "Kazakh National", "type": f"{KZCN}Organization", "limit": 5},
            "q3": {"query": "nothing like this anywhere"},
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    answer = response.json
    assert set(answer) == {"q0", "q1", "q2", "q3"}
    for result in (answer[key]["result"] for key in answer):
        scores = [c["score"] for c in result]
        assert scores == sorted(scores, reverse=True)
        for c in result:
            assert set(c) >= {"id", "name", "type", "score", "match"}
            assert all(set(t) == {"id", "name"} for t in c["type"])
    q0 = answer["q0"]["result"]
    assert q0[0]["id"] == TSINGHUA and q0[0]["match"] is True and q0[0]["score"] == 100
    assert not any(c["match"] for c in q0[1:])
    # Only a prefix: the best candidate is right, but not certain enough to match alone.
    q1 = answer["q1"]["result"]
    assert q1[0]["id"] == TSINGHUA and len(q1) <= 3
    assert not any(c["match"] for c in q1)
    # Universities are organizations (an inferred type), so they pass the filter.
    q2 = answer["q2"]["result"]
    assert {c["id"] for c in q2} >= KAZAKH_NATIONAL
    assert all(any(t["id"] == f"{KZCN}Organization" for t in c["type"]) for c in q2)
    assert answer["q3"]["result"] == []


def test_get_queries_and_the_query_types_openrefine_sends(client):
    answer = batch(
        client,
        {
            "a": {"query": "kaznu", "type": "HigherEducationInstitution", "type_strict": "should"},
            "b": {"query": "Zhejiang", "type": ["kzcn:Company"]},
            "c": {"query": "Zhejiang", "type": [{"id": f"{KZCN}Company", "name": "Company"}]},
            "d": {"query": TSINGHUA},  # an id finds its entity
            "e": {"properties": [{"pid": "x", "v": "y"}]},  # no query string: nothing
        },
        method="get",
    ).json
    assert answer["a"]["result"][0]["id"] == KAZNU and answer["a"]["result"][0]["match"]
    for key in ("b", "c"):
        assert answer[key]["result"]
        assert all(f"{KZCN}Company" in {t["id"] for t in c["type"]} for c in answer[key]["result"])
    assert answer["d"]["result"][0]["id"] == TSINGHUA and answer["d"]["result"][0]["match"]
    assert answer["e"]["result"] == []


def candidate_result(iri: str, exact: bool, score: float) -> Result:
    return Result(iri, iri, "en", False, iri, "en", (), (), score, "/", exact)


def test_match_only_for_a_clear_unique_top_match():
    """OpenRefine matches a cell on its own when told `match: true`: only when the query is
    exactly one candidate's name or acronym, and no other candidate's."""
    one, two = thing("one"), thing("two")
    assert is_clear_match([candidate_result(one, True, 100), candidate_result(two, False, 85)])
    assert is_clear_match([candidate_result(one, True, 90)])
    # Namesakes (or a name that is another thing's acronym): a person must choose.
    assert not is_clear_match([candidate_result(one, True, 100), candidate_result(two, True, 100)])
    assert not is_clear_match([candidate_result(one, True, 100), candidate_result(two, True, 90)])
    assert not is_clear_match([candidate_result(one, False, 89)])
    assert not is_clear_match([])


def test_bad_batches_are_400(client):
    assert client.post("/reconcile", data={"queries": "{not json"}).status_code == 400
    assert client.post("/reconcile", data={"queries": "[1, 2]"}).status_code == 400
    assert batch(client, {"q": {"query": "x", "limit": 0}}).status_code == 400
    assert batch(client, {"q": {"query": 12}}).status_code == 400
    assert client.post("/reconcile", data={}).status_code == 400
    too_many = {
        f"q{i}": {"query": "x"} for i in range(client.get("/reconcile").json["batchSize"] + 1)
    }
    assert batch(client, too_many).status_code == 413


def test_jsonp(client):
    response = client.get("/reconcile?callback=jQuery3410_1699&_=1699")
    assert response.content_type == "application/javascript; charset=utf-8"
    body = response.data.decode()
    assert body.startswith("/**/jQuery3410_1699(") and body.endswith(");")
    assert json.loads(body[len("/**/jQuery3410_1699(") : -2])["versions"] == ["0.2"]
    queries = quote(json.dumps({"q0": {"query": "enu"}}))
    wrapped = client.get(f"/reconcile?queries={queries}&callback=cb").data.decode()
    assert json.loads(wrapped[len("/**/cb(") : -2])["q0"]["result"][0]["id"] == ENU
    assert client.get("/reconcile/suggest/entity?prefix=enu&callback=cb").data.startswith(
        b"/**/cb("
    )
    assert client.get("/reconcile?callback=alert(1)//").status_code == 400


def test_suggest_entities(client):
    response = client.get("/reconcile/suggest/entity?prefix=Tsing")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    result = response.json["result"]
    assert result[0]["id"] == TSINGHUA
    assert all(set(r) >= {"id", "name", "description"} for r in result)
    assert "China" in result[0]["description"]
    rest = client.get("/reconcile/suggest/entity?prefix=Tsing&cursor=1").json["result"]
    assert rest == result[1:]
    assert client.get("/reconcile/suggest/entity?prefix=").json == {"result": []}
    assert client.get("/reconcile/suggest/entity?prefix=a&cursor=-1").status_code == 400
    by_id = client.get("/reconcile/suggest/entity", query_string={"prefix": KAZNU}).json
    assert by_id["result"][0]["id"] == KAZNU


def test_cors_preflight(client):
    response = client.options(
        "/reconcile",
        headers={"Origin": "http://127.0.0.1:3333", "Access-Control-Request-Method": "POST"},
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]


def test_preview_escapes_a_crafted_label(app):
    hostile = '<script>alert("x")</script> & <b>Uni</b>'
    result = Result(
        iri=f"{ORG}x",
        label=hostile,
        lang="en",
        fallback=False,
        matched=hostile,
        matched_lang="en",
        types=(Named(f"{KZCN}Company", "<i>Company</i>", "en", "/ontology#Company"),),
        countries=(Named(f"{ID}country/china", "China", "en", "/id/country/china"),),
        score=100.0,
        url="/id/organization/x",
        exact=True,
    )
    with app.test_request_context("/reconcile/preview"):
        html = render_template("search/preview.html", result=result)
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;Uni&lt;/b&gt;" in html
    assert "&lt;i&gt;Company&lt;/i&gt;" in html


def test_markup_in_a_label_stays_text_everywhere(hostile_app):
    client = hostile_app.test_client()
    alt = f"{ORG}alt-university"
    preview = client.get("/reconcile/preview?lang=en&id=" + quote(alt, safe="")).data.decode()
    assert "<script>alert" not in preview and "&lt;script&gt;alert" in preview
    page = client.get("/search?q=alt+university&lang=en").data.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    found = client.get("/search.json?q=alt+university&lang=en").json["results"]
    assert found[0]["iri"] == alt and found[0]["label"].startswith("<script>")  # data, as is


def test_the_preview_can_be_framed(client):
    response = client.get("/reconcile/preview?id=" + quote(TSINGHUA, safe=""))
    assert "frame-ancestors 'none'" not in response.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in response.headers


def test_a_huge_query_is_cut_short(index):
    """Its cost is bounded by what is kept of it, not by what was sent (speed: bench/)."""
    words = " ".join(f"w{i:04d}x" for i in range(3000))  # 3000 distinct 6-letter words
    assert index.search(words) == []
    assert len(Query.parse(words, index.vocabulary).text) <= MAX_QUERY_LENGTH
    # Real words from the names, each one a match for itself: only the first 30 are looked up.
    known = sorted(word for word in index.vocabulary.words if len(word) > 3)[: 2 * MAX_QUERY_WORDS]
    query = Query.parse(" ".join(known), index.vocabulary)
    looked_up = [word for word in query.words if query.starts[word]]
    assert looked_up == list(query.words[:MAX_QUERY_WORDS])


def test_the_page_runs_no_inline_script(client):
    page = client.get("/search?q=tsinghua").data.decode()
    assert "<script" not in page.replace('<script src="', "")
    preview = client.get("/reconcile/preview?id=" + quote(TSINGHUA, safe="")).data.decode()
    assert "<script" not in preview


# The index file of a release, and a search that reads only the labels that can match.

# Every IRI subject's names, types and country, asked of the store: what the index file,
# made from the release's N-Triples at build time, must hold.
EVERY_LABEL = """
SELECT DISTINCT ?s ?p ?o WHERE {
  { VALUES ?p { rdfs:label skos:prefLabel skos:altLabel schema:name }
    ?s ?p ?o . FILTER (isLiteral(?o)) }
  UNION { VALUES ?p { rdf:type kzcn:country } ?s ?p ?o . FILTER (isIRI(?o)) }
  FILTER (isIRI(?s))
}
"""


def entry_facts(entry) -> tuple:
    labels = sorted((label.text, label.lang, label.property, label.key) for label in entry.labels)
    return labels, entry.types, entry.countries


def test_the_release_index_holds_what_the_store_holds(client, index):
    """The same things, names, types and countries; the store has the metadata graph's
    too (the dataset and its downloads), which are neither found nor used to name one."""
    response = client.get(
        "/sparql", query_string={"query": EVERY_LABEL}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    asked = Index.from_bindings(response.get_json()["results"]["bindings"], within=str(ID))
    things = [iri for iri in asked.entries if iri.startswith(str(ID))]
    named = {iri for thing in things for iri in (*asked.entries[thing].types, thing)}
    named |= {iri for thing in things for iri in asked.entries[thing].countries}
    assert len(things) > 90 and set(index.entries) <= set(asked.entries)
    for iri in named | set(index.entries):
        assert entry_facts(index.entries[iri]) == entry_facts(asked.entries[iri]), iri


def test_the_index_file_reads_back_the_same(index, tmp_path):
    path = tmp_path / "search-index.bin"
    path.write_bytes(tables.encode(index.data))
    mapped = Index.load(path, within=str(ID))
    assert list(mapped.entries) == list(index.entries)
    for query in ("Tsinghua", "清华", "kaznu", "Qazaq ūlttyq", "Tsingua", "nati", "zzz"):
        assert [(h.entry, h.label, h.score) for h in mapped.search(query, 20)] == [
            (h.entry, h.label, h.score) for h in index.search(query, 20)
        ]


def test_the_release_index_is_its_dump_indexed(index, release):
    """A release's index file (or, for a release without one, its N-Triples dump indexed
    when the server starts) is the same index."""
    with gzip.open(release.path / UNION_NTRIPLES_GZ) as lines:
        written = search_index(lines)
    path = release.path / SEARCH_INDEX
    if path.is_file():
        assert path.read_bytes() == written
    indexed = Index(from_dump(release.path / UNION_NTRIPLES_GZ), within=str(ID))
    assert tables.encode(indexed.data) == written
    assert list(indexed.entries.items()) == list(index.entries.items())


def test_fold_all_is_fold(index):
    texts = [label.text for entry in index.entries.values() for label in entry.labels]
    texts += ["a\nb", "", " -- ", "O’zbek", "Ǆ ß ﬁ", "ҚАЗАҚ\tҰЛТТЫҚ", "x\u2028y"]
    assert fold_all(texts) == [fold(text) for text in texts]


def every_label_ranked(index: Index, text: str, limit: int, types: list[str] | None) -> list:
    """The ranking the slow way: every label of the index compared with the query."""
    query = Query.parse(text, index.vocabulary)
    best: dict[str, tuple] = {}
    for iri, entry in index.entries.items():
        if not iri.startswith(str(ID)) or (types and set(types).isdisjoint(entry.types)):
            continue
        for label in entry.labels:
            hit = match(query, entry, label)
            if hit and (iri not in best or hit.rank_key() < best[iri][0]):
                best[iri] = (hit.rank_key(), hit.label, hit.score)
    return sorted(best.values())[:limit] if query.key and limit > 0 else []


def queries_from(index: Index) -> list[str]:
    """Queries of every kind, from the graph's own words: whole names, words, prefixes,
    middles of words, typos, several words, Chinese, one letter."""
    words = sorted(index.vocabulary.words)
    picked = words[:: max(1, len(words) // 40)]
    queries = ["a", "u", "清", "nati", "univ", "kazakh national", "Tsingua", "Gumilyev", "ersity"]
    for word in picked:
        queries += [word, word[:3], word[1:5], word[:-1] + "q", word[1:] + word[0]]
    return queries + [label.text for label in index.entries[TSINGHUA].labels]


def FILTERS(company: str, organization: str) -> tuple:
    return ((1, None), (3, None), (20, None), (5, [company]), (50, [organization]))


def test_the_search_ranks_as_if_it_compared_every_label(index):
    company, organization = f"{KZCN}Company", f"{KZCN}Organization"
    for text in queries_from(index):
        for limit, types in (
            (1, None),
            (3, None),
            (20, None),
            (5, [company]),
            (50, [organization]),
        ):
            hits = index.search(text, limit, types)
            assert [(h.rank_key(), h.label, h.score) for h in hits] == every_label_ranked(
                index, text, limit, types
            ), (text, limit, types)
