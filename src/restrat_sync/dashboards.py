"""The dashboards end to end: fresh metric snapshots, then pages, then Confluence (or a folder).

``publish`` and the demo (and the worker) go through here, so that a page never shows numbers
older than the cache. The metrics are computed again when a sync changed something since the
last computation (only the periods those changes can touch: ``touched``), when the config, its
JQL, Jira's status catalogue or restrat-sync's version changed (everything), on the first
computation of a new local day (the rolling window and the periods still open then), and for a
period a page needs that was never computed; otherwise not at all. Each computation is
recorded as a metric run with what its changes touched, from which ``rolling_pages_due`` says
which rolling pages may be written. Pages are built from the snapshots alone (``pages.build``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from restrat_sync import __version__
from restrat_sync.cache import Cache
from restrat_sync.cache.changes import pending_changes
from restrat_sync.cache.pages import PublishedRecord, read_published
from restrat_sync.cache.portfolio import status_catalogue
from restrat_sync.cache.restatements import last_restated
from restrat_sync.cache.snapshots import (
    MetricRunRecord,
    last_metric_run,
    metric_runs,
    record_metric_run,
    stored_periods,
)
from restrat_sync.config import LoadedConfig
from restrat_sync.confluence import connect_confluence
from restrat_sync.errors import ConfigError
from restrat_sync.http import RetryingSession
from restrat_sync.metrics.compute import CURRENT
from restrat_sync.metrics.runner import MetricsRun, Since, compute_and_store
from restrat_sync.metrics.touched import OVERVIEW, due_pages, inputs_fingerprint, same_local_day
from restrat_sync.model.periods import ROLLING_LABEL, Period, parse_period, recent_periods
from restrat_sync.pages.build import (
    KINDS,
    OVERVIEW_TITLE,
    build_pages,
    cadence_page_name,
    page_title,
    theme_page_names,
)
from restrat_sync.pages.inputs import read_page_inputs
from restrat_sync.pages.page import CADENCES, Cadence, RenderedPage
from restrat_sync.publish import DryRunReport, PublishReport, publish_pages, write_dry_run
from restrat_sync.settings import Settings, confluence_credentials

log = logging.getLogger(__name__)

ALL = "all"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which pages to build: cadences in publishing order, an explicit period or None, and
    the theme keys whose pages to build (all of them when None)."""

    cadences: tuple[Cadence, ...]
    period: str | None = None
    themes: frozenset[str] | None = None

    @classmethod
    def of(cls, cadence: str, period: str | None) -> Selection:
        """``cadence`` is one of ``CADENCES`` or ``all``; a period needs one calendar cadence."""
        cadences = CADENCES if cadence == ALL else (_cadence(cadence),)
        if period is not None and (len(cadences) != 1 or cadences[0] not in KINDS):
            raise ConfigError(
                [f"--period {period}: give it with --cadence weekly, monthly or quarterly"]
            )
        return cls(cadences, period)


def _cadence(name: str) -> Cadence:
    for cadence in CADENCES:
        if cadence == name:
            return cadence
    raise ConfigError([f"--cadence {name}: expected one of {', '.join((*CADENCES, ALL))}"])


def refresh_metrics(
    cache: Cache,
    loaded: LoadedConfig,
    now: datetime,
    selection: Selection,
    config_problems: Sequence[str] = (),
) -> MetricsRun | None:
    """Compute and store the metrics the pages need when something changed (see the module's
    docstring), and record the run; None when nothing needed computing. ``config_problems``
    (the worker's invalid config edits) go into the data-quality metrics."""
    config = loaded.config
    periods = recent_periods(now, config.timezone)
    if selection.period is not None:
        asked = _parse(selection.period, now, config.timezone)
        periods += [asked] if asked.label not in {p.label for p in periods} else []
    fingerprint = _fingerprint(cache, loaded, config_problems)
    last = last_metric_run(cache)
    changes = pending_changes(cache)
    wanted = {p.label for p in periods if p.kind != "rolling"} | {ROLLING_LABEL, CURRENT}
    missing = frozenset(wanted - stored_periods(cache, wanted))
    since: Since | None = None  # everything: a first run, or other inputs
    if last is not None and last.fingerprint == fingerprint:
        if changes.empty and not missing and same_local_day(last.computed_at, now, config.timezone):
            return None
        since = Since(last.computed_at, changes, missing)
    run = compute_and_store(cache, config, periods, now, config_problems, since)
    computed = tuple(result.period.label for result in run.periods)
    log.info(
        "computed the metrics of %d periods (%s): %d snapshots changed",
        len(computed),
        "everything" if since is None else f"{len(changes.ids)} changes since the last run",
        run.changed,
    )
    record = MetricRunRecord(now, fingerprint, computed, run.touched, run.changed)
    record_metric_run(cache, record, changes)
    return run


