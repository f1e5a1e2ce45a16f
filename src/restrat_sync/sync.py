"""One sync cycle: Jira -> cache, incrementally, and safe to kill at any moment.

What is synced is the union of the themes' and key results' JQL, the optional scope JQL, and
the descendants of the theme anchors (children through ``parent``, Epic Link and Parent Link,
until the hierarchy is closed).

- **Membership**: each theme and key-result JQL is listed key-only at every sync, and the cache
  keeps when each key joined and left.
- **Full sync** (``--full``, or an empty cache): every issue is fetched once, with its
  fields and its complete changelog, in ``key in (...)`` chunks or straight from the scope query.
  Issues that no listing returns any more are reconciled: marked deleted when Jira no longer
  has them, out of scope otherwise.
- **Incremental sync**: mappings that share a watermark share one query,
  ``(m1) OR (m2) ... AND updated >= <watermark - overlap> ORDER BY updated ASC, key ASC``, with
  the watermark in epoch milliseconds (JQL would read a wall-clock date in the Jira user's time
  zone); a mapping without a watermark yet (new in the config) is fetched whole by its query.
  Descendants outside the scope are found by chunked parent queries.

Crash safety: every page is written in one transaction together with the watermark it
justifies, and upserts are idempotent, so a killed sync that is run again converges to the cache
a clean sync produces. A watermark never passes Jira's clock at the start of the sync: an issue
changed while a sync runs is read again by the next one. On Data Center, offset paging can skip
an issue when another moves during paging; a pass counts only when it received ``total``
distinct issues, else its watermark stays put. What a killed sync wrote is found by time, not
by a record of the run: parents new to the tree are those written or joined after the start of
the last complete walk, and the status catalogue is checked against every issue written after
the last check.

Convergence: the tree is walked through live issues only; issues out of scope whose cached
parent is in the tree are fetched again, and come back when they belong to it; reconciliation
fetches what it marks, so a moved issue keeps its current parent, and lets the issues below it
follow it out.

Memory: the sets of keys a run works with (listings, the hierarchy walk, what reconciliation
compares) live in the run's key sets (``RunKeys``, a temporary table) and are read back in
chunks, so peak memory follows the page and chunk sizes, not the size of the portfolio.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.store import RunKeys
from restrat_sync.config import LoadedConfig, Mapping
from restrat_sync.errors import ConfigError
from restrat_sync.http import RetryingSession, StatsSnapshot
from restrat_sync.jira import FieldIds, JiraAnswered, JiraGateway, connect_jira, discover_fields
from restrat_sync.jira.extract import parse_jira_timestamp
from restrat_sync.jira.gateway import IssuePage
from restrat_sync.jira.jql import incremental_jql, key_chunks_jql
from restrat_sync.jira.records import IssueRecord
from restrat_sync.settings import Settings, jira_credentials

log = logging.getLogger(__name__)

DETAIL_CHUNK = 100  # `key in (...)` chunk: one Cloud page once fields are asked for
PARENT_CHUNK = 1000  # parents per descendant query: about 9 KB of JQL in a POST body
# Data Center pages with fields carry whole changelogs, so a 1,000-issue page can hold tens of
# MB; 250 bounds that at a few more requests (key-only listings keep 1,000).
DC_DETAIL_PAGE = 250
DESCENDANTS = "descendants"  # sync_state key of the descendant queries' watermark
RECONCILED = "reconciled"  # sync_state key: when the last reconciliation ran (epoch ms)
STATUSES = "statuses"  # sync_state key: when the catalogue was last checked against the issues
_ISSUE_KEY = re.compile(r"'([A-Z][A-Z0-9_]*-\d+)'")

ParentChunks = Iterator[list[tuple[str, int]]]  # (key, hierarchy level), PARENT_CHUNK at a time
Round = tuple[ParentChunks, int | None]  # parents, and since when their children changed (ms)

# The run's key sets (RunKeys, a temporary table): kept out of memory, gone when the run ends.
LISTED = "listed:"  # prefix of the sets of what a Jira listing returned in this run
BELOW = LISTED + "below"  # children the descendant queries returned
SCOPE_LISTED = LISTED + "scope"  # the scope, listed for an incremental reconciliation
TREE = "tree"  # the hierarchy being walked: its roots and the cached issues below them
CHANGED = "changed"  # issues of the tree written in this run or newly joined to a theme
QUERIED = "queried"  # parents already asked for their children
FOUND = "found"  # children found in the current round of the walk
PAGED = "paged"  # distinct keys of one Data Center paging pass


@dataclass
class SyncCounts:
    issues_new: int = 0
    issues_updated: int = 0
    issues_unchanged: int = 0
    issues_deleted: int = 0
    issues_out_of_scope: int = 0
    transitions_added: int = 0
    memberships_joined: int = 0
    memberships_left: int = 0
    pages: int = 0
    changelog_requests: int = 0

    @property
    def issues_seen(self) -> int:
        return self.issues_new + self.issues_updated + self.issues_unchanged


@dataclass
class SyncSummary:
    full: bool
    reconciled: bool
    counts: SyncCounts
    requests: dict[str, int]
    retries: dict[str, int]
    seconds: float
    full_reason: str | None = None  # why a full sync ran although none was asked for

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
            "full_reason": self.full_reason,
            "reconciled": self.reconciled,
            **asdict(self.counts),
            "requests_total": sum(self.requests.values()),
            "requests": dict(sorted(self.requests.items())),
            "retries": dict(sorted(self.retries.items())),
            "seconds": round(self.seconds, 3),
        }


class SyncObserver(Protocol):
    """Progress reporting: a bar on a terminal, log lines elsewhere."""

    def phase(self, text: str) -> None: ...

    def advanced(self, counts: SyncCounts) -> None: ...


class SilentObserver:
    def phase(self, text: str) -> None:
        log.debug("sync: %s", text)

    def advanced(self, counts: SyncCounts) -> None:
        return None


@dataclass
class SyncOptions:
    full: bool = False
    reconcile: bool | None = None  # None: when due (full syncs always reconcile)
    reconcile_every: timedelta = timedelta(hours=24)


@dataclass
class _Pass:
    """Bookkeeping of one sync run."""

    jira_start_ms: int
    now: datetime
    keys: RunKeys  # the run's key sets
    missing: set[str] = field(default_factory=set)  # keys Jira said do not exist


class Syncer:
    """Runs sync cycles of one config against one Jira and one cache."""

    def __init__(
        self,
        loaded: LoadedConfig,
        gateway: JiraGateway,
        cache: Cache,
        fields: FieldIds,
        observer: SyncObserver | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        counted_from: StatsSnapshot | None = None,
    ) -> None:
        """``counted_from``: the gateway's request counts before connecting, so that the first
        run also counts the requests that connecting sent (serverInfo, the field list)."""
        self.loaded = loaded
        self.config = loaded.config
        self.gateway = gateway
        self.cache = cache
        self.fields = fields
        self.observer = observer or SilentObserver()
        self.clock = clock
        self.overlap_ms = self.config.sync.overlap_minutes * 60_000
        self.counts = SyncCounts()
        self._counted_from = counted_from

    # --- the cycle -----------------------------------------------------------------------------

    def run(self, options: SyncOptions | None = None) -> SyncSummary:
        options = options or SyncOptions()
        full_reason = None
        if not options.full and self.cache.is_empty():
            # Every mapping would be fetched whole anyway; a full sync also reconciles and
            # stores the status catalogue, and says what it is doing.
            full_reason = "the cache is empty"
            log.info("the cache is empty: doing a full sync")
            options = replace(options, full=True)
        started = time.monotonic()
        self.counts = SyncCounts()
        stats = self.gateway.stats
        # Every request this run made, like Jira counts them: the first run's include connecting.
        before = self._counted_from or stats.snapshot()
        self._counted_from = None
        requests_before, retries_before = before.requests, before.retries
        run_id = self.cache.start_run(options.full, self.clock())
        reconciled = False
        try:
            reconciled = self._cycle(options)
        except BaseException as exc:
            self._finish(run_id, "failed", requests_before, retries_before, _describe(exc))
            raise
        self._finish(run_id, "ok", requests_before, retries_before, None)
        return SyncSummary(
            full=options.full,
            reconciled=reconciled,
            counts=self.counts,
            requests=_delta(stats.requests, requests_before),
            retries=_delta(stats.retries, retries_before),
            seconds=time.monotonic() - started,
            full_reason=full_reason,
        )

    def _cycle(self, options: SyncOptions) -> bool:
        now = self.clock()
        self.gateway.session.last_server_time = None
        with self.cache.run_keys() as keys:
            # The listings come first: Jira's clock on their answers bounds every later watermark.
            self._memberships(keys, now)
            run = _Pass(jira_start_ms=self._jira_clock_ms(), now=now, keys=keys)
            if options.full:
                self._full_fetch(run)
            else:
                self._incremental_fetch(run)
            self._close_hierarchy(run, full=options.full)
            reconcile = options.full or self._reconcile_due(options, run)
            if reconcile:
                self._reconcile(run, options.full)
        self._mark_missing(run)
        self._check_statuses(run, options.full)
        return reconcile

    # --- phases --------------------------------------------------------------------------------

    def _check_statuses(self, run: _Pass, full: bool) -> None:
        """Store Jira's status catalogue on a full sync, and whenever an issue written since
        the last check names a status the catalogue lacks; then note the check.

        Written since the last check, not in this run: a sync killed after its pages and
        watermarks were stored, before its catalogue, wrote issues that no later sync fetches
        again, and the next one must still see what they name."""
        checked = self.cache.watermark_set_at(STATUSES)
        statuses = None
        if full or self.cache.lacks_statuses(written_after=checked):
            statuses = self.gateway.status_records()
        with self.cache.transaction() as session:
            if statuses is not None:
                self.cache.upsert_statuses(session, statuses)
            self.cache.set_watermark(session, STATUSES, _ms(run.now), run.now)

    def _memberships(self, keys: RunKeys, now: datetime) -> None:
        """List every tracked mapping key-only into the run's key sets, then record who joined
        and who left, in one transaction."""
        for mapping in self._tracked():
            self.observer.phase(f"listing {mapping.label}")
            # One listing in memory at a time (the gateway returns it whole); the sets of all
            # of them live in the database.
            keys.add(_listed(mapping.key), self.gateway.list_keys(mapping.jql.query))
        listings = {mapping.key: _listed(mapping.key) for mapping in self._tracked()}
        change = keys.record_memberships(listings, now)
        self.counts.memberships_joined += change.joined
        self.counts.memberships_left += change.left

    def _full_fetch(self, run: _Pass) -> None:
        scope = self._scope()
        if scope is not None:
            self.observer.phase("fetching the sync scope")
            pages = self._fetch(incremental_jql(scope.jql.query, None))
            self._store_pages(run, pages, watermark_keys=())
        self._fetch_listed(run, synced_since=run.now)
        self._advance(run, [mapping.key for mapping in self.loaded.mappings()])

    def _incremental_fetch(self, run: _Pass) -> None:
        for since, mappings in self._watermark_groups().items():
            labels = ", ".join(m.label for m in mappings)
            self.observer.phase(f"fetching changes ({labels})")
            query = " OR ".join(f"({m.jql.query})" for m in mappings)
            from_ms = None if since is None else max(0, since - self.overlap_ms)
            self._fetch_changes(run, incremental_jql(query, from_ms), [m.key for m in mappings])
        # Members that no change query returned (the JQL itself changed, say) still need data.
        self._fetch_listed(run)

    def _fetch_listed(self, run: _Pass, synced_since: datetime | None = None) -> None:
        """Fetch the listed members the cache lacks; with ``synced_since``, those this run has
        not written yet (a full sync: the scope query brought the others)."""
        tags = [_listed(mapping.key) for mapping in self._tracked()]
        for number, chunk in enumerate(run.keys.unfetched(tags, DETAIL_CHUNK, synced_since)):
            if number == 0:
                self.observer.phase("fetching listed issues by key")
            self._fetch_chunk(run, chunk)

    def _fetch_changes(self, run: _Pass, jql: str, keys: Sequence[str]) -> None:
        """Page a change query; advance the watermarks of ``keys`` as pages are stored."""
        if self.gateway.flavor == "cloud":
            self._store_pages(run, self._fetch(jql), keys)
            self._advance(run, keys)
            return
        # Data Center pages by offset: only a pass that saw `total` distinct issues is sure.
        for _ in range(3):
            run.keys.clear(PAGED)
            total: int | None = None
            for page in self._fetch(jql):
                self._store_pages(run, [page], watermark_keys=())
                run.keys.add(PAGED, (record.key for record in page.records))
                total = page.total
            seen = run.keys.count(PAGED)
            if total is None or seen >= total:
                self._advance(run, keys)
                return
            log.warning("issues moved while paging %d of %d; reading again", seen, total)
        log.warning("watermark kept: Jira kept changing during this sync")

    def _close_hierarchy(self, run: _Pass, full: bool) -> None:
        """Fetch the descendants of the theme anchors outside the scope until the hierarchy is
        closed; the children Jira listed go to the set BELOW."""
        since = None if full else self.cache.watermark(DESCENDANTS)
        walked = self.cache.watermark_set_at(DESCENDANTS)  # the start of the last whole walk
        from_ms = None if since is None else max(0, since - self.overlap_ms)
        run.keys.fill_tree(TREE, self._theme_tags())
        rounds: list[Round]
        if from_ms is None or walked is None:
            rounds = [(self._tree_parents(run, excluded=[QUERIED]), None)]
        else:
            if self._bring_back(run):
                run.keys.fill_tree(TREE, self._theme_tags())
            # A parent new to the tree since the last whole walk (re-parented into it, a newly
            # joined anchor, an issue back in scope), written by this run or by one killed
            # before its walk ended, may bring children that have not changed for long: ask
            # for all of them.
            run.keys.fill_changed(CHANGED, TREE, walked, self._theme_keys())
            rounds = [
                (self._tree_parents(run, excluded=[CHANGED, QUERIED]), from_ms),
                (self._tree_parents(run, among=[CHANGED], excluded=[QUERIED]), None),
            ]
        self._walk(run, rounds, full)
        self._advance(run, [DESCENDANTS])

    def _walk(self, run: _Pass, rounds: list[Round], full: bool) -> None:
        """Ask the parents of ``rounds`` for their children, then those children for theirs,
        until no parent is left."""
        while self._walk_round(run, rounds, full):
            # Recompute from the cache: a new child may link back to issues already known.
            run.keys.fill_tree(TREE, [FOUND])
            rounds = [(self._tree_parents(run, excluded=[QUERIED]), None)]

    def _bring_back(self, run: _Pass) -> bool:
        """Fetch again the issues out of scope whose cached parent is in the tree: those whose
        parent still is are back in scope (an anchor rejoined its theme, a parent came back);
        the others keep their mark, with their current parent fields. Whether any came back.

        The tree is walked through live issues only, and these are not changed themselves,
        so no query by ``updated`` would return them."""
        back = False
        for chunk in run.keys.strays(TREE, DETAIL_CHUNK):
            self.observer.phase(f"checking {len(chunk)} issues out of scope below the tree")
            for page in self._tolerant_pages(run, lambda k: key_chunks_jql("key", k), chunk):
                inside = run.keys.among(TREE, {p for r in page.records for p in _parents(r) if p})
                outside = [r.key for r in page.records if not inside.intersection(_parents(r))]
                self._store_pages(run, [page], watermark_keys=(), out_of_scope=outside)
                back = back or len(outside) < len(page.records)
        return back

    def _walk_round(self, run: _Pass, rounds: list[Round], full: bool) -> bool:
        """Ask every chunk of parents of ``rounds`` for its children (into the set FOUND);
        whether any parent was left to ask."""
        run.keys.clear(FOUND)
        asked = False
        for parents, since_ms in rounds:
            for chunk in parents:  # read from the database a chunk at a time
                asked = True
                self.observer.phase(f"looking for descendants of {len(chunk)} issues")
                run.keys.add(QUERIED, (key for key, _ in chunk))
                self._children(run, chunk, since_ms, full)
        return asked

    def _tree_parents(
        self, run: _Pass, among: Sequence[str] = (), excluded: Sequence[str] = ()
    ) -> ParentChunks:
        """(key, level) of the tree's issues that can have children, in chunks of PARENT_CHUNK."""
        levels = self.config.hierarchy.levels
        return run.keys.parents(TREE, levels, PARENT_CHUNK, among=among, excluded=excluded)

    def _children(
        self, run: _Pass, parents: Sequence[tuple[str, int]], from_ms: int | None, full: bool
    ) -> None:
        """Ask for the children of one chunk of (parent, level); note them in FOUND and BELOW."""
        levels = dict(parents)

        def children_jql(keys: Sequence[str]) -> str:
            return self._children_jql(keys, levels, from_ms)

        keys = [key for key, _ in parents]
        if full:
            listed = self._tolerant_keys(run, children_jql, keys)
            self._note_found(run, listed)
            self._fetch_keys(run, listed - self.cache.keys_among(listed, run.now))
            return
        for page in self._tolerant_pages(run, children_jql, keys):
            self._store_pages(run, [page], watermark_keys=())
            self._note_found(run, [record.key for record in page.records])

    def _note_found(self, run: _Pass, keys: Collection[str]) -> None:
        run.keys.add(FOUND, keys)
        run.keys.add(BELOW, keys)

    def _children_jql(
        self, parents: Sequence[str], levels: dict[str, int], since_ms: int | None
    ) -> str:
        clauses = self._parent_clauses(parents, levels)
        scope = self._scope()
        # Children inside the scope arrive through the scope's own query.
        where = f"({' OR '.join(clauses)})"
        if scope is not None:
            where += f" AND NOT ({scope.jql.query})"
        return incremental_jql(where, since_ms)

    def _parent_clauses(self, parents: Sequence[str], levels: dict[str, int]) -> list[str]:
        if self.gateway.flavor == "cloud":
            return [key_chunks_jql("parent", parents)]
        # Data Center links each level through a different field.
        by_field: dict[str, list[str]] = {}
        for key in parents:
            level = levels.get(key, 0)
            name = '"Epic Link"' if level == 1 else '"Parent Link"' if level >= 2 else "parent"
            by_field.setdefault(name, []).append(key)
        return [key_chunks_jql(name, keys) for name, keys in sorted(by_field.items())]

    # --- reconciliation ------------------------------------------------------------------------

    def _reconcile_due(self, options: SyncOptions, run: _Pass) -> bool:
        if options.reconcile is not None:
            return options.reconcile
        last = self.cache.watermark(RECONCILED)
        due_ms = int(options.reconcile_every.total_seconds() * 1000)
        return last is None or _ms(run.now) - last >= due_ms

    def _reconcile(self, run: _Pass, full: bool) -> None:
        """Bring back listed issues the cache holds as out of scope; mark cached issues that
        nothing selects any more: deleted, or out of scope."""
        if not full:
            self._list_the_rest(run)
            self._fetch_returning(run)
        self.observer.phase("reconciling the cache with Jira")
        # After a full sync only the issues this run did not write can be gone.
        self._mark_unlisted(run, self._listed_tags(), synced_before=run.now if full else None)
        # The children listed below a parent that has just left the tree (a story moved out
        # of it) follow it out. The tree is read again from the cache, whose parent fields the
        # marking brought up to date, until no more issues leave.
        kept = [*(_listed(m.key) for m in self._tracked()), SCOPE_LISTED, TREE]
        while True:
            self._mark_missing(run)  # a deleted parent holds no tree together
            run.keys.fill_tree(TREE, self._theme_tags())
            if not self._mark_unlisted(run, kept, among=[BELOW]):
                break
        with self.cache.transaction() as session:
            self.cache.set_watermark(session, RECONCILED, _ms(run.now), run.now)

    def _mark_unlisted(
        self,
        run: _Pass,
        listed_tags: Sequence[str],
        synced_before: datetime | None = None,
        among: Sequence[str] = (),
    ) -> bool:
        """Mark out of scope the live cached issues in none of the sets ``listed_tags``; with
        ``synced_before``, only those no sync wrote since; with ``among``, only those in one
        of these sets. Whether any was marked."""
        marked = self.counts.issues_out_of_scope
        for chunk in run.keys.unlisted(listed_tags, PARENT_CHUNK, synced_before, among):
            gone = [key for key in chunk if key not in run.missing]
            # Fetched by key, not only listed: Jira names the deleted ones, and the others are
            # stored with their current fields as they are marked, so that a story moved out
            # of the tree no longer names its old epic in the cache.
            pages = self._tolerant_pages(run, lambda keys: key_chunks_jql("key", keys), gone)
            self._store_pages(run, pages, watermark_keys=(), out_of_scope=gone)
        return self.counts.issues_out_of_scope > marked

    def _fetch_returning(self, run: _Pass) -> None:
        """Fetch the listed issues the cache lacks as live ones: back in scope with nothing
        the change queries or the walk saw (the scope's JQL was widened, say)."""
        for chunk in run.keys.unfetched([SCOPE_LISTED, BELOW], DETAIL_CHUNK):
            self._fetch_chunk(run, chunk)

    def _list_the_rest(self, run: _Pass) -> None:
        """List what an incremental sync's queries did not: the scope whole, and every child of
        the tree's parents (not only changed ones). A full sync wrote all of that in this run."""
        scope = self._scope()
        if scope is not None:
            run.keys.add(SCOPE_LISTED, self.gateway.list_keys(scope.jql.query))
        run.keys.fill_tree(TREE, self._theme_tags())
        for chunk in self._tree_parents(run):
            levels = dict(chunk)

            def children_jql(keys: Sequence[str], levels: dict[str, int] = levels) -> str:
                return self._children_jql(keys, levels, None)

            keys = [key for key, _ in chunk]
            run.keys.add(BELOW, self._tolerant_keys(run, children_jql, keys))

    def _mark_missing(self, run: _Pass) -> None:
        """Mark deleted the issues Jira said do not exist. First fetch again the cached
        children they leave: Jira clears their parent without a change their ``updated``
        shows, and once the parent is marked nothing would point at them any more."""
        if not run.missing:
            return
        self._fetch_keys(run, self.cache.children_of(run.missing))
        with self.cache.transaction() as session:
            self.counts.issues_deleted += self.cache.mark_deleted(session, run.missing, run.now)

    # --- fetching and storing ------------------------------------------------------------------

    def _fetch(self, jql: str) -> Iterator[IssuePage]:
        """Search pages with fields and complete changelogs; Data Center's are DC_DETAIL_PAGE."""
        size = DC_DETAIL_PAGE if self.gateway.flavor == "datacenter" else None
        return self.gateway.fetch_issues(jql, self.fields, page_size=size)

    def _fetch_keys(self, run: _Pass, keys: Collection[str]) -> None:
        if not keys:
            return
        self.observer.phase(f"fetching {len(keys)} issues by key")
        for chunk in _chunks(sorted(keys), DETAIL_CHUNK):
            self._fetch_chunk(run, chunk)

    def _fetch_chunk(self, run: _Pass, keys: Sequence[str]) -> None:
        pages = self._tolerant_pages(run, lambda k: key_chunks_jql("key", k), keys)
        self._store_pages(run, pages, watermark_keys=())

    def _store_pages(
        self,
        run: _Pass,
        pages: Iterable[IssuePage],
        watermark_keys: Sequence[str],
        out_of_scope: Collection[str] = (),
    ) -> None:
        """Write each page in one transaction with the watermarks it justifies; the issues
        whose keys are in ``out_of_scope`` are written marked out of scope."""
        for page in pages:
            self.counts.pages += 1
            self.counts.changelog_requests += page.changelog_requests
            newest = _max_updated_ms(page.records)
            with self.cache.transaction() as session:
                upserted = self.cache.upsert_issues(session, page.records, run.now, out_of_scope)
                if newest is not None:
                    mark = min(newest, run.jira_start_ms)
                    for key in watermark_keys:
                        self.cache.set_watermark(session, key, mark, run.now)
            self._count(upserted)
            self.observer.advanced(self.counts)

    def _advance(self, run: _Pass, keys: Sequence[str]) -> None:
        """After a complete pass: every issue updated before the sync started was seen."""
        with self.cache.transaction() as session:
            for key in keys:
                self.cache.set_watermark(session, key, run.jira_start_ms, run.now)

    def _tolerant_pages(
        self, run: _Pass, make_jql: Callable[[Sequence[str]], str], keys: Sequence[str]
    ) -> Iterator[IssuePage]:
        """Pages of ``make_jql(keys)``; keys Jira says do not exist are dropped and noted."""
        remaining = list(keys)
        while remaining:
            try:
                yield from self._fetch(make_jql(remaining))
                return
            except JiraAnswered as answer:
                remaining = self._drop_missing(run, answer, remaining)

    def _tolerant_keys(
        self, run: _Pass, make_jql: Callable[[Sequence[str]], str], keys: Sequence[str]
    ) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(keys, PARENT_CHUNK):
            remaining = list(chunk)
            while remaining:
                try:
                    found |= set(self.gateway.list_keys(make_jql(remaining)))
                    break
                except JiraAnswered as answer:
                    remaining = self._drop_missing(run, answer, remaining)
        return found

    def _drop_missing(self, run: _Pass, answer: JiraAnswered, keys: list[str]) -> list[str]:
        # Jira refuses a whole query that names a deleted issue ("An issue with key 'PAY-9'
        # does not exist for field 'key'."): drop the named keys and ask again.
        named = {key for message in answer.messages for key in _ISSUE_KEY.findall(message)}
        missing = named & set(keys)
        if answer.status != 400 or not missing:
            raise answer
        run.missing |= missing
        return [key for key in keys if key not in missing]

    # --- helpers -------------------------------------------------------------------------------

    def _count(self, upserted: Any) -> None:
        self.counts.issues_new += upserted.new
        self.counts.issues_updated += upserted.updated
        self.counts.issues_unchanged += upserted.unchanged
        self.counts.transitions_added += upserted.transitions_added
        self.counts.issues_out_of_scope += upserted.out_of_scope

    def _finish(
        self,
        run_id: int,
        outcome: str,
        requests_before: dict[str, int],
        retries_before: dict[str, int],
        error: str | None,
    ) -> None:
        stats = self.gateway.stats
        self.cache.finish_run(
            run_id,
            outcome,
            self.clock(),
            counts=asdict(self.counts),
            requests=_delta(stats.requests, requests_before),
            retries=_delta(stats.retries, retries_before),
            error=error,
        )

    def _jira_clock_ms(self) -> int:
        """Jira's clock at the start of the sync: watermarks never pass it. From the Date header
        of the first answers, else serverInfo.serverTime, else our own clock."""
        seen = self.gateway.session.last_server_time
        if seen is not None:
            return _ms(seen)
        server_time = self.gateway.server_info().get("serverTime")
        if isinstance(server_time, str):
            try:
                return _ms(parse_jira_timestamp(server_time))
            except ValueError:
                log.warning("unreadable serverTime %r; using the local clock", server_time)
        return _ms(self.clock())

    def _watermark_groups(self) -> dict[int | None, list[Mapping]]:
        marks = self.cache.watermarks()
        groups: dict[int | None, list[Mapping]] = {}
        for mapping in self.loaded.mappings():
            groups.setdefault(marks.get(mapping.key), []).append(mapping)
        return groups

    def _tracked(self) -> list[Mapping]:
        return [m for m in self.loaded.mappings() if m.key != "scope"]

    def _theme_keys(self) -> list[str]:
        return [m.key for m in self._tracked() if m.key.startswith("theme:")]

    def _theme_tags(self) -> list[str]:
        """The sets holding the theme listings: the anchors of the hierarchy."""
        return [_listed(key) for key in self._theme_keys()]

    def _listed_tags(self) -> list[str]:
        """Every set of keys a Jira listing returned in this run."""
        return [*(_listed(m.key) for m in self._tracked()), BELOW, SCOPE_LISTED]

    def _scope(self) -> Mapping | None:
        return next((m for m in self.loaded.mappings() if m.key == "scope"), None)


