"""`metrics --initiative KEY` as printed: the table and the JSON of one initiative, and the
message for a key that is no initiative (the portfolio of ``test_initiatives``)."""

from __future__ import annotations

from typing import Any

from restrat_sync.metrics.compute import compute_current, compute_periods, prepare
from restrat_sync.metrics.report import metrics_json, metrics_table, unknown_initiative
from restrat_sync.model.periods import parse_period
from tests.metrics.test_history_attribution import NOW, config
from tests.metrics.test_initiatives import initiatives_portfolio


def shown(label: str, initiative: str, as_json: bool = False) -> Any:
    prepared = prepare(initiatives_portfolio(), config())
    (result,) = compute_periods(prepared, [parse_period(label, NOW, "UTC")], NOW)
    current = compute_current(prepared, NOW)
    if as_json:
        return metrics_json(prepared, result, current, NOW, initiative=initiative)
    return metrics_table(prepared, result, current, initiative=initiative)


def test_the_table_of_one_initiative_gives_its_share_and_its_row() -> None:
    """INIT-C in November: 7 of GROWTH's 16 active days (43.8%), S-1 finished, 14 days."""
    lines = shown("2026-11", "INIT-C")
    assert lines[2] == (
        "initiative INIT-C, of GROWTH at the period's end: effort 7.0, 7.0 of it in GROWTH: "
        "43.8% of GROWTH's 16.0"
    )
    (row,) = [line for line in lines if line.startswith("INIT-C ")]
    assert row.split()[1:3] == ["1", "14.0"]  # velocity, flow time median
    assert not any(line.startswith(("GROWTH", "overall", "data quality")) for line in lines)


def test_an_initiative_nothing_touched_in_the_period_says_so() -> None:
    """In August nothing existed yet: no row, a line saying why."""
    lines = shown("2026-08", "INIT-C")
    assert lines[2] == "initiative INIT-C: nothing below it touched 2026-08"
    assert not any(line.startswith("INIT-C") for line in lines)


def test_the_json_of_one_initiative_holds_overall_and_its_scope() -> None:
    document = shown("2026-11", "INIT-A", as_json=True)
    assert set(document["scopes"]) == {"overall", "initiative:INIT-A"}
    assert document["scopes"]["initiative:INIT-A"]["effort"]["share"] == 0.4375


def test_an_unknown_key_names_a_few_initiatives_that_exist() -> None:
    many = [f"PORT-{n}" for n in range(1, 11)]
    assert unknown_initiative("PORT-3", many) is None
    assert unknown_initiative("NOPE-1", many) == (
        "--initiative NOPE-1: no such initiative (initiatives: PORT-1, PORT-2, PORT-3, PORT-4, "
        "PORT-5, PORT-6, PORT-7, PORT-8 and 2 more)"
    )
    assert unknown_initiative("NOPE-1", []) == (
        "--initiative NOPE-1: the cache holds no initiatives (docs/metrics.md#initiatives)"
    )
