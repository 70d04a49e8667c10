"""The data contract: the real data conforms, and each shape catches the break it exists for,
naming the node and the rule."""

import pytest
from rdflib import RDF, Graph, Literal, URIRef, namespace
from rdflib.namespace import PROV, RDFS, SKOS

from server.build.validate import first_to_fix, validate
from server.vocab import ID, KZCN, SCHEMA

from .conftest import edit

ALT = ID["organization/alt-university"]
AITU_MEMO = ID["agreement/aitu-tus-holdings-memorandum"]


def test_the_real_data_conforms(checked):
    assert checked.validation.conforms, checked.validation.text()


def problems_after(checked, change) -> list[str]:
    data = Graph() + checked.sources.data
    change(data)
    result = validate(checked.sources.ontology, data, checked.sources.shapes)
    assert not result.conforms
    return [str(problem) for problem in result.problems]


def remove(subject, predicate, obj=None):
    return lambda data: data.remove((subject, predicate, obj))


def add(subject, predicate, obj):
    return lambda data: data.add((subject, predicate, obj))


def replace_label(subject, language, new):
    def change(data: Graph) -> None:
        for label in list(data.objects(subject, RDFS.label)):
            if label.language == language:
                data.remove((subject, RDFS.label, label))
        if new is not None:
            data.add((subject, RDFS.label, new))

    return change


ALT_LABLE = URIRef(f"{SKOS}altLable")  # a typo, which rdflib's closed SKOS would refuse
KAZAKHSTAN = ID["country/kazakhstan"]
CHINA = ID["country/china"]

BREAKS = [
    (
        "organization without country",
        remove(ALT, KZCN.country),
        "inst:alt-university kzcn:country: An organization needs its country",
        "kzsh:OrganizationShape sh:MinCountConstraintComponent",
    ),
    (
        "organization with two countries",
        add(ALT, KZCN.country, CHINA),
        "inst:alt-university An organization has exactly one country",
        "kzsh:OrganizationShape sh:OrConstraintComponent",
    ),
    (
        "organization without English label",
        replace_label(ALT, "en", None),
        "inst:alt-university rdfs:label: Needs exactly one English rdfs:label",
        "sh:QualifiedMinCountConstraintComponent",
    ),
    (
        "organization with two English labels",
        add(ALT, RDFS.label, Literal("ALT", lang="en")),
        "inst:alt-university rdfs:label: Needs exactly one English rdfs:label",
        "sh:QualifiedMaxCountConstraintComponent",
    ),
    (
        "organization without Kazakh label",
        replace_label(ALT, "kk", None),
        "inst:alt-university rdfs:label: Needs at least one Kazakh rdfs:label",
        "sh:QualifiedMinCountConstraintComponent",
    ),
    (
        "label without language tag",
        add(ALT, RDFS.label, Literal("ALT University")),
        "inst:alt-university rdfs:label: Every rdfs:label carries a language tag",
        "kzsh:LanguageTaggedShape sh:DatatypeConstraintComponent",
    ),
    (
        "label tagged kz (the country code) instead of kk (the language)",
        add(ALT, RDFS.label, Literal("ALT университеті", lang="kz")),
        "inst:alt-university rdfs:label: Every rdfs:label carries a language tag: kk, en, ru",
        "kzsh:LanguageTaggedShape sh:LanguageInConstraintComponent",
    ),
    (
        "mention text in another language than the article's",
        add(ALT, KZCN.mentionText, Literal("ALT University", lang="en")),
        "inst:alt-university kzcn:mentionText: Every kzcn:mentionText carries the article's",
        "kzsh:LanguageTaggedShape sh:LanguageInConstraintComponent",
    ),
    (
        "asserted partner",
        add(ALT, KZCN.partner, ID["organization/tus-holdings"]),
        "inst:alt-university kzcn:partner: kzcn:partner is never asserted",
        "kzsh:OrganizationShape sh:MaxCountConstraintComponent",
    ),
    (
        "agreement with one party",
        remove(AITU_MEMO, KZCN.party, ID["organization/tus-holdings"]),
        "agreement:aitu-tus-holdings-memorandum kzcn:party: An agreement needs at least two",
        "kzsh:AgreementShape sh:MinCountConstraintComponent",
    ),
    (
        "agreement without a Kazakh party",
        remove(AITU_MEMO, KZCN.party, ID["organization/astana-it-university"]),
        "agreement:aitu-tus-holdings-memorandum kzcn:party: At least one party",
        "sh:QualifiedMinCountConstraintComponent",
    ),
    (
        "agreement without status",
        remove(AITU_MEMO, KZCN.status),
        "agreement:aitu-tus-holdings-memorandum kzcn:status: An agreement needs exactly one",
        "kzsh:AgreementShape sh:MinCountConstraintComponent",
    ),
    (
        "agreement with an unknown status",
        add(AITU_MEMO, KZCN.status, KZCN.Rumoured),
        "agreement:aitu-tus-holdings-memorandum kzcn:status: An agreement needs exactly one",
        "sh:InConstraintComponent",
    ),
    (
        "agreement not signed during an event",
        remove(AITU_MEMO, KZCN.signedDuring),
        "agreement:aitu-tus-holdings-memorandum An agreement needs kzcn:signedDuring",
        "kzsh:AgreementShape sh:XoneConstraintComponent",
    ),
    (
        "paragraph out of the article's range",
        lambda data: data.set(
            (AITU_MEMO, KZCN.sourceParagraph, Literal(13, datatype=namespace.XSD.positiveInteger))
        ),
        "agreement:aitu-tus-holdings-memorandum kzcn:sourceParagraph: kzcn:sourceParagraph "
        "must be an xsd:positiveInteger between 1 and 12",
        "sh:MaxInclusiveConstraintComponent",
    ),
    (
        "paragraph as a plain integer",
        lambda data: data.set((AITU_MEMO, KZCN.sourceParagraph, Literal(7))),
        "agreement:aitu-tus-holdings-memorandum kzcn:sourceParagraph:",
        "sh:DatatypeConstraintComponent",
    ),
    (
        "no provenance",
        remove(AITU_MEMO, PROV.wasDerivedFrom),
        "agreement:aitu-tus-holdings-memorandum prov:wasDerivedFrom: Needs prov:",
        "kzsh:SourcedShape sh:MinCountConstraintComponent",
    ),
    (
        "double-degree programme without level",
        remove(ID["initiative/double-degree-programmes-enu"], KZCN.degreeLevel),
        "initiative:double-degree-programmes-enu kzcn:degreeLevel: A double-degree",
        "kzsh:DoubleDegreeProgrammeShape sh:MinCountConstraintComponent",
    ),
    (
        "initiative nothing establishes",
        remove(ID["agreement/aiu-blcu-branch-campus"], KZCN.establishes),
        "initiative:blcu-branch-campus-kazakhstan ^kzcn:establishes: An initiative is",
        "kzsh:InitiativeShape sh:MinCountConstraintComponent",
    ),
    (
        "domain outside the scheme",
        remove(ID["domain/agro-industry"], SKOS.inScheme),
        "domain:agro-industry skos:inScheme: Every research domain is in",
        "kzsh:ResearchDomainShape sh:HasValueConstraintComponent",
    ),
    (
        "undefined ontology term",
        add(ALT, KZCN.partnerOf, ID["organization/tus-holdings"]),
        "kzcn:partnerOf is used in data/ but not defined in ontology/",
        "kzcn:UndefinedTerm",
    ),
    (
        "dangling reference",
        add(ALT, KZCN.affiliatedWith, ID["organization/no-such-body"]),
        "inst:no-such-body is referred to in data/ but described nowhere",
        "kzcn:DanglingReference",
    ),
]


