"""The whole build, step by step: parse → reason → validate → publish.

Each step is its own module; this one only runs them in order, times them, and stops at the
first step that fails, so a broken input never reaches build/ (the previous release stays).

Two engines run the same steps and publish the same files: "reference" (rdflib, owlrl,
pyshacl; every triple a Python object, fine up to ~10^5 triples) and "scalable" (scalable.py:
an Oxigraph store, OWL RL and SHACL as SPARQL, sorted files; 10^7 triples). The reference is
the default, and the yardstick the scalable engine is tested against.
"""

import datetime as dt
import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

from rdflib import Graph

from ..config import Paths
from ..examples import RELEASE_FOLDER, load_examples
from . import scalable
from .publish import publish
from .reason import infer
from .scalable import StoreChecked
from .sources import Sources, load_sources
from .validate import Validation, validate

T = TypeVar("T")
log = logging.getLogger(__name__)
Engine = Literal["reference", "scalable"]
ENGINES: tuple[Engine, ...] = ("reference", "scalable")


class UnknownEngine(ValueError):
    """$KZCN_ENGINE names no engine."""


class ValidationFailed(Exception):
    def __init__(self, validation: Validation) -> None:
        self.validation = validation
        super().__init__(validation.text())


@dataclass
class Checked:
    """The outcome of parse → reason → validate by the reference engine, before anything is
    written."""

    sources: Sources
    inferred: Graph
    validation: Validation
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.sources.version

    @property
    def asserted_triples(self) -> int:
        return len(self.sources.data)

    @property
    def inferred_triples(self) -> int:
        return len(self.inferred)


@dataclass
class Built:
    checked: Checked | StoreChecked
    release: Path


def default_engine() -> Engine:
    """$KZCN_ENGINE if set, else the reference engine."""
    engine = os.environ.get("KZCN_ENGINE") or "reference"
    if engine not in ENGINES:
        raise UnknownEngine(f"KZCN_ENGINE={engine!r}: expected one of {', '.join(ENGINES)}")
    return engine  # type: ignore[return-value]


def check(paths: Paths, engine: Engine = "reference") -> Checked | StoreChecked:
    if engine == "scalable":
        return scalable.check(paths, timed)
    seconds: dict[str, float] = {}
    sources = timed(seconds, "parse", lambda: load_sources(paths))
    inferred = timed(seconds, "reason", lambda: infer(sources.ontology, sources.data))
    validation = timed(
        seconds, "validate", lambda: validate(sources.ontology, sources.data, sources.shapes)
    )
    return Checked(sources, inferred, validation, seconds)


def build(paths: Paths, engine: Engine = "reference") -> Built:
    """Check the inputs and, only if they conform, publish a new release atomically."""
    examples = {
        f"{RELEASE_FOLDER}/{example.name}.rq": example.text.encode("utf-8")
        for example in load_examples(paths.queries)
    }
    created = build_date(paths.root)
    if engine == "scalable":
        checked, release = scalable.build(paths, created, examples, timed, require_conformance)
        return Built(checked, release)
    reference = check(paths)
    assert isinstance(reference, Checked)
    require_conformance(reference.validation)
    graphs = {
        "ontology": reference.sources.ontology,
        "data": reference.sources.data,
        "inferred": reference.inferred,
    }
    release = timed(
        reference.seconds,
        "publish",
        lambda: publish(
            paths.build_dir,
            graphs,
            reference.validation.report,
            reference.version,
            created,
            examples,
        ),
    )
    return Built(reference, release)


def require_conformance(validation: Validation) -> None:
    if not validation.conforms:
        raise ValidationFailed(validation)


def timed(seconds: dict[str, float], step: str, run: Callable[[], T]) -> T:
    start, cpu = time.perf_counter(), time.process_time()
    result = run()
    seconds[step] = time.perf_counter() - start
    # Progress of a long build before its summary; CPU time tells a busy machine apart.
    log.info("%s: %.2f s (CPU %.2f s)", step, seconds[step], time.process_time() - cpu)
    return result


def build_date(root: Path) -> dt.date:
    """The date a release is stamped with, reproducible so that rebuilds are byte-identical:
    SOURCE_DATE_EPOCH if set (the reproducible-builds convention), else the date of the last
    commit, else today."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%cs"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return dt.date.fromisoformat(out)
    except (OSError, ValueError, subprocess.SubprocessError):
        return dt.datetime.now(dt.UTC).date()
