"""The orchestrator on one small portfolio: scopes, levels and history wired together, with
``attribution: current`` (today's structure for all time, the behaviour before the graph with
memory; tests/metrics/test_history_attribution.py covers the default, ``history``).

Portfolio (config: themes GROWTH 0.6 and RELIABILITY 0.3, unaligned 0.1; time zone UTC):

- INIT-1 (initiative, GROWTH anchor) <- EPIC-1 (epic) <- S-1 (story) <- SUB-1 (sub-task)
- INIT-2 (initiative, RELIABILITY anchor) <- EPIC-2 (epic) <- S-2 (story)
- EPIC-1 also *implements* INIT-2 (one hop from INIT-2, one hop from INIT-1): a tie, so GROWTH
  (first in config order) wins and EPIC-1 is a conflict.
- S-3: a story nobody reaches: unaligned.
- EPIC-2 was re-parented from INIT-9 to INIT-2 on 2026-11-10 (a pivot in November).

Period: November 2026 (UTC). S-1 active 11-02..11-06 then Done (4 days); S-2 active
11-03..11-05 then Done (2 days); S-3 active 11-04..11-05 then Done (1 day); SUB-1 active
11-02..11-20 then Done (18 days), but sub-tasks are not at the flow level, so it counts nowhere.

Effort (active days): GROWTH 4, RELIABILITY 2, unaligned 1; total 7.
AV = 1/2 (|4/7 - .6| + |2/7 - .3| + |1/7 - .1|) = 1/2 (0.02857 + 0.01429 + 0.04286) = 0.04286.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.cache.snapshots import ThemeSpan
from restrat_sync.config import AttributionMode, Config, FlowState, Theme
from restrat_sync.metrics.compute import (
    OVERALL,
    UNALIGNED_SCOPE,
    compute_current,
    compute_periods,
    prepare,
    theme_scope,
)
from restrat_sync.model.items import FieldChange, Link, StatusChange, WorkItem
from restrat_sync.model.periods import parse_period

NOW = datetime(2026, 12, 5, tzinfo=UTC)
CREATED = datetime(2026, 10, 1, tzinfo=UTC)
IDS = {"To Do": "1", "In Progress": "2", "Done": "3"}
CATEGORIES = {"1": "new", "2": "indeterminate", "3": "done"}
LEVELS = {"Initiative": 2, "Epic": 1, "Story": 0, "Sub-task": -1}


def day(number: int) -> datetime:
    return datetime(2026, 11, number, 9, tzinfo=UTC)


def work(
    key: str, kind: str, parent: str | None, *moves: tuple[int, str], **extra: object
) -> WorkItem:
    changes, previous = [], "To Do"
    for number, (when, status) in enumerate(moves, start=1):
        changes.append(
            StatusChange(day(when), number, 0, IDS[previous], previous, IDS[status], status)
        )
        previous = status
    return WorkItem(
        key=key, summary=key, project=key.split("-")[0], issuetype=kind, level=LEVELS[kind],
        status_id=IDS[previous], status=previous, created=CREATED, resolved=None, duedate=None,
        release_date=None, story_points=None, labels=(), priority="Medium", parent_key=parent,
        status_changes=tuple(changes), **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def portfolio() -> CachedPortfolio:
    reparent = FieldChange(day(10), 99, "parent", "INIT-9", "INIT-2")
    items = [
        work("INIT-1", "Initiative", None),
        work("INIT-2", "Initiative", None),
        work("EPIC-1", "Epic", "INIT-1", links=(Link("Implements", "outward", "INIT-2"),)),
        work("EPIC-2", "Epic", "INIT-2", field_changes=(reparent,)),
        work("S-1", "Story", "EPIC-1", (2, "In Progress"), (6, "Done")),
        work("S-2", "Story", "EPIC-2", (3, "In Progress"), (5, "Done")),
        work("S-3", "Story", None, (4, "In Progress"), (5, "Done")),
        work("SUB-1", "Sub-task", "S-1", (2, "In Progress"), (20, "Done")),
    ]
    return CachedPortfolio(
        items={item.key: item for item in items},
        categories=CATEGORIES,
        current_categories={},
        members={"theme:GROWTH": {"INIT-1"}, "theme:RELIABILITY": {"INIT-2"}},
        last_sync_at=NOW,
    )


def config(attribution: AttributionMode = "current") -> Config:
    status_map: dict[str, FlowState] = {}
    return Config(
        attribution=attribution,
        timezone="UTC",
        unaligned_target=0.1,
        themes=[
            Theme(key="GROWTH", name="Growth", jql="g.jql", target=0.6),
            Theme(key="RELIABILITY", name="Reliability", jql="r.jql", target=0.3),
        ],
        hierarchy={"links": [{"type": "Implements", "direction": "outward"}]},  # type: ignore[arg-type]
        status_map=status_map,
    )


@pytest.fixture
def november() -> tuple:
    prepared = prepare(portfolio(), config())
    period = parse_period("2026-11", NOW, "UTC")
    return prepared, compute_periods(prepared, [period], NOW)[0]


def test_scopes_split_velocity_by_attributed_theme(november: tuple) -> None:
    """Velocity per scope follows attribution; the sub-task counts in no scope."""
    _, result = november
    velocity = {
        scope: result.of(scope, "flow").velocity.keys
        for scope in (OVERALL, theme_scope("GROWTH"), theme_scope("RELIABILITY"), UNALIGNED_SCOPE)
    }
    assert velocity == {
        OVERALL: ("S-1", "S-2", "S-3"),
        theme_scope("GROWTH"): ("S-1",),
        theme_scope("RELIABILITY"): ("S-2",),
        UNALIGNED_SCOPE: ("S-3",),
    }


def test_alignment_variance_of_the_worked_example(november: tuple) -> None:
    """AV = 0.04286 with efforts 4 / 2 / 1 against 0.6 / 0.3 / 0.1 (see the module docstring)."""
    _, result = november
    alignment = result.of(OVERALL, "alignment")
    assert alignment.total_effort == pytest.approx(7)
    assert alignment.av == pytest.approx(
        0.5 * (abs(4 / 7 - 0.6) + abs(2 / 7 - 0.3) + abs(1 / 7 - 0.1))
    )


def test_a_tie_between_themes_goes_to_the_first_and_is_a_conflict(november: tuple) -> None:
    """EPIC-1 is one hop from both anchors: GROWTH wins, and data quality lists it."""
    prepared, _ = november
    assert prepared.attribution.theme["EPIC-1"] == "GROWTH"
    quality = compute_current(prepared, NOW)[(OVERALL, "data_quality")]
    conflicted = dict(quality.conflicts)
    assert conflicted["EPIC-1"] == ("GROWTH", "RELIABILITY")


def test_a_reparent_mid_period_is_a_pivot_of_its_theme(november: tuple) -> None:
    """EPIC-2's move from INIT-9 to INIT-2 on 11-10 is a November pivot of RELIABILITY."""
    _, result = november
    events = result.of(theme_scope("RELIABILITY"), "pivots").events
    assert [(e.key, e.kind) for e in events] == [("EPIC-2", "re_parent")]
    assert result.of(theme_scope("GROWTH"), "pivots").count == 0


