"""Per-initiative scopes, hand-worked (docs/metrics.md, "Initiatives").

Builders and dates are those of ``test_history_attribution``: ``day(n)`` is n November 2026 at
09:00 UTC, ``oct_day(n)`` the same in October; the first sync listed the themes on 1 November;
effort is in active days; computed on 5 December.

The portfolio, as Jira has it now:

- GROWTH anchors INIT-A, INIT-C (initiatives) and EPIC-9 (an epic); RELIABILITY anchors
  INIT-B. The anchors' most common level is 2, so the initiatives are the items at level 2
  that a theme reached: INIT-A, INIT-B, INIT-C. INIT-D, at level 2 too, hangs from no theme:
  it is no initiative.
- INIT-C <- EPIC-1 (re-parented from INIT-A to INIT-C on day 16; In Progress on October 1, its
  decision) <- S-1 (In Progress day 9 .. Done day 23, due November 30) and S-3 (In Progress
  October 5 .. Done October 15).
- INIT-B <- EPIC-2 (In Progress day 1) <- S-2 (In Progress day 2 .. Done day 6, due November 5).
- INIT-D <- EPIC-4 (In Progress day 10, no work below it) and EPIC-5 <- S-5 (In Progress from
  day 20 on).
- EPIC-9 <- S-9 (In Progress day 1 .. Done day 3): GROWTH, below no initiative.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.config import AttributionMode, Config
from restrat_sync.metrics.compute import OVERALL, compute_periods, initiative_scope, prepare
from restrat_sync.metrics.results import as_json
from restrat_sync.model.periods import parse_period
from restrat_sync.model.structure import MemberSpan
from tests.metrics.test_history_attribution import (
    FIRST_SYNC,
    MONTHS,
    NOW,
    config,
    day,
    oct_day,
    portfolio,
    random_portfolio,
    reparent,
    work,
)

A, B, C, D = (initiative_scope(f"INIT-{letter}") for letter in "ABCD")
ANCHORS = (
    MemberSpan("GROWTH", "INIT-A", FIRST_SYNC, None),
    MemberSpan("GROWTH", "INIT-C", FIRST_SYNC, None),
    MemberSpan("GROWTH", "EPIC-9", FIRST_SYNC, None),
    MemberSpan("RELIABILITY", "INIT-B", FIRST_SYNC, None),
)


def due(value: Any, day_of_november: int) -> Any:
    return replace(value, duedate=date(2026, 11, day_of_november))


def initiatives_portfolio(moved: bool = True) -> CachedPortfolio:
    """The portfolio of the module docstring; with ``moved=False`` as it was before day 16."""
    epic_1 = work("EPIC-1", "Epic", "INIT-C" if moved else "INIT-A", (oct_day(1), "In Progress"))
    if moved:
        epic_1 = replace(epic_1, field_changes=(reparent(day(16), "INIT-A", "INIT-C"),))
    return portfolio(
        *(work(f"INIT-{letter}", "Initiative", None) for letter in "ABCD"),
        epic_1,
        due(work("S-1", "Story", "EPIC-1", (day(9), "In Progress"), (day(23), "Done")), 30),
        work("S-3", "Story", "EPIC-1", (oct_day(5), "In Progress"), (oct_day(15), "Done")),
        work("EPIC-2", "Epic", "INIT-B", (day(1), "In Progress")),
        due(work("S-2", "Story", "EPIC-2", (day(2), "In Progress"), (day(6), "Done")), 5),
        work("EPIC-4", "Epic", "INIT-D", (day(10), "In Progress")),
        work("EPIC-5", "Epic", "INIT-D"),
        work("S-5", "Story", "EPIC-5", (day(20), "In Progress")),
        work("EPIC-9", "Epic", None),
        work("S-9", "Story", "EPIC-9", (day(1), "In Progress"), (day(3), "Done")),
        spans=ANCHORS,
    )


def compute(
    cached: CachedPortfolio, label: str, attribution: AttributionMode = "history", **kw: Any
) -> Any:
    prepared = prepare(cached, config(attribution, **kw))
    return compute_periods(prepared, [parse_period(label, NOW, "UTC")], NOW)[0]


def test_each_initiative_gets_the_metrics_of_the_work_below_it() -> None:
    """November, by initiative:

    - INIT-C: S-1 finished below it (EPIC-1 moved there on day 16): velocity 1, flow time
      day 9 -> 23 = 14 days; due November 30, done on the 23rd: on time, rate 1.
    - INIT-B: S-2, velocity 1, flow time 4; due November 5, done on the 6th: late, rate 0.
      EPIC-2 decided on day 1 (In Progress), its work started on day 2: a lag of 1 day.
    - INIT-A: nothing finished, nothing due, no decision: velocity 0, no flow time, no rate.
    - S-9 hangs from no initiative, nor do EPIC-4 and S-5 below INIT-D, which no theme
      reaches: they are in no initiative scope, and INIT-D has none. S-5 is in progress at the
      end (1 December), age 1 Dec 00:00 - 20 Nov 09:00 = 10.625 days: the unaligned load."""
    november = compute(initiatives_portfolio(), "2026-11")
    assert november.of(C, "flow").velocity.keys == ("S-1",)
    assert november.of(C, "flow").flow_time.median_days == pytest.approx(14)
    assert november.of(C, "predictability").on_time_keys == ("S-1",)
    assert november.of(C, "predictability").rate == 1.0
    assert november.of(B, "flow").velocity.keys == ("S-2",)
    assert november.of(B, "flow").flow_time.median_days == pytest.approx(4)
    assert november.of(B, "predictability").late_keys == ("S-2",)
    assert november.of(B, "predictability").rate == 0.0
    assert november.of(B, "decision_lag").keys == ("EPIC-2",)
    assert november.of(B, "decision_lag").median_days == pytest.approx(1)
    assert november.of(D, "flow") is None
    assert november.of("unaligned", "flow").load.ages == (("S-5", pytest.approx(10.625)),)
    assert november.of(A, "flow").velocity.count == 0
    assert november.of(A, "flow").flow_time.median_days is None
    assert november.of(A, "predictability").rate is None
    assert november.of(A, "decision_lag").count == 0


def test_initiative_scopes_are_not_merged_into_overall() -> None:
    """Overall velocity is S-1, S-2 and S-9, each once, though S-1 and S-2 are also counted
    in an initiative; the initiative scopes hold S-1 and S-2 only (S-9 is below none)."""
    november = compute(initiatives_portfolio(), "2026-11")
    assert november.of(OVERALL, "flow").velocity.keys == ("S-1", "S-2", "S-9")
    in_initiatives = [key for s in (A, B, C) for key in november.of(s, "flow").velocity.keys]
    assert sorted(in_initiatives) == ["S-1", "S-2"]


def test_an_item_moving_between_initiatives_mid_period_splits_its_effort_at_the_move() -> None:
    """EPIC-1 moved from INIT-A to INIT-C on day 16. November effort: S-1's 14 active days go
    7 to INIT-A (day 9 to 16) and 7 to INIT-C (day 16 to 23); both end November in GROWTH,
    whose effort is S-1's 14 + S-9's 2 = 16: each has a share of 7/16 = 0.4375. The re-parent
    is a pivot of INIT-C, where EPIC-1 was from that moment; it was active in both.
    October is unchanged by the move: S-3's 10 days are INIT-A's, a share of 10/10 = 1. With
    ``attribution: current`` the move rewrites October: everything is INIT-C's."""
    november = compute(initiatives_portfolio(), "2026-11")
    for scope in (A, C):
        effort = november.of(scope, "effort")
        assert (effort.theme, effort.effort, effort.effort_in_theme) == ("GROWTH", 7, 7)
        assert (effort.theme_effort, effort.share) == (16, pytest.approx(7 / 16))
        assert effort.keys == ("S-1",)
        assert november.of(scope, "pivots").active_decisions == 2  # the initiative, EPIC-1
    assert [(e.key, e.kind) for e in november.of(C, "pivots").events] == [("EPIC-1", "re_parent")]
    assert november.of(A, "pivots").events == ()

    october = compute(initiatives_portfolio(), "2026-10")
    before = compute(initiatives_portfolio(moved=False), "2026-10")
    assert as_json(october.results) == as_json(before.results)
    assert october.of(A, "effort").share == 1.0
    assert october.of(A, "decision_lag").keys == ("EPIC-1",)  # Oct 1 -> Oct 5: 4 days
    assert october.of(A, "decision_lag").median_days == pytest.approx(4)
    rewritten = compute(initiatives_portfolio(), "2026-10", "current")
    assert rewritten.of(A, "effort").effort == 0
    assert rewritten.of(C, "effort").effort == pytest.approx(10)


