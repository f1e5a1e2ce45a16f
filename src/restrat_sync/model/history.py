"""Theme attribution at every instant: today's rule, run over the graph's whole history.

``attribute_over_time`` does what ``graph.attribute`` does (an anchor belongs to its theme; the
nearest anchor wins; ties go to the first theme in config order; the rest is unaligned) for
every instant at once. Its breadth-first search carries, with each item it reaches, the span of
time over which it reaches it (an edge passes on only the part of that span during which the
edge existed). For each instant an item takes the theme of the first arrival that covers it,
exactly as the static search takes the first arrival, so that at any instant the result equals
``graph.attribute`` on the graph of that instant. A theme travels on through an item only for
the time it had not reached it before, so the search costs what the static one costs, times the
number of pieces an item's time falls into: one for most items.

A ``ThemeHistory`` answers "which theme did this item have at that instant", lists each item's
theme segments, and dates every theme change at the structural change that caused it.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from restrat_sync.config import UNALIGNED
from restrat_sync.model.graph import Attribution
from restrat_sync.model.spans import (
    ALWAYS,
    EARLIEST,
    LATEST,
    Spans,
    contains,
    intersect,
    subtract,
    union,
)
from restrat_sync.model.structure import Anchors, Structure, StructureChange

INSTANT = timedelta(microseconds=1)  # the last instant before a moment
Segment = tuple[datetime, datetime, str]  # [since, until) in one theme (or UNALIGNED)


@dataclass(frozen=True, slots=True)
class Claim:
    """An item belongs to ``theme`` during [since, until), reached from ``anchor``."""

    since: datetime
    until: datetime
    theme: str
    anchor: str
    distance: int  # hops from the anchor; 0 for the anchor itself
    via: str | None  # the parent it was reached through; None for an anchor


@dataclass(frozen=True, slots=True)
class ThemeChange:
    """An item's theme changed at ``at`` (theme keys, or ``UNALIGNED``), and why."""

    key: str
    at: datetime
    from_theme: str
    to_theme: str
    causes: tuple[StructureChange, ...] = ()  # the changes at ``at`` on the item's chain


@dataclass(frozen=True)
class ThemeHistory:
    """Every item's theme over time."""

    themes: tuple[str, ...]  # config order
    claims: dict[str, tuple[Claim, ...]]  # aligned items -> claims, disjoint, in time order
    reached: dict[str, tuple[tuple[str, Spans], ...]]  # items >1 theme ever reached: by theme
    structure: Structure | None = None  # None: the static view (``attribution: current``)
    _sinces: dict[str, list[datetime]] = field(default_factory=dict, repr=False, compare=False)

    def claim_at(self, key: str, moment: datetime) -> Claim | None:
        claims = self.claims.get(key)
        if not claims:
            return None
        if len(claims) == 1:
            only = claims[0]
            return only if only.since <= moment < only.until else None
        sinces = self._sinces.get(key)
        if sinces is None:
            sinces = self._sinces[key] = [claim.since for claim in claims]
        found = claims[bisect_right(sinces, moment) - 1] if moment >= sinces[0] else None
        return found if found is not None and moment < found.until else None

    def theme_at(self, key: str, moment: datetime) -> str:
        """The theme ``key`` belonged to at ``moment``, or ``UNALIGNED``."""
        claim = self.claim_at(key, moment)
        return UNALIGNED if claim is None else claim.theme

    def segments(self, key: str) -> tuple[Segment, ...]:
        """The item's themes over all time, unaligned gaps included, one segment per stretch
        of one theme (a new anchor in the same theme does not split a segment)."""
        found: list[list[object]] = []
        cursor = EARLIEST
        for claim in self.claims.get(key, ()):
            if claim.since > cursor:
                _extend(found, cursor, claim.since, UNALIGNED)
            _extend(found, claim.since, claim.until, claim.theme)
            cursor = claim.until
        if cursor < LATEST:
            _extend(found, cursor, LATEST, UNALIGNED)
        return tuple((s[0], s[1], s[2]) for s in found)  # type: ignore[misc]

    def changes(self, created: Mapping[str, datetime]) -> list[ThemeChange]:
        """Every theme change of the items in ``created``, in time order, from their creation
        on, each with its causes. A move out of the unaligned bucket that only a first parent
        assignment caused is grooming, not a change of course (as for re-parents in pivots)."""
        found: list[ThemeChange] = []
        for key in sorted(self.claims.keys() & created.keys()):
            segments = self.segments(key)
            for before, after in itertools.pairwise(segments):
                at = after[0]
                if at < created[key] or before[2] == after[2]:
                    continue
                change = ThemeChange(key, at, before[2], after[2], self._causes(key, at))
                if not _grooming(change):
                    found.append(change)
        return sorted(found, key=lambda c: (c.at, c.key))

    def conflicts_at(self, moment: datetime) -> dict[str, tuple[str, ...]]:
        """Items reached from more than one theme at ``moment``, with those themes."""
        found: dict[str, tuple[str, ...]] = {}
        for key, by_theme in self.reached.items():
            themes = tuple(theme for theme, when in by_theme if contains(when, moment))
            if len(themes) > 1:
                found[key] = themes
        return found

    def attribution_at(self, moment: datetime, keys: Iterable[str]) -> Attribution:
        """The static attribution of ``keys`` at ``moment``: what ``graph.attribute`` gives on
        the graph of that instant."""
        theme: dict[str, str] = {}
        anchor: dict[str, str] = {}
        distance: dict[str, int] = {}
        for key in keys:
            claim = self.claim_at(key, moment)
            theme[key] = UNALIGNED if claim is None else claim.theme
            if claim is not None:
                anchor[key], distance[key] = claim.anchor, claim.distance
        conflicts = {k: v for k, v in self.conflicts_at(moment).items() if k in theme}
        return Attribution(theme, anchor, distance, conflicts)

    def _causes(self, key: str, at: datetime) -> tuple[StructureChange, ...]:
        if self.structure is None:
            return ()
        chain = set(self._chain(key, at - INSTANT)) | set(self._chain(key, at))
        return tuple(c for c in self.structure.changes_at(at) if c.key in chain)

    def _chain(self, key: str, moment: datetime) -> list[str]:
        """``key`` and the items it was reached through at ``moment``, up to its anchor."""
        chain: list[str] = []
        current: str | None = key
        while current is not None and current not in chain:
            chain.append(current)
            claim = self.claim_at(current, moment)
            current = None if claim is None else claim.via
        return chain


