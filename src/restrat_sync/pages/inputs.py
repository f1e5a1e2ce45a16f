"""Everything the pages need from the cache and the config, read once into a plain value.

This is the only module of ``pages`` that does I/O: it reads the metric snapshots, the
restatements, the end of the last successful sync, the last metric run, each theme's current
anchors and the initiatives of the rolling window (with their summary and status).
Everything after it is pure: ``build_pages`` turns a ``PageInputs`` into pages.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from restrat_sync.cache import Cache
from restrat_sync.cache.models import Issue, Membership, SyncRun
from restrat_sync.cache.restatements import RestatementRecord, read_restatements
from restrat_sync.cache.snapshots import Snapshot, last_metric_run, read_snapshots
from restrat_sync.config import Config, LoadedConfig
from restrat_sync.metrics.compute import INITIATIVE_PREFIX
from restrat_sync.model.periods import ROLLING_LABEL
from restrat_sync.pages.jql import ordered_keys


@dataclass(frozen=True, slots=True)
class Anchor:
    """An item as the cache holds it now: one of a theme's anchors, or an initiative."""

    key: str
    summary: str
    status: str
    status_category: str  # Jira's status category key: "new", "indeterminate", "done"


@dataclass(frozen=True, slots=True)
class PageInputs:
    config: Config
    theme_jql: Mapping[str, str]  # theme key -> the query of its JQL file
    now: datetime  # aware; picks the default periods and dates the pages
    snapshots: Mapping[str, tuple[Snapshot, ...]]  # period label (or "current") -> snapshots
    last_sync_at: datetime | None  # the end of the last successful sync
    anchors: Mapping[str, tuple[Anchor, ...]]  # theme key -> its anchors, by key
    # The last computation by the dashboards (``metric_runs``): where the rolling window ended.
    last_computed_at: datetime | None = None
    # Period label -> its restated numbers, newest first (``cache.restatements``).
    restatements: Mapping[str, tuple[RestatementRecord, ...]] = field(default_factory=dict)
    # The initiatives with a scope in the rolling window -> their summary and status now.
    initiatives: Mapping[str, Anchor] = field(default_factory=dict)


def read_page_inputs(cache: Cache, loaded_config: LoadedConfig, now: datetime) -> PageInputs:
    """Read every stored snapshot, the last successful sync and the themes' anchors."""
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    config = loaded_config.config
    by_period: dict[str, list[Snapshot]] = {}
    last_run = last_metric_run(cache)
    for snapshot in read_snapshots(cache):
        by_period.setdefault(snapshot.period, []).append(snapshot)
    initiatives = {
        snapshot.scope.removeprefix(INITIATIVE_PREFIX)
        for snapshot in by_period.get(ROLLING_LABEL, ())
        if snapshot.scope.startswith(INITIATIVE_PREFIX)
    }
    return PageInputs(
        config=config,
        theme_jql={t.key: loaded_config.theme_jql(t).query for t in config.themes},
        now=now,
        snapshots={period: tuple(found) for period, found in by_period.items()},
        last_sync_at=last_successful_sync(cache),
        anchors={t.key: theme_anchors(cache, f"theme:{t.key}") for t in config.themes},
        last_computed_at=None if last_run is None else last_run.computed_at,
        restatements=_by_period(read_restatements(cache)),
        initiatives=items_now(cache, initiatives),
    )


def _by_period(records: list[RestatementRecord]) -> dict[str, tuple[RestatementRecord, ...]]:
    found: dict[str, list[RestatementRecord]] = {}
    for record in records:
        found.setdefault(record.period, []).append(record)
    return {period: tuple(listed) for period, listed in found.items()}


def last_successful_sync(cache: Cache) -> datetime | None:
    """The end of the most recent sync run that succeeded."""
    statement = (
        select(SyncRun.finished_at)
        .where(SyncRun.outcome == "ok")
        .order_by(SyncRun.id.desc())
        .limit(1)
    )
    with cache.engine.connect() as connection:
        found: datetime | None = connection.execute(statement).scalar()
        return found


_ANCHOR_COLUMNS = (Issue.key, Issue.summary, Issue.status, Issue.status_category)


def theme_anchors(cache: Cache, mapping_key: str) -> tuple[Anchor, ...]:
    """The live issues the mapping selects now, ordered by project and number."""
    statement = (
        select(*_ANCHOR_COLUMNS)
        .join(Membership, Membership.issue_key == Issue.key)
        .where(Membership.mapping_key == mapping_key, Membership.left_at.is_(None))
        .where(Issue.deleted_at.is_(None), Issue.out_of_scope_at.is_(None))
    )
    with cache.engine.connect() as connection:
        rows = {key: Anchor(key, *rest) for key, *rest in connection.execute(statement)}
    return tuple(rows[key] for key in ordered_keys(rows))


def items_now(cache: Cache, keys: Collection[str]) -> dict[str, Anchor]:
    """The issues of ``keys`` the cache holds (deleted ones too: an initiative deleted since
    the metrics ran is still named on the page), by key."""
    if not keys:
        return {}
    statement = select(*_ANCHOR_COLUMNS).where(Issue.key.in_(sorted(keys)))
    with cache.engine.connect() as connection:
        return {key: Anchor(key, *rest) for key, *rest in connection.execute(statement)}