def test_a_theme_whose_work_is_all_below_its_initiatives_is_shared_out_whole() -> None:
    """RELIABILITY's only effort in November is S-2's 4 days, below INIT-B: share 1. GROWTH's
    initiatives share 14 of its 16 days: S-9 hangs from an epic anchor, below no initiative."""
    november = compute(initiatives_portfolio(), "2026-11")
    assert november.of(B, "effort").share == 1.0
    assert november.of(A, "effort").share + november.of(C, "effort").share == pytest.approx(14 / 16)


def test_an_initiative_changing_theme_mid_period_shares_only_what_it_spent_there() -> None:
    """INIT-A leaves GROWTH for RELIABILITY on day 16 (the syncs saw it). S-1 (below INIT-A,
    day 9 to 23) spent 7 days in GROWTH, then 7 in RELIABILITY; S-2 (below INIT-B) 4 in
    RELIABILITY. INIT-A ends November in RELIABILITY with an effort of 14, 7 of it there:
    share 7 / (7 + 4) = 7/11, and INIT-B's 4/11; together 1. Dividing all 14 days by
    RELIABILITY's 11 would claim 127% of the theme. The move is a theme change of INIT-A and
    of EPIC-1, both held by INIT-A then: two pivots of INIT-A."""
    spans = (
        MemberSpan("GROWTH", "INIT-A", FIRST_SYNC, day(16)),
        MemberSpan("RELIABILITY", "INIT-A", day(16), None),
        MemberSpan("RELIABILITY", "INIT-B", FIRST_SYNC, None),
    )
    cached = portfolio(
        work("INIT-A", "Initiative", None),
        work("INIT-B", "Initiative", None),
        work("EPIC-1", "Epic", "INIT-A"),
        work("S-1", "Story", "EPIC-1", (day(9), "In Progress"), (day(23), "Done")),
        work("EPIC-2", "Epic", "INIT-B"),
        work("S-2", "Story", "EPIC-2", (day(2), "In Progress"), (day(6), "Done")),
        spans=spans,
    )
    november = compute(cached, "2026-11")
    moved = november.of(A, "effort")
    assert (moved.theme, moved.effort, moved.effort_in_theme) == ("RELIABILITY", 14, 7)
    assert moved.share == pytest.approx(7 / 11)
    assert november.of(B, "effort").share == pytest.approx(4 / 11)
    events = november.of(A, "pivots").events
    assert [(e.key, e.kind, e.at) for e in events] == [
        ("EPIC-1", "theme_change", day(16)),
        ("INIT-A", "theme_change", day(16)),
    ]
    assert november.of(B, "pivots").events == ()


