"""The scalable build (server/build/rules.py, stream_rules.py, shacl_sparql.py) against the
reference one (reason.py with owlrl, validate.py with pyshacl): the same inferred graph, to the
triple, and the same verdict naming the same (focus node, rule) pairs — on the real data, on
every break of test_shapes.py, on breaks of the components those leave out, and on a generated
~10^4-triple project."""

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import OWL, SKOS, XSD

from server.build import rules, scalable
from server.build.pipeline import Checked, check
from server.build.reason import infer
from server.build.rules import (
    STORED_AS,
    OxConverter,
    UnsupportedVocabulary,
    drop_build_graphs,
    infer_scalable,
    inferred_graph,
    load_files,
    materialize,
)
from server.build.shacl_sparql import UnsupportedShape, validate_scalable, validate_store
from server.build.sources import parse_files, rdf_files
from server.build.stream_rules import infer_streaming
from server.build.validate import Validation, validate
from server.config import PACKAGE_ROOT, Paths, paths_from_env
from server.vocab import ID, KZCN, SCHEMA

from .test_shapes import BREAKS, VOCABULARY_BREAKS

GENERATED_TRIPLES = 10_000
# The two scalable reasoners: rules in the store, and streamed over lines (stream_rules.py).
REASONERS = pytest.mark.parametrize(
    "reasoner", [infer_scalable, infer_streaming], ids=["in-store", "streaming"]
)


# --------------------------------------------------------------------------- comparing


def ntriples(graph: Graph) -> set[str]:
    return {line for line in graph.serialize(format="nt").splitlines() if line.strip()}


def assert_same_graph(reference: Graph, scalable: Graph) -> None:
    expected, got = ntriples(reference), ntriples(scalable)
    missing, extra = sorted(expected - got), sorted(got - expected)
    assert not missing and not extra, (
        f"{len(missing)} inferred by the reference only:\n"
        + "\n".join(missing[:50])
        + f"\n{len(extra)} inferred by the scalable reasoner only:\n"
        + "\n".join(extra[:50])
    )


def pairs(validation: Validation) -> set[tuple[str, str]]:
    return {(problem.focus, problem.rule) for problem in validation.problems}


def assert_same_verdict(reference: Validation, scalable: Validation) -> None:
    only_reference = sorted(pairs(reference) - pairs(scalable))
    only_scalable = sorted(pairs(scalable) - pairs(reference))
    assert reference.conforms == scalable.conforms and not only_reference and not only_scalable, (
        f"pyshacl conforms={reference.conforms}, SPARQL conforms={scalable.conforms}\n"
        f"only pyshacl: {only_reference}\nonly SPARQL: {only_scalable}\n"
        f"pyshacl report:\n{reference.text()}\nSPARQL report:\n{scalable.text()}"
    )


def both_validations(checked: Checked, change: Callable[[Graph], object]):
    data = Graph() + checked.sources.data
    change(data)
    ontology, shapes = checked.sources.ontology, checked.sources.shapes
    return validate(ontology, data, shapes), validate_scalable(ontology, data, shapes)


# --------------------------------------------------------------------------- the real data


@REASONERS
def test_scalable_reasoning_gives_exactly_the_reference_inferred_graph(
    checked: Checked, reasoner
) -> None:
    sources = checked.sources
    assert_same_graph(checked.inferred, reasoner(sources.ontology, sources.data))


def test_the_store_path_without_rdflib_gives_the_same_graphs(checked: Checked) -> None:
    """load_files + materialize + validate_store: what a build without rdflib data would do."""
    paths = paths_from_env(PACKAGE_ROOT)
    store = ox.Store()
    load_files(store, rdf_files(paths.ontology), rules.ONTOLOGY_GRAPH)
    load_files(store, rdf_files(paths.data), rules.DATA_GRAPH)
    run = materialize(store)
    to_ox = OxConverter()
    expected = set(to_ox.triples(checked.inferred))
    got = {
        ox.Triple(q.subject, q.predicate, q.object)
        for q in store.quads_for_pattern(None, None, None, rules.INFERRED_GRAPH)
    }
    assert got == expected, (
        sorted(map(str, expected - got))[:20],
        sorted(map(str, got - expected))[:20],
    )
    assert run.inferred == len(checked.inferred)
    assert_same_graph(checked.inferred, inferred_graph(store))  # "kk-Latn" as written
    assert run.passes <= 8, "the schema in a few passes; then one derives, the next confirms"
    validation = validate_store(store, parse_files(rdf_files(paths.shapes)))
    assert validation.conforms, validation.text()
    # Of the build's own graphs, only the loader's side graphs are left: paragraphs are
    # xsd:positiveInteger, claimed counts xsd:nonNegativeInteger.
    build_graphs = {g.value for g in store.named_graphs() if g.value.startswith("urn:kzcn:")}
    written = (XSD.positiveInteger, XSD.nonNegativeInteger)
    assert build_graphs == {rules.written_as_graph(str(datatype)).value for datatype in written}
    drop_build_graphs(store)
    assert set(store.named_graphs()) == {
        rules.ONTOLOGY_GRAPH,
        rules.DATA_GRAPH,
        rules.INFERRED_GRAPH,
    }


