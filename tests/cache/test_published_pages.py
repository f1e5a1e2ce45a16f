"""The published_pages rows: recorded per title, replaced on the next publish, read back."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from restrat_sync.cache import Cache
from restrat_sync.cache.pages import (
    PublishedRecord,
    published_page,
    read_published,
    record_published,
)
from tests.cache.conftest import NOW


def record(title: str, page_id: str = "101", version: int = 1) -> PublishedRecord:
    return PublishedRecord(title, page_id, "weekly", "2026-W47", "h" * 64, version, NOW)


def test_a_recorded_page_reads_back_whole(cache: Cache) -> None:
    """Every field survives the round trip, the time as aware UTC."""
    record_published(cache, record("Weekly telemetry 2026-W47"))
    assert published_page(cache, "Weekly telemetry 2026-W47") == record("Weekly telemetry 2026-W47")
    assert published_page(cache, "Nope") is None


def test_recording_a_title_again_replaces_its_row(cache: Cache) -> None:
    """Upsert by title: the newest page id, hash, version and time win; one row stays."""
    record_published(cache, record("Overview"))
    newer = dataclasses.replace(
        record("Overview", "202", 3), content_hash="", published_at=NOW + timedelta(hours=1)
    )
    record_published(cache, newer)
    assert read_published(cache) == {"Overview": newer}


def test_reading_some_titles(cache: Cache) -> None:
    """read_published filters by title; unknown titles are simply absent."""
    for title in ("A", "B", "C"):
        record_published(cache, record(title))
    assert set(read_published(cache, ["A", "C", "Z"])) == {"A", "C"}
    assert set(read_published(cache)) == {"A", "B", "C"}
