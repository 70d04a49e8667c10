"""The ontology's public contract: the names researchers' queries rely on, their meanings,
labels and definitions in English and Kazakh, and the alignment with common vocabularies."""

import pytest
from rdflib import OWL, RDF, RDFS, Literal
from rdflib.namespace import DCTERMS, FOAF, ORG, SKOS

from server.vocab import KZCN, ONTOLOGY_IRI, SCHEMA

CLASSES = [
    "Organization",
    "HigherEducationInstitution",
    "ResearchInstitute",
    "Company",
    "Agreement",
    "Memorandum",
    "CooperationAgreement",
    "SupplementaryAgreement",
    "Initiative",
    "Alliance",
    "JointLaboratory",
    "ResearchCentre",
    "EngineeringSchool",
    "BranchCampus",
    "AcademicProgramme",
    "DoubleDegreeProgramme",
    "ResearchDomain",
    "Event",
    "StateVisit",
    "Country",
]
OBJECT_PROPERTIES = [
    "party",
    "partyTo",
    "country",
    "concerns",
    "establishes",
    "establishedBy",
    "signedDuring",
    "status",
    "degreeLevel",
    "partner",
]
STATUSES = {
    "Signed": "қол қойды",
    "Concluded": "келісім жасасты",
    "Agreed": "келісімге келді",
    "Planned": "жоспарлап отыр",
}


@pytest.fixture(scope="module")
def ontology(checked):
    return checked.sources.ontology


@pytest.mark.parametrize("name", CLASSES)
def test_contract_classes(ontology, name):
    assert (KZCN[name], RDF.type, OWL.Class) in ontology


@pytest.mark.parametrize("name", OBJECT_PROPERTIES)
def test_contract_object_properties(ontology, name):
    assert (KZCN[name], RDF.type, OWL.ObjectProperty) in ontology


def test_property_meanings(ontology):
    assert (KZCN.partyTo, OWL.inverseOf, KZCN.party) in ontology
    assert (KZCN.establishedBy, OWL.inverseOf, KZCN.establishes) in ontology
    assert (KZCN.partner, RDF.type, OWL.SymmetricProperty) in ontology
    assert (KZCN.party, RDFS.domain, KZCN.Agreement) in ontology
    assert (KZCN.party, RDFS.range, KZCN.Organization) in ontology
    assert (KZCN.country, RDFS.range, KZCN.Country) in ontology
    assert (KZCN.signedDuring, RDFS.range, KZCN.Event) in ontology
    assert (KZCN.degreeLevel, RDFS.range, KZCN.DegreeLevel) in ontology
    for level in ("Bachelor", "Master"):
        assert (KZCN[level], RDF.type, KZCN.DegreeLevel) in ontology


@pytest.mark.parametrize(("status", "verb"), STATUSES.items())
def test_statuses_keep_the_articles_verb(ontology, status, verb):
    assert (KZCN[status], RDFS.label, Literal(verb, lang="kk")) in ontology


@pytest.mark.parametrize(
    ("cls", "superclass"),
    [
        (KZCN.Organization, SCHEMA.Organization),
        (KZCN.Organization, ORG.FormalOrganization),
        (KZCN.Organization, FOAF.Organization),
        (KZCN.HigherEducationInstitution, SCHEMA.CollegeOrUniversity),
        (KZCN.ResearchInstitute, SCHEMA.ResearchOrganization),
        (KZCN.Company, SCHEMA.Corporation),
        (KZCN.ResearchDomain, SKOS.Concept),
        (KZCN.Event, SCHEMA.Event),
        (KZCN.AcademicProgramme, SCHEMA.EducationalOccupationalProgram),
        (KZCN.Country, SCHEMA.Country),
    ],
)
def test_alignment(ontology, cls, superclass):
    assert (cls, RDFS.subClassOf, superclass) in ontology


def test_every_term_has_english_and_kazakh_label_and_definition(ontology):
    terms = {s for s in ontology.subjects() if str(s).startswith(str(KZCN))}
    assert len(terms) > 50
    for term in terms:
        for prop in (RDFS.label, SKOS.definition):
            languages = {o.language for o in ontology.objects(term, prop)}
            assert {"en", "kk"} <= languages, (term, prop)


def test_ontology_header(ontology):
    for prop in (
        OWL.versionIRI,
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.creator,
        DCTERMS.license,
        DCTERMS.created,
    ):
        assert ontology.value(ONTOLOGY_IRI, prop) is not None, prop


def test_every_domain_is_in_the_one_scheme(everything):
    domains = set(everything.subjects(RDF.type, KZCN.ResearchDomain))
    assert len(domains) == 13
    for domain in domains:
        assert (domain, SKOS.inScheme, KZCN.ResearchDomainScheme) in everything
        assert (KZCN.ResearchDomainScheme, SKOS.hasTopConcept, domain) in everything
