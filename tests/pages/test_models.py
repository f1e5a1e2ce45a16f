"""Page models from snapshot JSON: the numbers the metrics stored, "no data" where none were."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from restrat_sync.cache.snapshots import Snapshot
from restrat_sync.metrics.decisions import DecisionLag
from restrat_sync.metrics.flow import FlowMetrics
from restrat_sync.metrics.quality import DataQuality
from restrat_sync.metrics.results import as_json
from restrat_sync.model.periods import parse_period
from restrat_sync.pages.models import (
    ShapeError,
    current_view,
    decode,
    monthly_model,
    overview_model,
    period_view,
    quarterly_model,
    theme_models,
    weekly_model,
)
from tests.pages import builders
from tests.pages.builders import NOW


@pytest.mark.parametrize(
    "value",
    [builders.flow(), builders.flow(finished=(), median=None, p85=None, efficiency=None, ages=()),
     builders.decision_lag(), builders.alignment(), builders.pivots(2), builders.predictability(),
     builders.data_quality(), builders.key_result()],
    ids=lambda value: type(value).__name__,
)  # fmt: skip
def test_snapshot_json_reads_back_into_the_metric_that_wrote_it(value: object) -> None:
    """``decode(as_json(x)) == x`` for every metric the pages read, Nones, nested tuples,
    literals and timestamps included."""
    assert decode(type(value), as_json(value)) == value


def test_fields_the_pages_do_not_know_are_ignored() -> None:
    """The schema may grow (metrics-json.md): an added field does not break the pages."""
    stored = as_json(builders.decision_lag()) | {"added_later": [1, 2]}
    assert decode(DecisionLag, stored) == builders.decision_lag()


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda v: v.pop("velocity"), "FlowMetrics: the field 'velocity' is missing"),
        (lambda v: v["velocity"].update(count="3"), "FlowMetrics.velocity.count"),
        (lambda v: v["distribution"]["counts"].update(bugs=1), "'bugs' is not one of"),
        (lambda v: v["load"].update(ages=[["A-1"]]), "FlowMetrics.load.ages[0]"),
    ],
)
def test_a_snapshot_of_another_shape_is_an_error_naming_where(change: object, where: str) -> None:
    """A missing field, a string for a count, an unknown category, a short pair: each names
    the place."""
    stored = as_json(builders.flow())
    change(stored)  # type: ignore[operator]
    with pytest.raises(ShapeError, match=where.replace("[", r"\[").replace("]", r"\]")):
        decode(FlowMetrics, stored)


def test_a_period_view_holds_each_scopes_metrics_and_the_allocation() -> None:
    """The stored numbers come back per scope; the allocation sits beside them."""
    stored = builders.period_metrics()
    stored[("theme:GROWTH", "flow")] = builders.flow(finished=("PAY-1",), median=2.25)
    view = period_view("2026-10", builders.snapshots("2026-10", stored))
    assert view.computed_at == NOW
    assert view.alignment is not None
    assert view.alignment.av == 0.15
    bucket = view.bucket("RELIABILITY")
    assert bucket is not None
    assert (bucket.planned, bucket.actual, bucket.deviation) == (0.3, 0.35, 0.05)
    growth = view.scope("theme:GROWTH").flow
    assert growth is not None
    assert (growth.velocity.count, growth.flow_time.median_days) == (1, 2.25)
    assert view.scope("overall").decision_lag == builders.decision_lag()
    assert view.unreadable == ()


def test_a_missing_metric_is_none_never_zero() -> None:
    """A scope or metric without a snapshot reads as None ("no data")."""
    view = period_view(
        "2026-10", builders.snapshots("2026-10", {("overall", "flow"): builders.flow()})
    )
    assert view.alignment is None
    assert view.scope("overall").decision_lag is None
    assert view.scope("theme:GROWTH").flow is None
    assert view.bucket("GROWTH") is None


def test_an_unreadable_snapshot_counts_as_missing_and_is_named() -> None:
    """A snapshot of another shape is no data, and the page can say which one it was."""
    broken = Snapshot("2026-10", "overall", "flow", NOW, {"velocity": 3})
    view = period_view("2026-10", [broken])
    assert view.scope("overall").flow is None
    assert len(view.unreadable) == 1
    assert view.unreadable[0].startswith("2026-10 overall/flow: ")


def test_other_periods_snapshots_are_left_out() -> None:
    """A view reads only the snapshots of its own period."""
    mixed = builders.snapshots("2026-09", {("overall", "flow"): builders.flow()})
    assert period_view("2026-10", mixed).computed_at is None


def test_the_current_view_holds_key_results_per_theme_and_data_quality() -> None:
    """Key results by theme key (an empty list is "none declared", not "no data") and the
    data-quality lists, from the ``current`` snapshots."""
    now = current_view(builders.snapshots("current", builders.current_metrics()))
    assert now.key_results == {"GROWTH": (builders.key_result(),), "RELIABILITY": ()}
    assert isinstance(now.data_quality, DataQuality)
    assert now.data_quality.no_start == ("PAY-6", "PAY-7")


def test_the_overview_model_has_the_rolling_numbers_and_monthly_and_weekly_trends() -> None:
    """AV by month over ``trend_months`` months up to the last complete month, None where a
    month has no snapshot; velocity by week up to the last complete week."""
    october = builders.period_metrics()
    october[("overall", "alignment")] = builders.alignment(
        {"GROWTH": 0.6, "RELIABILITY": 0.2, "UNALIGNED": 0.2}
    )
    w46 = {("overall", "flow"): builders.flow(finished=("A-1", "A-2", "A-3", "A-4"))}
    model = overview_model(
        builders.inputs(
            {"last-4-weeks": builders.period_metrics(), "2026-10": october, "2026-W46": w46}
        )
    )
    assert model.metrics.alignment is not None
    assert model.av_trend.labels[0] == "2025-11"
    assert model.av_trend.labels[-1] == "2026-10"
    assert len(model.av_trend.labels) == 12
    assert model.av_trend.series == (("AV", (None,) * 11 + (0.1,)),)
    assert model.velocity_trend.labels[-1] == "2026-W46"
    assert model.velocity_trend.series[0][1][-2:] == (None, 4.0)
    assert model.footer.period.label == "last-4-weeks"
    assert model.footer.period.end == NOW  # the window ends when it was computed
    assert (model.footer.as_of, model.footer.rolling) == (builders.LAST_SYNC.date(), True)


def test_the_rolling_window_ends_at_the_last_computation_not_the_last_change() -> None:
    """Rolling values equal for three days keep the day they last changed; the window shown
    is the one the last metric run computed."""
    stored = {"last-4-weeks": builders.period_metrics()}
    three_days = NOW - timedelta(days=3)
    model = overview_model(builders.inputs(stored, computed_at=three_days, last_computed_at=NOW))
    assert model.footer.period.end == NOW
    assert overview_model(builders.inputs(stored, computed_at=three_days)).footer.period.end == (
        three_days
    )


def test_theme_models_follow_the_config_order_with_their_own_numbers() -> None:
    """One model per theme, in config order, with its bucket, scope metrics, anchors and key
    results."""
    stored = builders.period_metrics()
    stored[("theme:RELIABILITY", "flow")] = builders.flow(finished=("OPS-1",))
    models = theme_models(
        builders.inputs({"last-4-weeks": stored, "current": builders.current_metrics()})
    )
    assert [m.theme.key for m in models] == ["GROWTH", "RELIABILITY"]
    growth, reliability = models
    assert growth.bucket is not None
    assert growth.bucket.deviation == -0.15
    assert growth.quarter == "2026-Q4"
    assert [a.key for a in growth.anchors] == ["PORT-1"]
    assert growth.key_results == (builders.key_result(),)
    assert growth.theme.jql == 'project = PORT AND labels = "growth"'
    assert reliability.metrics.flow is not None
    assert reliability.metrics.flow.velocity.keys == ("OPS-1",)
    assert reliability.anchors == ()
    assert reliability.key_results == ()


def test_theme_models_without_current_snapshots_have_no_key_result_data() -> None:
    """Without the ``current`` snapshots the key results are None: "no data", not "none"."""
    models = theme_models(builders.inputs({"last-4-weeks": builders.period_metrics()}))
    assert all(m.key_results is None for m in models)


def test_the_weekly_model_compares_with_the_week_before() -> None:
    """W47's model holds W46 as the previous week, "no data" when W46 was never computed."""
    week = parse_period("2026-W47", NOW, "UTC")
    model = weekly_model(builders.inputs({"2026-W47": builders.period_metrics()}), week)
    assert model.previous.label == "2026-W46"
    assert model.previous.computed_at is None
    assert model.footer.period == week


