"""Outcome predictability and key-result progress over hand-built items.

Due days are local dates in Europe/Berlin. ISO week 2026-W47 there runs from Monday 2026-11-16
00:00 Berlin (2026-11-15 23:00Z) to Monday 2026-11-23 00:00 Berlin (2026-11-22 23:00Z); in
November Berlin is UTC+1, so a due day D ends at 23:00Z on D. All times below are UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from random import Random
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import FlowState, KeyResultMeasure
from restrat_sync.metrics.outcomes import (
    Predictability,
    day_end,
    key_result_progress,
    merged_verdicts,
    predictability,
    summarize,
    verdicts,
)
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

BERLIN = ZoneInfo("Europe/Berlin")
STATUS_MAP: dict[str, FlowState] = {
    "To Do": "new",
    "In Progress": "active",
    "Done": "done",
    "Won't Do": "cancelled",
}
IDS = {name: str(number) for number, name in enumerate(STATUS_MAP, start=1)}
CATEGORIES = {"1": "new", "2": "indeterminate", "3": "done", "4": "done"}
W47 = Period(
    label="2026-W47",
    kind="week",
    start=datetime(2026, 11, 15, 23, 0, tzinfo=UTC),
    end=datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
    quarter="2026-Q4",
)
# Sunday 2026-11-22 13:00 Berlin: the last day of W47 is not over yet.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(text: str) -> datetime:
    """``"2026-11-18 22:59"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def work(
    key: str,
    *moves: tuple[str, str],
    due: date | None = None,
    release: date | None = None,
    points: float | None = None,
    created: str = "2026-11-01 09:00",
) -> WorkItem:
    """An item created in To Do (by default on 2026-11-01) that enters each status of ``moves``
    at its time."""
    changes: list[StatusChange] = []
    previous = "To Do"
    for number, (when, status) in enumerate(moves, start=1):
        changes.append(
            StatusChange(at(when), number, 0, IDS[previous], previous, IDS[status], status)
        )
        previous = status
    return WorkItem(
        key=key,
        summary=key,
        project=key.split("-")[0],
        issuetype="Story",
        level=0,
        status_id=IDS[previous],
        status=previous,
        created=at(created),
        resolved=None,
        duedate=due,
        release_date=release,
        story_points=points,
        labels=(),
        priority=None,
        parent_key=None,
        status_changes=tuple(changes),
    )


def timelines(*works: WorkItem) -> dict[str, Timeline]:
    flow = FlowStates(STATUS_MAP, CATEGORIES)
    return {w.key: build_timeline(w, flow) for w in works}


def judge(*works: WorkItem, period: Period = W47, now: datetime = NOW) -> Predictability:
    """Predictability of ``works`` in ``period`` in Berlin, seen at ``now``."""
    return predictability(list(works), timelines(*works), period, BERLIN, now)


