"""Engine creation and schema migrations of the cache.

Migrations are Alembic revisions shipped inside the package (``migrations/``) and applied
programmatically, so that an installed restrat-sync needs no alembic.ini.

URLs are SQLAlchemy URLs, with two conveniences: ``postgres://`` and ``postgresql://`` (how
libpq and hosting providers write them) get the psycopg driver that ``restrat-sync[postgres]``
installs, and a SQLite file's missing folder is created (and said so). A SQLite file that
cannot be written is refused up front, naming the path that stands in the way.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from restrat_sync.errors import RestratError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000  # a second writer (CLI next to the scheduler) waits rather than fails
WRITE_OPTION = "restrat_write"  # execution option: this connection's transactions will write
# Serialises concurrent migrations of one PostgreSQL database (any constant; "rsync" in ASCII).
MIGRATION_LOCK_ID = 0x7273796E63
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})  # as libpq and hosting providers write
POSTGRES_DRIVER = "postgresql+psycopg"  # psycopg 3, what restrat-sync[postgres] installs


class CacheError(RestratError):
    """The cache database cannot be opened, migrated or used."""


def masked(url: str | URL) -> str:
    """The URL as text, with any password replaced by ``***``."""
    return make_url(url).render_as_string(hide_password=True)


def cache_url(database_url: str) -> URL:
    """The URL to open: ``postgres://`` and ``postgresql://`` without a driver get psycopg (3).

    SQLAlchemy rejects ``postgres`` outright, and before 2.1 picks psycopg2 for a bare
    ``postgresql``, which restrat-sync does not install."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        # The parser's messages quote the URL, password included.
        raise CacheError("the database URL is not a valid SQLAlchemy URL") from None
    if url.drivername in POSTGRES_SCHEMES:
        return url.set(drivername=POSTGRES_DRIVER)
    return url


def create_cache_engine(database_url: str) -> Engine:
    """An engine for the cache; SQLite gets its folder created and its pragmas set."""
    engine, created = _open_engine(cache_url(database_url))
    if created is not None:
        log.info("created the folder %s for the SQLite cache", created)
    return engine


