"""Numbers credited to the structure of their time (``attribution: history``), hand-worked.

Themes (config order): GROWTH (anchor INIT-A, target 0.5), RELIABILITY (anchor INIT-B, 0.4);
unaligned 0.1. Time zone UTC; ``day(n)`` is n November 2026 at 09:00, ``oct_day(n)`` the same in
October. The first sync listed the themes on 2026-11-01 (their anchors are assumed members
since forever); effort is in active days unless a test says otherwise.

The shared portfolio, as Jira has it on 2026-12-05:

- INIT-A <- EPIC-1 (re-parented from INIT-A to INIT-B on day 16) <- S-1, S-3
- INIT-B <- EPIC-2 <- S-2
- S-1: In Progress day 9 .. Done day 23 (14 days; 7 under INIT-A, 7 under INIT-B)
- S-2: In Progress day 2 .. Done day 6 (4 days, RELIABILITY all along)
- S-3: In Progress October 5 .. Done October 15 (10 days, in October, under INIT-A then)
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.config import AttributionMode, Config
from restrat_sync.metrics.compute import (
    OVERALL,
    UNALIGNED_SCOPE,
    compute_current,
    compute_periods,
    prepare,
    theme_scope,
)
from restrat_sync.metrics.results import as_json
from restrat_sync.model.items import FieldChange, Link, StatusChange, WorkItem
from restrat_sync.model.periods import Period, parse_period
from restrat_sync.model.structure import MemberSpan

NOW = datetime(2026, 12, 5, tzinfo=UTC)
FIRST_SYNC = datetime(2026, 11, 1, tzinfo=UTC)
CREATED = datetime(2026, 9, 1, tzinfo=UTC)
IDS = {"To Do": "1", "In Progress": "2", "Done": "3"}
CATEGORIES = {"1": "new", "2": "indeterminate", "3": "done"}
LEVELS = {"Initiative": 2, "Epic": 1, "Story": 0}
LINK_TYPES = (("Implements", "is implemented by", "implements"),)
GROWTH, RELIABILITY = theme_scope("GROWTH"), theme_scope("RELIABILITY")


def day(number: int) -> datetime:
    return datetime(2026, 11, number, 9, tzinfo=UTC)


def oct_day(number: int) -> datetime:
    return datetime(2026, 10, number, 9, tzinfo=UTC)


def work(
    key: str, kind: str, parent: str | None, *moves: tuple[datetime, str], **extra: Any
) -> WorkItem:
    changes, previous = [], "To Do"
    for number, (when, status) in enumerate(moves, start=1):
        changes.append(StatusChange(when, number, 0, IDS[previous], previous, IDS[status], status))
        previous = status
    return WorkItem(
        key=key, summary=key, project=key.split("-")[0], issuetype=kind, level=LEVELS[kind],
        status_id=IDS[previous], status=previous, created=CREATED, resolved=None, duedate=None,
        release_date=None, story_points=extra.pop("points", None), labels=(), priority="Medium",
        parent_key=parent, status_changes=tuple(changes), **extra,
    )  # fmt: skip


def reparent(at: datetime, old: str | None, new: str | None, history_id: int = 90) -> FieldChange:
    return FieldChange(at, history_id, "parent", old, new)


def portfolio(*items: WorkItem, spans: tuple[MemberSpan, ...] | None = None) -> CachedPortfolio:
    anchors = (MemberSpan("GROWTH", "INIT-A", FIRST_SYNC, None),
               MemberSpan("RELIABILITY", "INIT-B", FIRST_SYNC, None))  # fmt: skip
    spans = anchors if spans is None else spans
    members: dict[str, set[str]] = {}
    for span in spans:
        if span.left is None:
            members.setdefault(f"theme:{span.theme}", set()).add(span.key)
    return CachedPortfolio(
        items={item.key: item for item in items},
        categories=CATEGORIES,
        current_categories={},
        members=members,
        last_sync_at=NOW,
        theme_spans=spans,
        link_types=LINK_TYPES,
    )


def config(attribution: AttributionMode = "history", measure: str = "active_days") -> Config:
    return Config.model_validate(
        {
            "timezone": "UTC",
            "unaligned_target": 0.1,
            "attribution": attribution,
            "themes": [
                {"key": "GROWTH", "name": "Growth", "jql": "g.jql", "target": 0.5},
                {"key": "RELIABILITY", "name": "Reliability", "jql": "r.jql", "target": 0.4},
            ],
            "hierarchy": {"links": [{"type": "Implements", "direction": "outward"}]},
            "effort": {"measure": measure},
        }
    )


def moved_epic_portfolio(moved: bool = True) -> CachedPortfolio:
    """The shared portfolio; with ``moved=False`` as it was before the re-parent of day 16."""
    epic_1 = (
        work("EPIC-1", "Epic", "INIT-B", field_changes=(reparent(day(16), "INIT-A", "INIT-B"),))
        if moved
        else work("EPIC-1", "Epic", "INIT-A")
    )
    return portfolio(
        work("INIT-A", "Initiative", None),
        work("INIT-B", "Initiative", None),
        epic_1,
        work("EPIC-2", "Epic", "INIT-B"),
        work("S-1", "Story", "EPIC-1", (day(9), "In Progress"), (day(23), "Done")),
        work("S-2", "Story", "EPIC-2", (day(2), "In Progress"), (day(6), "Done")),
        work("S-3", "Story", "EPIC-1", (oct_day(5), "In Progress"), (oct_day(15), "Done")),
    )


def compute(
    cached: CachedPortfolio, label: str, attribution: AttributionMode = "history", **kw: Any
) -> Any:
    prepared = prepare(cached, config(attribution, **kw))
    return compute_periods(prepared, [parse_period(label, NOW, "UTC")], NOW)[0]


def shares(result: Any) -> dict[str, float | None]:
    return {b.bucket: b.actual for b in result.of(OVERALL, "alignment").buckets}


def test_an_epic_moved_mid_month_splits_its_stories_active_days_at_the_move() -> None:
    """November: S-1's 14 active days go 7 to GROWTH (day 9 to 16, under INIT-A) and 7 to
    RELIABILITY (day 16 to 23); S-2 adds 4 to RELIABILITY. Total 18:
    GROWTH 7/18 = 0.3889, RELIABILITY 11/18 = 0.6111, unaligned 0.
    AV = 1/2 (|0.3889 - 0.5| + |0.6111 - 0.4| + |0 - 0.1|) = 1/2 (0.1111 + 0.2111 + 0.1) = 0.2111.
    S-1 finished on day 23, under INIT-B: its velocity is RELIABILITY's."""
    november = compute(moved_epic_portfolio(), "2026-11")
    alignment = november.of(OVERALL, "alignment")
    assert alignment.total_effort == pytest.approx(18)
    assert shares(november) == pytest.approx(
        {"GROWTH": 7 / 18, "RELIABILITY": 11 / 18, "UNALIGNED": 0}
    )
    assert alignment.av == pytest.approx(0.5 * (abs(7 / 18 - 0.5) + abs(11 / 18 - 0.4) + 0.1))
    assert november.of(GROWTH, "flow").velocity.keys == ()
    assert november.of(RELIABILITY, "flow").velocity.keys == ("S-1", "S-2")


