"""Load the cache, compute the metrics of some periods, store them as snapshots.

The edge around the pure metric code: the cache is read once, the attribution of this run is
recorded (so that a theme change between two runs shows as a pivot), and each period's
snapshots replace the ones computed before.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from restrat_sync.cache import Cache
from restrat_sync.cache.portfolio import read_portfolio
from restrat_sync.cache.snapshots import record_attribution, replace_snapshots, theme_history
from restrat_sync.config import Config
from restrat_sync.errors import RestratError
from restrat_sync.metrics.compute import (
    CURRENT,
    PeriodMetrics,
    Prepared,
    compute_current,
    compute_periods,
    prepare,
    theme_changes,
)
from restrat_sync.metrics.results import as_json
from restrat_sync.periods import Period

log = logging.getLogger(__name__)


@dataclass
class MetricsRun:
    prepared: Prepared
    periods: list[PeriodMetrics]
    current: dict[tuple[str, str], Any]  # key results and data quality, now
    seconds: dict[str, float]  # phase -> seconds: load, prepare, compute, store


class EmptyCache(RestratError):
    """The cache holds no issues: there is nothing to compute yet."""


def compute_and_store(
    cache: Cache,
    config: Config,
    periods: Sequence[Period],
    now: datetime,
    config_problems: Sequence[str] = (),
) -> MetricsRun:
    """Compute every metric of ``periods`` from the cache and store them as snapshots."""
    with _collector_paused():
        return _compute_and_store(cache, config, periods, now, config_problems)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pauses Python's cyclic garbage collector for the run. The run allocates millions of
    long-lived objects (items, timelines, results), and every so many allocations the collector
    walks all of them: a dozen full passes on 100,000 issues, about a third of the run's time,
    that reclaim nothing, since these objects hold no reference cycles. Reference counting still
    frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _compute_and_store(
    cache: Cache,
    config: Config,
    periods: Sequence[Period],
    now: datetime,
    config_problems: Sequence[str],
) -> MetricsRun:
    seconds: dict[str, float] = {}
    started = time.monotonic()
    cached = read_portfolio(cache, config.hierarchy.level_of)
    if not cached.items:
        raise EmptyCache("the cache holds no issues yet: run `restrat-sync sync` first")
    seconds["load"] = _lap(started)
    prepared = prepare(cached, config, theme_history(cache), config_problems)
    changed = record_attribution(cache, prepared.attribution.theme, now)
    if changed:
        log.info("%d items changed theme since the last computation", changed)
        prepared.theme_changes = theme_changes(theme_history(cache))
    seconds["prepare"] = _lap(started) - seconds["load"]
    results = compute_periods(prepared, periods, now)
    current = compute_current(prepared, now)
    seconds["compute"] = _lap(started) - seconds["load"] - seconds["prepare"]
    for result in results:
        values = {key: as_json(value) for key, value in result.results.items()}
        replace_snapshots(cache, result.period.label, values, now)
    replace_snapshots(cache, CURRENT, {k: as_json(v) for k, v in current.items()}, now)
    seconds["store"] = _lap(started) - sum(seconds.values())
    return MetricsRun(prepared, results, current, seconds)


def _lap(started: float) -> float:
    return time.monotonic() - started
