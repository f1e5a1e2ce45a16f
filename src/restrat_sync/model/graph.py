"""The strategy-to-execution graph and theme attribution (``domain.md``, "The strategy graph and
attribution").

An edge runs from a parent down to a child. A child's parents are:

- its hierarchy parent (``WorkItem.parent_key``: parent, else Epic Link, else Parent Link);
- the item at the other end of each link it holds that matches a configured ``LinkRule``: the
  link type (case-insensitive, Unicode casefold) and the direction as the holder sees it. With
  the rule ``Implements``/``outward``, an epic holding ``Link("Implements", "outward",
  "INIT-1")`` is a child of INIT-1. INIT-1's mirror link (``inward``) matches no rule, so the
  edge is not doubled or reversed.

Only items in the graph take part: an edge to a key outside ``items`` is dropped, since such an
item can carry no theme itself. Self-links are dropped too; other cycles are allowed and every
traversal is cycle-safe.

Attribution: an anchor belongs to its theme; everything below it inherits the theme. The
nearest anchor (fewest hops) wins, ties go to the first theme in config order. An item reached
by two or more themes is a conflict, listed with every theme that reaches it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

from restrat_sync.config import UNALIGNED, LinkRule
from restrat_sync.model.items import WorkItem


class Graph:
    """Who is below whom: hierarchy parents (``WorkItem.parent_key``) plus configured link
    rules. Children are kept sorted, so every traversal is independent of the order of
    ``items``."""

    def __init__(self, items: Mapping[str, WorkItem], link_rules: Sequence[LinkRule]) -> None:
        rules = {(rule.type.casefold(), rule.direction) for rule in link_rules}
        parents: dict[str, tuple[str, ...]] = {}
        children: dict[str, list[str]] = {}
        for key, item in items.items():
            above = _parents_of(item, rules, items)
            if above:
                parents[key] = above
                for parent in above:
                    children.setdefault(parent, []).append(key)
        self._keys = dict.fromkeys(items)  # ordered, with O(1) membership
        self._parents = parents
        # Each child appears once per parent (parents are deduplicated), so no set is needed.
        self._children = {key: tuple(sorted(below)) for key, below in children.items()}

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def children(self, key: str) -> tuple[str, ...]:
        """The items directly below ``key``, sorted; () for a leaf or an unknown key."""
        return self._children.get(key, ())

    def parents(self, key: str) -> tuple[str, ...]:
        """The items directly above ``key``: the hierarchy parent first, then link parents in
        the order the item holds the links; () for a root or an unknown key."""
        return self._parents.get(key, ())

    def descendants(self, key: str) -> set[str]:
        """Every item below ``key`` at any depth, ``key`` itself excluded (even on a cycle)."""
        return _reach(key, self._children)

    def ancestors(self, key: str) -> set[str]:
        """Every item above ``key`` at any depth, ``key`` itself excluded (even on a cycle)."""
        return _reach(key, self._parents)


def _reach(key: str, edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    """Every item reached from ``key`` along ``edges``, without recursion; ``key`` excluded."""
    seen = {key}
    stack = [key]
    while stack:
        for other in edges.get(stack.pop(), ()):
            if other not in seen:
                seen.add(other)
                stack.append(other)
    seen.discard(key)
    return seen


def _parents_of(
    item: WorkItem, rules: Collection[tuple[str, str]], items: Mapping[str, WorkItem]
) -> tuple[str, ...]:
    found: dict[str, None] = {}  # a dict keeps first-seen order and drops repeats
    if item.parent_key is not None:
        found[item.parent_key] = None
    if rules:
        for link in item.links:
            if (link.type_name.casefold(), link.direction) in rules:
                found[link.other_key] = None
    return tuple(key for key in found if key != item.key and key in items)


@dataclass(frozen=True)
class Attribution:
    """Which theme every item in the graph belongs to, and why."""

    theme: dict[str, str]  # every item key in the graph -> theme key, or UNALIGNED
    anchor: dict[str, str]  # aligned item -> its nearest anchor
    distance: dict[str, int]  # aligned item -> hops from that anchor (0 for anchors)
    conflicts: dict[str, tuple[str, ...]]  # item -> every theme reaching it (config order), >1

    def members(self, theme: str) -> list[str]:
        """The keys attributed to ``theme`` (a theme key or ``UNALIGNED``), sorted."""
        return sorted(key for key, bucket in self.theme.items() if bucket == theme)


@dataclass
class _Reach:
    """What the search has found so far. A theme is an index into the config order."""

    first: dict[str, int]  # item -> the theme that reached it first: the winner
    anchor: dict[str, str]
    distance: dict[str, int]
    others: dict[str, list[int]]  # item -> the other themes that reach it

    def arrive(self, key: str, theme: int, anchor: str, distance: int) -> bool:
        """Records that ``theme`` reaches ``key``; False when it already had."""
        winner = self.first.get(key)
        if winner is None:
            self.first[key] = theme
            self.anchor[key] = anchor
            self.distance[key] = distance
            return True
        if winner == theme:
            return False
        others = self.others.get(key)
        if others is None:
            self.others[key] = [theme]
            return True
        if theme in others:
            return False
        others.append(theme)
        return True


def attribute(graph: Graph, anchors: Sequence[tuple[str, Collection[str]]]) -> Attribution:
    """Attributes every item in ``graph`` to a theme or to ``UNALIGNED``.

    ``anchors`` is ``[(theme key, anchor keys)]`` in config order; anchor keys that are not in
    the graph are ignored. A breadth-first search from all anchors at once visits items in
    order of distance, and within one distance in theme order (each level of the search is
    generated from the previous one in theme order), so the first theme to reach an item is the
    nearest, ties going to the first in config order. A theme propagates through an item only
    the first time it reaches it, so the cost is O(items + edges) times the number of themes
    reaching an item: once, apart from conflicts.
    """
    by_theme: dict[str, set[str]] = {}
    for theme, keys in anchors:  # a theme listed twice keeps its first place
        by_theme.setdefault(theme, set()).update(key for key in keys if key in graph)
    # In theme order: the search relies on each level being so.
    frontier = [
        (key, index, key) for index, keys in enumerate(by_theme.values()) for key in sorted(keys)
    ]
    reach = _Reach({}, {}, {}, {})
    distance = 0
    while frontier:
        below: list[tuple[str, int, str]] = []
        for key, index, anchor in frontier:
            if reach.arrive(key, index, anchor, distance):
                below.extend((child, index, anchor) for child in graph.children(key))
        frontier = below
        distance += 1
    return _attribution(graph, list(by_theme), reach)


def _attribution(graph: Graph, themes: Sequence[str], reach: _Reach) -> Attribution:
    theme = dict.fromkeys(graph, UNALIGNED)
    theme.update((key, themes[index]) for key, index in reach.first.items())
    conflicts = {
        key: tuple(themes[index] for index in sorted({reach.first[key], *others}))
        for key, others in reach.others.items()
    }
    return Attribution(theme, reach.anchor, reach.distance, conflicts)
