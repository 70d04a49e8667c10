"""The files of the whole dataset — dataset.trig and dataset.nq, all four named graphs — and the
VoID statistics of the union, worked out ahead of the metadata graph.

Both files hold the metadata graph, which is known last (it records the union dumps' digests
and the statistics), but it is a few hundred lines against millions, and both files go graph
by graph with it last. So the content graphs are written at once and the metadata graph is
appended when it comes (`DatasetDumps.finish`). For lines in files this is done by a child
process (`python -m server.build.dataset_dumps DIRECTORY UNION NAME=LINES...`, each file as
PATH:COUNT) on the other core while the union dumps are written: it prints the statistics as
a JSON line first, then reads the metadata graph's lines from its stdin up to EOF, and prints
the files' digests. Before, all of this ran after the metadata, on one core while the other
idled: ~11 s at 10^6 triples. Small releases are written in-process, in the same order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Protocol

from rdflib import URIRef

from server.build.formats import nquads, trig, trig_graph
from server.build.lines import LineFile, LineList, SortedLines
from server.build.metadata import UnionStats
from server.build.written import Digest, HashedFile
from server.child_process import python_module, same_code
from server.release import NQUADS, TRIG

METADATA = "metadata"


class DatasetDumps(Protocol):
    def stats(self) -> UnionStats:
        """The union's statistics (waits for them)."""
        ...

    def finish(self, metadata: SortedLines) -> dict[str, Digest]:
        """Add the metadata graph; the digests of the files, once written and synced."""
        ...


@contextmanager
def dataset_dumps_alongside(
    directory: Path, union: SortedLines, content: Mapping[str, SortedLines]
) -> Iterator[DatasetDumps]:
    """The dataset's files, written ahead while the block runs (`finish` them in it). An
    error of the child process fails `stats` or `finish` with the child's message."""
    files = [union, *content.values()]
    if not all(isinstance(lines, LineFile) for lines in files):
        yield InProcess(directory, union, content)
        return
    specs = [_spec(union)] + [f"{name}={_spec(lines)}" for name, lines in content.items()]
    command = python_module(__name__, str(directory), *specs)
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, env=same_code()
        )
        try:
            yield Child(child, errors)
        finally:
            if child.poll() is None:  # the block failed, or never finished
                child.kill()
            child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None and not pipe.closed:
                    pipe.close()


class InProcess:
    def __init__(
        self, directory: Path, union: SortedLines, content: Mapping[str, SortedLines]
    ) -> None:
        self.directory, self.union = directory, union
        self.content = dict(content)  # as it is now: the caller's may grow a metadata graph

    def stats(self) -> UnionStats:
        return UnionStats.count(self.union, {name: len(g) for name, g in self.content.items()})

    def finish(self, metadata: SortedLines) -> dict[str, Digest]:
        ahead = AheadOfMetadata(self.directory, self.content)
        return ahead.finish(metadata)


class Child:
    def __init__(self, process: subprocess.Popen[bytes], errors: IO[bytes]) -> None:
        self.process, self.errors = process, errors
        assert process.stdin is not None and process.stdout is not None
        self.input, self.output = process.stdin, process.stdout

    def stats(self) -> UnionStats:
        line = self.output.readline()
        if not line:
            raise self.failure()
        return stats_from_json(json.loads(line))

    def finish(self, metadata: SortedLines) -> dict[str, Digest]:
        try:
            for block in metadata.blocks():
                self.input.write(block)
            self.input.close()
        except BrokenPipeError:
            pass  # the child has ended: its message follows
        output = self.output.read()
        if self.process.wait() != 0 or not output:
            raise self.failure()
        return {name: Digest(**digest) for name, digest in json.loads(output).items()}

    def failure(self) -> RuntimeError:
        self.process.wait()
        self.errors.seek(0)
        message = self.errors.read().decode("utf-8", "replace").strip().splitlines()
        return RuntimeError(f"writing the dataset's files failed: {' / '.join(message[-3:])}")


class AheadOfMetadata:
    """Writes the content graphs' part of both files at once (on construction)."""

    def __init__(self, directory: Path, content: Mapping[str, SortedLines]) -> None:
        with ExitStack() as opened:  # closed on an error only
            self.trig = opened.enter_context(HashedFile(directory / TRIG))
            self.nquads = opened.enter_context(HashedFile(directory / NQUADS))
            self.trig.write(trig(content))
            self.nquads.write(nquads(content))
            opened.pop_all()

    def finish(self, metadata: SortedLines) -> dict[str, Digest]:
        with self.trig, self.nquads:
            self.trig.write(trig_graph(METADATA, metadata))
            self.nquads.write(nquads({METADATA: metadata}))
            return {TRIG: self.trig.close(), NQUADS: self.nquads.close()}


# --------------------------------------------------------------------------- the child


def _spec(lines: SortedLines) -> str:
    assert isinstance(lines, LineFile)
    return f"{lines.path}:{lines.count}"


def _line_file(spec: str) -> LineFile:
    path, _, count = spec.rpartition(":")
    return LineFile(Path(path), int(count))


def stats_to_json(stats: UnionStats) -> dict:
    return asdict(stats)  # URIRef keys are str


def stats_from_json(found: dict) -> UnionStats:
    iris = {
        key: {URIRef(iri): n for iri, n in found[key].items()}
        for key in ("class_entities", "property_triples")
    }
    return UnionStats(**(found | iris))


def main(directory: str, union_spec: str, *graph_specs: str) -> None:
    union = _line_file(union_spec)
    content = {name: _line_file(spec) for name, _, spec in (g.partition("=") for g in graph_specs)}
    counted = InProcess(Path(directory), union, content).stats()
    print(json.dumps(stats_to_json(counted)), flush=True)
    ahead = AheadOfMetadata(Path(directory), content)
    metadata = LineList(sys.stdin.buffer.read().splitlines(keepends=True))
    digests = ahead.finish(metadata)
    print(json.dumps({name: asdict(digest) for name, digest in digests.items()}))


if __name__ == "__main__":
    main(*sys.argv[1:])
