"""What changes touch: the periods to compute again, the buckets fed, the rolling pages due.

The portfolio of these tests, with each item's creation day in January 2026::

    INIT-1 (5th) -> EPIC-1 (10th) -> STORY-1 (20th) -> SUB-1 (25th)
    INIT-2 (2nd) -> EPIC-2 (12th), which STORY-1 also implements (a link rule)
    STORY-9 (28th), on its own
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from restrat_sync.cache.changes import Changes, IssueChange
from restrat_sync.config import UNALIGNED
from restrat_sync.metrics.touched import (
    EVERYTHING,
    OVERVIEW,
    due_pages,
    earliest_touched,
    inputs_fingerprint,
    periods_touched,
    touched_buckets,
)
from restrat_sync.model.graph import Graph
from restrat_sync.model.periods import ROLLING_LABEL, parse_period
from tests.model.test_graph import graph, implements, item
from tests.pages.builders import config

ZONE = "Europe/Berlin"


def day(number: int, hour: int = 9) -> datetime:
    return datetime(2026, 1, number, hour, tzinfo=UTC)


CREATED = {
    "INIT-1": day(5),
    "EPIC-1": day(10),
    "STORY-1": day(20),
    "SUB-1": day(25),
    "INIT-2": day(2),
    "EPIC-2": day(12),
    "STORY-9": day(28),
}


def portfolio() -> Graph:
    items = [
        item("INIT-1", level=2),
        item("EPIC-1", "INIT-1", level=1),
        item("STORY-1", "EPIC-1", implements("EPIC-2")),
        item("SUB-1", "STORY-1", level=-1),
        item("INIT-2", level=2),
        item("EPIC-2", "INIT-2", level=1),
        item("STORY-9"),
    ]
    return graph(*(dataclasses.replace(i, created=CREATED[i.key]) for i in items))


def changed(
    *keys: str, new: bool = False, moved: bool = False, mappings: tuple[str, ...] = ()
) -> Changes:
    """A queue read holding ``keys`` (all new, or moved, as asked) and ``mappings``."""
    issues = tuple(IssueChange(key, new, moved) for key in keys)
    return Changes(issues, frozenset(mappings), tuple(range(len(keys) + len(mappings))))


# --- periods -------------------------------------------------------------------------------------


def test_a_changed_item_touches_periods_from_the_earliest_creation_above_it() -> None:
    """STORY-1 changed: it, its parents by hierarchy and by link rule (their decision facts use
    its start) and theirs: INIT-2, created on the 2nd. Its sub-task is not affected."""
    assert earliest_touched(changed("STORY-1"), portfolio(), CREATED) == day(2)
    assert earliest_touched(changed("STORY-9"), portfolio(), CREATED) == day(28)
    assert earliest_touched(changed("SUB-1", "STORY-9"), portfolio(), CREATED) == day(2)


def test_a_new_item_also_touches_what_hangs_below_it() -> None:
    """EPIC-1 new to the cache: the items below it may hang from it only now."""
    older = {**CREATED, "SUB-1": day(1)}  # a sub-task older than everything
    assert earliest_touched(changed("STORY-1", new=True), portfolio(), older) == day(1)
    assert earliest_touched(changed("STORY-1"), portfolio(), older) == day(2)


@pytest.mark.parametrize(
    "changes",
    [
        changed("STORY-9", moved=True),
        changed(mappings=("theme:GROWTH",)),
        changed("STORY-9", mappings=("kr:GROWTH:0", "theme:RELIABILITY")),
    ],
)
def test_a_move_or_a_change_of_anchors_touches_everything(changes: Changes) -> None:
    """The neighbours a moved item had, and who hung from an anchor, are not known any more."""
    assert earliest_touched(changes, portfolio(), CREATED) == EVERYTHING


def test_a_key_result_membership_touches_no_period() -> None:
    """Key results show only in "current"; and without changes nothing is touched."""
    assert earliest_touched(changed(mappings=("kr:GROWTH:0",)), portfolio(), CREATED) is None
    assert earliest_touched(Changes(), portfolio(), CREATED) is None


def test_only_periods_ending_after_the_moment_are_computed_again() -> None:
    """With the 10th of November: November, Q4 and the weeks from W46 on; the rolling window
    always; a required label whatever its end; with no moment, only those two."""
    now = datetime(2026, 11, 22, tzinfo=UTC)
    labels = [ROLLING_LABEL, "2026-W45", "2026-W46", "2026-W47", "2026-10", "2026-11", "2026-Q3",
              "2026-Q4", "2025-12"]  # fmt: skip
    periods = [parse_period(label, now, ZONE) for label in labels]
    since = datetime(2026, 11, 10, 12, tzinfo=UTC)
    chosen = [p.label for p in periods_touched(periods, since, required={"2025-12"})]
    assert chosen == [ROLLING_LABEL, "2026-W46", "2026-W47", "2026-11", "2026-Q4", "2025-12"]
    assert [p.label for p in periods_touched(periods, None)] == [ROLLING_LABEL]
    assert len(periods_touched(periods, EVERYTHING)) == len(periods)


# --- buckets and pages ---------------------------------------------------------------------------


def test_the_buckets_fed_are_the_themes_of_changed_items_and_their_ancestors() -> None:
    """STORY-1 (GROWTH) implements EPIC-2 (RELIABILITY): both fed. An item that moved from
    EXPERIENCE to UNALIGNED feeds both; a key result's membership feeds its theme."""
    theme = {
        "INIT-1": "GROWTH",
        "EPIC-1": "GROWTH",
        "STORY-1": "GROWTH",
        "SUB-1": "GROWTH",
        "INIT-2": "RELIABILITY",
        "EPIC-2": "RELIABILITY",
        "STORY-9": UNALIGNED,
    }
    assert touched_buckets(changed("SUB-1"), portfolio(), theme, {}) == {"GROWTH", "RELIABILITY"}
    moved = touched_buckets(changed(), portfolio(), theme, {"STORY-9": "EXPERIENCE"})
    assert moved == {"EXPERIENCE", UNALIGNED}
    gone = touched_buckets(changed(), portfolio(), theme, {"GONE-1": "COMPLIANCE"})
    assert gone == {"COMPLIANCE"}
    members = changed(mappings=("kr:COMPLIANCE:1", "theme:EXPERIENCE"))
    assert touched_buckets(members, portfolio(), theme, {}) == {"COMPLIANCE", "EXPERIENCE"}
    assert touched_buckets(Changes(), portfolio(), theme, {}) == frozenset()


