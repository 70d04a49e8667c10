"""The files the server reads instead of asking the whole graph, written by the publish step:
the search index (search_index.py), the home page's figures (home_figures.py) and the list of
things the sitemap names (`things`).

All three are computed in one pass over the sorted union lines (search_index.subjects), in
pure Python: ~10 s of CPU at 10^6 triples. For a union held in a file they are computed by a
child process (`python -m server.build.server_files UNION DIRECTORY`), on the other core,
while the publish step writes the dumps; a small union is done in-process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from server.build.home_figures import FiguresFile
from server.build.lines import LineFile, SortedLines, count_lines
from server.build.search_index import IndexFile, Pieces, Values, computed, written
from server.build.written import write_file
from server.child_process import python_module, same_code
from server.release import HOME_FIGURES, SEARCH_INDEX, THINGS
from server.vocab import ID

Written = dict[str, tuple[str, int]]  # file name → (sha256, bytes)


def write_server_files(directory: Path, union: SortedLines) -> Written:
    return {
        name: (digest.sha256, digest.size)
        for name, pieces in server_file_pieces(union).items()
        for digest in [write_file(directory / name, pieces)]
    }


def server_files(union: Iterable[bytes]) -> dict[str, bytes]:
    """The server files of the union graph, from its sorted canonical N-Triples lines."""
    return {name: b"".join(pieces) for name, pieces in server_file_pieces(union).items()}


def server_file_pieces(union: Iterable[bytes]) -> dict[str, Pieces]:
    files = {SEARCH_INDEX: IndexFile(), HOME_FIGURES: FiguresFile(), THINGS: ThingsFile()}
    return dict(zip(files, written(union, *files.values()), strict=True))


def things(union: Iterable[bytes]) -> bytes:
    """Each IRI under the id namespace that is the subject of a triple, once, one per line,
    in the order of the lines (sorted: a subject's lines are adjacent)."""
    return computed(union, ThingsFile())


class ThingsFile:
    """The subjects under the id namespace (`things`)."""

    properties: frozenset[bytes] = frozenset()
    prefix = str(ID).encode()

    def __init__(self) -> None:
        self.found: list[bytes] = []

    def add(self, subject: bytes, values: Values) -> None:
        if subject.startswith(self.prefix):
            self.found.append(subject)

    def file(self) -> Pieces:
        return [b"".join(iri + b"\n" for iri in self.found)]


@contextmanager
def server_files_alongside(directory: Path, union: SortedLines) -> Iterator[dict[str, Written]]:
    """Write the server files while the block runs; the dict holds them once it has left.
    An error of the child process fails the block with the child's message."""
    found: dict[str, Written] = {}
    if not isinstance(union, LineFile):
        found["files"] = write_server_files(directory, union)
        yield found
        return
    with tempfile.TemporaryFile() as errors:
        command = python_module(__name__, str(union.path), str(directory))
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=same_code())
        try:
            yield found
        except BaseException:
            child.kill()
            child.wait()
            raise
        output, _ = child.communicate()
        if child.returncode != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"writing the server files failed: {' / '.join(message[-3:])}")
        found["files"] = {name: (sha, size) for name, (sha, size) in json.loads(output).items()}


def main(union_path: str, directory: str) -> None:
    union = LineFile(Path(union_path), count_lines(Path(union_path)))
    json.dump(write_server_files(Path(directory), union), sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:])
