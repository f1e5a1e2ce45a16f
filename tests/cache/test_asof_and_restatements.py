"""As of an instant and restatements, from a cache as the syncs fill it, on SQLite and
PostgreSQL.

Config: themes GROWTH (target 0.5) and RELIABILITY (0.4), unaligned 0.1, time zone UTC,
effort in active days (``test_history_attribution.config``). The cache, as synced by
1 November 2026 at 06:00 (``CLOSE``, after October closed at midnight):

- PAY-1, an epic, is GROWTH's anchor (listed since 20 September);
- PAY-2, a story under PAY-1: In Progress 5 October, Done 15 October;
- PAY-3, a story under nothing (unaligned): In Progress 10 October, still.

October as known at its close (its 31 days): PAY-2 10 active days for GROWTH and finished;
PAY-3 22 active days (10 October to 1 November) unaligned, in progress. Shares GROWTH
10/32 = 0.3125, RELIABILITY 0, unaligned 22/32 = 0.6875;
AV = 1/2 (|0.3125 - 0.5| + |0 - 0.4| + |0.6875 - 0.1|) = 1/2 (0.1875 + 0.4 + 0.5875) = 0.5875.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete

from restrat_sync.cache import Cache
from restrat_sync.cache.changes import pending_changes
from restrat_sync.cache.models import ClosedPeriod
from restrat_sync.cache.restatements import RestatementRecord, read_restatements
from restrat_sync.cache.snapshots import MetricRunRecord, read_snapshots, record_metric_run
from restrat_sync.jira.records import (
    FieldChangeRecord,
    IssueRecord,
    StatusRecord,
    TransitionRecord,
)
from restrat_sync.metrics.results import as_json
from restrat_sync.metrics.runner import compute_and_store, compute_as_of
from restrat_sync.model.periods import Period, parse_period
from tests.cache.conftest import issue
from tests.metrics.test_history_attribution import config

FIRST_SYNC = datetime(2026, 9, 20, tzinfo=UTC)
CREATED = datetime(2026, 9, 1, tzinfo=UTC)
CLOSE = datetime(2026, 11, 1, 6, tzinfo=UTC)
STATUSES = {"To Do": ("1", "new"), "In Progress": ("2", "indeterminate"), "Done": ("3", "done")}


def on(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def move(history_id: int, at: datetime, old: str, new: str) -> TransitionRecord:
    return TransitionRecord(history_id, 0, at, STATUSES[old][0], old, STATUSES[new][0], new)


def story(number: int, *moves: TransitionRecord, **fields: Any) -> IssueRecord:
    """PAY-<number>, in the status its last move reached."""
    status = moves[-1].to_status if moves else "To Do"
    assert status is not None
    status_id, category = STATUSES[status]
    return issue(
        number, created=CREATED, status=status, status_id=status_id, status_category=category,
        transitions=moves, changelog_total=len(moves), **fields,
    )  # fmt: skip


def sync(
    cache: Cache, at: datetime, *records: IssueRecord, growth: list[str] | None = None
) -> None:
    """What a sync at ``at`` writes: issues, GROWTH's members, a successful run."""
    with cache.transaction() as session:
        cache.upsert_statuses(
            session, [StatusRecord(i, name, c) for name, (i, c) in STATUSES.items()]
        )
        cache.upsert_issues(session, list(records), at)
        if growth is not None:
            cache.record_membership(session, "theme:GROWTH", growth, at)
    run = cache.start_run(full=False, now=at)
    cache.finish_run(run, "ok", at, {}, {}, {}, None)


def closed_october(cache: Cache) -> None:
    """The cache as synced by CLOSE, with October computed at its close."""
    sync(
        cache,
        FIRST_SYNC,
        issue(1, created=CREATED, issuetype="Epic", hierarchy_level=1),
        story(2, move(21, on(10, 5), "To Do", "In Progress"),
              move(22, on(10, 15), "In Progress", "Done"), parent_key="PAY-1"),
        story(3, move(31, on(10, 10), "To Do", "In Progress")),
        growth=["PAY-1"],
    )  # fmt: skip
    compute(cache, CLOSE)


def compute(cache: Cache, now: datetime) -> Any:
    """What the dashboards do: compute October and November, take the queued changes in."""
    periods = [month("2026-10"), month("2026-11")]
    run = compute_and_store(cache, config(), periods, now)
    record_metric_run(
        cache, MetricRunRecord(now, "-", (), None, run.changed), pending_changes(cache)
    )
    return run