def _extend(found: list[list[object]], since: datetime, until: datetime, theme: str) -> None:
    if found and found[-1][2] == theme and found[-1][1] == since:
        found[-1][1] = until
    else:
        found.append([since, until, theme])


def _grooming(change: ThemeChange) -> bool:
    return (
        change.from_theme == UNALIGNED
        and bool(change.causes)
        and all(
            c.key == change.key and c.kind == "re_parent" and ": ∅ → " in c.detail
            for c in change.causes
        )
    )


def attribute_over_time(
    structure: Structure, anchors: Anchors, keys: Iterable[str]
) -> ThemeHistory:
    """Every item of ``keys`` attributed at every instant (see the module docstring)."""
    known = set(keys)
    themes = tuple(theme for theme, _ in anchors.by_theme)
    frontier: list[tuple[str, int, str, Spans, str | None]] = [
        (key, index, key, when, None)
        for index, (_, members) in enumerate(anchors.by_theme)
        for key, when in members
        if key in known and when
    ]
    reached: dict[tuple[str, int], Spans] = {}
    claimed: dict[str, Spans] = {}
    claims: dict[str, list[Claim]] = defaultdict(list)
    distance = 0
    while frontier:
        below: list[tuple[str, int, str, Spans, str | None]] = []
        for key, index, anchor, when, via in frontier:
            new = subtract(when, reached.get((key, index), ()))
            if not new:
                continue
            reached[(key, index)] = union(reached.get((key, index), ()), new)
            won = subtract(new, claimed.get(key, ()))
            if won:
                claimed[key] = union(claimed.get(key, ()), won)
                theme = themes[index]
                claims[key].extend(Claim(s, u, theme, anchor, distance, via) for s, u in won)
            for child, edge in structure.children_of(key):
                passing = intersect(new, edge)
                if passing and child in known:
                    below.append((child, index, anchor, passing, key))
        frontier = below
        distance += 1
    return ThemeHistory(
        themes=themes,
        claims={key: tuple(sorted(found, key=lambda c: c.since)) for key, found in claims.items()},
        reached=_reached_by_several(reached, themes),
        structure=structure,
    )


def _reached_by_several(
    reached: Mapping[tuple[str, int], Spans], themes: tuple[str, ...]
) -> dict[str, tuple[tuple[str, Spans], ...]]:
    by_key: dict[str, list[tuple[int, Spans]]] = defaultdict(list)
    for (key, index), when in reached.items():
        by_key[key].append((index, when))
    return {
        key: tuple((themes[index], when) for index, when in sorted(found))
        for key, found in by_key.items()
        if len(found) > 1
    }


def static_history(attribution: Attribution, themes: Iterable[str]) -> ThemeHistory:
    """Today's attribution held for all time: ``attribution: current``."""
    claims: dict[str, tuple[Claim, ...]] = {
        key: (
            Claim(
                EARLIEST, LATEST, theme, attribution.anchor[key], attribution.distance[key], None
            ),
        )
        for key, theme in attribution.theme.items()
        if theme != UNALIGNED
    }
    reached = {
        key: tuple((theme, ALWAYS) for theme in found)
        for key, found in attribution.conflicts.items()
    }
    return ThemeHistory(tuple(themes), claims, reached)
