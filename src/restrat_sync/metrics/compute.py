"""Every metric, per period and scope, from the cache: the one place that wires them together.

``prepare`` (``metrics.prepared``) builds what does not depend on the period once: timelines,
the graph, the attribution now and over time, decision facts. ``compute_periods`` then
evaluates each period over only the items whose span can touch it, found through an index
rather than a scan of everything (``metrics.near``), which keeps a year of weeks, months and
quarters on 100,000 issues within seconds.

Each item comes with the stretches of time it spent in each scope, and every moment is credited
to the scope of its time: a finish, a decision or a due day to the scope the item was in then,
active days to the scope of each day, load to the scope at the period's end. With
``attribution: current`` an item has one stretch, all of time, in today's scope. Since the
stretches of an item never overlap, every moment counts in one scope only, and the overall
results come from the scopes' tallies merged (for pivots, an item's own events are found once
and counted in every scope that held it when they happened).

Scopes: ``overall``, ``theme:<KEY>`` per theme, ``unaligned``, and ``initiative:<KEY>`` per
initiative. Metric names: ``alignment`` (overall only), ``flow``, ``decision_lag``, ``pivots``,
``predictability``, ``key_results`` (theme scopes), ``data_quality`` (overall only), ``effort``
(initiative scopes). The initiative scopes are disjoint from one another, as the theme scopes
are, but they cut the same items a second way: they have indexes of their own and are never
merged into ``overall``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from restrat_sync.config import UNALIGNED
from restrat_sync.metrics import alignment, decisions, flow, outcomes, pivots, quality
from restrat_sync.metrics.initiatives import (
    InitiativeEffort,
    Piece,
    credited_pieces,
    initiative_effort,
)
from restrat_sync.metrics.near import INSTANT, Near, Window, all_keys, keys_of
from restrat_sync.metrics.prepared import (
    INITIATIVE_PREFIX,
    OVERALL,
    UNALIGNED_SCOPE,
    Prepared,
    Spans,
    bucket_of_scope,
    initiative_scope,
    prepare,
    scope_of_bucket,
    theme_changes_of,
    theme_scope,
)
from restrat_sync.model.history import ThemeChange
from restrat_sync.model.periods import Period, last_four_weeks
from restrat_sync.model.spans import EARLIEST, LATEST

__all__ = [
    "CURRENT",
    "INITIATIVE_PREFIX",
    "OVERALL",
    "UNALIGNED_SCOPE",
    "PeriodBatch",
    "PeriodMetrics",
    "Prepared",
    "compute_current",
    "compute_periods",
    "initiative_scope",
    "observed",
    "prepare",
    "scope_of_bucket",
    "theme_changes_of",
    "theme_scope",
]


# --- per period ----------------------------------------------------------------------------------


@dataclass
class PeriodMetrics:
    period: Period
    results: dict[tuple[str, str], Any]  # (scope, metric) -> result dataclass

    def of(self, scope: str, metric: str) -> Any:
        return self.results.get((scope, metric))


def compute_periods(
    prepared: Prepared, periods: Sequence[Period], now: datetime
) -> list[PeriodMetrics]:
    """Every metric of every scope for each period."""
    batch = PeriodBatch.of(prepared, periods, now)
    return [batch.compute(index) for index in range(len(periods))]


@dataclass
class PeriodBatch:
    """Periods to compute, with what they share (the items touching each one, found for all of
    them at once). ``compute(index)`` depends on nothing else, so the periods can be computed in
    any order and in any process holding the batch (``metrics.runner`` forks two)."""

    periods: Sequence[Period]
    _run: _Run
    _themes: list[_Touching]
    _initiatives: list[_Touching]

    @classmethod
    def of(cls, prepared: Prepared, periods: Sequence[Period], now: datetime) -> PeriodBatch:
        themes = _touching(prepared.spans, periods)
        initiatives = _touching(prepared.initiative_spans, periods)
        return cls(periods, _Run.of(prepared, now), themes, initiatives)

    def compute(self, index: int) -> PeriodMetrics:
        """Every metric of every scope for ``periods[index]``."""
        period = self.periods[index]
        return _period(self._run, period, self._themes[index], self._initiatives[index])


@dataclass
class _Touching:
    """The items touching one period, by scope, in each index of one set of scopes."""

    flow: Near
    due: Near
    decisions: Near

    def scopes(self) -> list[str]:
        """The scopes some item touches the period in, in any index, sorted."""
        indexes = (self.flow, self.due, self.decisions)
        return sorted({scope for near in indexes for scope, windows in near.items() if windows})


def _touching(spans: Spans, periods: Sequence[Period]) -> list[_Touching]:
    found = zip(
        spans.flow.touching(periods),
        spans.due.touching(periods),
        spans.decisions.touching(periods),
        strict=True,
    )
    return [_Touching(*near) for near in found]


@dataclass
class _Run:
    """What every period of one computation shares."""

    prepared: Prepared
    now: datetime
    zone: ZoneInfo
    categorizer: flow.Categorizer
    changes: dict[str, list[ThemeChange]]  # scope -> the theme changes touching it
    # scope -> decision items that moved into or out of it: an item that left a theme is not
    # in the scope any more, but its move is a pivot of that theme too (the move only: its
    # other events and its activity count where it belongs now).
    moved: dict[str, set[str]]
    changes_by_item: dict[str, list[ThemeChange]]  # of the decision items, in time order

    @classmethod
    def of(cls, prepared: Prepared, now: datetime) -> _Run:
        changes = {scope: _changes_in_scope(prepared, scope) for scope in prepared.scopes()}
        moved = {
            scope: {c.key for c in found if c.key in prepared.decision_facts}
            for scope, found in changes.items()
        }
        by_item: dict[str, list[ThemeChange]] = defaultdict(list)
        for change in prepared.theme_changes:
            by_item[change.key].append(change)
        config = prepared.config
        categorizer = flow.Categorizer(config.flow_distribution)
        zone = ZoneInfo(config.timezone)
        return cls(prepared, now, zone, categorizer, changes, moved, dict(by_item))


def _period(run: _Run, period: Period, themes: _Touching, initiatives: _Touching) -> PeriodMetrics:
    scopes = run.prepared.scopes()
    # An item's own events are the same in every scope that counts it: found once.
    found = _item_pivots(run, period, [themes.decisions, initiatives.decisions])
    by_metric: dict[str, Mapping[str, Any]] = {
        "flow": _flow(run, period, themes.flow, scopes),
        "decision_lag": _decision_lag(run, period, themes.decisions, scopes),
        "pivots": _pivots(run, period, themes.decisions, found),
        "predictability": _predictability(run, period, themes.due, scopes),
    }
    results = {
        (scope, metric): values[scope] for scope in scopes for metric, values in by_metric.items()
    }
    happened = observed(period, run.now)
    pieces = _efforts(run.prepared, happened, themes.flow)
    shares = _alignment(run.prepared, happened, pieces)
    results[(OVERALL, "alignment")] = shares
    results.update(_initiative_metrics(run, period, initiatives, found, (shares, pieces)))
    return PeriodMetrics(period, results)


def _initiative_metrics(
    run: _Run,
    period: Period,
    near: _Touching,
    found: Mapping[str, pivots.ItemPivots],
    efforts: tuple[alignment.Alignment, Mapping[str, Sequence[Piece]]],
) -> dict[tuple[str, str], Any]:
    """The metrics of the initiative scopes something touched in ``period``: the theme scopes'
    metrics, from the initiatives' own indexes and with no ``overall`` merged from them, plus
    the effort and its share. An initiative nothing touched (finished before the period, say:
    the initiative is a decision item of its own scope, so an open one always touches it) has
    no scope in the period, so a portfolio's old initiatives cost nothing."""
    scopes = near.scopes()
    if not scopes:
        return {}
    by_metric: dict[str, Mapping[str, Any]] = {
        "flow": _flow(run, period, near.flow, scopes),
        "decision_lag": _decision_lag(run, period, near.decisions, scopes),
        "pivots": _initiative_pivots(run, period, near.decisions, found, scopes),
        "predictability": _predictability(run, period, near.due, scopes),
        "effort": _initiative_efforts(run, observed(period, run.now), near.flow, scopes, *efforts),
    }
    return {
        (scope, metric): values[scope] for scope in scopes for metric, values in by_metric.items()
    }