def month(label: str) -> Period:
    return parse_period(label, CLOSE, "UTC")


def stored(cache: Cache, label: str) -> dict[tuple[str, str], Any]:
    return {(s.scope, s.metric): s.value for s in read_snapshots(cache, [label])}


def test_an_as_of_run_reproduces_the_snapshot_of_a_closed_period_exactly(cache: Cache) -> None:
    """After October's close, the syncs bring changes dated after it: PAY-4 created on
    3 November under PAY-1, PAY-3 placed under PAY-1 on 6 November, PAY-2 reopened on
    7 November (which un-finishes it in October too), PAY-1 leaving GROWTH on 8 November.
    Computed now, October differs; as of its close it is the stored snapshot, value for value."""
    closed_october(cache)
    at_close = stored(cache, "2026-10")
    later = on(11, 10)
    placed = FieldChangeRecord(32, 0, on(11, 6), "parent", None, None, "10001", "PAY-1")
    sync(
        cache,
        later,
        story(2, move(21, on(10, 5), "To Do", "In Progress"),
              move(22, on(10, 15), "In Progress", "Done"),
              move(23, on(11, 7), "Done", "In Progress"), parent_key="PAY-1"),
        story(3, move(31, on(10, 10), "To Do", "In Progress"), parent_key="PAY-1",
              field_changes=(placed,)),
        dataclasses.replace(story(4, move(41, on(11, 4), "To Do", "In Progress"),
                                  parent_key="PAY-1"), created=on(11, 3)),
        growth=[],
    )  # fmt: skip
    now = compute_and_store(cache, config(), [month("2026-10")], later)
    assert now.periods[0].of("overall", "flow").velocity.count == 0  # PAY-2 reopened
    (as_of,) = compute_as_of(cache, config(), [month("2026-10")], CLOSE).periods
    assert {key: as_json(value) for key, value in as_of.results.items()} == at_close


def backdated(cache: Cache, at: datetime) -> None:
    """A sync at ``at`` learns of changes dated inside October: PAY-3 was done on 20 October,
    and PAY-2 was reopened on 25 October (statuses fixed after the fact)."""
    sync(
        cache,
        at,
        story(2, move(21, on(10, 5), "To Do", "In Progress"),
              move(22, on(10, 15), "In Progress", "Done"),
              move(23, on(10, 25), "Done", "In Progress"), parent_key="PAY-1"),
        story(3, move(31, on(10, 10), "To Do", "In Progress"),
              move(32, on(10, 20), "In Progress", "Done")),
    )  # fmt: skip


def restated(records: list[RestatementRecord]) -> dict[tuple[str, str, str], Any]:
    return {(r.scope, r.metric, r.number): (r.old, r.new, r.causes) for r in records}


def test_a_change_backdated_into_a_closed_period_is_a_restatement(cache: Cache) -> None:
    """October now: PAY-2 17 active days (5-15 and 25 October to 1 November) for GROWTH, in
    progress; PAY-3 10 days unaligned, finished. Shares GROWTH 17/27 = 0.6296, unaligned
    10/27 = 0.3704; AV = 1/2 (0.1296 + 0.4 + 0.2704) = 0.4. GROWTH's velocity goes 1 -> 0 and
    its load 0 -> 1 (PAY-2), the unaligned ones the other way (PAY-3). Overall, velocity and
    load stay 1: their lists changed, not their numbers, so no restatement. November was
    still open when last computed: its changes are progress."""
    closed_october(cache)
    restating = on(11, 12, 9)
    backdated(cache, restating)
    run = compute(cache, restating)
    found = restated(read_restatements(cache))
    assert found[("overall", "alignment", "av")] == (0.5875, 0.4, ("PAY-2", "PAY-3"))
    assert found[("overall", "alignment", "share:GROWTH")][:2] == (0.3125, 0.6296)
    assert found[("overall", "alignment", "share:UNALIGNED")][:2] == (0.6875, 0.3704)
    assert found[("theme:GROWTH", "flow", "velocity")] == (1.0, 0.0, ("PAY-2",))
    assert found[("theme:GROWTH", "flow", "load")] == (0.0, 1.0, ("PAY-2",))
    assert found[("unaligned", "flow", "velocity")] == (0.0, 1.0, ("PAY-3",))
    assert ("overall", "flow", "velocity") not in found
    assert ("overall", "alignment", "share:RELIABILITY") not in found
    records = read_restatements(cache)
    assert {r.period for r in records} == {"2026-10"}
    assert {(r.restated_at, r.previous_computed_at) for r in records} == {(restating, CLOSE)}
    assert set(run.restated) == set(records)