def test_the_previous_month_is_not_rewritten_by_a_later_re_parent() -> None:
    """October: S-3's 10 days were spent under INIT-A, GROWTH: actual GROWTH 1, so
    AV = 1/2 (|1 - 0.5| + |0 - 0.4| + |0 - 0.1|) = 0.5, before the move of day 16 and after it.
    With ``current`` the move rewrites October: RELIABILITY 1,
    AV = 1/2 (0.5 + 0.6 + 0.1) = 0.6."""
    before = compute(moved_epic_portfolio(moved=False), "2026-10")
    after = compute(moved_epic_portfolio(), "2026-10")
    assert before.of(OVERALL, "alignment").av == pytest.approx(0.5)
    assert after.of(OVERALL, "alignment") == before.of(OVERALL, "alignment")
    assert after.of(GROWTH, "flow") == before.of(GROWTH, "flow")
    rewritten = compute(moved_epic_portfolio(), "2026-10", "current")
    assert rewritten.of(OVERALL, "alignment").av == pytest.approx(0.6)


def test_the_theme_change_is_dated_at_the_re_parent_and_is_a_pivot_of_both_themes() -> None:
    """EPIC-1 changed from GROWTH to RELIABILITY on day 16, caused by its re-parent; both
    themes count it, and RELIABILITY (where EPIC-1 was from day 16) also counts the re-parent."""
    prepared = prepare(moved_epic_portfolio(), config())
    (change,) = prepared.theme_changes
    assert (change.key, change.at, change.from_theme, change.to_theme) == (
        "EPIC-1", day(16), "GROWTH", "RELIABILITY",
    )  # fmt: skip
    assert [(c.key, c.kind) for c in change.causes] == [("EPIC-1", "re_parent")]
    november = compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW)[0]
    growth = november.of(GROWTH, "pivots")
    assert [(e.kind, e.detail) for e in growth.events] == [
        ("theme_change", "GROWTH → RELIABILITY (EPIC-1 parent: INIT-A → INIT-B)")
    ]
    reliability = november.of(RELIABILITY, "pivots")
    assert sorted(e.kind for e in reliability.events) == ["re_parent", "theme_change"]
    october = compute_periods(prepared, [parse_period("2026-10", NOW, "UTC")], NOW)[0]
    assert october.of(OVERALL, "pivots").count == 0