def test_the_sparql_validator_agrees_on_the_real_data(checked: Checked) -> None:
    sources = checked.sources
    scalable = validate_scalable(sources.ontology, sources.data, sources.shapes)
    assert_same_verdict(checked.validation, scalable)
    assert scalable.conforms


@pytest.mark.parametrize(
    "change",
    [b[1] for b in BREAKS + VOCABULARY_BREAKS],
    ids=[b[0] for b in BREAKS + VOCABULARY_BREAKS],
)
def test_the_sparql_validator_agrees_on_each_break(checked: Checked, change) -> None:
    reference, scalable = both_validations(checked, change)
    assert not reference.conforms
    assert_same_verdict(reference, scalable)
    assert {str(p) for p in scalable.problems} == {str(p) for p in reference.problems}


# Breaks of the components and paths BREAKS leaves out.
ALT = ID["organization/alt-university"]
MEMO = ID["agreement/aitu-tus-holdings-memorandum"]
ARTICLE = ID["article/baq-kz-2025-09-02-kz-cn-universities"]
VISIT = ID["event/state-visit-china-2025"]


def set_value(subject: URIRef, predicate: URIRef, value) -> Callable[[Graph], object]:
    return lambda data: data.set((subject, predicate, value))


def add(subject: URIRef, predicate: URIRef, value) -> Callable[[Graph], object]:
    return lambda data: data.add((subject, predicate, value))


def planned_and_signed(data: Graph) -> None:  # sh:xone: both branches hold
    data.set((MEMO, KZCN.status, KZCN.Planned))
    data.add((MEMO, KZCN.announcedDuring, VISIT))


def planned_without_event(data: Graph) -> None:  # sh:xone: neither branch holds
    data.set((MEMO, KZCN.status, KZCN.Planned))
    data.remove((MEMO, KZCN.signedDuring, None))


def bilateral_with_two_countries(data: Graph) -> None:  # sh:or: the first branch holds
    data.remove((ALT, RDF.type, None))
    data.add((ALT, RDF.type, KZCN.BilateralOrganization))
    data.add((ALT, KZCN.country, ID["country/china"]))


MORE_BREAKS = [
    (
        "paragraph +07 is a positiveInteger",
        set_value(MEMO, KZCN.sourceParagraph, Literal("+07", datatype=XSD.positiveInteger)),
    ),
    ("paragraph as a string", set_value(MEMO, KZCN.sourceParagraph, Literal("7"))),
    (
        "ill-typed date",
        set_value(VISIT, SCHEMA.startDate, Literal("2025-13-45", datatype=XSD.date)),
    ),
    (
        "date as dateTime",
        set_value(VISIT, SCHEMA.startDate, Literal("2025-08-30T00:00:00", datatype=XSD.dateTime)),
    ),
    ("two English prefLabels", add(ALT, SKOS.prefLabel, Literal("Another name", lang="en"))),
    ("URL as a literal", set_value(ARTICLE, SCHEMA.url, Literal("https://baq.kz/"))),
    ("party that is not an organization", add(MEMO, KZCN.party, ID["domain/agro-industry"])),
    ("planned and signed", planned_and_signed),
    ("planned without event", planned_without_event),
    (
        "two publication dates",
        add(ARTICLE, SCHEMA.datePublished, Literal("2025-09-03", datatype=XSD.date)),
    ),
    ("bilateral organization with two countries", bilateral_with_two_countries),
    ("mention text without language", add(ALT, KZCN.mentionText, Literal("plain"))),
    ("an en-GB label counts as English", add(ALT, RDFS.label, Literal("ALT Uni", lang="en-GB"))),
]


