"""The deterministic portfolio generator: shape, consistency and the cases metrics must survive."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from restrat_sandbox.generator import SIZES, generate_portfolio
from restrat_sandbox.model import ChangeItem, Issue, Portfolio

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SEEDS = (1, 7, 42)
THEMES = ("theme-growth", "theme-reliability", "theme-experience", "theme-compliance")
LOCALISED = {"Zu erledigen", "In Arbeit", "In Prüfung", "Fertig"}
ADVERSARIAL = (
    "<script>alert(1)</script>",
    "Fix ]]> in CDATA",
    "R&D &amp; \"quotes\" 'single'",
)


@pytest.fixture(scope="module")
def small() -> Portfolio:
    return generate_portfolio("small", seed=7, now=NOW)


@pytest.fixture(scope="module", params=SEEDS)
def seeded(request: pytest.FixtureRequest) -> Portfolio:
    return generate_portfolio("small", seed=request.param, now=NOW)


def digest(portfolio: Portfolio) -> str:
    text = repr(
        (
            portfolio.now,
            portfolio.projects,
            portfolio.issue_types,
            portfolio.statuses,
            portfolio.priorities,
            portfolio.versions,
            portfolio.users,
            portfolio.link_types,
            list(portfolio.issues.values()),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def items(issue: Issue, field: str) -> list[tuple[datetime, ChangeItem]]:
    return [(h.created, item) for h in issue.histories for item in h.items if item.field == field]


def entered(portfolio: Portfolio, issue: Issue) -> list[str]:
    """The statuses an issue has been in, in order, starting with its initial one."""
    changes = items(issue, "status")
    if not changes:
        return [issue.status]
    return [changes[0][1].from_string or "", *(item.to_string or "" for _, item in changes)]


def level0(portfolio: Portfolio) -> list[Issue]:
    return [i for i in portfolio.issues.values() if portfolio.level_of(i) == 0]


def epics(portfolio: Portfolio) -> list[Issue]:
    return [i for i in portfolio.issues.values() if i.issuetype == "Epic"]


def implemented(issue: Issue) -> list[str]:
    return [
        link.other_key
        for link in issue.links
        if link.type_name == "Implements" and link.direction == "outward"
    ]


def theme_of(portfolio: Portfolio, key: str) -> str | None:
    labels = portfolio.issues[key].labels
    return next((label for label in labels if label.startswith("theme-")), None)


def test_same_inputs_give_an_identical_portfolio() -> None:
    """Generating twice with the same size, seed and now yields the same data."""
    first = generate_portfolio("small", seed=7, now=NOW)
    second = generate_portfolio("small", seed=7, now=NOW)
    assert digest(first) == digest(second)


def test_another_seed_gives_another_portfolio(small: Portfolio) -> None:
    """The seed changes the data."""
    assert digest(generate_portfolio("small", seed=8, now=NOW)) != digest(small)


@pytest.mark.parametrize("size", ["small", "medium"])
def test_issue_count_is_close_to_the_size(size: str) -> None:
    """Each size generates about its nominal number of issues."""
    count = len(generate_portfolio(size, now=NOW).issues)
    assert SIZES[size] * 0.95 <= count <= SIZES[size] * 1.05


@pytest.mark.parametrize(
    ("size", "now", "message"),
    [
        ("huge", NOW, "unknown dataset size"),
        ("small", datetime(2026, 3, 1), "aware"),  # naive on purpose
    ],
)
def test_bad_arguments_are_rejected(size: str, now: datetime, message: str) -> None:
    """An unknown size or a naive now is refused with a clear message."""
    with pytest.raises(ValueError, match=message):
        generate_portfolio(size, now=now)


def test_now_defaults_to_today_at_midnight_utc() -> None:
    """Without now, the data ends today at 00:00 UTC."""
    portfolio = generate_portfolio("small")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert portfolio.now == today
    assert max(issue.updated for issue in portfolio.issues.values()) <= today


def test_catalogues_hold_the_names_the_demo_relies_on(small: Portfolio) -> None:
    """Projects, types, statuses, priorities and link types are named as documented."""
    assert {k: p.name for k, p in small.projects.items()} == {
        "PORT": "Portfolio",
        "PAY": "Payments",
        "MOB": "Mobile",
        "DATA": "Data Platform",
        "OPS": "Operations",
    }
    assert all(p.id.isdigit() for p in small.projects.values())
    levels = {name: t.hierarchy_level for name, t in small.issue_types.items()}
    assert levels == {"Initiative": 2, "Epic": 1, "Story": 0, "Task": 0, "Bug": 0, "Sub-task": -1}
    categories = {name: s.category for name, s in small.statuses.items()}
    assert categories["Blocked"] == "indeterminate"
    assert categories["Cancelled"] == categories["Won't Do"] == categories["Fertig"] == "done"
    assert categories["Funnel"] == categories["Approved"] == categories["Committed"] == "new"
    assert len({s.id for s in small.statuses.values()}) == len(small.statuses)
    assert list(small.priorities) == ["Highest", "High", "Medium", "Low", "Lowest"]
    implements = small.link_types["Implements"]
    assert (implements.outward, implements.inward) == ("implements", "is implemented by")
    assert set(small.link_types) == {"Implements", "Blocks", "Relates"}


def test_the_first_user_is_the_sandbox_caller(small: Portfolio) -> None:
    """The caller comes first, in a zone with daylight saving; the others have Cloud ids."""
    users = list(small.users.values())
    caller = users[0]
    assert (caller.account_id, caller.name, caller.email) == (
        "sandbox",
        "sandbox",
        "sandbox@example.com",
    )
    assert (caller.display_name, caller.time_zone) == ("Sandbox Admin", "Europe/Berlin")
    assert 8 <= len(users) <= 15
    assert all(re.fullmatch(r"[0-9a-f]{24}", user.account_id) for user in users[1:])
    assert len({user.time_zone for user in users}) >= 5


def test_keys_count_from_one_per_project_in_creation_order(small: Portfolio) -> None:
    """Keys are numbered 1..n per project as issues were created; ids are unique."""
    by_project: dict[str, list[Issue]] = {}
    for issue in small.issues.values():
        by_project.setdefault(issue.project, []).append(issue)
    for issues in by_project.values():
        assert [issue.number for issue in issues] == list(range(1, len(issues) + 1))
    created = [issue.created for issue in small.issues.values()]
    assert created == sorted(created)
    assert len({issue.id for issue in small.issues.values()}) == len(small.issues)


def test_hierarchy_is_consistent(seeded: Portfolio) -> None:
    """Parents exist, sit exactly one level up the chain and were created first."""
    for issue in seeded.issues.values():
        level = seeded.level_of(issue)
        assert (issue.project == "PORT") == (level == 2)
        if issue.parent is None:
            assert level != -1, issue.key
            continue
        parent = seeded.issues[issue.parent]
        assert seeded.level_of(parent) == max(level, 0) + 1 or (
            level == -1 and seeded.level_of(parent) == 0
        ), issue.key
        assert parent.created <= issue.created


def test_histories_replay_to_the_current_fields(seeded: Portfolio) -> None:
    """Every field's changes chain from one value to the next and end at the current value."""
    for issue in seeded.issues.values():
        expected = {
            "status": issue.status,
            "priority": issue.priority,
            "labels": " ".join(issue.labels),
            "parent": issue.parent,
            "summary": issue.summary,
            "story_points": None if issue.story_points is None else f"{issue.story_points:g}",
        }
        for field, current in expected.items():
            changes = [item for _, item in items(issue, field)]
            for before, after in itertools.pairwise(changes):
                assert after.from_string == before.to_string, (issue.key, field)
            if changes:
                assert changes[-1].to_string == current, (issue.key, field)
        assignees = items(issue, "assignee")
        if assignees:
            assert assignees[-1][1].to_id == issue.assignee


