"""A deterministic, realistic Jira portfolio: the same (size, seed, now) gives the same data.

The portfolio spans the 12 months before ``now``. Initiatives in PORT carry the strategy themes
as labels; epics in the delivery projects hang under them, or only implement them by link, or
stand unaligned; stories, tasks and bugs sit under the epics (a few under none) and sub-tasks
under those. Every issue's changelog replays to its current fields and holds the cases a metrics
engine must survive: waiting states, reopenings, work closed without being started,
cancellations, decisions taken after (or before) work began, re-parenting, and changelogs long
enough that Cloud truncates them.

While generating, times are integer milliseconds since the window start, which are cheap to draw
and compare; they become aware UTC datetimes only when the issues are assembled.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import TypeAlias

from restrat_sandbox import catalogue as cat
from restrat_sandbox.model import (
    PARENT_CHANGE,
    STORY_POINTS_CHANGE,
    ChangeItem,
    History,
    Issue,
    IssueLink,
    Portfolio,
)

SIZES = {"small": 500, "medium": 10_000, "large": 100_000}

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WINDOW = 365 * DAY
NEVER = 10 * WINDOW  # a start beyond the window: the item stays in the backlog

Event = tuple[int, str, list[ChangeItem]]  # (ms since window start, author, items)
Step = tuple[int, str]  # (ms since window start, status entered)

_CATEGORY = {status.name: status.category for status in cat.STATUSES}
_LEVEL = {issue_type.name: issue_type.hierarchy_level for issue_type in cat.ISSUE_TYPES}


@dataclass(frozen=True, slots=True)
class _Shape:
    users: int
    initiatives_per_theme: int
    children: tuple[int, int]  # level-0 items per epic, inclusive


_SHAPES = {
    "small": _Shape(8, 2, (4, 12)),
    "medium": _Shape(12, 4, (4, 18)),
    "large": _Shape(15, 6, (5, 22)),
}


def _cumulative(*weights: int) -> tuple[int, ...]:
    return tuple(itertools.accumulate(weights))


_LEVEL0_TYPES = ("Story", "Task", "Bug")
_LEVEL0_CUM = _cumulative(60, 25, 15)
_PRIORITY_NAMES = tuple(priority.name for priority in cat.PRIORITIES)
_PRIORITY_CUM = _cumulative(3, 15, 60, 17, 5)
_PROJECT_CUM = _cumulative(3, 3, 2, 2)  # epics per delivery project: PAY, MOB, DATA, OPS
_THEME_CUM = {  # which themes each project's epics serve, in cat.THEMES order
    "PAY": _cumulative(5, 1, 2, 2),
    "MOB": _cumulative(2, 1, 5, 1),
    "DATA": _cumulative(2, 2, 1, 4),
    "OPS": _cumulative(1, 6, 1, 2),
}
_WORK_LABEL_CUM = _cumulative(5, 2, 3, 1, 1, 8, 8, 4)  # in cat.WORK_LABELS order
_POINTS = (1, 2, 3, 5, 8, 13)
_POINTS_CUM = _cumulative(10, 20, 30, 25, 10, 5)
_RANKINGS = (0, 1, 2, 3, 4, 6)  # how often an item is re-ranked in the backlog
_RANKINGS_CUM = _cumulative(20, 25, 20, 15, 12, 8)
# Rare cases are dealt from shuffled decks rather than drawn, so that every 25 (or 20) epics
# hold each of them and even the small dataset is sure to have them, whatever the seed.
_ALIGNMENT_DECK = ("unaligned",) * 3 + ("implements",) * 3 + ("two-themes",) + ("parent",) * 18
_EPIC_FATE_DECK = ("cancelled",) + ("decided",) * 19
_EARLY_START_DECK = ("early",) + ("after",) * 7
# (review rounds, field edits) of the few items whose changelogs exceed Cloud's embedded 40.
_LONG_HISTORIES = ((60, 0), (90, 0), (None, 320))


def generate_portfolio(size: str, seed: int = 7, now: datetime | None = None) -> Portfolio:
    """A portfolio of about ``SIZES[size]`` issues over the 12 months before ``now``.

    ``now`` defaults to today at 00:00 UTC; the same (size, seed, now) gives identical data.
    """
    if size not in SIZES:
        raise ValueError(f"unknown dataset size {size!r}; choose one of {', '.join(SIZES)}")
    if now is None:
        now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    elif now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return _Builder(size, random.Random(seed), now.astimezone(UTC)).build()


def _days(days: float) -> int:
    """A duration in days as milliseconds, at least a minute so steps stay strictly ordered."""
    return max(MINUTE, int(days * DAY))


@dataclass(slots=True, eq=False)
class _Draft:
    """An issue while it is generated: times in ms and references to other drafts."""

    issue: Issue
    created: int
    level: int
    parent: _Draft | None = None
    start: int | None = None  # first entry into an active (indeterminate) status
    end: int | None = None  # last entry into a done status, while it is still there
    events: list[Event] = field(default_factory=list)
    children: list[_Draft] = field(default_factory=list)
    moved: int = 0  # when the status last changed; other edits do not count


_PoolOf: TypeAlias = Callable[[_Draft], list[_Draft]]


class _Builder:
    """Generates one portfolio; holds the random source and the drafts made so far."""

    def __init__(self, size: str, rng: random.Random, now: datetime) -> None:
        self.shape = _SHAPES[size]
        self.target = SIZES[size]
        self.rng = rng
        self.now = now
        self.t0 = now - timedelta(milliseconds=WINDOW)
        people = cat.users(self.shape.users)
        self.users = [user.account_id for user in people]
        self.names = {user.account_id: user.display_name for user in people}
        self.teams = {
            p: rng.sample(self.users, len(self.users) // 2) for p in cat.DELIVERY_PROJECTS
        }
        self.versions = {
            project: cat.monthly_versions(project, self.t0, now, 11000 + 100 * n)
            for n, project in enumerate(cat.DELIVERY_PROJECTS)
        }
        self.release_times = {
            project: [self._ms(datetime.combine(v.release_date or now, time(), UTC)) for v in vs]
            for project, vs in self.versions.items()
        }
        self.drafts: list[_Draft] = []
        self.work: list[_Draft] = []  # level-0 items
        self.initiatives: dict[str, list[_Draft]] = {theme: [] for theme in cat.THEMES}
        self.epics: dict[str, list[_Draft]] = {p: [] for p in cat.DELIVERY_PROJECTS}
        self.links: list[tuple[str, _Draft, _Draft]] = []  # (type, outward side, inward side)
        self.moves: list[tuple[ChangeItem, _Draft | None, _Draft]] = []
        self.decks: dict[tuple[str, ...], list[str]] = {}
        self.long_histories = list(_LONG_HISTORIES)

    def _ms(self, moment: datetime) -> int:
        return int((moment - self.t0) / timedelta(milliseconds=1))

    def _at(self, ms: int) -> datetime:
        return self.t0 + timedelta(milliseconds=ms)

    def build(self) -> Portfolio:
        self._initiatives()
        # Epic families fill most of the target; unparented items top it up.
        while len(self.drafts) < self.target * 0.94:
            self._epic_family()
        while len(self.drafts) < self.target:
            self._orphan()
        for theme_initiatives in self.initiatives.values():
            for initiative in theme_initiatives:
                self._progress(initiative, initiative.children)
        # Stories move between epics of their project; epics between any initiatives.
        self._reparent(self.work, lambda draft: self.epics[draft.issue.project])
        epics = [epic for project_epics in self.epics.values() for epic in project_epics]
        initiatives = [i for group in self.initiatives.values() for i in group]
        self._reparent(epics, lambda _: initiatives)
        self._dependencies()
        hostile = cat.ADVERSARIAL_SUMMARIES
        for draft, text in zip(self.rng.sample(self.work, len(hostile)), hostile, strict=True):
            draft.issue.summary = text
        self._renames()
        return self._assemble()

    # --- creating drafts -------------------------------------------------------------------

    def _new(self, project: str, itype: str, created: int, summary: str) -> _Draft:
        rng = self.rng
        level = _LEVEL[itype]
        initial = cat.FUNNEL if level >= 1 else cat.work_flow(project).todo
        team = self.teams.get(project, self.users)
        issue = Issue(
            id=0,
            key="",
            project=project,
            issuetype=itype,
            status=initial,
            summary=summary,
            created=self.now,
            updated=self.now,
            priority=rng.choices(_PRIORITY_NAMES, cum_weights=_PRIORITY_CUM)[0],
            assignee=rng.choice(team),
            reporter=rng.choice(self.users),
        )
        draft = _Draft(issue, created, level)
        self.drafts.append(draft)
        return draft

    def _initiatives(self) -> None:
        """Four themes of initiatives, decided early in the year; a few later ones cancelled."""
        rng = self.rng
        for theme, names in cat.INITIATIVE_NAMES.items():
            for n in range(self.shape.initiatives_per_theme):
                # The first of each theme exists before any epic, so every theme can be served.
                created = rng.randint(0, 10 * DAY) if n == 0 else rng.randint(0, 150 * DAY)
                draft = self._new(cat.PORTFOLIO_PROJECT, "Initiative", created, names[n])
                draft.issue.labels = [theme]
                cancel = n >= 2 and rng.random() < 0.3
                if self._decide(draft, cancel) is not None:
                    self.initiatives[theme].append(draft)
                self._field_edits(draft, self._edit_count())

    def _epic_family(self) -> None:
        """One epic with its stories, tasks and bugs, started some days after its approval."""
        rng = self.rng
        project = rng.choices(cat.DELIVERY_PROJECTS, cum_weights=_PROJECT_CUM)[0]
        theme = rng.choices(cat.THEMES, cum_weights=_THEME_CUM[project])[0]
        label = "gdpr" if theme == "theme-compliance" and rng.random() < 0.6 else ""
        label = label or rng.choice(cat.EPIC_LABELS[project])
        topic = rng.choice(cat.TOPICS[project])
        summary = f"{label.capitalize()}: {topic}"
        epic = self._new(project, "Epic", rng.randint(14 * DAY, 362 * DAY), summary)
        epic.issue.labels = [label]
        if rng.random() < 0.2:
            epic.issue.labels.append(rng.choice(cat.EPIC_LABEL_VOCABULARY))
        self.epics[project].append(epic)
        self._align(epic, theme)
        approval = self._decide(epic, self._deal(_EPIC_FATE_DECK) == "cancelled")
        if approval is None:
            self._dropped_children(epic)
        else:
            epic.children = self._children(epic, approval)
            self._progress(epic, epic.children)
        self._due_date(epic, median_days=90)
        self._rank(epic)
        self._describe(epic)
        self._field_edits(epic, self._edit_count())

    def _align(self, epic: _Draft, theme: str) -> None:
        """Tie the epic to an initiative by parent, by an Implements link, both, or not at all."""
        kind = self._deal(_ALIGNMENT_DECK)
        if kind == "unaligned":
            return
        target = self._initiative_for(theme, epic.created)
        target.children.append(epic)
        if kind == "implements":
            self.links.append(("Implements", epic, target))
            return
        epic.parent = target
        if kind == "two-themes":
            other = self.rng.choice([t for t in cat.THEMES if t != theme])
            self.links.append(("Implements", epic, self.rng.choice(self.initiatives[other])))

    def _deal(self, deck: tuple[str, ...]) -> str:
        cards = self.decks.setdefault(deck, [])
        if not cards:
            cards.extend(deck)
            self.rng.shuffle(cards)
        return cards.pop()

    def _initiative_for(self, theme: str, created: int) -> _Draft:
        candidates = [i for i in self.initiatives[theme] if i.created < created]
        return self.rng.choice(candidates or self.initiatives[theme])

    def _children(self, epic: _Draft, approval: int) -> list[_Draft]:
        """The epic's level-0 items; the first starts a decision lag after the approval."""
        rng = self.rng
        lag = _days(rng.lognormvariate(1.8, 0.8))  # median about 6 days
        if self._deal(_EARLY_START_DECK) == "early":  # the team started before the decision
            lag = -int(rng.uniform(0.2, 0.8) * (approval - epic.created))
        first_start = approval + lag
        children = []
        for n in range(rng.randint(*self.shape.children)):
            span = max(first_start - epic.created, DAY) + (0 if n == 0 else 40 * DAY)
            created = epic.created + HOUR + int(rng.random() * span)
            if created >= WINDOW:
                continue
            start = first_start if n == 0 else first_start + _days(rng.expovariate(1 / 25))
            if rng.random() < 0.1:
                start = NEVER
            child = self._work_item(
                epic.issue.project, created, max(start, created + HOUR), epic.issue.labels[0]
            )
            child.parent = epic
            children.append(child)
        return children

    def _dropped_children(self, epic: _Draft) -> None:
        """A cancelled epic's few items, closed as Won't Do right after it."""
        end = epic.end if epic.end is not None else NEVER
        wf = cat.work_flow(epic.issue.project)
        for _ in range(self.rng.randint(0, 2)):
            created = epic.created + self.rng.randint(HOUR, 5 * DAY)
            if created >= WINDOW:
                return
            child = self._new(epic.issue.project, "Story", created, "")
            child.issue.summary = self._work_summary(child)
            child.parent = epic
            self._apply_steps(child, [(max(end, created) + _days(0.2), wf.cancelled)])
            self.work.append(child)
            epic.children.append(child)

    def _orphan(self) -> None:
        """A level-0 item under no epic: support work, quick fixes, unplanned requests."""
        rng = self.rng
        project = rng.choice(cat.DELIVERY_PROJECTS)
        created = rng.randint(0, WINDOW - HOUR)
        start = created + _days(rng.lognormvariate(2.0, 1.0)) if rng.random() < 0.8 else NEVER
        self._work_item(project, created, start)

    def _work_item(self, project: str, created: int, start: int, topic: str = "") -> _Draft:
        """A story, task or bug with its workflow, people, plan, edits and sub-tasks."""
        rng = self.rng
        itype = rng.choices(_LEVEL0_TYPES, cum_weights=_LEVEL0_CUM)[0]
        draft = self._new(project, itype, created, "")
        draft.issue.summary = self._work_summary(draft)
        if topic and rng.random() < 0.6:  # teams often repeat their epic's label
            draft.issue.labels.append(topic)
        if rng.random() < 0.22:
            draft.issue.labels += rng.choices(cat.WORK_LABELS, cum_weights=_WORK_LABEL_CUM)
        if rng.random() < {"Story": 0.85, "Task": 0.3, "Bug": 0.15}[itype]:
            draft.issue.story_points = float(rng.choices(_POINTS, cum_weights=_POINTS_CUM)[0])
        rounds, edits = None, self._edit_count()
        if self.long_histories and start < 0.45 * WINDOW:
            rounds, long_edits = self.long_histories.pop()
            edits = max(edits, long_edits)
        self._apply_steps(draft, self._work_steps(cat.work_flow(project), start, rounds))
        self._assign(draft)
        self._estimate(draft)
        self._due_date(draft, median_days=30)
        self._fix_version(draft)
        self._rank(draft)
        self._describe(draft)
        self._field_edits(draft, edits)
        self._subtasks(draft)
        self.work.append(draft)
        return draft

    def _work_summary(self, draft: _Draft) -> str:
        rng = self.rng
        topic = rng.choice(cat.TOPICS[draft.issue.project])
        if draft.issue.issuetype == "Bug":
            return f"{topic.capitalize()} fails when {rng.choice(cat.BUG_CONDITIONS)}"
        return f"{rng.choice(cat.VERBS)} {topic}"

    def _subtasks(self, parent: _Draft) -> None:
        """A fifth of level-0 items are split into sub-tasks, worked while the parent is."""
        rng = self.rng
        if rng.random() >= 0.2:
            return
        project = parent.issue.project
        wf = cat.work_flow(project)
        begin = parent.start if parent.start is not None else NEVER
        for _ in range(rng.randint(1, 3)):
            created = parent.created + rng.randint(MINUTE, 3 * DAY)
            if created >= WINDOW:
                return
            draft = self._new(project, "Sub-task", created, rng.choice(cat.SUBTASK_SUMMARIES))
            draft.parent = parent
            draft.issue.assignee = parent.issue.assignee
            start = max(begin, created + MINUTE) + rng.randint(0, 2 * DAY)
            self._apply_steps(draft, self._subtask_steps(wf, start))
            self._assign(draft)

    # --- workflows -------------------------------------------------------------------------

    def _decide(self, draft: _Draft, cancel: bool) -> int | None:
        """Funnel to Approved and/or Committed; the decision time, or None if cancelled."""
        rng = self.rng
        decided = draft.created + _days(rng.lognormvariate(2.2, 0.9))  # median about 9 days
        if cancel:  # before the window closes, so the cancellation is visible
            self._apply_steps(draft, [(min(decided, WINDOW), cat.CANCELLED)])
            return None
        roll = rng.random()
        if roll < 0.2:
            steps = [(decided, cat.COMMITTED)]
        else:
            steps = [(decided, cat.APPROVED)]
            if roll < 0.7:
                steps.append((decided + _days(rng.uniform(1, 10)), cat.COMMITTED))
        self._apply_steps(draft, steps)
        return decided

    def _progress(self, draft: _Draft, children: list[_Draft]) -> None:
        """A decision item goes In Progress with its first child and Done after its last."""
        starts = [child.start for child in children if child.start is not None]
        if not starts:
            return
        begin = max(min(starts), max(draft.moved, draft.created) + HOUR)
        steps = [(begin, cat.IN_PROGRESS)]
        ends = [child.end for child in children]
        if all(end is not None for end in ends) and self.rng.random() < 0.85:
            finished = max(end for end in ends if end is not None)
            steps.append((max(finished, begin) + _days(self.rng.uniform(0.1, 5)), cat.DONE))
        self._apply_steps(draft, steps)

    def _work_steps(self, wf: cat.Workflow, start: int, rounds: int | None) -> list[Step]:
        rng = self.rng
        # A long-changelog item must really be worked, so it skips the backlog shortcuts.
        roll = rng.random() if rounds is None else 0.5
        if roll < 0.06:
            return [(start, wf.done)]  # closed from the backlog without ever being started
        if roll < 0.10:
            return [(start, wf.cancelled)]
        steps = [(start, wf.doing)]
        if roll < 0.13:  # stalled: parked or blocked for good, so it ages as work in progress
            blocked = start + _days(rng.uniform(1, 10))
            return steps if roll < 0.115 else [*steps, (blocked, wf.blocked)]
        at = self._working(wf, start, steps, rounds)
        if roll < 0.17:
            steps.append((at, wf.cancelled))  # abandoned mid-flight
            return steps
        steps.append((at, wf.done))
        if roll > 0.92:  # reopened: QA or a customer found it was not done after all
            at += _days(rng.uniform(0.5, 20))
            steps.append((at, wf.doing))
            at = self._working(wf, at, steps, 0)
            if rng.random() < 0.6:
                steps.append((at, wf.done))
        return steps

    def _working(self, wf: cat.Workflow, at: int, steps: list[Step], rounds: int | None) -> int:
        """Append the work between In Progress and Done (blocks, review rounds); the end time."""
        rng = self.rng
        at += _days(rng.lognormvariate(1.5, 0.9))  # median about 4.5 days of work
        if rng.random() < 0.18:  # blocked on another team, a vendor or a decision
            steps.append((at, wf.blocked))
            at += _days(rng.lognormvariate(1.3, 0.8))
            steps.append((at, wf.doing))
            at += _days(rng.lognormvariate(0.3, 0.7))
        if rounds is None:
            rounds = rng.choices((0, 1, 2, 3), cum_weights=(25, 85, 97, 100))[0]
        for n in range(rounds):
            steps.append((at, wf.review))
            at += _days(rng.lognormvariate(-0.4, 0.8))  # a review waits most of a day
            if n < rounds - 1:
                steps.append((at, wf.doing))
                at += _days(rng.lognormvariate(-0.6, 0.7))
        return at

    def _subtask_steps(self, wf: cat.Workflow, start: int) -> list[Step]:
        roll = self.rng.random()
        if roll < 0.08:
            return [(start, wf.done)]
        if roll < 0.13:
            return [(start, wf.cancelled)]
        return [(start, wf.doing), (start + _days(self.rng.lognormvariate(-0.3, 0.8)), wf.done)]

    def _apply_steps(self, draft: _Draft, steps: list[Step]) -> None:
        """Record the status changes up to ``now``; later ones have not happened yet."""
        issue = draft.issue
        author = issue.assignee or issue.reporter or self.users[0]
        status = issue.status
        for at, target in steps:
            if at > WINDOW:
                break
            draft.events.append((at, author, _transition(status, target)))
            category = _CATEGORY[target]
            draft.end = at if category == "done" else None
            if category == "indeterminate" and draft.start is None:
                draft.start = at
            draft.moved = at
            status = target
        issue.status = status

    # --- people, plans and edits -----------------------------------------------------------

    def _assign(self, draft: _Draft) -> None:
        """Backlog items are often unassigned; started ones are picked up, some handed over."""
        rng = self.rng
        issue = draft.issue
        if draft.start is None:
            if rng.random() < 0.4:
                issue.assignee = None
            return
        holders: list[str | None] = [issue.assignee]
        times: list[int] = []
        if rng.random() < 0.12:
            others = [u for u in self.teams[issue.project] if u != issue.assignee]
            holders.insert(0, rng.choice(others))
            latest = WINDOW if draft.end is None else draft.end
            times.append(rng.randint(draft.start + MINUTE, max(latest, draft.start + MINUTE)))
        if rng.random() < 0.5:
            holders.insert(0, None)
            times.insert(0, max(draft.created + MINUTE, draft.start - rng.randint(0, 2 * HOUR)))
        for (before, after), at in zip(itertools.pairwise(holders), times, strict=True):
            item = ChangeItem(
                "assignee",
                "jira",
                "assignee",
                before,
                self.names[before] if before else None,
                after,
                self.names[after] if after else None,
            )
            draft.events.append((at, after or self.users[0], [item]))

    def _when(self, draft: _Draft, latest: int) -> int | None:
        """A random moment after the draft's creation, no later than ``latest`` or now."""
        low, high = draft.created + MINUTE, min(latest, WINDOW)
        return self.rng.randint(low, high) if low <= high else None

    def _record(self, draft: _Draft, at: int, item: ChangeItem, author: str | None = None) -> None:
        author = author or draft.issue.assignee or draft.issue.reporter or self.users[0]
        draft.events.append((at, author, [item]))

    def _estimate(self, draft: _Draft) -> None:
        """Most estimates are given in refinement after creation; some are revised later."""
        rng = self.rng
        points = draft.issue.story_points
        if points is None or rng.random() >= 0.7:
            return
        latest = min(WINDOW if draft.start is None else draft.start, draft.created + 10 * DAY)
        at = self._when(draft, latest)
        if at is None:
            return
        first = points
        revised = at + rng.randint(HOUR, 5 * DAY)
        if rng.random() < 0.2 and revised <= WINDOW:
            first = float(rng.choice([p for p in _POINTS if p != points]))
            self._record(draft, revised, _points_change(first, points))
        self._record(draft, at, _points_change(None, first))

    def _due_date(self, draft: _Draft, median_days: float) -> None:
        """Due dates on about 30%, often set or moved after creation; met or missed as it goes."""
        rng = self.rng
        if rng.random() >= 0.3:
            return
        due = self._at(draft.created + _days(rng.lognormvariate(math.log(median_days), 0.5)))
        draft.issue.duedate = due.date()
        roll = rng.random()
        at = self._when(draft, draft.created + 20 * DAY)
        if roll >= 0.7 or at is None:
            return
        # Below 0.25 the date slipped: it was set at creation and moved later.
        before = (due - timedelta(days=rng.randint(3, 30))).date() if roll < 0.25 else None
        self._record(draft, at, _due_change(before, due.date()))

    def _fix_version(self, draft: _Draft) -> None:
        """Done work ships in the next release; some work in flight is planned for one."""
        rng = self.rng
        project = draft.issue.project
        if draft.end is not None and draft.issue.status not in cat.CANCELLING_STATUSES:
            if rng.random() >= 0.6:
                return
            anchor = draft.end
        elif draft.start is not None and draft.end is None and rng.random() < 0.3:
            anchor = WINDOW  # in flight: the next release after now
        else:
            return
        index = bisect.bisect_left(self.release_times[project], anchor)
        if index >= len(self.versions[project]):
            return
        version = self.versions[project][index]
        draft.issue.fix_versions = [version.name]
        at = self._when(draft, anchor + DAY)
        if at is not None and rng.random() < 0.7:
            item = ChangeItem(
                "Fix Version", "jira", "fixVersions", None, None, version.id, version.name
            )
            self._record(draft, at, item)

    def _rank(self, draft: _Draft) -> None:
        """Backlog grooming reorders items again and again: the noise that fills changelogs."""
        rng = self.rng
        latest = WINDOW if draft.start is None else draft.start
        for _ in range(rng.choices(_RANKINGS, cum_weights=_RANKINGS_CUM)[0]):
            at = self._when(draft, latest)
            if at is None:
                return
            moved = "Ranked higher" if rng.random() < 0.6 else "Ranked lower"
            item = ChangeItem("Rank", "custom", cat.RANK_FIELD_ID, "", "", "", moved)
            self._record(draft, at, item, draft.issue.reporter)

    def _describe(self, draft: _Draft) -> None:
        """Descriptions written or refined after creation; the model keeps no description."""
        rng = self.rng
        text = None
        for _ in range(rng.choices((0, 1, 2, 3), cum_weights=(55, 80, 95, 100))[0]):
            at = self._when(draft, WINDOW if draft.start is None else draft.start + 2 * DAY)
            if at is None:
                return
            before, text = text, rng.choice(cat.DESCRIPTIONS)
            self._record(
                draft,
                at,
                ChangeItem("description", "jira", "description", None, before, None, text),
            )

    def _renames(self) -> None:
        """A few summaries were reworded after creation (adversarial ones included)."""
        rng = self.rng
        for draft in self.drafts:
            if draft.level < 0 or rng.random() >= 0.05:
                continue
            at = self._when(draft, WINDOW)
            if at is None:
                continue
            summary = draft.issue.summary
            before = rng.choice(("TBD", "New item", summary.lower(), f"{summary} (draft)"))
            item = ChangeItem("summary", "jira", "summary", None, before, None, summary)
            self._record(draft, at, item)

    def _edit_count(self) -> int:
        return 0 if self.rng.random() < 0.85 else self.rng.randint(1, 3)

    def _field_edits(self, draft: _Draft, count: int) -> None:
        """Priority changes on anything, label changes below initiatives (themes stay put)."""
        if count == 0 or draft.created + MINUTE > WINDOW:
            return
        rng = self.rng
        issue = draft.issue
        author = issue.reporter or self.users[0]
        for at in sorted(rng.randint(draft.created + MINUTE, WINDOW) for _ in range(count)):
            if draft.level < 2 and rng.random() < 0.4:
                vocabulary = cat.EPIC_LABEL_VOCABULARY if draft.level == 1 else cat.WORK_LABELS
                label = rng.choice(vocabulary)
                before = " ".join(issue.labels)
                if label in issue.labels:
                    issue.labels.remove(label)
                else:
                    issue.labels.append(label)
                item = ChangeItem(
                    "labels", "jira", "labels", None, before, None, " ".join(issue.labels)
                )
            else:
                target = rng.choice([p for p in _PRIORITY_NAMES if p != issue.priority])
                item = _priority_change(issue.priority, target)
                issue.priority = target
            draft.events.append((at, author, [item]))

    # --- structure changes -----------------------------------------------------------------

    def _reparent(self, drafts: list[_Draft], pool_of: _PoolOf) -> None:
        """Move a few items from another parent (or from none) to their current one mid-life."""
        rng = self.rng
        for draft in drafts:
            roll = rng.random()
            if draft.parent is None or roll >= 0.06:
                continue
            previous = None
            if roll < 0.04:
                # The former parent must have existed when the item was created.
                pool = pool_of(draft)
                candidates = (rng.choice(pool) for _ in range(3))
                fits = (
                    c for c in candidates if c is not draft.parent and c.created < draft.created
                )
                previous = next(fits, None)
                if previous is None:
                    continue
            latest = draft.end if draft.end is not None else WINDOW
            if draft.created + MINUTE > latest:
                continue
            item = ChangeItem(PARENT_CHANGE, "jira", PARENT_CHANGE, None, None, None, None)
            at = rng.randint(draft.created + MINUTE, latest)
            draft.events.append((at, draft.issue.reporter or self.users[0], [item]))
            self.moves.append((item, previous, draft.parent))

    def _dependencies(self) -> None:
        """Blocks between siblings and Relates across the portfolio, on a few items."""
        rng = self.rng
        for draft in self.work:
            roll = rng.random()
            if roll < 0.03 and draft.parent is not None:
                other = rng.choice(draft.parent.children)
                if other is not draft:
                    self.links.append(("Blocks", draft, other))
            elif roll < 0.05:
                other = rng.choice(self.work)
                if other is not draft:
                    self.links.append(("Relates", draft, other))

    # --- assembly --------------------------------------------------------------------------

    def _assemble(self) -> Portfolio:
        """Number the issues in creation order, resolve references and build the histories."""
        portfolio = Portfolio(now=self.now)
        cat.install(portfolio, self.shape.users)
        for versions in self.versions.values():
            portfolio.versions.update(((v.project, v.name), v) for v in versions)
        ordered = sorted(self.drafts, key=_created)
        numbers = dict.fromkeys(portfolio.projects, 0)
        for n, draft in enumerate(ordered):
            numbers[draft.issue.project] += 1
            draft.issue.id = 10001 + n
            draft.issue.key = f"{draft.issue.project}-{numbers[draft.issue.project]}"
        self._resolve_references()
        history_ids = itertools.count(100001)
        for draft in ordered:
            self._finish(draft, history_ids)
            portfolio.add_issue(draft.issue)
        return portfolio

    def _resolve_references(self) -> None:
        for item, before, after in self.moves:
            if before is not None:
                item.from_id, item.from_string = str(before.issue.id), before.issue.key
            item.to_id, item.to_string = str(after.issue.id), after.issue.key
        for link_id, (type_name, outward, inward) in enumerate(self.links, 20001):
            outward.issue.links.append(
                IssueLink(str(link_id), type_name, "outward", inward.issue.key)
            )
            inward.issue.links.append(
                IssueLink(str(link_id), type_name, "inward", outward.issue.key)
            )
            self._link_histories(type_name, outward, inward)

    def _link_histories(self, type_name: str, outward: _Draft, inward: _Draft) -> None:
        """Jira records a new link in both issues' changelogs, worded from each side."""
        link_type = next(t for t in cat.LINK_TYPES if t.name == type_name)
        latest = max(outward.created, inward.created)
        at = self.rng.randint(latest + 1, max(latest + 1, min(latest + 3 * DAY, WINDOW)))
        sides = ((outward, link_type.outward, inward), (inward, link_type.inward, outward))
        for this, verb, other in sides:
            key = other.issue.key
            # Filed under the links field's id (what bulk fetch's fieldIds names; unverified).
            item = ChangeItem(
                "Link", "jira", "issuelinks", None, None, key, f"This issue {verb} {key}"
            )
            self._record(this, at, item, outward.issue.reporter)

    def _finish(self, draft: _Draft, history_ids: itertools.count[int]) -> None:
        issue = draft.issue
        issue.created = self._at(draft.created)
        if draft.parent is not None:
            issue.parent = draft.parent.issue.key
        draft.events.sort(key=_first)
        issue.histories = [
            History(next(history_ids), self._at(at), author, items)
            for at, author, items in draft.events
        ]
        issue.updated = issue.histories[-1].created if issue.histories else issue.created
        if draft.end is not None:
            issue.resolutiondate = self._at(draft.end)
        draft.events = []  # the histories hold them now; free the drafts' share early


