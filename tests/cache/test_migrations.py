"""Opening a cache migrates it; failures name the database without its password."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from restrat_sync.cache import Cache, CacheError, open_cache, upgrade
from restrat_sync.cache.engine import create_cache_engine, migrate
from restrat_sync.cache.models import Base
from restrat_sync.errors import RestratError
from tests.cache.conftest import NOW


def test_migrations_create_every_table(cache: Cache) -> None:
    """The migrated database has exactly the models' tables, plus Alembic's version table."""
    tables = set(inspect(cache.engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_migrations_match_the_models(cache: Cache) -> None:
    """Autogenerate finds nothing to change: the migrations build what the models declare."""
    with cache.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent(database_url: str) -> None:
    """The first upgrade applies every revision in order; the next ones have nothing to do."""
    assert upgrade(database_url) == ["0001", "0002", "0003", "0004", "0005", "0006"]
    assert upgrade(database_url) == []
    cache = open_cache(database_url)
    try:
        assert set(cache.counts().values()) == {0}
    finally:
        cache.close()


def test_one_open_span_per_mapping_and_issue_is_enforced(cache: Cache) -> None:
    """The partial unique index refuses a second open span, but allows closed ones."""
    insert = text(
        "INSERT INTO memberships (mapping_key, issue_key, joined_at, left_at) "
        "VALUES ('theme:GROWTH', 'PAY-1', :at, :left)"
    )
    at = NOW.replace(tzinfo=None).isoformat(" ")
    with cache.engine.begin() as connection:
        connection.execute(insert, {"at": at, "left": at})
        connection.execute(insert, {"at": at, "left": at})
        connection.execute(insert, {"at": at, "left": None})
    with pytest.raises(IntegrityError), cache.engine.begin() as connection:
        connection.execute(insert, {"at": at, "left": None})


def test_a_schema_from_a_newer_release_is_refused(database_url: str) -> None:
    """A cache whose revision this code does not know gives a clear error, not a traceback."""
    cache = open_cache(database_url)
    try:
        with cache.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        cache.close()
    with pytest.raises(CacheError, match=r"revision 0999.*newer restrat-sync"):
        open_cache(database_url)


def test_unreachable_postgres_error_hides_the_password() -> None:
    """The error names the server and the user, with the password masked."""
    url = "postgresql+psycopg://restrat:s3cr3t-pw@127.0.0.1:1/test"
    with pytest.raises(RestratError) as caught:
        open_cache(url)
    message = str(caught.value)
    assert "s3cr3t-pw" not in message
    assert "postgresql+psycopg://restrat:***@127.0.0.1:1/test" in message


def test_an_unparsable_url_is_not_echoed() -> None:
    """SQLAlchemy's parser quotes the whole string; the error must not."""
    with pytest.raises(CacheError) as caught:
        open_cache("postgresql://user:s3cr3t-pw@host:port-is-not-a-number/db")
    assert "s3cr3t-pw" not in str(caught.value)


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    """Garbage in place of the SQLite file is a CacheError naming the file."""
    path = tmp_path / "restrat.db"
    path.write_bytes(b"certainly not SQLite" * 100)
    with pytest.raises(CacheError, match=str(path)):
        open_cache(f"sqlite:///{path}")


def test_sqlite_connections_enforce_keys_and_use_wal(tmp_path: Path) -> None:
    """Each SQLite connection has foreign keys on, WAL and a busy timeout; the folder is made."""
    path = tmp_path / "new" / "folder" / "restrat.db"
    cache = open_cache(f"sqlite:///{path}")
    try:
        with cache.engine.connect() as connection:
            pragmas = [
                connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "journal_mode", "busy_timeout")
            ]
    finally:
        cache.close()
    assert pragmas == [1, "wal", 30_000]
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [("0006",)]


def test_a_cache_from_the_first_release_is_upgraded_in_place(database_url: str) -> None:
    """A 0001 cache keeps its rows and gains the attribution history table."""
    engine = create_cache_engine(database_url)
    try:
        assert migrate(engine, "0001") == ["0001"]
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO statuses (id, name, category) VALUES ('1', 'Open', 'new')")
            )
    finally:
        engine.dispose()
    cache = open_cache(database_url)
    try:
        assert cache.status_ids() == {"1"}
        assert "theme_attributions" in inspect(cache.engine).get_table_names()
    finally:
        cache.close()
