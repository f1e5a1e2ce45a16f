"""Column types of the cache."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An instant: aware datetimes in, aware UTC datetimes out.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones, so the value is stored as naive
    UTC, which also keeps its text representation sortable. Naive input is refused rather than
    guessed: every timestamp inside restrat-sync is UTC, and a naive one is a bug upstream.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[datetime]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given where UTC is required")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        # psycopg answers in the session's time zone.
        return value.astimezone(UTC)


class CompressedJSON(TypeDecorator[Any]):
    """JSON that SQLite stores zlib-compressed, for the metric snapshots: their key lists repeat
    the same issue keys over and over (a large run's 54 MB compress to 16 MB).

    SQLite types values, not columns: the column stays the ``JSON`` the migrations declare,
    rows written before hold JSON text and are read as such, and compressed ones are BLOBs.
    PostgreSQL compresses large values itself (TOAST) and gets plain ``JSON``.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def compress(value: Any) -> bytes:
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            # Level 1: 16 MB instead of 13 MB at level 6, in a third of the time.
            return zlib.compress(text.encode("utf-8"), 1)

        return compress

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def decompress(value: bytes | str | None) -> Any:
            if value is None:
                return None
            if isinstance(value, bytes):
                value = zlib.decompress(value).decode("utf-8")
            return json.loads(value)

        return decompress