def test_a_theme_change_between_runs_counts_for_both_themes() -> None:
    """An epic that moved from GROWTH to RELIABILITY is a pivot on both themes' pages."""
    moved = datetime(2026, 11, 15, tzinfo=UTC)
    history = [
        ThemeSpan("EPIC-2", "GROWTH", CREATED, moved),
        ThemeSpan("EPIC-2", "RELIABILITY", moved, None),
    ]
    prepared = prepare(portfolio(), config(), history)
    result = compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW)[0]
    for theme in ("GROWTH", "RELIABILITY"):
        kinds = [e.kind for e in result.of(theme_scope(theme), "pivots").events]
        assert "theme_change" in kinds


def test_an_item_that_left_a_theme_brings_only_its_move_to_that_theme() -> None:
    """EPIC-2 moved from GROWTH to RELIABILITY on 11-15 and was re-parented on 11-10.

    GROWTH: the theme change only; its active decision items stay INIT-1 and EPIC-1 (2), so
    its rate is 1/2. RELIABILITY (where EPIC-2 belongs now): the re-parent and the theme
    change, over INIT-2 and EPIC-2 (2 active), rate 2/2.
    """
    moved = datetime(2026, 11, 15, tzinfo=UTC)
    history = [
        ThemeSpan("EPIC-2", "GROWTH", CREATED, moved),
        ThemeSpan("EPIC-2", "RELIABILITY", moved, None),
    ]
    prepared = prepare(portfolio(), config(), history)
    result = compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW)[0]
    growth = result.of(theme_scope("GROWTH"), "pivots")
    assert [(e.key, e.kind) for e in growth.events] == [("EPIC-2", "theme_change")]
    assert (growth.active_decisions, growth.rate) == (2, 0.5)
    reliability = result.of(theme_scope("RELIABILITY"), "pivots")
    assert sorted(e.kind for e in reliability.events) == ["re_parent", "theme_change"]
    assert (reliability.active_decisions, reliability.rate) == (2, 1.0)
    overall = result.of(OVERALL, "pivots")
    assert (overall.count, overall.active_decisions) == (2, 4)


def test_the_current_period_counts_time_only_up_to_now() -> None:
    """On Wednesday 2026-11-18 at 12:00 UTC, inside 2026-W47 (Mon 11-16 .. Mon 11-23):

    S-4 (GROWTH, under EPIC-1) has been In Progress since Monday 11-16 09:00, so 2 days and
    3 hours = 2.125 days have passed: its active days in the week and its load age are 2.125,
    not the 6.625 days to the week's end.
    """
    now = datetime(2026, 11, 18, 12, tzinfo=UTC)
    cached = portfolio()
    current = work("S-4", "Story", "EPIC-1", (16, "In Progress"))
    items = {key: item for key, item in cached.items.items() if key.startswith(("INIT", "EPIC"))}
    items["S-4"] = current
    cached = CachedPortfolio(
        items=items,
        categories=CATEGORIES,
        current_categories={},
        members=cached.members,
        last_sync_at=now,
    )
    prepared = prepare(cached, config())
    week = parse_period("2026-W47", now, "UTC")
    result = compute_periods(prepared, [week], now)[0]
    assert result.of(OVERALL, "alignment").total_effort == pytest.approx(2.125)
    load = result.of(theme_scope("GROWTH"), "flow").load
    assert load.keys == ("S-4",)
    assert load.ages[0][1] == pytest.approx(2.125)