def test_effort_in_points_is_credited_where_the_item_finished() -> None:
    """With story points, S-1 (5 points, finished on day 23 below INIT-C) is all INIT-C's."""
    cached = initiatives_portfolio()
    s_1 = replace(cached.items["S-1"], story_points=5.0)
    november = compute(replace(cached, items={**cached.items, "S-1": s_1}), "2026-11",
                       measure="story_points")  # fmt: skip
    assert november.of(C, "effort").effort == 5
    assert november.of(A, "effort").effort == 0
    assert november.of(C, "effort").share == 1.0  # S-9 has no points: GROWTH's 5 are S-1's


def test_no_anchor_and_no_configured_level_means_no_initiatives() -> None:
    cached = replace(initiatives_portfolio(), theme_spans=(), members={})
    prepared = prepare(cached, config())
    assert prepared.initiatives == ()
    assert prepared.initiative_scopes() == []


def test_a_configured_level_overrides_the_anchors() -> None:
    """``hierarchy.initiative_level: 1``: the epics are the initiatives."""
    data = config().model_dump()
    data["hierarchy"]["initiative_level"] = 1
    prepared = prepare(initiatives_portfolio(), Config.model_validate(data))
    assert prepared.initiatives == ("EPIC-1", "EPIC-2", "EPIC-9")  # not INIT-D's epics


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["active_days", "story_points", "items"]))
def test_the_shares_of_a_themes_initiatives_never_sum_past_one(seed: int, measure: str) -> None:
    prepared = prepare(random_portfolio(seed, structural=True), config(measure=measure))
    periods = [parse_period(label, NOW, "UTC") for label in MONTHS]
    for result in compute_periods(prepared, periods, NOW):
        by_theme: dict[str, float] = {}
        for scope in prepared.initiative_scopes():
            effort = result.of(scope, "effort")
            by_theme[effort.theme] = by_theme.get(effort.theme, 0.0) + (effort.share or 0.0)
            assert effort.effort_in_theme <= effort.effort + 1e-9
        assert all(total <= 1 + 1e-9 for total in by_theme.values())