def test_an_item_reached_through_a_link_that_is_later_removed() -> None:
    """EPIC-L implements INIT-A until day 16, when the link is removed: S-L's 14 days (day 9 to
    23) go 7 to GROWTH and 7 to unaligned; it finished unaligned."""
    link_removed = FieldChange(day(16), 91, "link", "This issue implements INIT-A", None)
    result = compute(
        portfolio(
            work("INIT-A", "Initiative", None),
            work("INIT-B", "Initiative", None),
            work("EPIC-L", "Epic", None, field_changes=(link_removed,)),
            work("S-L", "Story", "EPIC-L", (day(9), "In Progress"), (day(23), "Done")),
        ),
        "2026-11",
    )
    assert shares(result) == pytest.approx({"GROWTH": 0.5, "RELIABILITY": 0, "UNALIGNED": 0.5})
    assert result.of(UNALIGNED_SCOPE, "flow").velocity.keys == ("S-L",)


def test_an_anchor_leaving_its_theme_mid_period() -> None:
    """The sync of day 16 no longer saw INIT-A in GROWTH's JQL: EPIC-1 and S-1 (active day 9 to
    23) are GROWTH until then and unaligned after: 7 days each."""
    spans = (MemberSpan("GROWTH", "INIT-A", FIRST_SYNC, day(16)),
             MemberSpan("RELIABILITY", "INIT-B", FIRST_SYNC, None))  # fmt: skip
    cached = portfolio(
        work("INIT-A", "Initiative", None),
        work("INIT-B", "Initiative", None),
        work("EPIC-1", "Epic", "INIT-A"),
        work("S-1", "Story", "EPIC-1", (day(9), "In Progress"), (day(23), "Done")),
        spans=spans,
    )
    prepared = prepare(cached, config())
    result = compute_periods(prepared, [parse_period("2026-11", NOW, "UTC")], NOW)[0]
    assert shares(result) == pytest.approx({"GROWTH": 0.5, "RELIABILITY": 0, "UNALIGNED": 0.5})
    (change,) = [c for c in prepared.theme_changes if c.key == "EPIC-1"]
    assert (change.at, change.to_theme, change.causes[0].detail) == (
        day(16),
        "UNALIGNED",
        "left GROWTH",
    )


def test_work_finished_under_one_initiative_after_starting_under_another() -> None:
    """S-W started under EPIC-1 (INIT-A, GROWTH) on day 9, moved to EPIC-2 (INIT-B,
    RELIABILITY) on day 16, finished on day 23 with 5 points. Points are credited to the theme
    held at the finish: RELIABILITY 5 of 5. Active days split 7 / 7."""
    story = work(
        "S-W", "Story", "EPIC-2", (day(9), "In Progress"), (day(23), "Done"),
        points=5.0, field_changes=(reparent(day(16), "EPIC-1", "EPIC-2"),),
    )  # fmt: skip
    cached = portfolio(
        work("INIT-A", "Initiative", None),
        work("INIT-B", "Initiative", None),
        work("EPIC-1", "Epic", "INIT-A"),
        work("EPIC-2", "Epic", "INIT-B"),
        story,
    )
    points = compute(cached, "2026-11", measure="story_points")
    assert shares(points) == pytest.approx({"GROWTH": 0, "RELIABILITY": 1, "UNALIGNED": 0})
    days = compute(cached, "2026-11")
    assert shares(days) == pytest.approx({"GROWTH": 0.5, "RELIABILITY": 0.5, "UNALIGNED": 0})
    assert days.of(GROWTH, "flow").velocity.count == 0


