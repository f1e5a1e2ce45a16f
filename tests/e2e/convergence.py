"""What the convergence tests share: a config whose sync scope leaves part of each theme's tree
outside it, changes made through Jira's REST API, `restrat-sync sync` processes killed at the
start of a phase, and the parts of a cache that must equal those of a fresh full sync.

The convergence property: whatever Jira went through and however syncs were interrupted, the
next completed sync leaves the cache holding what a full sync into an empty cache holds: the
live keys, their parent fields, their status transitions and the status catalogue.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import text

from restrat_sandbox import SandboxServer
from restrat_sandbox.demo import sandbox_settings
from restrat_sandbox.jira_render import flavour_fields
from restrat_sync.cache import Cache, open_cache
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.sync import SyncOptions, SyncSummary, open_syncer, options_for
from tests.e2e.conftest import sync_command, sync_env
from tests.worker.sandboxed import replace_in_config, wait_for

FAST = RetryPolicy(max_attempts=8, max_total_seconds=60, initial_wait=0.05, max_wait=0.2)

# Initiatives (PORT) and the DATA and OPS projects are outside the scope, so the themes' trees
# below them reach the cache only as descendants; a `parked` label moves an issue out of it.
PARKED = "parked"
SCOPE_JQL = f"project in (PAY, MOB) AND (labels is EMPTY OR labels != {PARKED})"

# The request that starts each phase of a sync, as a sandbox hold (regular expressions). The
# reconciliation of an incremental sync starts by listing the scope; the tree walk asks for
# children through parent (and Epic Link, Parent Link on Data Center); the change queries are
# the other searches ordered by `updated`.
_CHILDREN = r'(parent|"Epic Link"|"Parent Link") in \('
PHASES: dict[str, dict[str, str]] = {
    "listing": {"path": "/search", "jql": "."},
    "changes": {"path": "/search", "jql": rf"^(?!.*{_CHILDREN}).*ORDER BY updated ASC"},
    "descendants": {"path": "/search", "jql": _CHILDREN},
    "reconciliation": {"path": "/search", "jql": f"^{re.escape(SCOPE_JQL)}$"},
    "catalogue": {"method": "GET", "path": "/status$"},
}


def narrow_config(config_dir: Path) -> LoadedConfig:
    """The starter config with the scope above, no overlap and reconciliation always due."""
    (config_dir / "jql" / "scope.jql").write_text(SCOPE_JQL + "\n", encoding="utf-8")
    # No overlap: a sync must not read the test's recent writes again by luck, which would
    # hide a change it missed.
    replace_in_config(config_dir, "overlap_minutes: 5", "overlap_minutes: 0")
    # Due at every sync, so a killed `restrat-sync sync` process reaches its reconciliation.
    replace_in_config(config_dir, "reconcile_hours: 24", "reconcile_hours: 0.000001")
    return load_config(config_dir / "config" / "restrat.yaml")


# --- what must converge -------------------------------------------------------------------------

Parents = tuple[str | None, str | None, str | None]  # parent, Epic Link, Parent Link
Transition = tuple[int, int, str, str | None, str | None]  # history, item, at, from, to


@dataclass(frozen=True)
class CacheView:
    """The parts of a cache a sync must get right, read from its tables."""

    parents: dict[str, Parents]  # by live key
    transitions: dict[str, list[Transition]]  # by live key, oldest first
    catalogue: set[tuple[str, str, str]]  # (id, name, category)

    @property
    def keys(self) -> set[str]:
        return set(self.parents)

    def __repr__(self) -> str:  # failures print the differences, not thousands of rows
        return f"CacheView({len(self.parents)} live issues, {len(self.catalogue)} statuses)"


_LIVE_PARENTS = text(
    "SELECT key, parent_key, epic_link_key, parent_link_key FROM issues "
    "WHERE deleted_at IS NULL AND out_of_scope_at IS NULL"
)
_LIVE_TRANSITIONS = text(
    "SELECT i.key, t.history_id, t.item_index, t.at, t.from_status_id, t.to_status_id "
    "FROM status_transitions t JOIN issues i ON i.id = t.issue_id "
    "WHERE i.deleted_at IS NULL AND i.out_of_scope_at IS NULL "
    "ORDER BY i.key, t.at, t.history_id, t.item_index"
)


def read_view(cache: Cache) -> CacheView:
    with cache.engine.connect() as connection:
        parents = {row[0]: (row[1], row[2], row[3]) for row in connection.execute(_LIVE_PARENTS)}
        transitions: dict[str, list[Transition]] = {}
        for key, history, item, at, source, target in connection.execute(_LIVE_TRANSITIONS):
            transitions.setdefault(key, []).append((history, item, str(at), source, target))
        statuses = connection.execute(text("SELECT id, name, category FROM statuses"))
        catalogue = {(row[0], row[1], row[2]) for row in statuses}
    return CacheView(parents, transitions, catalogue)


def assert_same(got: CacheView, fresh: CacheView) -> None:
    """``got`` holds exactly what the fresh full sync holds."""
    assert_covers(got, fresh)
    extra = sorted(got.keys - fresh.keys)
    assert not extra, f"{len(extra)} issues live in the cache that a fresh sync leaves out: {extra}"


def assert_covers(got: CacheView, fresh: CacheView) -> None:
    """Every issue of the fresh full sync is live in ``got`` with the same parents and status
    transitions, and the catalogues are equal (``got`` may hold more: no reconciliation yet)."""
    missing = sorted(fresh.keys - got.keys)
    assert not missing, f"{len(missing)} issues of a fresh sync are not live: {missing}"
    parents = {k: (got.parents[k], v) for k, v in fresh.parents.items() if got.parents[k] != v}
    assert not parents, f"stale parent fields (cached, fresh): {parents}"
    stale = sorted(k for k in fresh.keys if got.transitions.get(k) != fresh.transitions.get(k))
    assert not stale, f"status transitions differ for {stale}"
    assert got.catalogue == fresh.catalogue, (
        f"status catalogue: {len(got.catalogue)} statuses instead of {len(fresh.catalogue)}"
    )


# --- a cache under test, synced from a sandbox --------------------------------------------------

_ROW = text(
    "SELECT parent_key, epic_link_key, parent_link_key, out_of_scope_at FROM issues "
    "WHERE key = :key"
)


@dataclass(frozen=True)
class CachedRow:
    """One cached issue, live or not."""

    parents: Parents
    out_of_scope: bool


@dataclass
class SyncedSite:
    """A sandbox, a config and a SQLite cache that syncs run into, in this process or as
    `restrat-sync sync` processes."""

    server: SandboxServer
    loaded: LoadedConfig
    workdir: Path
    database: Path = field(init=False)
    fresh_runs: int = 0

    def __post_init__(self) -> None:
        self.database = self.workdir / "cache.db"

    def sync(self, reconcile: bool | None = None) -> SyncSummary:
        """A plain sync (incremental, reconciling when the config says it is due) in this
        process, by a new syncer as a new worker firing would; ``reconcile`` forces it on or
        off."""
        options = options_for(self.loaded, full=False)
        options.reconcile = reconcile
        return self._sync(self.database, options)

    def full_sync(self) -> SyncSummary:
        return self._sync(self.database, SyncOptions(full=True))

    def view(self) -> CacheView:
        return self._read(self.database)

    def row(self, key: str) -> CachedRow:
        """The cached row of ``key``, live or not."""
        cache = open_cache(f"sqlite:///{self.database}")
        try:
            with cache.engine.connect() as connection:
                parents, epic, link, out = connection.execute(_ROW, {"key": key}).one()
        finally:
            cache.close()
        return CachedRow(parents=(parents, epic, link), out_of_scope=out is not None)

    def fresh_view(self) -> CacheView:
        """What a full sync into an empty cache holds."""
        self.fresh_runs += 1
        database = self.workdir / f"fresh-{self.fresh_runs}.db"
        self._sync(database, SyncOptions(full=True))
        view = self._read(database)
        database.unlink()
        return view

    def start_over(self) -> None:
        """Jira's data as generated, and no cache."""
        assert requests.post(f"{self.server.url}/_sandbox/reset", timeout=10).status_code == 204
        self.database.unlink(missing_ok=True)

    def kill_at(self, phase: str) -> bool:
        """Run `restrat-sync sync` and SIGKILL it once it sends the request that starts
        ``phase``; False when it finished without sending one."""
        return self.kill_when(PHASES[phase])

    def kill_when(self, request: dict[str, str]) -> bool:
        """Run `restrat-sync sync` and SIGKILL it once it sends the first request matching
        the sandbox hold ``request``; False when it finished without sending one."""
        url = f"{self.server.url}/_sandbox/holds"
        hold = requests.post(url, json=request, timeout=10).json()["id"]
        env = sync_env(self.server, self.loaded.path, self.database)
        try:
            with subprocess.Popen(
                sync_command(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            ) as process:
                wait_for(lambda: process.poll() is not None or _held(url, hold), 60, every=0.02)
                killed = process.poll() is None
                if killed:
                    process.kill()
                _, errors = process.communicate(timeout=60)
        finally:
            requests.delete(f"{url}/{hold}", timeout=10)
        assert killed or process.returncode == 0, errors.decode(errors="replace")
        return killed

    def _sync(self, database: Path, options: SyncOptions) -> SyncSummary:
        settings = sandbox_settings(self.server, self.workdir).model_copy(
            update={"database_url": f"sqlite:///{database}"}
        )
        syncer = open_syncer(settings, self.loaded, create_session(FAST))
        try:
            return syncer.run(options)
        finally:
            syncer.cache.close()

    def _read(self, database: Path) -> CacheView:
        cache = open_cache(f"sqlite:///{database}")
        try:
            return read_view(cache)
        finally:
            cache.close()


def _held(url: str, hold: str) -> bool:
    return bool(requests.get(f"{url}/{hold}", timeout=10).json()["held"])


# --- changes through Jira's REST API ------------------------------------------------------------


class JiraWriter:
    """Edits, transitions and deletions as a Jira user makes them, over HTTP."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.flavor = server.state.flavor
        self.api = f"{server.url}/rest/api/2"
        self.http = requests.Session()
        self.http.auth = (server.state.options.user, server.state.options.token)

    def reparent(self, key: str, parent: str | None) -> None:
        """Put ``key`` under ``parent`` (None: under nothing) with the flavour's own field."""
        self._put(key, {"fields": {self.parent_field(key): self._parent_value(parent)}})

    def parent_field(self, key: str) -> str:
        if self.flavor == "cloud":
            return "parent"
        ids = flavour_fields(self.flavor)
        level = self.level(key)
        assert level >= 0, "Data Center moves a sub-task only with the move wizard"
        assert ids.parent_link is not None
        return ids.epic_link if level == 0 else ids.parent_link

    def _parent_value(self, parent: str | None) -> Any:
        if self.flavor == "cloud":
            return None if parent is None else {"key": parent}
        return parent

    def label(self, key: str, add: str | None = None, remove: str | None = None) -> None:
        operations = [{"add": add}] if add else []
        operations += [{"remove": remove}] if remove else []
        self._put(key, {"update": {"labels": operations}})

    def transition(self, key: str, status: str) -> None:
        listed = self.http.get(f"{self.api}/issue/{key}/transitions", timeout=10).json()
        (chosen,) = [t for t in listed["transitions"] if t["to"]["name"] == status]
        answer = self.http.post(
            f"{self.api}/issue/{key}/transitions",
            json={"transition": {"id": chosen["id"]}},
            timeout=10,
        )
        assert answer.status_code == 204, answer.text

    def statuses_to(self, key: str) -> list[str]:
        listed = self.http.get(f"{self.api}/issue/{key}/transitions", timeout=10).json()
        return sorted(t["to"]["name"] for t in listed["transitions"])

    def delete(self, key: str) -> None:
        answer = self.http.delete(
            f"{self.api}/issue/{key}", params={"deleteSubtasks": "true"}, timeout=10
        )
        assert answer.status_code == 204, answer.text

    def labels(self, key: str) -> list[str]:
        answer = self.http.get(f"{self.api}/issue/{key}", params={"fields": "labels"}, timeout=10)
        return list(answer.json()["fields"]["labels"])

    def level(self, key: str) -> int:
        portfolio = self.server.state.portfolio
        return portfolio.level_of(portfolio.issues[key])

    def _put(self, key: str, body: dict[str, Any]) -> None:
        answer = self.http.put(f"{self.api}/issue/{key}", json=body, timeout=10)
        assert answer.status_code == 204, answer.text
