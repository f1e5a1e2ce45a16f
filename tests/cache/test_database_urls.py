"""Database URLs as admins write them: libpq-style PostgreSQL URLs, SQLite files in folders yet
to be made, and SQLite files that cannot be written."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url

from restrat_sync.cache import CacheError, open_cache
from restrat_sync.cache.engine import cache_url, create_cache_engine, schema_state
from tests.conftest import Databases

NOBODY = 65534


@pytest.mark.parametrize(
    ("written", "opened"),
    [
        (
            "postgres://restrat:pw@db:5432/restrat",
            "postgresql+psycopg://restrat:***@db:5432/restrat",
        ),
        ("postgresql://restrat@db/restrat", "postgresql+psycopg://restrat@db/restrat"),
        ("postgresql+psycopg://restrat@db/restrat", "postgresql+psycopg://restrat@db/restrat"),
        ("sqlite:///data/restrat.db", "sqlite:///data/restrat.db"),
    ],
)
def test_postgres_urls_without_a_driver_get_psycopg(written: str, opened: str) -> None:
    """postgres:// and postgresql:// (libpq's spelling) open with psycopg 3; others as given."""
    assert cache_url(written).render_as_string(hide_password=True) == opened


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_a_libpq_style_url_opens_the_cache(postgres_url: str, tmp_path: Path, scheme: str) -> None:
    """The cache opens and migrates through psycopg from a URL without a driver name."""
    databases = Databases("postgres", tmp_path, postgres_url)
    try:
        url = make_url(databases.new_url()).set(drivername=scheme)
        cache = open_cache(url.render_as_string(hide_password=False))
        try:
            assert cache.engine.dialect.driver == "psycopg"
            assert cache.status_ids() == set()
        finally:
            cache.close()
    finally:
        databases.drop_all()


def test_a_missing_sqlite_folder_is_created_with_an_info_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The folders are made, and the log says which."""
    folder = tmp_path / "new" / "data"
    caplog.set_level(logging.INFO, logger="restrat_sync")
    create_cache_engine(f"sqlite:///{folder / 'restrat.db'}").dispose()
    assert folder.is_dir()
    assert f"created the folder {folder} for the SQLite cache" in caplog.text


def test_an_existing_sqlite_folder_gets_no_info_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="restrat_sync")
    create_cache_engine(f"sqlite:///{tmp_path / 'restrat.db'}").dispose()
    assert "created the folder" not in caplog.text


def test_a_file_in_the_way_of_the_sqlite_folder_is_named(tmp_path: Path) -> None:
    """A regular file where a folder of the path should be is the cause, and is named."""
    blocker = tmp_path / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    path = blocker / "cache" / "restrat.db"
    with pytest.raises(CacheError) as caught:
        open_cache(f"sqlite:///{path}")
    assert str(caught.value) == (
        f"cannot create the SQLite cache {path}: {blocker} is a file, not a folder"
    )


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder anyone may enter (pytest's tmp_path is private to its owner), so that the
    folders below it are what decides."""
    folder = Path(tempfile.mkdtemp(prefix="restrat-perm-"))
    folder.chmod(0o755)
    yield folder
    for below in (folder, *folder.rglob("*")):
        below.chmod(0o755 if below.is_dir() else 0o644)
    shutil.rmtree(folder)


@pytest.mark.parametrize(
    ("case", "mode"),
    [("read-only folder", 0o555), ("closed folder", 0o000), ("read-only file", 0o444)],
)
def test_an_unwritable_sqlite_path_names_the_permission_it_lacks(
    open_dir: Path, case: str, mode: int
) -> None:
    """A folder this user may not write or enter, or a database file it may not write, is
    named, rather than SQLite's "unable to open database file"."""
    locked = open_dir / "locked"
    locked.mkdir()
    if case == "read-only file":
        locked.chmod(0o777)  # the folder is writable (by nobody too): only the file is not
        path = denied = locked / "restrat.db"
        path.write_bytes(b"")
    else:
        path, denied = locked / "sub" / "restrat.db", locked
    denied.chmod(mode)
    url = f"sqlite:///{path}"
    message = as_unprivileged_user(lambda: _open_error(url))
    assert message == f"cannot write the SQLite cache {path}: permission denied on {denied}"


def test_schema_state_reads_the_revision_without_migrating(tmp_path: Path) -> None:
    """check's view of the cache: an empty database has no revision and is not changed."""
    url = f"sqlite:///{tmp_path / 'db' / 'restrat.db'}"
    state = schema_state(url)
    assert (state.current, state.up_to_date) == ((), False)
    assert state.created_folder == tmp_path / "db"
    assert schema_state(url).current == ()  # still nothing migrated
    open_cache(url).close()
    assert schema_state(url).up_to_date


def test_schema_state_of_an_unreachable_server_names_it_without_the_password() -> None:
    """check cannot connect: the error names the masked URL (with psycopg chosen) and why."""
    with pytest.raises(CacheError) as caught:
        schema_state("postgres://restrat:s3cr3t-pw@127.0.0.1:1/test")
    message = str(caught.value)
    assert message.startswith(
        "cannot open the cache at postgresql+psycopg://restrat:***@127.0.0.1:1/test: "
    )
    assert "s3cr3t-pw" not in message


def _open_error(url: str) -> str:
    try:
        create_cache_engine(url).dispose()
    except CacheError as error:
        return str(error)
    return "opened"


def as_unprivileged_user(call: Callable[[], str]) -> str:
    """``call()`` in this process, or, when the tests run as root (who may write anywhere), in a
    forked child that has become ``nobody`` first."""
    if os.geteuid() != 0:
        return call()
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child: drop root, run, report, and leave without pytest's cleanup
        code = 0
        try:
            os.close(reader)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(writer, call().encode("utf-8"))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as answer:
        result = answer.read().decode("utf-8")
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged child failed"
    return result
