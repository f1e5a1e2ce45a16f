"""Flow metrics over hand-built stories in ISO week 2026-W47, cut in Europe/Berlin.

W47 runs from Monday 2026-11-16 00:00 Berlin (2026-11-15 23:00Z) to Monday 2026-11-23 00:00
Berlin (2026-11-22 23:00Z), exclusive. All times below are UTC. Each story is given as its moves:
(time, status entered), starting from "To Do" at creation.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import FlowCategory, FlowDistribution, FlowState
from restrat_sync.metrics.flow import (
    Categorizer,
    FlowMetrics,
    FlowTally,
    flow_metrics,
    summarize,
    tally,
)
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

STATUS_MAP: dict[str, FlowState] = {
    "To Do": "new",
    "In Progress": "active",
    "Blocked": "waiting",
    "Done": "done",
    "Won't Do": "cancelled",
}
IDS = {name: str(number) for number, name in enumerate(STATUS_MAP, start=1)}
CATEGORIES = {"1": "new", "2": "indeterminate", "3": "indeterminate", "4": "done", "5": "done"}
W47 = Period(
    label="2026-W47",
    kind="week",
    start=datetime(2026, 11, 15, 23, 0, tzinfo=UTC),
    end=datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
    quarter="2026-Q4",
)
DEFAULTS = FlowDistribution()


def at(text: str) -> datetime:
    """``"2026-11-16 09:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def story(
    key: str,
    *moves: tuple[str, str],
    created: str = "2026-11-01 09:00",
    issuetype: str = "Story",
    labels: tuple[str, ...] = (),
) -> WorkItem:
    """A work item created in To Do that enters each status of ``moves`` at its time."""
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
        project="A",
        issuetype=issuetype,
        level=0,
        status_id=IDS[previous],
        status=previous,
        created=at(created),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=labels,
        priority=None,
        parent_key=None,
        status_changes=tuple(changes),
    )


def timeline(work: WorkItem) -> Timeline:
    return build_timeline(work, FlowStates(STATUS_MAP, CATEGORIES))


def metrics(
    *works: WorkItem, period: Period = W47, mapping: FlowDistribution = DEFAULTS
) -> FlowMetrics:
    """Flow metrics of ``works`` in ``period``."""
    return flow_metrics(
        [timeline(work) for work in works], {w.key: w for w in works}, period, mapping
    )


# Five stories finished in W47, with flow times 1, 2, 3, 5 and 10 days:
FIVE = (
    # A: active 11-16 09:00..11-17 09:00. flow 1, active 1, waiting 0.
    story("A-1", ("2026-11-16 09:00", "In Progress"), ("2026-11-17 09:00", "Done")),
    # B: active 1 day, blocked 1 day. flow 2, active 1, waiting 1.
    story(
        "A-2",
        ("2026-11-16 09:00", "In Progress"),
        ("2026-11-17 09:00", "Blocked"),
        ("2026-11-18 09:00", "Done"),
    ),
    # C: started the week before; active 1, blocked 1, active 1. flow 3, active 2, waiting 1.
    story(
        "A-3",
        ("2026-11-15 09:00", "In Progress"),
        ("2026-11-16 09:00", "Blocked"),
        ("2026-11-17 09:00", "In Progress"),
        ("2026-11-18 09:00", "Done"),
    ),
    # D: active 11-14 09:00..11-19 09:00. flow 5, active 5.
    story("A-4", ("2026-11-14 09:00", "In Progress"), ("2026-11-19 09:00", "Done")),
    # E: active 2 days, blocked 8 days. flow 10, active 2, waiting 8.
    story(
        "A-5",
        ("2026-11-10 09:00", "In Progress"),
        ("2026-11-12 09:00", "Blocked"),
        ("2026-11-20 09:00", "Done"),
    ),
)
STRAIGHT_TO_DONE = story("A-6", ("2026-11-18 09:00", "Done"))
CANCELLED = story("A-7", ("2026-11-16 09:00", "In Progress"), ("2026-11-17 09:00", "Won't Do"))
REOPENED = story(
    "A-8",
    ("2026-11-16 09:00", "In Progress"),
    ("2026-11-17 09:00", "Done"),
    ("2026-11-18 09:00", "In Progress"),
)


