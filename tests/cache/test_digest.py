"""The digest fingerprints content, not the order or the moment it was written in."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from restrat_sync.cache import Cache, table_digest
from restrat_sync.jira.records import IssueRecord, StatusRecord
from tests.cache.conftest import CREATED, NOW, issue, link, transition

STATUSES = [StatusRecord("1", "To Do", "new"), StatusRecord("3", "Done", "done")]


def records() -> list[IssueRecord]:
    """Three issues with history and links."""
    return [
        issue(
            n,
            transitions=(
                transition(10 * n, "In Progress", CREATED + timedelta(days=n)),
                transition(10 * n + 1, "Done", CREATED + timedelta(days=n + 2)),
            ),
            links=(link(f"L{n}", "PAY-9"),),
        )
        for n in range(1, 4)
    ]


def write(
    cache: Cache,
    batches: Sequence[Sequence[IssueRecord]],
    now: datetime,
    statuses: Sequence[StatusRecord] = STATUSES,
) -> str:
    """Write the batches, statuses, memberships and a watermark at ``now``; return the digest."""
    for batch in batches:
        with cache.transaction() as session:
            cache.upsert_issues(session, batch, now)
    with cache.transaction() as session:
        cache.upsert_statuses(session, statuses)
        cache.record_membership(session, "theme:GROWTH", {"PAY-1", "PAY-2"}, now)
        cache.record_membership(session, "kr:GROWTH:0", {"PAY-3"}, now)
        cache.mark_out_of_scope(session, ["PAY-3"], now)
        cache.set_watermark(session, "theme:GROWTH", int(now.timestamp() * 1000), now)
    return table_digest(cache)


def test_same_content_in_another_order_and_time_has_the_same_digest(
    make_cache: Callable[[], Cache],
) -> None:
    """Order of writes, batching and the moment of the sync do not change the digest."""
    issues = records()
    at_once = write(make_cache(), [issues], NOW)
    one_by_one = write(
        make_cache(), [[r] for r in reversed(issues)], NOW + timedelta(days=2), STATUSES[::-1]
    )
    assert at_once == one_by_one


def test_a_different_transition_changes_the_digest(make_cache: Callable[[], Cache]) -> None:
    """A single status change that differs is noticed."""
    issues = records()
    changed = dataclasses.replace(
        issues[1],
        transitions=(issues[1].transitions[0], transition(21, "Cancelled", CREATED)),
    )
    assert write(make_cache(), [issues], NOW) != write(
        make_cache(), [[issues[0], changed, issues[2]]], NOW
    )


def test_a_left_membership_changes_the_digest(make_cache: Callable[[], Cache]) -> None:
    """Whether a span is open is part of the content."""
    first, second = make_cache(), make_cache()
    write(first, [records()], NOW)
    write(second, [records()], NOW)
    with second.transaction() as session:
        second.record_membership(session, "kr:GROWTH:0", set(), NOW)
    assert table_digest(first) != table_digest(second)
