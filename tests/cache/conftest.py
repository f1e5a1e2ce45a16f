"""Cache fixtures: a fresh cache per test on SQLite and on PostgreSQL, and record builders."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.engine import describe, masked
from restrat_sync.jira.records import IssueRecord, LinkRecord, TransitionRecord

POSTGRES_URL = os.environ.get(
    "RESTRAT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
CREATED = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


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


@pytest.fixture
def database_url(databases: Databases) -> str:
    """An empty database."""
    return databases.new_url()


@pytest.fixture
def make_cache(databases: Databases) -> Iterator[Callable[[], Cache]]:
    """Opens caches on fresh databases of the test's backend; closes them afterwards."""
    opened: list[Cache] = []

    def make() -> Cache:
        opened.append(open_cache(databases.new_url()))
        return opened[-1]

    yield make
    for each in opened:
        each.close()


@pytest.fixture
def cache(make_cache: Callable[[], Cache]) -> Cache:
    """A migrated, empty cache."""
    return make_cache()


def transition(
    history_id: int, to_status: str, at: datetime, item_index: int = 0
) -> TransitionRecord:
    """A status change into ``to_status`` (its id is its name, lower case)."""
    return TransitionRecord(
        history_id=history_id,
        item_index=item_index,
        at=at,
        from_status_id=None,
        from_status=None,
        to_status_id=to_status.lower(),
        to_status=to_status,
    )


def link(link_id: str, other_key: str, direction: str = "outward") -> LinkRecord:
    """An "Implements" link to ``other_key``."""
    return LinkRecord(
        link_id=link_id, type_name="Implements", direction=direction, other_key=other_key
    )


def issue(number: int, project: str = "PAY", **changes: Any) -> IssueRecord:
    """Issue ``<project>-<number>`` (id 10000 + number), a story in To Do; ``changes`` override."""
    record = IssueRecord(
        id=10_000 + number,
        key=f"{project}-{number}",
        project=project,
        issuetype="Story",
        hierarchy_level=0,
        subtask=False,
        status="To Do",
        status_id="1",
        status_category="new",
        summary=f"Story {number}",
        created=CREATED,
        updated=CREATED + timedelta(days=1),
        resolved=None,
        duedate=None,
        priority="Medium",
        story_points=None,
        labels=(),
        fix_versions=(),
        parent_key=None,
        epic_link_key=None,
        parent_link_key=None,
        links=(),
        transitions=(),
        field_changes=(),
        changelog_total=0,
    )
    return dataclasses.replace(record, **changes)
