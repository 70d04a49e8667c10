"""Writing a release file: in pieces, hashing as it goes, and synced to disk before it counts
as written (the rename that publishes a release must not outrun its files' contents)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Digest:
    sha256: str
    size: int


class HashedFile:
    """A file written in pieces, possibly at several times, its digest known at `close`."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.digest, self.size = hashlib.sha256(), 0

    def write(self, data: bytes | Iterable[bytes]) -> None:
        for piece in [data] if isinstance(data, bytes) else data:
            self.file.write(piece)
            self.digest.update(piece)
            self.size += len(piece)

    def close(self) -> Digest:
        with self.file:
            self.file.flush()
            os.fsync(self.file.fileno())
        return Digest(self.digest.hexdigest(), self.size)

    def __enter__(self) -> HashedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()  # on an error; closing twice is harmless


def write_file(path: Path, data: bytes | Iterable[bytes]) -> Digest:
    """Write, hash and sync a whole file."""
    with HashedFile(path) as file:
        file.write(data)
        return file.close()
