"""Decision lag (``domain.md``, "Decision lag"): how long a portfolio decision takes to reach the
teams, the decisions still waiting for work to start, and the time from there to delivery.

Per decision item (an epic or above, chosen by the caller from ``decision.min_level``):

- **Decision time D**: the first entry into one of ``decision.statuses``. Names are compared
  with Unicode casefold, as status names are everywhere, so "genehmigt" matches "Genehmigt".
  An item created in such a status was decided when it was created. With no statuses
  configured, D is the first entry into any flow state other than ``new``.
- **Execution start E**: the earliest start among the item's flow-level descendants.
- **End**: the item's own timeline end, with its outcome (``done`` or ``cancelled``).

Per period (``decision_lag``):

- **Lag** = E - D in days, over decisions whose D falls in the period. When E < D the work
  started before the decision: it is counted in ``work_before_decision`` and left out of the
  median, so a lag is never negative.
- **Pending** at ``as_of``: D set and not after ``as_of``, no execution start by ``as_of``, and
  the item not finished by then. Age = ``as_of`` - D; over the alert when the age exceeds
  ``alert_days`` (an age of exactly ``alert_days`` is not over).
- **Decision to delivery** = end - E, over items finished ``done`` in the period whose work
  started no later than their end. D is not needed: the delivery happened either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, Literal

from restrat_sync.metrics.results import median, p85
from restrat_sync.model.items import StatusChange, WorkItem
from restrat_sync.model.spans import EARLIEST, LATEST
from restrat_sync.model.timeline import DAY_SECONDS, Timeline

if TYPE_CHECKING:
    from restrat_sync.model.periods import Period

Outcome = Literal["done", "cancelled"]


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """What a decision item contributes to every period; computed once per run."""

    key: str
    decided_at: datetime | None  # D
    execution_start: datetime | None  # E
    end: datetime | None  # the item's own end, while it is still finished
    outcome: Outcome | None


@dataclass(frozen=True, slots=True)
class DecisionLag:
    count: int  # decisions in the period with E >= D: the ones measured
    median_days: float | None
    p85_days: float | None
    keys: tuple[str, ...]  # the decisions measured
    work_before_decision: int  # decisions in the period whose work started before D
    work_before_decision_keys: tuple[str, ...]
    pending: tuple[tuple[str, float], ...]  # (key, age in days), oldest first
    pending_over_alert: int
    pending_over_alert_keys: tuple[str, ...]
    alert_days: int
    delivery_count: int
    delivery_median_days: float | None  # E -> end, over items delivered in the period
    delivery_p85_days: float | None
    delivery_keys: tuple[str, ...]


def decision_time(item: WorkItem, timeline: Timeline, statuses: Sequence[str]) -> datetime | None:
    """D: the first entry into one of ``statuses`` (matched by casefolded name), ``item.created``
    when the item was created in one; with no ``statuses``, the first entry into any flow state
    but ``new``. None when the item was never decided."""
    if not statuses:
        return next((i.start for i in timeline.intervals if i.state != "new"), None)
    wanted = {status.casefold() for status in statuses}
    changes = sorted(item.status_changes, key=_change_order)
    initial = changes[0].from_status if changes else item.status
    if _named(initial, wanted):
        return item.created
    for change in changes:
        if _named(change.to_status, wanted):
            # As in the timeline, a clock-skewed change never lands before the creation.
            return max(change.at, item.created)
    return None


def decision_facts(
    item: WorkItem,
    timeline: Timeline,
    descendant_starts: Iterable[datetime | None],
    statuses: Sequence[str],
) -> DecisionFacts:
    """The facts of one decision item. ``descendant_starts`` are the timeline starts of its
    flow-level descendants (None for those not started)."""
    started = [start for start in descendant_starts if start is not None]
    outcome: Outcome | None = None
    if timeline.outcome == "done" or timeline.outcome == "cancelled":
        outcome = timeline.outcome
    return DecisionFacts(
        key=item.key,
        decided_at=decision_time(item, timeline, statuses),
        execution_start=min(started, default=None),
        end=timeline.end,
        outcome=outcome,
    )


def decision_lag(
    decisions: Iterable[DecisionFacts], period: Period, as_of: datetime, alert_days: int
) -> DecisionLag:
    """Decision lag, work before decision, pending decisions and decision to delivery of
    ``decisions`` in ``period``. ``as_of`` is the moment pending decisions are judged at: the
    caller passes ``min(now, period.end)``."""
    return summarize(tally(decisions, period, as_of), alert_days)


@dataclass
class DecisionTally:
    """What one pass over a scope's decisions collects; the tallies of disjoint scopes merge
    into the tally of their union."""

    lags: list[tuple[str, float]] = field(default_factory=list)  # (key, E - D days), E >= D
    early: list[str] = field(default_factory=list)  # work before decision
    pending: list[tuple[str, float]] = field(default_factory=list)  # (key, age in days)
    delivered: list[tuple[str, float]] = field(default_factory=list)  # (key, end - E days)

    @classmethod
    def merged(cls, tallies: Iterable[DecisionTally]) -> DecisionTally:
        """The tally of the union of the (disjoint) decisions behind ``tallies``."""
        union = cls()
        for part in tallies:
            union.lags += part.lags
            union.early += part.early
            union.pending += part.pending
            union.delivered += part.delivered
        return union


def tally(decisions: Iterable[DecisionFacts], period: Period, as_of: datetime) -> DecisionTally:
    """Sorts each decision into lag, work before decision, pending and delivered (any or none
    of them) for ``period``, judging pending decisions at ``as_of``."""
    return tally_credited(((facts, EARLIEST, LATEST) for facts in decisions), period, as_of)


def tally_credited(
    credited: Iterable[tuple[DecisionFacts, datetime, datetime]], period: Period, as_of: datetime
) -> DecisionTally:
    """As ``tally``, for decisions credited to the scope only during [since, until): a lag where
    the decision falls in it, a pending decision where ``as_of`` does, a delivery where the
    item's end does."""
    found = DecisionTally()
    for facts, since, until in credited:
        lag = _lag(facts, period)
        if lag is not None and facts.decided_at is not None and since <= facts.decided_at < until:
            if lag < 0:
                found.early.append(facts.key)
            else:
                found.lags.append((facts.key, lag))
        age = _pending_age(facts, as_of)
        if age is not None and since <= as_of < until:
            found.pending.append((facts.key, age))
        delivery = _delivery_days(facts, period)
        if delivery is not None and facts.end is not None and since <= facts.end < until:
            found.delivered.append((facts.key, delivery))
    return found