def _fingerprint(cache: Cache, loaded: LoadedConfig, config_problems: Sequence[str]) -> str:
    jql = {name: file.query for name, file in loaded.jql.items()}
    catalogue = status_catalogue(cache)
    return inputs_fingerprint(loaded.config, jql, catalogue, config_problems, __version__)


def _parse(label: str, now: datetime, zone: str) -> Period:
    try:
        return parse_period(label, now, zone)
    except ValueError as exc:
        raise ConfigError([f"--period: {exc}"]) from exc


def rolling_pages_due(cache: Cache, loaded: LoadedConfig, now: datetime) -> frozenset[str]:
    """The rolling pages (``touched.OVERVIEW`` and theme keys) that may be written now: never
    written, last checked on an earlier local day, or fed by a metric run since."""
    config = loaded.config
    names = {OVERVIEW: OVERVIEW_TITLE, **theme_page_names(config)}
    titles = {page: page_title(config, name) for page, name in names.items()}
    records = read_published(cache, titles.values())
    checked = {page: _checked(records.get(title)) for page, title in titles.items()}
    known = [at for at in checked.values() if at is not None]
    runs = metric_runs(cache, since=min(known)) if known else []
    return due_pages(checked, [(r.computed_at, r.touched) for r in runs], now, config.timezone)


def _checked(record: PublishedRecord | None) -> datetime | None:
    """When the page was last written or found current; None when its last publish failed."""
    if record is None or not record.content_hash:
        return None
    return record.checked_at or record.published_at


def restated_pages_due(cache: Cache, loaded: LoadedConfig) -> list[Selection]:
    """The published cadence pages (weekly, monthly, quarterly) of periods restated since
    restrat-sync last wrote them or found them current (or whose last publish failed): each
    as a selection to build, oldest period first."""
    config = loaded.config
    cadences = {kind: cadence for cadence, kind in KINDS.items()}
    titles: dict[str, tuple[Selection, datetime]] = {}
    for label, restated_at in sorted(last_restated(cache).items()):
        kind = _parse(label, restated_at, config.timezone).kind
        if kind in cadences:
            cadence = cadences[kind]
            title = page_title(config, cadence_page_name(cadence, label))
            titles[title] = (Selection((cadence,), label), restated_at)
    records = read_published(cache, titles)
    return [
        selection
        for title, (selection, restated_at) in titles.items()
        if title in records and _stale(records[title], restated_at)
    ]


def _stale(record: PublishedRecord, restated_at: datetime) -> bool:
    checked = _checked(record)
    return checked is None or checked < restated_at


def rolling_selection(due: Collection[str]) -> Selection:
    """The overview and theme pages among ``due``, as a selection to build."""
    themes = frozenset(due) - {OVERVIEW}
    cadences: list[Cadence] = ["overview"] if OVERVIEW in due else []
    cadences += ["themes"] if themes else []
    return Selection(tuple(cadences), themes=themes)


def render_pages(
    cache: Cache,
    loaded: LoadedConfig,
    now: datetime,
    selection: Selection,
    config_problems: Sequence[str] = (),
) -> list[RenderedPage]:
    """The selected pages, from fresh snapshots, parents before children."""
    refresh_metrics(cache, loaded, now, selection, config_problems)
    inputs = read_page_inputs(cache, loaded, now)
    pages: list[RenderedPage] = []
    for cadence in selection.cadences:
        pages += build_pages(inputs, cadence, selection.period, selection.themes)
    return pages


def publish(
    pages: list[RenderedPage],
    cache: Cache,
    loaded: LoadedConfig,
    settings: Settings,
    session: RetryingSession,
    now: datetime,
) -> PublishReport:
    """Send ``pages`` to the configured Confluence."""
    url = settings.confluence_url or loaded.config.confluence.url
    if not url:
        raise ConfigError(
            ["confluence.url: not set (set RESTRAT_CONFLUENCE_URL or confluence.url)"]
        )
    gateway = connect_confluence(url, confluence_credentials(settings), session)
    return publish_pages(pages, gateway, cache, loaded.config.confluence, now)


def dry_run(pages: list[RenderedPage], out_dir: Path) -> DryRunReport:
    """Write the pages' storage XML and HTML previews to ``out_dir``; send nothing."""
    return write_dry_run(pages, out_dir)


def format_report(report: PublishReport) -> list[str]:
    lines = [f"  {page.outcome:<9} {page.title}" for page in report.pages]
    lines += [f"  error: {page.title}: {page.reason}" for page in report.failed]
    return [*lines, report.summary()]