def test_status_items_carry_ids_and_resolutions(seeded: Portfolio) -> None:
    """Status items name ids and names; a resolution is set entering done and cleared leaving."""
    for issue in seeded.issues.values():
        for history in issue.histories:
            status = [item for item in history.items if item.field == "status"]
            if not status:
                continue
            item = status[0]
            assert seeded.statuses[item.from_string or ""].id == item.from_id
            assert seeded.statuses[item.to_string or ""].id == item.to_id
            was = seeded.statuses[item.from_string or ""].category == "done"
            now = seeded.statuses[item.to_string or ""].category == "done"
            resolution = [i for i in history.items if i.field == "resolution"]
            assert bool(resolution) == (was != now), issue.key
            if resolution:
                assert (resolution[0].to_string is None) == was


def test_resolution_date_is_the_last_entry_into_done(seeded: Portfolio) -> None:
    """Resolved issues carry their last done entry; open and reopened issues carry none."""
    for issue in seeded.issues.values():
        if seeded.category_of(issue) != "done":
            assert issue.resolutiondate is None, issue.key
            continue
        changes = items(issue, "status")
        assert issue.resolutiondate == changes[-1][0], issue.key


def test_times_lie_in_the_year_before_now(seeded: Portfolio) -> None:
    """All timestamps are aware UTC within the 12 months before now; updated is the latest."""
    start = NOW - timedelta(days=366)
    history_ids: set[int] = set()
    for issue in seeded.issues.values():
        stamps = [issue.created, *(h.created for h in issue.histories)]
        assert all(s.tzinfo is UTC and start <= s <= NOW for s in stamps), issue.key
        assert stamps[1:] == sorted(stamps[1:])
        assert issue.updated == max(stamps)
        assert all(h.author in seeded.users for h in issue.histories)
        history_ids.update(h.id for h in issue.histories)
    assert len(history_ids) == sum(len(i.histories) for i in seeded.issues.values())


