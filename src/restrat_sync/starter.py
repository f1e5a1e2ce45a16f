"""``restrat-sync init``: write a starter ``config/`` and ``jql/`` into a directory.

The starter is the repository's own ``config/`` and ``jql/``: the wheel ships them as
``restrat_sync/_starter``; a source checkout (editable install) reads them in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from restrat_sync.errors import RestratError

_PACKAGED = Path(__file__).parent / "_starter"
_CHECKOUT = Path(__file__).resolve().parents[2]


def starter_root() -> Path:
    """The folder holding the starter ``config/`` and ``jql/``."""
    for root in (_PACKAGED, _CHECKOUT):
        if (root / "config" / "restrat.yaml").is_file():
            return root
    raise RestratError("the starter config is missing from this installation")


def starter_files() -> list[Path]:
    """The starter files, relative to the starter root."""
    root = starter_root()
    found = [root / "config" / "restrat.yaml", *sorted((root / "jql").glob("*.jql"))]
    return [path.relative_to(root) for path in found]


def write_starter(target: Path) -> list[Path]:
    """Copy the starter into ``target``; refuse, touching nothing, if any file exists."""
    root = starter_root()
    files = starter_files()
    existing = [target / name for name in files if (target / name).exists()]
    if existing:
        listed = ", ".join(str(path) for path in existing)
        raise RestratError(f"refusing to overwrite existing files: {listed}")
    written = []
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, destination)
        written.append(destination)
    return written
