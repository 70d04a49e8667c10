"""Parsing: a broken input fails with its file, its line and what the parser expected."""

from pathlib import Path

import pytest

from server.build.sources import SourceError, load_sources
from server.cli import main
from server.config import Paths

from .conftest import edit


def test_the_real_inputs_parse(checked):
    assert len(checked.sources.data) > 1000
    assert len(checked.sources.ontology) > 300
    assert len(checked.sources.shapes) > 50
    assert len(checked.sources.version) == 16


def test_syntax_error_names_file_line_and_expectation(project_copy: Paths):
    data = project_copy.data / "organizations.ttl"
    lines = data.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "inst:alt-university a" in line)
    edit(
        data,
        "inst:alt-university a kzcn:HigherEducationInstitution ;",
        "inst:alt-university a kzcn:HigherEducationInstitution ; ;;; <<",
    )
    with pytest.raises(SourceError) as caught:
        load_sources(project_copy)
    assert caught.value.path == data
    assert caught.value.line == number
    assert str(caught.value).startswith(f"{data}:{number}: ")
    assert "inst:alt-university" in caught.value.message  # the offending line is quoted


def test_unbound_prefix_is_reported_with_its_name(project_copy: Paths):
    edit(
        project_copy.data / "domains.ttl",
        "domain:agro-industry a kzcn:ResearchDomain",
        "nosuch:agro-industry a kzcn:ResearchDomain",
    )
    with pytest.raises(SourceError, match=r'domains\.ttl:\d+: Prefix "nosuch:" not bound'):
        load_sources(project_copy)


def test_invalid_utf8_is_reported_with_its_line(project_copy: Paths):
    path = project_copy.data / "extra.ttl"
    path.write_bytes(b'@prefix ex: <http://example.org/> .\n\nex:a ex:b "\xff" .\n')
    with pytest.raises(SourceError, match=r"extra\.ttl:3: not valid UTF-8"):
        load_sources(project_copy)


def test_a_folder_without_rdf_is_an_error(project_copy: Paths):
    for path in project_copy.shapes.iterdir():
        path.unlink()
    with pytest.raises(SourceError, match="shapes: no RDF files found"):
        load_sources(project_copy)


def test_cli_exits_3_and_prints_the_location(project_copy: Paths, capsys):
    edit(project_copy.data / "source.ttl", 'schema:inLanguage "kk" ;', 'schema:inLanguage "kk ;')
    code = main(["--root", str(project_copy.root), "validate"])
    assert code == 3
    assert "source.ttl:" in capsys.readouterr().err


def test_version_changes_with_any_input_byte(project_copy: Paths, checked):
    assert load_sources(project_copy).version == checked.sources.version
    path: Path = project_copy.data / "domains.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert load_sources(project_copy).version != checked.sources.version


def test_an_invalid_iri_is_an_error_on_its_line(project_copy: Paths, capfd):
    path = project_copy.data / "extra.ttl"
    path.write_text(
        "@prefix kzcn: <https://w3id.org/kzcn/ontology#> .\n\n"
        "<https://w3id.org/kzcn/id/organization/alt university> kzcn:country\n"
        "    <https://w3id.org/kzcn/id/country/kazakhstan> .\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as caught:
        load_sources(project_copy)
    assert (caught.value.path, caught.value.line) == (path, 3)
    assert caught.value.message.startswith(
        "invalid IRI <https://w3id.org/kzcn/id/organization/alt university>: "
        "Invalid IRI code point ' ' — in: <https://w3id.org/kzcn/id/organization/alt university>"
    )
    assert capfd.readouterr().err == ""  # rdflib's own warning is not printed as well


def test_an_ill_typed_literal_is_an_error_on_its_line(project_copy: Paths, capfd):
    """ "3"^^xsd:positiveInteger stands on many lines; the one written as a date is found."""
    data = project_copy.data / "organizations.ttl"
    old = 'kzcn:sourceParagraph "3"^^xsd:positiveInteger ;\n    prov:wasDerivedFrom src:baq-kz-'
    old += "2025-09-02-kz-cn-universities .\n\ninst:kazakh-national-agrarian-research-university"
    edit(data, old, old.replace("xsd:positiveInteger", "xsd:date"))
    number = (
        data.read_text(encoding="utf-8")
        .splitlines()
        .index('    kzcn:sourceParagraph "3"^^xsd:date ;')
    )
    with pytest.raises(SourceError) as caught:
        load_sources(project_copy)
    assert (caught.value.path, caught.value.line) == (data, number + 1)
    assert caught.value.message == (
        "'3' is not a valid xsd:date — in: kzcn:sourceParagraph \"3\"^^xsd:date ;"
    )
    assert "Traceback" not in capfd.readouterr().err
