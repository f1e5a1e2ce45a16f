"""The cache's write and read API, as the sync engine uses it.

Writes take the caller's session (one transaction per page, together with its watermark); reads
and the run log open their own. Upserts are idempotent and batched: one read of what is stored
per table and chunk, then executemany statements, never a query per issue.

A sync run keeps its sets of keys (what Jira listed, which parents were asked for children) in
``RunKeys``: a temporary table, so that their size costs the process no memory and a killed run
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Engine,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable, DropTable
from sqlalchemy.sql.expression import Exists

from restrat_sync.cache.engine import WRITE_OPTION, create_cache_engine, upgrade_engine, writer
from restrat_sync.cache.models import (
    Base,
    FieldChange,
    Issue,
    IssueLink,
    LinkType,
    Membership,
    PendingChange,
    Status,
    StatusTransition,
    SyncRun,
    SyncState,
)
from restrat_sync.cache.types import UTCDateTime
from restrat_sync.jira.records import IssueRecord, LinkTypeRecord, StatusRecord

T = TypeVar("T")
CHUNK = 900  # values per IN list: below the 999 bound variables of older SQLite builds

# Columns of `issues` that come from Jira: a difference in any of them makes an issue "updated".
ISSUE_CONTENT = (
    "key", "project", "issuetype", "hierarchy_level", "subtask", "status", "status_id",
    "status_category", "summary", "created", "updated", "resolved", "duedate", "priority",
    "story_points", "labels", "fix_versions", "parent_key", "epic_link_key", "parent_link_key",
    "changelog_total",
)  # fmt: skip
TRANSITION_FIELDS = (
    "history_id", "item_index", "at", "from_status_id", "from_status", "to_status_id", "to_status",
)  # fmt: skip
FIELD_CHANGE_FIELDS = (
    "history_id", "item_index", "at", "field", "from_value", "from_string", "to_value",
    "to_string",
)  # fmt: skip
LINK_FIELDS = ("link_id", "direction", "type_name", "other_key")

HistoryKey = tuple[int, int, int]  # (issue_id, history_id, item_index)
LinkKey = tuple[str, str]  # (link_id, direction)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


ISSUES = _table(Issue)
PENDING = _table(PendingChange)
TRANSITIONS = _table(StatusTransition)
FIELD_CHANGES = _table(FieldChange)
LINKS = _table(IssueLink)


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int
    updated: int  # any stored value changed: a field, history added, links, or un-deleted
    unchanged: int
    transitions_added: int
    out_of_scope: int = 0  # written out of scope that were not marked so before


@dataclass(frozen=True, slots=True)
class MembershipChange:
    joined: list[str]
    left: list[str]


@dataclass(frozen=True, slots=True)
class MembershipCounts:
    joined: int
    left: int


@dataclass(frozen=True, slots=True)
class SyncRunInfo:
    id: int
    started_at: datetime
    finished_at: datetime | None
    outcome: str  # "running" | "ok" | "failed"
    full: bool
    counts: dict[str, int]
    requests: dict[str, int]
    retries: dict[str, int]
    error: str | None


def open_cache(database_url: str) -> Cache:
    """Open the cache at ``database_url``, migrating it to the newest schema first."""
    engine = create_cache_engine(database_url)
    try:
        upgrade_engine(engine)
    except BaseException:
        engine.dispose()
        raise
    return Cache(engine)


class Cache:
    """The local cache of Jira issues, their history, memberships and sync bookkeeping."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = writer(engine)

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session in one transaction: committed on success, rolled back on an exception."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    @contextmanager
    def run_keys(self) -> Iterator[RunKeys]:
        """Empty key sets for one sync run, on a connection held until the block ends."""
        # A temporary table belongs to one connection: hold that one, rather than hoping the
        # pool hands the same one back each time.
        with self.engine.connect() as connection:
            keys = RunKeys(connection)
            keys.create()
            yield keys
            # Not reached on an exception: the table then goes with the connection, or the next
            # run's create() empties it.
            keys.drop()

    # --- writes --------------------------------------------------------------------------------

    def upsert_issues(
        self,
        session: Session,
        records: Sequence[IssueRecord],
        now: datetime,
        out_of_scope: Collection[str] = (),
    ) -> UpsertCounts:
        """Store issues with their history and links (idempotent); count what changed. The
        issues whose keys are in ``out_of_scope`` are stored marked out of scope (since when
        they were first noticed), the others live."""
        return _IssueUpsert(session.connection(), records, now, out_of_scope).run()

    def upsert_statuses(self, session: Session, statuses: Sequence[StatusRecord]) -> None:
        """Store Jira's status catalogue: new statuses added, renamed ones updated."""
        rows = {s.id: {"id": s.id, "name": s.name, "category": s.category} for s in statuses}
        if rows:
            statement = _insert(session.connection(), _table(Status))
            statement = statement.on_conflict_do_update(
                index_elements=["id"], set_=_excluded(statement, ("name", "category"))
            )
            session.connection().execute(statement, list(rows.values()))

    def upsert_link_types(self, session: Session, link_types: Sequence[LinkTypeRecord]) -> None:
        """Store Jira's link-type catalogue: new types added, reworded ones updated."""
        rows = {
            t.name: {"name": t.name, "inward": t.inward, "outward": t.outward} for t in link_types
        }
        if rows:
            statement = _insert(session.connection(), _table(LinkType))
            statement = statement.on_conflict_do_update(
                index_elements=["name"], set_=_excluded(statement, ("inward", "outward"))
            )
            session.connection().execute(statement, list(rows.values()))

    def status_ids(self) -> set[str]:
        """Ids of the statuses in the stored catalogue."""
        with self._reading() as session:
            return set(session.scalars(select(Status.id)))

    def lacks_statuses(self, written_after: datetime | None = None) -> bool:
        """Whether the catalogue is empty, or lacks a status that an issue written after
        ``written_after`` (any issue, with None) is in or passed through."""
        known = select(Status.id)
        unknown_change = exists().where(
            StatusTransition.issue_id == Issue.id,
            or_(
                StatusTransition.from_status_id.not_in(known),
                StatusTransition.to_status_id.not_in(known),
            ),
        )
        # Driven from the issues written lately (an issue's transitions by their index), not
        # from every transition in the cache.
        named = select(Issue.id).where(or_(Issue.status_id.not_in(known), unknown_change))
        if written_after is not None:
            named = named.where(Issue.synced_at > written_after)
        with self._reading() as session:
            empty = session.scalar(select(Status.id).limit(1)) is None
            return empty or session.scalar(named.limit(1)) is not None

    def set_watermark(
        self, session: Session, key: str, watermark_ms: int | None, now: datetime
    ) -> None:
        """Set the watermark (epoch ms) of a mapping or cursor."""
        statement = _insert(session.connection(), _table(SyncState)).values(
            key=key, watermark_ms=watermark_ms, updated_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["key"], set_=_excluded(statement, ("watermark_ms", "updated_at"))
        )
        session.connection().execute(statement)

    def record_membership(
        self, session: Session, mapping_key: str, keys: Collection[str], now: datetime
    ) -> MembershipChange:
        """Make ``keys`` the open members of the mapping: open spans for newcomers and close the
        spans of keys no longer listed. Closed spans stay, as history."""
        members = set(keys)
        current = _open_members(session, mapping_key)
        joined, left = sorted(members - current), sorted(current - members)
        connection = session.connection()
        _queue_changes(connection, now, mappings=[mapping_key] if joined or left else [])
        if joined:
            rows = [{"mapping_key": mapping_key, "issue_key": k, "joined_at": now} for k in joined]
            connection.execute(_table(Membership).insert(), rows)
        for chunk in chunks(left):
            connection.execute(
                update(Membership)
                .where(Membership.mapping_key == mapping_key, Membership.left_at.is_(None))
                .where(Membership.issue_key.in_(chunk))
                .values(left_at=now)
            )
        return MembershipChange(joined=joined, left=left)

    def mark_deleted(self, session: Session, keys: Collection[str], now: datetime) -> int:
        """Flag issues Jira no longer has; return how many were not flagged yet."""
        return _flag(session.connection(), Issue.deleted_at, keys, now)

    def mark_out_of_scope(self, session: Session, keys: Collection[str], now: datetime) -> int:
        """Flag issues that no mapping selects any more; return how many were not flagged yet."""
        return _flag(session.connection(), Issue.out_of_scope_at, keys, now)

    def start_run(self, full: bool, now: datetime) -> int:
        """Log the start of a sync run in its own transaction; return the run's id."""
        with self.transaction() as session:
            run = SyncRun(
                started_at=now, outcome="running", full=full, counts={}, requests={}, retries={}
            )
            session.add(run)
            session.flush()
            return run.id

    def finish_run(
        self,
        run_id: int,
        outcome: str,
        now: datetime,
        counts: Mapping[str, int],
        requests: Mapping[str, int],
        retries: Mapping[str, int],
        error: str | None,
    ) -> None:
        """Log how a sync run ended, in its own transaction."""
        with self.transaction() as session:
            run = session.get_one(SyncRun, run_id)
            run.finished_at, run.outcome, run.error = now, outcome, error
            run.counts, run.requests, run.retries = dict(counts), dict(requests), dict(retries)

    # --- reads ---------------------------------------------------------------------------------

    def watermark(self, key: str) -> int | None:
        """The watermark of ``key``; None when never set (or set to None)."""
        with self._reading() as session:
            state = session.get(SyncState, key)
            return None if state is None else state.watermark_ms

    def watermark_set_at(self, key: str) -> datetime | None:
        """When the watermark of ``key`` was last set: the start of the run that set it."""
        with self._reading() as session:
            state = session.get(SyncState, key)
            return None if state is None else state.updated_at

    def watermarks(self) -> dict[str, int | None]:
        """Every watermark by key."""
        with self._reading() as session:
            return {s.key: s.watermark_ms for s in session.scalars(select(SyncState))}

    def issue_keys(self, include_deleted: bool = False) -> set[str]:
        """Keys of the live issues, neither deleted nor out of scope; with ``include_deleted``,
        every cached key."""
        statement = select(Issue.key)
        if not include_deleted:
            statement = statement.where(Issue.deleted_at.is_(None), Issue.out_of_scope_at.is_(None))
        with self._reading() as session:
            return set(session.scalars(statement))

    def updated_by_key(self, keys: Collection[str]) -> dict[str, datetime]:
        """Jira's ``updated`` of the cached issues among ``keys``."""
        found: dict[str, datetime] = {}
        with self._reading() as session:
            for chunk in chunks(sorted(set(keys))):
                statement = select(Issue.key, Issue.updated).where(Issue.key.in_(chunk))
                # Not dict.update(result): a Result has keys(), so it would pass for a mapping.
                for key, updated in session.execute(statement):
                    found[key] = updated
        return found

    def children_parents(self, roots: Collection[str]) -> set[str]:
        """``roots`` and every cached, live issue below them through ``parent``, Epic Link or
        Parent Link. The roots are included as given, cached or not."""
        reached = set(roots)
        with self._reading() as session:
            # Four IN lists of a chunk each: stay under older SQLite's 999 bound variables.
            for chunk in chunks(sorted(reached), CHUNK // 4):
                reached.update(session.scalars(_subtree_query(chunk)))
        return reached

    def children_of(self, parents: Collection[str]) -> set[str]:
        """Keys of the live issues whose parent, Epic Link or Parent Link is among ``parents``."""
        found: set[str] = set()
        with self._reading() as session:
            # Three IN lists of a chunk each: stay under older SQLite's 999 bound variables.
            for chunk in chunks(sorted(set(parents)), CHUNK // 3):
                found.update(session.scalars(select(ISSUES.c.key).where(_child_of(chunk))))
        return found

    def keys_among(self, keys: Collection[str], synced_since: datetime | None = None) -> set[str]:
        """The live cached keys among ``keys``; with ``synced_since``, only those a sync wrote
        at or after it (what the current run has fetched)."""
        found: set[str] = set()
        with self._reading() as session:
            for chunk in chunks(sorted(set(keys))):
                statement = select(Issue.key).where(Issue.key.in_(chunk), _live())
                if synced_since is not None:
                    statement = statement.where(Issue.synced_at >= synced_since)
                found.update(session.scalars(statement))
        return found

    def stale_keys(self, synced_before: datetime) -> set[str]:
        """Live keys no sync has written since ``synced_before``: after a full sync, the issues
        that nothing returned."""
        statement = select(Issue.key).where(_live(), Issue.synced_at < synced_before)
        with self._reading() as session:
            return set(session.scalars(statement))

    def issue_kinds(self, keys: Collection[str]) -> dict[str, tuple[int | None, str, bool]]:
        """(hierarchy level or None, issue type name, sub-task flag) of the cached issues among
        ``keys``: what a caller needs to fall back to a level mapping by type name."""
        found: dict[str, tuple[int | None, str, bool]] = {}
        with self._reading() as session:
            for chunk in chunks(sorted(set(keys))):
                statement = select(
                    Issue.key, Issue.hierarchy_level, Issue.issuetype, Issue.subtask
                ).where(Issue.key.in_(chunk))
                for key, level, issuetype, subtask in session.execute(statement):
                    found[key] = (level, issuetype, bool(subtask))
        return found

    def open_members(self, mapping_key: str) -> set[str]:
        """Keys the mapping selects now (its open membership spans)."""
        with self._reading() as session:
            return _open_members(session, mapping_key)

    def is_empty(self) -> bool:
        """Nothing was ever synced into this cache: no issue, no watermark."""
        with self._reading() as session:
            issue = session.scalars(select(Issue.id).limit(1)).first()
            mark = session.scalars(select(SyncState.key).limit(1)).first()
            return issue is None and mark is None

    def last_run(self) -> SyncRunInfo | None:
        """The most recently started sync run."""
        with self._reading() as session:
            run = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()
            return None if run is None else _run_info(run)

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        with self._reading() as session:
            return {
                table.name: session.scalar(select(func.count()).select_from(table)) or 0
                for table in Base.metadata.sorted_tables
            }


RUN_KEYS = Table(
    "restrat_run_keys",
    MetaData(),
    Column("tag", String, primary_key=True),  # the set's name
    Column("key", String, primary_key=True),
    Column("depth", Integer, nullable=False, server_default=text("0")),  # in a walked tree
    prefixes=["TEMPORARY"],
)
ADD_BATCH = 5000  # keys per INSERT when a set grows
TREE_CHUNK = CHUNK // 4  # parents per step of a walk: three IN lists stay under 999 variables


class RunKeys:
    """Named sets of issue keys for one sync run, kept in a temporary table.

    Every call is its own short transaction, so none stays open while the caller talks to Jira
    or writes pages through ``Cache.transaction`` (another connection). Chunked reads page by key
    (``key > last``), so the caller may change the cache between two chunks.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def create(self) -> None:
        """Create the table, or empty it when this connection kept one from a failed run."""
        if self.connection.dialect.name == "sqlite":
            # A build whose temporary tables default to memory would grow with the dataset; on
            # file they are paged through SQLite's bounded cache. Not allowed in a transaction.
            cursor = self.connection.connection.cursor()
            cursor.execute("PRAGMA temp_store = FILE")
            cursor.close()
        with self._begin() as connection:
            connection.execute(CreateTable(RUN_KEYS, if_not_exists=True))
            connection.execute(delete(RUN_KEYS))

    def drop(self) -> None:
        with self._begin() as connection:
            connection.execute(DropTable(RUN_KEYS, if_exists=True))

    def add(self, tag: str, keys: Iterable[str]) -> None:
        """Add ``keys`` to the set ``tag``; a key already there stays once."""
        for batch in _batches(keys, ADD_BATCH):
            with self._begin() as connection:
                statement = _insert(connection, RUN_KEYS).on_conflict_do_nothing()
                connection.execute(statement, [{"tag": tag, "key": key} for key in batch])

    def clear(self, tag: str) -> None:
        with self._begin() as connection:
            connection.execute(delete(RUN_KEYS).where(RUN_KEYS.c.tag == tag))

    def count(self, tag: str) -> int:
        statement = select(func.count()).select_from(RUN_KEYS).where(RUN_KEYS.c.tag == tag)
        with self._begin() as connection:
            return connection.scalar(statement) or 0

    def keys(self, tag: str) -> set[str]:
        """The set ``tag`` in memory: for tests and small sets only."""
        with self._begin() as connection:
            return set(connection.scalars(select(RUN_KEYS.c.key).where(RUN_KEYS.c.tag == tag)))

    def record_memberships(self, listings: Mapping[str, str], now: datetime) -> MembershipCounts:
        """Make the set ``listings[mapping]`` each mapping's open members, in one transaction:
        what ``Cache.record_membership`` does, without the keys in memory."""
        joined = left = 0
        changed: list[str] = []
        with self._begin(write=True) as connection:
            for mapping_key, tag in listings.items():
                came = connection.execute(_join_listed(mapping_key, tag, now)).rowcount
                went = connection.execute(_leave_unlisted(mapping_key, tag, now)).rowcount
                joined, left = joined + came, left + went
                changed += [mapping_key] if came or went else []
            _queue_changes(connection, now, mappings=changed)
        return MembershipCounts(joined=joined, left=left)

    def fill_tree(self, tag: str, root_tags: Sequence[str]) -> None:
        """Make ``tag`` the keys in the sets ``root_tags`` and every cached, live issue below
        them (``Cache.children_parents``, written to a set instead of returned). An issue out of
        scope is no parent of the tree: it comes back through Jira's answers, not the cache's.

        Walked a level at a time, TREE_CHUNK parents per statement: a recursive CTE holds every
        key it reached in SQLite's memory (5 MB at 70,000 keys, more beyond)."""
        if tag in root_tags:
            raise ValueError(f"the set {tag} cannot be its own roots")
        self.clear(tag)
        roots = select(RUN_KEYS.c.key).where(RUN_KEYS.c.tag.in_(root_tags)).distinct()
        for rows in self._paged(roots, RUN_KEYS.c.key, ADD_BATCH):
            self.add(tag, [key for (key,) in rows])
        depth = 0
        while self._add_children(tag, depth):
            depth += 1

    def _add_children(self, tag: str, depth: int) -> bool:
        """Add to ``tag`` the children of its keys at ``depth``, one level down (a key already
        in the set stays where it is, which ends cycles); whether any key is at ``depth``."""
        level = select(RUN_KEYS.c.key).where(RUN_KEYS.c.tag == tag, RUN_KEYS.c.depth == depth)
        found = False
        for rows in self._paged(level, RUN_KEYS.c.key, TREE_CHUNK):
            found = True
            below = select(literal(tag, String()), ISSUES.c.key, literal(depth + 1)).where(
                _child_of([key for (key,) in rows])
            )
            with self._begin() as connection:
                statement = _insert(connection, RUN_KEYS).from_select(
                    ["tag", "key", "depth"], below
                )
                connection.execute(statement.on_conflict_do_nothing())
        return found

    def fill_changed(
        self, tag: str, of_tag: str, since: datetime, joined_mappings: Sequence[str]
    ) -> None:
        """Make ``tag`` the keys of ``of_tag`` that a sync wrote after ``since`` (live ones), or
        that joined one of ``joined_mappings`` after it and are still members."""
        # EXISTS: a probe per key of the set, rather than every written key gathered first.
        written = exists().where(
            ISSUES.c.key == RUN_KEYS.c.key, _live(), ISSUES.c.synced_at > since
        )
        spans = _table(Membership)
        joined = exists().where(
            spans.c.issue_key == RUN_KEYS.c.key,
            spans.c.mapping_key.in_(joined_mappings),
            spans.c.joined_at > since,
            spans.c.left_at.is_(None),
        )
        changed = select(literal(tag, String()), RUN_KEYS.c.key).where(
            RUN_KEYS.c.tag == of_tag, or_(written, joined)
        )
        with self._begin() as connection:
            connection.execute(delete(RUN_KEYS).where(RUN_KEYS.c.tag == tag))
            connection.execute(insert(RUN_KEYS).from_select(["tag", "key"], changed))

    def parents(
        self,
        tag: str,
        levels: Mapping[str, int],
        size: int,
        among: Sequence[str] = (),
        excluded: Sequence[str] = (),
    ) -> Iterator[list[tuple[str, int]]]:
        """(key, hierarchy level) of the keys in ``tag`` that can have children (level 0 and
        up: sub-tasks cannot), sorted, in chunks of ``size``; with ``among``, only keys in one
        of those sets too; none in the sets ``excluded``. Levels as ``Hierarchy.level_of``:
        Jira's, else ``levels`` by type name, else -1 for a sub-task and 0 otherwise (so 0 for
        keys the cache lacks)."""
        level = _level_of(levels)
        statement = (
            select(RUN_KEYS.c.key, level)
            .select_from(RUN_KEYS.outerjoin(ISSUES, ISSUES.c.key == RUN_KEYS.c.key))
            .where(RUN_KEYS.c.tag == tag, level >= 0)
        )
        if among:
            statement = statement.where(_in_sets(RUN_KEYS.c.key, among))
        if excluded:
            statement = statement.where(~_in_sets(RUN_KEYS.c.key, excluded))
        for rows in self._paged(statement, RUN_KEYS.c.key, size):
            yield [(key, int(level)) for key, level in rows]

    def strays(self, tag: str, size: int) -> Iterator[list[str]]:
        """Keys of the issues out of scope (not deleted) whose cached parent, Epic Link or
        Parent Link is in the set ``tag``, sorted, in chunks of ``size``."""
        below = or_(*(_in_sets(column, [tag]) for column in PARENT_COLUMNS))
        statement = select(ISSUES.c.key).where(
            ISSUES.c.deleted_at.is_(None), ISSUES.c.out_of_scope_at.is_not(None), below
        )
        for rows in self._paged(statement, ISSUES.c.key, size):
            yield [key for (key,) in rows]

    def among(self, tag: str, keys: Collection[str]) -> set[str]:
        """Those of ``keys`` that are in the set ``tag``."""
        found: set[str] = set()
        with self._begin() as connection:
            for chunk in chunks(sorted(set(keys))):
                statement = select(RUN_KEYS.c.key).where(
                    RUN_KEYS.c.tag == tag, RUN_KEYS.c.key.in_(chunk)
                )
                found.update(connection.scalars(statement))
        return found

    def unfetched(
        self, tags: Sequence[str], size: int, synced_since: datetime | None = None
    ) -> Iterator[list[str]]:
        """Keys in the sets ``tags`` that the cache lacks as live issues, sorted, in chunks of
        ``size``; with ``synced_since``, those no sync wrote at or after it."""
        cached = exists().where(ISSUES.c.key == RUN_KEYS.c.key, _live())
        if synced_since is not None:
            cached = cached.where(ISSUES.c.synced_at >= synced_since)
        statement = select(RUN_KEYS.c.key).where(RUN_KEYS.c.tag.in_(tags), ~cached).distinct()
        for rows in self._paged(statement, RUN_KEYS.c.key, size):
            yield [key for (key,) in rows]

    def unlisted(
        self,
        listed_tags: Sequence[str],
        size: int,
        synced_before: datetime | None = None,
        among: Sequence[str] = (),
    ) -> Iterator[list[str]]:
        """Keys of live cached issues in none of the sets ``listed_tags``, sorted, in chunks of
        ``size``; with ``synced_before``, only those no sync wrote since then; with ``among``,
        only those in one of these sets."""
        statement = select(ISSUES.c.key).where(_live(), ~_in_sets(ISSUES.c.key, listed_tags))
        if synced_before is not None:
            statement = statement.where(ISSUES.c.synced_at < synced_before)
        if among:
            statement = statement.where(_in_sets(ISSUES.c.key, among))
        for rows in self._paged(statement, ISSUES.c.key, size):
            yield [key for (key,) in rows]

    def _paged(
        self, statement: Select[Any], key: ColumnElement[str], size: int
    ) -> Iterator[Sequence[Any]]:
        """The rows of ``statement`` (``key`` first) by ``key``, ``size`` at a time, each page
        read in its own transaction."""
        after = ""
        while True:
            page = statement.where(key > after).order_by(key).limit(size)
            with self._begin() as connection:
                rows = connection.execute(page).all()
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = rows[-1][0]

    @contextmanager
    def _begin(self, write: bool = False) -> Iterator[Connection]:
        # Writes to the cache's own tables take SQLite's write lock upfront, as the Cache's
        # writer does; the temporary table alone needs no lock other connections see.
        self.connection.execution_options(**{WRITE_OPTION: write})
        with self.connection.begin():
            yield self.connection


class _IssueUpsert:
    """One batch of issues against what the cache holds of them."""

    def __init__(
        self,
        connection: Connection,
        records: Sequence[IssueRecord],
        now: datetime,
        out_of_scope: Collection[str] = (),
    ):
        self.connection = connection
        self.now = now
        self.records = list({record.id: record for record in records}.values())  # last wins
        self.ids = [record.id for record in self.records]
        self.out_of_scope = set(out_of_scope)

    def run(self) -> UpsertCounts:
        if not self.records:
            return UpsertCounts(0, 0, 0, 0)
        stored = self._stored_issues()
        self._drop_reused_keys(stored)
        transitions = self._missing_history(TRANSITIONS, TRANSITION_FIELDS, "transitions", stored)
        field_changes = self._missing_history(
            FIELD_CHANGES, FIELD_CHANGE_FIELDS, "field_changes", stored
        )
        relinked = self._changed_links(stored)
        rows = [self._row(record, stored.get(record.id)) for record in self.records]
        written = [r for r in rows if r["id"] not in stored or _differs(r, stored[r["id"]])]
        self._write_issues(written, stored.keys() - {r["id"] for r in written})
        self._insert_history(TRANSITIONS, transitions)
        self._insert_history(FIELD_CHANGES, field_changes)
        self._replace_links(relinked, stored)
        touched = {r["id"] for r in written} | relinked
        touched |= {row["issue_id"] for row in transitions + field_changes}
        moved = (relinked & stored.keys()) | {
            r["id"] for r in written if r["id"] in stored and _moved(r, stored[r["id"]])
        }
        keys = {record.id: record.key for record in self.records}
        changes = [(keys[i], i not in stored, i in moved) for i in sorted(touched)]
        _queue_changes(self.connection, self.now, changes)
        new, updated = len(self.ids) - len(stored), len(touched & stored.keys())
        marked = sum(
            1
            for row in rows
            if row["out_of_scope_at"] is not None
            and (stored.get(row["id"]) or {}).get("out_of_scope_at") is None
        )
        return UpsertCounts(new, updated, len(stored) - updated, len(transitions), marked)

    def _row(self, record: IssueRecord, stored: Mapping[str, Any] | None) -> dict[str, Any]:
        row = _issue_row(record, self.now)
        if record.key in self.out_of_scope:
            # The first moment it was noticed is the one kept, as ``_flag`` does.
            row["out_of_scope_at"] = (stored or {}).get("out_of_scope_at") or self.now
        return row

    def _drop_reused_keys(self, stored: Mapping[int, Mapping[str, Any]]) -> None:
        """Delete cached issues whose key Jira now gives to another issue (a project deleted
        and created again restarts its numbering); the unique key would refuse the new one."""
        # Only a new issue, or one whose key changed (moved), can take a key held by another.
        by_key = {
            r.key: r.id for r in self.records if r.id not in stored or stored[r.id]["key"] != r.key
        }
        batch = set(self.ids)
        stale: dict[int, str] = {}
        for chunk in chunks(sorted(by_key)):
            statement = select(Issue.id, Issue.key).where(Issue.key.in_(chunk))
            for issue_id, key in self.connection.execute(statement):
                if by_key[key] != issue_id and issue_id not in batch:
                    stale[issue_id] = key
        for ids in chunks(sorted(stale)):
            self.connection.execute(delete(Issue).where(Issue.id.in_(ids)))
        # The issue that held the key left the graph: a move, for the metrics.
        _queue_changes(self.connection, self.now, [(key, False, True) for key in stale.values()])

    def _stored_issues(self) -> dict[int, dict[str, Any]]:
        columns = [ISSUES.c[name] for name in ("id", *ISSUE_CONTENT, *_FLAGS)]
        stored: dict[int, dict[str, Any]] = {}
        for chunk in chunks(self.ids):
            statement = select(*columns).where(ISSUES.c.id.in_(chunk))
            for row in self.connection.execute(statement).mappings():
                stored[row["id"]] = dict(row)
        return stored

    def _missing_history(
        self, table: Table, fields: Sequence[str], attribute: str, stored: Mapping[int, Any]
    ) -> list[dict[str, Any]]:
        """History rows of the batch that the cache lacks (history rows never change)."""
        have = set(_history_keys(self.connection, table, [i for i in self.ids if i in stored]))
        missing: dict[HistoryKey, dict[str, Any]] = {}
        for record in self.records:
            for item in getattr(record, attribute):
                key = (record.id, item.history_id, item.item_index)
                if key not in have:
                    missing[key] = {"issue_id": record.id, **{f: getattr(item, f) for f in fields}}
        return list(missing.values())

    def _changed_links(self, stored: Mapping[int, Any]) -> set[int]:
        """Ids of the issues whose links differ from the cached ones."""
        have: dict[int, dict[LinkKey, tuple[str, str]]] = {}
        columns = [LINKS.c[name] for name in ("issue_id", *LINK_FIELDS)]
        for chunk in chunks([i for i in self.ids if i in stored]):
            statement = select(*columns).where(LINKS.c.issue_id.in_(chunk))
            for issue_id, link_id, direction, type_name, other_key in self.connection.execute(
                statement
            ):
                have.setdefault(issue_id, {})[(link_id, direction)] = (type_name, other_key)
        return {r.id for r in self.records if _links_of(r) != have.get(r.id, {})}

    def _write_issues(self, rows: list[dict[str, Any]], unchanged: Collection[int]) -> None:
        if rows:
            statement = _insert(self.connection, ISSUES)
            refreshed = (*ISSUE_CONTENT, "synced_at", *_FLAGS)  # first_seen_at stays
            statement = statement.on_conflict_do_update(
                index_elements=["id"], set_=_excluded(statement, refreshed)
            )
            self.connection.execute(statement, rows)
        # Rows not rewritten were still seen: only their bookkeeping moves.
        for chunk in chunks(sorted(unchanged)):
            self.connection.execute(
                update(ISSUES).where(ISSUES.c.id.in_(chunk)).values(synced_at=self.now)
            )

    def _insert_history(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if rows:
            # DO NOTHING: a concurrent writer may have stored the same history meanwhile.
            statement = _insert(self.connection, table).on_conflict_do_nothing()
            self.connection.execute(statement, rows)

    def _replace_links(self, relinked: set[int], stored: Mapping[int, Any]) -> None:
        for chunk in chunks(sorted(relinked & stored.keys())):
            self.connection.execute(delete(LINKS).where(LINKS.c.issue_id.in_(chunk)))
        rows = [
            {"issue_id": r.id, **dict(zip(LINK_FIELDS, (*key, *value), strict=True))}
            for r in self.records
            if r.id in relinked
            for key, value in sorted(_links_of(r).items())
        ]
        if rows:
            self.connection.execute(LINKS.insert(), rows)


_FLAGS = ("deleted_at", "out_of_scope_at")
# What places an issue in the graph (links aside): other issues name it by key; a flag takes
# it out of the graph or brings it back.
_PLACE = ("key", "parent_key", "epic_link_key", "parent_link_key", *_FLAGS)


def _issue_row(record: IssueRecord, now: datetime) -> dict[str, Any]:
    row: dict[str, Any] = {"id": record.id}
    row.update((name, getattr(record, name)) for name in ISSUE_CONTENT)
    row["labels"] = list(record.labels)
    row["fix_versions"] = [
        {
            "name": v.name,
            "released": v.released,
            "release_date": v.release_date.isoformat() if v.release_date else None,
        }
        for v in record.fix_versions
    ]
    row.update(first_seen_at=now, synced_at=now, deleted_at=None, out_of_scope_at=None)
    return row


def _differs(row: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Whether writing ``row`` changes a stored value (a flag cleared counts)."""
    return any(row[name] != stored[name] for name in (*ISSUE_CONTENT, *_FLAGS))


def _moved(row: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    """Whether writing ``row`` changes where the issue hangs in the graph."""
    return any(row[name] != stored[name] for name in _PLACE)


def _links_of(record: IssueRecord) -> dict[LinkKey, tuple[str, str]]:
    """(type name, other key) by primary key; a link sent twice is stored once."""
    return {(x.link_id, x.direction): (x.type_name, x.other_key) for x in record.links}


def _history_keys(connection: Connection, table: Table, ids: list[int]) -> Iterable[HistoryKey]:
    columns = (table.c.issue_id, table.c.history_id, table.c.item_index)
    for chunk in chunks(ids):
        statement = select(*columns).where(table.c.issue_id.in_(chunk))
        # Plain tuples: they are compared with keys built from the records.
        yield from (tuple(row) for row in connection.execute(statement))


def _insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which has ON CONFLICT; both backends share its API."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _excluded(
    statement: postgresql.Insert | sqlite.Insert, names: Iterable[str]
) -> dict[str, ColumnElement[Any]]:
    return {name: statement.excluded[name] for name in names}


def _flag(connection: Connection, column: Any, keys: Collection[str], now: datetime) -> int:
    """Set a flag timestamp where unset: the first time it was noticed is the one kept. A
    flagged issue leaves the graph: a change, and a move, for the metrics."""
    flagged = 0
    for chunk in chunks(sorted(set(keys))):
        unflagged = select(Issue.key).where(Issue.key.in_(chunk), column.is_(None))
        found = sorted(connection.scalars(unflagged))
        if found:
            connection.execute(update(Issue).where(Issue.key.in_(found)).values({column: now}))
            _queue_changes(connection, now, [(key, False, True) for key in found])
        flagged += len(found)
    return flagged


def _queue_changes(
    connection: Connection,
    now: datetime,
    issues: Sequence[tuple[str, bool, bool]] = (),
    mappings: Sequence[str] = (),
) -> None:
    """Queue changes for the metrics (``PendingChange``): issues as (key, new, moved), and
    mappings whose membership changed. In the caller's transaction, with the change itself."""
    rows = [
        {"issue_key": key, "mapping_key": None, "new": new, "moved": moved, "noticed_at": now}
        for key, new, moved in issues
    ]
    rows += [
        {"issue_key": None, "mapping_key": key, "new": False, "moved": False, "noticed_at": now}
        for key in mappings
    ]
    if rows:
        connection.execute(insert(PENDING), rows)


def _open_members(session: Session, mapping_key: str) -> set[str]:
    return set(session.scalars(_open_member_keys(mapping_key)))


def _run_info(run: SyncRun) -> SyncRunInfo:
    return SyncRunInfo(
        id=run.id,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        full=run.full,
        counts=dict(run.counts),
        requests=dict(run.requests),
        retries=dict(run.retries),
        error=run.error,
    )


def _live() -> ColumnElement[bool]:
    return Issue.deleted_at.is_(None) & Issue.out_of_scope_at.is_(None)


PARENT_COLUMNS = (ISSUES.c.parent_key, ISSUES.c.epic_link_key, ISSUES.c.parent_link_key)


def _child_of(parents: Sequence[str]) -> ColumnElement[bool]:
    """A live issue whose parent, Epic Link or Parent Link is among ``parents``. (A WHERE it
    is: SQLite reads ``INSERT ... SELECT ... ON CONFLICT`` only with one.)"""
    return _live() & or_(*(column.in_(parents) for column in PARENT_COLUMNS))


def _in_sets(key: ColumnElement[str], tags: Sequence[str]) -> Exists:
    """Whether ``key`` is in one of the run's sets ``tags``: EXISTS probes the table's primary
    key row by row, where NOT IN would gather a whole set again for every chunk read."""
    sets = RUN_KEYS.alias()
    return exists().where(sets.c.tag.in_(tags), sets.c.key == key)


def _join_listed(mapping_key: str, tag: str, now: datetime) -> Any:
    """Open spans for the keys of the set ``tag`` that the mapping has no open span for."""
    spans = _table(Membership)
    newcomers = select(
        literal(mapping_key, String()), RUN_KEYS.c.key, literal(now, UTCDateTime())
    ).where(RUN_KEYS.c.tag == tag, RUN_KEYS.c.key.not_in(_open_member_keys(mapping_key)))
    joined = insert(spans).from_select(["mapping_key", "issue_key", "joined_at"], newcomers)
    # SQLAlchemy keeps an INSERT's rowcount only when asked (psycopg's is gone otherwise).
    return joined.execution_options(preserve_rowcount=True)


def _leave_unlisted(mapping_key: str, tag: str, now: datetime) -> Any:
    """Close the mapping's open spans of keys the set ``tag`` lacks."""
    return (
        update(Membership)
        .where(Membership.mapping_key == mapping_key, Membership.left_at.is_(None))
        .where(~_in_sets(_table(Membership).c.issue_key, [tag]))
        .values(left_at=now)
    )


def _open_member_keys(mapping_key: str) -> Select[Any]:
    return select(Membership.issue_key).where(
        Membership.mapping_key == mapping_key, Membership.left_at.is_(None)
    )


def _level_of(levels: Mapping[str, int]) -> ColumnElement[int]:
    """``Hierarchy.level_of`` in SQL, over ``issues`` outer-joined (NULL columns: level 0)."""
    by_shape: ColumnElement[int] = case((ISSUES.c.subtask.is_(True), -1), else_=0)
    by_type = case(dict(levels), value=ISSUES.c.issuetype, else_=by_shape) if levels else by_shape
    return func.coalesce(ISSUES.c.hierarchy_level, by_type)


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _subtree_query(roots: Sequence[str]) -> Any:
    """Keys below ``roots`` (and the cached roots), walked in the database by a recursive CTE,
    so the issues table never has to fit in memory. UNION, not UNION ALL, ends loops."""
    live = _live()
    # Seeded with the roots' children too: a root need not be cached for its children to be.
    seed = select(Issue.key).where(
        live,
        or_(
            Issue.key.in_(roots),
            Issue.parent_key.in_(roots),
            Issue.epic_link_key.in_(roots),
            Issue.parent_link_key.in_(roots),
        ),
    )
    tree = seed.cte("tree", recursive=True)
    child = (
        select(Issue.key)
        .join(
            tree,
            or_(
                Issue.parent_key == tree.c.key,
                Issue.epic_link_key == tree.c.key,
                Issue.parent_link_key == tree.c.key,
            ),
        )
        .where(live)
    )
    tree = tree.union(child)
    return select(tree.c.key)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