CHECKED = day(20, 8)  # when every page was last written or found current
EVENING = day(20, 18)
Runs = list[tuple[datetime, frozenset[str] | None]]


def due(runs: Runs, now: datetime = EVENING) -> set[str]:
    """The pages due at ``now`` among the overview, GROWTH's and RISK's, all checked at 8:00."""
    checked: dict[str, datetime | None] = {OVERVIEW: CHECKED, "GROWTH": CHECKED, "RISK": CHECKED}
    return set(due_pages(checked, runs, now, ZONE))


def test_a_run_that_fed_a_theme_makes_its_page_and_the_overview_due() -> None:
    """Later the same day: a run that touched GROWTH makes GROWTH's page and the overview due;
    a run that touched UNALIGNED only the overview; a run before the check nothing."""
    assert due([(day(20, 10), frozenset({"GROWTH"}))]) == {OVERVIEW, "GROWTH"}
    assert due([(day(20, 10), frozenset({UNALIGNED}))]) == {OVERVIEW}
    assert due([(day(20, 7), frozenset({"GROWTH", "RISK"}))]) == set()


def test_clock_drift_alone_makes_pages_due_once_a_day() -> None:
    """A run that found nothing changed (a new day's recomputation) makes nothing due the same
    day; on the next local day every page is due, once (the publisher then writes those whose
    content differs)."""
    assert due([(day(20, 10), frozenset())]) == set()
    assert due([]) == set()
    assert due([], now=day(20, 22) + timedelta(minutes=59)) == set()  # 23:59 in Berlin
    assert due([], now=day(20, 23)) == {OVERVIEW, "GROWTH", "RISK"}  # midnight in Berlin
    assert due([], now=day(21, 7)) == {OVERVIEW, "GROWTH", "RISK"}


def test_everything_changed_or_never_written_makes_pages_due() -> None:
    """A run with other inputs (config, version) feeds every page; a page never written, or
    whose last publish failed, is due whatever happened."""
    assert due([(day(20, 10), None)]) == {OVERVIEW, "GROWTH", "RISK"}
    unwritten = due_pages({OVERVIEW: CHECKED, "RISK": None}, [], EVENING, ZONE)
    assert unwritten == {"RISK"}


# --- fingerprint ---------------------------------------------------------------------------------


def test_the_fingerprint_follows_every_input_besides_the_issues() -> None:
    """The config, a JQL file, the status catalogue, the config problems, the version: each
    changes the fingerprint; the same inputs give the same one."""
    statuses = [("1", "To Do", "new"), ("3", "Done", "done")]

    def print_of(**changes: object) -> str:
        inputs: dict[str, object] = {
            "config": config(),
            "jql": {"growth.jql": "project = PORT"},
            "statuses": statuses,
            "config_problems": (),
            "version": "1.0",
        }
        return inputs_fingerprint(**(inputs | changes))  # type: ignore[arg-type]

    base = print_of()
    assert print_of(statuses=list(reversed(statuses))) == base
    others = [
        print_of(config=config(timezone="Europe/Berlin")),
        print_of(jql={"growth.jql": "project = PAY"}),
        print_of(statuses=[("1", "To Do", "indeterminate"), ("3", "Done", "done")]),
        print_of(config_problems=("restrat.yaml:3: bad",)),
        print_of(version="1.1"),
    ]
    assert len({base, *others}) == 6
