"""The fact inventory: what the article states, counted and listed by hand from the text, held
against the graph. If a fact is added, lost or changed, one of these fails."""

from collections import Counter

import pytest
from rdflib import RDF, Graph

from server.vocab import ID, KZCN, PREFIXES

PREFIX_LINES = "\n".join(f"PREFIX {p}: <{ns}>" for p, ns in PREFIXES.items())


def select(graph: Graph, query: str) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in graph.query(PREFIX_LINES + query)]


def short(iri: str) -> str:
    return iri.rsplit("/", 1)[-1]


KAZAKH_NAMED = {
    "national-academy-of-sciences-of-kazakhstan",
    "kazakh-national-agrarian-research-university",
    "al-farabi-kazakh-national-university",
    "almaty-technological-university",
    "kazakh-national-university-of-water-management-and-irrigation",
    "astana-it-university",
    "eurasian-national-university",
    "karaganda-technical-university",
    "alt-university",
    "south-kazakhstan-pedagogical-university",
    "atyrau-oil-and-gas-university",
    "astana-international-university",
    "kokshetau-university",
    "adam-agro-qazaqstan",
    "north-kazakhstan-university",
    "maqsut-narikbayev-university",
    "academy-of-physical-education-and-mass-sport",
    "almaty-management-university",
    "eurasian-technological-university",
    "baq-kz",
}
CHINESE_NAMED = {
    "zhejiang-university-of-technology",
    "zhejiang-zhonghe-technology",
    "yuan-zhen-investment-and-development-company",
    "beijing-technology-and-business-university",
    "henan-university-of-urban-management",
    "north-china-university-of-water-resources-and-electric-power",
    "tsinghua-university",
    "tsinghua-university-science-park",
    "tus-holdings",
    "liaoning-petrochemical-university",
    "beijing-language-and-culture-university",
    "shandong-academy-of-agricultural-sciences",
}


def organizations(graph: Graph, country: str, named: bool) -> set[str]:
    rows = select(
        graph,
        f"""
        SELECT ?org WHERE {{
            ?org kzcn:country <{ID["country/" + country]}> .
            FILTER ({"NOT " if named else ""}EXISTS {{ ?org a kzcn:UnnamedParty }})
            FILTER NOT EXISTS {{ ?org a kzcn:BilateralOrganization }}
        }}""",
    )
    return {short(org) for (org,) in rows}


def test_named_kazakh_organizations(everything):
    assert organizations(everything, "kazakhstan", named=True) == KAZAKH_NAMED


def test_named_chinese_organizations(everything):
    assert organizations(everything, "china", named=True) == CHINESE_NAMED


def test_unnamed_parties_are_modelled_as_unnamed(everything):
    assert len(organizations(everything, "china", named=False)) == 10  # 5 + 1 + 4 agreements
    assert organizations(everything, "kazakhstan", named=False) == {
        "unnamed-other-kazakh-universities-double-degree"
    }


def test_the_business_council_is_bilateral(everything):
    council = ID["organization/kazakhstan-china-business-council"]
    assert set(everything.objects(council, KZCN.country)) == {
        ID["country/kazakhstan"],
        ID["country/china"],
    }


def test_organization_types(everything):
    counts = Counter(
        short(cls)
        for (cls,) in select(
            everything,
            """
        SELECT ?cls WHERE {
            ?org a ?cls . FILTER NOT EXISTS { ?org a kzcn:UnnamedParty }
            VALUES ?cls { kzcn:HigherEducationInstitution kzcn:ResearchInstitute kzcn:Company
                          kzcn:NewsAgency kzcn:BilateralOrganization }
        }""",
        )
    )
    assert dict(counts) == {
        "ontology#HigherEducationInstitution": 24,
        "ontology#ResearchInstitute": 2,
        "ontology#Company": 4,
        "ontology#NewsAgency": 1,
        "ontology#BilateralOrganization": 1,
    }


