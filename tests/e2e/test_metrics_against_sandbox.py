"""Metrics end to end: sync the sandbox over HTTP, compute, and compare velocity, flow time and
alignment variance (and each initiative's velocity and effort) with an independent calculation
from the sandbox's own data.

The calculation here is deliberately naive: it replays each sandbox issue's histories item by
item and walks the hierarchy per theme (or per initiative), sharing no code with
``restrat_sync.metrics`` or ``restrat_sync.model``. For the graph with memory (the default
``attribution: history``) it rebuilds the whole graph at every moment a parent or a link
changed, and credits each active day and each finish to the theme (or initiative) of its moment.
"""

from __future__ import annotations

import json
import statistics
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import pytest

from restrat_sandbox import SandboxServer
from restrat_sandbox.jql import JqlContext, search
from restrat_sandbox.model import Issue, Portfolio
from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.cli import main
from restrat_sync.config import UNALIGNED, LoadedConfig, load_config
from restrat_sync.http import create_session
from restrat_sync.metrics.compute import OVERALL, initiative_scope, observed, theme_scope
from restrat_sync.metrics.runner import MetricsRun, compute_and_store
from restrat_sync.model.periods import Period, parse_period
from restrat_sync.starter import write_starter
from restrat_sync.sync import SyncOptions, open_syncer
from tests.e2e.conftest import NOW, settings_for
from tests.e2e.sandbox_truth import expected_keys

PERIODS = ("2026-10", "2026-W45", "last-4-weeks", "2026-Q3")


@dataclass
class Computed:
    run: MetricsRun
    loaded: LoadedConfig
    cache: Cache
    database_url: str


@pytest.fixture(scope="module")
def computed(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Computed]:
    """The sandbox synced into a fresh cache and every period of PERIODS computed."""
    workdir = tmp_path_factory.mktemp("metrics")
    write_starter(workdir)
    settings = settings_for(sandbox, workdir)
    loaded = load_config(workdir / "config" / "restrat.yaml")
    open_syncer(settings, loaded, create_session()).run(SyncOptions(full=True))
    cache = open_cache(settings.effective_database_url)
    periods = [parse_period(label, NOW, loaded.config.timezone) for label in PERIODS]
    try:
        run = compute_and_store(cache, loaded.config, periods, NOW)
        yield Computed(run, loaded, cache, settings.effective_database_url)
    finally:
        cache.close()


# --- the independent calculation ----------------------------------------------------------------


@dataclass
class Truth:
    start: datetime | None
    end: datetime | None
    done: bool
    active: list[tuple[datetime, datetime]]  # intervals spent in active states


def flow_state(portfolio: Portfolio, loaded: LoadedConfig, status: str) -> str:
    for name, state in loaded.config.status_map.items():
        if name.lower() == status.lower():
            return state
    category = portfolio.statuses[status].category
    return {"new": "new", "indeterminate": "active", "done": "done"}[category]


def replay(portfolio: Portfolio, loaded: LoadedConfig, issue: Issue) -> Truth:
    changes = [
        (history.created, history.id, item.from_string, item.to_string)
        for history in sorted(issue.histories, key=lambda h: (h.created, h.id))
        for item in history.items
        if item.field == "status"
    ]
    status = changes[0][2] if changes else issue.status
    state, since = flow_state(portfolio, loaded, status), issue.created
    start = end = None
    active: list[tuple[datetime, datetime]] = []
    for at, _, _, to_status in changes:
        new_state = flow_state(portfolio, loaded, to_status)
        if state == "active" and at > since:
            active.append((since, at))
        if start is None and new_state in ("active", "waiting"):
            start = at
        if new_state in ("done", "cancelled"):
            end = at if (new_state != state or end is None) else end
        else:
            end = None
        state, since = new_state, at
    if state == "active":
        active.append((since, NOW))
    return Truth(start, end, state == "done" and end is not None, active)


def velocity_items(truths: dict[str, Truth], period: Period) -> list[str]:
    return sorted(
        key
        for key, t in truths.items()
        if t.done and t.end is not None and period.start <= t.end < period.end
    )


def anchors_of(portfolio: Portfolio, loaded: LoadedConfig, server: SandboxServer) -> list[set[str]]:
    """Each theme's anchors, in config order, as the theme JQL selects them now (the first sync
    saw them; nothing earlier is known, so they are taken as members since forever)."""
    ctx = JqlContext(portfolio, server.state.caller(), portfolio.now)
    return [{i.key for i in search(ctx, loaded.theme_jql(t).query)} for t in loaded.config.themes]


