"""The shortcuts shacl_sparql.py takes for speed, against the long way round they replace."""

from collections.abc import Callable

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from server.build.pipeline import Checked
from server.build.rules import DATA_GRAPH, ONTOLOGY_GRAPH, store_of
from server.build.shacl_sparql import (
    Check,
    Compiler,
    broken_by_some_focus_node,
    constraint_query,
    validate_scalable,
)
from server.build.validate import validate
from server.vocab import ID, SCHEMA

from .test_scalable import MORE_BREAKS, OTHER_SHAPES
from .test_shapes import BREAKS

ASSERTED = [ONTOLOGY_GRAPH, DATA_GRAPH]
MISSPELT = URIRef(SKOS.altLabel + "e")  # skos:altLabele


def unchanged(data: Graph) -> None:
    pass


CHANGES: list[tuple[str, Callable[[Graph], object]]] = [
    ("no change", unchanged),
    *((name, change) for name, change, *_ in BREAKS),
    *MORE_BREAKS,
]


def changed_store(checked: Checked, change: Callable[[Graph], object]) -> ox.Store:
    """The ontology and the real data, changed, in a store as validate_scalable loads them."""
    data = Graph() + checked.sources.data
    change(data)
    return store_of(checked.sources.ontology, data)[0]


def compilers(checked: Checked) -> list[Compiler]:
    """Our shapes, and shapes of other kinds (test_scalable.OTHER_SHAPES)."""
    others = Graph().parse(data=OTHER_SHAPES, format="turtle")
    return [Compiler(checked.sources.shapes), Compiler(others)]


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_one_pass_over_the_focus_nodes_agrees_with_a_query_per_constraint(
    checked: Checked, change
) -> None:
    """shacl_results skips the per-constraint queries of a shape when one query over its focus
    nodes finds none breaking any constraint: that query must be true exactly when one of
    them finds a node, for our shapes and for shapes of other kinds."""
    store = changed_store(checked, change)
    seen = set()
    for compiler in compilers(checked):
        for shape in compiler.target_shapes():
            checks = [c.check for c in compiler.constraints(shape) if c.check.candidates is None]
            if not checks:
                continue
            one_pass = broken_by_some_focus_node(store, compiler, shape, checks, ASSERTED)
            separately = any(
                list(store.query(constraint_query(compiler, shape, c), default_graph=ASSERTED))
                for c in checks
            )
            assert one_pass == separately, shape
            seen.add(one_pass)
    assert seen == {True, False}, "each data set has shapes both kept and broken"


@pytest.mark.parametrize("change", [c[1] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_constraints_checked_from_the_data_agree_with_a_test_per_focus_node(
    checked: Checked, change
) -> None:
    """Where a constraint is checked from the data (Check.candidates: its bad values), the
    focus nodes found are those its per-node test finds."""
    store = changed_store(checked, change)

    def found(compiler: Compiler, shape, check: Check) -> set:
        query = constraint_query(compiler, shape, check)
        return {row["focus"] for row in store.query(query, default_graph=ASSERTED)}

    compared = 0
    for compiler in compilers(checked):
        for shape in compiler.target_shapes():
            for constraint in compiler.constraints(shape):
                check = constraint.check
                if check.candidates is None:
                    continue
                compared += 1
                per_node = found(compiler, shape, Check(check.violation))
                assert found(compiler, shape, check) == per_node, (shape, constraint.component)
    assert compared > 20


def test_an_undeclared_term_names_its_least_user_as_the_reference_does(checked: Checked) -> None:
    """The example a vocabulary problem names is the least subject using the term, looked up
    by the store path apart from the grouping that finds it."""
    users = ["organization/zhejiang-zhonghe-technology", "organization/alt-university"]
    users += ["agreement/aitu-tus-holdings-memorandum"]
    data = Graph() + checked.sources.data
    for user in users:
        data.add((ID[user], MISSPELT, Literal("misspelt", lang="en")))
        data.add((ID[user], MISSPELT, Literal("twice", lang="en")))
        data.add((ID[user], SCHEMA.Thing, ID["country/china"]))
        data.add((ID[user], RDF.type, SCHEMA.CollegeOrUniversity))
    ontology, shapes = checked.sources.ontology, checked.sources.shapes
    reference = {str(p) for p in validate(ontology, data, shapes).problems}
    scalable = {str(p) for p in validate_scalable(ontology, data, shapes).problems}
    assert scalable == reference
    named = [p for p in scalable if "(by agreement:aitu-tus-holdings-memorandum)" in p]
    assert len(named) == 3, scalable  # the misspelt property, schema:Thing, the class
