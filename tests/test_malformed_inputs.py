"""Issue #6: a malformed input, given to the real `kzcn-kg build` after one good build, gives
exactly one clear error — the file and line when it does not parse, the node and the rule when
it breaks the contract — the documented exit code, and leaves the previous release in place,
byte for byte."""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.config import Paths

from .conftest import edit

NOT_CONFORMING, UNREADABLE = 1, 3  # exit codes, as server/cli.py documents them
KZCN_KG = Path(sys.executable).parent / "kzcn-kg"  # the console script of this environment

ZJUT = "inst:zhejiang-university-of-technology"
ZJUT_TYPE = f"{ZJUT} a kzcn:HigherEducationInstitution ;"
ZJUT_EN = (
    'rdfs:label "Чжэцзян технологиялық университеті"@kk , "Zhejiang University of Technology"@en ,'
)
ZJUT_COUNTRY = 'kzcn:country country:china ;\n    kzcn:mentionText "Чжэцзян технологиялық'
ZJUT_PARAGRAPH = (
    '"3"^^xsd:positiveInteger ;\n    prov:wasDerivedFrom src:baq-kz-2025-09-02-kz-cn-universities'
    " .\n\ninst:zhejiang-zhonghe-technology"
)
KAZNARU_COUNTRY = 'kzcn:country country:kazakhstan ;\n    kzcn:mentionText "Қазақ ұлттық аграрлық'
ALLIANCE = "agreement:spatio-temporal-ai-alliance-and-belt-and-road-laboratory"
EXTRA_PREFIXES = (
    "@prefix kzcn: <https://w3id.org/kzcn/ontology#> .\n"
    "@prefix agreement: <https://w3id.org/kzcn/id/agreement/> .\n"
    "@prefix inst: <https://w3id.org/kzcn/id/organization/> .\n\n"
)


def change(
    file: str, old: str, new: str, marker: str = ""
) -> Callable[[Paths], tuple[Path, int | None]]:
    """Replace `old` by `new` in one input file; a parse error must point at `marker`'s line."""

    def apply(paths: Paths) -> tuple[Path, int | None]:
        path = paths.root / file
        edit(path, old, new)
        return path, line_of(path.read_text(encoding="utf-8"), marker) if marker else None

    return apply


def new_file(content: bytes, marker: bytes) -> Callable[[Paths], tuple[Path, int]]:
    """Add data/extra.ttl with these bytes; the error must point at `marker`'s line."""

    def apply(paths: Paths) -> tuple[Path, int]:
        path = paths.data / "extra.ttl"
        path.write_bytes(content)
        return path, content[: content.index(marker)].count(b"\n") + 1

    return apply


def line_of(text: str, marker: str) -> int:
    assert text.count(marker) == 1, f"{marker!r} occurs {text.count(marker)} times"
    return text[: text.index(marker)].count("\n") + 1


@dataclass(frozen=True)
class Unparsable:
    """Fails to parse: `error: FILE:LINE: message — in: the line`, exit 3."""

    name: str
    apply: Callable[[Paths], tuple[Path, int | None]]
    says: str


@dataclass(frozen=True)
class Breaking:
    """Parses but breaks the contract: one problem naming the node and the rule, exit 1."""

    name: str
    apply: Callable[[Paths], object]
    problem: str  # the start of the problem line: severity, node, path, message
    rule: str


ORGS = "data/organizations.ttl"
UNPARSABLE = [
    Unparsable(
        "broken Turtle: two objects without a comma",
        change(ORGS, ZJUT_COUNTRY, ZJUT_COUNTRY.replace("china", "china country:china"), "china c"),
        "expected '.' or '}' or ']' at end of statement — in: kzcn:country country:china country",
    ),
    Unparsable(
        "undeclared prefix",
        change(ORGS, ZJUT_TYPE, ZJUT_TYPE.replace("inst:", "unis:"), "unis:"),
        'Prefix "unis:" not bound — in: unis:zhejiang-university-of-technology a',
    ),
    Unparsable(
        "invalid IRI",
        change(
            "data/agreements.ttl",
            "inst:zhejiang-university-of-technology , inst:zhejiang-zhonghe-technology ;",
            "<https://w3id.org/kzcn/id/organization/zhejiang university> ,"
            " inst:zhejiang-zhonghe-technology ;",
            "zhejiang university>",
        ),
        "invalid IRI <https://w3id.org/kzcn/id/organization/zhejiang university>: "
        "Invalid IRI code point ' '",
    ),
    Unparsable(
        "malformed language tag",
        change(ORGS, ZJUT_EN, ZJUT_EN.replace("@en", "@en_US"), "@en_US"),
        '— in: rdfs:label "Чжэцзян технологиялық университеті"@kk , "Zhejiang University of '
        'Technology"@en_US',
    ),
    Unparsable(
        "a literal not of its datatype",
        change(ORGS, ZJUT_PARAGRAPH, ZJUT_PARAGRAPH.replace('"3"', '"three"'), '"three"'),
        "'three' is not a valid xsd:positiveInteger — in: kzcn:sourceParagraph "
        '"three"^^xsd:positiveInteger',
    ),
    Unparsable(
        "a date that is not one",
        change(
            "data/source.ttl",
            'schema:datePublished "2025-09-02"^^xsd:date',
            'schema:datePublished "2 September 2025"^^xsd:date',
            '"2 September 2025"^^',
        ),
        "'2 September 2025' is not a valid xsd:date",
    ),
    Unparsable(
        "a file that is not UTF-8",
        new_file(
            (EXTRA_PREFIXES + f'{ZJUT} kzcn:mentionText "Чжэцзян"@kk .\n').encode("cp1251"),
            "Чжэцзян".encode("cp1251"),
        ),
        "not valid UTF-8",
    ),
]