def test_links_appear_on_both_sides(seeded: Portfolio) -> None:
    """Every link is stored on both issues, under one id, in opposite directions."""
    sides = Counter(
        (link.id, link.type_name, link.direction)
        for issue in seeded.issues.values()
        for link in issue.links
    )
    assert sides
    for (link_id, type_name, _), count in sides.items():
        assert count == 1
        assert sides[(link_id, type_name, "outward")] == sides[(link_id, type_name, "inward")]


def test_themes_have_two_to_six_initiatives(seeded: Portfolio) -> None:
    """Each theme label sits on 2-6 initiatives, which live only in PORT."""
    initiatives = [i for i in seeded.issues.values() if i.issuetype == "Initiative"]
    counts = Counter(theme_of(seeded, i.key) for i in initiatives)
    assert set(counts) == set(THEMES)
    assert all(2 <= n <= 6 for n in counts.values())


def test_localised_statuses_appear_only_in_data_below_epics(small: Portfolio) -> None:
    """German status names are used by DATA's stories and sub-tasks, and nowhere else."""
    for issue in small.issues.values():
        statuses = set(entered(small, issue))
        localised = issue.project == "DATA" and small.level_of(issue) <= 0
        assert bool(statuses & LOCALISED) == localised, issue.key


def _reopened(p: Portfolio) -> bool:
    return any(
        any(
            p.statuses[a].category == "done" and p.statuses[b].category != "done"
            for a, b in itertools.pairwise(entered(p, i))
        )
        for i in level0(p)
    )


def _closed_without_start(p: Portfolio) -> bool:
    return any(entered(p, i) in (["To Do", "Done"], ["Zu erledigen", "Fertig"]) for i in level0(p))


def _entered_anywhere(status: str) -> Callable[[Portfolio], bool]:
    return lambda p: any(status in entered(p, i)[1:] for i in p.issues.values())


def _reparented(level: int) -> Callable[[Portfolio], bool]:
    def check(p: Portfolio) -> bool:
        moves = [
            item
            for i in p.issues.values()
            if p.level_of(i) == level
            for _, item in items(i, "parent")
        ]
        return any(m.from_string and m.to_string for m in moves)

    return check


def _work_before_approval(p: Portfolio) -> bool:
    """Some epic's first child started before the epic was approved or committed."""
    for epic in epics(p):
        decided = [t for t, i in items(epic, "status") if i.to_string in ("Approved", "Committed")]
        children = [i for i in level0(p) if i.parent == epic.key]
        starts = [
            t
            for c in children
            for t, i in items(c, "status")
            if p.statuses[i.to_string or ""].category == "indeterminate"
        ]
        if decided and starts and min(starts) < decided[0]:
            return True
    return False