def done_at(when: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """Started 2026-11-10 09:00, done at ``when``."""
    return (("2026-11-10 09:00", "In Progress"), (when, "Done"))


PORTFOLIO = (
    # P-1 due Wed 11-18, done 22:59Z = 23:59 Berlin that day: on time.
    work("P-1", *done_at("2026-11-18 22:59"), due=date(2026, 11, 18)),
    # P-2 due Wed 11-18, done 23:01Z = 00:01 Berlin on Thursday: late.
    work("P-2", *done_at("2026-11-18 23:01"), due=date(2026, 11, 18)),
    # P-3 no due date, release 11-20, done 11-19: due by its release, on time.
    work("P-3", *done_at("2026-11-19 09:00"), release=date(2026, 11, 20)),
    # P-4 due 11-25 (W48) with a release on 11-17: the due date wins, not due in W47.
    work("P-4", *done_at("2026-11-19 09:00"), due=date(2026, 11, 25), release=date(2026, 11, 17)),
    # P-5 due 11-19, cancelled: apart.
    work("P-5", ("2026-11-12 09:00", "Won't Do"), due=date(2026, 11, 19)),
    # P-6 due Sun 11-22, in progress at NOW (Sunday 13:00 Berlin): unfinished, not yet late.
    work("P-6", ("2026-11-10 09:00", "In Progress"), due=date(2026, 11, 22)),
    # P-7 due 11-17, in progress at NOW: late.
    work("P-7", ("2026-11-10 09:00", "In Progress"), due=date(2026, 11, 17)),
    # P-8 due Mon 11-16, whose midnight is W47's first instant; done on 11-16: on time.
    work("P-8", *done_at("2026-11-16 09:00"), due=date(2026, 11, 16)),
    # P-9 due Sun 11-15 (W46) and P-10 due Mon 11-23 (W48, midnight = W47's end): not due.
    work("P-9", *done_at("2026-11-12 09:00"), due=date(2026, 11, 15)),
    work("P-10", *done_at("2026-11-12 09:00"), due=date(2026, 11, 23)),
    # P-11 has no due day at all.
    work("P-11", *done_at("2026-11-12 09:00")),
    # P-12 due 11-17, done 11-16 but reopened 11-18 and open at NOW: not finished, late.
    work(
        "P-12",
        *done_at("2026-11-16 09:00"),
        ("2026-11-18 09:00", "In Progress"),
        due=date(2026, 11, 17),
    ),
)


def test_predictability_sorts_items_due_in_the_period() -> None:
    """Due in W47: P-1, P-2, P-3, P-5, P-6, P-7, P-8, P-12 (8). On time P-1, P-3, P-8 (3);
    late P-2, P-7, P-12 (3); unfinished P-6; cancelled P-5. Rate = 3 / (3 + 3) = 0.5."""
    result = judge(*PORTFOLIO)
    assert (result.due, result.on_time, result.late) == (8, 3, 3)
    assert (result.unfinished, result.cancelled) == (1, 1)
    assert result.rate == 0.5
    assert result.on_time_keys == ("P-1", "P-3", "P-8")
    assert result.late_keys == ("P-12", "P-2", "P-7")
    assert result.unfinished_keys == ("P-6",)
    assert result.cancelled_keys == ("P-5",)


@pytest.mark.parametrize(
    ("due", "release", "due_in_w47"),
    [
        (date(2026, 11, 18), None, True),
        (None, date(2026, 11, 18), True),  # release date when there is no due date
        (date(2026, 11, 25), date(2026, 11, 18), False),  # due date first
        (date(2026, 11, 18), date(2026, 11, 25), True),
        (None, None, False),
    ],
)
def test_due_day_is_the_due_date_else_the_release_date(
    due: date | None, release: date | None, due_in_w47: bool
) -> None:
    """Whether an item counts as due in W47 follows its due date, falling back to release."""
    assert judge(work("Q-1", *done_at("2026-11-18 09:00"), due=due, release=release)).due == int(
        due_in_w47
    )


@pytest.mark.parametrize(
    ("finished", "expected"),
    [
        ("2026-11-18 22:59", "on_time"),  # 23:59 Berlin on the due day
        ("2026-11-18 23:00", "on_time"),  # exactly the end of the due day
        ("2026-11-18 23:01", "late"),  # 00:01 Berlin the next day
    ],
)
def test_on_time_means_done_by_local_midnight_after_the_due_day(
    finished: str, expected: str
) -> None:
    """Due Wed 2026-11-18 in Berlin (UTC+1): the day ends at 2026-11-18 23:00Z."""
    result = judge(work("Q-1", *done_at(finished), due=date(2026, 11, 18)))
    assert (result.on_time_keys, result.late_keys) == (
        ("Q-1",) if expected == "on_time" else (),
        ("Q-1",) if expected == "late" else (),
    )


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-22 22:59", "unfinished"),  # Sunday 23:59 Berlin: the due day is not over
        ("2026-11-22 23:00", "late"),  # Monday 00:00 Berlin: it is over
    ],
)
def test_open_item_is_unfinished_until_its_due_day_is_over(now: str, expected: str) -> None:
    """Due Sun 11-22, still in progress: not counted in the rate until 11-22 23:00Z."""
    result = judge(
        work("Q-1", ("2026-11-10 09:00", "In Progress"), due=date(2026, 11, 22)), now=at(now)
    )
    assert (result.unfinished, result.late) == ((1, 0) if expected == "unfinished" else (0, 1))
    assert result.rate == (None if expected == "unfinished" else 0.0)


def test_cancelled_items_are_apart_and_no_rate_without_judged_items() -> None:
    """Only a cancelled item is due: due 1, cancelled 1, rate None (no data, not 0)."""
    result = judge(work("Q-1", ("2026-11-12 09:00", "Won't Do"), due=date(2026, 11, 19)))
    assert (result.due, result.cancelled, result.on_time, result.late) == (1, 1, 0, 0)
    assert result.rate is None