def test_a_number_unchanged_at_the_close_is_still_restated_later(cache: Cache) -> None:
    """October was computed on 31 October at 23:00, while open, then after its close: GROWTH's
    flow came out the same (PAY-2 finished on the 15th, nothing in progress), so its stored
    value is still the one of 23:00. The close was recorded all the same, so the backdated
    reopening of PAY-2 restates it, and so the scope of PAY-1 (the anchor is an epic, so the
    epics are the initiatives), which holds PAY-2 too."""
    sync(
        cache,
        FIRST_SYNC,
        issue(1, created=CREATED, issuetype="Epic", hierarchy_level=1),
        story(2, move(21, on(10, 5), "To Do", "In Progress"),
              move(22, on(10, 15), "In Progress", "Done"), parent_key="PAY-1"),
        story(3, move(31, on(10, 10), "To Do", "In Progress")),
        growth=["PAY-1"],
    )  # fmt: skip
    before_close = on(10, 31, 23)
    compute(cache, before_close)
    compute(cache, CLOSE)
    assert read_restatements(cache) == []  # the ages grew to the close: progress
    (growth,) = read_snapshots(cache, ["2026-10"], scope="theme:GROWTH", metric="flow")
    assert growth.computed_at == before_close
    backdated(cache, on(11, 12))
    compute(cache, on(11, 12))
    velocity = [r for r in read_restatements(cache, "2026-10") if r.number == "velocity"]
    assert {(r.scope, r.previous_computed_at) for r in velocity} == {
        ("theme:GROWTH", before_close),
        ("initiative:PAY-1", before_close),
        ("unaligned", CLOSE),
    }


def test_a_period_recomputed_while_open_is_never_restated(cache: Cache) -> None:
    """November is still open: every change to it is progress."""
    closed_october(cache)
    sync(cache, on(11, 5), story(3, move(31, on(10, 10), "To Do", "In Progress"),
                                 move(32, on(11, 4), "In Progress", "Done")))  # fmt: skip
    compute(cache, on(11, 5))
    assert stored(cache, "2026-11")[("overall", "flow")]["velocity"]["count"] == 1
    assert read_restatements(cache) == []


@pytest.mark.parametrize("period", [None, "2026-10"])
def test_restatements_are_read_newest_first(cache: Cache, period: str | None) -> None:
    closed_october(cache)
    backdated(cache, on(11, 12))
    compute(cache, on(11, 12))
    sync(cache, on(11, 14), story(3, move(31, on(10, 10), "To Do", "In Progress"),
                                  move(32, on(10, 20), "In Progress", "Done"),
                                  move(33, on(10, 22), "Done", "In Progress")))  # fmt: skip
    compute(cache, on(11, 14))
    records = read_restatements(cache, period)
    assert records[0].restated_at == on(11, 14)
    assert [r.restated_at for r in records] == sorted(
        (r.restated_at for r in records), reverse=True
    )
    assert read_restatements(cache, "2026-09") == []


def test_an_upgraded_cache_restates_from_the_first_computation_after_the_upgrade(
    cache: Cache,
) -> None:
    """A cache from before restatements holds October computed after its close but no record
    of the closing. The first computation since (a new release computes everything) records
    it and restates nothing, even if numbers moved; the next one restates."""
    closed_october(cache)
    with cache.transaction() as session:
        session.execute(delete(ClosedPeriod))
    backdated(cache, on(11, 12))
    compute(cache, on(11, 12))
    assert read_restatements(cache) == []
    sync(cache, on(11, 14), story(3, move(31, on(10, 10), "To Do", "In Progress"),
                                  move(32, on(10, 20), "In Progress", "Done"),
                                  move(33, on(10, 22), "Done", "In Progress")))  # fmt: skip
    compute(cache, on(11, 14))
    assert {r.restated_at for r in read_restatements(cache)} == {on(11, 14)}
