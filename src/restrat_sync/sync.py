"""One sync cycle: Jira -> cache, incrementally, and safe to kill at any moment.

What is synced is the union of the themes' and key results' JQL, the optional scope JQL, and
the descendants of the theme anchors (children through ``parent``, Epic Link and Parent Link,
until the hierarchy is closed).

- **Membership**: each theme and key-result JQL is listed key-only at every sync, and the cache
  keeps when each key joined and left.
- **Full sync** (``--full``, or a mapping never synced): every issue is fetched once, with its
  fields and its complete changelog, in ``key in (...)`` chunks or straight from the scope query.
  Issues that no listing returns any more are reconciled: marked deleted when Jira no longer
  has them, out of scope otherwise.
- **Incremental sync**: mappings that share a watermark share one query,
  ``(m1) OR (m2) ... AND updated >= <watermark - overlap> ORDER BY updated ASC, key ASC``, with
  the watermark in epoch milliseconds (JQL would read a wall-clock date in the Jira user's time
  zone). Descendants outside the scope are found by chunked parent queries.

Crash safety: every page is written in one transaction together with the watermark it
justifies, and upserts are idempotent, so a killed sync that is run again converges to the cache
a clean sync produces. A watermark never passes Jira's clock at the start of the sync: an issue
changed while a sync runs is read again by the next one. On Data Center, offset paging can skip
an issue when another moves during paging; a pass counts only when it received ``total``
distinct issues, else its watermark stays put.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from restrat_sync.cache import Cache, open_cache
from restrat_sync.config import LoadedConfig, Mapping
from restrat_sync.errors import ConfigError
from restrat_sync.http import RetryingSession
from restrat_sync.jira import FieldIds, JiraAnswered, JiraGateway, connect_jira, discover_fields
from restrat_sync.jira.extract import parse_jira_timestamp
from restrat_sync.jira.gateway import IssuePage
from restrat_sync.jira.jql import incremental_jql, key_chunks_jql
from restrat_sync.jira.records import IssueRecord
from restrat_sync.settings import Settings, jira_credentials

log = logging.getLogger(__name__)

DETAIL_CHUNK = 100  # `key in (...)` chunk: one Cloud page once fields are asked for
PARENT_CHUNK = 1000  # parents per descendant query: about 9 KB of JQL in a POST body
DESCENDANTS = "descendants"  # sync_state key of the descendant queries' watermark
RECONCILED = "reconciled"  # sync_state key: when the last reconciliation ran (epoch ms)
_ISSUE_KEY = re.compile(r"'([A-Z][A-Z0-9_]*-\d+)'")


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "full": self.full,
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
    missing: set[str] = field(default_factory=set)  # keys Jira said do not exist
    status_ids: set[str] = field(default_factory=set)  # statuses the fetched issues name


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
    ) -> None:
        self.loaded = loaded
        self.config = loaded.config
        self.gateway = gateway
        self.cache = cache
        self.fields = fields
        self.observer = observer or SilentObserver()
        self.clock = clock
        self.overlap_ms = self.config.sync.overlap_minutes * 60_000
        self.counts = SyncCounts()

    # --- the cycle -----------------------------------------------------------------------------

    def run(self, options: SyncOptions | None = None) -> SyncSummary:
        options = options or SyncOptions()
        started = time.monotonic()
        self.counts = SyncCounts()
        stats = self.gateway.stats
        requests_before, retries_before = dict(stats.requests), dict(stats.retries)
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
        )

    def _cycle(self, options: SyncOptions) -> bool:
        now = self.clock()
        self.gateway.session.last_server_time = None
        # The listings come first: Jira's clock on their answers bounds every later watermark.
        members, joined = self._memberships(now)
        run = _Pass(jira_start_ms=self._jira_clock_ms(), now=now)
        known_statuses = self.cache.status_ids()
        anchors = self._anchors(members)
        if options.full:
            self._full_fetch(run, members)
        else:
            self._incremental_fetch(run, members)
        below = self._close_hierarchy(run, anchors, joined, full=options.full)
        reconcile = options.full or self._reconcile_due(options, run)
        if reconcile:
            self._reconcile(run, self._seen(run, members, below, options.full), options.full)
        self._mark_missing(run)
        if options.full or run.status_ids - known_statuses:
            self._store_statuses()  # the catalogue, refreshed when an unknown status shows up
        return reconcile

    # --- phases --------------------------------------------------------------------------------

    def _store_statuses(self) -> None:
        statuses = self.gateway.status_records()
        with self.cache.transaction() as session:
            self.cache.upsert_statuses(session, statuses)

    def _memberships(self, now: datetime) -> tuple[dict[str, set[str]], set[str]]:
        """List every tracked mapping key-only and record who joined and who left; return the
        members by mapping and the keys that joined a theme."""
        members: dict[str, set[str]] = {}
        joined: set[str] = set()
        for mapping in self._tracked():
            self.observer.phase(f"listing {mapping.label}")
            members[mapping.key] = set(self.gateway.list_keys(mapping.jql.query))
        with self.cache.transaction() as session:
            for key, keys in members.items():
                change = self.cache.record_membership(session, key, keys, now)
                self.counts.memberships_joined += len(change.joined)
                self.counts.memberships_left += len(change.left)
                if key.startswith("theme:"):
                    joined.update(change.joined)
        return members, joined

    def _full_fetch(self, run: _Pass, members: dict[str, set[str]]) -> None:
        scope = self._scope()
        if scope is not None:
            self.observer.phase("fetching the sync scope")
            self._store_pages(
                run,
                self.gateway.fetch_issues(incremental_jql(scope.jql.query, None), self.fields),
                watermark_keys=(),
            )
        wanted = set().union(*members.values()) if members else set()
        self._fetch_keys(run, wanted - self.cache.keys_among(wanted, synced_since=run.now))
        self._advance(run, [mapping.key for mapping in self.loaded.mappings()])

    def _incremental_fetch(self, run: _Pass, members: dict[str, set[str]]) -> None:
        for since, mappings in self._watermark_groups().items():
            labels = ", ".join(m.label for m in mappings)
            self.observer.phase(f"fetching changes ({labels})")
            query = " OR ".join(f"({m.jql.query})" for m in mappings)
            from_ms = None if since is None else max(0, since - self.overlap_ms)
            self._fetch_changes(run, incremental_jql(query, from_ms), [m.key for m in mappings])
        # Members that no change query returned (the JQL itself changed, say) still need data.
        wanted = set().union(*members.values()) if members else set()
        self._fetch_keys(run, wanted - self.cache.keys_among(wanted))

    def _fetch_changes(self, run: _Pass, jql: str, keys: Sequence[str]) -> None:
        """Page a change query; advance the watermarks of ``keys`` as pages are stored."""
        if self.gateway.flavor == "cloud":
            self._store_pages(run, self.gateway.fetch_issues(jql, self.fields), keys)
            self._advance(run, keys)
            return
        # Data Center pages by offset: only a pass that saw `total` distinct issues is sure.
        for _ in range(3):
            seen: set[str] = set()
            total = 0
            for page in self.gateway.fetch_issues(jql, self.fields):
                self._store_pages(run, [page], watermark_keys=())
                seen.update(record.key for record in page.records)
                total = page.total if page.total is not None else len(seen)
            if len(seen) >= total:
                self._advance(run, keys)
                return
            log.warning("issues moved while paging %d of %d; reading again", len(seen), total)
        log.warning("watermark kept: Jira kept changing during this sync")

    def _close_hierarchy(
        self, run: _Pass, anchors: set[str], joined: set[str], full: bool
    ) -> set[str]:
        """Fetch the descendants of ``anchors`` outside the scope until the hierarchy is closed;
        return the keys Jira listed below the anchors."""
        since = None if full else self.cache.watermark(DESCENDANTS)
        from_ms = None if since is None else max(0, since - self.overlap_ms)
        known = self._subtree_parents(anchors)
        # A parent that changed in this run (re-parented into the tree, or a newly joined
        # anchor) may bring children that have not changed for long: ask for all of them.
        fresh = self.cache.keys_among(known, synced_since=run.now) | (known & joined)
        rounds = [(known - fresh, from_ms), (fresh, None)]
        queried: set[str] = set()
        listed: set[str] = set(anchors)
        while any(keys for keys, _ in rounds):
            found: set[str] = set()
            for keys, since_ms in rounds:
                if keys:
                    self.observer.phase(f"looking for descendants of {len(keys)} issues")
                    queried |= keys
                    found |= self._children(run, sorted(keys), since_ms, full)
            listed |= found
            # Recompute from the cache: a new child may link back to issues already known.
            rounds = [(self._subtree_parents(found) - queried, None)]
        self._advance(run, [DESCENDANTS])
        return listed

    def _subtree_parents(self, roots: set[str]) -> set[str]:
        return self._parents(self.cache.children_parents(roots)) if roots else set()

    def _children(
        self, run: _Pass, parents: Sequence[str], from_ms: int | None, full: bool
    ) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(parents, PARENT_CHUNK):

            def children_jql(keys: Sequence[str], since: int | None = from_ms) -> str:
                return self._children_jql(keys, since)

            if full:
                listed = self._tolerant_keys(run, children_jql, chunk)
                found |= listed
                self._fetch_keys(run, listed - self.cache.keys_among(listed, run.now))
                continue
            for page in self._tolerant_pages(run, children_jql, chunk):
                self._store_pages(run, [page], watermark_keys=())
                found |= {record.key for record in page.records}
        return found

    def _children_jql(self, parents: Sequence[str], since_ms: int | None) -> str:
        clauses = self._parent_clauses(parents)
        scope = self._scope()
        # Children inside the scope arrive through the scope's own query.
        where = f"({' OR '.join(clauses)})"
        if scope is not None:
            where += f" AND NOT ({scope.jql.query})"
        return incremental_jql(where, since_ms)

    def _parent_clauses(self, parents: Sequence[str]) -> list[str]:
        if self.gateway.flavor == "cloud":
            return [key_chunks_jql("parent", parents)]
        # Data Center links each level through a different field.
        by_field: dict[str, list[str]] = {}
        levels = self._levels(parents)
        for key in parents:
            level = levels[key]
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

    def _seen(
        self, run: _Pass, members: dict[str, set[str]], below: set[str], full: bool
    ) -> set[str]:
        """Every key some listing returned in this sync: what Jira still has in scope."""
        seen = set().union(below, *members.values())
        if full:
            return seen  # the rest of what Jira has was fetched, so written in this run
        scope = self._scope()
        if scope is not None:
            seen |= set(self.gateway.list_keys(scope.jql.query))
        parents = sorted(self._subtree_parents(self._anchors(members)))
        for chunk in _chunks(parents, PARENT_CHUNK):
            seen |= self._tolerant_keys(run, lambda k: self._children_jql(k, None), chunk)
        return seen

    def _reconcile(self, run: _Pass, seen: set[str], full: bool) -> None:
        """Mark cached issues that nothing selects any more: deleted, or out of scope."""
        self.observer.phase("reconciling the cache with Jira")
        # After a full sync only the issues this run did not write can be gone.
        candidates = self.cache.stale_keys(run.now) if full else self.cache.issue_keys()
        gone = candidates - seen - run.missing
        # Asking for the gone keys by key tells deleted ones (Jira names them) from moved ones.
        existing = self._tolerant_keys(run, lambda keys: key_chunks_jql("key", keys), sorted(gone))
        with self.cache.transaction() as session:
            self.counts.issues_out_of_scope += self.cache.mark_out_of_scope(
                session, existing, run.now
            )
            self.cache.set_watermark(session, RECONCILED, _ms(run.now), run.now)

    def _mark_missing(self, run: _Pass) -> None:
        if not run.missing:
            return
        with self.cache.transaction() as session:
            self.counts.issues_deleted += self.cache.mark_deleted(session, run.missing, run.now)

    # --- fetching and storing ------------------------------------------------------------------

    def _fetch_keys(self, run: _Pass, keys: Collection[str]) -> None:
        if not keys:
            return
        self.observer.phase(f"fetching {len(keys)} issues by key")
        for chunk in _chunks(sorted(keys), DETAIL_CHUNK):
            pages = self._tolerant_pages(run, lambda k: key_chunks_jql("key", k), chunk)
            self._store_pages(run, pages, watermark_keys=())

    def _store_pages(
        self, run: _Pass, pages: Iterable[IssuePage], watermark_keys: Sequence[str]
    ) -> None:
        """Write each page in one transaction with the watermarks it justifies."""
        for page in pages:
            self.counts.pages += 1
            self.counts.changelog_requests += page.changelog_requests
            newest = _max_updated_ms(page.records)
            with self.cache.transaction() as session:
                upserted = self.cache.upsert_issues(session, page.records, run.now)
                if newest is not None:
                    mark = min(newest, run.jira_start_ms)
                    for key in watermark_keys:
                        self.cache.set_watermark(session, key, mark, run.now)
            self._count(upserted)
            for record in page.records:
                run.status_ids.add(record.status_id)
                run.status_ids.update(
                    status
                    for t in record.transitions
                    for status in (t.from_status_id, t.to_status_id)
                    if status
                )
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
                yield from self.gateway.fetch_issues(make_jql(remaining), self.fields)
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

    def _anchors(self, members: dict[str, set[str]]) -> set[str]:
        themes = [m.key for m in self.loaded.mappings() if m.key.startswith("theme:")]
        return set().union(*(members.get(key, set()) for key in themes))

    def _scope(self) -> Mapping | None:
        return next((m for m in self.loaded.mappings() if m.key == "scope"), None)

    def _level_from(self, level: int | None, issuetype: str, subtask: bool) -> int:
        """Jira's hierarchyLevel; else (Data Center) the config's level for the type name."""
        if level is not None:
            return level
        return self.config.hierarchy.levels.get(issuetype, -1 if subtask else 0)

    def _levels(self, keys: Collection[str]) -> dict[str, int]:
        """Hierarchy levels from the cache (0 for keys it does not hold)."""
        kinds = self.cache.issue_kinds(keys)
        return {key: self._level_from(*kinds[key]) if key in kinds else 0 for key in keys}

    def _parents(self, keys: Collection[str]) -> set[str]:
        """The keys that can have children (sub-tasks cannot), read in chunks."""
        found: set[str] = set()
        for chunk in _chunks(sorted(keys), PARENT_CHUNK):
            found.update(key for key, level in self._levels(chunk).items() if level >= 0)
        return found


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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
    url = settings.jira_url or loaded.config.jira.url
    if not url:
        raise ConfigError(["RESTRAT_JIRA_URL is not set (nor jira.url in the config)"])
    gateway = connect_jira(url, jira_credentials(settings), session, loaded.config.jira.flavor)
    configured = loaded.config.jira.fields
    fields = discover_fields(
        gateway.fields(),
        FieldIds(configured.story_points, configured.epic_link, configured.parent_link),
    )
    cache = open_cache(settings.effective_database_url)
    return Syncer(loaded, gateway, cache, fields, observer)


def options_for(loaded: LoadedConfig, full: bool) -> SyncOptions:
    hours = loaded.config.sync.reconcile_hours
    return SyncOptions(full=full, reconcile_every=timedelta(hours=hours))


def format_summary(summary: SyncSummary) -> list[str]:
    c = summary.counts
    kind = "full" if summary.full else "incremental"
    lines = [
        f"{kind} sync finished in {summary.seconds:.1f} s"
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