def _two_theme_epic(p: Portfolio) -> bool:
    for epic in epics(p):
        if epic.parent is None:
            continue
        for key in implemented(epic):
            if theme_of(p, key) != theme_of(p, epic.parent):
                return True
    return False


def _share(
    predicate: Callable[[Issue], bool], low: float, high: float
) -> Callable[[Portfolio], bool]:
    def check(p: Portfolio) -> bool:
        work = level0(p)
        return low <= sum(map(predicate, work)) / len(work) <= high

    return check


FEATURES: dict[str, Callable[[Portfolio], bool]] = {
    "reopened items": _reopened,
    "items closed without a start": _closed_without_start,
    "blocked waits": _entered_anywhere("Blocked"),
    "reviews": _entered_anywhere("In Review"),
    "won't do": _entered_anywhere("Won't Do"),
    "cancelled decisions": _entered_anywhere("Cancelled"),
    "approvals": _entered_anywhere("Approved"),
    "commitments": _entered_anywhere("Committed"),
    "stories moved between epics": _reparented(0),
    "work before approval": _work_before_approval,
    "epics tied only by Implements": lambda p: any(
        e.parent is None and implemented(e) for e in epics(p)
    ),
    "unaligned epics": lambda p: any(e.parent is None and not implemented(e) for e in epics(p)),
    "a two-theme epic": _two_theme_epic,
    "stories without an epic": lambda p: any(i.parent is None for i in level0(p)),
    "three changelogs over 100": lambda p: (
        sum(len(i.histories) > 100 for i in p.issues.values()) >= 3
    ),
    "adversarial summaries": lambda p: set(ADVERSARIAL) <= {i.summary for i in p.issues.values()},
    "a control character": lambda p: any("\x07" in i.summary for i in p.issues.values()),
    "right-to-left text": lambda p: any(
        re.search("[\u0590-\u06ff]", i.summary) for i in p.issues.values()
    ),
    "emoji": lambda p: any(
        re.search("[\U0001f300-\U0001faff]", i.summary) for i in p.issues.values()
    ),
    "about 15% bugs": _share(lambda i: i.issuetype == "Bug", 0.07, 0.25),
    "debt labels": lambda p: any({"tech-debt", "debt"} & set(i.labels) for i in level0(p)),
    "risk labels": lambda p: any(
        {"security", "risk", "compliance"} & set(i.labels) for i in level0(p)
    ),
    "story points": _share(lambda i: i.story_points is not None, 0.4, 0.9),
    "due dates": _share(lambda i: i.duedate is not None, 0.2, 0.4),
    "priority changes": lambda p: any(items(i, "priority") for i in p.issues.values()),
    "label changes": lambda p: any(items(i, "labels") for i in p.issues.values()),
    "fix versions": lambda p: any(i.fix_versions for i in level0(p)),
    "released and unreleased versions": lambda p: (
        {v.released for v in p.versions.values()} == {True, False}
    ),
    "epic label vocabulary": lambda p: (
        {"checkout", "observability", "gdpr"} <= {label for e in epics(p) for label in e.labels}
    ),
}


@pytest.mark.parametrize("feature", FEATURES)
def test_small_dataset_has_feature(seeded: Portfolio, feature: str) -> None:
    """Every awkward case the metrics must handle occurs in the small dataset, whatever the seed."""
    assert FEATURES[feature](seeded), feature


def test_decisions_usually_precede_the_first_story(small: Portfolio) -> None:
    """Most approved epics see their first child start some days after the decision."""
    lags = []
    for epic in epics(small):
        decided = [t for t, i in items(epic, "status") if i.to_string in ("Approved", "Committed")]
        starts = [
            t
            for child in level0(small)
            if child.parent == epic.key
            for t, i in items(child, "status")
            if small.statuses[i.to_string or ""].category == "indeterminate"
        ]
        if decided and starts:
            lags.append((min(starts) - decided[0]) / timedelta(days=1))
    assert sum(lag > 0 for lag in lags) > len(lags) * 0.7
    assert 1 < sorted(lags)[len(lags) // 2] < 30
