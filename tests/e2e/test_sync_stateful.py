"""Any sequence of changes in Jira and of killed syncs leaves, after the next plain sync, the cache
a fresh full sync makes: a stateful property test (hypothesis) against the sandbox, per flavour.

Each step changes Jira through its REST API (a re-parent, an anchor leaving or rejoining its
theme, an issue moved out of or back into the sync scope, a deletion, a transition) or arms a
kill: the next sync runs as a `restrat-sync sync` process, SIGKILLed at the start of a phase.
Then an incremental sync without reconciliation must hold every issue a fresh full sync holds,
with the same parents, transitions and status catalogue; and one that reconciles must hold
exactly those. The examples are derandomized, so CI runs the same sequences every time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sandbox.model import Issue
from tests.e2e.conftest import NOW
from tests.e2e.convergence import (
    PARKED,
    PHASES,
    JiraWriter,
    SyncedSite,
    assert_covers,
    assert_same,
    narrow_config,
)
from tests.e2e.sandbox_truth import descendants

THEMES = ("theme-growth", "theme-reliability", "theme-experience", "theme-compliance")
STEPS = settings(
    max_examples=6,
    stateful_step_count=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(params=["cloud", "datacenter"])
def server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with create_sandbox(SandboxOptions(flavor=request.param, port=0), "small", NOW) as running:
        yield running


class Convergence(RuleBasedStateMachine):
    """One cache synced from the sandbox; every rule ends with the syncs and the comparison."""

    site: SyncedSite  # set by the test, per flavour

    def __init__(self) -> None:
        super().__init__()
        self.jira = JiraWriter(self.site.server)
        self.kill: str | None = None
        self.left: dict[str, str] = {}  # anchors that left their theme: the label they had
        self.parked: set[str] = set()

    @initialize(kill=st.sampled_from(sorted(PHASES)))
    def first_sync(self, kill: str) -> None:
        """Jira as generated, an empty cache, and a first plain sync killed at a phase."""
        self.site.start_over()
        self.kill = kill
        self.sync_and_compare()

    @rule(phase=st.sampled_from(list(PHASES)))
    def kill_the_next_sync(self, phase: str) -> None:
        self.kill = phase

    @precondition(lambda self: self.only_below())
    @rule(data=st.data())
    def reparent(self, data: st.DataObject) -> None:
        """An epic, story or (on Cloud) sub-task that the sync reaches only through a theme's
        tree moves under another parent of its level, in a tree or not, or under none."""
        child = data.draw(st.sampled_from(self.only_below()))
        level = self.jira.level(child)
        parents = self.keys(0 if level == -1 else level + 1)
        parent = data.draw(st.sampled_from([*([None] if level >= 0 else []), *parents]))
        self.jira.reparent(child, parent)
        self.sync_and_compare()

    @precondition(lambda self: self.subtrees())
    @rule(data=st.data())
    def move_a_subtree_out_of_the_tree(self, data: st.DataObject) -> None:
        """An epic or story with children, reached only through a theme's tree, moves under a
        parent no theme reaches, or under none: its children must leave with it."""
        child = data.draw(st.sampled_from(self.subtrees()))
        reached = self.tree() | set(self.anchors())
        outside = self.keys(self.jira.level(child) + 1, where=lambda i: i.key not in reached)
        self.jira.reparent(child, data.draw(st.sampled_from([None, *outside])))
        self.sync_and_compare()

    @precondition(lambda self: self.anchors())
    @rule(data=st.data())
    def anchor_leaves_its_theme(self, data: st.DataObject) -> None:
        anchor = data.draw(st.sampled_from(self.anchors()))
        (label,) = set(self.jira.labels(anchor)) & set(THEMES)
        self.jira.label(anchor, remove=label)
        self.left[anchor] = label
        self.sync_and_compare()

    @precondition(lambda self: self.left)
    @rule(data=st.data())
    def anchor_back_in_a_theme(self, data: st.DataObject) -> None:
        """An anchor that left rejoins its theme, or joins another one."""
        anchor = data.draw(st.sampled_from(sorted(self.left)))
        label = data.draw(st.sampled_from([self.left.pop(anchor), *THEMES]))
        self.jira.label(anchor, add=label)
        self.sync_and_compare()

    @rule(data=st.data())
    def move_out_of_scope(self, data: st.DataObject) -> None:
        issue = data.draw(st.sampled_from(self.keys(-1, 0, 1, where=_in_scope)))
        self.jira.label(issue, add=PARKED)
        self.parked.add(issue)
        self.sync_and_compare()

    @precondition(lambda self: self.parked)
    @rule(data=st.data())
    def move_back_into_scope(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.parked)))
        self.parked.discard(key)
        self.jira.label(key, remove=PARKED)
        self.sync_and_compare()

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        """An issue (an epic's or a story's sub-tree loses its parent) is deleted."""
        tree = self.tree()
        synced = self.keys(-1, 0, 1, where=lambda i: i.key in tree or _in_scope(i))
        issue = data.draw(st.sampled_from(synced))
        self.jira.delete(issue)
        self.parked.discard(issue)
        self.sync_and_compare()

    @rule(data=st.data())
    def transition(self, data: st.DataObject) -> None:
        issue = data.draw(st.sampled_from(self.keys(-1, 0, 1, 2)))
        status = data.draw(st.sampled_from(self.jira.statuses_to(issue)))
        self.jira.transition(issue, status)
        self.sync_and_compare()

    def sync_and_compare(self) -> None:
        if self.kill is not None:
            self.site.kill_at(self.kill)
            self.kill = None
        fresh = self.site.fresh_view()
        self.site.sync(reconcile=False)
        assert_covers(self.site.view(), fresh)
        self.site.sync(reconcile=True)
        assert_same(self.site.view(), fresh)

    def only_below(self) -> list[str]:
        """Epics, stories and (on Cloud) sub-tasks that only a theme's tree brings into sync."""
        levels = (-1, 0, 1) if self.jira.flavor == "cloud" else (0, 1)
        tree = self.tree()
        return self.keys(*levels, where=lambda i: i.key in tree and not _in_scope(i))

    def subtrees(self) -> list[str]:
        """Those of ``only_below`` that are epics or stories with children."""
        portfolio = self.site.server.state.portfolio
        with portfolio.lock:
            parents = {i.parent for i in portfolio.issues.values()}
        return [key for key in self.only_below() if key in parents and self.jira.level(key) >= 0]

    def tree(self) -> set[str]:
        """The keys below the theme anchors."""
        portfolio = self.site.server.state.portfolio
        with portfolio.lock:
            return descendants(portfolio, set(self.anchors()))

    def anchors(self) -> list[str]:
        return self.keys(2, where=lambda issue: bool(set(issue.labels) & set(THEMES)))

    def keys(self, *levels: int, where: Callable[[Issue], bool] = lambda _: True) -> list[str]:
        """Keys of the sandbox's issues at ``levels`` (and ``where``), in order (for the
        choices only: every change goes through the REST API)."""
        portfolio = self.site.server.state.portfolio
        with portfolio.lock:
            chosen = [
                i for i in portfolio.issues.values() if portfolio.level_of(i) in levels and where(i)
            ]
        return [i.key for i in sorted(chosen, key=lambda i: (i.project, i.number))]


def _in_scope(issue: Issue) -> bool:
    return issue.project in ("PAY", "MOB") and PARKED not in issue.labels


def test_any_sequence_of_changes_and_kills_converges(
    server: SandboxServer, config_dir: Path, tmp_path: Path
) -> None:
    """After every step, the cache holds what a fresh full sync holds (see the module)."""
    Convergence.site = SyncedSite(server, narrow_config(config_dir), tmp_path)
    run_state_machine_as_test(Convergence, settings=STEPS)