def observed(period: Period, now: datetime) -> Period:
    """The part of ``period`` that has happened by ``now``: a week, month or quarter not over
    yet ends at now for the measures that accumulate time (effort in active days, load ages),
    so the current period never counts days still to come."""
    if period.end <= now:
        return period
    return replace(period, end=max(period.start, now))


# ``scopes`` lists the scopes to report. ``overall``, where listed, is not looked up in ``near``:
# it merges the tallies of the other scopes, which are disjoint and together hold every item.


def _flow(
    run: _Run, period: Period, near: Near, scopes: Sequence[str]
) -> dict[str, flow.FlowMetrics]:
    timelines = run.prepared.timelines
    period = observed(period, run.now)
    tallies = {
        scope: flow.tally_credited(((timelines[k], s, u) for k, s, u in windows), period)
        for scope, windows in near.items()
    }
    if OVERALL in scopes:
        tallies[OVERALL] = flow.FlowTally.merged(list(tallies.values()))
    items, categorizer = run.prepared.items, run.categorizer
    return {
        scope: flow.summarize(tallies.get(scope, flow.FlowTally()), items, categorizer)
        for scope in scopes
    }


def _decision_lag(
    run: _Run, period: Period, near: Near, scopes: Sequence[str]
) -> dict[str, decisions.DecisionLag]:
    as_of = min(run.now, period.end)
    facts = run.prepared.decision_facts
    tallies = {
        scope: decisions.tally_credited(((facts[k], s, u) for k, s, u in windows), period, as_of)
        for scope, windows in near.items()
    }
    if OVERALL in scopes:
        tallies[OVERALL] = decisions.DecisionTally.merged(list(tallies.values()))
    alert_days = run.prepared.config.decision.alert_days
    return {
        scope: decisions.summarize(tallies.get(scope, decisions.DecisionTally()), alert_days)
        for scope in scopes
    }


