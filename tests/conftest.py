"""Shared fixtures: a copy of the starter config, and fresh databases on each backend.

The PostgreSQL tests use the server at RESTRAT_TEST_POSTGRES_URL (default: the local test
server). Without it they skip and say why; under CI (`CI` set) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from restrat_sync.cache.engine import describe, masked

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A writable copy of the repository's config/ and jql/; returns the folder holding both."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "jql", tmp_path / "jql")
    return tmp_path


POSTGRES_URL = os.environ.get(
    "RESTRAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test server's URL; skips (fails under CI) when the server cannot be reached."""
    engine = create_engine(POSTGRES_URL)
    try:
        with engine.connect():
            pass
    except (SQLAlchemyError, ImportError) as exc:
        reason = (
            f"PostgreSQL at {masked(POSTGRES_URL)} is not reachable "
            f"({describe(exc, make_url(POSTGRES_URL))}); set RESTRAT_TEST_POSTGRES_URL to run "
            "the PostgreSQL cache tests"
        )
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    finally:
        engine.dispose()
    return POSTGRES_URL


class Databases:
    """Fresh, empty databases on one backend: SQLite files, or PostgreSQL schemas."""

    def __init__(self, backend: str, folder: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self.folder = folder
        self.postgres_url = postgres_url
        self.schemas: list[str] = []

    def new_url(self) -> str:
        """The URL of another empty database (a SQLite file in a folder yet to be created)."""
        if self.postgres_url is None:
            return f"sqlite:///{self.folder / uuid.uuid4().hex / 'restrat.db'}"
        schema = f"restrat_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE SCHEMA "{schema}"')
        self.schemas.append(schema)
        url = make_url(self.postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for schema in self.schemas:
            self._admin(f'DROP SCHEMA "{schema}" CASCADE')

    def _admin(self, statement: str) -> None:
        assert self.postgres_url is not None
        engine = create_engine(self.postgres_url)
        try:
            with engine.begin() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Fresh databases on each backend; PostgreSQL schemas are dropped afterwards."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgres" else None
    made = Databases(request.param, tmp_path, url)
    yield made
    made.drop_all()