@pytest.mark.parametrize("change", [b[1] for b in MORE_BREAKS], ids=[b[0] for b in MORE_BREAKS])
def test_the_sparql_validator_agrees_on_other_components(checked: Checked, change) -> None:
    assert_same_verdict(*both_validations(checked, change))


@pytest.mark.parametrize("lexical", ["0", "seven"])
def test_an_ill_typed_positive_integer_breaks_the_datatype_in_both(checked, lexical) -> None:
    """Both flag sh:datatype. Their range results differ: SPARQL calls 0 out of range and
    "seven" incomparable (both bounds broken), while rdflib compares ill-typed literals
    arbitrarily (pyshacl flags only sh:maxInclusive for both)."""
    literal = Literal(lexical, datatype=XSD.positiveInteger)
    reference, scalable = both_validations(checked, set_value(MEMO, KZCN.sourceParagraph, literal))
    datatype = (
        "agreement:aitu-tus-holdings-memorandum",
        "kzsh:SourcedShape sh:DatatypeConstraintComponent",
    )
    assert not reference.conforms and not scalable.conforms
    assert datatype in pairs(reference) and datatype in pairs(scalable)


# --------------------------------------------------------------------------- rules and refusals

# OWL the real ontology does not use but RULES implement (subproperties, cycles, an inverse
# reached through a subproperty, a symmetric subproperty, several domains and ranges of one
# property, in a cycle or one below another): owlrl must agree here too.
SCHEMA_FRAGMENT = """
@prefix k: <https://w3id.org/kzcn/ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix ex: <http://example.org/> .
k:A a owl:Class ; rdfs:subClassOf k:B . k:B a owl:Class ; rdfs:subClassOf k:C .
k:C rdfs:subClassOf k:A , ex:D .
k:p a owl:ObjectProperty ; rdfs:subPropertyOf k:q . k:q rdfs:subPropertyOf k:r ;
    rdfs:domain k:B ; rdfs:range ex:D .
k:r rdfs:subPropertyOf k:q ; owl:inverseOf k:rInv . k:rInv rdfs:domain k:C .
k:s a owl:SymmetricProperty ; rdfs:subPropertyOf k:p .
k:party a owl:ObjectProperty ; owl:inverseOf k:partyTo . k:partyTo rdfs:subPropertyOf k:in .
k:t rdfs:domain k:A , ex:D ; rdfs:range k:B , k:C . ex:E rdfs:subClassOf ex:F .
k:u rdfs:domain ex:E , ex:F ; rdfs:range ex:F , ex:E .
"""
DATA_FRAGMENT = """
@prefix k: <https://w3id.org/kzcn/ontology#> . @prefix i: <https://w3id.org/kzcn/id/x/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
i:a k:p i:b . i:c k:s i:d . i:o1 k:partyTo i:ag . i:o2 k:partyTo i:ag .
i:z a k:A ; rdfs:label "Алма"@kk , "Алма"@kk-Cyrl , "Apple"@kk . i:y k:q _:b . _:b k:q i:z .
i:m k:t i:n . i:u1 k:u i:u2 .
"""


@REASONERS
def test_rules_that_do_not_fire_on_our_data_agree_with_owlrl(reasoner) -> None:
    ontology = Graph().parse(data=SCHEMA_FRAGMENT, format="turtle")
    data = Graph().parse(data=DATA_FRAGMENT, format="turtle")
    assert_same_graph(infer(ontology, data), reasoner(ontology, data))


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (f"<{KZCN.partner}> a <{OWL.TransitiveProperty}> .", "TransitiveProperty"),
        (f"<{KZCN.Company}> <{OWL.equivalentClass}> <{SCHEMA.Corporation}> .", "equivalentClass"),
        (f"<{ID['country/china']}> <{OWL.sameAs}> <{ID['country/prc']}> .", "sameAs"),
        (f"<{ID['organization/baq-kz']}> <{KZCN.partner}> 'BAQ' .", "literal values"),
        (f"<{ID['organization/baq-kz']}> a <{XSD.int}> .", "XMLSchema#int"),
    ],
)
@REASONERS
def test_input_needing_other_owl_rules_is_refused(
    checked: Checked, extra, complaint, reasoner
) -> None:
    data = Graph() + checked.sources.data
    data.parse(data=extra, format="turtle")
    with pytest.raises(UnsupportedVocabulary, match=complaint):
        reasoner(checked.sources.ontology, data)


