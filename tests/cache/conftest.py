"""Cache fixtures: a fresh cache per test on SQLite and on PostgreSQL, and record builders."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from restrat_sync.cache import Cache, open_cache
from restrat_sync.jira.records import IssueRecord, LinkRecord, TransitionRecord
from tests.conftest import Databases

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
CREATED = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)


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
