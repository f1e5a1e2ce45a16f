"""What the renderer hands the publisher: one Confluence page, ready to send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Cadence = Literal["overview", "themes", "weekly", "monthly", "quarterly"]
CADENCES: tuple[Cadence, ...] = ("overview", "themes", "weekly", "monthly", "quarterly")
LABEL = "restrat-sync"  # every page restrat-sync owns carries it


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page to publish.

    ``parent_title`` is None for a page directly under the configured parent page (the
    overview, the theme pages and the cadence parent pages); a cadence page names its cadence
    parent page, which comes before it in any list of pages to publish.
    """

    title: str  # with the configured prefix
    cadence: Cadence
    period: str  # the period label, e.g. "2026-W47"; "last-4-weeks" for overview and themes
    parent_title: str | None
    labels: tuple[str, ...]  # LABEL first, then the cadence label
    body: str  # storage XHTML, checked well-formed
    # The end of the last successful sync the page was built after: goes into the page's
    # content property when the page is written, never into the body (it would change it at
    # every sync).
    synced_at: datetime | None = None
