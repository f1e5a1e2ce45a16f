"""Monte Carlo forecasts per theme, initiative, epic and key result (issue #13; the method in
plain words is in ``docs/forecasts.md``). Pure: plain values in, plain frozen dataclasses out,
no I/O; ``results.as_json`` turns a result into JSON.

- What is sampled (the history window, throughput, growth, the fallback to the theme and the
  portfolio): ``forecast_samples``.
- How the runs are drawn (two-stage bootstrap, weeks in blocks, the horizon): ``montecarlo``.
- Here: the inputs, the seed, and the results.

**Seed.** Derived from the scope key, the items left, the samples and the run settings, so the
same cache gives the same forecast, whatever order the moments come in. It is kept in the result.

**Dates.** Week 1 of a run is the 7 days after ``now``. P50, P85 and P95 are the smallest number
of weeks by which at least 50, 85 and 95 % of the runs were done, turned into the local date by
whose end the work is done (a moment at exactly midnight counts for the day before). A percentile
beyond the horizon has no date; no P50 means no forecast, and ``reason`` says why.

**Growth outpacing throughput** is flagged when the mean weekly growth is at least the mean
weekly throughput (the remaining work does not shrink on average), or when more than 5 % of the
runs are not done within the horizon.

**Key results** with a count-like measure: ``done_count`` needs ``target - value`` more items
done (growth cannot undo a done item, so it is left out); ``count`` needs the members to fall to
the target, so growth counts against it. The probability of reaching the target by the deadline
is the share of runs whose state at the deadline meets it, with the same paces as the dates.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from restrat_sync.config import KeyResultMeasure
from restrat_sync.metrics.forecast_samples import (
    HistoryWindow,
    SampleSummary,
    ThroughputChoice,
    ThroughputSource,
    WeeklySamples,
    choose_throughput,
    growth_samples,
    history_window,
    summarize_samples,
    throughput_samples,
)
from restrat_sync.metrics.montecarlo import (
    Finishes,
    Pace,
    draw_paces,
    finish_weeks,
    reach_share,
)

# The whole API in one place: the wiring imports from here.
__all__ = [
    "Forecast",
    "ForecastParams",
    "HistoryWindow",
    "KeyResultForecast",
    "KeyResultWork",
    "SampleSummary",
    "ScopeWork",
    "ThroughputSource",
    "WeeklySamples",
    "derive_seed",
    "forecast",
    "forecast_key_result",
    "history_window",
    "throughput_samples",
]

WEEK = timedelta(days=7)
_TICK = timedelta(microseconds=1)
_QUANTILES = (0.5, 0.85, 0.95)
MAX_HISTORY_WEEKS = 520  # also keeps the week indices the engine draws within int16
# More runs than this not done within the horizon: growth outpaces. It is 1 - P95, so that the
# runs stopped once 95 % are done (montecarlo.finish_weeks) can never be enough to matter.
BEYOND_HORIZON_ALERT = 0.05


@dataclass(frozen=True, slots=True)
class ForecastParams:
    history_weeks: int = 12  # complete weeks sampled (the caller builds the window with it)
    runs: int = 10_000
    min_active_weeks: int = 3  # weeks with finished work a scope needs of its own
    horizon_weeks: int = 260  # five years: runs not done by then have no date

    def __post_init__(self) -> None:
        for name in ("history_weeks", "runs", "min_active_weeks", "horizon_weeks"):
            if getattr(self, name) < 1:
                raise ValueError(f"forecast.{name} must be at least 1, not {getattr(self, name)}")
        if self.history_weeks > MAX_HISTORY_WEEKS:
            raise ValueError(
                f"forecast.history_weeks must be at most {MAX_HISTORY_WEEKS} (ten years), "
                f"not {self.history_weeks}"
            )
        if self.min_active_weeks > self.history_weeks:
            raise ValueError(
                f"forecast.min_active_weeks ({self.min_active_weeks}) cannot exceed "
                f"forecast.history_weeks ({self.history_weeks})"
            )


@dataclass(frozen=True, slots=True)
class ScopeWork:
    """What is known of a scope: its key, the items left, and its history (aware UTC)."""

    key: str  # e.g. "epic:PAY-12", "theme:GROWTH"
    remaining: int
    finished: tuple[datetime, ...]  # when its flow-level items finished as done
    joined: tuple[datetime, ...] = ()  # when its items were created in it or joined it
    work_began: datetime | None = None  # the first start among its items


@dataclass(frozen=True, slots=True)
class Forecast:
    scope: str
    made_at: datetime
    zone: str  # the dates are local dates there
    remaining: int
    runs: int
    seed: int  # of the PCG64 generator: a stored forecast can be reproduced
    throughput_source: ThroughputSource | None  # None: no usable throughput
    source_reason: str  # whose throughput, and why
    throughput: SampleSummary | None  # the samples drawn from
    growth: SampleSummary  # the scope's own growth samples; 0 weeks: growth taken as 0
    p50: date | None
    p85: date | None
    p95: date | None
    # The share of runs not done within the horizon. None: not known, because 95 % of the runs
    # were done before it and the rest were stopped (then it is below 5 %).
    beyond_horizon: float | None
    growth_outpaces: bool
    warnings: tuple[str, ...]
    reason: str | None  # why there is no forecast (no P50); None when there is one


@dataclass(frozen=True, slots=True)
class KeyResultWork:
    """A key result as of now: its measure's value, target and deadline, and its history."""

    key: str  # e.g. "kr:GROWTH/Checkout epics delivered"
    measure: KeyResultMeasure
    target: float
    value: float  # now: members done (done_count) or members (count)
    deadline: datetime  # the end of the quarter, aware
    finished: tuple[datetime, ...]
    joined: tuple[datetime, ...] = ()
    work_began: datetime | None = None

    def __post_init__(self) -> None:
        if self.deadline.utcoffset() is None:
            raise ValueError(f"{self.key}: the deadline {self.deadline.isoformat()} has no zone")