def _item_pivots(run: _Run, period: Period, nears: Iterable[Near]) -> dict[str, pivots.ItemPivots]:
    """The own events and activity of every decision item touching ``period`` in ``nears``, and
    of every decision item whose theme changed."""
    items, timelines = run.prepared.items, run.prepared.timelines
    keys = [key for near in nears for key in all_keys(near)]
    return {
        key: pivots.item_pivots(items[key], timelines[key], period)
        for key in dict.fromkeys([*keys, *run.moved[OVERALL]])
    }


def _pivots(
    run: _Run, period: Period, near: Near, found: Mapping[str, pivots.ItemPivots]
) -> dict[str, pivots.Pivots]:
    everything = all_keys(near)
    results: dict[str, pivots.Pivots] = {}
    for scope in run.prepared.scopes():
        if scope == OVERALL:
            held = [found[key] for key in everything]
        else:
            held = _held(run, found, near.get(scope, ()), period)
        # Items that only passed through the scope bring their theme changes, nothing else.
        keys = {item.key for item in held}
        passed = [pivots.ItemPivots(key, False, ()) for key in run.moved[scope] - keys]
        results[scope] = pivots.pivots_of([*held, *passed], run.changes[scope], period)
    return results


def _initiative_pivots(
    run: _Run,
    period: Period,
    near: Near,
    found: Mapping[str, pivots.ItemPivots],
    scopes: Iterable[str],
) -> dict[str, pivots.Pivots]:
    """Each initiative's pivots: the events of the decision items it held when they happened,
    a theme change included (it counts where the item was from that moment). A move between
    initiatives is the re-parent of the item that moved, counted where it went."""
    results: dict[str, pivots.Pivots] = {}
    for scope in scopes:
        windows = near.get(scope, ())
        held = _held(run, found, windows, period)
        changes = [
            change
            for key, since, until in windows
            for change in run.changes_by_item.get(key, ())
            if since <= change.at < until
        ]
        results[scope] = pivots.pivots_of(held, changes, period)
    return results


def _held(
    run: _Run, found: Mapping[str, pivots.ItemPivots], windows: Iterable[Window], period: Period
) -> list[pivots.ItemPivots]:
    """The decision items a scope held in ``period``: each active while it was in the scope,
    with the events that happened then."""
    stretches: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for key, since, until in windows:
        stretches[key].append((since, until))
    held: list[pivots.ItemPivots] = []
    for key, spans in stretches.items():
        whole = found[key]
        if spans == [(EARLIEST, LATEST)]:
            held.append(whole)
            continue
        item, end = run.prepared.items[key], run.prepared.timelines[key].end
        active = whole.active and any(
            item.created < min(period.end, until)
            and (end is None or end >= max(period.start, since))
            for since, until in spans
        )
        events = tuple(e for e in whole.events if any(s <= e.at < u for s, u in spans))
        held.append(pivots.ItemPivots(key, active, events))
    return held


def _predictability(
    run: _Run, period: Period, near: Near, scopes: Sequence[str]
) -> dict[str, outcomes.Predictability]:
    items, timelines = run.prepared.items, run.prepared.timelines
    found = {
        scope: outcomes.verdicts(
            [items[key] for key in keys_of(windows)], timelines, period, run.zone, run.now
        )
        for scope, windows in near.items()
    }
    if OVERALL in scopes:
        found[OVERALL] = outcomes.merged_verdicts(list(found.values()))
    return {
        scope: outcomes.summarize(found.get(scope) or outcomes.merged_verdicts([]))
        for scope in scopes
    }


