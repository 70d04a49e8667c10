"""Reasoning: what the build infers, and that it keeps inferred triples apart from asserted."""

from itertools import permutations

from rdflib import OWL, RDF, Graph, Literal, URIRef
from rdflib.namespace import FOAF, ORG, RDFS

from server.build.reason import infer
from server.vocab import ID, KZCN, SCHEMA, WD

KAZNU = ID["organization/al-farabi-kazakh-national-university"]
UAV_AGREEMENT = ID["agreement/kaznu-yuan-zhen-uav-cooperation"]


def test_inferred_types_follow_the_alignment(checked):
    for cls in (
        KZCN.Organization,
        SCHEMA.CollegeOrUniversity,
        SCHEMA.Organization,
        ORG.FormalOrganization,
        FOAF.Organization,
    ):
        assert (KAZNU, RDF.type, cls) in checked.inferred
        assert (KAZNU, RDF.type, cls) not in checked.sources.data


def test_inverse_properties_are_inferred(checked):
    assert (KAZNU, KZCN.partyTo, UAV_AGREEMENT) in checked.inferred
    school = ID["initiative/kazakhstan-china-international-engineering-school"]
    agreement = ID["agreement/atyrau-liaoning-engineering-school"]
    assert (school, KZCN.establishedBy, agreement) in checked.inferred


def co_parties(data: Graph) -> set[tuple[URIRef, URIRef]]:
    pairs: set[tuple[URIRef, URIRef]] = set()
    for agreement in set(data.subjects(KZCN.party, None)):
        pairs |= set(permutations(data.objects(agreement, KZCN.party), 2))
    return pairs


def test_partner_links_exactly_the_distinct_co_parties(checked):
    partners = set(checked.inferred.subject_objects(KZCN.partner))
    assert partners == co_parties(checked.sources.data)
    assert all((b, a) in partners for a, b in partners)  # symmetric
    assert all(a != b for a, b in partners)  # never reflexive
    assert not any(checked.sources.data.triples((None, KZCN.partner, None)))


def test_partner_is_inferred_for_a_party_given_only_by_the_inverse():
    ontology = Graph().parse(
        data="""
        @prefix kzcn: <https://w3id.org/kzcn/ontology#> .
        @prefix owl: <http://www.w3.org/2002/07/owl#> .
        kzcn:partyTo owl:inverseOf kzcn:party .""",
        format="turtle",
    )
    data = Graph()
    a, b, deal = ID["organization/a"], ID["organization/b"], ID["agreement/deal"]
    data.add((deal, KZCN.party, a))
    data.add((b, KZCN.partyTo, deal))
    inferred = infer(ontology, data)
    assert (a, KZCN.partner, b) in inferred
    assert (b, KZCN.partner, a) in inferred
    assert (a, KZCN.partner, a) not in inferred


def test_inferred_and_asserted_are_disjoint(checked, asserted):
    assert len(checked.inferred) > 500
    assert not set(checked.inferred) & set(asserted)


def test_wikidata_links_are_published_but_not_smushed(checked, everything):
    kazakhstan = ID["country/kazakhstan"]
    assert (kazakhstan, OWL.sameAs, WD.Q232) in checked.sources.data
    assert (ID["country/china"], OWL.sameAs, WD.Q148) in checked.sources.data
    assert not any(WD in str(term) for triple in checked.inferred for term in triple)


def test_owl_rl_trivia_is_left_out(checked):
    for s, p, o in checked.inferred:
        assert str(s).startswith("https://w3id.org/kzcn/"), (s, p, o)
        assert not (p in (OWL.sameAs, RDFS.subClassOf, OWL.equivalentClass) and s == o)
        assert (p, o) != (RDF.type, OWL.Thing)


def test_kazakh_latin_labels_are_generated(checked):
    latin = {
        label
        for label in checked.inferred.objects(KAZNU, RDFS.label)
        if label.language == "kk-Latn"
    }
    assert latin == {Literal("Äl-Farabi atyndağy Qazaq ūlttyq universitetı", lang="kk-Latn")}
    typed_by_hand = [
        label
        for label in checked.sources.data.objects(None, RDFS.label)
        if isinstance(label, Literal) and label.language == "kk-Latn"
    ]
    assert typed_by_hand == []
