"""Effort per item, actual against planned shares, and alignment variance.

The period is January 2026 in UTC: [2026-01-01 00:00, 2026-02-01 00:00), judged against
2026-Q1. Stories move To Do (new) -> In Progress (active) -> Blocked (waiting) -> Done (done)
or Won't Do (cancelled). A day is 86,400 s.
"""

from __future__ import annotations

from datetime import UTC, datetime
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import UNALIGNED, EffortMeasure, Theme, planned_shares
from restrat_sync.metrics.alignment import Alignment, alignment, effort, efforts
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import FlowStates, build_timeline

JANUARY = Period(
    "2026-01",
    "month",
    datetime(2026, 1, 1, tzinfo=UTC),
    datetime(2026, 2, 1, tzinfo=UTC),
    "2026-Q1",
)
IDS = {"To Do": "1", "In Progress": "3", "Blocked": "10", "Done": "5", "Won't Do": "6"}
STATES = FlowStates(
    status_map={"Blocked": "waiting", "Won't Do": "cancelled"},
    categories={"1": "new", "3": "indeterminate", "10": "indeterminate", "5": "done", "6": "done"},
)
MEASURES: tuple[EffortMeasure, ...] = ("active_days", "story_points", "items")


def at(text: str) -> datetime:
    """``"2026-01-05 09:00"`` (or a bare date) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def item(
    key: str,
    *moves: tuple[str, str],
    points: float | None = None,
    level: int = 0,
    created: str = "2025-12-01",
) -> WorkItem:
    """A story created in To Do that moves ``(when, to status)`` in turn; its current status is
    the last one reached."""
    changes = []
    status = "To Do"
    for index, (when, target) in enumerate(moves):
        changes.append(StatusChange(at(when), index, 0, IDS[status], status, IDS[target], target))
        status = target
    return WorkItem(
        key=key,
        summary=key,
        project="S",
        issuetype="Sub-task" if level < 0 else "Story",
        level=level,
        status_id=IDS[status],
        status=status,
        created=at(created),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=points,
        labels=(),
        priority=None,
        parent_key=None,
        status_changes=tuple(changes),
    )


def effort_of(work: WorkItem, measure: EffortMeasure, period: Period = JANUARY) -> float:
    return effort(build_timeline(work, STATES), work, measure, period)


# --- effort --------------------------------------------------------------------------------------

ACROSS_START = item("S-1", ("2025-12-29", "In Progress"), ("2026-01-03", "Done"), points=3)
STILL_ACTIVE = item("S-2", ("2026-01-30", "In Progress"), points=5)
REOPENED = item(
    "S-3",
    ("2026-01-05", "In Progress"),
    ("2026-01-07", "Done"),
    ("2026-01-10", "In Progress"),
    points=8,
)
CANCELLED = item("S-4", ("2026-01-05", "In Progress"), ("2026-01-08", "Won't Do"), points=2)
WAITED = item(
    "S-5",
    ("2026-01-05", "In Progress"),
    ("2026-01-06", "Blocked"),
    ("2026-01-09", "In Progress"),
    ("2026-01-10", "Done"),
)
DONE_BEFORE = item("S-6", ("2025-12-20", "In Progress"), ("2025-12-30", "Done"), points=3)
DONE_AT_END = item("S-7", ("2026-01-31", "In Progress"), ("2026-02-01", "Done"), points=3)
NO_START = item("S-8", ("2026-01-15", "Done"), points=2)
REFINISHED = item(
    "S-9",
    ("2026-01-05", "In Progress"),
    ("2026-01-07", "Done"),
    ("2026-01-10", "In Progress"),
    ("2026-01-12", "Done"),
    points=1,
)


@pytest.mark.parametrize(
    ("work", "expected"),
    [
        pytest.param(
            ACROSS_START,
            (2.0, 3.0, 1.0),
            id="active across the start: Dec 29 - Jan 3 clipped to Jan 1 - 3 = 2 days",
        ),
        pytest.param(
            STILL_ACTIVE,
            (2.0, 0.0, 0.0),
            id="still active: Jan 30 - (Feb 1, the end) = 2 days, unfinished, no points",
        ),
        pytest.param(
            REOPENED,
            (24.0, 0.0, 0.0),
            id="reopened: Jan 5-7 + Jan 10 - Feb 1 = 2 + 22 days, not finished so no points",
        ),
        pytest.param(
            CANCELLED, (3.0, 0.0, 0.0), id="cancelled: Jan 5-8 = 3 active days, no points or item"
        ),
        pytest.param(
            WAITED,
            (2.0, 0.0, 1.0),
            id="waiting not counted: Jan 5-6 + Jan 9-10 = 2 days; no points recorded count 0",
        ),
        pytest.param(DONE_BEFORE, (0.0, 0.0, 0.0), id="finished in December: nothing in January"),
        pytest.param(
            DONE_AT_END,
            (1.0, 0.0, 0.0),
            id="done at Feb 1 00:00, the exclusive end: 1 active day, finished in February",
        ),
        pytest.param(NO_START, (0.0, 2.0, 1.0), id="new straight to done: no active time, counts"),
        pytest.param(
            REFINISHED,
            (4.0, 1.0, 1.0),
            id="reopened then done again Jan 12: Jan 5-7 + Jan 10-12 = 4 days, finished",
        ),
    ],
)
def test_effort_by_each_measure(work: WorkItem, expected: tuple[float, float, float]) -> None:
    """Each item's (active_days, story_points, items) effort in January, worked in its id."""
    assert tuple(effort_of(work, measure) for measure in MEASURES) == pytest.approx(expected)


