"""The files the server reads instead of asking the whole graph, written by the publish step:
the search index (search_index.py), the home page's figures (home_figures.py) and the list of
things the sitemap names (`things`).

Both are computed from the sorted union lines in pure Python: ~25 s of CPU at 10^6 triples.
For a union held in a file they are therefore computed by a child process
(`python -m server.build.server_files UNION DIRECTORY`), on the other core, while the publish
step writes the dumps; a small union is done in-process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from server.build.home_figures import home_figures
from server.build.lines import LineFile, SortedLines, count_lines
from server.build.search_index import search_index
from server.release import HOME_FIGURES, SEARCH_INDEX, THINGS
from server.vocab import ID

Written = dict[str, tuple[str, int]]  # file name → (sha256, bytes)


def write_server_files(directory: Path, union: SortedLines) -> Written:
    from server.build.publish import _write  # publish imports this module

    files = {
        SEARCH_INDEX: search_index(union),
        HOME_FIGURES: home_figures(union),
        THINGS: things(union),
    }
    return {
        name: (digest.sha256, digest.size)
        for name, data in files.items()
        for digest in [_write(directory / name, data)]
    }


def things(union: Iterable[bytes]) -> bytes:
    """Each IRI under the id namespace that is the subject of a triple, once, one per line,
    in the order of the lines (sorted: a subject's lines are adjacent)."""
    prefix, found, previous = f"<{ID}".encode(), [], b""
    for line in union:
        if line.startswith(prefix):
            subject = line[1 : line.index(b"> ")]
            if subject != previous:
                found.append(subject + b"\n")
                previous = subject
    return b"".join(found)


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
        command = [sys.executable, "-m", __name__, str(union.path), str(directory)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors)
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
