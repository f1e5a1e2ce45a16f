"""Initiatives: which items they are, and which initiative every item belonged to over time.

**Which level.** ``hierarchy.initiative_level`` when the config sets it. Otherwise it follows
from the themes' anchors (``domain.md``, "Initiatives"): take the most common level among the
current anchors (ties to the higher level);

- anchors at level 2, the initiative level of Jira's hierarchy: the anchors' level, since the
  anchors *are* the initiatives;
- anchors above it (3 and up, a level Jira Premium or Advanced Roadmaps adds): the level below
  the anchors;
- anchors at level 1 or below (epics as anchors): the anchors' level again, because the level
  below would be the flow items themselves, and an initiative groups flow items, it is not one.

No anchor in the cache and no configured level: no initiatives.

**Which items.** The cached items at that level that belonged to a theme at some instant (with
``attribution: current``: that belong to one now). An initiative is a unit of a theme, and its
share is of its theme. An item at that level that no theme ever reached stays out: its work
counts in the unaligned bucket, and there can be thousands of them (every unaligned epic, when
the anchors are epics), each of which would add five snapshots to every period.

**Membership over time.** Exactly the themes' rule, with each initiative its own bucket,
anchored for all time: an item belongs at instant t to the initiative above it at t, the
nearest one winning, ties going to the smaller key (compared as strings). With the graph with
memory that is ``model.history.attribute_over_time``; with ``attribution: current``, the static
``model.graph.attribute`` held for all time. Both cost what the themes' attribution costs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Container, Iterable, Mapping

from restrat_sync.model.graph import Graph, attribute
from restrat_sync.model.history import ThemeHistory, attribute_over_time, static_history
from restrat_sync.model.items import WorkItem
from restrat_sync.model.spans import ALWAYS
from restrat_sync.model.structure import Anchors, Structure

INITIATIVE_LEVEL = 2  # Jira's level of initiatives: "anchors are initiatives"


def initiative_level(configured: int | None, anchor_levels: Iterable[int]) -> int | None:
    """The level whose items are initiatives (see the module docstring); None: no initiatives."""
    if configured is not None:
        return configured
    counts = Counter(anchor_levels)
    if not counts:
        return None
    most = max(counts.values())
    level = max(found for found, count in counts.items() if count == most)
    return level - 1 if level > INITIATIVE_LEVEL else level


def initiatives_of(
    items: Mapping[str, WorkItem], level: int | None, themed: Container[str]
) -> tuple[str, ...]:
    """The keys of the items at ``level`` that are in ``themed`` (those a theme reached at some
    instant), sorted; () for no level."""
    if level is None:
        return ()
    return tuple(
        sorted(key for key, item in items.items() if item.level == level and key in themed)
    )


def initiatives_over_time(
    structure: Structure, initiatives: Collection[str], keys: Iterable[str]
) -> ThemeHistory:
    """Which initiative every item of ``keys`` belonged to at every instant: the history's
    "themes" are the initiative keys, in key order so that ties go to the smaller key."""
    ordered = sorted(initiatives)
    anchors = Anchors(tuple((key, ((key, ALWAYS),)) for key in ordered), {}, ())
    return attribute_over_time(structure, anchors, keys)


def initiatives_now(graph: Graph, initiatives: Collection[str]) -> ThemeHistory:
    """Today's initiative of every item in ``graph``, held for all time (``current``)."""
    ordered = sorted(initiatives)
    return static_history(attribute(graph, [(key, (key,)) for key in ordered]), ordered)