BREAKING = [
    Breaking(
        "label without a language tag",
        change(ORGS, ZJUT_EN, ZJUT_EN.replace("@en", ""), ZJUT_EN.replace("@en", "")),
        f"Violation: {ZJUT} rdfs:label: Every rdfs:label carries a language tag",
        "kzsh:LanguageTaggedShape sh:DatatypeConstraintComponent",
    ),
    Breaking(
        "label tagged kz, the country, not kk, the language",
        change(ORGS, ZJUT_EN, ZJUT_EN + ' "Чжэцзян"@kz ,', "@kz"),
        f"Violation: {ZJUT} rdfs:label: Every rdfs:label carries a language tag: kk, en, ru",
        "kzsh:LanguageTaggedShape sh:LanguageInConstraintComponent",
    ),
    Breaking(
        "wrong datatype",
        change(ORGS, ZJUT_PARAGRAPH, ZJUT_PARAGRAPH.replace("positiveInteger", "string")),
        f"Violation: {ZJUT} kzcn:sourceParagraph: kzcn:sourceParagraph must be an "
        "xsd:positiveInteger",
        "kzsh:SourcedShape sh:DatatypeConstraintComponent",
    ),
    Breaking(
        "unknown class of ours (a typo)",
        change(ORGS, ZJUT_TYPE, ZJUT_TYPE.replace("Institution", "Institutoin")),
        "Violation: kzcn:HigherEducationInstitutoin is used in data/ but not defined in ontology/",
        "kzcn:UndefinedTerm",
    ),
    Breaking(
        "class of another vocabulary nobody declared",
        change(ORGS, ZJUT_TYPE, ZJUT_TYPE[:-1] + ", <https://schema.org/CollegeOrUniversity> ;"),
        "Violation: schema:CollegeOrUniversity is used as a class (by "
        f"{ZJUT}) but declared as one neither in ontology/ nor in shapes/vocabulary.ttl",
        "kzcn:UndeclaredClass",
    ),
    Breaking(
        "a property of ours used as a class",
        change(ORGS, ZJUT_TYPE, ZJUT_TYPE[:-1] + ", kzcn:country ;"),
        f"Violation: kzcn:country is used as a class (by {ZJUT}) but declared as one neither",
        "kzcn:UndeclaredClass",
    ),
    Breaking(
        "misspelt property of another vocabulary",
        change(ORGS, 'skos:altLabel "ZJUT"@en', 'skos:altLable "ZJUT"@en'),
        f"Violation: skos:altLable is used as a property (by {ZJUT}) but declared as one neither",
        "kzcn:UndeclaredProperty",
    ),
    Breaking(
        "dangling IRI: a misspelt country of the only Kazakh party of agreements",
        change(ORGS, KAZNARU_COUNTRY, KAZNARU_COUNTRY.replace("kazakhstan", "kazakstan")),
        "Violation: country:kazakstan is referred to in data/ but described nowhere",
        "kzcn:DanglingReference",
    ),
    Breaking(
        "dangling IRI: a misspelt party",
        change(
            "data/agreements.ttl",
            "inst:zhejiang-university-of-technology , inst:zhejiang-zhonghe-technology ;",
            "inst:zhejiang-university-of-technolgy , inst:zhejiang-zhonghe-technology ;",
        ),
        "Violation: inst:zhejiang-university-of-technolgy is referred to in data/ but described",
        "kzcn:DanglingReference",
    ),
    Breaking(
        "a literal where an IRI belongs",
        change(ORGS, ZJUT_COUNTRY, ZJUT_COUNTRY.replace("country:china", '"china"')),
        f"Violation: {ZJUT} kzcn:country: takes an IRI (an owl:ObjectProperty), "
        "not the literal 'china'",
        "kzcn:LiteralForObjectProperty",
    ),
    Breaking(
        "an IRI where a literal belongs",
        change(
            ORGS,
            ZJUT_PARAGRAPH,
            ZJUT_PARAGRAPH.replace('"3"^^xsd:positiveInteger', "country:china"),
        ),
        f"Violation: {ZJUT} kzcn:sourceParagraph: takes a literal (an owl:DatatypeProperty), "
        "not country:china",
        "kzcn:ResourceForDatatypeProperty",
    ),
    Breaking(
        "duplicate conflicting value, in another file",
        new_file(
            (EXTRA_PREFIXES + f"{ALLIANCE} kzcn:status kzcn:Planned .\n").encode(), b"kzcn:status"
        ),
        f"Violation: {ALLIANCE} kzcn:status: An agreement needs exactly one status",
        "kzsh:AgreementShape sh:MaxCountConstraintComponent",
    ),
]


