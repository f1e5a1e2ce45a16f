"""The local cache: SQLAlchemy models, Alembic migrations, idempotent upserts and the queries of
the sync engine. SQLite by default, PostgreSQL for teams.

``open_cache(url)`` migrates the database to the newest schema and returns a ``Cache``;
``upgrade(url)`` only migrates (``restrat-sync db upgrade``). Failures raise ``CacheError``
(a ``RestratError``) naming the URL with its password masked.
"""

from __future__ import annotations

from restrat_sync.cache.digest import table_digest
from restrat_sync.cache.engine import CacheError, upgrade
from restrat_sync.cache.store import (
    Cache,
    MembershipChange,
    SyncRunInfo,
    UpsertCounts,
    open_cache,
)

__all__ = [
    "Cache",
    "CacheError",
    "MembershipChange",
    "SyncRunInfo",
    "UpsertCounts",
    "open_cache",
    "table_digest",
    "upgrade",
]
