"""Every setting in one place: paths, read from the environment with sane defaults."""

import os
from dataclasses import dataclass
from pathlib import Path

# An editable install runs from the checkout, so the project root is the package's parent.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Paths:
    """Where the build reads its inputs and writes its releases."""

    root: Path
    build_dir: Path

    @property
    def ontology(self) -> Path:
        return self.root / "ontology"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def shapes(self) -> Path:
        return self.root / "shapes"


def paths_from_env(root: Path | None = None, build_dir: Path | None = None) -> Paths:
    """Explicit arguments win, then KZCN_ROOT / KZCN_BUILD_DIR, then the checkout."""
    root = root or Path(os.environ.get("KZCN_ROOT", PACKAGE_ROOT))
    build_dir = build_dir or Path(os.environ.get("KZCN_BUILD_DIR", root / "build"))
    return Paths(root=root.resolve(), build_dir=build_dir.resolve())
