"""The dashboards end to end: fresh metric snapshots, then pages, then Confluence (or a folder).

``publish`` and the demo (and the worker) go through here, so that a page never shows numbers
older than the cache: when the snapshots predate the last successful sync, or a period a page
needs was never computed, the metrics of the last 12 months (and of the period asked for) are
computed again first. Pages are built from the snapshots alone (``pages.build``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from restrat_sync.cache import Cache
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.config import LoadedConfig
from restrat_sync.confluence import connect_confluence
from restrat_sync.errors import ConfigError
from restrat_sync.http import RetryingSession
from restrat_sync.metrics.compute import CURRENT
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.pages.build import KINDS, build_pages
from restrat_sync.pages.inputs import last_successful_sync, read_page_inputs
from restrat_sync.pages.page import CADENCES, Cadence, RenderedPage
from restrat_sync.periods import Period, parse_period, recent_periods
from restrat_sync.publish import DryRunReport, PublishReport, publish_pages, write_dry_run
from restrat_sync.settings import Settings, confluence_credentials

log = logging.getLogger(__name__)

ALL = "all"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which pages to build: cadences in publishing order, and an explicit period or None."""

    cadences: tuple[Cadence, ...]
    period: str | None = None

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
) -> bool:
    """Compute and store the metrics the pages need when the stored ones are missing or older
    than the last successful sync. Returns whether it computed. ``config_problems`` (the worker's
    invalid config edits) go into the data-quality metrics."""
    zone = loaded.config.timezone
    periods = recent_periods(now, zone)
    if selection.period is not None:
        asked = _parse(selection.period, now, zone)
        periods += [asked] if asked.label not in {p.label for p in periods} else []
    if not _stale(cache, now, periods):
        return False
    log.info("computing the metrics of %d periods before building the pages", len(periods))
    compute_and_store(cache, loaded.config, periods, now, config_problems)
    return True


def _parse(label: str, now: datetime, zone: str) -> Period:
    try:
        return parse_period(label, now, zone)
    except ValueError as exc:
        raise ConfigError([f"--period: {exc}"]) from exc


def _stale(cache: Cache, now: datetime, periods: Sequence[Period]) -> bool:
    current = read_snapshots(cache, [CURRENT])
    if not current:
        return True
    computed = min(snapshot.computed_at for snapshot in current)
    synced = last_successful_sync(cache)
    if synced is not None and computed < synced:
        return True
    # The rolling window moves with the clock: the overview's numbers are a day old at most.
    if (now - computed).total_seconds() > 24 * 3600:
        return True
    labels = {p.label for p in periods if p.kind != "rolling"}
    stored = {snapshot.period for snapshot in read_snapshots(cache, labels, metric="flow")}
    return not labels <= stored


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
        pages += build_pages(inputs, cadence, selection.period)
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