def test_the_data_quality_says_from_when_membership_is_known() -> None:
    prepared = prepare(moved_epic_portfolio(), config())
    quality = compute_current(prepared, NOW)[(OVERALL, "data_quality")]
    assert quality.membership_known_since == FIRST_SYNC
    current = compute_current(prepare(moved_epic_portfolio(), config("current")), NOW)
    assert current[(OVERALL, "data_quality")].membership_known_since is None


# --- properties ----------------------------------------------------------------------------------

MONTHS = ["2026-09", "2026-10", "2026-11"]


def random_portfolio(seed: int, structural: bool) -> CachedPortfolio:
    """Three initiatives (two anchors), six epics, twenty stories with random work between
    September and November; with ``structural``, random re-parents and link changes too."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 9, tzinfo=UTC)

    def moment() -> datetime:
        return start + timedelta(hours=rng.randrange(0, 24 * 85))

    inits = [work(f"INIT-{n}", "Initiative", None) for n in "ABC"]
    epics, stories = [], []
    for number in range(6):
        parent = rng.choice(["INIT-A", "INIT-B", "INIT-C", None])
        changes: tuple[FieldChange, ...] = ()
        links: tuple[Link, ...] = ()
        if structural and rng.random() < 0.5:
            old = rng.choice(["INIT-A", "INIT-B", "INIT-C"])
            changes = (reparent(moment(), old, parent, 100 + number),)
        if rng.random() < 0.3:
            links = (Link("Implements", "outward", rng.choice(["INIT-A", "INIT-B"])),)
            if structural and rng.random() < 0.5:
                text = f"This issue implements {links[0].other_key}"
                changes += (FieldChange(moment(), 200 + number, "link", None, text),)
        epics.append(work(f"EPIC-{number}", "Epic", parent, field_changes=changes, links=links))
    for number in range(20):
        begin = moment()
        moves = [(begin, "In Progress")]
        if rng.random() < 0.8:
            moves.append((begin + timedelta(hours=rng.randrange(1, 24 * 30)), "Done"))
        parent = rng.choice([f"EPIC-{n}" for n in range(6)] + [None])
        changes = ()
        if structural and rng.random() < 0.3:
            changes = (
                reparent(moment(), rng.choice([f"EPIC-{n}" for n in range(6)]), parent, 300),
            )
        stories.append(
            work(
                f"S-{number}",
                "Story",
                parent,
                *moves,
                field_changes=changes,
                points=float(number % 5),
            )
        )
    return portfolio(*inits, *epics, *stories)


def everything(cached: CachedPortfolio, attribution: AttributionMode) -> Any:
    prepared = prepare(cached, config(attribution))
    periods: list[Period] = [parse_period(label, NOW, "UTC") for label in MONTHS]
    results = compute_periods(prepared, periods, NOW)
    found = {
        (r.period.label, *key): as_json(value) for r in results for key, value in r.results.items()
    }
    found.update(
        {("current", *key): as_json(v) for key, v in compute_current(prepared, NOW).items()}
    )
    # Disclosed under history only: from when membership is known.
    found[("current", OVERALL, "data_quality")].pop("membership_known_since")
    return found


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_with_no_structural_change_in_history_history_equals_current(seed: int) -> None:
    cached = random_portfolio(seed, structural=False)
    assert everything(cached, "history") == everything(cached, "current")


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_shares_sum_to_one(seed: int) -> None:
    prepared = prepare(random_portfolio(seed, structural=True), config())
    periods = [parse_period(label, NOW, "UTC") for label in MONTHS]
    for result in compute_periods(prepared, periods, NOW):
        alignment = result.of(OVERALL, "alignment")
        if alignment.has_data:
            assert sum(b.actual for b in alignment.buckets) == pytest.approx(1)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_the_order_of_the_changelog(
    seed: int, shuffler: random.Random
) -> None:
    cached = random_portfolio(seed, structural=True)
    items = list(cached.items.values())
    shuffler.shuffle(items)
    shuffled = []
    for item in items:
        fields, statuses = list(item.field_changes), list(item.status_changes)
        shuffler.shuffle(fields)
        shuffler.shuffle(statuses)
        shuffled.append(replace(item, field_changes=tuple(fields), status_changes=tuple(statuses)))
    reordered = replace(cached, items={item.key: item for item in shuffled})
    assert everything(reordered, "history") == everything(cached, "history")