def test_velocity_counts_items_done_in_the_period() -> None:
    """A-1..A-5 done in W47 and A-6 (To Do -> Done, no start) make 6; cancelled A-7 and
    reopened A-8 do not count."""
    result = metrics(*FIVE, STRAIGHT_TO_DONE, CANCELLED, REOPENED).velocity
    assert result.count == 6
    assert result.keys == ("A-1", "A-2", "A-3", "A-4", "A-5", "A-6")


def test_flow_time_median_and_p85_interpolate_linearly() -> None:
    """Flow times [1, 2, 3, 5, 10]: median = 3.0; p85 at rank (5-1) x 0.85 = 3.4 between 5 and
    10: 5 + 0.4 x 5 = 7.0. Only A-5 (10 days) lies above p85, so it is the outlier."""
    result = metrics(*FIVE, STRAIGHT_TO_DONE, CANCELLED, REOPENED).flow_time
    assert result.count == 5
    assert result.median_days == 3.0
    assert result.p85_days == pytest.approx(7.0)
    assert result.keys == ("A-1", "A-2", "A-3", "A-4", "A-5")
    assert result.outliers == ("A-5",)


def test_items_without_start_are_listed_in_no_start_not_measured() -> None:
    """A-6 went To Do -> Done: counted by velocity, listed in no_start, not in flow time."""
    result = metrics(*FIVE, STRAIGHT_TO_DONE).flow_time
    assert result.no_start == ("A-6",)
    assert "A-6" not in result.keys
    assert result.count == 5


def test_flow_efficiency_is_pooled_over_the_measured_items() -> None:
    """Σ active = 1 + 1 + 2 + 5 + 2 = 11, Σ waiting = 0 + 1 + 1 + 0 + 8 = 10:
    11 / 21 = 0.5238 (a mean of per-item ratios would give 0.67 instead)."""
    result = metrics(*FIVE, STRAIGHT_TO_DONE, CANCELLED, REOPENED).efficiency
    assert (result.active_days, result.waiting_days) == (11.0, 10.0)
    assert result.value == pytest.approx(11 / 21)
    assert result.keys == ("A-1", "A-2", "A-3", "A-4", "A-5")


def test_nothing_finished_gives_no_data_not_zero() -> None:
    """No item done in the period: counts 0, every median, p85, rate and share None."""
    result = metrics(CANCELLED, REOPENED)
    assert result.velocity.count == 0
    assert (result.flow_time.median_days, result.flow_time.p85_days) == (None, None)
    assert result.efficiency.value is None
    assert result.distribution.shares is None
    assert result.distribution.counts == {"feature": 0, "defect": 0, "risk": 0, "debt": 0}


def test_only_unstarted_items_give_velocity_without_flow_time_or_efficiency() -> None:
    """A-6 alone: velocity 1, flow time and efficiency have nothing to measure (None)."""
    result = metrics(STRAIGHT_TO_DONE)
    assert result.velocity.count == 1
    assert result.flow_time.median_days is None
    assert result.flow_time.no_start == ("A-6",)
    assert result.efficiency.value is None


@pytest.mark.parametrize(
    ("done_at", "counted"),
    [
        ("2026-11-15 22:59", False),  # Sunday 23:59 Berlin: the week before
        ("2026-11-15 23:00", True),  # Monday 00:00 Berlin: W47's first instant
        ("2026-11-22 22:59", True),  # Sunday 23:59 Berlin: W47's last minute
        ("2026-11-22 23:00", False),  # Monday 00:00 Berlin: W48
    ],
)
def test_period_boundary_is_local_midnight_in_berlin(done_at: str, counted: bool) -> None:
    """W47 in Berlin is [2026-11-15 23:00Z, 2026-11-22 23:00Z): done at Berlin midnight counts
    for the week that starts there."""
    work = story("A-1", ("2026-11-10 09:00", "In Progress"), (done_at, "Done"))
    assert metrics(work).velocity.count == int(counted)


