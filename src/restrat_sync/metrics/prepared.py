"""What every period of a computation shares, built once per run: timelines, the graph, the
attribution now and over time, the scopes each item belonged to, decision facts, theme changes.

``config.attribution`` chooses how periods are credited (``docs/metrics.md``):

- ``history`` (the default): the graph with memory (``model.history``). Each item belongs, at
  each instant, to the theme it had then; a period's numbers use the structure of its time,
  so a later re-parent never rewrites a past period. Theme changes are dated at the changelog
  moment or membership change that caused them, for every period, also before install;
  comparing metric runs only adds the changes history cannot explain (a config edit).
- ``current``: today's attribution for all time, as restrat-sync computed before; theme
  changes come from comparing metric runs only.

Initiatives (``model.initiatives``) get the same treatment: the initiative of every item over
time, by the same mode, as segments of their own (``initiative_segments``) and span indexes of
their own (``initiative_spans``), so that the theme scopes and the initiative scopes are each
disjoint and neither is merged into the other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from itertools import pairwise
from zoneinfo import ZoneInfo

from restrat_sync.cache.portfolio import CachedPortfolio
from restrat_sync.cache.snapshots import ThemeSpan
from restrat_sync.config import UNALIGNED, Config
from restrat_sync.metrics import decisions
from restrat_sync.metrics.near import Segment, Span, SpanIndex
from restrat_sync.model.graph import Attribution, Graph, attribute
from restrat_sync.model.history import (
    ThemeChange,
    ThemeHistory,
    attribute_over_time,
    static_history,
)
from restrat_sync.model.initiatives import (
    initiative_level,
    initiatives_now,
    initiatives_of,
    initiatives_over_time,
)
from restrat_sync.model.items import WorkItem
from restrat_sync.model.spans import EARLIEST, LATEST
from restrat_sync.model.structure import (
    MemberSpan,
    Structure,
    anchors_over_time,
    link_verbs,
    structure_of,
)
from restrat_sync.model.timeline import FlowStates, Timeline, build_timeline

OVERALL = "overall"
UNALIGNED_SCOPE = "unaligned"
# datetime.UTC, as every moment read from the cache: comparisons of datetimes sharing one tzinfo
# skip the offset arithmetic.
FOREVER = datetime.max.replace(tzinfo=UTC)
AncestorsAt = Callable[[str, datetime], Iterable[str]]


def theme_scope(theme_key: str) -> str:
    return f"theme:{theme_key}"


def scope_of_bucket(bucket: str) -> str:
    return UNALIGNED_SCOPE if bucket == UNALIGNED else theme_scope(bucket)


def bucket_of_scope(scope: str) -> str:
    """The alignment bucket of a theme scope or the unaligned scope."""
    return UNALIGNED if scope == UNALIGNED_SCOPE else scope.removeprefix("theme:")


INITIATIVE_PREFIX = "initiative:"


def initiative_scope(key: str) -> str:
    return f"{INITIATIVE_PREFIX}{key}"


@dataclass
class Prepared:
    """What every period shares: computed once per run."""

    config: Config
    items: dict[str, WorkItem]
    timelines: dict[str, Timeline]
    states: FlowStates
    graph: Graph  # the graph now
    attribution: Attribution  # the attribution now
    history: ThemeHistory  # the attribution over time (all time, for ``current``)
    segments: dict[str, tuple[Segment, ...]]  # item -> its scopes over time
    flow_keys: list[str]  # items at the flow level
    decision_facts: dict[str, decisions.DecisionFacts]  # decision items
    members: dict[str, set[str]]
    theme_changes: list[ThemeChange]
    last_sync_at: datetime | None
    config_problems: tuple[str, ...] = ()
    membership_known_since: datetime | None = None  # None: known for all time (``current``)
    initiatives: tuple[str, ...] = ()  # the initiatives' keys, sorted
    # item -> its initiative scopes over time; only items ever below an initiative, and only
    # the stretches they were (no "unaligned" scope: an item under no initiative is in none).
    initiative_segments: dict[str, tuple[Segment, ...]] = field(default_factory=dict)
    spans: Spans = field(init=False)
    initiative_spans: Spans = field(init=False)

    def __post_init__(self) -> None:
        self.spans, self.initiative_spans = Spans.pair(self)

    def scopes(self) -> list[str]:
        """The theme scopes, with the unaligned one and ``overall``, which merges them."""
        return [OVERALL, *(theme_scope(t.key) for t in self.config.themes), UNALIGNED_SCOPE]

    def initiative_scopes(self) -> list[str]:
        return [initiative_scope(key) for key in self.initiatives]


def prepare(
    cached: CachedPortfolio,
    config: Config,
    run_history: Sequence[ThemeSpan] = (),
    config_problems: Sequence[str] = (),
) -> Prepared:
    """Timelines, graph, attribution (now and over time) and decision facts of the cached
    portfolio. ``run_history``: the attribution each metric run recorded (theme changes between
    runs)."""
    states = FlowStates(config.status_map, cached.categories)
    items = cached.items
    timelines = {
        key: build_timeline(item, states, cached.current_categories.get(key))
        for key, item in items.items()
    }
    graph = Graph(items, config.hierarchy.links)
    themes = [theme.key for theme in config.themes]
    attribution = attribute(graph, [(t, cached.members.get(f"theme:{t}", set())) for t in themes])
    history, structure, known_since = _over_time(cached, config, graph, attribution)
    ancestors_at: AncestorsAt = (
        (lambda key, _: graph.ancestors(key)) if structure is None else structure.ancestors_at
    )
    facts = _decision_facts(config, items, timelines, ancestors_at)
    initiatives = initiatives_of(items, _initiative_level(cached, config), history.claims)
    by_initiative = (
        initiatives_now(graph, initiatives)
        if structure is None
        else initiatives_over_time(structure, initiatives, items)
    )
    return Prepared(
        config=config,
        items=items,
        timelines=timelines,
        states=states,
        graph=graph,
        attribution=attribution,
        history=history,
        segments={key: _scope_segments(history, key) for key in items},
        flow_keys=sorted(
            key for key, item in items.items() if item.level == config.hierarchy.flow_level
        ),
        decision_facts=facts,
        members=cached.members,
        theme_changes=theme_changes_of(config, history, items, facts, run_history),
        last_sync_at=cached.last_sync_at,
        config_problems=tuple(config_problems),
        membership_known_since=known_since,
        initiatives=initiatives,
        initiative_segments={
            key: _initiative_segments(by_initiative, key) for key in by_initiative.claims
        },
    )


def _over_time(
    cached: CachedPortfolio, config: Config, graph: Graph, attribution: Attribution
) -> tuple[ThemeHistory, Structure | None, datetime | None]:
    """The attribution over time, the structure over time (None: today's graph holds for all
    time, ``current``), and since when theme membership is known."""
    themes = [theme.key for theme in config.themes]
    if config.attribution == "current":
        return static_history(attribution, themes), None, None
    anchors = anchors_over_time(themes, _theme_spans(cached, themes))
    verbs = link_verbs(cached.link_types)
    structure = structure_of(cached.items, config.hierarchy.links, verbs, anchors.changes)
    history = attribute_over_time(structure, anchors, cached.items)
    return history, structure, min(anchors.known_since.values(), default=None)


def _initiative_level(cached: CachedPortfolio, config: Config) -> int | None:
    """The configured initiative level, else the one the themes' current anchors imply."""
    anchors = {
        key for theme in config.themes for key in cached.members.get(f"theme:{theme.key}", ())
    }
    levels = (cached.items[key].level for key in anchors if key in cached.items)
    return initiative_level(config.hierarchy.initiative_level, levels)


