"""Shared fixtures: a copy of the starter config in a temporary folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the repository's config/ and jql/; returns the folder holding both."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "jql", tmp_path / "jql")
    return tmp_path