# Flow load at the end of W47 (2026-11-22 23:00Z):
LOAD = (
    # L-1 active since 11-02 23:00: age 20.0 days.
    story("L-1", ("2026-11-02 23:00", "In Progress")),
    # L-2 started 11-12 23:00, blocked since 11-20: waiting counts as load; age 10.0.
    story("L-2", ("2026-11-12 23:00", "In Progress"), ("2026-11-20 09:00", "Blocked")),
    # L-3 active since 11-20 23:00: age 2.0.
    story("L-3", ("2026-11-20 23:00", "In Progress")),
    # L-4 starts at the period's end itself: that instant belongs to W48.
    story("L-4", ("2026-11-22 23:00", "In Progress")),
    # L-5 done at 22:59, a minute before the end: not in load.
    story("L-5", ("2026-11-17 23:00", "In Progress"), ("2026-11-22 22:59", "Done")),
    # L-6 done exactly at the end: still active at the last instant of W47; age 5.0.
    story("L-6", ("2026-11-17 23:00", "In Progress"), ("2026-11-22 23:00", "Done")),
    # L-7 started, then put back to To Do: not in load although it has a start.
    story("L-7", ("2026-11-16 09:00", "In Progress"), ("2026-11-18 09:00", "To Do")),
    # L-8 never started.
    story("L-8"),
)


def test_flow_load_lists_active_and_waiting_items_at_period_end_with_ages() -> None:
    """In load: L-1 (20 d), L-2 (10 d), L-6 (5 d), L-3 (2 d), oldest first. p85 of
    [2, 5, 10, 20] at rank 3 x 0.85 = 2.55: 10 + 0.55 x 10 = 15.5."""
    result = metrics(*LOAD).load
    assert result.count == 4
    assert result.keys == ("L-1", "L-2", "L-3", "L-6")
    assert [key for key, _ in result.ages] == ["L-1", "L-2", "L-6", "L-3"]
    assert [age for _, age in result.ages] == pytest.approx([20.0, 10.0, 5.0, 2.0])
    assert result.age_p85_days == pytest.approx(15.5)


def test_reopened_item_is_load_not_velocity() -> None:
    """A-8: done 11-17, reopened 11-18 and active at W47's end: load with age 11-16 09:00 ->
    11-22 23:00 = 6 d 14 h = 6.5833 days; velocity 0."""
    result = metrics(REOPENED)
    assert result.velocity.count == 0
    assert [key for key, _ in result.load.ages] == ["A-8"]
    assert result.load.ages[0][1] == pytest.approx(6 + 14 / 24)


def test_empty_load_has_no_age_percentile() -> None:
    """Nothing in progress at the end: count 0, p85 None."""
    result = metrics(*FIVE).load
    assert (result.count, result.age_p85_days, result.ages) == (0, None, ())


def test_distribution_uses_type_then_config_label_order_then_default() -> None:
    """Defaults (Bug -> defect; labels tech-debt, debt -> debt; security, risk, compliance ->
    risk; else feature), five items done in W47:
    - Bug labelled security -> defect (the issue type wins over labels);
    - Story labelled (security, tech-debt) -> debt (tech-debt comes first in the config's
      order, whatever the item's own order);
    - Story labelled Compliance -> risk (labels match case-insensitively);
    - Story without labels, Task labelled frontend -> feature.
    Shares 2/5, 1/5, 1/5, 1/5; the cancelled Bug does not count."""
    done = (("2026-11-16 09:00", "In Progress"), ("2026-11-17 09:00", "Done"))
    result = metrics(
        story("D-1", *done, issuetype="Bug", labels=("security",)),
        story("D-2", *done, labels=("security", "tech-debt")),
        story("D-3", *done, labels=("Compliance",)),
        story("D-4", *done),
        story("D-5", *done, issuetype="Task", labels=("frontend",)),
        story("D-6", ("2026-11-16 09:00", "Won't Do"), issuetype="Bug"),
    ).distribution
    assert result.counts == {"feature": 2, "defect": 1, "risk": 1, "debt": 1}
    assert result.shares == pytest.approx({"feature": 0.4, "defect": 0.2, "risk": 0.2, "debt": 0.2})
    assert result.keys == {
        "feature": ("D-4", "D-5"),
        "defect": ("D-1",),
        "risk": ("D-3",),
        "debt": ("D-2",),
    }