@pytest.mark.parametrize("measure", MEASURES)
def test_efforts_of_many_items_are_each_items_effort(measure: EffortMeasure) -> None:
    """The batch form gives, by key, exactly what ``effort`` gives for each item."""
    works = [ACROSS_START, STILL_ACTIVE, REOPENED, CANCELLED, WAITED, DONE_AT_END, REFINISHED]
    lines = [build_timeline(work, STATES) for work in works]
    found = efforts(lines, {work.key: work for work in works}, measure, JANUARY)
    assert found == {work.key: effort_of(work, measure) for work in works}


@pytest.mark.parametrize("points", [0.0, -3.0, None])
def test_missing_zero_or_negative_points_give_no_effort(points: float | None) -> None:
    """A story done in January without a positive estimate contributes 0 points."""
    work = item("S-1", ("2026-01-05", "In Progress"), ("2026-01-06", "Done"), points=points)
    assert effort_of(work, "story_points") == 0.0


def test_effort_leaves_level_filtering_to_the_caller() -> None:
    """effort() measures any item; the caller passes flow-level items only.

    Story S-1 and its sub-task T-1 are both active Jan 5 - Jan 15: 10 days each. Passing only
    level-0 items, the allocation counts 10 days, not 20 (the sub-task's work is inside the
    story's).
    """
    story = item("S-1", ("2026-01-05", "In Progress"), ("2026-01-15", "Done"))
    sub = item("T-1", ("2026-01-05", "In Progress"), ("2026-01-15", "Done"), level=-1)
    assert effort_of(sub, "active_days") == pytest.approx(10.0)
    efforts = {w.key: effort_of(w, "active_days") for w in (story, sub) if w.level == 0}
    result = alignment(efforts, {"S-1": "A", "T-1": "A"}, {"A": 1.0}, "active_days", "2026-Q1")
    assert result.total_effort == pytest.approx(10.0)


# --- alignment -----------------------------------------------------------------------------------

PLANNED = {"GROWTH": 0.5, "PLATFORM": 0.25, "RISK": 0.15, UNALIGNED: 0.10}
BUCKET_OF = {"G-1": "GROWTH", "P-1": "PLATFORM", "R-1": "RISK", "R-2": "RISK", "U-1": UNALIGNED}


