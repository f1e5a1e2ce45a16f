"""Watermarks, the run log, and transactions that roll back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from restrat_sync.cache import Cache, SyncRunInfo
from restrat_sync.jira.records import StatusRecord
from tests.cache.conftest import NOW, issue, transition


@pytest.mark.parametrize("value", [1_764_000_000_123, 0, None])
def test_a_watermark_round_trips(cache: Cache, value: int | None) -> None:
    """What is set is what is read back, None included."""
    with cache.transaction() as session:
        cache.set_watermark(session, "theme:GROWTH", 5, NOW)
        cache.set_watermark(session, "theme:GROWTH", value, NOW)
    assert cache.watermark("theme:GROWTH") == value
    assert cache.watermarks() == {"theme:GROWTH": value}


def test_an_unknown_watermark_is_none(cache: Cache) -> None:
    """A mapping never synced has no watermark."""
    assert cache.watermark("theme:NEW") is None
    assert cache.watermarks() == {}


def write_then_fail(cache: Cache) -> None:
    """Write an issue, a membership and a watermark in one transaction, then raise."""
    with cache.transaction() as session:
        record = issue(1, transitions=(transition(1, "Done", NOW),))
        cache.upsert_issues(session, [record], NOW)
        cache.record_membership(session, "theme:GROWTH", {"PAY-1"}, NOW)
        cache.set_watermark(session, "theme:GROWTH", 1, NOW)
        raise RuntimeError("killed")


def test_an_exception_rolls_the_whole_transaction_back(cache: Cache) -> None:
    """Nothing written in a transaction that raises is kept."""
    before = cache.counts()
    with pytest.raises(RuntimeError, match="killed"):
        write_then_fail(cache)
    assert cache.counts() == before
    assert cache.issue_keys() == set()


def test_a_run_is_logged_from_start_to_finish(cache: Cache) -> None:
    """start_run logs a running run; finish_run its outcome, counts, requests and retries."""
    assert cache.last_run() is None
    run_id = cache.start_run(full=True, now=NOW)
    running = cache.last_run()
    assert running is not None
    assert (running.id, running.outcome, running.full, running.counts) == (
        run_id,
        "running",
        True,
        {},
    )
    later = NOW + timedelta(minutes=3)
    cache.finish_run(run_id, "ok", later, {"pages": 3}, {"search": 4}, {"search": 1}, None)
    assert cache.last_run() == SyncRunInfo(
        run_id, NOW, later, "ok", True, {"pages": 3}, {"search": 4}, {"search": 1}, None
    )


def test_the_last_run_is_the_latest_started(cache: Cache) -> None:
    """A failed run after an ok one is the last run, with its error."""
    first = cache.start_run(full=True, now=NOW)
    cache.finish_run(first, "ok", NOW, {}, {}, {}, None)
    second = cache.start_run(full=False, now=NOW + timedelta(hours=1))
    cache.finish_run(second, "failed", NOW, {}, {}, {}, "ConnectionProblem: Jira is down")
    last = cache.last_run()
    assert last is not None
    assert (last.id, last.outcome, last.error) == (
        second,
        "failed",
        "ConnectionProblem: Jira is down",
    )


def test_counts_cover_every_table(cache: Cache) -> None:
    """Rows per table, for summaries: every table is listed."""
    cache.start_run(full=False, now=NOW)
    counts = cache.counts()
    assert counts["sync_runs"] == 1
    assert {"issues", "status_transitions", "memberships", "metric_snapshots"} <= counts.keys()


def test_a_watermark_knows_when_it_was_set(cache: Cache) -> None:
    """watermark_set_at is the moment given with the last set_watermark (the run's start)."""
    assert cache.watermark_set_at("descendants") is None
    for now in (NOW, NOW + timedelta(hours=1)):
        with cache.transaction() as session:
            cache.set_watermark(session, "descendants", 5, now)
    assert cache.watermark_set_at("descendants") == NOW + timedelta(hours=1)


def test_the_catalogue_lacks_statuses_issues_or_transitions_name(cache: Cache) -> None:
    """An empty catalogue lacks statuses; so does one without an issue's status or a status it
    passed through; ``written_after`` looks only at issues written after that moment."""
    later = NOW + timedelta(hours=1)
    assert cache.lacks_statuses()
    with cache.transaction() as session:
        cache.upsert_statuses(session, [StatusRecord("1", "To Do", "new")])
        cache.upsert_issues(session, [issue(1)], NOW)
    assert not cache.lacks_statuses()
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(2, transitions=(transition(7, "Done", NOW),))], later)
    assert cache.lacks_statuses()  # "done", which issue 2 passed through
    assert cache.lacks_statuses(written_after=NOW)
    assert not cache.lacks_statuses(written_after=later)
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(3, status_id="9")], later)
        cache.upsert_statuses(session, [StatusRecord("done", "Done", "done")])
    assert cache.lacks_statuses(written_after=NOW)  # "9", issue 3's own status
