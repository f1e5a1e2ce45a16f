"""What a sync's changes can touch: the periods whose metrics to compute again, and the rolling
pages (the overview, the theme pages) that may be written. Pure: the cache reads happen in
``dashboards``; the runner and the worker ask here.

**Periods.** Under today's attribution (an item's current theme applies to its whole life) and
timeline rules (a reopen un-finishes an item retroactively), a changed item can alter every
period from the earliest ``created`` among the items it affects: itself, its ancestors (their
decision facts use their descendants' starts) and, when it is new to the cache, its
descendants (they may hang from it now). A move (a new parent, Epic Link, Parent Link, links
or key, a deletion, leaving or re-entering the scope) or a change in a theme's anchors can
change any attribution, before and after: everything. A key result's membership shows only in
``current``. Periods that ended before the last computation and before that moment keep their
snapshots; the rolling window is always computed again.

**Pages.** A rolling page may be written when the data that feeds it changed since restrat-sync
last wrote it or found it current, or when that was on an earlier local day (so that clock
drift alone, ages and active days growing, writes it at most once a day); the publisher then
writes it only if its content differs. The overview is fed by every change; a theme page by
changes to items attributed to the theme now or before (an item moving from A to B touches
both) and to their ancestors, and by its anchors' and key results' memberships. Each metric run
records the buckets its changes touched, so this decision reads no issue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from restrat_sync.cache.changes import Changes
from restrat_sync.config import Config
from restrat_sync.model.graph import Graph
from restrat_sync.model.periods import Period

EVERYTHING = datetime.min.replace(tzinfo=UTC)  # touches every period
OVERVIEW = "overview"  # the overview's name among the rolling pages; the others are theme keys
THEME_MAPPING = "theme:"


def earliest_touched(
    changes: Changes, graph: Graph, created: Mapping[str, datetime]
) -> datetime | None:
    """The earliest moment whose metrics ``changes`` can alter: EVERYTHING after a move or a
    change in a theme's anchors, None when they alter no period at all."""
    if any(change.moved for change in changes.issues) or any(
        mapping.startswith(THEME_MAPPING) for mapping in changes.mappings
    ):
        return EVERYTHING
    moments: list[datetime] = []
    for change in changes.issues:
        affected = {change.key, *graph.ancestors(change.key)}
        if change.new:
            affected |= graph.descendants(change.key)
        moments += [created[key] for key in affected if key in created]
    return min(moments, default=None)


def periods_touched(
    periods: Sequence[Period], since: datetime | None, required: Collection[str] = ()
) -> list[Period]:
    """The periods to compute again: the rolling window, those ending after ``since`` (none
    when None), and the ``required`` labels (never computed, say)."""
    return [
        period
        for period in periods
        if period.kind == "rolling"
        or period.label in required
        or (since is not None and period.end > since)
    ]


def touched_buckets(
    changes: Changes,
    graph: Graph,
    theme: Mapping[str, str],
    theme_before: Mapping[str, str],
) -> frozenset[str]:
    """The buckets (theme keys, or UNALIGNED) whose data ``changes`` fed: the theme of each
    changed item and of its ancestors, the theme before and after of every item whose
    attribution changed (``theme_before``), and the theme of each changed membership."""
    found: set[str] = set()
    for change in changes.issues:
        keys = {change.key, *graph.ancestors(change.key)}
        found |= {theme[key] for key in keys if key in theme}
    for key, before in theme_before.items():
        found |= {before, *([theme[key]] if key in theme else [])}
    found |= {mapping.split(":")[1] for mapping in changes.mappings if ":" in mapping}
    return frozenset(found)


def inputs_fingerprint(
    config: Config,
    jql: Mapping[str, str],
    statuses: Iterable[tuple[str, str, str]],
    config_problems: Sequence[str],
    version: str,
) -> str:
    """A digest of what the metrics and pages depend on besides the issues: the config, its
    JQL files, Jira's status catalogue (a category changed re-reads every timeline), the
    config problems shown on the overview and restrat-sync's version. A different one means
    everything is computed again and every rolling page may be written."""
    payload = [
        version,
        config.model_dump(mode="json"),
        sorted(jql.items()),
        sorted(statuses),
        list(config_problems),
    ]
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def same_local_day(first: datetime, second: datetime, zone: str) -> bool:
    tz = ZoneInfo(zone)
    return first.astimezone(tz).date() == second.astimezone(tz).date()


def due_pages(
    checked: Mapping[str, datetime | None],
    runs: Sequence[tuple[datetime, frozenset[str] | None]],
    now: datetime,
    zone: str,
) -> frozenset[str]:
    """The rolling pages that may be written now. ``checked``: each page (OVERVIEW or a theme
    key) -> when restrat-sync last wrote it or found it current (None: never, or its last
    publish failed). ``runs``: (computed at, buckets touched; None: everything) of the metric
    runs since the earliest of those."""
    return frozenset(page for page, seen in checked.items() if _due(page, seen, runs, now, zone))


def _due(
    page: str,
    seen: datetime | None,
    runs: Sequence[tuple[datetime, frozenset[str] | None]],
    now: datetime,
    zone: str,
) -> bool:
    if seen is None or not same_local_day(seen, now, zone):
        return True
    return any(at > seen and _feeds(page, touched) for at, touched in runs)


def _feeds(page: str, touched: frozenset[str] | None) -> bool:
    """Whether a run that touched ``touched`` fed ``page``."""
    if touched is None:
        return True
    return bool(touched) if page == OVERVIEW else page in touched
