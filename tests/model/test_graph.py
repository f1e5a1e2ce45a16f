"""The strategy graph and theme attribution.

Portfolios are drawn top-down; ``A -> B`` means B is below A (B's parent is A, or B holds a link
that a rule follows up to A). Themes are listed in config order. Unless a test says otherwise,
the one link rule is ``Implements``/``outward``: an item holding an outward "Implements" link
is below the item it implements.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.config import UNALIGNED, LinkRule
from restrat_sync.model.graph import Graph, attribute
from restrat_sync.model.items import Link, WorkItem

IMPLEMENTS = LinkRule(type="Implements", direction="outward")


def item(key: str, parent: str | None = None, *links: Link, level: int = 0) -> WorkItem:
    """An item with a hierarchy parent and the links it holds; nothing else matters here."""
    return WorkItem(
        key=key,
        summary=key,
        project=key.split("-")[0],
        issuetype="Story",
        level=level,
        status_id="1",
        status="To Do",
        created=datetime(2026, 1, 5, 9, tzinfo=UTC),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority=None,
        parent_key=parent,
        links=links,
    )


def implements(other: str, direction: str = "outward", type_name: str = "Implements") -> Link:
    return Link(type_name, direction, other)


def graph(*items: WorkItem, rules: Sequence[LinkRule] = (IMPLEMENTS,)) -> Graph:
    return Graph({i.key: i for i in items}, rules)


def chain() -> Graph:
    """INIT-1 -> EPIC-1 -> STORY-1 -> SUB-1, by hierarchy parents only."""
    return graph(
        item("INIT-1", level=2),
        item("EPIC-1", "INIT-1", level=1),
        item("STORY-1", "EPIC-1"),
        item("SUB-1", "STORY-1", level=-1),
    )


# --- the graph -----------------------------------------------------------------------------------


def test_children_parents_and_descendants_follow_the_hierarchy() -> None:
    """children/parents are one step, descendants every step below, the item itself excluded."""
    g = chain()
    assert g.children("INIT-1") == ("EPIC-1",)
    assert g.parents("STORY-1") == ("EPIC-1",)
    assert g.parents("INIT-1") == ()
    assert g.children("SUB-1") == ()
    assert g.descendants("INIT-1") == {"EPIC-1", "STORY-1", "SUB-1"}
    assert g.descendants("SUB-1") == set()
    assert g.descendants("NOT-THERE") == set()
    assert g.ancestors("SUB-1") == {"STORY-1", "EPIC-1", "INIT-1"}
    assert g.ancestors("INIT-1") == set()
    assert g.ancestors("NOT-THERE") == set()


def test_parents_are_the_hierarchy_parent_then_link_parents_without_repeats() -> None:
    """STORY-1's parent is EPIC-1; it also implements EPIC-2, EPIC-1 again, itself and GONE-1.

    Parents: EPIC-1 (hierarchy) then EPIC-2 (link). The repeat of EPIC-1 is dropped, the
    self-link is dropped, and GONE-1 is not an item, so that edge is dropped too.
    """
    g = graph(
        item("EPIC-1"),
        item("EPIC-2"),
        item(
            "STORY-1",
            "EPIC-1",
            implements("EPIC-2"),
            implements("EPIC-1"),
            implements("STORY-1"),
            implements("GONE-1"),
        ),
    )
    assert g.parents("STORY-1") == ("EPIC-1", "EPIC-2")
    assert g.children("EPIC-1") == ("STORY-1",)
    assert g.children("EPIC-2") == ("STORY-1",)
    assert g.children("GONE-1") == ()
    assert "GONE-1" not in g
    assert len(g) == 3


def test_children_are_sorted_whatever_the_item_order() -> None:
    """EPIC-1's children come back sorted: S-1, S-2, S-3 although listed S-3, S-1, S-2."""
    g = graph(item("S-3", "EPIC-1"), item("S-1", "EPIC-1"), item("EPIC-1"), item("S-2", "EPIC-1"))
    assert g.children("EPIC-1") == ("S-1", "S-2", "S-3")


def test_descendants_are_cycle_safe() -> None:
    """A is B's parent and A implements B: A -> B -> A. Below A is only B, below B only A."""
    g = graph(item("A-1", None, implements("B-1")), item("B-1", "A-1"))
    assert g.descendants("A-1") == {"B-1"}
    assert g.descendants("B-1") == {"A-1"}
    assert g.ancestors("A-1") == {"B-1"}
    assert g.ancestors("B-1") == {"A-1"}


def test_descendants_of_a_deep_chain_need_no_recursion() -> None:
    """A chain 50,000 deep: every item below the root, no RecursionError."""
    items = [item("N-0")] + [item(f"N-{i}", f"N-{i - 1}") for i in range(1, 50_000)]
    assert len(graph(*items).descendants("N-0")) == 49_999


