"""The whole build, step by step: parse → reason → validate → publish.

Each step is its own module; this one only runs them in order, times them, and stops at the
first step that fails, so a broken input never reaches build/ (the previous release stays).
"""

import datetime as dt
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rdflib import Graph

from ..config import Paths
from ..examples import RELEASE_FOLDER, load_examples
from .publish import publish
from .reason import infer
from .sources import Sources, load_sources
from .validate import Validation, validate

T = TypeVar("T")


class ValidationFailed(Exception):
    def __init__(self, validation: Validation) -> None:
        self.validation = validation
        super().__init__(validation.text())


@dataclass
class Checked:
    """The outcome of parse → reason → validate, before anything is written."""

    sources: Sources
    inferred: Graph
    validation: Validation
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class Built:
    checked: Checked
    release: Path


def check(paths: Paths) -> Checked:
    seconds: dict[str, float] = {}
    sources = timed(seconds, "parse", lambda: load_sources(paths))
    inferred = timed(seconds, "reason", lambda: infer(sources.ontology, sources.data))
    validation = timed(
        seconds, "validate", lambda: validate(sources.ontology, sources.data, sources.shapes)
    )
    return Checked(sources, inferred, validation, seconds)


def build(paths: Paths) -> Built:
    """Check the inputs and, only if they conform, publish a new release atomically."""
    checked = check(paths)
    if not checked.validation.conforms:
        raise ValidationFailed(checked.validation)
    examples = {
        f"{RELEASE_FOLDER}/{example.name}.rq": example.text.encode("utf-8")
        for example in load_examples(paths.queries)
    }
    graphs = {
        "ontology": checked.sources.ontology,
        "data": checked.sources.data,
        "inferred": checked.inferred,
    }
    release = timed(
        checked.seconds,
        "publish",
        lambda: publish(
            paths.build_dir,
            graphs,
            checked.validation.report,
            checked.sources.version,
            build_date(paths.root),
            examples,
        ),
    )
    return Built(checked, release)


def timed(seconds: dict[str, float], step: str, run: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = run()
    seconds[step] = time.perf_counter() - start
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