AGREEMENTS = {
    # agreement: (class, status, paragraph, parties)
    "spatio-temporal-ai-alliance-and-belt-and-road-laboratory": (
        "Agreement",
        "Concluded",
        3,
        {
            "national-academy-of-sciences-of-kazakhstan",
            "kazakh-national-agrarian-research-university",
            "zhejiang-university-of-technology",
            "zhejiang-zhonghe-technology",
        },
    ),
    "kaznu-yuan-zhen-uav-cooperation": (
        "Agreement",
        "Signed",
        4,
        {"al-farabi-kazakh-national-university", "yuan-zhen-investment-and-development-company"},
    ),
    "atu-btbu-technology-and-innovation-centre": (
        "Agreement",
        "Agreed",
        5,
        {"almaty-technological-university", "beijing-technology-and-business-university"},
    ),
    "atu-henan-sustainable-development-research-centre": (
        "Agreement",
        "Planned",
        5,
        {"almaty-technological-university", "henan-university-of-urban-management"},
    ),
    "kaznuwmi-ncwu-water-research": (
        "Agreement",
        "Concluded",
        6,
        {
            "kazakh-national-university-of-water-management-and-irrigation",
            "north-china-university-of-water-resources-and-electric-power",
        },
    ),
    "aitu-tus-holdings-memorandum": (
        "Memorandum",
        "Signed",
        7,
        {"astana-it-university", "tus-holdings"},
    ),
    **{
        f"double-degree-{key}": (
            "Agreement",
            "Concluded",
            8,
            {kazakh, f"unnamed-chinese-universities-double-degree-{key}"},
        )
        for key, kazakh in [
            ("enu", "eurasian-national-university"),
            ("kartu", "karaganda-technical-university"),
            ("alt-university", "alt-university"),
            ("skpu", "south-kazakhstan-pedagogical-university"),
            ("other-kazakh-universities", "unnamed-other-kazakh-universities-double-degree"),
        ]
    },
    "atyrau-liaoning-engineering-school": (
        "Agreement",
        "Agreed",
        9,
        {"atyrau-oil-and-gas-university", "liaoning-petrochemical-university"},
    ),
    "atyrau-liaoning-joint-laboratory": (
        "Agreement",
        "Signed",
        9,
        {"atyrau-oil-and-gas-university", "liaoning-petrochemical-university"},
    ),
    "aiu-blcu-branch-campus": (
        "SupplementaryAgreement",
        "Signed",
        9,
        {"astana-international-university", "beijing-language-and-culture-university"},
    ),
    "kokshetau-shandong-adam-agro-memorandum": (
        "Memorandum",
        "Signed",
        10,
        {
            "kokshetau-university",
            "shandong-academy-of-agricultural-sciences",
            "adam-agro-qazaqstan",
        },
    ),
    "nku-chinese-partners-agricultural-technology": (
        "Agreement",
        "Agreed",
        10,
        {"north-kazakhstan-university", "unnamed-chinese-partners-nku"},
    ),
    **{
        f"cooperation-{key}": (
            "CooperationAgreement",
            "Agreed",
            11,
            {kazakh, f"unnamed-chinese-universities-cooperation-{key}"},
        )
        for key, kazakh in [
            ("mnu", "maqsut-narikbayev-university"),
            ("academy-of-physical-education", "academy-of-physical-education-and-mass-sport"),
            ("almau", "almaty-management-university"),
            ("etu", "eurasian-technological-university"),
        ]
    },
}


def asserted_agreements(asserted: Graph) -> dict[str, tuple[str, str, int, set[str]]]:
    rows = select(
        asserted,
        """
        SELECT ?a ?cls ?status ?para ?party WHERE {
            ?a a ?cls ; kzcn:status ?status ; kzcn:sourceParagraph ?para ; kzcn:party ?party .
            ?cls rdfs:subClassOf* kzcn:Agreement .
        }""",
    )
    found: dict[str, tuple[str, str, int, set[str]]] = {}
    for agreement, cls, status, para, party in rows:
        entry = found.setdefault(
            short(agreement), (cls.split("#")[1], status.split("#")[1], int(para), set())
        )
        entry[3].add(short(party))
    return found


def test_every_agreement_with_class_status_paragraph_and_parties(asserted):
    assert asserted_agreements(asserted) == AGREEMENTS


def test_agreements_by_kind_and_status(everything):
    kinds = Counter(
        short(c).split("#")[1]
        for (c,) in select(
            everything,
            """
        SELECT ?cls WHERE { ?a a kzcn:Agreement, ?cls . ?cls rdfs:subClassOf kzcn:Agreement .
                            FILTER (?cls != kzcn:Agreement) }""",
        )
    )
    assert kinds == {"Memorandum": 2, "CooperationAgreement": 4, "SupplementaryAgreement": 1}
    statuses = Counter(
        short(s).split("#")[1]
        for (s,) in select(
            everything,
            """
        SELECT ?s WHERE { ?a a kzcn:Agreement ; kzcn:status ?s }""",
        )
    )
    assert statuses == {"Signed": 5, "Concluded": 7, "Agreed": 7, "Planned": 1}


