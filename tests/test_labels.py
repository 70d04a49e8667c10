"""Tests for the derived Kazakh Latin labels (server.build.labels)."""

import pytest
from rdflib import RDFS, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from server.build.labels import latin_label_triples
from server.kazakh import kk_latin

# (Cyrillic lower, Latin lower, Cyrillic upper, Latin upper), checked by hand against the
# January 2021 Kazakh Latin alphabet.
LETTERS = [
    ("а", "a", "А", "A"),
    ("ә", "ä", "Ә", "Ä"),
    ("б", "b", "Б", "B"),
    ("в", "v", "В", "V"),
    ("г", "g", "Г", "G"),
    ("ғ", "ğ", "Ғ", "Ğ"),
    ("д", "d", "Д", "D"),
    ("е", "e", "Е", "E"),
    ("ж", "j", "Ж", "J"),
    ("з", "z", "З", "Z"),
    ("и", "i", "И", "İ"),
    ("й", "i", "Й", "İ"),
    ("к", "k", "К", "K"),
    ("қ", "q", "Қ", "Q"),
    ("л", "l", "Л", "L"),
    ("м", "m", "М", "M"),
    ("н", "n", "Н", "N"),
    ("ң", "ñ", "Ң", "Ñ"),
    ("о", "o", "О", "O"),
    ("ө", "ö", "Ө", "Ö"),
    ("п", "p", "П", "P"),
    ("р", "r", "Р", "R"),
    ("с", "s", "С", "S"),
    ("т", "t", "Т", "T"),
    ("у", "u", "У", "U"),
    ("ұ", "ū", "Ұ", "Ū"),
    ("ү", "ü", "Ү", "Ü"),
    ("ф", "f", "Ф", "F"),
    ("х", "h", "Х", "H"),
    ("һ", "h", "Һ", "H"),
    ("ч", "ç", "Ч", "Ç"),
    ("ш", "ş", "Ш", "Ş"),
    ("ы", "y", "Ы", "Y"),
    ("і", "ı", "І", "I"),
    ("э", "e", "Э", "E"),
]


@pytest.mark.parametrize(("cyr", "lat", "cyr_upper", "lat_upper"), LETTERS)
def test_single_letters_both_cases(cyr: str, lat: str, cyr_upper: str, lat_upper: str) -> None:
    assert kk_latin(cyr) == lat
    assert kk_latin(cyr_upper) == lat_upper


def test_dotted_and_dotless_i_stay_distinct() -> None:
    # І is the dotless pair (I/ı), И and Й the dotted one (İ/i); Python's str.upper would
    # merge them into a plain I.
    assert kk_latin("тіл") == "tıl"
    assert kk_latin("ТІЛ") == "TIL"
    assert kk_latin("ИІ") == "İI"
    assert kk_latin("ий") == "ii"


@pytest.mark.parametrize(
    ("cyr", "lat"),
    [
        ("ёлка", "iolka"),
        ("цирк", "tsirk"),
        ("ащы", "aşşy"),
        ("юрта", "iurta"),
        ("ия", "iia"),
        ("съезд", "sezd"),
        ("альянс", "alians"),
    ],
)
def test_russian_only_letters(cyr: str, lat: str) -> None:
    assert kk_latin(cyr) == lat


@pytest.mark.parametrize(
    ("cyr", "lat"),
    [
        ("Я", "İa"),
        ("Ямайка", "İamaika"),
        ("ЯМАЙКА", "İAMAİKA"),
        ("Юрта", "İurta"),
        ("ЮРТА", "İURTA"),
        ("Ёлка", "İolka"),
        ("Цинхуа", "Tsinhua"),
        ("ЦИНХУА", "TSİNHUA"),
        ("Щ", "Şş"),
        ("АЩЫ", "AŞŞY"),
        ("СЪЕЗД", "SEZD"),
        ("ЛЯОНИН", "LİAONİN"),
    ],
)
def test_capital_digraphs_follow_the_word(cyr: str, lat: str) -> None:
    assert kk_latin(cyr) == lat


def test_all_caps_abbreviation() -> None:
    assert kk_latin("ҰҰА") == "ŪŪA"
    assert kk_latin("ЖШС") == "JŞS"


