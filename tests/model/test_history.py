"""The graph with memory: edges rebuilt from changelogs, and the theme of every item at any
instant.

Portfolios are drawn top-down (``A -> B``: B is below A). Themes are listed in config order.
The one link rule is ``Implements``/``outward``. Times are days of January 2026 at 09:00 UTC
(``day(12)`` is 12 January); the first sync listed the themes on ``day(20)``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from restrat_sync.config import UNALIGNED, LinkRule
from restrat_sync.model.graph import Graph, attribute
from restrat_sync.model.history import attribute_over_time, static_history
from restrat_sync.model.items import FieldChange, Link, WorkItem
from restrat_sync.model.spans import ALWAYS, EARLIEST, LATEST
from restrat_sync.model.structure import (
    MemberSpan,
    anchors_over_time,
    link_verbs,
    parse_link_text,
    structure_of,
)

IMPLEMENTS = LinkRule(type="Implements", direction="outward")
VERBS = link_verbs(
    [("Implements", "is implemented by", "implements"), ("Blocks", "is blocked by", "blocks")]
)
FIRST_SYNC = datetime(2026, 1, 20, 9, tzinfo=UTC)


def day(n: int) -> datetime:
    return datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(days=n - 1)


def item(
    key: str,
    parent: str | None = None,
    *,
    links: Sequence[Link] = (),
    changes: Sequence[FieldChange] = (),
    created: datetime | None = None,
) -> WorkItem:
    return WorkItem(
        key=key,
        summary=key,
        project=key.split("-")[0],
        issuetype="Story",
        level=0,
        status_id="1",
        status="To Do",
        created=created or day(1),
        resolved=None,
        duedate=None,
        release_date=None,
        story_points=None,
        labels=(),
        priority=None,
        parent_key=parent,
        links=tuple(links),
        field_changes=tuple(changes),
    )


def moved(
    at: datetime, old: str | None, new: str | None, field: str = "parent", hid: int = 1
) -> FieldChange:
    return FieldChange(at, hid, field, old, new)


def linked(at: datetime, text: str | None, removed: str | None = None, hid: int = 1) -> FieldChange:
    return FieldChange(at, hid, "link", removed, text)


def member(
    theme: str, key: str, joined: datetime = FIRST_SYNC, left: datetime | None = None
) -> MemberSpan:
    return MemberSpan(theme, key, joined, left)


def history(
    items: Sequence[WorkItem],
    spans: Sequence[MemberSpan],
    themes: Sequence[str] = ("GROWTH", "RELIABILITY"),
):  # type: ignore[no-untyped-def]
    by_key = {i.key: i for i in items}
    anchors = anchors_over_time(themes, spans)
    structure = structure_of(by_key, [IMPLEMENTS], VERBS, anchors.changes)
    return attribute_over_time(structure, anchors, by_key)


def test_an_epic_moved_between_initiatives_takes_its_stories_along_from_the_moment_it_moved() -> (
    None
):
    """INIT-A (GROWTH) and INIT-B (RELIABILITY); EPIC-1 was under INIT-A until day 12, then under
    INIT-B; STORY-1 sits under EPIC-1 all along. Before day 12 both are GROWTH, from day 12 on
    RELIABILITY, and the change is dated at the re-parent and explained by it."""
    found = history(
        [
            item("INIT-A"),
            item("INIT-B"),
            item("EPIC-1", "INIT-B", changes=[moved(day(12), "INIT-A", "INIT-B")]),
            item("STORY-1", "EPIC-1"),
        ],
        [member("GROWTH", "INIT-A"), member("RELIABILITY", "INIT-B")],
    )
    assert found.theme_at("STORY-1", day(11)) == "GROWTH"
    assert found.theme_at("STORY-1", day(12)) == "RELIABILITY"
    assert found.theme_at("EPIC-1", day(12) - timedelta(microseconds=1)) == "GROWTH"
    changes = found.changes({"EPIC-1": day(1), "STORY-1": day(1)})
    assert [(c.key, c.at, c.from_theme, c.to_theme) for c in changes] == [
        ("EPIC-1", day(12), "GROWTH", "RELIABILITY"),
        ("STORY-1", day(12), "GROWTH", "RELIABILITY"),
    ]
    assert [(c.key, c.kind) for c in changes[1].causes] == [("EPIC-1", "re_parent")]


def test_an_item_reached_through_a_link_loses_the_theme_when_the_link_is_removed() -> None:
    """EPIC-1 implemented INIT-A from day 3 until day 15 and has no parent: GROWTH in between,
    unaligned before and after."""
    found = history(
        [
            item("INIT-A"),
            item(
                "EPIC-1",
                changes=[
                    linked(day(3), "This issue implements INIT-A", hid=1),
                    linked(day(15), None, "This issue implements INIT-A", hid=2),
                ],
            ),
        ],
        [member("GROWTH", "INIT-A")],
    )
    assert found.segments("EPIC-1") == (
        (EARLIEST, day(3), UNALIGNED),
        (day(3), day(15), "GROWTH"),
        (day(15), LATEST, UNALIGNED),
    )
    changes = found.changes({"EPIC-1": day(1)})
    assert [(c.at, c.to_theme, c.causes[0].kind) for c in changes] == [
        (day(3), "GROWTH", "link"),
        (day(15), UNALIGNED, "link"),
    ]


def test_an_anchor_that_left_its_theme_takes_its_subtree_out_at_the_sync_that_saw_it() -> None:
    """INIT-A was listed by GROWTH's JQL at the first sync (assumed a member since forever) and
    no more from day 25: INIT-A and EPIC-1 are GROWTH before day 25, unaligned after; the
    change's cause is the membership."""
    found = history(
        [item("INIT-A"), item("EPIC-1", "INIT-A")],
        [member("GROWTH", "INIT-A", left=day(25))],
    )
    assert found.theme_at("EPIC-1", day(2)) == "GROWTH"
    assert found.theme_at("EPIC-1", day(25)) == UNALIGNED
    (change, _) = found.changes({"EPIC-1": day(1), "INIT-A": day(1)})
    assert (change.key, change.at, change.causes[0].detail) == ("EPIC-1", day(25), "left GROWTH")