# --- attribution ---------------------------------------------------------------------------------


def test_theme_is_inherited_down_the_parent_chain() -> None:
    """GROWTH anchors INIT-1: INIT-1 (0 hops) -> EPIC-1 (1) -> STORY-1 (2) -> SUB-1 (3)."""
    result = attribute(chain(), [("GROWTH", {"INIT-1"})])
    assert result.theme == dict.fromkeys(["INIT-1", "EPIC-1", "STORY-1", "SUB-1"], "GROWTH")
    assert result.anchor == dict.fromkeys(["INIT-1", "EPIC-1", "STORY-1", "SUB-1"], "INIT-1")
    assert result.distance == {"INIT-1": 0, "EPIC-1": 1, "STORY-1": 2, "SUB-1": 3}
    assert result.conflicts == {}


@pytest.mark.parametrize(
    ("rule", "held", "expected"),
    [
        pytest.param(IMPLEMENTS, implements("INIT-1"), "GROWTH", id="outward rule, outward link"),
        pytest.param(
            LinkRule(type="Implements", direction="inward"),
            implements("INIT-1", "inward"),
            "GROWTH",
            id="inward rule, inward link",
        ),
        pytest.param(
            LinkRule(type="IMPLEMENTS"),
            implements("INIT-1", type_name="implements"),
            "GROWTH",
            id="type matched case-insensitively",
        ),
        pytest.param(
            IMPLEMENTS, implements("INIT-1", "inward"), UNALIGNED, id="other direction ignored"
        ),
        pytest.param(
            IMPLEMENTS, implements("INIT-1", type_name="Blocks"), UNALIGNED, id="other type ignored"
        ),
    ],
)
def test_theme_is_inherited_through_matching_links_only(
    rule: LinkRule, held: Link, expected: str
) -> None:
    """GROWTH anchors INIT-1; EPIC-1 holds one link to INIT-1 and inherits only if a rule
    matches its type (any case) and the direction EPIC-1 holds it in."""
    g = graph(item("INIT-1"), item("EPIC-1", None, held), rules=[rule])
    assert attribute(g, [("GROWTH", {"INIT-1"})]).theme["EPIC-1"] == expected


def test_the_mirror_of_a_followed_link_is_not_followed_upwards() -> None:
    """Jira stores a link on both ends: EPIC-1 implements INIT-1 (outward), INIT-1 is
    implemented by EPIC-1 (inward). With PLATFORM anchoring EPIC-1, INIT-1 stays unaligned."""
    g = graph(
        item("INIT-1", None, implements("EPIC-1", "inward")),
        item("EPIC-1", None, implements("INIT-1")),
    )
    result = attribute(g, [("PLATFORM", {"EPIC-1"})])
    assert result.theme == {"INIT-1": UNALIGNED, "EPIC-1": "PLATFORM"}


def test_nearest_anchor_wins_over_config_order() -> None:
    """GROWTH (first) anchors INIT-1 -> EPIC-1 -> STORY-1: 2 hops. PLATFORM anchors EPIC-2,
    which STORY-1 implements: 1 hop. STORY-1 goes to PLATFORM; it is reached by both, so it
    is a conflict listed in config order, and so is SUB-1 below it (3 vs 2 hops)."""
    g = graph(
        item("INIT-1"),
        item("EPIC-1", "INIT-1"),
        item("EPIC-2"),
        item("STORY-1", "EPIC-1", implements("EPIC-2")),
        item("SUB-1", "STORY-1"),
    )
    result = attribute(g, [("GROWTH", {"INIT-1"}), ("PLATFORM", {"EPIC-2"})])
    assert result.theme["STORY-1"] == "PLATFORM"
    assert result.anchor["STORY-1"] == "EPIC-2"
    assert result.distance["STORY-1"] == 1
    assert result.theme["SUB-1"] == "PLATFORM"
    assert result.distance["SUB-1"] == 2
    assert result.conflicts == {
        "STORY-1": ("GROWTH", "PLATFORM"),
        "SUB-1": ("GROWTH", "PLATFORM"),
    }


def test_nearest_anchor_within_one_theme_is_the_anchor_reported() -> None:
    """GROWTH anchors INIT-1 (INIT-1 -> EPIC-1 -> STORY-1) and EPIC-1 itself: STORY-1's
    anchor is EPIC-1 at 1 hop, not INIT-1 at 2; one theme is no conflict."""
    g = graph(item("INIT-1"), item("EPIC-1", "INIT-1"), item("STORY-1", "EPIC-1"))
    result = attribute(g, [("GROWTH", {"INIT-1", "EPIC-1"})])
    assert (result.anchor["STORY-1"], result.distance["STORY-1"]) == ("EPIC-1", 1)
    assert result.conflicts == {}