def _listed(mapping_key: str) -> str:
    """The name of the set holding a mapping's listing."""
    return LISTED + mapping_key


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _parents(record: IssueRecord) -> tuple[str | None, str | None, str | None]:
    return record.parent_key, record.epic_link_key, record.parent_link_key


def _max_updated_ms(records: Sequence[IssueRecord]) -> int | None:
    return max((_ms(record.updated) for record in records), default=None)


def _delta(after: Any, before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in dict(after).items() if v - before.get(k, 0)}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# --- wiring and reporting ------------------------------------------------------------------------


def open_syncer(
    settings: Settings,
    loaded: LoadedConfig,
    session: RetryingSession,
    observer: SyncObserver | None = None,
) -> Syncer:
    """Connect to the configured Jira, discover its fields and open the cache."""
    cache = open_cache(settings.effective_database_url)
    return connect_syncer(settings, loaded, session, cache, observer)


def connect_syncer(
    settings: Settings,
    loaded: LoadedConfig,
    session: RetryingSession,
    cache: Cache,
    observer: SyncObserver | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Syncer:
    """A syncer into ``cache``: connect to the configured Jira and discover its fields. Its
    first run counts the requests of connecting too."""
    url = settings.jira_url or loaded.config.jira.url
    if not url:
        raise ConfigError(["RESTRAT_JIRA_URL is not set (nor jira.url in the config)"])
    before = session.stats.snapshot()
    gateway = connect_jira(url, jira_credentials(settings), session, loaded.config.jira.flavor)
    configured = loaded.config.jira.fields
    fields = discover_fields(
        gateway.fields(),
        FieldIds(configured.story_points, configured.epic_link, configured.parent_link),
    )
    if clock is None:
        return Syncer(loaded, gateway, cache, fields, observer, counted_from=before)
    return Syncer(loaded, gateway, cache, fields, observer, clock=clock, counted_from=before)


def options_for(loaded: LoadedConfig, full: bool) -> SyncOptions:
    hours = loaded.config.sync.reconcile_hours
    return SyncOptions(full=full, reconcile_every=timedelta(hours=hours))


def format_summary(summary: SyncSummary) -> list[str]:
    c = summary.counts
    kind = "full sync" if summary.full else "incremental sync"
    if summary.full_reason:
        kind += f" ({summary.full_reason})"
    lines = [
        f"{kind} finished in {summary.seconds:.1f} s"
        + (" (with reconciliation)" if summary.reconciled else ""),
        f"  issues: {c.issues_new} new, {c.issues_updated} updated, {c.issues_unchanged} "
        f"unchanged, {c.issues_deleted} deleted, {c.issues_out_of_scope} out of scope",
        f"  transitions added: {c.transitions_added}; theme and key-result membership: "
        f"{c.memberships_joined} joined, {c.memberships_left} left",
        f"  pages: {c.pages}; changelog completions: {c.changelog_requests}",
        f"  requests: {sum(summary.requests.values())}, retries: {sum(summary.retries.values())}",
    ]
    lines += [f"    {n:>6}  {endpoint}" for endpoint, n in sorted(summary.requests.items())]
    return lines
