"""What restrat-sync has published to Confluence: one row per page title.

The publisher compares a page's content hash with the row's before it writes anything, so an
unchanged page costs no write. Each page's row is written in its own transaction, right after
that page's requests, so a run that stops halfway keeps what it did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from restrat_sync.cache.models import PublishedPage
from restrat_sync.cache.store import Cache, chunks

PUBLISHED = cast(Table, PublishedPage.__table__)
FIELDS = (
    "title", "page_id", "cadence", "period", "content_hash", "version", "published_at",
    "checked_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    title: str
    page_id: str
    cadence: str
    period: str
    content_hash: str  # "" when the page exists but its last publish did not finish
    version: int  # the page's version after restrat-sync's last write (or adoption)
    published_at: datetime
    # When restrat-sync last wrote the page or found it as it would write it (None: not
    # since this was recorded); the rolling pages' quiet rule reads it (``touched``).
    checked_at: datetime | None = None


def read_published(cache: Cache, titles: Iterable[str] | None = None) -> dict[str, PublishedRecord]:
    """The recorded pages by title: all of them, or those among ``titles``."""
    columns = [PUBLISHED.c[name] for name in FIELDS]
    with cache.engine.connect() as connection:
        if titles is None:
            rows = list(connection.execute(select(*columns)).mappings())
        else:
            rows = []
            for chunk in chunks(sorted(set(titles))):
                statement = select(*columns).where(PUBLISHED.c.title.in_(chunk))
                rows += connection.execute(statement).mappings()
    return {row["title"]: PublishedRecord(**row) for row in rows}


def published_page(cache: Cache, title: str) -> PublishedRecord | None:
    """The record of the page titled ``title``, or None."""
    return read_published(cache, [title]).get(title)


def record_published(cache: Cache, record: PublishedRecord) -> None:
    """Insert or replace the record of ``record.title``, in one transaction."""
    with cache.transaction() as session:
        connection = session.connection()
        insert: Any = (
            postgresql.insert(PUBLISHED)
            if connection.dialect.name == "postgresql"
            else sqlite.insert(PUBLISHED)
        )
        statement = insert.values(asdict(record))
        replaced = {name: statement.excluded[name] for name in FIELDS if name != "title"}
        connection.execute(statement.on_conflict_do_update(index_elements=["title"], set_=replaced))


def record_checked(cache: Cache, title: str, now: datetime) -> None:
    """Note that the page titled ``title`` was found as restrat-sync would write it at ``now``."""
    with cache.transaction() as session:
        session.execute(update(PUBLISHED).where(PUBLISHED.c.title == title).values(checked_at=now))