@pytest.mark.parametrize(
    ("order", "winner", "listed"),
    [
        (["GROWTH", "PLATFORM"], "GROWTH", ("GROWTH", "PLATFORM")),
        (["PLATFORM", "GROWTH"], "PLATFORM", ("PLATFORM", "GROWTH")),
    ],
)
def test_a_tie_goes_to_the_first_theme_in_config_order(
    order: list[str], winner: str, listed: tuple[str, ...]
) -> None:
    """STORY-1's parent EPIC-1 anchors GROWTH; it implements EPIC-2, PLATFORM's anchor. Both
    are 1 hop away, so the theme listed first in config wins, whichever it is."""
    g = graph(item("EPIC-1"), item("EPIC-2"), item("STORY-1", "EPIC-1", implements("EPIC-2")))
    anchors = {"GROWTH": {"EPIC-1"}, "PLATFORM": {"EPIC-2"}}
    result = attribute(g, [(theme, anchors[theme]) for theme in order])
    assert result.theme["STORY-1"] == winner
    assert result.distance["STORY-1"] == 1
    assert result.conflicts == {"STORY-1": listed}


def test_an_anchor_of_two_themes_goes_to_the_first() -> None:
    """EPIC-1 is in both themes' JQL: GROWTH (first) at 0 hops, a conflict; STORY-1 below
    follows it, and is a conflict too."""
    g = graph(item("EPIC-1"), item("STORY-1", "EPIC-1"))
    result = attribute(g, [("GROWTH", {"EPIC-1"}), ("PLATFORM", ["EPIC-1"])])
    assert result.theme == {"EPIC-1": "GROWTH", "STORY-1": "GROWTH"}
    assert result.distance == {"EPIC-1": 0, "STORY-1": 1}
    assert result.conflicts == {
        "EPIC-1": ("GROWTH", "PLATFORM"),
        "STORY-1": ("GROWTH", "PLATFORM"),
    }


def test_conflicts_list_every_theme_that_reaches_an_item() -> None:
    """STORY-1 is an anchor of RISK (third) and below GROWTH (via EPIC-1, 1 hop) and PLATFORM
    (via INIT-2 -> EPIC-2, 2 hops). RISK wins at 0 hops; all three are listed in config order.
    STORY-2 under EPIC-1 only is no conflict."""
    g = graph(
        item("EPIC-1"),
        item("INIT-2"),
        item("EPIC-2", "INIT-2"),
        item("STORY-1", "EPIC-1", implements("EPIC-2")),
        item("STORY-2", "EPIC-1"),
    )
    result = attribute(g, [("GROWTH", {"EPIC-1"}), ("PLATFORM", {"INIT-2"}), ("RISK", {"STORY-1"})])
    assert result.theme["STORY-1"] == "RISK"
    assert result.conflicts == {"STORY-1": ("GROWTH", "PLATFORM", "RISK")}


def test_items_reached_by_no_theme_are_unaligned() -> None:
    """GROWTH anchors EPIC-1 -> STORY-1; STORY-2 and its sub-task SUB-2 hang off no anchor:
    both are UNALIGNED, with no anchor and no distance."""
    g = graph(item("EPIC-1"), item("STORY-1", "EPIC-1"), item("STORY-2"), item("SUB-2", "STORY-2"))
    result = attribute(g, [("GROWTH", {"EPIC-1"}), ("PLATFORM", set())])
    assert result.members(UNALIGNED) == ["STORY-2", "SUB-2"]
    assert result.members("GROWTH") == ["EPIC-1", "STORY-1"]
    assert result.members("PLATFORM") == []
    assert set(result.anchor) == set(result.distance) == {"EPIC-1", "STORY-1"}


def test_attribution_terminates_on_a_cycle() -> None:
    """A is B's parent and A implements B (A -> B -> A); GROWTH anchors A: A at 0, B at 1."""
    g = graph(item("A-1", None, implements("B-1")), item("B-1", "A-1"))
    result = attribute(g, [("GROWTH", {"A-1"})])
    assert result.theme == {"A-1": "GROWTH", "B-1": "GROWTH"}
    assert result.distance == {"A-1": 0, "B-1": 1}


def test_anchors_that_are_not_items_are_ignored() -> None:
    """GROWTH's JQL also returns INIT-9, which is outside the sync scope: it is not attributed,
    and STORY-9, whose parent it is, stays UNALIGNED."""
    g = graph(item("EPIC-1"), item("STORY-9", "INIT-9"))
    result = attribute(g, [("GROWTH", {"EPIC-1", "INIT-9"})])
    assert result.theme == {"EPIC-1": "GROWTH", "STORY-9": UNALIGNED}
    assert "INIT-9" not in result.anchor


def test_no_themes_leaves_everything_unaligned() -> None:
    """With no themes configured every item is UNALIGNED and nothing conflicts."""
    result = attribute(chain(), [])
    assert set(result.theme.values()) == {UNALIGNED}
    assert (result.anchor, result.distance, result.conflicts) == ({}, {}, {})


