"""Metric snapshots and the theme attribution history.

Snapshots are stored per period, scope and metric, so a trend is a query, not a recomputation;
computing a period again replaces its snapshots in one transaction. Attribution spans record
each item's theme over time: a theme that differs from the previous computation is a pivot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from restrat_sync.cache.models import MetricSnapshot, ThemeAttribution
from restrat_sync.cache.store import Cache, chunks


@dataclass(frozen=True, slots=True)
class Snapshot:
    period: str
    scope: str  # "overall", "theme:GROWTH", "unaligned"
    metric: str
    computed_at: datetime
    value: Any  # JSON


@dataclass(frozen=True, slots=True)
class ThemeSpan:
    issue_key: str
    theme: str
    since: datetime
    until: datetime | None


def replace_snapshots(
    cache: Cache, period: str, values: Mapping[tuple[str, str], Any], now: datetime
) -> None:
    """Store ``values`` ((scope, metric) -> JSON) as the period's snapshots, replacing every
    earlier snapshot of the period."""
    rows = [
        {"period": period, "scope": scope, "metric": metric, "computed_at": now, "value": value}
        for (scope, metric), value in values.items()
    ]
    with cache.transaction() as session:
        session.execute(delete(MetricSnapshot).where(MetricSnapshot.period == period))
        if rows:
            session.execute(insert(MetricSnapshot), rows)


def read_snapshots(
    cache: Cache,
    periods: Iterable[str] | None = None,
    scope: str | None = None,
    metric: str | None = None,
) -> list[Snapshot]:
    """Stored snapshots, filtered, ordered by period, scope and metric."""
    statement = select(MetricSnapshot)
    if periods is not None:
        statement = statement.where(MetricSnapshot.period.in_(list(periods)))
    if scope is not None:
        statement = statement.where(MetricSnapshot.scope == scope)
    if metric is not None:
        statement = statement.where(MetricSnapshot.metric == metric)
    statement = statement.order_by(
        MetricSnapshot.period, MetricSnapshot.scope, MetricSnapshot.metric
    )
    with cache.engine.connect() as connection:
        return [
            Snapshot(row.period, row.scope, row.metric, row.computed_at, row.value)
            for row in connection.execute(statement)
        ]


def record_attribution(cache: Cache, themes: Mapping[str, str], now: datetime) -> int:
    """Close the spans of items whose theme changed (or that left), open spans for the new
    theme; return how many items changed theme."""
    with cache.transaction() as session:
        current = dict(
            session.execute(
                select(ThemeAttribution.issue_key, ThemeAttribution.theme).where(
                    ThemeAttribution.until.is_(None)
                )
            ).all()
        )
        ended = [key for key, theme in current.items() if themes.get(key) != theme]
        for chunk in chunks(sorted(ended)):
            session.execute(
                update(ThemeAttribution)
                .where(ThemeAttribution.issue_key.in_(chunk), ThemeAttribution.until.is_(None))
                .values(until=now)
            )
        session.flush()
        started = [key for key, theme in themes.items() if current.get(key) != theme]
        if started:
            session.execute(
                insert(ThemeAttribution),
                [{"issue_key": key, "theme": themes[key], "since": now} for key in started],
            )
        return sum(1 for key in started if key in current)


def theme_history(cache: Cache) -> list[ThemeSpan]:
    """The attribution spans of every item that has been attributed more than once (the
    others never changed theme), by item and time."""
    changed = (
        select(ThemeAttribution.issue_key)
        .group_by(ThemeAttribution.issue_key)
        .having(func.count() > 1)
    )
    statement = (
        select(ThemeAttribution)
        .where(ThemeAttribution.issue_key.in_(changed))
        .order_by(ThemeAttribution.issue_key, ThemeAttribution.since, ThemeAttribution.id)
    )
    with cache.engine.connect() as connection:
        return [
            ThemeSpan(row.issue_key, row.theme, row.since, row.until)
            for row in connection.execute(statement)
        ]