# Shapes of other kinds than ours: other targets, logical and value components, complex paths,
# a targeted property shape, and sh:node (whose nested results pyshacl reports as sh:detail).
OTHER_SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/shapes#> .
@prefix kzcn: <https://w3id.org/kzcn/ontology#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix inst: <https://w3id.org/kzcn/id/organization/> . @prefix schema: <https://schema.org/> .
@prefix country: <https://w3id.org/kzcn/id/country/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Named a sh:NodeShape ;
    sh:targetNode inst:alt-university , inst:baq-kz , inst:zhejiang-zhonghe-technology ;
    sh:not [ sh:class kzcn:Company ] ;
    sh:property [ sh:path ( kzcn:country rdfs:label ) ; sh:minCount 5 ] ,
        [ sh:path [ sh:alternativePath ( rdfs:label skos:altLabel ) ] ; sh:maxCount 3 ] ,
        [ sh:path rdfs:label ; sh:pattern "^[a-z]" ; sh:flags "i" ] ,
        [ sh:path kzcn:sourceParagraph ; sh:minExclusive 3 ; sh:pattern "^[12]" ] ,
        [ sh:path kzcn:country ; sh:node ex:Kazakh ] .
ex:Kazakh a sh:NodeShape ; sh:hasValue country:kazakhstan .
ex:Party a sh:NodeShape ; sh:targetObjectsOf kzcn:party ;
    sh:and ( [ sh:nodeKind sh:IRI ] [ sh:path kzcn:country ; sh:minCount 1 ; sh:maxCount 1 ] ) .
ex:Event a sh:NodeShape ; sh:targetClass kzcn:Event ;
    sh:property [ sh:path schema:startDate ; sh:maxExclusive "2025-08-30"^^xsd:date ] ,
        [ sh:path [ sh:zeroOrMorePath kzcn:hostCountry ] ; sh:minLength 100 ] ,
        [ sh:path [ sh:oneOrMorePath kzcn:hostCountry ] ; sh:in ( country:kazakhstan ) ] .
ex:PartyTo a sh:PropertyShape ; sh:targetClass kzcn:Organization ;
    sh:path [ sh:inversePath kzcn:party ] ; sh:minCount 1 ; sh:class kzcn:Memorandum .
ex:Mentioned a sh:NodeShape ; sh:targetSubjectsOf kzcn:mentionText ;
    sh:property [ sh:path kzcn:mentionText ; sh:maxLength 40 ; sh:languageIn ( "kk" ) ] ;
    sh:xone ( [ sh:class kzcn:Agreement ] [ sh:class kzcn:Initiative ]
              [ sh:path kzcn:country ; sh:minCount 1 ] ) .
