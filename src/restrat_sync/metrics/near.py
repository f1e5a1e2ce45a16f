"""Which items can touch which period, and in which scope: the index that keeps a year of weeks,
months and quarters on 100,000 issues within seconds.

Each item has a span of time in which it can matter to a metric (a flow item from its start
to its end, say) and, from the graph with memory, the scopes it belonged to over time
(``Segment``). The index keeps one entry per stretch of an item in one scope: its span clipped
to that stretch, with the stretch itself (``[since, until)``) attached, so that a metric
credits each moment of an item (its finish, its decision, the period's last instant) to the
scope the item belonged to at that moment. With today's attribution every item has one
stretch, all of time, and the index is what it always was.

Entries are kept apart by scope, as every metric takes them, and in key order, so every list of
keys a result holds comes out sorted already (sorting a sorted list takes one pass).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

from restrat_sync.model.periods import Period

INSTANT = timedelta(microseconds=1)
Span = tuple[datetime, datetime, str]  # (low, high, key): when an item can matter, both ends in
Segment = tuple[datetime, datetime, str]  # [since, until) in one scope
Window = tuple[str, datetime, datetime]  # (key, since, until): in the scope during [since, until)
Near = dict[str, list[Window]]  # scope -> the items touching a period there
Entry = tuple[datetime, datetime, str, datetime, datetime]  # (low, high, key, since, until)


@dataclass
class SpanIndex:
    """Items' spans, split by the scopes they were in; finds those overlapping each period."""

    by_scope: dict[str, list[Entry]]

    @classmethod
    def build(cls, spans: Iterable[Span], segments: Mapping[str, Sequence[Segment]]) -> SpanIndex:
        by_scope: dict[str, list[Entry]] = defaultdict(list)
        for low, high, key in sorted(spans, key=itemgetter(2)):
            # An item with no segment is in no scope of this index (below no initiative, say).
            for since, until, scope in segments.get(key, ()):
                # The stretch is half-open; the span's ends are both in: clip to its last instant.
                clipped_low, clipped_high = max(low, since), min(high, until - INSTANT)
                if clipped_low <= clipped_high:
                    by_scope[scope].append((clipped_low, clipped_high, key, since, until))
        return cls(dict(by_scope))

    def touching(self, periods: Sequence[Period]) -> list[Near]:
        """For each period, the items whose clipped span overlaps [start, end), by scope."""
        found: list[Near] = [{} for _ in periods]
        for chain in _chains(periods):
            starts = [periods[i].start for i in chain]
            ends = [periods[i].end for i in chain]
            for scope, entries in self.by_scope.items():
                near: list[list[Window]] = [[] for _ in chain]
                for low, high, key, since, until in entries:
                    # Overlap: the period starts at or before `high` and ends after `low`.
                    for position in range(bisect_right(ends, low), bisect_right(starts, high)):
                        near[position].append((key, since, until))
                for index, windows in zip(chain, near, strict=True):
                    found[index][scope] = windows
        return found

    def __len__(self) -> int:
        return sum(len(entries) for entries in self.by_scope.values())


def keys_of(windows: Iterable[Window]) -> list[str]:
    """The keys of ``windows``, each once, in their order."""
    return list(dict.fromkeys(key for key, _, _ in windows))


def all_keys(near: Near) -> list[str]:
    """Every key touching the period, in whatever scope, each once."""
    return keys_of(window for windows in near.values() for window in windows)


def _chains(periods: Sequence[Period]) -> list[list[int]]:
    """The periods' indexes split into runs that do not overlap, each in time order (the weeks,
    the months, ...), so that bisection finds the periods an item touches."""
    chains: list[list[int]] = []
    for index in sorted(range(len(periods)), key=lambda i: periods[i].start):
        chain = next((c for c in chains if periods[c[-1]].end <= periods[index].start), None)
        if chain is None:
            chains.append([index])
        else:
            chain.append(index)
    return chains
