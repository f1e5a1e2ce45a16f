"""Timestamps are aware UTC whatever goes in and whichever backend stores them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from restrat_sync.cache import Cache, open_cache
from tests.cache.conftest import issue

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 11, 22, 15, 0, 15, 123456, tzinfo=IST),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8))),
    ],
    ids=["utc", "ist", "pst"],
)
def test_aware_datetimes_come_back_as_the_same_instant_in_utc(
    cache: Cache, moment: datetime
) -> None:
    """Any aware input is stored as its instant and read back with tzinfo UTC."""
    cache.start_run(full=False, now=moment)
    with cache.transaction() as session:
        cache.upsert_issues(session, [issue(1, created=moment, updated=moment)], moment)
    run = cache.last_run()
    assert run is not None
    for value in (run.started_at, cache.updated_by_key({"PAY-1"})["PAY-1"]):
        assert value == moment
        assert value.tzinfo is UTC
        assert value.astimezone(IST).isoformat() == moment.astimezone(IST).isoformat()


def test_naive_datetimes_are_refused(cache: Cache) -> None:
    """A naive datetime is a bug upstream: it is refused rather than guessed."""
    with pytest.raises(StatementError, match="naive datetime"):
        cache.start_run(full=False, now=datetime(2026, 11, 22, 9, 30))


def test_sqlite_stores_naive_utc_text(tmp_path: Path) -> None:
    """On SQLite the stored text is UTC without an offset, so it sorts as time does."""
    cache = open_cache(f"sqlite:///{tmp_path / 'restrat.db'}")
    try:
        cache.start_run(full=False, now=datetime(2026, 11, 22, 15, 0, tzinfo=IST))
        with cache.engine.connect() as connection:
            stored = connection.execute(text("SELECT started_at FROM sync_runs")).scalar()
    finally:
        cache.close()
    assert stored == "2026-11-22 09:30:00.000000"
