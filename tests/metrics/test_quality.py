"""Data quality: fallback and unknown statuses, incomplete changelogs, finished items with no
start, conflicts, items with no parent, the unaligned share and the age of the last sync.

The portfolio below has one initiative (level 2, the top), epics (1), stories (0, the flow
level) and a sub-task (-1). Decision items start at level 1. The status map names Open,
In Progress and Won't Do; Done is mapped only by its category (a fallback) and "Legacy" is in
no catalogue (unknown, read as ``new``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise

import pytest

from restrat_sync.config import FlowState
from restrat_sync.metrics.quality import DataQuality, data_quality
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.timeline import FlowStates, build_timeline

CATEGORIES = {"Open": "new", "In Progress": "indeterminate", "Done": "done", "Won't Do": "done"}
STATUS_MAP: dict[str, FlowState] = {
    "Open": "new",
    "In Progress": "active",
    "Won't Do": "cancelled",
}
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)
LAST_SYNC = datetime(2026, 3, 20, 10, 30, tzinfo=UTC)
CONFLICTS = {"S-2": ("GROW", "CORE")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def work(
    key: str,
    level: int,
    parent: str | None,
    *path: str,
    complete: bool = True,
) -> WorkItem:
    """An item created 03-01 in ``path[0]`` (default Open) moving through ``path`` a day apart."""
    statuses = path or ("Open",)
    changes = tuple(
        StatusChange(at(f"2026-03-0{i + 2}"), i + 1, 0, old, old, new, new)
        for i, (old, new) in enumerate(pairwise(statuses))
    )
    return WorkItem(
        key=key,
        summary=key,
        project="P",
        issuetype="Story",
        level=level,
        status_id=statuses[-1],
        status=statuses[-1],
        created=at("2026-03-01"),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority=None,
        parent_key=parent,
        status_changes=changes,
        changelog_complete=complete,
    )


PORTFOLIO = (
    work("I-1", 2, None),  # the top level: nothing above it
    work("E-1", 1, "I-1"),
    work("E-2", 1, None),  # a decision item below the top without a parent
    work("E-3", 1, None),  # hangs from I-1 through a configured link
    work("S-1", 0, "E-1", "Open", "Done"),  # done straight from Open: no start
    work("S-2", 0, None, "Open", "In Progress", "Done"),  # no parent
    work("S-3", 0, "E-1", "Open", "Won't Do"),  # cancelled from the backlog: fine
    work("S-4", 0, "E-1", complete=False),
    work("S-5", 0, "E-1", "Legacy", "In Progress"),
    work("T-1", -1, None),  # a sub-task: Jira always gives it a parent
)


def report(
    items: Sequence[WorkItem] = PORTFOLIO,
    *,
    last_sync_at: datetime | None = LAST_SYNC,
    decision_level: int = 1,
    conflicts: Mapping[str, tuple[str, ...]] | None = None,
    config_problems: tuple[str, ...] = (),
) -> DataQuality:
    states = FlowStates(STATUS_MAP, CATEGORIES)
    timelines = {item.key: build_timeline(item, states) for item in items}
    return data_quality(
        fallback_statuses=states.fallbacks,
        unknown_statuses=states.unknown,
        items={item.key: item for item in items},
        timelines=timelines,
        flow_level=0,
        decision_level=decision_level,
        conflicts=CONFLICTS if conflicts is None else conflicts,
        unaligned_share=0.25,
        last_sync_at=last_sync_at,
        now=NOW,
        config_problems=config_problems,
        linked=("E-3",),
    )


def test_statuses_mapped_by_category_only_are_listed() -> None:
    """Done is in no status_map entry: it fell back to its category (done)."""
    assert report().fallback_statuses == ("Done",)


def test_statuses_nobody_knows_are_listed() -> None:
    """Legacy (S-5's first status) is in neither the map nor the catalogue: unknown."""
    assert report().unknown_statuses == ("Legacy",)


def test_incomplete_changelogs_are_listed() -> None:
    """S-4's changelog could not be completed."""
    assert report().incomplete_changelogs == ("S-4",)


def test_done_flow_items_without_a_start_are_listed() -> None:
    """S-1 went Open -> Done and has no start. S-2 started (In Progress). S-3 was cancelled
    from Open, which needs no start."""
    assert report().no_start == ("S-1",)


def test_conflicts_are_listed_with_their_themes() -> None:
    """S-2 is reached by GROW and CORE."""
    assert report().conflicts == (("S-2", ("GROW", "CORE")),)


def test_items_without_a_parent_are_listed() -> None:
    """Top level 2. Listed: E-2 (decision level 1 < 2) and S-2 (flow level). Not listed: I-1
    (the top), E-3 (a parent through a link), T-1 (a sub-task, below the flow level)."""
    assert report().no_parent == ("E-2", "S-2")


@pytest.mark.parametrize(
    ("level", "decision_level", "listed"),
    [
        (0, 1, True),  # flow level
        (1, 1, True),  # decision level below the top
        (2, 1, True),  # decision level below the top
        (3, 1, False),  # the top level
        (-1, 1, False),  # sub-task
        (1, 2, False),  # between the flow level and the decision levels
        (2, 2, True),
    ],
)
def test_no_parent_rule(level: int, decision_level: int, listed: bool) -> None:
    """A parentless X at ``level`` beside TOP at level 3, flow level 0: listed when at the flow
    level, or at or above ``decision_level`` and below 3."""
    items = [work("TOP", 3, None), work("X", level, None)]
    assert report(items, decision_level=decision_level).no_parent == (("X",) if listed else ())


def test_flow_items_are_not_expected_to_have_a_parent_when_they_are_the_top() -> None:
    """Only stories in the cache: nothing above them to hang from, nothing listed."""
    items = [work("S-1", 0, None), work("S-2", 0, None)]
    assert report(items).no_parent == ()


def test_unaligned_share_and_sync_age() -> None:
    """Share passed through; last sync 10:30, now 12:00: 1.5 hours."""
    result = report()
    assert result.unaligned_share == 0.25
    assert result.last_sync_at == LAST_SYNC
    assert result.last_sync_age_hours == 1.5


def test_problems_count_every_listed_entry() -> None:
    """1 fallback + 1 unknown + 1 incomplete + 1 no start + 1 conflict + 2 no parent + 1 config
    problem = 8; the unaligned share and the sync age are measures, not problems."""
    result = report(config_problems=("theme GROW: jql/grow.jql is missing",))
    assert result.problems() == 8
    assert not result.is_clean


def test_never_synced_is_a_problem_and_has_no_age() -> None:
    """No successful sync: age None (no data), and it counts as one problem."""
    items = [work("I-1", 1, None), work("S-1", 0, "I-1", "Open", "In Progress")]
    result = report(items, last_sync_at=None, conflicts={})
    assert result.last_sync_age_hours is None
    assert result.problems() == 1


def test_a_clean_portfolio_is_clean() -> None:
    """An epic at the top with one started story below it, synced: 0 problems."""
    items = [work("E-1", 1, None), work("S-1", 0, "E-1", "Open", "In Progress")]
    result = data_quality(
        fallback_statuses=set(),
        unknown_statuses=set(),
        items={item.key: item for item in items},
        timelines={
            item.key: build_timeline(item, FlowStates(STATUS_MAP, CATEGORIES)) for item in items
        },
        flow_level=0,
        decision_level=1,
        conflicts={},
        unaligned_share=None,
        last_sync_at=NOW,
        now=NOW,
    )
    assert (result.problems(), result.is_clean, result.last_sync_age_hours) == (0, True, 0.0)