def test_worked_example() -> None:
    """Efforts GROWTH 10, PLATFORM 5, RISK 5 (3 + 2), UNALIGNED 0 against .50/.25/.15/.10.

    Total 20: actual .50/.25/.25/0, deviations 0/0/+.10/-.10, AV = ½(0 + 0 + .10 + .10) = .10.
    U-1 spent nothing, so no bucket lists it.
    """
    efforts = {"G-1": 10.0, "P-1": 5.0, "R-1": 3.0, "R-2": 2.0, "U-1": 0.0}
    result = alignment(efforts, BUCKET_OF, PLANNED, "active_days", "2026-Q1")
    assert result.av == pytest.approx(0.10)
    assert result.has_data
    assert result.total_effort == 20.0
    assert [b.bucket for b in result.buckets] == ["GROWTH", "PLATFORM", "RISK", UNALIGNED]
    assert [b.effort for b in result.buckets] == [10.0, 5.0, 5.0, 0.0]
    assert [b.actual for b in result.buckets] == pytest.approx([0.5, 0.25, 0.25, 0.0])
    assert [b.deviation for b in result.buckets] == pytest.approx([0.0, 0.0, 0.10, -0.10])
    assert [b.keys for b in result.buckets] == [("G-1",), ("P-1",), ("R-1", "R-2"), ()]
    assert result.keys == ("G-1", "P-1", "R-1", "R-2")
    assert (result.measure, result.quarter) == ("active_days", "2026-Q1")


def test_alignment_of_timelines_by_story_points() -> None:
    """By story points in January: G-1 done with 3 points, P-1 done with 1, R-1 reopened (8
    points, not finished): GROWTH 3, PLATFORM 1, RISK 0, UNALIGNED 0; total 4.

    Actual .75/.25/0/0 against .50/.25/.15/.10: deviations +.25/0/-.15/-.10, AV = .25.
    """
    works = {
        "G-1": item("G-1", ("2026-01-05", "In Progress"), ("2026-01-08", "Done"), points=3),
        "P-1": item("P-1", ("2026-01-05", "In Progress"), ("2026-01-09", "Done"), points=1),
        "R-1": REOPENED,
    }
    efforts = {key: effort_of(work, "story_points") for key, work in works.items()}
    result = alignment(efforts, BUCKET_OF, PLANNED, "story_points", "2026-Q1")
    assert [b.deviation for b in result.buckets] == pytest.approx([0.25, 0.0, -0.15, -0.10])
    assert result.av == pytest.approx(0.25)


def test_targets_changing_between_quarters_change_the_variance() -> None:
    """The same effort, GROWTH 6 and PLATFORM 4 days, against two quarters' plans.

    GROWTH's target is .6 from 2026-Q1 and .3 from 2026-Q2; PLATFORM's .4, then .6; unaligned
    0, then .1. Q1: actual .6/.4/0 is the plan, AV 0. Q2: deviations +.3/-.2/-.1, AV = .3.
    """
    themes = [
        Theme(key="GROWTH", name="Growth", jql="g.jql", target={"2026-Q1": 0.6, "2026-Q2": 0.3}),
        Theme(
            key="PLATFORM", name="Platform", jql="p.jql", target={"2026-Q1": 0.4, "2026-Q2": 0.6}
        ),
    ]
    unaligned = {"2026-Q1": 0.0, "2026-Q2": 0.1}
    efforts = {"G-1": 6.0, "P-1": 4.0}
    by_quarter = {
        quarter: alignment(
            efforts, BUCKET_OF, planned_shares(themes, unaligned, quarter), "active_days", quarter
        )
        for quarter in ("2026-Q1", "2026-Q2")
    }
    assert by_quarter["2026-Q1"].av == pytest.approx(0.0)
    assert by_quarter["2026-Q2"].av == pytest.approx(0.3)
    q2 = by_quarter["2026-Q2"].buckets
    assert [b.planned for b in q2] == [0.3, 0.6, 0.1]
    assert [b.deviation for b in q2] == pytest.approx([0.3, -0.2, -0.1])