def test_a_later_join_is_a_change_but_the_first_listing_is_assumed_since_forever() -> None:
    found = history(
        [item("INIT-A"), item("INIT-B")],
        [member("GROWTH", "INIT-A"), member("GROWTH", "INIT-B", joined=day(27))],
    )
    assert found.theme_at("INIT-A", day(1)) == "GROWTH"
    assert found.theme_at("INIT-B", day(26)) == UNALIGNED
    assert found.theme_at("INIT-B", day(27)) == "GROWTH"


def test_a_first_parent_assignment_is_grooming_not_a_theme_change() -> None:
    """EPIC-1 was filed on day 4 and placed under INIT-A on day 5: it became GROWTH, but that
    is not a change of course; moving it to INIT-B on day 9 is."""
    found = history(
        [
            item("INIT-A"),
            item("INIT-B"),
            item(
                "EPIC-1",
                "INIT-B",
                created=day(4),
                changes=[
                    moved(day(5), None, "INIT-A", hid=1),
                    moved(day(9), "INIT-A", "INIT-B", hid=2),
                ],
            ),
        ],
        [member("GROWTH", "INIT-A"), member("RELIABILITY", "INIT-B")],
    )
    changes = found.changes({"EPIC-1": day(4)})
    assert [(c.at, c.from_theme, c.to_theme) for c in changes] == [
        (day(9), "GROWTH", "RELIABILITY")
    ]


