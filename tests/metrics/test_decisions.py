"""Decision lag: decision time D, execution start E, lag E - D over decisions made in a period,
work before decision, pending decisions with their ages, and decision to delivery.

The period is March 2026 in UTC: [03-01 00:00, 04-01 00:00). A day is 86,400 s. The status
catalogue is a small Jira in which "Approved" and its German twin "Genehmigt" sit in the ``new``
category (as "Selected for Development" does), so a decision does not start the flow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import FlowState
from restrat_sync.metrics.decisions import (
    DecisionFacts,
    DecisionTally,
    Outcome,
    decision_facts,
    decision_lag,
    decision_time,
    summarize,
    tally,
)
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.periods import Period
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

CATEGORIES = {  # status id (here: the name) -> category
    "Funnel": "new",
    "Open": "new",
    "Approved": "new",
    "Genehmigt": "new",
    "In Progress": "indeterminate",
    "Done": "done",
    "Won't Do": "done",
}
STATUS_MAP: dict[str, FlowState] = {"Won't Do": "cancelled"}
MARCH = Period(
    "2026-03",
    "month",
    datetime(2026, 3, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
    "2026-Q1",
)


def at(text: str) -> datetime:
    """``"2026-03-05"`` or ``"2026-03-05 12:00"`` as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def item(
    created: str, *moves: tuple[str, str, str], status: str = "Open", key: str = "EPIC-1"
) -> WorkItem:
    """A level-1 item created at ``created`` in ``status`` (or in the first move's from-status)
    with status changes ``(when, from, to)``, numbered in the order given."""
    changes = tuple(
        StatusChange(at(when), history_id, 0, old, old, new, new)
        for history_id, (when, old, new) in enumerate(moves, start=1)
    )
    current = max(changes, key=lambda c: (c.at, c.history_id)).to_status if changes else status
    assert current is not None
    return WorkItem(
        key=key,
        summary=key,
        project="P",
        issuetype="Epic",
        level=1,
        status_id=current,
        status=current,
        created=at(created),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority=None,
        parent_key=None,
        status_changes=changes,
    )


def timeline(work: WorkItem) -> Timeline:
    return build_timeline(work, FlowStates(STATUS_MAP, CATEGORIES))


def facts(
    key: str,
    decided: str | None,
    started: str | None,
    end: str | None = None,
    outcome: Outcome | None = None,
) -> DecisionFacts:
    """Decision facts from day texts; an ``end`` without an outcome is a ``done`` end."""
    if end is not None and outcome is None:
        outcome = "done"
    return DecisionFacts(
        key,
        None if decided is None else at(decided),
        None if started is None else at(started),
        None if end is None else at(end),
        outcome,
    )


# --- decision time ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "status"),
    [
        ("Approved", "Approved"),
        ("approved", "Approved"),
        ("APPROVED", "Approved"),
        ("genehmigt", "Genehmigt"),
        ("Straße frei", "STRASSE FREI"),  # casefold: ß is ss
    ],
)
def test_decision_statuses_match_by_casefolded_name(configured: str, status: str) -> None:
    """Created 03-01 in Funnel; Funnel -> <status> 03-05, -> In Progress 03-09: D = 03-05."""
    work = item(
        "2026-03-01",
        ("2026-03-05", "Funnel", status),
        ("2026-03-09", status, "In Progress"),
    )
    assert decision_time(work, timeline(work), [configured]) == at("2026-03-05")


def test_decision_time_is_the_first_entry_into_a_decision_status() -> None:
    """Approved 03-03, back to Funnel 03-04, Approved again 03-06 (changes given out of order):
    D = the first entry, 03-03."""
    work = item(
        "2026-03-01",
        ("2026-03-06", "Funnel", "Approved"),
        ("2026-03-03", "Funnel", "Approved"),
        ("2026-03-04", "Approved", "Funnel"),
    )
    assert decision_time(work, timeline(work), ["Approved"]) == at("2026-03-03")


