"""Step 3 of the build: does the asserted graph keep the data contract?

Two kinds of check, both naming the node and the rule it breaks:
- integrity: every kzcn: term used in data/ is defined in the ontology, and every IRI of
  ours that data/ points to is described somewhere (no dangling links, no typos); the
  vocabulary is closed: every class and property data/ uses is declared (by the ontology, or
  for other vocabularies by shapes/vocabulary.ttl), and an owl:ObjectProperty takes an IRI,
  an owl:DatatypeProperty a literal;
- SHACL: shapes/ validated by pyshacl over data + ontology (so sh:targetClass reaches
  instances of subclasses). The asserted graph is validated, not the inferred one, because
  the contract is about what editors write: e.g. kzcn:partner must never be asserted.

One mistake often breaks several rules: a misspelt IRI is dangling, and every shape wanting
a thing of its class there fails too; a label that lost its @en is untagged, and its node has
no English label. The report (Validation.text) therefore shows the problems to fix first and
holds back those that may follow from them, saying how many: see first_to_fix.
"""

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pyshacl
from pyshacl.errors import ReportableRuntimeError
from rdflib import OWL, RDF, RDFS, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from ..vocab import ID, KZCN, PREFIXES

UNDEFINED_TERM = "kzcn:UndefinedTerm"
DANGLING_REFERENCE = "kzcn:DanglingReference"
UNDECLARED_CLASS = "kzcn:UndeclaredClass"
UNDECLARED_PROPERTY = "kzcn:UndeclaredProperty"
LITERAL_FOR_OBJECT_PROPERTY = "kzcn:LiteralForObjectProperty"
RESOURCE_FOR_DATATYPE_PROPERTY = "kzcn:ResourceForDatatypeProperty"
# Checks on names and kinds of terms: while one fails, shape results are held back, since a
# term that is not what it should be makes the shapes about it fail for no reason of theirs.
INTEGRITY_RULES = frozenset(
    {
        UNDEFINED_TERM,
        DANGLING_REFERENCE,
        UNDECLARED_CLASS,
        UNDECLARED_PROPERTY,
        LITERAL_FOR_OBJECT_PROPERTY,
        RESOURCE_FOR_DATATYPE_PROPERTY,
    }
)
# Shape results on one node and path, in the order to fix them: a value of the wrong kind,
# then a value out of range, then whatever counts values (a label without its tag is also a
# missing English label) or combines shapes.
KIND_COMPONENTS = frozenset(
    f"sh:{name}ConstraintComponent" for name in ("Datatype", "NodeKind", "Class")
)
VALUE_COMPONENTS = frozenset(
    f"sh:{name}ConstraintComponent"
    for name in (
        "In",
        "LanguageIn",
        "MinInclusive",
        "MaxInclusive",
        "MinExclusive",
        "MaxExclusive",
        "MinLength",
        "MaxLength",
        "Pattern",
    )
)
CLASS_TYPES = (OWL.Class, RDFS.Class)
PROPERTY_TYPES = (RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


@dataclass(frozen=True)
class Problem:
    focus: str
    rule: str
    message: str
    path: str = ""
    severity: str = "Violation"

    def __str__(self) -> str:
        path = f" {self.path}:" if self.path else ""
        return f"{self.severity}: {self.focus}{path} {self.message} [{self.rule}]"

    @property
    def component(self) -> str:
        """The SHACL constraint component of a shape result (the rule's last word)."""
        return self.rule.rsplit(" ", 1)[-1]

    @property
    def stage(self) -> int:
        """When to report it: integrity first, then broken values by kind, then the rest."""
        if self.rule in INTEGRITY_RULES:
            return 0
        if self.component in KIND_COMPONENTS:
            return 1
        return 2 if self.component in VALUE_COMPONENTS else 3


@dataclass
class Validation:
    report: Graph
    problems: list[Problem] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return not self.problems

    def text(self) -> str:
        if self.conforms:
            return "Conforms: every shape and integrity check passes."
        shown = first_to_fix(self.problems)
        held = len(self.problems) - len(shown)
        header = f"Does not conform: {len(shown)} problem(s)"
        if held:
            header += f" ({held} more may follow from these: they are listed once these are fixed)"
        return "\n".join([header + "."] + [f"  {problem}" for problem in shown])


def place(problem: Problem) -> tuple[str, str]:
    """Where a problem is: its node and path."""
    return problem.focus, problem.path


def first_to_fix(problems: list[Problem]) -> list[Problem]:
    """The problems that follow from no other: integrity problems if there are any, else each
    shape result unless its node and path have one of an earlier stage. What is held back is
    not lost: the build fails all the same, and it is listed once the first ones are fixed."""
    integrity = [problem for problem in problems if problem.stage == 0]
    if integrity:
        return integrity
    earliest: dict[tuple[str, str], int] = {}
    for problem in problems:
        earliest[place(problem)] = min(earliest.get(place(problem), 3), problem.stage)
    return [problem for problem in problems if problem.stage == earliest[place(problem)]]


def validate(ontology: Graph, data: Graph, shapes: Graph) -> Validation:
    asserted = ontology + data
    try:
        with silenced("pyshacl-validate"):  # it logs to stderr what it raises, reported below
            _, report, _ = pyshacl.validate(
                asserted, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
            )
    except ReportableRuntimeError as error:  # a shape pyshacl cannot load, e.g. sh:minCount "1"
        from .sources import SourceError  # here, not above: sources.py imports this module

        reason = str(error.message).splitlines()[0]
        raise SourceError(Path("shapes"), None, f"a shape cannot be used: {reason}") from error
    problems = (
        integrity_problems(ontology, data)
        + vocabulary_problems(ontology, data, shapes)
        + shacl_problems(report, shapes)
    )
    return Validation(report=report, problems=sorted(problems, key=str))


def integrity_problems(ontology: Graph, data: Graph) -> list[Problem]:
    defined = set(ontology.subjects())
    described = set(data.subjects()) | defined
    problems = []
    for node in sorted(used_nodes(data)):
        if node.startswith(str(KZCN)) and node not in defined:
            problems.append(
                Problem(
                    qname(node),
                    UNDEFINED_TERM,
                    "is used in data/ but not defined in ontology/",
                )
            )
        elif node.startswith(str(ID)) and node not in described:
            problems.append(
                Problem(
                    qname(node),
                    DANGLING_REFERENCE,
                    "is referred to in data/ but described nowhere",
                )
            )
    return problems


def vocabulary_problems(ontology: Graph, data: Graph, vocabulary: Graph) -> list[Problem]:
    """data/ uses as a class only a declared class and as a property only a declared
    property: kzcn: terms by the ontology, others by the vocabulary that shapes/ declares. A
    kzcn: term the ontology does not define at all is already an UndefinedTerm; a vocabulary
    that declares nothing leaves other vocabularies open (only kzcn: terms are checked)."""
    declared = ontology + vocabulary
    closed = bool(instances(vocabulary, CLASS_TYPES + PROPERTY_TYPES))
    defined = set(ontology.subjects())

    def checked(term: Node) -> bool:
        return term in defined if str(term).startswith(str(KZCN)) else closed

    classes, properties = instances(declared, CLASS_TYPES), instances(declared, PROPERTY_TYPES)
    problems = [
        undeclared(term, "class", UNDECLARED_CLASS, data.subjects(RDF.type, term))
        for term in sorted(set(data.objects(None, RDF.type)), key=str)
        if checked(term) and term not in classes
    ]
    problems += [
        undeclared(term, "property", UNDECLARED_PROPERTY, data.subjects(term, None))
        for term in sorted(set(data.predicates()), key=str)
        if checked(term) and term not in properties
    ]
    return problems + value_kind_problems(ontology, data)


def undeclared(term: Node, kind: str, rule: str, users: Iterable[Node]) -> Problem:
    example = qname(min(users, key=str))  # one node that uses it: where to look
    return Problem(
        qname(term),
        rule,
        f"is used as a {kind} (by {example}) but declared as one neither in ontology/ "
        "nor in shapes/vocabulary.ttl",
    )


def value_kind_problems(ontology: Graph, data: Graph) -> list[Problem]:
    """An owl:ObjectProperty of the ontology takes an IRI, an owl:DatatypeProperty a literal."""
    problems = []
    for predicate, wants_literal in [
        *((p, False) for p in ontology.subjects(RDF.type, OWL.ObjectProperty)),
        *((p, True) for p in ontology.subjects(RDF.type, OWL.DatatypeProperty)),
    ]:
        for subject, value in data.subject_objects(predicate):
            if isinstance(value, Literal) == wants_literal:
                continue
            if wants_literal:
                rule, wants = RESOURCE_FOR_DATATYPE_PROPERTY, "a literal (an owl:DatatypeProperty)"
            else:
                rule, wants = LITERAL_FOR_OBJECT_PROPERTY, "an IRI (an owl:ObjectProperty)"
            given = qname(value) if wants_literal else f"the literal {qname(value)}"
            problems.append(
                Problem(qname(subject), rule, f"takes {wants}, not {given}", qname(predicate))
            )
    return problems


def instances(graph: Graph, types: Iterable[Node]) -> set[Node]:
    return {node for type_ in types for node in graph.subjects(RDF.type, type_)}


def used_nodes(graph: Graph) -> set[URIRef]:
    nodes: set[URIRef] = set()
    for _, predicate, obj in graph:
        nodes.add(predicate)  # type: ignore[arg-type]
        if isinstance(obj, URIRef):
            nodes.add(obj)
    return nodes


def shacl_problems(report: Graph, shapes: Graph) -> list[Problem]:
    problems = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        shape = named_shape(shapes, report.value(result, SH.sourceShape))
        component = qname(report.value(result, SH.sourceConstraintComponent))
        problems.append(
            Problem(
                focus=qname(report.value(result, SH.focusNode)),
                rule=f"{shape} {component}",
                message=str(report.value(result, SH.resultMessage) or ""),
                path=path_text(report, report.value(result, SH.resultPath)),
                severity=qname(report.value(result, SH.resultSeverity)).removeprefix("sh:"),
            )
        )
    return problems


def path_text(report: Graph, path: Node | None) -> str:
    """A property path as SPARQL writes it; pyshacl copies complex paths into the report."""
    inverse = report.value(path, SH.inversePath) if path is not None else None
    return f"^{qname(inverse)}" if inverse is not None else qname(path)


def named_shape(shapes: Graph, shape: Node | None) -> str:
    """Anonymous property shapes are reported by the named shape that holds them."""
    if shape is not None and not isinstance(shape, URIRef):
        shape = shapes.value(predicate=SH.property, object=shape) or shape
    return qname(shape)


@contextmanager
def silenced(logger: str) -> Iterator[None]:
    """Mute a library's logger while it runs: what it would log, the build reports itself."""
    log = logging.getLogger(logger)
    previous, log.disabled = log.disabled, True
    try:
        yield
    finally:
        log.disabled = previous


def qname(node: Node | None) -> str:
    """A short, readable name: a prefixed name where we have a prefix, else the IRI."""
    if node is None:
        return ""
    if isinstance(node, Literal):
        return repr(str(node))
    text = str(node)
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda item: -len(item[1])):
        if text.startswith(namespace):
            return f"{prefix}:{text[len(namespace) :]}"
    return f"<{text}>" if isinstance(node, URIRef) else f"_:{text}"