def test_the_monthly_model_has_a_six_month_trend() -> None:
    """Six months up to the page's month: AV, velocity, decision-lag median, on-time rate."""
    month = parse_period("2026-10", NOW, "UTC")
    august = builders.period_metrics()
    august[("overall", "predictability")] = builders.predictability(rate=0.5)
    model = monthly_model(
        builders.inputs({"2026-10": builders.period_metrics(), "2026-08": august}), month
    )
    assert model.trend.labels == ("2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10")
    series = dict(model.trend.series)
    assert series["on time"] == (None, None, None, 0.5, None, 0.75)
    assert series["velocity"][-1] == 3.0
    assert series["decision lag"][-1] == 4.5


def test_the_quarterly_model_trends_end_with_the_quarters_last_month() -> None:
    """The AV and decision-lag trends run up to the quarter's last month."""
    quarter = parse_period("2026-Q3", NOW, "UTC")
    september = builders.period_metrics()
    september[("overall", "decision_lag")] = replace(
        builders.decision_lag(), median_days=1.5, p85_days=2.5
    )
    model = quarterly_model(
        builders.inputs({"2026-Q3": builders.period_metrics(), "2026-09": september}), quarter
    )
    assert model.av_trend.labels[-1] == "2026-09"
    assert len(model.av_trend.labels) == 12
    assert dict(model.decision_trend.series)["median"][-1] == 1.5
    assert dict(model.decision_trend.series)["p85"][-1] == 2.5
    assert model.metrics.label == "2026-Q3"