def test_data_center_hierarchy_fields_take_parent_then_epic_link_then_parent_link() -> None:
    """A Data Center epic has a Parent Link; its story an Epic Link, which was another epic's
    until day 6."""
    epic = WorkItem(
        **{**_fields(item("EPIC-1", "INIT-A")), "parent_fields": (("parent_link", "INIT-A"),)}
    )
    found = history(
        [
            item("INIT-A"),
            item("INIT-B"),
            epic,
            item("EPIC-2", "INIT-B"),
            WorkItem(
                **{
                    **_fields(item("STORY-1", "EPIC-1")),
                    "parent_fields": (("epic_link", "EPIC-1"),),
                    "field_changes": (moved(day(6), "EPIC-2", "EPIC-1", field="epic_link"),),
                }
            ),
        ],
        [member("GROWTH", "INIT-A"), member("RELIABILITY", "INIT-B")],
    )
    assert found.theme_at("STORY-1", day(5)) == "RELIABILITY"
    assert found.theme_at("STORY-1", day(6)) == "GROWTH"


def _fields(value: WorkItem) -> dict[str, object]:
    return {name: getattr(value, name) for name in value.__slots__}  # type: ignore[attr-defined]


def test_link_wordings_are_read_from_the_link_type_catalogue() -> None:
    assert parse_link_text("This issue implements INIT-1", VERBS) == (
        "implements",
        "outward",
        "INIT-1",
    )
    assert parse_link_text("This issue is implemented by EPIC-9", VERBS) == (
        "implements",
        "inward",
        "EPIC-9",
    )
    assert parse_link_text("Dieser Vorgang implements INIT-1", VERBS) == (
        "implements",
        "outward",
        "INIT-1",
    )
    assert parse_link_text("This issue clones X-1", VERBS) is None
    assert parse_link_text(None, VERBS) is None


def test_with_no_change_in_history_the_history_is_todays_attribution_for_all_time() -> None:
    items = {
        i.key: i
        for i in [
            item("INIT-A"),
            item("INIT-B"),
            item("EPIC-1", "INIT-A"),
            item("EPIC-2", links=[Link("Implements", "outward", "INIT-B")]),
            item("STORY-1", "EPIC-1", links=[Link("Implements", "outward", "EPIC-2")]),
            item("LOOSE-1"),
        ]
    }
    found = history(
        list(items.values()), [member("GROWTH", "INIT-A"), member("RELIABILITY", "INIT-B")]
    )
    today = attribute(
        Graph(items, [IMPLEMENTS]), [("GROWTH", {"INIT-A"}), ("RELIABILITY", {"INIT-B"})]
    )
    static = static_history(today, ("GROWTH", "RELIABILITY"))
    for key in items:
        assert found.segments(key) == static.segments(key), key
    assert (
        found.conflicts_at(day(3))
        == static.conflicts_at(day(3))
        == {"STORY-1": ("GROWTH", "RELIABILITY")}
    )
    assert found.changes({key: day(1) for key in items}) == []


# --- properties ----------------------------------------------------------------------------------

KEYS = [f"I-{n}" for n in range(8)]
DAYS = st.integers(min_value=2, max_value=40)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[WorkItem], list[MemberSpan]]:
    """Up to eight items whose parents and Implements links changed at random days, and two
    themes whose anchors joined and left at random syncs."""
    items: list[WorkItem] = []
    for key in KEYS:
        others = [k for k in KEYS if k != key]
        values = draw(st.lists(st.sampled_from([None, *others]), min_size=1, max_size=4))
        moments = sorted(
            draw(st.lists(DAYS, min_size=len(values) - 1, max_size=len(values) - 1, unique=True))
        )
        changes = [
            moved(day(at), old, new, hid=index)
            for index, (at, old, new) in enumerate(zip(moments, values, values[1:], strict=False))
        ]
        link_target = draw(st.sampled_from([None, *others]))
        links: list[Link] = []
        if link_target is not None:
            flips = sorted(draw(st.lists(DAYS, max_size=3, unique=True)))
            present = draw(st.booleans())
            state = present if not flips else (len(flips) % 2 == 0) == present
            for index, at in enumerate(flips):
                text = f"This issue implements {link_target}"
                changes.append(
                    linked(
                        day(at), None if state else text, text if state else None, hid=100 + index
                    )
                )
                state = not state
            if present:
                links.append(Link("Implements", "outward", link_target))
        items.append(item(key, values[-1], links=links, changes=changes))
    spans = []
    for theme in ("GROWTH", "RELIABILITY"):
        for key in draw(st.lists(st.sampled_from(KEYS), max_size=3, unique=True)):
            joined = FIRST_SYNC if draw(st.booleans()) else day(draw(st.integers(21, 30)))
            left = draw(st.one_of(st.none(), st.integers(31, 40).map(day)))
            spans.append(member(theme, key, joined, left))
    return items, spans


