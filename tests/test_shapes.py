"""The data contract: the real data conforms, and each shape catches the break it exists for,
naming the node and the rule."""

import pytest
from rdflib import Graph, Literal, namespace
from rdflib.namespace import PROV, RDFS, SKOS

from server.build.validate import validate
from server.vocab import ID, KZCN

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


@pytest.mark.parametrize(
    ("change", "expected", "rule"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS]
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