@dataclass(frozen=True, slots=True)
class KeyResultForecast:
    scope: str
    measure: KeyResultMeasure
    target: float
    value: float
    deadline: datetime
    probability: float | None  # of meeting the target at the deadline
    reason: str | None  # why there is no probability
    forecast: Forecast | None  # when the target is first met; None for points_done


def forecast(
    work: ScopeWork,
    window: HistoryWindow,
    *,
    theme: WeeklySamples | None = None,
    portfolio: WeeklySamples | None = None,
    params: ForecastParams | None = None,
) -> Forecast:
    """When ``work.remaining`` items will be done, as of ``window.now``: from the scope's own
    throughput, else ``theme``'s, else ``portfolio``'s, less the scope's growth."""
    params = _checked(params, window)
    own = throughput_samples(work.key, work.finished, window, work.work_began)
    growth = growth_samples(work.key, work.joined, window, work.work_began)
    choice = choose_throughput(own, theme, portfolio, params.min_active_weeks)
    return _simulate(work.key, work.remaining, window, choice, growth, params)[0]


def forecast_key_result(
    work: KeyResultWork,
    window: HistoryWindow,
    *,
    theme: WeeklySamples | None = None,
    portfolio: WeeklySamples | None = None,
    params: ForecastParams | None = None,
) -> KeyResultForecast:
    """The probability that ``work`` meets its target at its deadline, and when it first will."""
    params = _checked(params, window)
    result = KeyResultForecast(
        work.key, work.measure, work.target, work.value, work.deadline, None, None, None
    )
    if work.measure == "points_done":
        return replace(result, reason="no forecast: points_done is not a count of items")
    remaining = _key_result_remaining(work)
    # Growth cannot undo done items: a done_count key result ignores it.
    began = work.work_began if work.measure == "count" else None
    own = throughput_samples(work.key, work.finished, window, work.work_began)
    growth = growth_samples(work.key, work.joined, window, began)
    choice = choose_throughput(own, theme, portfolio, params.min_active_weeks)
    dates, pace = _simulate(work.key, remaining, window, choice, growth, params)
    if pace is None:
        if work.measure == "done_count" and remaining <= 0:  # met, and done items stay done
            return replace(result, forecast=dates, probability=1.0)
        return replace(result, forecast=dates, reason=f"no forecast: {choice.reason}")
    weeks = (work.deadline - window.now) / WEEK
    rng = _generators(dates.seed)[1]
    return replace(result, forecast=dates, probability=reach_share(remaining, pace, weeks, rng))


def derive_seed(
    scope: str,
    remaining: int,
    choice: ThroughputChoice,
    growth: WeeklySamples,
    params: ForecastParams,
) -> int:
    """A 63-bit seed (it fits a signed 64-bit database column) from everything the runs depend
    on, and nothing that depends on the order of the inputs."""
    counts = choice.samples.counts if choice.samples is not None else ()
    text = json.dumps([scope, remaining, counts, growth.counts, params.runs, params.horizon_weeks])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _checked(params: ForecastParams | None, window: HistoryWindow) -> ForecastParams:
    params = params or ForecastParams()
    if len(window.weeks) != params.history_weeks:
        raise ValueError(
            f"the history window holds {len(window.weeks)} weeks but forecast.history_weeks is "
            f"{params.history_weeks}: build it with history_window(now, zone, history_weeks)"
        )
    return params


