"""Restatements: numbers of closed periods that a later computation changed.

A calendar period is **closed** once it has been computed after its end (``closed_periods``
records the first such computation): its snapshots then hold the numbers as known at its
close. A later computation that changes one of them is a restatement, stored with the old
value, the new one and the issues that caused it; a change up to and including that first
computation after the end is ordinary progress (the period was still open when last computed).
A stored value's ``computed_at`` cannot tell: it says when the value last *changed*, so a value
computed while the period was open and confirmed unchanged after its end still carries the
earlier moment. Which numbers of a snapshot count, and which issues
caused a change, is the metrics' business: ``store_snapshots`` hands each changed value of a
closed period to a ``Restate`` function (``metrics.restatements.Restater``) and records what
it returns, in the transaction that stores the new value.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from restrat_sync.cache.models import ClosedPeriod, MetricSnapshot, Restatement
from restrat_sync.cache.store import Cache

SnapshotKey = tuple[str, str]  # (scope, metric)


@dataclass(frozen=True, slots=True)
class NumberChange:
    """One number of a snapshot that changed, and the issues that caused it."""

    number: str  # "av", "share:GROWTH", "velocity", ...
    old: float | None
    new: float | None
    causes: tuple[str, ...] = ()


# (scope, metric, old value, when it was computed, new value) -> the numbers that changed
Restate = Callable[[str, str, Any, datetime, Any], Sequence[NumberChange]]


@dataclass(frozen=True, slots=True)
class Closing:
    """What storing a calendar period needs to find its restatements."""

    end: datetime  # the period's end
    restate: Restate


@dataclass(frozen=True, slots=True)
class RestatementRecord:
    period: str
    scope: str
    metric: str
    number: str
    old: float | None
    new: float | None
    restated_at: datetime
    previous_computed_at: datetime  # when the old value had been computed
    causes: tuple[str, ...]


def record_restatements(
    session: Session,
    period: str,
    closing: Closing,
    changed: Collection[SnapshotKey],
    fresh: Mapping[SnapshotKey, Any],
    now: datetime,
) -> tuple[RestatementRecord, ...]:
    """In the transaction storing ``period`` at ``now`` (at or after its end): the
    restatements among the ``changed`` values (before they are replaced by ``fresh``), or,
    at its first computation since it ended, its closing: what that computes is the period as
    known at its close, whatever changed since the computation before (still open, then)."""
    closed = session.scalar(select(ClosedPeriod.closed_at).where(ClosedPeriod.period == period))
    if closed is None:
        session.add(ClosedPeriod(period=period, closed_at=now))
        return ()
    found: list[RestatementRecord] = []
    for scope, metric, old, computed_at in _stored(session, period, changed):
        found += [
            RestatementRecord(
                period, scope, metric, c.number, c.old, c.new, now, computed_at, c.causes
            )
            for c in closing.restate(scope, metric, old, computed_at, fresh[(scope, metric)])
        ]
    if found:
        session.execute(insert(Restatement), [_row(record) for record in found])
    return tuple(found)


def _stored(
    session: Session, period: str, keys: Collection[SnapshotKey]
) -> list[tuple[str, str, Any, datetime]]:
    """(scope, metric, value, computed_at) of the stored snapshots ``keys`` of ``period``."""
    if not keys:
        return []
    wanted = set(keys)
    statement = select(
        MetricSnapshot.scope,
        MetricSnapshot.metric,
        MetricSnapshot.value,
        MetricSnapshot.computed_at,
    ).where(
        MetricSnapshot.period == period,
        MetricSnapshot.scope.in_({scope for scope, _ in wanted}),
        MetricSnapshot.metric.in_({metric for _, metric in wanted}),
    )
    rows = session.execute(statement.order_by(MetricSnapshot.scope, MetricSnapshot.metric))
    return [(s, m, value, at) for s, m, value, at in rows if (s, m) in wanted]


def _row(record: RestatementRecord) -> dict[str, Any]:
    return {
        "period": record.period,
        "scope": record.scope,
        "metric": record.metric,
        "number": record.number,
        "old_value": record.old,
        "new_value": record.new,
        "restated_at": record.restated_at,
        "previous_computed_at": record.previous_computed_at,
        "causes": list(record.causes),
    }


def read_restatements(cache: Cache, period: str | None = None) -> list[RestatementRecord]:
    """The restatements (of ``period`` only, with it), newest first."""
    statement = select(Restatement).order_by(Restatement.restated_at.desc(), Restatement.id)
    if period is not None:
        statement = statement.where(Restatement.period == period)
    with cache.engine.connect() as connection:
        return [
            RestatementRecord(
                row.period,
                row.scope,
                row.metric,
                row.number,
                row.old_value,
                row.new_value,
                row.restated_at,
                row.previous_computed_at,
                tuple(row.causes),
            )
            for row in connection.execute(statement)
        ]


def last_restated(cache: Cache) -> dict[str, datetime]:
    """Each restated period -> when it was last restated."""
    statement = select(Restatement.period, func.max(Restatement.restated_at)).group_by(
        Restatement.period
    )
    with cache.engine.connect() as connection:
        return dict(connection.execute(statement).all())
