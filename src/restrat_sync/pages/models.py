"""Page models: what each page shows, as frozen values built from metric snapshots.

Snapshot JSON is read back into the very dataclasses that wrote it (``decode``), so a page reads
the fields the metrics computed, and a change of shape fails here (and in the tests) rather than
as a wrong number on a page. A metric without a snapshot is None and its page says "no data",
never 0; a snapshot that cannot be read counts as missing and is named on the page.

Every function here is pure: ``PageInputs`` in, models out.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from restrat_sync import __version__
from restrat_sync.cache.restatements import RestatementRecord
from restrat_sync.cache.snapshots import Snapshot
from restrat_sync.config import UNALIGNED
from restrat_sync.metrics.alignment import Alignment, BucketShare
from restrat_sync.metrics.compute import (
    CURRENT,
    INITIATIVE_PREFIX,
    OVERALL,
    UNALIGNED_SCOPE,
    theme_scope,
)
from restrat_sync.metrics.decisions import DecisionLag
from restrat_sync.metrics.flow import FlowMetrics
from restrat_sync.metrics.initiatives import InitiativeEffort
from restrat_sync.metrics.outcomes import KeyResultProgress, Predictability
from restrat_sync.metrics.pivots import Pivots
from restrat_sync.metrics.quality import DataQuality
from restrat_sync.model.periods import (
    ROLLING_LABEL,
    CalendarKind,
    Period,
    last_complete,
    last_four_weeks,
    period_of,
    previous,
)
from restrat_sync.pages.inputs import Anchor, PageInputs
from restrat_sync.pages.jql import ordered_keys

T = TypeVar("T")
_TICK = timedelta(microseconds=1)
MONTHLY_TREND_MONTHS = 6  # domain.md: the monthly page shows a 6-month trend


class ShapeError(ValueError):
    """Snapshot JSON that does not have the shape of the metric it claims to be."""


# --- reading snapshot JSON back into the metric dataclasses --------------------------------------


def decode(kind: type[T], value: Any) -> T:
    """``value`` (JSON, as ``metrics.results.as_json`` wrote it) as a ``kind`` dataclass.

    Fields the dataclass does not know are ignored (the schema may grow); a missing field or a
    value of the wrong type raises ShapeError naming where.
    """
    return cast(T, _decode(kind, value, kind.__name__))


@cache
def _hints(kind: type) -> dict[str, Any]:
    return get_type_hints(kind)


def _decode(kind: Any, value: Any, where: str) -> Any:
    origin = get_origin(kind)
    if dataclasses.is_dataclass(kind):
        return _decode_dataclass(cast(type, kind), value, where)
    if origin is Union or origin is types.UnionType:
        return _decode_optional(kind, value, where)
    if origin is tuple:
        return _decode_tuple(get_args(kind), value, where)
    if origin is dict:
        key_kind, value_kind = get_args(kind)
        entries = _expect(dict, value, where)
        return {
            _decode(key_kind, key, where): _decode(value_kind, item, f"{where}.{key}")
            for key, item in entries.items()
        }
    if origin is Literal:
        if value not in get_args(kind):
            raise ShapeError(f"{where}: {value!r} is not one of {get_args(kind)}")
        return value
    return _decode_plain(kind, value, where)


def _decode_dataclass(kind: type, value: Any, where: str) -> Any:
    entries = _expect(dict, value, where)
    hints = _hints(kind)
    found: dict[str, Any] = {}
    for name in (field.name for field in dataclasses.fields(kind)):
        if name not in entries:
            raise ShapeError(f"{where}: the field {name!r} is missing")
        found[name] = _decode(hints[name], entries[name], f"{where}.{name}")
    return kind(**found)


def _decode_optional(kind: Any, value: Any, where: str) -> Any:
    options = [option for option in get_args(kind) if option is not type(None)]
    if value is None and len(options) < len(get_args(kind)):
        return None
    if len(options) != 1:
        raise ShapeError(f"{where}: cannot read a value of {kind}")
    return _decode(options[0], value, where)


def _decode_tuple(parts: tuple[Any, ...], value: Any, where: str) -> tuple[Any, ...]:
    entries = _expect(list, value, where)
    if len(parts) == 2 and parts[1] is Ellipsis:
        return tuple(_decode(parts[0], item, f"{where}[{i}]") for i, item in enumerate(entries))
    if len(entries) != len(parts):
        raise ShapeError(f"{where}: expected {len(parts)} entries, found {len(entries)}")
    pairs = enumerate(zip(parts, entries, strict=True))
    return tuple(_decode(part, item, f"{where}[{i}]") for i, (part, item) in pairs)


def _decode_plain(kind: Any, value: Any, where: str) -> Any:
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind is str or kind is bool:
        return _expect(kind, value, where)
    if kind is datetime:
        try:
            return datetime.fromisoformat(_expect(str, value, where))
        except ValueError:
            raise ShapeError(f"{where}: {value!r} is not a timestamp") from None
    raise ShapeError(f"{where}: {value!r} is not a {getattr(kind, '__name__', kind)}")


def _expect(kind: type[T], value: Any, where: str) -> T:
    if not isinstance(value, kind):
        raise ShapeError(f"{where}: expected {kind.__name__}, found {type(value).__name__}")
    return value


# --- the snapshots of one period ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeMetrics:
    """The period metrics of one scope; None where there is no snapshot."""

    flow: FlowMetrics | None = None
    decision_lag: DecisionLag | None = None
    pivots: Pivots | None = None
    predictability: Predictability | None = None
    effort: InitiativeEffort | None = None  # initiative scopes only


NO_METRICS = ScopeMetrics()
_SCOPE_METRICS: dict[str, type] = {
    "flow": FlowMetrics,
    "decision_lag": DecisionLag,
    "pivots": Pivots,
    "predictability": Predictability,
    "effort": InitiativeEffort,
}


@dataclass(frozen=True, slots=True)
class PeriodView:
    """The snapshots of one period, read."""

    label: str
    computed_at: datetime | None  # None: the period has no snapshot at all
    alignment: Alignment | None
    scopes: Mapping[str, ScopeMetrics]
    unreadable: tuple[str, ...]  # "period scope/metric: why" of snapshots that failed to read

    def scope(self, name: str) -> ScopeMetrics:
        return self.scopes.get(name, NO_METRICS)

    def bucket(self, bucket: str) -> BucketShare | None:
        if self.alignment is None:
            return None
        return next((b for b in self.alignment.buckets if b.bucket == bucket), None)


@dataclass(frozen=True, slots=True)
class CurrentView:
    """What describes the portfolio now (the ``current`` snapshots)."""

    computed_at: datetime | None
    key_results: Mapping[str, tuple[KeyResultProgress, ...]]  # theme key -> its key results
    data_quality: DataQuality | None
    unreadable: tuple[str, ...]


def period_view(label: str, snapshots: Iterable[Snapshot]) -> PeriodView:
    """The metrics of period ``label`` from its snapshots (those of other periods are skipped)."""
    scopes: dict[str, dict[str, Any]] = {}
    alignment: Alignment | None = None
    unreadable: list[str] = []
    computed: list[datetime] = []
    for snapshot in snapshots:
        if snapshot.period != label:
            continue
        computed.append(snapshot.computed_at)
        kind = Alignment if snapshot.metric == "alignment" else _SCOPE_METRICS.get(snapshot.metric)
        if kind is None:
            continue  # a metric this version does not show
        value = _read(kind, snapshot, unreadable)
        if isinstance(value, Alignment) and snapshot.scope == OVERALL:
            alignment = value
        elif value is not None and kind is not Alignment:
            scopes.setdefault(snapshot.scope, {})[snapshot.metric] = value
    return PeriodView(
        label=label,
        computed_at=max(computed, default=None),
        alignment=alignment,
        scopes={scope: ScopeMetrics(**metrics) for scope, metrics in scopes.items()},
        unreadable=tuple(unreadable),
    )


def current_view(snapshots: Iterable[Snapshot]) -> CurrentView:
    """Key results per theme and data quality from the ``current`` snapshots."""
    results: dict[str, tuple[KeyResultProgress, ...]] = {}
    quality: DataQuality | None = None
    unreadable: list[str] = []
    computed: list[datetime] = []
    for snapshot in snapshots:
        if snapshot.period != CURRENT:
            continue
        computed.append(snapshot.computed_at)
        if snapshot.metric == "key_results" and snapshot.scope.startswith("theme:"):
            read = _read(tuple[KeyResultProgress, ...], snapshot, unreadable)
            if read is not None:
                results[snapshot.scope.removeprefix("theme:")] = read
        elif snapshot.metric == "data_quality" and snapshot.scope == OVERALL:
            quality = _read(DataQuality, snapshot, unreadable)
    return CurrentView(max(computed, default=None), results, quality, tuple(unreadable))


def _read(kind: Any, snapshot: Snapshot, unreadable: list[str]) -> Any:
    try:
        return _decode(kind, snapshot.value, snapshot.metric)
    except ShapeError as error:
        unreadable.append(f"{snapshot.period} {snapshot.scope}/{snapshot.metric}: {error}")
        return None


# --- the parts pages share ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThemeRef:
    key: str
    name: str
    jql: str  # the query of the theme's JQL file

    @property
    def scope(self) -> str:
        return theme_scope(self.key)


@dataclass(frozen=True, slots=True)
class Trend:
    """Values per period, oldest first: one series per name, one value (or None) per label."""

    labels: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]


@dataclass(frozen=True, slots=True)
class Footer:
    """What ends every data page. Nothing in it changes by the minute or with the clock alone:
    a page is rewritten when what it shows changes, not because time passed."""

    period: Period
    timezone: str
    # A rolling page: "data as of" the local day of the last successful sync. A page of a
    # calendar period: "numbers as of" the local day one of them last changed (its snapshots'
    # latest ``computed_at``). None: no data.
    as_of: date | None
    rolling: bool
    version: str


# --- one model per page -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverviewModel:
    themes: tuple[ThemeRef, ...]
    metrics: PeriodView  # the last four weeks
    current: CurrentView
    av_trend: Trend  # AV by month
    velocity_trend: Trend  # overall velocity by week
    footer: Footer


@dataclass(frozen=True, slots=True)
class InitiativeRow:
    """One initiative of a theme page: its metrics over the last four weeks."""

    key: str
    summary: str | None  # None: the cache does not hold the issue any more
    metrics: ScopeMetrics


@dataclass(frozen=True, slots=True)
class ThemeModel:
    theme: ThemeRef
    bucket: BucketShare | None  # the theme's allocation over the last four weeks
    quarter: str | None  # whose targets apply
    metrics: ScopeMetrics
    anchors: tuple[Anchor, ...]
    key_results: tuple[KeyResultProgress, ...] | None  # None: no snapshot
    unreadable: tuple[str, ...]
    footer: Footer
    initiatives: tuple[InitiativeRow, ...] = ()  # the theme's own, the largest share first


@dataclass(frozen=True, slots=True)
class WeeklyModel:
    themes: tuple[ThemeRef, ...]
    metrics: PeriodView
    previous: PeriodView  # the week before, for the change
    footer: Footer
    restatements: tuple[RestatementRecord, ...] = ()  # of the period, newest first


@dataclass(frozen=True, slots=True)
class MonthlyModel:
    themes: tuple[ThemeRef, ...]
    metrics: PeriodView
    trend: Trend  # AV, velocity, decision-lag median, on-time rate over six months
    footer: Footer
    restatements: tuple[RestatementRecord, ...] = ()  # of the period, newest first


@dataclass(frozen=True, slots=True)
class QuarterlyModel:
    themes: tuple[ThemeRef, ...]
    metrics: PeriodView
    av_trend: Trend  # AV by month, up to the quarter's last month
    decision_trend: Trend  # decision-lag median and p85 by month
    current: CurrentView  # key results
    footer: Footer
    restatements: tuple[RestatementRecord, ...] = ()  # of the period, newest first


@dataclass(frozen=True, slots=True)
class ParentModel:
    """A cadence parent page: what its child pages are."""

    kind: CalendarKind


PageModel = OverviewModel | ThemeModel | WeeklyModel | MonthlyModel | QuarterlyModel | ParentModel


# --- building the models ------------------------------------------------------------------------


def themes_of(inputs: PageInputs) -> tuple[ThemeRef, ...]:
    """The configured themes, in config order."""
    return tuple(
        ThemeRef(t.key, t.name, inputs.theme_jql.get(t.key, "")) for t in inputs.config.themes
    )


def view(inputs: PageInputs, label: str) -> PeriodView:
    return period_view(label, inputs.snapshots.get(label, ()))


def current(inputs: PageInputs) -> CurrentView:
    return current_view(inputs.snapshots.get(CURRENT, ()))


def rolling_period(inputs: PageInputs, metrics: PeriodView) -> Period:
    """The window the stored ``last-4-weeks`` covers: it ended when it was last computed, by
    the dashboards' last metric run or, later, by ``restrat-sync metrics`` (when its values
    last changed: ``computed_at``)."""
    ends = [at for at in (inputs.last_computed_at, metrics.computed_at) if at is not None]
    return last_four_weeks(max(ends, default=inputs.now), inputs.config.timezone)


def footer(inputs: PageInputs, period: Period, metrics: PeriodView) -> Footer:
    """The footer of a page of ``period``; see ``Footer`` for what "as of" means."""
    rolling = period.kind == "rolling"
    moment = inputs.last_sync_at if rolling else metrics.computed_at
    zone = inputs.config.timezone
    as_of = None if moment is None else moment.astimezone(ZoneInfo(zone)).date()
    return Footer(period, zone, as_of, rolling, __version__)


def overview_model(inputs: PageInputs) -> OverviewModel:
    """The portfolio overview over the last four weeks."""
    metrics = view(inputs, ROLLING_LABEL)
    zone = inputs.config.timezone
    months = periods_before(
        last_complete("month", inputs.now, zone), zone, inputs.config.pages.trend_months
    )
    weeks = periods_before(
        last_complete("week", inputs.now, zone), zone, inputs.config.pages.trend_weeks
    )
    return OverviewModel(
        themes=themes_of(inputs),
        metrics=metrics,
        current=current(inputs),
        av_trend=trend(inputs, months, {"AV": _av}),
        velocity_trend=trend(inputs, weeks, {"velocity": _velocity}),
        footer=footer(inputs, rolling_period(inputs, metrics), metrics),
    )


def theme_models(inputs: PageInputs) -> list[ThemeModel]:
    """One model per theme, in config order, over the last four weeks."""
    metrics = view(inputs, ROLLING_LABEL)
    now = current(inputs)
    page_footer = footer(inputs, rolling_period(inputs, metrics), metrics)
    quarter = metrics.alignment.quarter if metrics.alignment else None
    return [
        ThemeModel(
            theme=theme,
            bucket=metrics.bucket(theme.key),
            quarter=quarter,
            metrics=metrics.scope(theme.scope),
            anchors=inputs.anchors.get(theme.key, ()),
            key_results=now.key_results.get(theme.key),
            unreadable=metrics.unreadable + now.unreadable,
            footer=page_footer,
            initiatives=initiative_rows(metrics, theme.key, inputs.initiatives),
        )
        for theme in themes_of(inputs)
    ]


def initiative_rows(
    metrics: PeriodView, theme: str, known: Mapping[str, Anchor]
) -> tuple[InitiativeRow, ...]:
    """The initiatives whose own theme at the end of ``metrics``' period was ``theme`` (their
    ``effort`` snapshot says which), the largest share of the theme first (no share last, ties
    by project and number), with their summary from ``known``."""
    mine = {
        scope.removeprefix(INITIATIVE_PREFIX): got
        for scope, got in metrics.scopes.items()
        if scope.startswith(INITIATIVE_PREFIX) and got.effort and got.effort.theme == theme
    }
    rows = [
        InitiativeRow(key, known[key].summary if key in known else None, mine[key])
        for key in ordered_keys(mine)
    ]
    return tuple(sorted(rows, key=_largest_share_first))


def _largest_share_first(row: InitiativeRow) -> float:
    share = row.metrics.effort.share if row.metrics.effort else None
    return 1.0 if share is None else -share  # shares are 0..1: no share sorts after all


def weekly_model(inputs: PageInputs, period: Period) -> WeeklyModel:
    """The weekly telemetry of ``period``, with the week before it for the change."""
    metrics = view(inputs, period.label)
    before = previous(period, inputs.config.timezone)
    return WeeklyModel(
        themes_of(inputs),
        metrics,
        view(inputs, before.label),
        footer(inputs, period, metrics),
        inputs.restatements.get(period.label, ()),
    )


def monthly_model(inputs: PageInputs, period: Period) -> MonthlyModel:
    """The monthly portfolio sync of ``period``, with the six months up to it."""
    metrics = view(inputs, period.label)
    months = periods_before(period, inputs.config.timezone, MONTHLY_TREND_MONTHS)
    series = {"AV": _av, "velocity": _velocity, "decision lag": _lag_median, "on time": _on_time}
    return MonthlyModel(
        themes_of(inputs),
        metrics,
        trend(inputs, months, series),
        footer(inputs, period, metrics),
        inputs.restatements.get(period.label, ()),
    )


def quarterly_model(inputs: PageInputs, period: Period) -> QuarterlyModel:
    """The quarterly strategy review of ``period``; its trends run by month up to the
    quarter's last month."""
    zone = inputs.config.timezone
    metrics = view(inputs, period.label)
    last_month = period_of("month", period.end - _TICK, zone)
    months = periods_before(last_month, zone, inputs.config.pages.trend_months)
    return QuarterlyModel(
        themes=themes_of(inputs),
        metrics=metrics,
        av_trend=trend(inputs, months, {"AV": _av}),
        decision_trend=trend(inputs, months, {"median": _lag_median, "p85": _lag_p85}),
        current=current(inputs),
        footer=footer(inputs, period, metrics),
        restatements=inputs.restatements.get(period.label, ()),
    )


