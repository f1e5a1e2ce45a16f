"""Sets of instants as sorted, disjoint, half-open spans ``[since, until)``.

The graph with memory asks the same few questions of time again and again: when did this edge
exist, which part of that was not claimed yet, when do these two overlap. A ``Spans`` value is a
tuple of ``(since, until)`` pairs in time order, none empty, none touching another (touching
spans are merged), so that two equal sets of instants are always equal tuples. Most items have
one span, so the operations are plain merges rather than a tree.

``EARLIEST`` and ``LATEST`` stand for "before anything was recorded" and "from now on".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)

Span = tuple[datetime, datetime]
Spans = tuple[Span, ...]
ALWAYS: Spans = ((EARLIEST, LATEST),)
NEVER: Spans = ()


def spans_of(pairs: Iterable[Span]) -> Spans:
    """The normal form of any pairs: empty ones dropped, overlapping and touching ones merged."""
    merged: list[list[datetime]] = []
    for since, until in sorted(pair for pair in pairs if pair[0] < pair[1]):
        if merged and since <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], until)
        else:
            merged.append([since, until])
    return tuple((since, until) for since, until in merged)


def intersect(a: Spans, b: Spans) -> Spans:
    """The instants in both."""
    if a == ALWAYS:
        return b
    if b == ALWAYS:
        return a
    found: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        since, until = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if since < until:
            found.append((since, until))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(found)


def subtract(a: Spans, b: Spans) -> Spans:
    """The instants of ``a`` not in ``b``."""
    if not b or not a:
        return a
    found: list[Span] = []
    j = 0
    for since, until in a:
        cursor = since
        while j < len(b) and b[j][1] <= cursor:
            j += 1
        k = j
        while k < len(b) and b[k][0] < until:
            if b[k][0] > cursor:
                found.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < until:
            found.append((cursor, until))
    return tuple(found)


def union(a: Spans, b: Spans) -> Spans:
    """The instants in either."""
    if not a:
        return b
    if not b:
        return a
    return spans_of((*a, *b))


def contains(spans: Spans, moment: datetime) -> bool:
    """Whether ``moment`` lies in one of the spans."""
    for since, until in spans:
        if moment < until:
            return since <= moment
    return False