def _open_engine(url: URL) -> tuple[Engine, Path | None]:
    """The engine, and the SQLite folder created for it (None when none was needed)."""
    try:
        if url.get_backend_name() == "sqlite":
            created = prepare_sqlite_folder(url)
            return _sqlite_engine(url), created
        return create_engine(url, pool_pre_ping=True), None
    except ImportError as exc:
        raise CacheError(
            f"cannot open the cache at {masked(url)}: the {url.get_driver_name()} driver is not "
            f"installed ({exc.name}); for PostgreSQL install restrat-sync[postgres]"
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        raise CacheError(f"cannot open the cache at {masked(url)}: {describe(exc, url)}") from exc


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory or URI-style database."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return None if url.database.startswith("file:") else Path(url.database)


def prepare_sqlite_folder(url: URL) -> Path | None:
    """Make sure the SQLite file of ``url`` can be written: create its folder when missing
    (returned, so the caller can say so), else raise CacheError naming what is in the way."""
    path = sqlite_file(url)
    if path is None:
        return None
    folder = path.parent
    reached = _deepest_folder(folder, path)
    # SQLite writes its -wal and -shm files beside the database: the folder must be writable.
    if not os.access(reached, os.W_OK | os.X_OK):
        raise CacheError(f"cannot write the SQLite cache {path}: permission denied on {reached}")
    if path.exists() and not os.access(path, os.W_OK):
        raise CacheError(f"cannot write the SQLite cache {path}: permission denied on {path}")
    if reached == folder:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _deepest_folder(folder: Path, path: Path) -> Path:
    """The deepest existing folder on the way to ``folder``. The walk goes down from the top,
    so that a file in the way, or a folder this user may not enter, is the one named."""
    levels = [*reversed(folder.parents), folder]
    reached = levels[0]
    for level in levels[1:]:
        if not reached.is_dir():
            break
        if not os.access(reached, os.X_OK):
            raise CacheError(
                f"cannot write the SQLite cache {path}: permission denied on {reached}"
            )
        if not level.exists():
            return reached
        reached = level
    if not reached.is_dir():
        raise CacheError(
            f"cannot create the SQLite cache {path}: {reached} is a file, not a folder"
        )
    return reached


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Python's sqlite3 (before 3.12) opens transactions itself, only before DML: SELECTs and DDL
    # would run outside any transaction. Take over BEGIN (see _sqlite_begin) so a transaction
    # covers everything, migrations included.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, nor it them
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # A deferred transaction that reads first and writes later fails at once (SQLITE_BUSY, no
    # waiting) when another writer committed in between; IMMEDIATE takes the write lock upfront.
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The engine whose transactions are meant to write."""
    return engine.execution_options(**{WRITE_OPTION: True})


def migrate(engine: Engine, target: str = "head") -> list[str]:
    """Upgrade the schema to ``target`` (the newest revision by default); return the revisions
    applied, oldest first."""
    applied: list[str] = []

    def on_version_apply(*, step: Any, **_: Any) -> None:
        applied.append(step.up_revision_id)

    with _migration_connection(engine) as connection:
        config = _alembic_config()
        current = MigrationContext.configure(connection).get_current_heads()
        _refuse_unknown_revisions(current, ScriptDirectory.from_config(config), engine.url)
        config.attributes["connection"] = connection
        config.attributes["on_version_apply"] = [on_version_apply]
        command.upgrade(config, target)
    if applied:
        log.info("cache at %s migrated to %s", masked(engine.url), applied[-1])
    return applied


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    with writer(engine).begin() as connection:
        if connection.dialect.name == "postgresql":
            # Two processes starting at once must not both create the tables.
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        yield connection


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _refuse_unknown_revisions(current: Sequence[str], script: ScriptDirectory, url: URL) -> None:
    known = {revision.revision for revision in script.walk_revisions()}
    unknown = [revision for revision in current if revision not in known]
    if unknown:
        raise CacheError(
            f"the cache at {masked(url)} has schema revision {', '.join(unknown)}, which this "
            "restrat-sync does not know: a newer restrat-sync wrote it. Upgrade restrat-sync, "
            "or point RESTRAT_DATABASE_URL at another database."
        )


def upgrade_engine(engine: Engine) -> list[str]:
    """``migrate`` with failures turned into a ``CacheError`` that names the masked URL."""
    try:
        return migrate(engine)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        message = f"cannot open the cache at {masked(engine.url)}: {describe(exc, engine.url)}"
        raise CacheError(message) from exc


def upgrade(database_url: str) -> list[str]:
    """Migrate the cache at ``database_url`` to the newest schema; return the revisions applied
    (empty when it was up to date)."""
    engine = create_cache_engine(database_url)
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()


def describe(exc: BaseException, url: URL) -> str:
    """The driver's own words for a failure, on one line and without the password."""
    original = getattr(exc, "orig", None) or exc
    words = " ".join(str(original).split()) or type(original).__name__
    if url.password:
        words = words.replace(str(url.password), "***")
    return words


@dataclass(frozen=True)
class SchemaState:
    """How the cache's schema compares with this restrat-sync's (what ``check`` reports)."""

    url: str  # masked
    current: tuple[str, ...]  # the database's revisions; empty before the first migration
    head: str  # the newest revision this restrat-sync ships
    created_folder: Path | None  # the SQLite folder created to reach it, if any

    @property
    def up_to_date(self) -> bool:
        return self.current == (self.head,)


def schema_state(database_url: str) -> SchemaState:
    """Connect to the cache and read its schema revision, migrating nothing. Raises CacheError
    when it cannot be reached, or when a newer restrat-sync wrote it."""
    url = cache_url(database_url)
    engine, created = _open_engine(url)
    script = ScriptDirectory.from_config(_alembic_config())
    try:
        with engine.connect() as connection:
            current = tuple(MigrationContext.configure(connection).get_current_heads())
    except (SQLAlchemyError, OSError) as exc:
        raise CacheError(f"cannot open the cache at {masked(url)}: {describe(exc, url)}") from exc
    finally:
        engine.dispose()
    _refuse_unknown_revisions(current, script, url)
    return SchemaState(masked(url), current, str(script.get_current_head()), created)