# --------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def good_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One good release, built by the CLI from a copy of the project; each case gets a copy."""
    from server.config import PACKAGE_ROOT

    root = tmp_path_factory.mktemp("good")
    for folder in ("ontology", "data", "shapes", "queries"):
        shutil.copytree(PACKAGE_ROOT / folder, root / folder)
    run = build(Paths(root=root, build_dir=root / "build"))
    assert run.returncode == 0, run.stderr
    return root / "build"


def build(paths: Paths) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KZCN_ROOT": str(paths.root),
        "KZCN_BUILD_DIR": str(paths.build_dir),
        "SOURCE_DATE_EPOCH": "1756771200",
    }
    return subprocess.run(
        [str(KZCN_KG), "build"], env=env, capture_output=True, text=True, timeout=300
    )


def snapshot(build_dir: Path) -> tuple[str, dict[str, str]]:
    """Where `current` points, and the sha256 of every file under the build folder."""
    files = {
        str(path.relative_to(build_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(build_dir.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
    return os.readlink(build_dir / "current"), files


@pytest.fixture
def after_good_build(project_copy: Paths, good_build: Path) -> Paths:
    shutil.copytree(good_build, project_copy.build_dir, symlinks=True)
    return project_copy


def failing_build(paths: Paths, code: int) -> str:
    """Build, expecting failure with `code`: the previous release untouched; the error text."""
    before = snapshot(paths.build_dir)
    run = build(paths)
    assert run.returncode == code, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout == ""
    assert snapshot(paths.build_dir) == before
    return run.stderr


# --------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("case", UNPARSABLE, ids=[case.name for case in UNPARSABLE])
def test_an_unparsable_input_names_its_file_and_line(after_good_build: Paths, case: Unparsable):
    path, line = case.apply(after_good_build)
    lines = failing_build(after_good_build, UNREADABLE).splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {path}:{line}: "), lines[0]
    assert case.says in lines[0]


@pytest.mark.parametrize("case", BREAKING, ids=[case.name for case in BREAKING])
def test_a_broken_rule_is_one_problem_naming_node_and_rule(after_good_build: Paths, case: Breaking):
    case.apply(after_good_build)
    header, *problems = failing_build(after_good_build, NOT_CONFORMING).splitlines()
    assert re.match(r"Does not conform: 1 problem\(s\)", header), header
    assert len(problems) == 1, problems
    assert problems[0].strip().startswith(case.problem), problems[0]
    assert problems[0].endswith(f"[{case.rule}]"), problems[0]


def test_a_shape_that_cannot_be_used_is_one_error(after_good_build: Paths):
    """Not the data's fault: the contract itself is broken, so no problem is reported about
    the data, only the shape, as an input that cannot be read."""
    shapes = after_good_build.shapes / "kzcn-shapes.ttl"
    with shapes.open("a", encoding="utf-8") as file:
        file.write("\nkzsh:BrokenShape a sh:NodeShape ; sh:targetClass kzcn:Country ;\n")
        file.write('    sh:property [ sh:path kzcn:country ; sh:minCount "one" ] .\n')
    lines = failing_build(after_good_build, UNREADABLE).splitlines()
    assert lines == [
        "error: shapes: a shape cannot be used: MinCountConstraintComponent sh:minCount must "
        "be a literal with datatype xsd:integer."
    ]