def _static_at(
    items: Sequence[WorkItem], spans: Sequence[MemberSpan], moment: datetime
) -> tuple[Graph, list[tuple[str, set[str]]]]:
    """The graph and anchors of ``moment``, replayed independently of the code under test."""
    at_moment = {}
    for value in items:
        parent = value.parent_key
        hierarchy = sorted(
            (c for c in value.field_changes if c.field == "parent"), key=lambda c: c.at
        )
        if hierarchy and moment < hierarchy[-1].at:
            later = [c for c in hierarchy if c.at > moment]
            parent = later[0].from_string
        links = []
        flips = sorted((c for c in value.field_changes if c.field == "link"), key=lambda c: c.at)
        present_now = bool(value.links)
        target = (value.links[0].other_key if value.links else None) or next(
            ((c.to_string or c.from_string or "").rsplit(" ", 1)[1] for c in flips), None
        )
        present = present_now
        later_flips = [c for c in flips if c.at > moment]
        if later_flips:
            present = later_flips[0].from_string is not None
        if present and target is not None:
            links.append(Link("Implements", "outward", target))
        at_moment[value.key] = WorkItem(
            **{**_fields(value), "parent_key": parent, "links": tuple(links), "field_changes": ()}
        )
    first = {
        t: min((s.joined for s in spans if s.theme == t), default=None)
        for t in ("GROWTH", "RELIABILITY")
    }
    anchors = [
        (
            theme,
            {
                s.key
                for s in spans
                if s.theme == theme
                and (s.joined == first[theme] or s.joined <= moment)
                and (s.left is None or moment < s.left)
            },
        )
        for theme in ("GROWTH", "RELIABILITY")
    ]
    return Graph(at_moment, [IMPLEMENTS]), anchors


@settings(max_examples=150, deadline=None)
@given(portfolios(), st.lists(st.integers(1, 41 * 24), min_size=1, max_size=6))
def test_at_every_instant_the_history_equals_the_static_attribution_of_that_instant(
    portfolio: tuple[list[WorkItem], list[MemberSpan]], hours: list[int]
) -> None:
    items, spans = portfolio
    found = history(items, spans)
    for hour in hours:
        moment = day(1) + timedelta(hours=hour)
        graph, anchors = _static_at(items, spans, moment)
        expected = attribute(graph, anchors)
        assert found.attribution_at(moment, graph) == expected, moment


@settings(max_examples=60, deadline=None)
@given(portfolios(), st.randoms(use_true_random=False))
def test_the_history_does_not_depend_on_the_order_of_the_changelog(
    portfolio: tuple[list[WorkItem], list[MemberSpan]], shuffler: random.Random
) -> None:
    items, spans = portfolio
    shuffled = []
    for value in items:
        changes = list(value.field_changes)
        shuffler.shuffle(changes)
        shuffled.append(WorkItem(**{**_fields(value), "field_changes": tuple(changes)}))
    shuffler.shuffle(shuffled)
    first, second = history(items, spans), history(shuffled, list(reversed(spans)))
    assert {k: first.segments(k) for k in KEYS} == {k: second.segments(k) for k in KEYS}


def test_spans_of_always_cover_everything() -> None:
    assert ALWAYS == ((EARLIEST, LATEST),)