@pytest.mark.parametrize(
    ("cyr", "lat"),
    [
        (
            "Әл-Фараби атындағы Қазақ ұлттық университеті",
            "Äl-Farabi atyndağy Qazaq ūlttyq universitetı",
        ),
        (
            "Л.Н.Гумилев атындағы Еуразия ұлттық университеті",
            "L.N.Gumilev atyndağy Euraziia ūlttyq universitetı",
        ),
        (
            "Шаньдун провинциясының Ауыл шаруашылығы ғылымдар академиясы",
            "Şandun provintsiiasynyñ Auyl şaruaşylyğy ğylymdar akademiiasy",
        ),
        ("«ADAM AGRO QAZAQSTAN» ЖШС", "«ADAM AGRO QAZAQSTAN» JŞS"),
        ("Цинхуа университеті", "Tsinhua universitetı"),
        ("Чжэцзян технологиялық университеті", "Çjetszian tehnologiialyq universitetı"),
        ("Хэнань қалабасқару университеті", "Henan qalabasqaru universitetı"),
        ("Ляонин мұнай-химия университеті", "Liaonin mūnai-himiia universitetı"),
        ("Бейжің тіл және мәдениет университеті", "Beijıñ tıl jäne mädeniet universitetı"),
        (
            "Қазақстан-Қытай ғылыми-технологиялық альянсы",
            "Qazaqstan-Qytai ğylymi-tehnologiialyq aliansy",
        ),
        ("ҰҰА", "ŪŪA"),
    ],
)
def test_whole_names(cyr: str, lat: str) -> None:
    assert kk_latin(cyr) == lat


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ADAM AGRO QAZAQSTAN",
        "Tsinghua University, 1911",
        "«» – — -- ... ()[]/ 42 № 3,5 %",
        "İstanbul Üniversitesi",
    ],
)
def test_non_cyrillic_passes_through(text: str) -> None:
    assert kk_latin(text) == text


def test_mixed_text_keeps_everything_around_the_cyrillic() -> None:
    assert kk_latin("«ҚазҰУ» (KazNU), 1934 ж. — №1") == "«QazŪU» (KazNU), 1934 j. — №1"


S = URIRef("https://w3id.org/kzcn/id/org/kaznu")
T = URIRef("https://w3id.org/kzcn/id/org/tsinghua")


def test_latin_label_triples_covers_the_three_label_properties() -> None:
    graph = Graph()
    graph.add((S, RDFS.label, Literal("Қазақ ұлттық университеті", lang="kk")))
    graph.add((S, SKOS.prefLabel, Literal("ҚазҰУ", lang="kk")))
    graph.add((S, SKOS.altLabel, Literal("Әл-Фараби атындағы ҚазҰУ", lang="KK")))

    assert set(latin_label_triples(graph)) == {
        (S, RDFS.label, Literal("Qazaq ūlttyq universitetı", lang="kk-Latn")),
        (S, SKOS.prefLabel, Literal("QazŪU", lang="kk-Latn")),
        (S, SKOS.altLabel, Literal("Äl-Farabi atyndağy QazŪU", lang="kk-Latn")),
    }


def test_latin_label_triples_ignores_everything_else() -> None:
    graph = Graph()
    graph.add((S, RDFS.label, Literal("Казахский национальный университет", lang="ru")))
    graph.add((S, RDFS.label, Literal("Қазақ университеті")))  # no language tag
    graph.add((S, RDFS.label, Literal("Қазақ университеті", lang="kk-Cyrl")))
    graph.add((S, RDFS.comment, Literal("Қазақ университеті", lang="kk")))
    graph.add((S, DCTERMS.title, Literal("Қазақ университеті", lang="kk")))
    graph.add((S, RDFS.label, URIRef("https://example.org/Қазақ")))
    graph.add((T, RDFS.label, Literal("Tsinghua University", lang="kk")))  # nothing Cyrillic

    assert len(latin_label_triples(graph)) == 0


def test_latin_label_triples_is_a_new_graph_and_deterministic() -> None:
    graph = Graph()
    graph.add((S, RDFS.label, Literal("Қазақ ұлттық университеті", lang="kk")))
    graph.add((T, RDFS.label, Literal("Цинхуа университеті", lang="kk")))
    before = set(graph)

    first = latin_label_triples(graph)
    second = latin_label_triples(graph)

    assert set(graph) == before
    assert first is not graph
    assert set(first) == set(second)
    assert (T, RDFS.label, Literal("Tsinhua universitetı", lang="kk-Latn")) in first
