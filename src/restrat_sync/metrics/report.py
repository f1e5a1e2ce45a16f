"""The metrics on the command line: a table per theme (or of one initiative), or JSON
(``docs/metrics-json.md``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from restrat_sync import __version__
from restrat_sync.cache.restatements import RestatementRecord
from restrat_sync.config import UNALIGNED
from restrat_sync.metrics.compute import (
    OVERALL,
    UNALIGNED_SCOPE,
    PeriodMetrics,
    Prepared,
    initiative_scope,
    theme_scope,
)
from restrat_sync.metrics.restatements import SHARE, restatement_line
from restrat_sync.metrics.results import as_json

JSON_SCHEMA = "restrat-sync/metrics/1"
NO_DATA = "–"


def metrics_json(
    prepared: Prepared,
    result: PeriodMetrics,
    current: Mapping[tuple[str, str], Any],
    now: datetime,
    theme: str | None = None,
    initiative: str | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    """One period's metrics, with the current key results and data quality, as the documented
    JSON document; with ``theme`` or ``initiative``, only ``overall`` and that scope;
    ``as_of``: the instant an as-of run computed them as of."""
    period = result.period
    shown = _shown_scope(theme, initiative)
    scopes: dict[str, dict[str, Any]] = {}
    for (scope, metric), value in sorted([*result.results.items(), *current.items()]):
        if shown is None or scope in (OVERALL, shown):
            scopes.setdefault(scope, {})[metric] = as_json(value)
    return {
        "schema": JSON_SCHEMA,
        "version": __version__,
        "computed_at": now.isoformat(),
        **({} if as_of is None else {"as_of": as_of.isoformat()}),
        "period": {
            "label": period.label,
            "kind": period.kind,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "quarter": period.quarter,
            "timezone": prepared.config.timezone,
        },
        "effort_measure": prepared.config.effort.measure,
        "scopes": scopes,
    }


def _shown_scope(theme: str | None, initiative: str | None) -> str | None:
    """The one scope shown besides ``overall``; None: every scope."""
    if initiative is not None:
        return initiative_scope(initiative)
    return None if theme is None else theme_scope(theme)


def unknown_initiative(key: str, initiatives: Sequence[str]) -> str | None:
    """What is wrong with ``--initiative key``, naming a few initiatives that exist; None when
    it is one of ``initiatives``."""
    if key in initiatives:
        return None
    if not initiatives:
        return f"--initiative {key}: the cache holds no initiatives (docs/metrics.md#initiatives)"
    listed = ", ".join(initiatives[:LISTED])
    more = f" and {len(initiatives) - LISTED} more" if len(initiatives) > LISTED else ""
    return f"--initiative {key}: no such initiative (initiatives: {listed}{more})"


LISTED = 8  # initiatives named in an error, pending decisions in a line


def metrics_table(
    prepared: Prepared,
    result: PeriodMetrics,
    current: Mapping[tuple[str, str], Any],
    theme: str | None = None,
    initiative: str | None = None,
    as_of: datetime | None = None,
) -> list[str]:
    """A readable table: one row per theme (and unaligned, and overall), then pending
    decisions over the alert, key results and data quality; with ``theme`` or ``initiative``,
    the row of that scope (and its pending decisions and key results) only; ``as_of``: the
    instant an as-of run computed them as of, said first."""
    config = prepared.config
    period = result.period
    alignment = result.of(OVERALL, "alignment")
    lines = [] if as_of is None else [_as_of_line(as_of, config.timezone)]
    lines += [
        f"period {period.label}: {_local_span(period.start, period.end, config.timezone)} "
        f"({config.timezone}); targets of {period.quarter}; effort: {config.effort.measure}",
        f"alignment variance: {_pp(alignment.av)}"
        + ("" if alignment.av is not None else " (no effort recorded in this period)"),
    ]
    if initiative is not None:
        lines.append(_initiative_line(initiative, result))
    lines += ["", _row(HEADINGS)]
    shares = {bucket.bucket: bucket for bucket in alignment.buckets}
    rows = _rows(prepared, result, theme, initiative)
    for name, scope in rows:
        lines.append(_row(_cells(name, shares.get(name), result, scope)))
    lines += ["", LEGEND]
    lines += _pending_lines(result, rows, config.decision.alert_days)
    lines += _key_result_lines(current, rows)
    if theme is None and initiative is None:
        lines += _initiatives_line(prepared)
        lines += _quality_lines(current[(OVERALL, "data_quality")])
    return lines


def _rows(
    prepared: Prepared, result: PeriodMetrics, theme: str | None, initiative: str | None
) -> list[tuple[str, str]]:
    """(name, scope) of each row of the table; an initiative nothing touched has none."""
    if initiative is not None:
        scope = initiative_scope(initiative)
        return [(initiative, scope)] if result.of(scope, "effort") else []
    themes = prepared.config.themes
    rows = [(t.key, theme_scope(t.key)) for t in themes if theme in (None, t.key)]
    if theme is None:
        rows += [(UNALIGNED, UNALIGNED_SCOPE), ("overall", OVERALL)]
    return rows


def _initiative_line(key: str, result: PeriodMetrics) -> str:
    effort = result.of(initiative_scope(key), "effort")
    if effort is None:
        return f"initiative {key}: nothing below it touched {result.period.label}"
    theme = effort.theme
    return (
        f"initiative {key}, of {theme} at the period's end: effort {effort.effort:.1f}, "
        f"{effort.effort_in_theme:.1f} of it in {theme}: {_percent(effort.share)} of "
        f"{theme}'s {effort.theme_effort:.1f}"
    )


def _initiatives_line(prepared: Prepared) -> list[str]:
    count = len(prepared.initiatives)
    if not count:
        return []
    return ["", f"initiatives: {count}; show one with --initiative KEY (JSON: every one)"]


HEADINGS = (
    "scope",
    "planned",
    "actual",
    "deviation",
    "velocity",
    "flow time d",
    "efficiency",
    "load",
    "decision lag d",
    "pending",
    "on time",
)
WIDTHS = (13, 9, 9, 11, 10, 14, 12, 7, 16, 9, 9)
LEGEND = (
    "flow time and decision lag: median / 85th percentile in days; pending: decisions made "
    "but not started (over the alert age in brackets); on time: items due in the period "
    "finished by their due day"
)


def _cells(name: str, share: Any, result: PeriodMetrics, scope: str) -> tuple[str, ...]:
    flow = result.of(scope, "flow")
    lag = result.of(scope, "decision_lag")
    outcome = result.of(scope, "predictability")
    return (
        name,
        _percent(share.planned) if share else "",
        _percent(share.actual) if share else "",
        _signed_pp(share.deviation) if share else "",
        str(flow.velocity.count),
        f"{_days(flow.flow_time.median_days)} / {_days(flow.flow_time.p85_days)}",
        _percent(flow.efficiency.value),
        str(flow.load.count),
        f"{_days(lag.median_days)} / {_days(lag.p85_days)}",
        f"{len(lag.pending)} ({lag.pending_over_alert})",
        _percent(outcome.rate),
    )


def _pending_lines(result: PeriodMetrics, rows: list[tuple[str, str]], alert: int) -> list[str]:
    lines: list[str] = []
    for name, scope in rows:
        if scope == OVERALL:
            continue
        lag = result.of(scope, "decision_lag")
        overdue = [(key, age) for key, age in lag.pending if age > alert]
        if overdue:
            listed = ", ".join(f"{key} ({age:.1f} d)" for key, age in overdue[:LISTED])
            more = f" and {len(overdue) - LISTED} more" if len(overdue) > LISTED else ""
            lines.append(f"  {name}: decisions pending over {alert} days: {listed}{more}")
    return ["", *lines] if lines else []


def _key_result_lines(
    current: Mapping[tuple[str, str], Any], rows: list[tuple[str, str]]
) -> list[str]:
    lines = []
    for name, scope in rows:
        for progress in current.get((scope, "key_results"), ()):
            lines.append(
                f"  {name}: {progress.name}: {progress.value:g} of {progress.target:g} "
                f"({progress.measure}, {progress.progress * 100:.0f}%)"
            )
    return ["", "key results:", *lines] if lines else []


def _quality_lines(quality: Any) -> list[str]:
    age = quality.last_sync_age_hours
    counts = [
        ("statuses mapped by category only", len(quality.fallback_statuses)),
        ("unknown statuses", len(quality.unknown_statuses)),
        ("incomplete changelogs", len(quality.incomplete_changelogs)),
        ("finished items with no start", len(quality.no_start)),
        ("items reachable from several themes", len(quality.conflicts)),
        ("items with no parent", len(quality.no_parent)),
        ("config problems", len(quality.config_problems)),
    ]
    listed = "; ".join(f"{label}: {n}" for label, n in counts if n)
    return [
        "",
        "data quality: "
        + (listed or "nothing to report")
        + f"; unaligned share (last 4 weeks): {_percent(quality.unaligned_share)}"
        + ("; no successful sync yet" if age is None else f"; last sync {age:.1f} h ago"),
    ]


def _as_of_line(as_of: datetime, zone: str) -> str:
    local = as_of.astimezone(ZoneInfo(zone))
    return (
        f"as of {local:%Y-%m-%d %H:%M} ({zone}): what the cache's changelogs say was true "
        "then; points, due dates and fix versions as they are now; nothing stored"
    )


# --- restatements --------------------------------------------------------------------------------

RESTATEMENTS_SCHEMA = "restrat-sync/restatements/1"
NO_RESTATEMENTS = "no restatements: no number of a closed period has changed since it closed"


def of_theme(records: Sequence[RestatementRecord], theme: str | None) -> list[RestatementRecord]:
    """The restatements of ``theme`` (its scope's numbers and its share), all without it."""
    if theme is None:
        return list(records)
    share = SHARE + theme
    return [r for r in records if r.scope == theme_scope(theme) or r.number == share]


def restatements_table(records: Sequence[RestatementRecord], zone: str) -> list[str]:
    """One line per restated number, as listed (newest first), its day in ``zone``."""
    if not records:
        return [NO_RESTATEMENTS]
    lines = [f"restatements ({len(records)}), newest first; days in {zone}:"]
    for record in records:
        scope = None if record.scope == OVERALL else record.scope
        lines.append(f"  {record.period:<9} {restatement_line(record, zone, scope)}")
    return lines


def restatements_json(records: Sequence[RestatementRecord]) -> dict[str, Any]:
    return {
        "schema": RESTATEMENTS_SCHEMA,
        "version": __version__,
        "restatements": [
            {
                "period": r.period,
                "scope": r.scope,
                "metric": r.metric,
                "number": r.number,
                "old": r.old,
                "new": r.new,
                "restated_at": r.restated_at.isoformat(),
                "previous_computed_at": r.previous_computed_at.isoformat(),
                "causes": list(r.causes),
            }
            for r in records
        ],
    }


def _row(cells: tuple[str, ...]) -> str:
    first, *rest = cells
    return f"{first:<{WIDTHS[0]}}" + "".join(
        f"{cell:>{width}}" for cell, width in zip(rest, WIDTHS[1:], strict=True)
    )


def _local_span(start: datetime, end: datetime, zone: str) -> str:
    tz = ZoneInfo(zone)
    last = (end - timedelta(microseconds=1)).astimezone(tz)
    return f"{start.astimezone(tz):%Y-%m-%d} to {last:%Y-%m-%d}"


def _percent(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:.1f}%"


def _pp(value: float | None) -> str:
    return "no data" if value is None else f"{value * 100:.1f} pp"


def _signed_pp(value: float | None) -> str:
    return NO_DATA if value is None else f"{value * 100:+.1f}pp"


def _days(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f}"