def _theme_spans(cached: CachedPortfolio, themes: Sequence[str]) -> list[MemberSpan]:
    """The themes' membership spans; a theme the cache has no span of (a portfolio built by
    hand, say) has its current members, known since forever."""
    spans = list(cached.theme_spans)
    recorded = {span.theme for span in spans}
    for theme in themes:
        if theme not in recorded:
            members = sorted(cached.members.get(f"theme:{theme}", ()))
            spans += [MemberSpan(theme, key, EARLIEST, None) for key in members]
    return spans


def _scope_segments(history: ThemeHistory, key: str) -> tuple[Segment, ...]:
    claims = history.claims.get(key)
    if claims is None:
        return ((EARLIEST, LATEST, UNALIGNED_SCOPE),)
    if len(claims) == 1 and claims[0].since == EARLIEST and claims[0].until == LATEST:
        return ((EARLIEST, LATEST, theme_scope(claims[0].theme)),)
    return tuple((s, u, scope_of_bucket(theme)) for s, u, theme in history.segments(key))


def _initiative_segments(history: ThemeHistory, key: str) -> tuple[Segment, ...]:
    """The stretches ``key`` spent below an initiative, each in that initiative's scope."""
    claims = history.claims[key]
    if len(claims) == 1 and claims[0].since == EARLIEST and claims[0].until == LATEST:
        return ((EARLIEST, LATEST, initiative_scope(claims[0].theme)),)
    return tuple(
        (since, until, initiative_scope(found))
        for since, until, found in history.segments(key)
        if found != UNALIGNED
    )