def test_due_day_on_the_autumn_daylight_saving_change_lasts_25_hours() -> None:
    """Sunday 2026-10-25 in Berlin starts 10-24 22:00Z (CEST) and ends 10-25 23:00Z (CET).
    Done at 10-25 22:30Z = 23:30 CET the same day: on time (a fixed 24 h would say late).
    Period: October 2026 in Berlin, [09-30 22:00Z, 10-31 23:00Z)."""
    october = Period(
        "2026-10",
        "month",
        datetime(2026, 9, 30, 22, 0, tzinfo=UTC),
        datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
        "2026-Q4",
    )
    assert day_end(date(2026, 10, 25), BERLIN) == at("2026-10-25 23:00")
    result = judge(
        work(
            "Q-1",
            ("2026-10-20 09:00", "In Progress"),
            ("2026-10-25 22:30", "Done"),
            due=date(2026, 10, 25),
            created="2026-10-01 09:00",
        ),
        period=october,
        now=at("2026-11-30 00:00"),
    )
    assert result.on_time_keys == ("Q-1",)


@given(st.randoms())
def test_predictability_does_not_depend_on_item_order(rng: Random) -> None:
    """Shuffling the items gives the same result."""
    shuffled = list(PORTFOLIO)
    rng.shuffle(shuffled)
    assert judge(*shuffled) == judge(*PORTFOLIO)


@given(st.randoms(use_true_random=False))
def test_merged_verdicts_of_disjoint_parts_give_the_predictability_of_the_whole(
    rng: Random,
) -> None:
    """Judging the portfolio in two parts (scopes, say) and merging the verdicts gives the
    result of the whole portfolio."""
    parts: list[list[WorkItem]] = [[], []]
    for work in PORTFOLIO:
        parts[rng.randrange(2)].append(work)
    lines = timelines(*PORTFOLIO)
    found = merged_verdicts([verdicts(part, lines, W47, BERLIN, NOW) for part in parts])
    assert summarize(found) == judge(*PORTFOLIO)


# --- Key results -----------------------------------------------------------------------------

MEMBERS = (
    work("K-1", *done_at("2026-11-12 09:00"), points=3.0),
    work("K-2", *done_at("2026-11-13 09:00")),  # done without points
    work("K-3", ("2026-11-10 09:00", "In Progress"), points=5.0),
    work("K-4", ("2026-11-10 09:00", "Won't Do"), points=8.0),
    # K-5 done 11-12, reopened 11-14: not done.
    work("K-5", *done_at("2026-11-12 09:00"), ("2026-11-14 09:00", "In Progress"), points=2.0),
)
KEYS = {"K-1", "K-2", "K-3", "K-4", "K-5", "X-9"}  # in the JQL, not in the cache


@pytest.mark.parametrize(
    ("measure", "target", "value", "progress", "keys"),
    [
        # done: K-1, K-2 -> 2 of 4.
        ("done_count", 4.0, 2.0, 0.5, ("K-1", "K-2")),
        # members found: K-1..K-5 -> 5 of 10; X-9 ignored.
        ("count", 10.0, 5.0, 0.5, ("K-1", "K-2", "K-3", "K-4", "K-5")),
        # points of done members: 3 (K-1) + 0 (K-2, none) = 3 of 12.
        ("points_done", 12.0, 3.0, 0.25, ("K-1", "K-2")),
        # over-achievement is shown, not capped: 2 done of a target of 1.
        ("done_count", 1.0, 2.0, 2.0, ("K-1", "K-2")),
    ],
)
def test_key_result_progress_for_each_measure(
    measure: KeyResultMeasure,
    target: float,
    value: float,
    progress: float,
    keys: tuple[str, ...],
) -> None:
    """Members K-1 (done, 3 pts), K-2 (done, no pts), K-3 (active, 5), K-4 (cancelled, 8),
    K-5 (reopened, 2) and X-9 (not cached)."""
    items = {w.key: w for w in MEMBERS}
    result = key_result_progress("Ship it", measure, target, KEYS, items, timelines(*MEMBERS))
    assert (result.name, result.measure, result.target) == ("Ship it", measure, target)
    assert (result.value, result.progress, result.keys) == (value, progress, keys)


def test_key_result_without_members_has_zero_progress() -> None:
    """An empty JQL result: value 0 and progress 0 (nothing done is a real zero)."""
    result = key_result_progress("Empty", "done_count", 5.0, set(), {}, {})
    assert (result.value, result.progress, result.keys) == (0.0, 0.0, ())
