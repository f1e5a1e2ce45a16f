"""Restatements, pure: the headline numbers compared, the causes named, how a line reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from restrat_sync.cache.restatements import NumberChange, RestatementRecord
from restrat_sync.metrics.restatements import (
    Restater,
    headline_numbers,
    issue_keys,
    listed_causes,
    restatement_line,
    shown_change,
)

COMPUTED = datetime(2026, 11, 1, 6, tzinfo=UTC)
LATER = COMPUTED + timedelta(days=11)


def flow(velocity: int, keys: list[str], median: float | None = 4.0) -> dict[str, Any]:
    return {
        "velocity": {"count": velocity, "keys": keys},
        "flow_time": {"count": velocity, "median_days": median, "keys": keys},
        "efficiency": {"value": 0.5, "keys": keys},
        "load": {"count": 1, "ages": [["PAY-9", 3.0]], "keys": ["PAY-9"]},
    }


def alignment(av: float | None, growth: float | None, keys: list[str]) -> dict[str, Any]:
    return {
        "av": av,
        "buckets": [
            {"bucket": "GROWTH", "actual": growth, "keys": keys},
            {"bucket": "UNALIGNED", "actual": None if growth is None else 1 - growth, "keys": []},
        ],
    }


def test_the_headline_numbers_of_each_metric() -> None:
    assert headline_numbers("flow", flow(3, ["PAY-1"])) == {
        "velocity": 3.0, "flow_time_median": 4.0, "efficiency": 0.5, "load": 1.0,
    }  # fmt: skip
    assert headline_numbers("alignment", alignment(0.2, 0.3, [])) == {
        "av": 0.2, "share:GROWTH": 0.3, "share:UNALIGNED": 0.7,
    }  # fmt: skip
    lag = {"median_days": None, "count": 0, "pending_over_alert": 2}
    assert headline_numbers("decision_lag", lag) == {
        "decision_lag_median": None, "decisions_measured": 0.0, "pending_over_alert": 2.0,
    }  # fmt: skip
    assert headline_numbers("pivots", {"count": 4}) == {"pivots": 4.0}
    assert headline_numbers("predictability", {"rate": 0.75}) == {"on_time_rate": 0.75}
    assert headline_numbers("key_results", [{"value": 3}]) == {}


def test_issue_keys_are_found_anywhere_in_a_result() -> None:
    value = {"events": [{"key": "EPIC-7", "detail": "GROWTH → RELIABILITY (EPIC-7 parent)"}],
             "load": {"ages": [["PAY-9", 3.0]]}, "bucket": "GROWTH"}  # fmt: skip
    assert issue_keys(value) == {"EPIC-7", "PAY-9"}


def never_above(_: str) -> list[str]:
    return []


def test_only_the_headline_numbers_that_changed_are_restated() -> None:
    """Velocity 2 -> 3 with PAY-3 new in its list; the rest equal. A value whose lists alone
    changed restates nothing."""
    restate = Restater(lambda: {"PAY-3": LATER, "PAY-8": LATER}, never_above)
    old, new = flow(2, ["PAY-1", "PAY-2"]), flow(3, ["PAY-1", "PAY-2", "PAY-3"])
    assert restate("overall", "flow", old, COMPUTED, new) == [
        NumberChange("velocity", 2.0, 3.0, ("PAY-3",))
    ]
    assert restate("overall", "flow", old, COMPUTED, flow(2, ["PAY-1", "PAY-3"])) == []


def test_the_causes_are_issues_changed_since_the_old_value() -> None:
    """PAY-1 was changed before the old value was computed: not a cause of this change."""
    restate = Restater(
        lambda: {"PAY-1": COMPUTED - timedelta(hours=1), "PAY-2": LATER}, never_above
    )
    (change,) = restate("overall", "pivots", {"count": 1, "keys": ["PAY-1", "PAY-2"]}, COMPUTED,
                        {"count": 2, "keys": ["PAY-1", "PAY-2"]})  # fmt: skip
    assert change.causes == ("PAY-2",)


def test_a_changed_issue_below_a_listed_one_is_the_cause_when_none_listed_changed() -> None:
    """A story's start moved its epic's decision lag: the epic is listed, the story is not."""
    above = {"S-1": ["EPIC-1", "INIT-1"], "S-2": []}
    restate = Restater(lambda: {"S-1": LATER, "S-2": LATER}, above.__getitem__)
    old = {"median_days": 3.0, "count": 1, "keys": ["EPIC-1"], "pending_over_alert": 0}
    new = {**old, "median_days": 5.0}
    (change,) = restate("theme:GROWTH", "decision_lag", old, COMPUTED, new)
    assert (change.number, change.causes) == ("decision_lag_median", ("S-1",))


@pytest.mark.parametrize(
    ("number", "old", "new", "shown"),
    [
        ("av", 0.184, 0.191, "18.4 pp → 19.1 pp"),
        ("av", 0.18404, 0.18399, "18.404 pp → 18.399 pp"),  # equal at one decimal
        ("share:GROWTH", 0.3, None, "30.0% → no data"),
        ("velocity", 12.0, 13.0, "12 → 13"),
        ("flow_time_median", 4.25, 5.0, "4.2 d → 5.0 d"),
        ("on_time_rate", 0.5, 0.75, "50.0% → 75.0%"),
    ],
)
def test_how_a_change_of_each_unit_reads(
    number: str, old: float | None, new: float | None, shown: str
) -> None:
    assert shown_change(number, old, new) == shown


def test_a_restatement_line_names_the_day_the_number_and_the_causes() -> None:
    """The day is the local one: 23:30Z on 11 November is 12 November in Berlin."""
    record = RestatementRecord(
        "2026-10", "overall", "alignment", "av", 0.184, 0.191,
        datetime(2026, 11, 11, 23, 30, tzinfo=UTC), COMPUTED, ("PAY-12", "PAY-40"),
    )  # fmt: skip
    assert restatement_line(record, "Europe/Berlin") == (
        "restated on 2026-11-12: AV 18.4 pp → 19.1 pp (PAY-12, PAY-40)"
    )
    share = RestatementRecord("2026-10", "overall", "alignment", "share:GROWTH", 0.3, 0.35,
                              LATER, COMPUTED, ())  # fmt: skip
    names = {"GROWTH": "Grow revenue"}.__getitem__
    assert restatement_line(share, "UTC", bucket_name=names) == (
        "restated on 2026-11-12: Grow revenue share 30.0% → 35.0%"
    )
    velocity = RestatementRecord("2026-10", "theme:GROWTH", "flow", "velocity", 1, 2,
                                 LATER, COMPUTED, ("PAY-3",))  # fmt: skip
    assert restatement_line(velocity, "UTC", "Grow revenue") == (
        "restated on 2026-11-12: Grow revenue velocity 1 → 2 (PAY-3)"
    )


def test_a_long_list_of_causes_is_cut_at_five() -> None:
    keys = [f"PAY-{n}" for n in range(1, 9)]
    assert listed_causes(keys) == "PAY-1, PAY-2, PAY-3, PAY-4, PAY-5 and 3 more"
    assert listed_causes(keys[:2]) == "PAY-1, PAY-2"
