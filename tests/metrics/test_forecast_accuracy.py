"""Forecast accuracy against a hand-built history of forecasts and outcomes.

Now is Friday 2027-01-15 00:00 UTC; dates are UTC dates unless a test says otherwise. A P85 day
is over at the midnight after it, and work done at 23:59 on its P85 day held.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from restrat_sync.metrics.forecast_accuracy import (
    AccuracyGroup,
    Outcome,
    StoredForecast,
    describe,
    forecast_accuracy,
)
from restrat_sync.metrics.results import as_json

NOW = datetime(2027, 1, 15, tzinfo=UTC)
Q3 = datetime(2026, 9, 1, 9, tzinfo=UTC)  # made in 2026-Q3
Q4 = datetime(2026, 10, 15, 9, tzinfo=UTC)  # made in 2026-Q4


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def dated(scope: str, made: datetime, p50: str, p85: str) -> StoredForecast:
    return StoredForecast(made, scope, date.fromisoformat(p50), date.fromisoformat(p85), None)


def odds(scope: str, made: datetime, probability: float, deadline: str) -> StoredForecast:
    return StoredForecast(
        made, scope, None, None, None, probability, target=10, deadline=at(deadline)
    )


HISTORY = [
    # 2026-Q3: four date forecasts judged, one not yet due, one without dates.
    (dated("epic:A", Q3, "2026-10-01", "2026-10-10"), Outcome(at("2026-10-05 12:00"))),
    (dated("epic:B", Q3, "2026-10-01", "2026-10-10"), Outcome(at("2026-10-10 23:59"))),
    (dated("epic:C", Q3, "2026-10-01", "2026-10-10"), Outcome(at("2026-10-12 09:00"))),
    (dated("epic:D", Q3, "2026-09-20", "2026-09-25"), Outcome(None)),
    (dated("epic:E", Q3, "2027-01-10", "2027-02-01"), Outcome(None)),
    (StoredForecast(Q3, "epic:F", None, None, None), Outcome(None)),
    (odds("kr:GROWTH/1", Q3, 0.6, "2026-10-01"), Outcome(reached=True)),
    # 2026-Q4: one date forecast, three key results judged, one not yet due, one unknown.
    (dated("epic:G", Q4, "2026-11-01", "2026-11-08"), Outcome(at("2026-10-30 10:00"))),
    (odds("kr:GROWTH/2", Q4, 0.3, "2027-01-01"), Outcome(reached=False)),
    (odds("kr:GROWTH/3", Q4, 0.9, "2027-01-01"), Outcome(reached=False)),
    (odds("kr:GROWTH/4", Q4, 0.5, "2027-04-01"), Outcome(reached=True)),
    (odds("kr:GROWTH/5", Q4, 0.5, "2027-01-01"), Outcome(reached=None)),
]


def test_hit_rate_p50_error_and_brier_score_by_quarter() -> None:
    """2026-Q3. Judged: A, B, C and D (E's P85 day is not over, F has no dates).
    - A done 2026-10-05, by its P85 2026-10-10: held; P50 error |10-05 - 10-01| = 4 days.
    - B done 2026-10-10 23:59, the last minute of its P85 day: held; error 9 days.
    - C done 2026-10-12: missed; error 11 days.
    - D not done yet: missed; censored, error at least 2027-01-14 - 2026-09-20 = 116 days.
    Held 2 of 4 (50 %); median error of 4, 9, 11, 116 = 10 days, a lower bound (1 censored).
    Key result 1: 60 %, reached: (0.6 - 1)^2 = 0.16.

    2026-Q4. G done 2026-10-30, before its P50 2026-11-01: held, error 2 days. Key results 2
    and 3 (30 % and 90 %, both missed): (0.09 + 0.81) / 2 = 0.45. 4's deadline is not over, 5's
    outcome is unknown.

    Overall: held 3 of 5 (60 %); median of 2, 4, 9, 11, 116 = 9; Brier (0.16 + 0.09 + 0.81) / 3
    = 0.3533."""
    result = forecast_accuracy(HISTORY, NOW)
    q3, q4 = result.quarters
    assert q3 == AccuracyGroup(
        quarter="2026-Q3",
        judged=4,
        held=2,
        hit_rate=0.5,
        median_p50_error_days=10.0,
        censored=1,
        key_results=1,
        brier=pytest.approx(0.16),
        missed=("epic:C", "epic:D"),
    )
    assert (q4.quarter, q4.judged, q4.held, q4.hit_rate) == ("2026-Q4", 1, 1, 1.0)
    assert q4.median_p50_error_days == 2.0
    assert q4.key_results == 2
    assert q4.brier == pytest.approx(0.45)
    overall = result.overall
    assert (overall.judged, overall.held, overall.hit_rate) == (5, 3, 0.6)
    assert overall.median_p50_error_days == 9.0
    assert overall.censored == 1
    assert overall.brier == pytest.approx((0.16 + 0.09 + 0.81) / 3)


def test_the_accuracy_line_reads_as_the_quarterly_review_says_it() -> None:
    q3, q4 = forecast_accuracy(HISTORY, NOW).quarters
    assert describe(q3) == (
        "of 4 forecasts made in 2026-Q3, 2 held at P85 (50%); median P50 error at least "
        "10 days (1 not done yet); Brier score 0.16 over 1 key result (made in 2026-Q3)"
    )
    assert describe(q4).startswith(
        "of 1 forecasts made in 2026-Q4, 1 held at P85 (100%); median P50 error 2 days; "
    )


def test_the_issues_example_line() -> None:
    """14 forecasts made in 2026-Q3, all done on 2026-10-07, 6 days after their P50 of
    2026-10-01: 11 by their P85 of 2026-10-10 and 3 after their P85 of 2026-10-05. Held 11 of
    14 (79 %); every P50 error, so the median too, is 6 days."""
    made = datetime(2026, 8, 1, tzinfo=UTC)
    held = [
        (dated(f"epic:H{n}", made, "2026-10-01", "2026-10-10"), Outcome(at("2026-10-07 10:00")))
        for n in range(11)
    ]
    late = [
        (dated(f"epic:L{n}", made, "2026-10-01", "2026-10-05"), Outcome(at("2026-10-07 10:00")))
        for n in range(3)
    ]
    (q3,) = forecast_accuracy(held + late, NOW).quarters
    assert describe(q3) == (
        "of 14 forecasts made in 2026-Q3, 11 held at P85 (79%); median P50 error 6 days"
    )


def test_nothing_judged_yet() -> None:
    result = forecast_accuracy(HISTORY[4:6], NOW)
    assert result.quarters == ()
    assert result.overall.hit_rate is None
    assert result.overall.brier is None
    assert describe(result.overall) == "no forecast made in all quarters can be judged yet"


def test_days_and_quarters_are_local() -> None:
    """In Berlin (UTC+2 until 25 October 2026) a P85 day of 2026-10-10 ends at 22:00Z: work
    done at 23:00Z that day is done on 11 October there and missed. A forecast made at
    2026-09-30 23:30Z was made on 1 October in Berlin: 2026-Q4."""
    made = at("2026-09-30 23:30")
    history = [(dated("epic:A", made, "2026-10-08", "2026-10-10"), Outcome(at("2026-10-10 23:00")))]
    utc = forecast_accuracy(history, NOW)
    berlin = forecast_accuracy(history, NOW, "Europe/Berlin")
    assert (utc.overall.held, utc.quarters[0].quarter, utc.overall.median_p50_error_days) == (
        1,
        "2026-Q3",
        2.0,
    )
    assert (berlin.overall.held, berlin.quarters[0].quarter) == (0, "2026-Q4")
    assert berlin.overall.median_p50_error_days == 3.0


def test_a_p85_day_is_judged_only_once_it_is_over() -> None:
    history = [(dated("epic:A", Q3, "2026-10-01", "2026-10-10"), Outcome(None))]
    assert forecast_accuracy(history, at("2026-10-10 23:59")).overall.judged == 0
    assert forecast_accuracy(history, at("2026-10-11 00:00")).overall.judged == 1


def test_accuracy_is_plain_json() -> None:
    document = json.loads(json.dumps(as_json(forecast_accuracy(HISTORY, NOW))))
    assert document["quarters"][0]["quarter"] == "2026-Q3"
    assert document["overall"]["hit_rate"] == 0.6


def test_a_naive_moment_is_named() -> None:
    naive = StoredForecast(datetime(2026, 9, 1), "epic:A", None, None, None)
    with pytest.raises(ValueError, match="the forecast of epic:A: 2026-09-01T00:00:00 has no"):
        forecast_accuracy([(naive, Outcome())], NOW)