@pytest.mark.parametrize(
    "efforts", [{}, {"G-1": 0.0, "U-1": 0.0}], ids=["no items", "items with no effort"]
)
def test_zero_effort_is_no_data_not_zero(efforts: dict[str, float]) -> None:
    """With no effort at all AV, shares and deviations are None, never 0."""
    result = alignment(efforts, BUCKET_OF, PLANNED, "items", "2026-Q1")
    assert not result.has_data
    assert result.av is None
    assert result.total_effort == 0.0
    assert all(b.actual is None and b.deviation is None for b in result.buckets)
    assert [b.planned for b in result.buckets] == [0.5, 0.25, 0.15, 0.10]
    assert result.keys == ()


@pytest.mark.parametrize(
    ("bucket_of", "message"),
    [
        ({"X-1": "GONE"}, "bucket 'GONE'"),
        ({}, "item X-1 has no bucket"),
    ],
    ids=["bucket not planned", "item not attributed"],
)
def test_an_unplanned_bucket_is_a_programming_error(
    bucket_of: dict[str, str], message: str
) -> None:
    """An item whose bucket has no planned share (or that has no bucket) raises ValueError."""
    with pytest.raises(ValueError, match=message):
        alignment({"X-1": 1.0}, bucket_of, PLANNED, "items", "2026-Q1")


def test_negative_effort_is_a_programming_error() -> None:
    """Effort is never negative; a negative value raises ValueError naming the item."""
    with pytest.raises(ValueError, match="G-1"):
        alignment({"G-1": -1.0}, BUCKET_OF, PLANNED, "items", "2026-Q1")


# --- properties ----------------------------------------------------------------------------------

BUCKETS = ("A", "B", "C", UNALIGNED)


@st.composite
def plans(draw: st.DrawFn) -> dict[str, float]:
    """Planned shares for the four buckets summing to 1 (at least one bucket planned)."""
    weights = draw(st.lists(st.integers(0, 100), min_size=4, max_size=4).filter(any))
    return {bucket: weight / sum(weights) for bucket, weight in zip(BUCKETS, weights, strict=True)}


efforts_by_item = st.dictionaries(
    st.text("ABCDEFGHIJ-0123456789", min_size=1, max_size=6),
    st.tuples(st.sampled_from(BUCKETS), st.floats(0, 1e6)),
    max_size=30,
)


def run(entries: dict[str, tuple[str, float]], planned: dict[str, float]) -> Alignment:
    efforts = {key: value for key, (_, value) in entries.items()}
    bucket_of = {key: bucket for key, (bucket, _) in entries.items()}
    return alignment(efforts, bucket_of, planned, "active_days", "2026-Q1")


@given(efforts_by_item, plans())
def test_av_lies_between_0_and_1(
    entries: dict[str, tuple[str, float]], planned: dict[str, float]
) -> None:
    """For any non-negative efforts and shares summing to 1, AV is in [0, 1] or no data."""
    result = run(entries, planned)
    if result.total_effort > 0:
        assert result.av is not None
        assert 0.0 <= result.av <= 1.0
    else:
        assert result.av is None


@given(efforts_by_item, plans())
def test_actual_shares_sum_to_1_when_there_is_effort(
    entries: dict[str, tuple[str, float]], planned: dict[str, float]
) -> None:
    """Whenever the total effort is positive the actual shares sum to 1."""
    result = run(entries, planned)
    if result.total_effort > 0:
        assert sum(b.actual or 0.0 for b in result.buckets) == pytest.approx(1.0)


@given(efforts_by_item, plans(), st.randoms(use_true_random=False))
def test_alignment_does_not_depend_on_item_order(
    entries: dict[str, tuple[str, float]], planned: dict[str, float], rng: Random
) -> None:
    """Shuffling the effort mapping gives exactly the same result, to the last bit."""
    shuffled = list(entries.items())
    rng.shuffle(shuffled)
    assert run(dict(shuffled), planned) == run(entries, planned)
