"""Sorted lines, in memory when few and on disk when many: what the release is written from.

Every file of a release is written from sorted canonical N-Triples lines per graph (see
publish.py). At 10^7 triples those lines are gigabytes, so they can live in a file, sorted by
GNU sort (external merge sort, bounded memory) rather than by Python. Both kinds are sorted
by bytes (LC_ALL=C), the order Python gives `sorted(list_of_bytes)`, so a release is the same
whichever kind it was written from.
"""

from __future__ import annotations

import heapq
import os
import re
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path
from typing import BinaryIO, Protocol

from .rules import bcp47_case

READ_BUFFER = 1 << 20
# Beyond this many lines, or bytes, a sort spills to disk (a line is ~100-300 bytes: ~100 MB
# in memory; the bytes bound long lines, such as the JSON-LD nodes of ~2 KB each).
IN_MEMORY_LINES = 500_000
IN_MEMORY_BYTES = 256 << 20
SORT_MEMORY = os.environ.get("KZCN_SORT_MEMORY", "1G")  # GNU sort's buffer (-S)


class SortedLines(Protocol):
    """Distinct lines, each ending in a newline, in byte order; iterable more than once."""

    def __iter__(self) -> Iterator[bytes]: ...

    def __len__(self) -> int: ...

    def open(self) -> BinaryIO | bytes:
        """All the lines as one input for a parser (a file, or bytes when in memory)."""
        ...

    def blocks(self) -> Iterator[bytes]:
        """All the lines in pieces of about READ_BUFFER bytes, each of whole lines: a writer
        that handles a piece at a time does far less per-line work in Python."""
        ...


@dataclass(frozen=True)
class LineList:
    lines: list[bytes]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def open(self) -> bytes:
        return b"".join(self.lines)

    def blocks(self) -> Iterator[bytes]:
        return joined(self.lines, READ_BUFFER)


@dataclass(frozen=True)
class LineFile:
    path: Path
    count: int

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb", buffering=READ_BUFFER) as lines:
            yield from lines

    def __len__(self) -> int:
        return self.count

    def open(self) -> BinaryIO:
        return self.path.open("rb", buffering=READ_BUFFER)

    def blocks(self) -> Iterator[bytes]:
        with self.path.open("rb") as file:
            yield from whole_lines(file, READ_BUFFER)


def joined(lines: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Lines joined into pieces of about `size` bytes (fewer, larger writes)."""
    batch: list[bytes] = []
    held = 0
    for line in lines:
        batch.append(line)
        held += len(line)
        if held >= size:
            yield b"".join(batch)
            batch, held = [], 0
    if batch:
        yield b"".join(batch)


def whole_lines(file: BinaryIO, size: int) -> Iterator[bytes]:
    """A file of lines read in pieces of about `size` bytes, each cut after a newline."""
    rest = b""
    while block := file.read(size):
        block = rest + block
        cut = block.rfind(b"\n") + 1
        if cut:
            yield block[:cut]
        rest = block[cut:]
    if rest:
        yield rest


def sort_unique(lines: Iterable[bytes], workdir: Path, name: str) -> SortedLines:
    """`lines` sorted and without repeats: in memory if few, else through a file in workdir."""
    held = _held_or_written(lines, workdir / f"{name}.unsorted")
    if isinstance(held, list):
        return LineList(sorted(set(held)))
    return sort_file(workdir / f"{name}.unsorted", workdir / f"{name}.sorted", workdir)


def keep_sorted(lines: Iterable[bytes], workdir: Path, name: str) -> SortedLines:
    """Already sorted, distinct lines, kept to be read again: in memory if few, else in a file."""
    path = workdir / f"{name}.sorted"
    held = _held_or_written(lines, path)
    return LineList(held) if isinstance(held, list) else LineFile(path, held)


def _held_or_written(lines: Iterable[bytes], path: Path) -> list[bytes] | int:
    """Up to IN_MEMORY_LINES lines and IN_MEMORY_BYTES as a list; beyond that, all of them
    written to `path` (then their number is returned)."""
    batch: list[bytes] = []
    held = 0
    iterator = iter(lines)
    for line in iterator:
        batch.append(line)
        held += len(line)
        if len(batch) > IN_MEMORY_LINES or held > IN_MEMORY_BYTES:
            count = len(batch)
            with path.open("wb", buffering=READ_BUFFER) as out:
                out.writelines(batch)
                batch = []
                for line in iterator:
                    out.write(line)
                    count += 1
            return count
    return batch


# A language-tagged literal ends its N-Triples line (the object is the last term), so the tag
# found there is never text inside a string. Only tags with subtags have letters to restore.
_TAG_AT_LINE_END = re.compile(rb'"@([A-Za-z]+(?:-[A-Za-z0-9]+)+) \.$', re.MULTILINE)


def with_tag_case(ntriples: bytes) -> bytes:
    """N-Triples with every language tag in the case BCP 47 recommends, which is the case our
    sources write ("kk-Latn", "zh-Hans"): pyoxigraph lower-cases tags, and the dumps should
    keep them as written. Tags compare case-insensitively, so nothing else changes."""
    return _TAG_AT_LINE_END.sub(_tag_in_case, ntriples)


def _tag_in_case(match: re.Match[bytes]) -> bytes:
    return b'"@' + bcp47_case(match[1].decode("ascii")).encode("ascii") + b" ."


def restore_tag_case(path: Path) -> None:
    """with_tag_case over a file of whole lines, in blocks (bounded memory), in place."""
    fixed = path.with_name(path.name + ".case")
    with path.open("rb") as source, fixed.open("wb") as out:
        for block in whole_lines(source, 16 * READ_BUFFER):  # a tag never straddles blocks
            out.write(with_tag_case(block))
    fixed.replace(path)


def sort_file(unsorted: Path, target: Path, workdir: Path, *, unique: bool = True) -> LineFile:
    """Sort a file of lines with GNU sort (bytewise, external: memory stays bounded) and
    remove the unsorted file."""
    _gnu_sort([*(["-u"] if unique else []), str(unsorted)], target, workdir)
    unsorted.unlink()
    return LineFile(target, count_lines(target))


def union_of(sources: Sequence[SortedLines], workdir: Path, name: str) -> SortedLines:
    """The sorted union of sorted line sources, each line once, kept to be read again. Files
    are merged by GNU sort (several times faster than merging their lines in Python)."""
    if sources and all(isinstance(source, LineFile) for source in sources):
        target = workdir / f"{name}.sorted"
        _gnu_sort(["-m", "-u", *(str(source.path) for source in sources)], target, workdir)
        return LineFile(target, count_lines(target))
    return keep_sorted(merge_unique(sources), workdir, name)


def _gnu_sort(arguments: list[str], target: Path, workdir: Path) -> None:
    command = ["sort", "-S", SORT_MEMORY, "-T", str(workdir), "-o", str(target), *arguments]
    subprocess.run(command, check=True, env={**os.environ, "LC_ALL": "C"}, capture_output=True)


def count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as file:
        while chunk := file.read(READ_BUFFER):
            count += chunk.count(b"\n")
    return count


def merge_unique(sources: Iterable[Iterable[bytes]]) -> Iterator[bytes]:
    """The sorted union of sorted line sources, each line once."""
    for line, _ in groupby(heapq.merge(*sources)):
        yield line
