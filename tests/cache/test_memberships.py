"""Membership keeps when each key joined and left each mapping, as spans."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from restrat_sync.cache import Cache, MembershipChange
from restrat_sync.cache.models import Membership
from tests.cache.conftest import NOW

THEME = "theme:GROWTH"


def record(cache: Cache, keys: set[str], hours: int = 0, mapping: str = THEME) -> MembershipChange:
    """Record ``keys`` as the mapping's members ``hours`` after NOW."""
    with cache.transaction() as session:
        return cache.record_membership(session, mapping, keys, NOW + timedelta(hours=hours))


def spans(cache: Cache, key: str) -> list[tuple[int, int | None]]:
    """The spans of ``key`` in THEME as (joined, left) hours after NOW."""
    with cache.transaction() as session:
        rows = session.scalars(
            select(Membership).where(Membership.issue_key == key).order_by(Membership.joined_at)
        )
        return [
            (
                int((m.joined_at - NOW) / timedelta(hours=1)),
                None if m.left_at is None else int((m.left_at - NOW) / timedelta(hours=1)),
            )
            for m in rows
        ]


def test_new_keys_join(cache: Cache) -> None:
    """The first listing opens a span for every key."""
    assert record(cache, {"PAY-2", "PAY-1"}) == MembershipChange(["PAY-1", "PAY-2"], [])
    assert cache.open_members(THEME) == {"PAY-1", "PAY-2"}


def test_recording_the_same_members_changes_nothing(cache: Cache) -> None:
    """Recording is idempotent: no joins, no leaves, no new spans."""
    record(cache, {"PAY-1", "PAY-2"})
    assert record(cache, {"PAY-1", "PAY-2"}, hours=1) == MembershipChange([], [])
    assert cache.counts()["memberships"] == 2


def test_keys_no_longer_listed_leave(cache: Cache) -> None:
    """A key missing from the listing leaves; its span is closed, not deleted."""
    record(cache, {"PAY-1", "PAY-2"})
    assert record(cache, {"PAY-2", "PAY-3"}, hours=2) == MembershipChange(["PAY-3"], ["PAY-1"])
    assert cache.open_members(THEME) == {"PAY-2", "PAY-3"}
    assert spans(cache, "PAY-1") == [(0, 2)]


def test_a_key_that_leaves_and_rejoins_has_two_spans(cache: Cache) -> None:
    """History is kept: leaving and joining again makes a second span."""
    record(cache, {"PAY-1"})
    record(cache, set(), hours=1)
    assert record(cache, {"PAY-1"}, hours=3) == MembershipChange(["PAY-1"], [])
    assert spans(cache, "PAY-1") == [(0, 1), (3, None)]


def test_mappings_are_independent(cache: Cache) -> None:
    """Recording one mapping leaves the others' members alone."""
    record(cache, {"PAY-1"})
    record(cache, {"PAY-2"}, mapping="kr:GROWTH:0")
    assert cache.open_members(THEME) == {"PAY-1"}
    assert cache.open_members("kr:GROWTH:0") == {"PAY-2"}
    assert cache.open_members("theme:UNKNOWN") == set()


def test_many_members_leave_at_once(cache: Cache) -> None:
    """Closing more spans than one IN list holds closes them all."""
    keys = {f"PAY-{n}" for n in range(2_500)}
    record(cache, keys)
    assert len(record(cache, {"PAY-1"}, hours=1).left) == 2_499
    assert cache.open_members(THEME) == {"PAY-1"}
