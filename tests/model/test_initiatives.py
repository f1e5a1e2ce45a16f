"""Initiatives: which level they are at, and which initiative an item belonged to over time.

Portfolios are drawn top-down (``A -> B``: B is below A), with the builders and dates of
``test_history`` (``day(12)`` is 12 January 2026 at 09:00 UTC); the link rule is
``Implements``/``outward``.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from restrat_sync.config import UNALIGNED
from restrat_sync.model.graph import Graph
from restrat_sync.model.initiatives import (
    initiative_level,
    initiatives_now,
    initiatives_of,
    initiatives_over_time,
)
from restrat_sync.model.items import Link
from restrat_sync.model.spans import EARLIEST, LATEST
from restrat_sync.model.structure import structure_of
from tests.model.test_history import IMPLEMENTS, VERBS, day, item, moved


@pytest.mark.parametrize(
    ("configured", "anchor_levels", "expected"),
    [
        (None, [2, 2, 2], 2),  # anchors are initiatives: they are the initiatives
        (None, [3, 3], 2),  # anchors above initiatives: the level below them
        (None, [4], 3),
        (None, [1, 1, 1], 1),  # anchors are epics: below them are flow items, so theirs
        (None, [2, 2, 1], 2),  # the most common level decides
        (None, [2, 1], 2),  # a tie goes to the higher level
        (None, [3, 2], 2),  # tie to 3, whose level below is 2
        (None, [], None),  # no anchor, no level: no initiatives
        (1, [2, 2], 1),  # the config wins
        (3, [], 3),
    ],
)
def test_the_initiative_level_follows_the_anchors_unless_configured(
    configured: int | None, anchor_levels: list[int], expected: int | None
) -> None:
    assert initiative_level(configured, anchor_levels) == expected


def test_initiatives_are_the_items_at_the_level_that_a_theme_ever_reached() -> None:
    """I-3 is at the level but no theme ever reached it: it is no initiative."""
    items = {
        key: replace(item(key), level=level)
        for key, level in [("I-2", 2), ("I-10", 2), ("I-3", 2), ("E-1", 1), ("S-1", 0)]
    }
    themed = {"I-2", "I-10", "E-1", "S-1"}
    assert initiatives_of(items, 2, themed) == ("I-10", "I-2")
    assert initiatives_of(items, None, themed) == ()


def test_an_epic_moved_between_initiatives_takes_its_stories_from_the_moment_it_moved() -> None:
    """I-1 -> E-1 -> S-1 until day 16, when E-1 moves under I-2: S-1 belongs to I-1 before,
    to I-2 from day 16; I-3 holds nothing."""
    items = {
        i.key: i
        for i in [
            item("I-1"),
            item("I-2"),
            item("I-3"),
            item("E-1", "I-2", changes=[moved(day(16), "I-1", "I-2")]),
            item("S-1", "E-1"),
        ]
    }
    history = initiatives_over_time(structure_of(items, [], VERBS), ["I-1", "I-2", "I-3"], items)
    assert history.segments("S-1") == ((EARLIEST, day(16), "I-1"), (day(16), LATEST, "I-2"))
    assert history.theme_at("I-3", day(20)) == "I-3"  # an initiative is its own
    assert history.theme_at("I-1", day(20)) == "I-1"


def test_the_nearest_initiative_wins_and_ties_go_to_the_smaller_key() -> None:
    """I-2 -> E-1 (which also implements I-1): a tie at one hop each, so I-1 (the smaller key);
    I-2 -> I-3 -> E-2: I-3 is nearer."""
    items = {
        i.key: i
        for i in [
            item("I-1"),
            item("I-2"),
            item("I-3", "I-2"),
            item("E-1", "I-2", links=[Link("Implements", "outward", "I-1")]),
            item("E-2", "I-3"),
            item("S-9"),
        ]
    }
    initiatives = ["I-3", "I-2", "I-1"]  # any order: the key decides ties
    over_time = initiatives_over_time(structure_of(items, [IMPLEMENTS], VERBS), initiatives, items)
    now = initiatives_now(Graph(items, [IMPLEMENTS]), initiatives)
    for history in (over_time, now):
        assert history.theme_at("E-1", day(5)) == "I-1"
        assert history.theme_at("E-2", day(5)) == "I-3"
        assert history.theme_at("S-9", day(5)) == UNALIGNED  # below no initiative