def test_any_configured_status_decides() -> None:
    """Statuses [Approved, Genehmigt]: Funnel -> Genehmigt 03-02 decides first; D = 03-02."""
    work = item(
        "2026-03-01",
        ("2026-03-02", "Funnel", "Genehmigt"),
        ("2026-03-07", "Genehmigt", "Approved"),
    )
    assert decision_time(work, timeline(work), ["Approved", "Genehmigt"]) == at("2026-03-02")


@pytest.mark.parametrize(
    "work",
    [
        item("2026-03-01 08:00", ("2026-03-04", "Approved", "In Progress")),
        item("2026-03-01 08:00", status="Approved"),
    ],
    ids=["changed-later", "never-changed"],
)
def test_an_item_created_approved_was_decided_at_creation(work: WorkItem) -> None:
    """Created 03-01 08:00 in Approved (the first change's from-status, or the current status
    of an item that never changed): D = its creation, 03-01 08:00."""
    assert decision_time(work, timeline(work), ["Approved"]) == at("2026-03-01 08:00")


def test_without_statuses_the_decision_is_the_first_move_out_of_new() -> None:
    """No statuses configured. Open -> Approved 03-02 stays in ``new`` (category new); Approved
    -> In Progress 03-06 is the first entry into another state: D = 03-06. With Approved
    configured, D would be 03-02."""
    work = item(
        "2026-03-01",
        ("2026-03-02", "Open", "Approved"),
        ("2026-03-06", "Approved", "In Progress"),
    )
    assert decision_time(work, timeline(work), []) == at("2026-03-06")
    assert decision_time(work, timeline(work), ["Approved"]) == at("2026-03-02")


def test_without_statuses_an_item_created_in_progress_was_decided_at_creation() -> None:
    """No statuses; created 03-01 in In Progress (active) and never changed: D = 03-01."""
    work = item("2026-03-01", status="In Progress")
    assert decision_time(work, timeline(work), []) == at("2026-03-01")


@pytest.mark.parametrize("statuses", [["Approved"], []], ids=["configured", "none-configured"])
def test_an_item_never_decided_has_no_decision_time(statuses: list[str]) -> None:
    """Open -> Funnel 03-02 only: never approved, never out of ``new``: D = None."""
    work = item("2026-03-01", ("2026-03-02", "Open", "Funnel"))
    assert decision_time(work, timeline(work), statuses) is None


def test_decision_facts_take_the_earliest_descendant_start_and_the_own_end() -> None:
    """Approved 03-02, Done 03-20. Descendant starts None, 03-10, 03-07: E = 03-07 (None means
    not started and is skipped); end 03-20 with outcome done."""
    work = item(
        "2026-03-01",
        ("2026-03-02", "Open", "Approved"),
        ("2026-03-08", "Approved", "In Progress"),
        ("2026-03-20", "In Progress", "Done"),
    )
    starts = [None, at("2026-03-10"), at("2026-03-07")]
    assert decision_facts(work, timeline(work), starts, ["Approved"]) == DecisionFacts(
        "EPIC-1", at("2026-03-02"), at("2026-03-07"), at("2026-03-20"), "done"
    )


@pytest.mark.parametrize(
    ("last", "end", "outcome"),
    [
        ("Won't Do", at("2026-03-09"), "cancelled"),
        ("In Progress", None, None),
    ],
)
def test_decision_facts_outcome(last: str, end: datetime | None, outcome: str | None) -> None:
    """Approved 03-02, then <last> 03-09: Won't Do ends it cancelled on 03-09; In Progress
    leaves it open. No descendants: E = None."""
    work = item("2026-03-01", ("2026-03-02", "Open", "Approved"), ("2026-03-09", "Approved", last))
    result = decision_facts(work, timeline(work), [], ["Approved"])
    assert (result.execution_start, result.end, result.outcome) == (None, end, outcome)


# --- decision lag ----------------------------------------------------------------------------