def _key_result_remaining(work: KeyResultWork) -> int:
    """Whole items still to go: done up to the target, or members down to it."""
    if work.measure == "done_count":
        return math.ceil(work.target - work.value)
    return math.ceil(work.value - work.target)


def _generators(seed: int) -> list[np.random.Generator]:
    """Two independent streams: the dates' runs, and the key results' state at the deadline."""
    return [
        np.random.Generator(np.random.PCG64(stream))
        for stream in np.random.SeedSequence(seed).spawn(2)
    ]


def _simulate(
    scope: str,
    remaining: int,
    window: HistoryWindow,
    choice: ThroughputChoice,
    growth: WeeklySamples,
    params: ForecastParams,
) -> tuple[Forecast, Pace | None]:
    """The forecast, and the runs' paces (None when there is no throughput to draw from)."""
    seed = derive_seed(scope, remaining, choice, growth, params)
    base = _unsimulated(scope, remaining, window, choice, growth, params, seed)
    if choice.samples is None:
        return replace(base, reason=f"no forecast: {choice.reason}"), None
    rng = _generators(seed)[0]
    pace = draw_paces(choice.samples.counts, growth.counts, params.runs, rng)
    if remaining <= 0:
        return replace(base, reason="no forecast: nothing remains to be done"), pace
    finishes = finish_weeks(remaining, pace, params.horizon_weeks, rng, max(_QUANTILES))
    dated = _with_dates(base, finishes, choice.samples, growth, params.horizon_weeks)
    if choice.source in ("theme", "portfolio"):
        borrowed = (
            f"{scope} is forecast at the pace of the whole of {choice.samples.scope}, which "
            f"works on more than {scope} at a time: the dates are likely too early"
        )
        dated = replace(dated, warnings=(*dated.warnings, borrowed))
    return dated, pace


def _with_dates(
    base: Forecast,
    finishes: Finishes,
    throughput: WeeklySamples,
    growth: WeeklySamples,
    horizon: int,
) -> Forecast:
    weeks, beyond = finishes.weeks, finishes.beyond_horizon
    p50, p85, p95 = (float(q) for q in np.quantile(weeks, _QUANTILES, method="inverted_cdf"))
    outpaced = _growth_warnings(throughput, growth, beyond, horizon)
    late = (f"P85 is beyond the horizon of {horizon} weeks",) if math.isinf(p85) else ()
    reason = None
    if math.isinf(p50):
        reason = f"no forecast: most runs are not done within the horizon of {horizon} weeks"
    return replace(
        base,
        p50=_done_by(base.made_at, p50, base.zone),
        p85=_done_by(base.made_at, p85, base.zone),
        p95=_done_by(base.made_at, p95, base.zone),
        beyond_horizon=beyond,
        growth_outpaces=bool(outpaced),
        warnings=outpaced + late,
        reason=reason,
    )


def _growth_warnings(
    throughput: WeeklySamples, growth: WeeklySamples, beyond: float | None, horizon: int
) -> tuple[str, ...]:
    done = statistics.fmean(throughput.counts)
    added = statistics.fmean(growth.counts) if growth.counts else 0.0
    warnings: list[str] = []
    if added >= done:
        warnings.append(
            f"scope growth outpaces throughput: {added:.1f} items joined a week on average, "
            f"{done:.1f} finished"
        )
    if beyond is not None and beyond > BEYOND_HORIZON_ALERT:
        warnings.append(
            f"scope growth outpaces throughput: {beyond:.0%} of runs are not done within "
            f"{horizon} weeks"
        )
    return tuple(warnings)


def _done_by(now: datetime, weeks: float, zone: str) -> date | None:
    """The local date by whose end ``weeks`` after ``now`` has passed."""
    if math.isinf(weeks):
        return None
    # A moment at exactly midnight is the end of the day before.
    return (now + weeks * WEEK - _TICK).astimezone(ZoneInfo(zone)).date()


def _unsimulated(
    scope: str,
    remaining: int,
    window: HistoryWindow,
    choice: ThroughputChoice,
    growth: WeeklySamples,
    params: ForecastParams,
    seed: int,
) -> Forecast:
    return Forecast(
        scope=scope,
        made_at=window.now,
        zone=window.zone,
        remaining=remaining,
        runs=params.runs,
        seed=seed,
        throughput_source=choice.source,
        source_reason=choice.reason,
        throughput=summarize_samples(choice.samples) if choice.samples else None,
        growth=summarize_samples(growth),
        p50=None,
        p85=None,
        p95=None,
        beyond_horizon=None,
        growth_outpaces=False,
        warnings=(),
        reason=None,
    )
