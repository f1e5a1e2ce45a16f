"""Metric snapshots and the theme attribution history.

Snapshots are stored per period, scope and metric, so a trend is a query, not a recomputation.
Computing a period again stores, in one transaction, only the values that changed: an equal
value keeps its row and its ``computed_at``, the last time the value changed. Attribution spans
record each item's theme over time: a theme that differs from the previous computation is a
pivot.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, select, update

from restrat_sync.cache.changes import Changes
from restrat_sync.cache.models import MetricRun, MetricSnapshot, PendingChange, ThemeAttribution
from restrat_sync.cache.restatements import (
    Closing,
    RestatementRecord,
    SnapshotKey,
    record_restatements,
)
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


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """How a period's fresh values compare with its stored snapshots."""

    added: tuple[SnapshotKey, ...] = ()
    changed: tuple[SnapshotKey, ...] = ()
    removed: tuple[SnapshotKey, ...] = ()
    restated: tuple[RestatementRecord, ...] = ()  # the numbers of a closed period it changed

    def __len__(self) -> int:
        return len(self.added) + len(self.changed) + len(self.removed)


def diff_snapshots(
    stored: Mapping[SnapshotKey, str | None], fresh: Mapping[SnapshotKey, str]
) -> SnapshotDiff:
    """The one place where a computed value meets the stored one, by their ``value_hash``:
    which snapshots are new, which changed value, which are gone (a theme removed, say).
    Everything else stays as it is, ``computed_at`` included."""
    return SnapshotDiff(
        added=tuple(sorted(key for key in fresh if key not in stored)),
        changed=tuple(sorted(k for k, h in fresh.items() if k in stored and stored[k] != h)),
        removed=tuple(sorted(key for key in stored if key not in fresh)),
    )


def value_hash(value: Any) -> str:
    """sha256 of the value's canonical JSON: equal values, equal hashes, whatever the backend
    gives back when the value is read."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_snapshots(
    cache: Cache,
    period: str,
    values: Mapping[SnapshotKey, Any],
    now: datetime,
    closing: Closing | None = None,
    hashes: Mapping[SnapshotKey, str] | None = None,
) -> SnapshotDiff:
    """Make ``values`` ((scope, metric) -> JSON) the period's snapshots, in one transaction.
    Only a value that differs from the stored one is written, with ``now`` as its
    ``computed_at``; an equal one keeps its row, so ``computed_at`` says when the value last
    changed. ``closing`` (a calendar period): once the period has ended, the changed values'
    restatements are recorded with them (``cache.restatements``). ``hashes``: each value's
    ``value_hash``, when the caller has it already; then only the values written are read."""
    table = cast(Table, MetricSnapshot.__table__)
    fresh = (
        {key: value_hash(value) for key, value in values.items()}
        if hashes is None
        else dict(hashes)
    )
    with cache.transaction() as session:
        rows = session.execute(
            select(table.c.scope, table.c.metric, table.c.value_hash).where(
                table.c.period == period
            )
        )
        diff = diff_snapshots({(scope, metric): h for scope, metric, h in rows}, fresh)
        if closing is not None and now >= closing.end:
            restated = record_restatements(session, period, closing, diff.changed, values, now)
            diff = replace(diff, restated=restated)
        for scope, metric in (*diff.removed, *diff.changed):
            session.execute(delete(table).where(_row(table, period, scope, metric)))
        written = [*diff.added, *diff.changed]
        if written:
            session.execute(
                insert(table),
                [
                    {
                        "period": period,
                        "scope": scope,
                        "metric": metric,
                        "computed_at": now,
                        "value": values[(scope, metric)],
                        "value_hash": fresh[(scope, metric)],
                    }
                    for scope, metric in written
                ],
            )
    return diff


def _row(table: Table, period: str, scope: str, metric: str) -> ColumnElement[bool]:
    return (table.c.period == period) & (table.c.scope == scope) & (table.c.metric == metric)


def stored_periods(cache: Cache, periods: Iterable[str]) -> set[str]:
    """The labels among ``periods`` that have snapshots (their values are not read)."""
    found: set[str] = set()
    with cache.engine.connect() as connection:
        for chunk in chunks(sorted(set(periods))):
            statement = select(MetricSnapshot.period).where(MetricSnapshot.period.in_(chunk))
            found.update(connection.scalars(statement.distinct()))
    return found


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


def record_attribution(cache: Cache, themes: Mapping[str, str], now: datetime) -> dict[str, str]:
    """Close the spans of items whose theme changed (or that left), open spans for the new
    theme; return the theme each of those items had before."""
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
        return {key: current[key] for key in ended}


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


# --- metric runs -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricRunRecord:
    """One computation by the dashboards: when, with what, and what its changes touched."""

    computed_at: datetime
    fingerprint: str  # of the inputs besides the issues (``touched.inputs_fingerprint``)
    periods: tuple[str, ...]  # the labels computed, besides "current"
    touched: frozenset[str] | None  # buckets whose data changed; None: everything
    changed: int  # snapshots whose value changed


def record_metric_run(cache: Cache, run: MetricRunRecord, taken: Changes) -> None:
    """Record ``run`` and delete the queued changes it took in, in one transaction: a change
    queued meanwhile stays for the next computation."""
    table = cast(Table, PendingChange.__table__)
    with cache.transaction() as session:
        session.add(
            MetricRun(
                computed_at=run.computed_at,
                fingerprint=run.fingerprint,
                periods=list(run.periods),
                touched=None if run.touched is None else sorted(run.touched),
                changed=run.changed,
            )
        )
        for chunk in chunks(taken.ids):
            session.execute(delete(table).where(table.c.id.in_(chunk)))


def metric_runs(cache: Cache, since: datetime | None = None) -> list[MetricRunRecord]:
    """The recorded runs computed after ``since`` (all without it), oldest first."""
    statement = select(MetricRun).order_by(MetricRun.id)
    if since is not None:
        statement = statement.where(MetricRun.computed_at > since)
    with cache.engine.connect() as connection:
        return [_run_record(row) for row in connection.execute(statement)]


def last_metric_run(cache: Cache) -> MetricRunRecord | None:
    """The most recent run."""
    statement = select(MetricRun).order_by(MetricRun.id.desc()).limit(1)
    with cache.engine.connect() as connection:
        row = connection.execute(statement).first()
    return None if row is None else _run_record(row)


def _run_record(row: Any) -> MetricRunRecord:
    touched = None if row.touched is None else frozenset(row.touched)
    return MetricRunRecord(
        row.computed_at, row.fingerprint, tuple(row.periods), touched, row.changed
    )