def summarize(tally: DecisionTally, alert_days: int) -> DecisionLag:
    """The decision-lag result of a tally; ages above ``alert_days`` are over the alert."""
    lag_days = [days for _, days in tally.lags]
    delivery_days = [days for _, days in tally.delivered]
    over = sorted(key for key, age in tally.pending if age > alert_days)
    return DecisionLag(
        count=len(tally.lags),
        median_days=median(lag_days),
        p85_days=p85(lag_days),
        keys=tuple(sorted(key for key, _ in tally.lags)),
        work_before_decision=len(tally.early),
        work_before_decision_keys=tuple(sorted(tally.early)),
        # Oldest first, then by key: a stable sort by age of the pairs in key order.
        pending=tuple(sorted(sorted(tally.pending), key=itemgetter(1), reverse=True)),
        pending_over_alert=len(over),
        pending_over_alert_keys=tuple(over),
        alert_days=alert_days,
        delivery_count=len(tally.delivered),
        delivery_median_days=median(delivery_days),
        delivery_p85_days=p85(delivery_days),
        delivery_keys=tuple(sorted(key for key, _ in tally.delivered)),
    )


def _lag(facts: DecisionFacts, period: Period) -> float | None:
    """E - D in days (negative: work before decision) for a decision made in ``period``."""
    decided, started = facts.decided_at, facts.execution_start
    if decided is None or started is None or not period.start <= decided < period.end:
        return None
    return _days(decided, started)


def _pending_age(facts: DecisionFacts, as_of: datetime) -> float | None:
    """as_of - D for a decision still waiting for work at ``as_of``, else None."""
    decided, started = facts.decided_at, facts.execution_start
    if decided is None or decided > as_of:
        return None
    if started is not None and started <= as_of:
        return None
    if facts.end is not None and facts.end <= as_of:
        return None  # finished (delivered or dropped) without waiting any more
    return _days(decided, as_of)


def _delivery_days(facts: DecisionFacts, period: Period) -> float | None:
    """end - E for an item delivered (``done``) in ``period`` after its work started."""
    started, end = facts.execution_start, facts.end
    if facts.outcome != "done" or started is None or end is None:
        return None
    if started > end or not period.start <= end < period.end:
        return None
    return _days(started, end)


def _named(status: str | None, wanted: set[str]) -> bool:
    return status is not None and status.casefold() in wanted


def _change_order(change: StatusChange) -> tuple[datetime, int, int]:
    return (change.at, change.history_id, change.item_index)


def _days(since: datetime, until: datetime) -> float:
    return (until - since).total_seconds() / DAY_SECONDS