# The closed vocabulary (validate.vocabulary_problems): checked by validate.py only.
VOCABULARY_BREAKS = [
    (
        "misspelt property of another vocabulary",
        add(ALT, ALT_LABLE, Literal("ALT", lang="en")),
        "skos:altLable is used as a property (by inst:alt-university) but declared as one "
        "neither in ontology/ nor in shapes/vocabulary.ttl",
        "kzcn:UndeclaredProperty",
    ),
    (
        "class of another vocabulary nobody declared",
        add(ALT, RDF.type, SCHEMA.CollegeOrUniversity),
        "schema:CollegeOrUniversity is used as a class (by inst:alt-university)",
        "kzcn:UndeclaredClass",
    ),
    (
        "a property of ours as a class",
        add(ALT, RDF.type, KZCN.country),
        "kzcn:country is used as a class (by inst:alt-university)",
        "kzcn:UndeclaredClass",
    ),
    (
        "a class of ours as a property",
        add(ALT, KZCN.Country, CHINA),
        "kzcn:Country is used as a property (by inst:alt-university)",
        "kzcn:UndeclaredProperty",
    ),
    (
        "a literal for an object property",
        add(AITU_MEMO, KZCN.party, Literal("TUS-Holdings")),
        "agreement:aitu-tus-holdings-memorandum kzcn:party: takes an IRI (an owl:ObjectProperty),"
        " not the literal 'TUS-Holdings'",
        "kzcn:LiteralForObjectProperty",
    ),
    (
        "an IRI for a datatype property",
        add(ALT, KZCN.mentionText, ID["organization/tus-holdings"]),
        "inst:alt-university kzcn:mentionText: takes a literal (an owl:DatatypeProperty), "
        "not inst:tus-holdings",
        "kzcn:ResourceForDatatypeProperty",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected", "rule"),
    [b[1:] for b in BREAKS + VOCABULARY_BREAKS],
    ids=[b[0] for b in BREAKS + VOCABULARY_BREAKS],
)
def test_each_shape_catches_its_break(checked, change, expected, rule):
    problems = problems_after(checked, change)
    matching = [p for p in problems if expected in p]
    assert matching, "\n".join(problems)
    assert any(rule in p for p in matching), "\n".join(matching)


def test_the_cli_refuses_to_build_invalid_data(project_copy, capsys):
    from server.cli import main

    edit(
        project_copy.data / "organizations.ttl",
        "inst:alt-university a kzcn:HigherEducationInstitution ;\n",
        "inst:alt-university a kzcn:HigherEducationInstitution ;\n"
        "    kzcn:partner inst:tus-holdings ;\n",
    )
    assert main(["--root", str(project_copy.root), "build"]) == 1
    err = capsys.readouterr().err
    assert "inst:alt-university kzcn:partner" in err
    assert not (project_copy.build_dir / "current").exists()


def test_a_vocabulary_that_declares_nothing_leaves_other_vocabularies_open(checked):
    """Only shapes/vocabulary.ttl closes other vocabularies; kzcn: is closed by the ontology."""
    data = Graph() + checked.sources.data
    data.add((ALT, ALT_LABLE, Literal("ALT", lang="en")))
    data.add((ALT, KZCN.Country, CHINA))
    shapes = Graph()
    for triple in checked.sources.shapes:
        if triple[1] != RDF.type or triple[2] not in (RDF.Property, RDFS.Class):
            shapes.add(triple)
    problems = [str(p) for p in validate(checked.sources.ontology, data, shapes).problems]
    assert not [p for p in problems if "skos:altLable" in p]
    assert [p for p in problems if "kzcn:Country is used as a property" in p]


def shown(checked, change) -> list[str]:
    """The problem lines of the report the CLI prints."""
    data = Graph() + checked.sources.data
    change(data)
    validation = validate(checked.sources.ontology, data, checked.sources.shapes)
    return validation.text().splitlines()


def test_a_label_that_lost_its_tag_is_reported_once(checked):
    """Untagged, it is also in none of our languages, and its node has no English label:
    those follow, and are held back."""
    lines = shown(checked, replace_label(ALT, "en", Literal("ALT University")))
    assert lines[0] == (
        "Does not conform: 1 problem(s) (2 more may follow from these: they are listed once "
        "these are fixed)."
    )
    assert lines[1:] == [
        "  Violation: inst:alt-university rdfs:label: Every rdfs:label carries a language tag: "
        "kk, en, ru or zh-Hans. [kzsh:LanguageTaggedShape sh:DatatypeConstraintComponent]"
    ]


def test_what_is_held_back_is_listed_once_the_first_problem_is_fixed(checked):
    untagged = shown(checked, replace_label(ALT, "en", Literal("ALT University")))
    assert "English" not in "\n".join(untagged)
    lines = shown(checked, replace_label(ALT, "en", None))  # the tagless label removed
    assert lines[0] == "Does not conform: 1 problem(s)."
    assert "inst:alt-university rdfs:label: Needs exactly one English rdfs:label" in lines[1]


def test_a_dangling_reference_hides_the_shapes_it_breaks(checked):
    """A misspelt country is dangling; that it is no kzcn:Country follows from it."""

    def misspell(data: Graph) -> None:
        data.set((ALT, KZCN.country, ID["country/kazakstan"]))

    data = Graph() + checked.sources.data
    misspell(data)
    problems = validate(checked.sources.ontology, data, checked.sources.shapes).problems
    assert any("sh:ClassConstraintComponent" in p.rule for p in problems)
    assert [str(p) for p in first_to_fix(problems)] == [
        "Violation: country:kazakstan is referred to in data/ but described nowhere "
        "[kzcn:DanglingReference]"
    ]
    assert len(shown(checked, misspell)) == 2


def test_independent_problems_are_all_shown(checked):
    def two_mistakes(data: Graph) -> None:
        data.remove((ID["domain/agro-industry"], SKOS.inScheme, None))
        data.remove((AITU_MEMO, KZCN.status, None))

    lines = shown(checked, two_mistakes)
    assert lines[0] == "Does not conform: 2 problem(s)."
    assert "agreement:aitu-tus-holdings-memorandum kzcn:status:" in lines[1]
    assert "domain:agro-industry skos:inScheme:" in lines[2]