# --- trends -------------------------------------------------------------------------------------


def periods_before(last: Period, zone: str, count: int) -> list[Period]:
    """``count`` periods of ``last``'s kind ending with ``last``, oldest first."""
    found = [last]
    while len(found) < count:
        found.append(previous(found[-1], zone))
    return found[::-1]


def trend(inputs: PageInputs, periods: Iterable[Period], series: Mapping[str, _Pick]) -> Trend:
    """The named values of each period's overall metrics; None where a period has no data."""
    views = [view(inputs, period.label) for period in periods]
    return Trend(
        labels=tuple(v.label for v in views),
        series=tuple((name, tuple(pick(v) for v in views)) for name, pick in series.items()),
    )


def _av(metrics: PeriodView) -> float | None:
    return metrics.alignment.av if metrics.alignment else None


def _velocity(metrics: PeriodView) -> float | None:
    flow = metrics.scope(OVERALL).flow
    return None if flow is None else float(flow.velocity.count)


def _lag_median(metrics: PeriodView) -> float | None:
    lag = metrics.scope(OVERALL).decision_lag
    return None if lag is None else lag.median_days


def _lag_p85(metrics: PeriodView) -> float | None:
    lag = metrics.scope(OVERALL).decision_lag
    return None if lag is None else lag.p85_days


def _on_time(metrics: PeriodView) -> float | None:
    outcome = metrics.scope(OVERALL).predictability
    return None if outcome is None else outcome.rate


_Pick = Callable[[PeriodView], float | None]
UNALIGNED_NAME = "Unaligned"


def bucket_name(bucket: str, themes: Iterable[ThemeRef]) -> str:
    """A bucket's name as pages show it: the theme's name, or "Unaligned"."""
    if bucket == UNALIGNED:
        return UNALIGNED_NAME
    return next((t.name for t in themes if t.key == bucket), bucket)


def scope_name(scope: str, themes: Iterable[ThemeRef]) -> str:
    """A scope's name as pages show it."""
    if scope == OVERALL:
        return "All work"
    if scope == UNALIGNED_SCOPE:
        return UNALIGNED_NAME
    return bucket_name(scope.removeprefix("theme:"), themes)