LAGS = [
    facts("A-1", "2026-03-02", "2026-03-04"),  # 2 days
    facts("A-2", "2026-03-05", "2026-03-10"),  # 5 days
    facts("A-3", "2026-03-10", "2026-03-20"),  # 10 days
    facts("EARLY", "2026-03-12", "2026-03-08"),  # work started 4 days before the decision
    facts("FEB", "2026-02-20", "2026-03-01"),  # decided before March
    facts("APR", "2026-04-01", "2026-04-03"),  # decided at the period's (exclusive) end
]
AS_OF = at("2026-04-01")


def test_decision_lag_median_and_p85_over_decisions_in_the_period() -> None:
    """Lags 2, 5, 10 days. Median = 5. p85: rank (3-1) x 0.85 = 1.7, so 5 + (10-5) x 0.7 = 8.5."""
    result = decision_lag(LAGS, MARCH, AS_OF, 14)
    assert (result.count, result.median_days) == (3, 5.0)
    assert result.p85_days == pytest.approx(8.5)
    assert result.keys == ("A-1", "A-2", "A-3")


def test_work_before_decision_is_counted_apart() -> None:
    """EARLY: D 03-12, E 03-08, so E < D. Counted in work_before_decision (1), never as a lag
    of -4 days: the median stays 5 over A-1..A-3."""
    result = decision_lag(LAGS, MARCH, AS_OF, 14)
    assert result.work_before_decision == 1
    assert result.work_before_decision_keys == ("EARLY",)
    assert result.median_days == 5.0


def test_decisions_outside_the_period_are_ignored() -> None:
    """FEB (D 02-20) and APR (D 04-01, the exclusive end) are outside March: only A-1..A-3."""
    result = decision_lag(LAGS, MARCH, AS_OF, 14)
    assert "FEB" not in result.keys
    assert "APR" not in result.keys
    assert result.count == 3


def test_a_lag_of_zero_is_a_lag_not_work_before_decision() -> None:
    """D = E = 03-05: lag 0 days, counted; nothing before the decision."""
    result = decision_lag([facts("Z", "2026-03-05", "2026-03-05")], MARCH, AS_OF, 14)
    assert (result.count, result.median_days, result.work_before_decision) == (1, 0.0, 0)


def test_no_decisions_is_no_data() -> None:
    """Nothing decided in March: count 0 and the median and p85 are None, not 0."""
    result = decision_lag([facts("FEB", "2026-02-20", "2026-03-01")], MARCH, AS_OF, 14)
    assert (result.count, result.median_days, result.p85_days) == (0, None, None)
    assert (result.delivery_count, result.delivery_median_days) == (0, None)


PENDING = [
    facts("P-1", "2026-03-01", None),  # age 19 days: over 14
    facts("P-2", "2026-03-06", None),  # age exactly 14 days: not over
    facts("P-3", "2026-03-10", "2026-03-25"),  # work starts after as_of: age 10
    facts("P-4", "2026-02-01", None, "2026-03-25", "cancelled"),  # ends after as_of: age 47
    facts("GONE", "2026-03-05", None, "2026-03-15", "cancelled"),  # finished by as_of
    facts("LATER", "2026-03-25", None),  # decided after as_of
    facts("BUSY", "2026-03-02", "2026-03-04"),  # work started by as_of
    facts("UNDECIDED", None, None),
]


def test_pending_decisions_with_ages_oldest_first() -> None:
    """as_of 03-20 (now, inside March). Pending: D <= as_of, no start and no end by as_of.
    P-4: 03-20 - 02-01 = 47 d (a February decision still waiting counts); P-1: 19 d; P-2: 14 d;
    P-3: 10 d (its work starts 03-25). GONE ended 03-15, LATER is decided 03-25, BUSY started
    03-04, UNDECIDED has no D."""
    result = decision_lag(PENDING, MARCH, at("2026-03-20"), 14)
    assert result.pending == (("P-4", 47.0), ("P-1", 19.0), ("P-2", 14.0), ("P-3", 10.0))


def test_pending_over_alert_excludes_an_age_of_exactly_alert_days() -> None:
    """alert_days 14: P-4 (47 d) and P-1 (19 d) are over; P-2 at exactly 14 d is not."""
    result = decision_lag(PENDING, MARCH, at("2026-03-20"), 14)
    assert result.pending_over_alert == 2
    assert result.pending_over_alert_keys == ("P-1", "P-4")
    assert result.alert_days == 14


