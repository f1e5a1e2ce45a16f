"""Metrics as of an instant (``metrics.asof``): at now an as-of run is a plain run, and before
it the graph of every earlier instant is the one the full history gives.

The portfolios are those of ``test_history_attribution`` (themes GROWTH and RELIABILITY, time
zone UTC, random work and re-parents between September and December 2026).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.cache.snapshots import ThemeSpan
from restrat_sync.metrics.asof import portfolio_as_of, run_history_as_of
from restrat_sync.metrics.compute import compute_current, compute_periods, prepare
from restrat_sync.metrics.results import as_json
from restrat_sync.model.items import StatusChange
from restrat_sync.model.periods import parse_period
from restrat_sync.model.structure import MemberSpan
from tests.metrics.test_history_attribution import (
    MONTHS,
    config,
    moved_epic_portfolio,
    portfolio,
    random_portfolio,
    work,
)

LATER = datetime(2027, 1, 1, tzinfo=UTC)  # after every change of the random portfolios


def everything(cached: CachedPortfolio, now: datetime) -> dict[tuple[str, ...], Any]:
    """Every period and current result, as stored."""
    prepared = prepare(cached, config())
    periods = [parse_period(label, now, "UTC") for label in [*MONTHS, "last-4-weeks"]]
    found = {
        (r.period.label, *key): as_json(value)
        for r in compute_periods(prepared, periods, now)
        for key, value in r.results.items()
    }
    found.update({("current", *k): as_json(v) for k, v in compute_current(prepared, now).items()})
    return found


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000))
def test_an_as_of_run_at_now_equals_a_plain_run(seed: int) -> None:
    cached = random_portfolio(seed, structural=True)
    assert portfolio_as_of(cached, LATER) == cached
    assert everything(portfolio_as_of(cached, LATER), LATER) == everything(cached, LATER)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 24 * 100))
def test_before_the_moment_every_item_has_the_theme_the_full_history_gives(
    seed: int, hours: int
) -> None:
    """Re-parents and links rebuilt as of T give, at every instant up to T, the theme the
    graph with memory gives from the whole changelog."""
    cached = random_portfolio(seed, structural=True)
    moment = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(hours=hours)
    full = prepare(cached, config()).history
    then = prepare(portfolio_as_of(cached, moment), config()).history
    instants = [moment - timedelta(days=days) for days in range(0, 100, 3)]
    for key in cached.items:
        assert [then.theme_at(key, t) for t in instants] == [
            full.theme_at(key, t) for t in instants
        ], key


def test_a_past_month_as_of_its_close_is_what_it_was_before_a_later_re_parent() -> None:
    """October as of 1 November, computed from today's cache (EPIC-1 re-parented on
    16 November, S-1 started on 9 November), equals October computed from the cache as it was
    before any of that, with now = 1 November."""
    close = datetime(2026, 11, 1, tzinfo=UTC)
    october = parse_period("2026-10", close, "UTC")
    then = prepare(portfolio_as_of(moved_epic_portfolio(), close), config())
    before = prepare(moved_epic_portfolio(moved=False), config())
    (as_of,) = compute_periods(then, [october], close)
    (plain,) = compute_periods(before, [october], close)
    assert {k: as_json(v) for k, v in as_of.results.items()} == {
        k: as_json(v) for k, v in plain.results.items()
    }


def test_the_themes_members_and_the_last_sync_are_those_of_the_moment() -> None:
    """INIT-B joined RELIABILITY on 10 November: as of the 5th it is no member yet, and the
    sync of 5 December had not happened; the earlier sync the reader found is the one."""
    spans = (
        MemberSpan("GROWTH", "INIT-A", datetime(2026, 11, 1, tzinfo=UTC), None),
        MemberSpan("RELIABILITY", "INIT-X", datetime(2026, 11, 1, tzinfo=UTC), None),
        MemberSpan("RELIABILITY", "INIT-B", datetime(2026, 11, 10, tzinfo=UTC), None),
    )
    cached = portfolio(
        work("INIT-A", "Initiative", None),
        work("INIT-B", "Initiative", None),
        work("INIT-X", "Initiative", None),
        spans=spans,
    )
    earlier = datetime(2026, 11, 4, tzinfo=UTC)
    then = portfolio_as_of(cached, datetime(2026, 11, 5, tzinfo=UTC), earlier)
    assert then.members["theme:RELIABILITY"] == {"INIT-X"}
    assert then.members["theme:GROWTH"] == {"INIT-A"}
    assert then.last_sync_at == earlier


def test_the_attribution_runs_recorded_are_those_recorded_by_then() -> None:
    at = datetime(2026, 11, 5, tzinfo=UTC)
    spans = [
        ThemeSpan("E-1", "GROWTH", at - timedelta(days=9), at + timedelta(days=1)),
        ThemeSpan("E-1", "RELIABILITY", at + timedelta(days=1), None),
    ]
    assert run_history_as_of(spans, at) == [
        ThemeSpan("E-1", "GROWTH", at - timedelta(days=9), None)
    ]


def test_todays_status_category_stands_only_for_todays_status() -> None:
    """S-1 is Closed now, a status the catalogue lacks (its category, done, came with the
    item); as of 10 November it was In Progress, whose category the catalogue has."""
    moved = StatusChange(
        datetime(2026, 11, 20, tzinfo=UTC), 1, 0, "2", "In Progress", "9", "Closed"
    )
    closed = replace(work("S-1", "Story", None), status_id="9", status="Closed",
                     status_changes=(moved,))  # fmt: skip
    cached = replace(portfolio(closed, work("S-2", "Story", None)),
                     current_categories={"S-1": "done", "S-2": "new"})  # fmt: skip
    then = portfolio_as_of(cached, datetime(2026, 11, 10, tzinfo=UTC))
    assert then.current_categories == {"S-2": "new"}
    timeline = prepare(then, config()).timelines["S-1"]
    assert timeline.state == "active"
