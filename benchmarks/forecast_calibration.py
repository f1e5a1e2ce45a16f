"""Forecast calibration: how often the P85 of the Monte Carlo engine holds, with and without a
replicate of the history per run (see ``metrics/montecarlo.py``).

For each number of items left, many histories of a Poisson process (12 weeks before now) are
drawn; the engine forecasts from each history's weekly counts, then the same process runs on,
and the P85 holds when the items are done by it (in weeks, before the forecast rounds to a day).
"One stage" draws every run's weeks straight from the 12 samples; "two stages" is what the
forecasts do. Calibrated forecasts hold 85 % of the time.

    .venv/bin/python benchmarks/forecast_calibration.py [--histories 2000] [--rate 3]
"""

from __future__ import annotations

import argparse

import numpy as np

from restrat_sync.metrics.montecarlo import Pace, draw_paces, finish_weeks

HORIZON = 260


def actual_weeks(rng: np.random.Generator, rate: float, items: int) -> float:
    """When the ``items``-th item finishes as the process runs on, in weeks from now."""
    need, week = items, 0
    while (count := rng.poisson(rate)) < need:
        need, week = need - count, week + 1
    return week + float(np.sort(rng.random(count))[need - 1])


def p85(weeks: np.ndarray) -> float:
    return float(np.quantile(weeks, 0.85, method="inverted_cdf"))


def held_shares(items: int, histories: int, runs: int, rate: float) -> tuple[float, float]:
    rng = np.random.default_rng(items)
    one = two = 0
    for _ in range(histories):
        counts = [int(count) for count in rng.poisson(rate, 12)]
        actual = actual_weeks(rng, rate, items)
        mean = float(np.mean(counts))
        same = Pace(np.tile(np.asarray(counts, dtype=np.int32), (runs, 1)), mean, steady=True)
        one += actual <= p85(finish_weeks(items, same, HORIZON, rng).weeks)
        own = draw_paces(counts, (), runs, rng)
        two += actual <= p85(finish_weeks(items, own, HORIZON, rng).weeks)
    return one / histories, two / histories


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=3.0, help="items a week")
    args = parser.parse_args()
    print(f"Poisson {args.rate:g} a week, {args.histories} histories, {args.runs} runs each")
    print("| items left | one stage | two stages |\n|---|---|---|")
    for items in (3, 10, 20, 40, 80):
        one, two = held_shares(items, args.histories, args.runs, args.rate)
        print(f"| {items} | {one:.2f} | {two:.2f} |")


if __name__ == "__main__":
    main()