def test_decision_to_delivery() -> None:
    """E -> own end for items done in March with E <= end. X-1: 03-01 -> 03-11 = 10 d; X-2:
    02-20 -> 03-05 = 13 d. Median 11.5; p85: rank 0.85, 10 + 3 x 0.85 = 12.55. X-3 was
    cancelled, X-4 ends 04-02, X-5's work started after its end, X-6 has no E."""
    delivered = [
        facts("X-1", "2026-02-25", "2026-03-01", "2026-03-11"),
        facts("X-2", None, "2026-02-20", "2026-03-05"),
        facts("X-3", "2026-02-25", "2026-03-01", "2026-03-21", "cancelled"),
        facts("X-4", "2026-02-25", "2026-03-10", "2026-04-02"),
        facts("X-5", "2026-02-25", "2026-03-15", "2026-03-10"),
        facts("X-6", "2026-02-25", None, "2026-03-10"),
    ]
    result = decision_lag(delivered, MARCH, AS_OF, 14)
    assert result.delivery_count == 2
    assert result.delivery_median_days == 11.5
    assert result.delivery_p85_days == pytest.approx(12.55)
    assert result.delivery_keys == ("X-1", "X-2")


# --- properties ------------------------------------------------------------------------------

BASE = at("2026-02-01")
OUTCOMES: tuple[Outcome, ...] = ("done", "cancelled")
moments = st.one_of(
    st.none(),
    st.integers(0, 90 * 24).map(lambda hours: BASE + timedelta(hours=hours)),
)
portfolios = st.lists(
    st.tuples(moments, moments, moments, st.sampled_from(OUTCOMES)),
    max_size=25,
).map(
    lambda rows: [
        DecisionFacts(f"K-{i}", d, e, end, None if end is None else outcome)
        for i, (d, e, end, outcome) in enumerate(rows)
    ]
)


@given(portfolios, st.integers(0, 60 * 24))
def test_lags_are_never_negative(decisions: list[DecisionFacts], hours: int) -> None:
    """Whatever D, E and end: lag, delivery and pending ages are >= 0, and every decision made
    in the period with an E is either measured or counted as work before decision."""
    result = decision_lag(decisions, MARCH, BASE + timedelta(hours=hours), 14)
    figures = [
        result.median_days,
        result.p85_days,
        result.delivery_median_days,
        result.delivery_p85_days,
    ]
    assert all(value >= 0 for value in figures if value is not None)
    assert all(age >= 0 for _, age in result.pending)
    made = [
        f for f in decisions if f.decided_at and f.execution_start and MARCH.contains(f.decided_at)
    ]
    assert result.count + result.work_before_decision == len(made)


@given(portfolios, st.randoms(use_true_random=False))
def test_decision_lag_does_not_depend_on_the_order_of_decisions(
    decisions: list[DecisionFacts], random: Random
) -> None:
    """Shuffling the decisions changes nothing in the result."""
    shuffled = list(decisions)
    random.shuffle(shuffled)
    as_of = at("2026-03-20")
    assert decision_lag(shuffled, MARCH, as_of, 14) == decision_lag(decisions, MARCH, as_of, 14)


@given(portfolios, st.randoms(use_true_random=False))
def test_merged_tallies_of_disjoint_parts_give_the_decision_lag_of_the_whole(
    decisions: list[DecisionFacts], random: Random
) -> None:
    """Tallying the decisions in two parts (scopes, say) and merging the tallies gives the
    result of all of them."""
    parts: list[list[DecisionFacts]] = [[], []]
    for facts in decisions:
        parts[random.randrange(2)].append(facts)
    as_of = at("2026-03-20")
    merged = DecisionTally.merged([tally(part, MARCH, as_of) for part in parts])
    assert summarize(merged, 14) == decision_lag(decisions, MARCH, as_of, 14)