def _initiative_efforts(
    run: _Run,
    period: Period,
    near: Near,
    scopes: Iterable[str],
    shares: alignment.Alignment,
    pieces: Mapping[str, Sequence[Piece]],
) -> dict[str, InitiativeEffort]:
    """Each initiative's effort in ``period`` (observed) and its share of the theme the
    initiative itself had at the period's last instant (``metrics.initiatives``), from the
    efforts the alignment counted (``pieces``)."""
    prepared = run.prepared
    measure = prepared.config.effort.measure

    def within(key: str, since: datetime, until: datetime) -> float:
        credited = [(prepared.timelines[key], since, until)]
        return next(alignment.credited_efforts(credited, "", prepared.items, measure, period))[2]

    by_bucket = {bucket.bucket: bucket.effort for bucket in shares.buckets}
    last = period.end - INSTANT
    results: dict[str, InitiativeEffort] = {}
    for scope in scopes:
        key = scope.removeprefix(INITIATIVE_PREFIX)
        credited = credited_pieces(near.get(scope, ()), pieces, within)
        theme = prepared.history.theme_at(key, last)
        results[scope] = initiative_effort(credited, theme, by_bucket[theme], measure)
    return results


def _changes_in_scope(prepared: Prepared, scope: str) -> list[ThemeChange]:
    if scope == OVERALL:
        return prepared.theme_changes
    return [
        c
        for c in prepared.theme_changes
        if scope in (scope_of_bucket(c.from_theme), scope_of_bucket(c.to_theme))
    ]


def _efforts(prepared: Prepared, period: Period, near: Near) -> dict[str, list[Piece]]:
    """Each flow item's effort in ``period`` by the stretches it spent in each theme bucket
    (``near``: the flow items touching the period, by theme scope)."""
    timelines, measure = prepared.timelines, prepared.config.effort.measure
    pieces: dict[str, list[Piece]] = defaultdict(list)
    for scope, windows in near.items():
        bucket = bucket_of_scope(scope)
        credited = [(timelines[key], since, until) for key, since, until in windows]
        values = alignment.credited_efforts(credited, bucket, prepared.items, measure, period)
        for (line, since, until), (_, _, value) in zip(credited, values, strict=True):
            pieces[line.key].append((since, until, bucket, value))
    return pieces


def _alignment(
    prepared: Prepared, period: Period, pieces: Mapping[str, Sequence[Piece]]
) -> alignment.Alignment:
    """Allocation against plan in ``period``, each item's effort credited to the buckets it was
    in (``_efforts``)."""
    return alignment.alignment_of(
        ((key, bucket, value) for key, found in pieces.items() for _, _, bucket, value in found),
        prepared.config.planned_shares(period.quarter),
        prepared.config.effort.measure,
        period.quarter,
    )


CURRENT = "current"  # the snapshot label of what does not depend on a period


def compute_current(prepared: Prepared, now: datetime) -> dict[tuple[str, str], Any]:
    """What describes the portfolio now rather than a period: key-result progress (from the
    key results' current membership) and data quality (with the unaligned share of the last
    four weeks)."""
    results: dict[tuple[str, str], Any] = {}
    for theme in prepared.config.themes:
        results[(theme_scope(theme.key), "key_results")] = tuple(
            outcomes.key_result_progress(
                kr.name,
                kr.measure,
                kr.target,
                prepared.members.get(f"kr:{theme.key}:{index}", set()),
                prepared.items,
                prepared.timelines,
            )
            for index, kr in enumerate(theme.key_results)
        )
    recent = last_four_weeks(now, prepared.config.timezone)
    near = prepared.spans.flow.touching([recent])[0]
    shares = _alignment(prepared, recent, _efforts(prepared, recent, near))
    unaligned = next((b.actual for b in shares.buckets if b.bucket == UNALIGNED), None)
    results[(OVERALL, "data_quality")] = _data_quality(prepared, now, unaligned)
    return results


def _data_quality(
    prepared: Prepared, now: datetime, unaligned_share: float | None
) -> quality.DataQuality:
    graph = prepared.graph
    return quality.data_quality(
        fallback_statuses=prepared.states.fallbacks,
        unknown_statuses=prepared.states.unknown,
        items=prepared.items,
        timelines=prepared.timelines,
        flow_level=prepared.config.hierarchy.flow_level,
        decision_level=prepared.config.decision.min_level,
        conflicts=prepared.attribution.conflicts,
        unaligned_share=unaligned_share,
        last_sync_at=prepared.last_sync_at,
        now=now,
        config_problems=prepared.config_problems,
        membership_known_since=prepared.membership_known_since,
        # A parent through a link rule is a parent too.
        linked=[
            key
            for key, item in prepared.items.items()
            if any(parent != item.parent_key for parent in graph.parents(key))
        ],
    )