@pytest.mark.parametrize(
    ("initiative", "cls", "established_by"),
    [
        (
            "kazakhstan-china-spatio-temporal-ai-alliance",
            "Alliance",
            "spatio-temporal-ai-alliance-and-belt-and-road-laboratory",
        ),
        (
            "belt-and-road-joint-laboratory",
            "JointLaboratory",
            "spatio-temporal-ai-alliance-and-belt-and-road-laboratory",
        ),
        (
            "kazakhstan-china-technology-and-innovation-development-centre",
            "ResearchCentre",
            "atu-btbu-technology-and-innovation-centre",
        ),
        (
            "kazakhstan-china-sustainable-development-research-centre",
            "ResearchCentre",
            "atu-henan-sustainable-development-research-centre",
        ),
        (
            "kazakhstan-china-international-engineering-school",
            "EngineeringSchool",
            "atyrau-liaoning-engineering-school",
        ),
        (
            "atyrau-liaoning-joint-international-laboratory",
            "JointLaboratory",
            "atyrau-liaoning-joint-laboratory",
        ),
        ("blcu-branch-campus-kazakhstan", "BranchCampus", "aiu-blcu-branch-campus"),
    ],
)
def test_what_each_agreement_establishes(everything, initiative, cls, established_by):
    node = ID["initiative/" + initiative]
    assert (node, KZCN.establishedBy, ID["agreement/" + established_by]) in everything
    assert (node, RDF.type, KZCN[cls]) in everything


def test_double_degree_programmes_and_levels(everything):
    rows = select(
        everything,
        """
        SELECT ?p ?level WHERE { ?p a kzcn:DoubleDegreeProgramme ; kzcn:degreeLevel ?level }""",
    )
    programmes = {short(p) for p, _ in rows}
    assert len(programmes) == 5
    assert Counter(short(level).split("#")[1] for _, level in rows) == {"Bachelor": 5, "Master": 5}


def test_the_claimed_count_is_kept_apart_from_the_enumeration(everything):
    claimed = select(
        everything,
        """
        SELECT ?n WHERE { ?c a kzcn:CountClaim ; kzcn:claimedMoreThan ?n ;
                             kzcn:claimAbout ?event . ?a kzcn:signedDuring ?event }""",
    )
    assert {int(n) for (n,) in claimed} == {20}
    signed = select(everything, "SELECT (COUNT(?a) AS ?n) WHERE { ?a kzcn:signedDuring ?e }")
    assert int(signed[0][0]) == 19  # the planned centre was announced, not signed


def test_expected_outcomes_are_not_agreements(everything):
    outcomes = select(everything, "SELECT ?o WHERE { ?o a kzcn:ExpectedOutcome }")
    assert len(outcomes) == 5
    overlap = select(everything, "SELECT ?o WHERE { ?o a kzcn:ExpectedOutcome, kzcn:Agreement }")
    assert overlap == []


def test_the_source_article(everything):
    rows = select(
        everything,
        """
        SELECT ?url ?date ?lang ?publisher WHERE {
            ?a a schema:NewsArticle ; schema:url ?url ; schema:datePublished ?date ;
               schema:inLanguage ?lang ; schema:publisher/rdfs:label ?publisher .
            FILTER (lang(?publisher) = "en") }""",
    )
    assert rows == [
        (
            "https://baq.kz/atyrauda-qazaqstan-qytay-halyqaralyq-inzhenerlik-mektebi-"
            "ashylady-200020495/",
            "2025-09-02",
            "kk",
            "BAQ.KZ",
        )
    ]


def test_the_event(everything):
    rows = select(
        everything,
        """
        SELECT ?start ?end ?platform WHERE {
            ?e a kzcn:StateVisit ; schema:startDate ?start ; schema:endDate ?end ;
               kzcn:signingPlatform ?platform }""",
    )
    assert rows == [
        ("2025-08-30", "2025-09-03", str(ID["organization/kazakhstan-china-business-council"]))
    ]


def test_uncertain_translations_are_flagged(everything):
    flagged = {
        short(s)
        for (s,) in select(everything, "SELECT ?s WHERE { ?s kzcn:uncertainTranslation ?l }")
    }
    assert flagged == {
        "henan-university-of-urban-management",
        "yuan-zhen-investment-and-development-company",
    }
    # and they get no Chinese label: we do not know it
    assert not select(
        everything,
        """SELECT ?l WHERE { ?s kzcn:uncertainTranslation ?x ; rdfs:label ?l .
                             FILTER (langMatches(lang(?l), "zh")) }""",
    )