"""


def test_the_sparql_validator_agrees_on_other_kinds_of_shapes(checked: Checked) -> None:
    shapes = Graph().parse(data=OTHER_SHAPES, format="turtle")
    ontology, data = checked.sources.ontology, checked.sources.data
    reference = validate(ontology, data, shapes)
    scalable = validate_scalable(ontology, data, shapes)
    assert len(reference.problems) > 100
    assert_same_verdict(reference, scalable)
    with_paths = {(p.focus, p.rule, p.path) for p in scalable.problems}
    assert with_paths == {(p.focus, p.rule, p.path) for p in reference.problems}


def test_shapes_using_other_components_are_refused(checked: Checked) -> None:
    shapes = Graph() + checked.sources.shapes
    shapes.add(
        (
            URIRef("https://w3id.org/kzcn/shapes#CountryShape"),
            URIRef("http://www.w3.org/ns/shacl#closed"),
            Literal(True),
        )
    )
    with pytest.raises(UnsupportedShape, match="sh:closed"):
        validate_scalable(checked.sources.ontology, checked.sources.data, shapes)


def test_the_store_changes_exactly_the_datatypes_the_validator_expects() -> None:
    """rules.STORED_AS must follow pyoxigraph (which normalizes "7"^^xsd:int to xsd:integer):
    a pyoxigraph upgrade that changes this would make sh:datatype checks wrong."""
    samples = {name: "7" for name in ("integer", "decimal", "double", "float", "string")}
    samples |= {"date": "2025-09-02", "dateTime": "2025-09-02T10:00:00Z", "boolean": "true"}
    samples |= {"negativeInteger": "-7", "nonPositiveInteger": "-7"}
    samples |= {"dateTimeStamp": "2025-09-02T10:00:00Z"}
    samples |= {name: "7" for name in ("int", "long", "short", "byte", "positiveInteger")}
    samples |= {name: "7" for name in ("nonNegativeInteger", "unsignedInt", "unsignedLong")}
    samples |= {name: "7" for name in ("unsignedShort", "unsignedByte")}
    for name, lexical in samples.items():
        written = str(XSD[name])
        store = ox.Store()
        store.add(
            ox.Quad(
                ox.NamedNode("urn:s"),
                ox.NamedNode("urn:p"),
                ox.Literal(lexical, datatype=ox.NamedNode(written)),
            )
        )
        stored = next(iter(store)).object.datatype.value
        assert stored == STORED_AS.get(written, written), name
    assert set(STORED_AS) <= {str(XSD[name]) for name in samples}


def test_the_side_copies_are_found_in_the_written_lines(tmp_path: Path) -> None:
    """scalable.side_copies scans the parsed N-Triples for the lines to copy into a side graph
    (STORED_AS) and for blank nodes: it must find what looking at every quad finds — and not
    be fooled by the same text inside a literal."""
    xsd = str(XSD)
    lines = [
        f'<urn:a> <urn:p> "7"^^<{xsd}int> .',
        f'<urn:a> <urn:q> "7"^^<{xsd}integer> .',
        f'<urn:b> <urn:p> "2025-09-02T10:00:00Z"^^<{xsd}dateTimeStamp> .',
        f'<urn:c> <urn:p> "text with > _: and ^^<{xsd}int> . inside" .',
        f'<urn:c> <urn:p> "-3"^^<{xsd}nonPositiveInteger> .',
        '<urn:d> <urn:p> "x"@en .',
    ]
    parsed = tmp_path / "parsed.nt"
    parsed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {
        str(copy)
        for quad in ox.parse(path=parsed, format=ox.RdfFormat.N_TRIPLES)
        if (copy := rules.written_as_quad(quad)) is not None
    }
    assert len(expected) == 3
    assert {str(copy) for copy in scalable.side_copies(parsed)} == expected
    for blank in ("_:b0 <urn:p> <urn:a> .", "<urn:a> <urn:p> _:b0 ."):
        parsed.write_text("\n".join([*lines, blank]) + "\n", encoding="utf-8")
        with pytest.raises(scalable.UnsupportedInput, match="blank node"):
            scalable.side_copies(parsed)


# --------------------------------------------------------------------------- generated data


def generate_project(root: Path, triples: int = GENERATED_TRIPLES) -> Path:
    """A project of about `triples` asserted triples, written into `root` by bench/generate.py."""
    subprocess.run(
        [
            sys.executable,
            str(PACKAGE_ROOT / "bench" / "generate.py"),
            "--triples",
            str(triples),
            "--out",
            str(root),
        ],
        check=True,
        capture_output=True,
    )
    return root


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    """A ~10^4-triple project written by bench/generate.py, checked by the reference build."""
    root = generate_project(tmp_path_factory.mktemp("generated"))
    return check(Paths(root=root, build_dir=root / "build"))


@REASONERS
def test_scalable_reasoning_on_generated_data(generated: Checked, reasoner) -> None:
    sources = generated.sources
    assert len(sources.data) >= GENERATED_TRIPLES
    assert_same_graph(generated.inferred, reasoner(sources.ontology, sources.data))


def test_the_sparql_validator_on_generated_data(generated: Checked) -> None:
    sources = generated.sources
    assert_same_verdict(
        generated.validation, validate_scalable(sources.ontology, sources.data, sources.shapes)
    )


def test_the_sparql_validator_on_broken_generated_data(generated: Checked) -> None:
    """Breaks at scale: every agreement loses its status, every third organization its
    country; both validators must name the same nodes."""

    def break_many(data: Graph) -> None:
        agreements = sorted(set(data.subjects(KZCN.status, None)))
        for agreement in agreements:
            if str(agreement).startswith(str(ID["agreement/"])):
                data.remove((agreement, KZCN.status, None))
        for organization in sorted(set(data.subjects(KZCN.country, None)))[::3]:
            data.remove((organization, KZCN.country, None))

    reference, scalable = both_validations(generated, break_many)
    assert len(reference.problems) > 100
    assert_same_verdict(reference, scalable)