CUSTOM = FlowDistribution(
    issue_types={"Spike": "debt", "bug": "defect"},
    labels={"risk": "risk", "debt": "debt"},
    default="feature",
)


@pytest.mark.parametrize(
    ("issuetype", "labels", "expected"),
    [
        ("Spike", ("risk",), "debt"),  # type first
        ("BUG", (), "defect"),  # type names match case-insensitively
        ("Story", ("debt", "risk"), "risk"),  # config order: risk before debt
        ("Story", ("RISK",), "risk"),
        ("Story", ("other",), "feature"),
        ("Story", (), "feature"),
    ],
)
def test_categorizer_precedence_with_a_custom_mapping(
    issuetype: str, labels: tuple[str, ...], expected: FlowCategory
) -> None:
    """Issue type mapping, then the first configured label the item carries, then default."""
    assert Categorizer(CUSTOM).of(story("C-1", issuetype=issuetype, labels=labels)) == expected


# --- Properties ------------------------------------------------------------------------------

STATUSES = list(STATUS_MAP)
BASE = datetime(2026, 11, 1, tzinfo=UTC)


@st.composite
def portfolios(draw: st.DrawFn) -> list[WorkItem]:
    """Up to 12 stories with random status walks over November, some finishing in W47."""
    works: list[WorkItem] = []
    for number in range(draw(st.integers(0, 12))):
        hours = sorted(draw(st.lists(st.integers(1, 30 * 24), max_size=6)))
        names = draw(st.lists(st.sampled_from(STATUSES), min_size=len(hours), max_size=len(hours)))
        moves = [
            ((BASE + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M"), name)
            for h, name in zip(hours, names, strict=True)
        ]
        labels = draw(st.lists(st.sampled_from(["debt", "risk", "security", "x"]), max_size=2))
        kind = draw(st.sampled_from(["Story", "Bug"]))
        works.append(
            story(
                f"P-{number}",
                *moves,
                created="2026-11-01 00:00",
                issuetype=kind,
                labels=tuple(labels),
            )
        )
    return works


@given(portfolios())
def test_flow_efficiency_lies_between_0_and_1(works: list[WorkItem]) -> None:
    """Efficiency is None or in [0, 1]; flow-time counts add up to velocity."""
    result = metrics(*works)
    value = result.efficiency.value
    assert value is None or 0.0 <= value <= 1.0
    assert result.flow_time.count + len(result.flow_time.no_start) == result.velocity.count
    assert sum(result.distribution.counts.values()) == result.velocity.count


@given(portfolios(), st.randoms())
def test_results_do_not_depend_on_item_or_changelog_order(
    works: list[WorkItem], rng: Random
) -> None:
    """Shuffling the timelines and each item's status changes gives equal results."""
    shuffled = [_shuffled_changes(work, rng) for work in works]
    rng.shuffle(shuffled)
    assert metrics(*shuffled) == metrics(*works)


def _shuffled_changes(work: WorkItem, rng: Random) -> WorkItem:
    changes = list(work.status_changes)
    rng.shuffle(changes)
    return replace(work, status_changes=tuple(changes))


@given(portfolios(), st.randoms(use_true_random=False))
def test_merged_tallies_of_disjoint_parts_give_the_metrics_of_the_whole(
    works: list[WorkItem], rng: Random
) -> None:
    """Tallying the timelines in three parts (scopes, say) and merging the tallies gives the
    metrics of all of them."""
    parts: list[list[Timeline]] = [[], [], []]
    for work in works:
        parts[rng.randrange(3)].append(timeline(work))
    merged = FlowTally.merged([tally(part, W47) for part in parts])
    items = {work.key: work for work in works}
    assert summarize(merged, items, Categorizer(DEFAULTS)) == metrics(*works)
