"""What the server reads of a published release: `build/current` → manifest and store.

The build writes releases (server/build/publish.py); the server only ever reads them."""

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ReleaseMissing(Exception):
    """No usable release: the server must not start on half a graph."""


@dataclass(frozen=True)
class Release:
    path: Path
    manifest: dict[str, Any]

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    @property
    def store_path(self) -> Path:
        return self.path / str(self.manifest.get("store", "store"))


def current(build_dir: Path) -> Release:
    link = build_dir / "current"
    if not link.is_symlink():
        raise ReleaseMissing(f"No release in {build_dir}: run `kzcn-kg build` first.")
    path = (build_dir / os.readlink(link)).resolve()
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReleaseMissing(f"The release {path} has no readable manifest.json: {error}") from None
    release = Release(path, manifest)
    if "version" not in manifest or not release.store_path.is_dir():
        raise ReleaseMissing(f"The release {path} is incomplete (no version or no store).")
    return release