def parent_at(issue: Issue, moment: datetime) -> str | None:
    """The hierarchy parent at ``moment``: the sandbox keeps every hierarchy change under its
    neutral ``parent`` item, with the keys before and after."""
    moves = sorted(
        (history.created, history.id, item.from_string, item.to_string)
        for history in issue.histories
        for item in history.items
        if item.field == "parent"
    )
    if not moves:
        return issue.parent
    if moment < moves[0][0]:
        return moves[0][2]
    later = [move for move in moves if move[0] > moment]
    return later[0][2] if later else issue.parent


def linked_since(issue: Issue, other: str) -> datetime | None:
    """When the issue's changelog says a link to ``other`` was made (None: it does not)."""
    return min(
        (h.created for h in issue.histories for i in h.items
         if i.field == "Link" and i.to_string and i.to_string.endswith(f" {other}")),
        default=None,
    )  # fmt: skip


def themes_at(
    portfolio: Portfolio,
    loaded: LoadedConfig,
    anchors: list[tuple[str, set[str]]],
    moment: datetime,
) -> dict[str, str]:
    """Bucket of each issue at ``moment``, by breadth-first search per bucket (a theme, or an
    initiative) over the graph of that moment; nearest anchor, then the order of ``anchors``."""
    children: dict[str, list[str]] = {}
    rules = {(r.type.lower(), r.direction) for r in loaded.config.hierarchy.links}
    for issue in portfolio.issues.values():
        parent = parent_at(issue, moment)
        if parent:
            children.setdefault(parent, []).append(issue.key)
        for link in issue.links:
            since = linked_since(issue, link.other_key)
            if (link.type_name.lower(), link.direction) in rules and (
                since is None or since <= moment
            ):
                children.setdefault(link.other_key, []).append(issue.key)
    best: dict[str, tuple[int, int, str]] = {}
    for order, (bucket, members) in enumerate(anchors):
        distance = dict.fromkeys(members, 0)
        queue = deque(members)
        while queue:
            key = queue.popleft()
            for child in children.get(key, []):
                if child not in distance:
                    distance[child] = distance[key] + 1
                    queue.append(child)
        for key, hops in distance.items():
            if key not in best or (hops, order) < best[key][:2]:
                best[key] = (hops, order, bucket)
    return {key: value[2] for key, value in best.items()}


@dataclass
class Themes:
    """Every issue's theme over time: the moments the structure changed, and the themes from
    each of them on (before the first, the themes of the start of time)."""

    moments: list[datetime]
    themes: list[dict[str, str]]  # themes[i]: from moments[i - 1] (or forever) to moments[i]

    def at(self, key: str, moment: datetime) -> str:
        position = sum(1 for m in self.moments if m <= moment)
        return self.themes[position].get(key, UNALIGNED)

    def stretches(self) -> list[tuple[datetime, datetime, dict[str, str]]]:
        bounds = [datetime.min.replace(tzinfo=NOW.tzinfo), *self.moments, NOW.replace(year=9999)]
        return [
            (low, high, themes)
            for (low, high), themes in zip(pairwise(bounds), self.themes, strict=True)
        ]


def themes_over_time(portfolio: Portfolio, loaded: LoadedConfig, server: SandboxServer) -> Themes:
    found = anchors_of(portfolio, loaded, server)
    anchors = [(t.key, members) for t, members in zip(loaded.config.themes, found, strict=True)]
    return over_time(portfolio, loaded, anchors)


def initiatives_over_time(
    portfolio: Portfolio, loaded: LoadedConfig, initiatives: list[str]
) -> Themes:
    """Every issue's initiative over time: each initiative its own bucket, ties to the smaller
    key (compared as strings)."""
    return over_time(portfolio, loaded, [(key, {key}) for key in sorted(initiatives)])


def over_time(
    portfolio: Portfolio, loaded: LoadedConfig, anchors: list[tuple[str, set[str]]]
) -> Themes:
    moments = sorted(
        {h.created for issue in portfolio.issues.values() for h in issue.histories
         for i in h.items if i.field in ("parent", "Link")}
    )  # fmt: skip
    first = datetime.min.replace(tzinfo=NOW.tzinfo)
    themes = [themes_at(portfolio, loaded, anchors, m) for m in [first, *moments]]
    return Themes(moments, themes)


