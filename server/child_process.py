"""Child processes that run this very code: `python -m <module>` would import the `server`
package found first from its working directory (say, another checkout), not the parent's."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CODE_ROOT = str(Path(__file__).resolve().parent.parent)  # the directory holding `server`


def python_module(module: str, *args: str) -> list[str]:
    """The command running `module` as a script, in this Python; `-P`: no working directory
    on its path. Run it with `same_code()` as its environment."""
    return [sys.executable, "-P", "-m", module, *args]


def same_code(env: dict[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's) with the parent's code first on the import path."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [CODE_ROOT, env.get("PYTHONPATH")]))
    return env
