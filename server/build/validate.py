"""Step 3 of the build: does the asserted graph keep the data contract?

Two kinds of check, both naming the node and the rule it breaks:
- integrity: every kzcn: term used in data/ is defined in the ontology, and every IRI of
  ours that data/ points to is described somewhere (no dangling links, no typos);
- SHACL: shapes/ validated by pyshacl over data + ontology (so sh:targetClass reaches
  instances of subclasses). The asserted graph is validated, not the inferred one, because
  the contract is about what editors write: e.g. kzcn:partner must never be asserted.
"""

from dataclasses import dataclass, field

import pyshacl
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from ..vocab import ID, KZCN, PREFIXES


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
        lines = [f"Does not conform: {len(self.problems)} problem(s)."]
        lines += [f"  {problem}" for problem in self.problems]
        return "\n".join(lines)


def validate(ontology: Graph, data: Graph, shapes: Graph) -> Validation:
    asserted = ontology + data
    _, report, _ = pyshacl.validate(
        asserted, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True
    )
    problems = integrity_problems(ontology, data) + shacl_problems(report, shapes)
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
                    "kzcn:UndefinedTerm",
                    "is used in data/ but not defined in ontology/",
                )
            )
        elif node.startswith(str(ID)) and node not in described:
            problems.append(
                Problem(
                    qname(node),
                    "kzcn:DanglingReference",
                    "is referred to in data/ but described nowhere",
                )
            )
    return problems


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