def test_every_item_is_in_at_most_one_initiative_at_a_time() -> None:
    """The initiative scopes are disjoint: over random portfolios, no finished item counts in
    two initiatives' velocity, and every one of them counts in ``overall``."""
    for seed in random.Random(7).sample(range(10_000), 15):
        prepared = prepare(random_portfolio(seed, structural=True), config())
        for result in compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW):
            keys = [
                key
                for scope in prepared.initiative_scopes()
                for key in result.of(scope, "flow").velocity.keys
            ]
            assert len(keys) == len(set(keys))
            assert set(keys) <= set(result.of(OVERALL, "flow").velocity.keys)


def test_computed_on_a_date_the_rolling_window_has_initiative_scopes_too() -> None:
    prepared = prepare(initiatives_portfolio(), config())
    window = parse_period("last-4-weeks", datetime(2026, 11, 24, tzinfo=UTC), "UTC")
    (result,) = compute_periods(prepared, [window], datetime(2026, 11, 24, tzinfo=UTC))
    assert {scope for scope, metric in result.results if metric == "effort"} == {A, B, C}


def test_an_initiative_nothing_touched_has_no_scope_in_the_period() -> None:
    """Before September nothing existed: no initiative scope in August. INIT-X, done on
    September 10 with nothing below it, has a scope in September and none in November."""
    cached = initiatives_portfolio()
    done = work("INIT-X", "Initiative", None, (datetime(2026, 9, 10, tzinfo=UTC), "Done"))
    spans = (*ANCHORS, MemberSpan("RELIABILITY", "INIT-X", FIRST_SYNC, None))
    cached = replace(cached, items={**cached.items, "INIT-X": done}, theme_spans=spans)
    cached.members["theme:RELIABILITY"].add("INIT-X")
    prepared = prepare(cached, config())
    periods = [parse_period(label, NOW, "UTC") for label in ("2026-08", "2026-09", "2026-11")]
    august, september, november = compute_periods(prepared, periods, NOW)
    assert not [scope for scope, _ in august.results if scope.startswith("initiative:")]
    x = initiative_scope("INIT-X")
    assert september.of(x, "pivots").active_decisions == 1
    assert november.of(x, "effort") is None
    assert november.of(A, "effort") is not None