def clipped(
    intervals: list[tuple[datetime, datetime]], low: datetime, high: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of ``intervals`` inside [low, high)."""
    return [(max(a, low), min(b, high)) for a, b in intervals if min(b, high) > max(a, low)]


def overlap_days(intervals: list[tuple[datetime, datetime]], period: Period) -> float:
    seconds = 0.0
    for low, high in intervals:
        low, high = max(low, period.start), min(high, period.end)
        if high > low:
            seconds += (high - low).total_seconds()
    return seconds / 86_400


@pytest.fixture(scope="module")
def truth(sandbox: SandboxServer, computed: Computed) -> tuple[dict[str, Truth], Themes]:
    portfolio = sandbox.state.portfolio
    synced = expected_keys(sandbox, computed.loaded)
    flow_level = computed.loaded.config.hierarchy.flow_level
    truths = {
        key: replay(portfolio, computed.loaded, portfolio.issues[key])
        for key in synced
        if portfolio.level_of(portfolio.issues[key]) == flow_level
    }
    return truths, themes_over_time(portfolio, computed.loaded, sandbox)


@pytest.fixture(scope="module")
def initiative_truth(sandbox: SandboxServer, computed: Computed) -> tuple[list[str], Themes]:
    """The initiatives (the starter config's anchors are initiatives: every synced item at
    level 2) and every issue's initiative over time."""
    portfolio = sandbox.state.portfolio
    initiatives = sorted(
        key
        for key in expected_keys(sandbox, computed.loaded)
        if portfolio.level_of(portfolio.issues[key]) == 2
    )
    return initiatives, initiatives_over_time(portfolio, computed.loaded, initiatives)


# --- the comparisons ----------------------------------------------------------------------------


@pytest.mark.parametrize("label", PERIODS)
def test_velocity_matches_the_sandbox(computed: Computed, truth: tuple, label: str) -> None:
    """Velocity per scope is the count of flow-level items the sandbox shows done in the period."""
    truths, themes = truth
    result = next(p for p in computed.run.periods if p.period.label == label)
    expected = velocity_items(truths, result.period)
    assert expected, f"the sandbox finished nothing in {label}: the comparison would be empty"
    assert list(result.of(OVERALL, "flow").velocity.keys) == expected
    for theme in computed.loaded.config.themes:
        # Credited to the theme the item had when it finished.
        in_theme = [key for key in expected if themes.at(key, truths[key].end) == theme.key]  # type: ignore[arg-type]
        assert result.of(theme_scope(theme.key), "flow").velocity.count == len(in_theme)


@pytest.mark.parametrize("label", PERIODS)
def test_velocity_and_effort_per_initiative_match_the_sandbox(
    computed: Computed, truth: tuple, initiative_truth: tuple, label: str
) -> None:
    """Each initiative's velocity counts the items finished below it (at their finish), its
    effort the active days spent below it; the product finds the same initiatives."""
    truths, _ = truth
    initiatives, of_initiative = initiative_truth
    result = next(p for p in computed.run.periods if p.period.label == label)
    assert list(computed.run.prepared.initiatives) == initiatives
    finished = velocity_items(truths, result.period)
    effort: dict[str, float] = {}
    for low, high, initiative_of in of_initiative.stretches():
        for key, t in truths.items():
            if key in initiative_of:
                days = overlap_days(clipped(t.active, low, high), observed(result.period, NOW))
                effort[initiative_of[key]] = effort.get(initiative_of[key], 0.0) + days
    assert any(effort.values()), f"no work below an initiative in {label}"
    for key in initiatives:
        below = [k for k in finished if of_initiative.at(k, truths[k].end) == key]
        scope = initiative_scope(key)
        assert result.of(scope, "flow").velocity.keys == tuple(below)
        assert result.of(scope, "effort").effort == pytest.approx(effort.get(key, 0.0), abs=1e-6)


@pytest.mark.parametrize("label", PERIODS)
def test_flow_time_matches_the_sandbox(computed: Computed, truth: tuple, label: str) -> None:
    """The median flow time is the median of end - start over the velocity items that started."""
    truths, _ = truth
    result = next(p for p in computed.run.periods if p.period.label == label)
    days = [
        (truths[key].end - truths[key].start).total_seconds() / 86_400  # type: ignore[operator]
        for key in velocity_items(truths, result.period)
        if truths[key].start is not None
    ]
    assert result.of(OVERALL, "flow").flow_time.median_days == pytest.approx(
        statistics.median(days)
    )


@pytest.mark.parametrize("label", PERIODS)
def test_alignment_variance_matches_the_sandbox(
    computed: Computed, truth: tuple, label: str
) -> None:
    """AV is half the summed distance between active-day shares and the quarter's targets; each
    day active is credited to the theme the item had that day."""
    truths, themes = truth
    result = next(p for p in computed.run.periods if p.period.label == label)
    effort: dict[str, float] = {}
    for low, high, theme_of in themes.stretches():
        for key, t in truths.items():
            bucket = theme_of.get(key, UNALIGNED)
            days = overlap_days(clipped(t.active, low, high), result.period)
            effort[bucket] = effort.get(bucket, 0.0) + days
    total = sum(effort.values())
    planned = computed.loaded.config.planned_shares(result.period.quarter)
    expected = 0.5 * sum(abs(effort.get(b, 0.0) / total - share) for b, share in planned.items())
    assert total > 0
    assert result.of(OVERALL, "alignment").av == pytest.approx(expected, abs=1e-9)


def test_snapshots_are_stored_per_period_and_replaced_on_recompute(computed: Computed) -> None:
    """Each period's snapshots are stored once per scope and metric; computing again replaces
    them instead of adding rows."""
    before = read_snapshots(computed.cache, periods=["2026-10"])
    period = parse_period("2026-10", NOW, computed.loaded.config.timezone)
    compute_and_store(computed.cache, computed.loaded.config, [period], NOW)
    after = read_snapshots(computed.cache, periods=["2026-10"])
    assert [(s.scope, s.metric) for s in after] == [(s.scope, s.metric) for s in before]
    assert len({(s.scope, s.metric) for s in after}) == len(after)
    assert [s.value for s in after] == [s.value for s in before]


def test_metrics_command_prints_the_table_and_json(
    computed: Computed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`restrat-sync metrics` on the synced cache: a row per theme, and JSON whose numbers are
    the computed ones."""
    monkeypatch.setenv("RESTRAT_DATABASE_URL", computed.database_url)
    config = str(computed.loaded.path)
    assert main(["metrics", "--period", "2026-10", "--config", config]) == 0
    table = capsys.readouterr().out
    for theme in computed.loaded.config.themes:
        assert any(line.startswith(theme.key) for line in table.splitlines())
    assert main(["metrics", "--period", "2026-10", "--json", "--config", config]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "restrat-sync/metrics/1"
    assert document["period"]["label"] == "2026-10"
    stored = next(p for p in computed.run.periods if p.period.label == "2026-10")
    velocity = document["scopes"]["overall"]["flow"]["velocity"]
    assert velocity["count"] == stored.of(OVERALL, "flow").velocity.count
    assert document["scopes"]["overall"]["alignment"]["av"] == pytest.approx(
        stored.of(OVERALL, "alignment").av, abs=1e-4
    )
    assert set(document["scopes"]) == {"overall", "unaligned"} | {
        f"theme:{t.key}" for t in computed.loaded.config.themes
    } | {f"initiative:{key}" for key in computed.run.prepared.initiatives}


def test_metrics_command_shows_one_initiative(
    computed: Computed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--initiative KEY`: the table's row and share line of that initiative; its JSON holds
    `overall` and that scope only, with the numbers computed."""
    monkeypatch.setenv("RESTRAT_DATABASE_URL", computed.database_url)
    config = str(computed.loaded.path)
    key = computed.run.prepared.initiatives[0]
    shown = ["metrics", "--period", "2026-10", "--initiative", key, "--config", config]
    assert main(shown) == 0
    table = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in table if line.startswith(key)] == [key]
    assert any(line.startswith(f"initiative {key}, of ") for line in table)
    assert main([*shown, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document["scopes"]) == {"overall", f"initiative:{key}"}
    stored = next(p for p in computed.run.periods if p.period.label == "2026-10")
    effort = stored.of(initiative_scope(key), "effort")
    assert document["scopes"][f"initiative:{key}"]["effort"]["share"] == pytest.approx(
        effort.share, abs=1e-4
    )


def test_an_unknown_initiative_exits_2_naming_it_and_some_that_exist(
    computed: Computed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESTRAT_DATABASE_URL", computed.database_url)
    config = str(computed.loaded.path)
    assert main(["metrics", "--initiative", "NOPE-1", "--config", config]) == 2
    first = computed.run.prepared.initiatives[0]
    assert f"--initiative NOPE-1: no such initiative (initiatives: {first}, " in (
        capsys.readouterr().err
    )
