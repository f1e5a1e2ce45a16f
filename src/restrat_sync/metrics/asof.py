"""The cached portfolio as it was at an instant (``metrics --as-of``): pure.

``model.asof`` rebuilds each item and the themes' membership spans as they were; this puts a
whole ``CachedPortfolio`` back together from them, for ``prepare`` and ``compute_periods`` to
run on unchanged with ``now`` = the moment. At the moment of the last change (now, in
practice) it is the portfolio itself: an as-of run at now is a plain run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime

from restrat_sync.cache.portfolio import THEME_PREFIX, CachedPortfolio
from restrat_sync.cache.snapshots import ThemeSpan
from restrat_sync.model.asof import items_as_of, spans_as_of
from restrat_sync.model.items import WorkItem
from restrat_sync.model.structure import MemberSpan, link_verbs


def portfolio_as_of(
    cached: CachedPortfolio, moment: datetime, earlier_sync_at: datetime | None = None
) -> CachedPortfolio:
    """``cached`` as it was at ``moment``. The last successful sync is the portfolio's own if
    it had ended by then, else ``earlier_sync_at``: the last one that had (the cache's reader
    knows it; None: none had)."""
    items = items_as_of(cached.items, moment, link_verbs(cached.link_types))
    gone = cached.items.keys() - items.keys()
    spans = spans_as_of(cached.theme_spans, moment)
    last = cached.last_sync_at
    return replace(
        cached,
        items=items,
        current_categories=_categories(cached, items),
        members=_members(cached.members, spans, gone),
        last_sync_at=last if last is not None and last <= moment else earlier_sync_at,
        theme_spans=spans,
    )


def _categories(cached: CachedPortfolio, items: Mapping[str, WorkItem]) -> dict[str, str]:
    """Today's status category of each item still in today's status. (It stands in for the
    status catalogue, which knows the category of every other status it has.)"""
    return {
        key: category
        for key, category in cached.current_categories.items()
        if key in items and items[key].status_id == cached.items[key].status_id
    }


def _members(
    members: Mapping[str, set[str]], spans: Iterable[MemberSpan], gone: set[str]
) -> dict[str, set[str]]:
    """Each mapping's members at the moment: a theme's from its spans open then (if the cache
    has spans of it); any other mapping's as now, without the items that did not exist yet."""
    themes: dict[str, set[str]] = {}
    for span in spans:
        members_then = themes.setdefault(THEME_PREFIX + span.theme, set())
        if span.left is None:
            members_then.add(span.key)
    found = {mapping: keys - gone for mapping, keys in members.items()}
    found.update({mapping: keys - gone for mapping, keys in themes.items()})
    return found


def run_history_as_of(spans: Iterable[ThemeSpan], moment: datetime) -> list[ThemeSpan]:
    """The attribution spans metric runs had recorded by ``moment`` (``prepare``'s
    ``run_history``): those begun later dropped, those ended later still open."""
    return [
        replace(span, until=span.until if span.until is not None and span.until <= moment else None)
        for span in spans
        if span.since <= moment
    ]
