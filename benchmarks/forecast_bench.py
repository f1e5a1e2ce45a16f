"""Forecast figures: every forecast of a large portfolio, from raw moments to P50/P85/P95.

The inputs are synthetic, not read from a cache (the forecasts are not wired to the cache yet):
5 themes of 12 initiatives of 25 open epics (1,500 epics, 60 initiatives), plus one key result
per theme, shaped like the sandbox's large dataset (100,000 issues), whose epics hold 5 to 22
level-0 items. Each epic finishes its items at an even Poisson pace over 4 to 12 weeks, began
some time in that span (so the young ones fall back to their theme's throughput), and grows by a
fifth of its pace; an initiative's and a theme's moments are those of their epics, so a theme
finishes a few hundred items a week, and their items left are the sum of their epics'.

Prints the seconds (wall clock and CPU) to count the moments into weekly samples and to run
every forecast, per kind of scope, and the peak RSS of the process. Target for the real thing:
all forecasts of the large dataset in 3 s or less on the 2-core development machine.

    .venv/bin/python benchmarks/forecast_bench.py [--runs 10000] [--epics-per-initiative 25]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np

from restrat_sync.metrics.forecast import (
    ForecastParams,
    HistoryWindow,
    KeyResultWork,
    ScopeWork,
    WeeklySamples,
    forecast,
    forecast_key_result,
    history_window,
    throughput_samples,
)

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)  # a Wednesday
QUARTER_END = datetime(2027, 1, 1, tzinfo=UTC)
THEMES, INITIATIVES_PER_THEME = 5, 12
T = TypeVar("T")


@dataclass
class Scope:
    work: ScopeWork
    theme: int


def moments(rng: np.random.Generator, since: datetime, rate: float) -> list[datetime]:
    """A Poisson process of ``rate`` a week from ``since`` to NOW."""
    weeks = (NOW - since) / timedelta(weeks=1)
    count = rng.poisson(rate * weeks)
    return [since + offset * (NOW - since) for offset in rng.random(count)]


def epic(rng: np.random.Generator, key: str) -> ScopeWork:
    """An open epic shaped like the sandbox's: 5 to 22 items done over 4 to 12 weeks at an
    even pace, begun some time in that span, with a fifth as many items joining."""
    items = int(rng.integers(5, 23))
    weeks = float(rng.uniform(4, 12))
    rate = items / weeks
    began = NOW - timedelta(weeks=float(rng.uniform(0.3, weeks)))
    finished = moments(rng, began, rate)
    return ScopeWork(
        key=key,
        remaining=max(1, items - len(finished)),
        finished=tuple(finished),
        joined=tuple(moments(rng, began, rate / 5)),
        work_began=began,
    )


def combined(key: str, parts: list[ScopeWork]) -> ScopeWork:
    return ScopeWork(
        key=key,
        remaining=sum(part.remaining for part in parts),
        finished=tuple(moment for part in parts for moment in part.finished),
        joined=tuple(moment for part in parts for moment in part.joined),
        work_began=min(part.work_began for part in parts if part.work_began is not None),
    )


def portfolio(epics_per_initiative: int) -> tuple[list[Scope], list[Scope], list[Scope]]:
    """Epics, initiatives and themes, each with the index of its theme."""
    rng = np.random.default_rng(13)
    epics: list[Scope] = []
    initiatives: list[Scope] = []
    themes: list[Scope] = []
    for theme in range(THEMES):
        theirs: list[ScopeWork] = []
        for number in range(INITIATIVES_PER_THEME):
            key = f"T{theme}-I{number}"
            parts = [epic(rng, f"epic:{key}-E{e}") for e in range(epics_per_initiative)]
            epics += [Scope(part, theme) for part in parts]
            initiatives.append(Scope(combined(f"initiative:{key}", parts), theme))
            theirs += parts
        themes.append(Scope(combined(f"theme:T{theme}", theirs), theme))
    return epics, initiatives, themes


def timed(label: str, action: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    print(
        f"  {label:<32} {time.perf_counter() - wall:6.2f} s wall "
        f"{time.process_time() - cpu:6.2f} s CPU"
    )
    return result


def run_all(
    epics: list[Scope],
    initiatives: list[Scope],
    themes: list[Scope],
    window: HistoryWindow,
    params: ForecastParams,
) -> int:
    def samples() -> tuple[WeeklySamples, list[WeeklySamples]]:
        every = [moment for scope in themes for moment in scope.work.finished]
        whole = throughput_samples("portfolio", every, window)
        return whole, [throughput_samples(s.work.key, s.work.finished, window) for s in themes]

    whole, per_theme = timed("portfolio and theme samples", samples)

    def run(scopes: list[Scope], fallback: bool) -> list[object]:
        return [
            forecast(
                scope.work,
                window,
                theme=per_theme[scope.theme] if fallback else None,
                portfolio=whole,
                params=params,
            )
            for scope in scopes
        ]

    made = timed(f"{len(epics)} epics", lambda: run(epics, True))
    made += timed(f"{len(initiatives)} initiatives", lambda: run(initiatives, True))
    made += timed(f"{len(themes)} themes", lambda: run(themes, False))

    def key_results() -> list[object]:
        return [
            forecast_key_result(
                KeyResultWork(
                    key=f"kr:T{scope.theme}",
                    measure="done_count",
                    target=len(scope.work.finished) / 4 + 150,
                    value=len(scope.work.finished) / 4,
                    deadline=QUARTER_END,
                    finished=scope.work.finished[::4],
                    work_began=scope.work.work_began,
                ),
                window,
                theme=per_theme[scope.theme],
                portfolio=whole,
                params=params,
            )
            for scope in themes
        ]

    made += timed(f"{len(themes)} key results", key_results)
    return len(made)


def peak_rss_mb() -> float:
    # VmHWM: this process's own peak resident set.
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--epics-per-initiative", type=int, default=25)
    args = parser.parse_args()
    params = ForecastParams(runs=args.runs)
    epics, initiatives, themes = portfolio(args.epics_per_initiative)
    finished = sum(len(scope.work.finished) for scope in themes)
    print(f"{finished} items finished in the synthetic history; {params.runs} runs a forecast")
    window = history_window(NOW, "UTC", params.history_weeks)
    wall, cpu = time.perf_counter(), time.process_time()
    count = run_all(epics, initiatives, themes, window, params)
    print(
        f"{count} forecasts: {time.perf_counter() - wall:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU; peak RSS {peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
