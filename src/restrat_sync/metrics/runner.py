"""Load the cache, compute the metrics of some periods, store them as snapshots.

The edge around the pure metric code: the cache is read once, the attribution of this run is
recorded (so that a theme change between two runs that history cannot explain, a config edit
say, shows as a pivot), and each period's values
are stored where they differ from the snapshots computed before. Given what changed since the
last computation (``Since``), only the periods those changes can touch are computed
(``touched``), and the run says which buckets' data they fed. A closed period's changed
numbers are recorded as restatements, with the changed issues behind them
(``metrics.restatements``).

``compute_as_of`` computes as of an earlier instant (``metrics.asof``) and stores nothing.
"""

from __future__ import annotations

import functools
import gc
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from restrat_sync.cache import Cache
from restrat_sync.cache.changes import Changes, pending_changes
from restrat_sync.cache.portfolio import last_sync_by, read_portfolio
from restrat_sync.cache.restatements import Closing, RestatementRecord, SnapshotKey
from restrat_sync.cache.snapshots import (
    record_attribution,
    store_snapshots,
    theme_history,
    value_hash,
)
from restrat_sync.config import Config
from restrat_sync.errors import RestratError
from restrat_sync.forks import available_cores, forked_map
from restrat_sync.metrics.asof import portfolio_as_of, run_history_as_of
from restrat_sync.metrics.compute import (
    CURRENT,
    PeriodBatch,
    PeriodMetrics,
    Prepared,
    compute_current,
    compute_periods,
    prepare,
    theme_changes_of,
)
from restrat_sync.metrics.restatements import Restater
from restrat_sync.metrics.results import as_json
from restrat_sync.metrics.touched import earliest_touched, periods_touched, touched_buckets
from restrat_sync.model.periods import Period

log = logging.getLogger(__name__)


@dataclass
class MetricsRun:
    prepared: Prepared
    periods: list[PeriodMetrics]
    current: dict[tuple[str, str], Any]  # key results and data quality, now
    seconds: dict[str, float]  # phase -> seconds: load, prepare, compute, store
    touched: frozenset[str] | None = None  # buckets the changes fed (Since); None: everything
    changed: int = 0  # snapshots whose value changed
    restated: tuple[RestatementRecord, ...] = ()  # numbers of closed periods it changed


@dataclass(frozen=True)
class Since:
    """Compute only what the changes since the last computation can touch (``touched``)."""

    computed_at: datetime  # the last computation
    changes: Changes  # what syncs changed since
    required: frozenset[str] = frozenset()  # labels computed whatever (never stored, say)


class EmptyCache(RestratError):
    """The cache holds no issues: there is nothing to compute yet."""


def compute_and_store(
    cache: Cache,
    config: Config,
    periods: Sequence[Period],
    now: datetime,
    config_problems: Sequence[str] = (),
    since: Since | None = None,
) -> MetricsRun:
    """Compute every metric of ``periods`` from the cache and store the values that changed as
    snapshots; with ``since``, only of the periods its changes can touch."""
    with _collector_paused():
        return _compute_and_store(cache, config, periods, now, config_problems, since)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector for the run. The run allocates millions of
    long-lived objects (items, timelines, results), and every so many allocations the collector
    walks all of them: a dozen full passes on 100,000 issues, about a third of the run's time,
    that reclaim nothing, since these objects hold no reference cycles. Reference counting still
    frees everything as usual.

    Afterwards the objects the run allocated go straight to the oldest generation (a freeze
    and an unfreeze move them there without a look at any): the first collection after the
    pause would otherwise walk every one of them to promote it, 0.8 s on 100,000 issues."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _compute_and_store(
    cache: Cache,
    config: Config,
    periods: Sequence[Period],
    now: datetime,
    config_problems: Sequence[str],
    since: Since | None,
) -> MetricsRun:
    seconds: dict[str, float] = {}
    started = time.monotonic()
    cached = read_portfolio(cache, config.hierarchy.level_of)
    if not cached.items:
        raise EmptyCache("the cache holds no issues yet: run `restrat-sync sync` first")
    seconds["load"] = _lap(started)
    prepared = prepare(cached, config, theme_history(cache), config_problems)
    theme_before = record_attribution(cache, prepared.attribution.theme, now)
    if theme_before:
        log.info("%d items changed theme since the last computation", len(theme_before))
        prepared.theme_changes = theme_changes_of(
            config, prepared.history, prepared.items, prepared.decision_facts, theme_history(cache)
        )
    periods, touched = _scope(prepared, periods, since, theme_before)
    seconds["prepare"] = _lap(started) - seconds["load"]
    computed = _computed_periods(prepared, periods, now)
    results = [result for result, _ in computed]
    current = compute_current(prepared, now)
    seconds["compute"] = _lap(started) - seconds["load"] - seconds["prepare"]
    queued = functools.cache(functools.partial(_changed_issues, cache, since))
    restate = Restater(queued, prepared.graph.ancestors)
    changed, restated = _store(cache, computed, current, now, restate)
    seconds["store"] = _lap(started) - sum(seconds.values())
    return MetricsRun(prepared, results, current, seconds, touched, changed, restated)


