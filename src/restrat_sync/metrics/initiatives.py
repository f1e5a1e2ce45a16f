"""An initiative's effort and its share of its theme (``docs/metrics.md``, "Initiatives").

The **effort** of an initiative in a period is the effort (``effort.measure``) of the flow items
credited to it, as a theme's is: active days while an item was below it, points or items where
an item finished below it.

Its **share of its theme**:

- its theme is the initiative item's own theme at the period's end (observed: now, for a
  period not over);
- the share is the part of the initiative's effort that was credited to that theme as well,
  divided by the theme's effort in the period (its bucket in the alignment).

Counting only the effort spent in the theme keeps the shares of a theme's initiatives summing to
at most 1: every moment of an item counts in one theme and in at most one initiative. A plain
"initiative effort ÷ theme effort" would not: an initiative that joined the theme mid-period
brings the effort it had before, and an item below it that a nearer anchor gives to another
theme counts in the initiative but not in the theme. The shares sum to exactly 1 when every
moment of the theme's effort was spent below one of the initiatives it ends the period with.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from restrat_sync.config import EffortMeasure
from restrat_sync.metrics.near import Window


@dataclass(frozen=True, slots=True)
class InitiativeEffort:
    measure: EffortMeasure
    theme: str  # a theme key or UNALIGNED: the initiative's own theme at the period's end
    effort: float  # everything credited to the initiative, whatever theme its items were in
    effort_in_theme: float  # the part of ``effort`` credited to ``theme`` as well
    theme_effort: float  # the theme's effort in the period (its alignment bucket)
    share: float | None  # effort_in_theme ÷ theme_effort; None when theme_effort is 0
    keys: tuple[str, ...]  # the flow items that contributed effort (more than 0), sorted


def initiative_effort(
    efforts: Iterable[tuple[str, str, float]],
    theme: str,
    theme_effort: float,
    measure: EffortMeasure,
) -> InitiativeEffort:
    """The effort and share of one initiative from (item key, the item's theme bucket at the
    time, effort) triples of its items (``credited_pieces``)."""
    total: list[float] = []
    inside: list[float] = []
    keys: set[str] = set()
    for key, bucket, value in efforts:
        if value > 0:
            total.append(value)
            keys.add(key)
            if bucket == theme:
                inside.append(value)
    in_theme = math.fsum(inside)  # exact sums: the result does not depend on the items' order
    return InitiativeEffort(
        measure=measure,
        theme=theme,
        effort=math.fsum(total),
        effort_in_theme=in_theme,
        theme_effort=theme_effort,
        share=in_theme / theme_effort if theme_effort > 0 else None,
        keys=tuple(sorted(keys)),
    )


Piece = tuple[datetime, datetime, str, float]  # an item's [since, until) in a theme, its effort
EffortWithin = Callable[[str, datetime, datetime], float]  # (key, since, until) -> its effort


def credited_pieces(
    windows: Iterable[Window], pieces: Mapping[str, Sequence[Piece]], within: EffortWithin
) -> Iterator[tuple[str, str, float]]:
    """(key, theme bucket, effort) of the items an initiative held, each during its ``windows``
    there. ``pieces``: every item's effort in the period by the theme stretches it was in (what
    the alignment counted). A piece inside a window counts as it is, which is most of them (an
    item that never moved has one stretch, all of time, in both); one that reaches beyond the
    window is measured again on the overlap with ``within``."""
    for key, since, until in windows:
        for low, high, bucket, value in pieces.get(key, ()):
            if since <= low and high <= until:
                yield key, bucket, value
            elif max(since, low) < min(until, high):
                yield key, bucket, within(key, max(since, low), min(until, high))