def _decision_facts(
    config: Config,
    items: Mapping[str, WorkItem],
    timelines: Mapping[str, Timeline],
    ancestors_at: AncestorsAt,
) -> dict[str, decisions.DecisionFacts]:
    """Each decision item's facts. Its execution start is the earliest start of a flow-level
    item that was below it when that item started."""
    deciders = {key for key, item in items.items() if item.level >= config.decision.min_level}
    flow_level = config.hierarchy.flow_level
    starts: dict[str, datetime] = {}
    for key, item in items.items():
        start = timelines[key].start
        if item.level != flow_level or start is None:
            continue
        for above in ancestors_at(key, start):
            if above in deciders and (above not in starts or start < starts[above]):
                starts[above] = start
    statuses = config.decision.statuses
    return {
        key: decisions.decision_facts(items[key], timelines[key], [starts.get(key)], statuses)
        for key in sorted(deciders)
    }


def theme_changes_of(
    config: Config,
    history: ThemeHistory,
    items: Mapping[str, WorkItem],
    deciders: Collection[str],
    run_history: Sequence[ThemeSpan],
) -> list[ThemeChange]:
    """The theme changes of the decision items: from history (``history``), plus the changes
    between metric runs that history does not explain (``current``: those alone)."""
    between_runs = list(_between_runs(run_history))
    if config.attribution == "current":
        return [change for _, change in between_runs]
    created = {key: items[key].created for key in deciders}
    found = history.changes(created)
    explained: dict[str, list[datetime]] = defaultdict(list)
    for change in found:
        explained[change.key].append(change.at)
    fallback = [
        change
        for before, change in between_runs
        if change.key in created
        and not any(before < at <= change.at for at in explained[change.key])
    ]
    return sorted([*found, *fallback], key=lambda c: (c.at, c.key))


def _between_runs(run_history: Sequence[ThemeSpan]) -> Iterator[tuple[datetime, ThemeChange]]:
    """Consecutive attribution spans of one item with different themes: a theme change at the
    moment the later span began, with when the earlier one began."""
    spans = sorted(run_history, key=lambda s: (s.issue_key, s.since))
    for earlier, later in pairwise(spans):
        if earlier.issue_key == later.issue_key and earlier.theme != later.theme:
            yield (
                earlier.since,
                ThemeChange(later.issue_key, later.since, earlier.theme, later.theme),
            )


# --- spans: which items can touch which period ---------------------------------------------------


@dataclass
class Spans:
    flow: SpanIndex
    due: SpanIndex
    decisions: SpanIndex

    @classmethod
    def pair(cls, prepared: Prepared) -> tuple[Spans, Spans]:
        """The indexes of the theme scopes and those of the initiative scopes: the same spans,
        split by each set of segments."""
        flow = list(_flow_spans(prepared))
        due = list(_due_spans(prepared))
        decided = list(_decision_spans(prepared))

        def split(segments: Mapping[str, Sequence[Segment]]) -> Spans:
            return cls(
                flow=SpanIndex.build(flow, segments),
                due=SpanIndex.build(due, segments),
                decisions=SpanIndex.build(decided, segments),
            )

        return split(prepared.segments), split(prepared.initiative_segments)


def _flow_spans(prepared: Prepared) -> Iterator[Span]:
    """A flow item matters from its start (or its end, if it never started) to its end."""
    for key in prepared.flow_keys:
        timeline = prepared.timelines[key]
        low = timeline.start or timeline.end
        if low is not None:
            yield (low, timeline.end or FOREVER, key)


def _due_spans(prepared: Prepared) -> Iterator[Span]:
    """An item due on a day matters to the periods holding that day's local midnight."""
    zone = ZoneInfo(prepared.config.timezone)
    for key, item in prepared.items.items():
        due = item.due
        if due is not None and item.level >= prepared.config.hierarchy.flow_level:
            moment = datetime.combine(due, time(), zone).astimezone(UTC)
            yield (moment, moment, key)


def _decision_spans(prepared: Prepared) -> Iterator[Span]:
    """A decision item matters from its creation until it ended, and to the periods of any
    later event on it (a re-parent of a finished epic, say)."""
    for key, facts in prepared.decision_facts.items():
        item = prepared.items[key]
        events = [change.at for change in item.field_changes]
        high = FOREVER if facts.end is None else max([facts.end, *events])
        yield (item.created, high, key)