_first = itemgetter(0)


def _created(draft: _Draft) -> int:
    return draft.created


def _transition(source: str, target: str) -> list[ChangeItem]:
    """A status change, with the resolution set or cleared when it enters or leaves done."""
    items = [
        ChangeItem(
            "status",
            "jira",
            "status",
            cat.STATUS_IDS[source],
            source,
            cat.STATUS_IDS[target],
            target,
        )
    ]
    was_done, is_done = _CATEGORY[source] == "done", _CATEGORY[target] == "done"
    if is_done and not was_done:
        items.append(_resolution(None, cat.resolution_for(target)))
    elif was_done and not is_done:
        items.append(_resolution(cat.resolution_for(source), None))
    return items


def _resolution(before: tuple[str, str] | None, after: tuple[str, str] | None) -> ChangeItem:
    from_id, from_name = before or (None, None)
    to_id, to_name = after or (None, None)
    return ChangeItem("resolution", "jira", "resolution", from_id, from_name, to_id, to_name)


def _priority_change(before: str, after: str) -> ChangeItem:
    return ChangeItem(
        "priority",
        "jira",
        "priority",
        cat.PRIORITY_IDS[before],
        before,
        cat.PRIORITY_IDS[after],
        after,
    )


def _points_change(before: float | None, after: float) -> ChangeItem:
    # A flavour-neutral name; the renderer shows the flavour's real field.
    field = STORY_POINTS_CHANGE
    return ChangeItem(field, "custom", field, None, _points(before), None, _points(after))


def _points(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if value.is_integer() else str(value)


def _due_change(before: date | None, after: date) -> ChangeItem:
    # Jira shows the raw date as the id and a midnight timestamp as the string.
    return ChangeItem(
        "duedate",
        "jira",
        "duedate",
        before.isoformat() if before else None,
        f"{before} 00:00:00.0" if before else None,
        after.isoformat(),
        f"{after} 00:00:00.0",
    )