Hashes = dict[SnapshotKey, str]  # (scope, metric) -> the value's ``value_hash``

# Below these, forking and sending the results back cost more than a second core saves: on the
# 10,000 issues of the medium dataset forking made the run 0.5 s slower (docs/performance.md).
FORK_FROM_ITEMS = 50_000
FORK_FROM_PERIODS = 8


def _computed_periods(
    prepared: Prepared, periods: Sequence[Period], now: datetime
) -> list[tuple[PeriodMetrics, Hashes]]:
    """Every period's metrics with the hashes of their JSON values, computed on every core
    (``forks``) when there is enough to compute: each core takes the next period as it
    finishes one, the longest periods first."""
    batch = PeriodBatch.of(prepared, periods, now)
    big = len(prepared.items) >= FORK_FROM_ITEMS and len(periods) >= FORK_FROM_PERIODS
    longest_first = sorted(range(len(periods)), key=lambda i: periods[i].start - periods[i].end)
    task = functools.partial(_computed_period, batch)
    return forked_map(task, len(periods), available_cores() if big else 1, longest_first)


def _computed_period(batch: PeriodBatch, index: int) -> tuple[PeriodMetrics, Hashes]:
    """One period's metrics and the hashes of their JSON values, which the store compares with
    the stored ones: hashing where the period is computed spreads it over the cores too."""
    result = batch.compute(index)
    return result, {key: value_hash(as_json(value)) for key, value in result.results.items()}


class _AsJson(Mapping[SnapshotKey, Any]):
    """A period's results as JSON values, converted when read: the store reads only the values
    it writes, and most values of most runs are unchanged."""

    def __init__(self, results: Mapping[SnapshotKey, Any]) -> None:
        self._results = results

    def __getitem__(self, key: SnapshotKey) -> Any:
        return as_json(self._results[key])

    def __iter__(self) -> Iterator[SnapshotKey]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)


def _store(
    cache: Cache,
    computed: Sequence[tuple[PeriodMetrics, Hashes]],
    current: Mapping[tuple[str, str], Any],
    now: datetime,
    restate: Restater,
) -> tuple[int, tuple[RestatementRecord, ...]]:
    """Store every period's values and ``current``: how many snapshots changed, and the
    numbers of closed periods restated."""
    changed = 0
    restated: list[RestatementRecord] = []
    for result, hashes in computed:
        period = result.period
        closing = None if period.kind == "rolling" else Closing(period.end, restate)
        diff = store_snapshots(cache, period.label, _AsJson(result.results), now, closing, hashes)
        changed += len(diff)
        restated += diff.restated
    changed += len(store_snapshots(cache, CURRENT, _AsJson(current), now))
    return changed, tuple(restated)


def _changed_issues(cache: Cache, since: Since | None) -> dict[str, datetime]:
    """Issue -> when a sync last changed it: the queued changes the computation takes in, or,
    for one that takes none in (``restrat-sync metrics``), those queued."""
    changes = since.changes if since is not None else pending_changes(cache)
    return {c.key: c.noticed_at for c in changes.issues if c.noticed_at is not None}


def compute_as_of(
    cache: Cache, config: Config, periods: Sequence[Period], moment: datetime
) -> MetricsRun:
    """Every metric of ``periods`` with only what was known at ``moment`` (``metrics.asof``),
    computed as if it were then. Nothing is stored, not even the attribution."""
    with _collector_paused():
        started = time.monotonic()
        cached = read_portfolio(cache, config.hierarchy.level_of)
        if not cached.items:
            raise EmptyCache("the cache holds no issues yet: run `restrat-sync sync` first")
        then = portfolio_as_of(cached, moment, last_sync_by(cache, moment))
        prepared = prepare(then, config, run_history_as_of(theme_history(cache), moment))
        results = compute_periods(prepared, periods, moment)
        current = compute_current(prepared, moment)
        return MetricsRun(prepared, results, current, {"compute": _lap(started)})


def _scope(
    prepared: Prepared,
    periods: Sequence[Period],
    since: Since | None,
    theme_before: Mapping[str, str],
) -> tuple[Sequence[Period], frozenset[str] | None]:
    """The periods to compute and the buckets touched: all of them without ``since``."""
    if since is None:
        return periods, None
    created = {key: item.created for key, item in prepared.items.items()}
    earliest = earliest_touched(since.changes, prepared.graph, created)
    start = since.computed_at if earliest is None else min(earliest, since.computed_at)
    chosen = periods_touched(periods, start, since.required)
    theme = prepared.attribution.theme
    return chosen, touched_buckets(since.changes, prepared.graph, theme, theme_before)


def _lap(started: float) -> float:
    return time.monotonic() - started
