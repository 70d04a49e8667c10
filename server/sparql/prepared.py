"""Prepared answers: the answers to a release's example queries, kept in the release itself.

A release never changes, so the answer its store gives to one of its example queries is
fixed; it is computed once per release, ahead of requests (sparql/prepare.py: `kzcn-kg
prepare`, or `kzcn-kg serve` in the background), and the query service (service.py) serves it
when exactly that request comes: the example's own text, in any offered format, on the whole
dataset — whether it arrives on /sparql, /queries/{name} or /queries/{name}.{ext}. Such an
answer is byte-identical to the engine's for that release (tests/test_prepared_answers.py).

Layout: `<release>/answers/<key>`, the answer's bytes, one file per format, named by the
same key as the answer cache and the ETag (dataset version, media type, query text, dataset).
The directory is not in the manifest: it goes with its release when publishing prunes it.
Files are written to a temporary name and renamed, so a reader never sees half an answer and
several processes may write at once."""

import hashlib
import os
import secrets
from pathlib import Path

from ..store import QueryJob

ANSWERS_DIR = "answers"
HEADER = "X-Kzcn-Answer"  # on a response served from a prepared answer: "prepared"
PREPARED = "prepared"


def answer_key(version: str, job: QueryJob) -> str:
    """Dataset version, format, query and dataset: everything an answer depends on."""
    parts = [
        version,
        job.format.media_type,
        job.query,
        *job.default_graphs,
        "\0",
        *job.named_graphs,
    ]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def answers_dir(release_path: Path) -> Path:
    return release_path / ANSWERS_DIR


def read(release_path: Path, key: str, max_bytes: int) -> bytes | None:
    """The prepared answer, or None: none prepared, or larger than the result cap now in
    force (the live request would be refused, so the prepared one must be too)."""
    try:
        with open(answers_dir(release_path) / key, "rb") as file:
            if os.fstat(file.fileno()).st_size > max_bytes:
                return None
            return file.read()
    except OSError:  # not prepared (or unreadable): the store answers
        return None


def exists(directory: Path, key: str) -> bool:
    return (directory / key).is_file()


def write(directory: Path, key: str, body: bytes) -> None:
    """Atomically: a temporary file in the same directory, renamed over the final name.
    The temporary name has no leading dot, as a release holds no hidden files."""
    temporary = directory / f"{key}.{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        temporary.write_bytes(body)
        os.replace(temporary, directory / key)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