def test_a_large_portfolio_is_attributed_within_a_second() -> None:
    """100,000 items (100 initiatives, 2,000 epics also linked to their initiative, 40,000
    stories, 57,900 sub-tasks, 2,000 cross links) in 10 themes: well under a second."""
    items = _large_portfolio()
    g = Graph({i.key: i for i in items}, [IMPLEMENTS])
    anchors = [(f"T{t}", {f"INIT-{i}" for i in range(t, 100, 10)}) for t in range(10)]
    began = time.perf_counter()
    result = attribute(g, anchors)
    elapsed = time.perf_counter() - began
    assert len(result.theme) == 100_000
    assert UNALIGNED not in result.theme.values()
    assert elapsed < 1.0


def _large_portfolio() -> list[WorkItem]:
    items = [item(f"INIT-{i}", level=2) for i in range(100)]
    items += [
        item(f"EPIC-{e}", f"INIT-{e // 20}", implements(f"INIT-{e // 20}"), level=1)
        for e in range(2_000)
    ]
    # Every 20th story also implements an epic of another initiative: a conflict.
    items += [item(f"S-{s}", f"EPIC-{s // 20}", *_cross_link(s)) for s in range(40_000)]
    items += [item(f"SUB-{u}", f"S-{u % 40_000}", level=-1) for u in range(57_900)]
    return items


def _cross_link(story: int) -> tuple[Link, ...]:
    return (implements(f"EPIC-{(story + 997) % 2_000}"),) if story % 20 == 0 else ()


# --- properties ----------------------------------------------------------------------------------

THEMES = ("T0", "T1", "T2")


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[WorkItem], list[tuple[str, set[str]]]]:
    """Up to 12 items with random parents and links (cycles included), and 3 themes' anchors,
    some of them unknown keys."""
    size = draw(st.integers(1, 12))
    keys = [f"K-{n}" for n in range(size)]
    known = st.sampled_from([*keys, "GONE-1"])
    links = st.builds(
        Link,
        st.sampled_from(["Implements", "Blocks"]),
        st.sampled_from(["outward", "inward"]),
        known,
    )
    items = [item(key, draw(st.none() | known), *draw(st.lists(links, max_size=3))) for key in keys]
    anchors = [(theme, draw(st.sets(known, max_size=3))) for theme in THEMES]
    return items, anchors


@given(portfolios(), st.randoms(use_true_random=False))
def test_attribution_does_not_depend_on_item_order(
    portfolio: tuple[list[WorkItem], list[tuple[str, set[str]]]], rng: Random
) -> None:
    """Shuffling the items mapping changes neither the graph nor the attribution."""
    items, anchors = portfolio
    shuffled = list(items)
    rng.shuffle(shuffled)
    first = Graph({i.key: i for i in items}, [IMPLEMENTS])
    second = Graph({i.key: i for i in shuffled}, [IMPLEMENTS])
    assert all(first.children(i.key) == second.children(i.key) for i in items)
    assert attribute(first, anchors) == attribute(second, anchors)


@given(portfolios())
def test_attribution_matches_a_search_per_theme(
    portfolio: tuple[list[WorkItem], list[tuple[str, set[str]]]],
) -> None:
    """Against a plain breadth-first search per theme: the winner has the fewest hops (ties to
    the first theme), its anchor is one of its anchors, and conflicts are exactly the items
    more than one theme reaches."""
    items, anchors = portfolio
    g = Graph({i.key: i for i in items}, [IMPLEMENTS])
    result = attribute(g, anchors)
    hops = [_hops(g, keys) for _, keys in anchors]
    conflicts: dict[str, tuple[str, ...]] = {}
    for i in items:
        reached = [(hops[t][i.key], t) for t in range(len(THEMES)) if i.key in hops[t]]
        if not reached:
            assert result.theme[i.key] == UNALIGNED
            continue
        distance, winner = min(reached)
        assert result.theme[i.key] == THEMES[winner]
        assert result.distance[i.key] == distance
        assert result.anchor[i.key] in anchors[winner][1]
        assert _hops(g, {result.anchor[i.key]})[i.key] == distance
        if len(reached) > 1:
            conflicts[i.key] = tuple(THEMES[t] for _, t in sorted(reached, key=lambda r: r[1]))
    assert result.conflicts == conflicts


def _hops(g: Graph, anchors: Collection[str]) -> dict[str, int]:
    """Fewest hops from any of ``anchors`` to each item reachable from them."""
    found = {key: 0 for key in anchors if key in g}
    queue = deque(found)
    while queue:
        key = queue.popleft()
        for child in g.children(key):
            if child not in found:
                found[child] = found[key] + 1
                queue.append(child)
    return found
