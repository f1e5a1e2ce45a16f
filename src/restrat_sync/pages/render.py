"""Page models rendered to Confluence storage XHTML with the builder in ``storage``.

All markup comes from ``storage``'s element builder, so every text from Jira or the config (issue
summaries, status names, theme names, JQL) is escaped exactly once by construction.

Conventions on every page:

- numbers: shares as percentages with one decimal, AV and deviations in percentage points, days
  with one decimal; "no data" where nothing was measured, never 0;
- every number that stands for a set of issues has a Jira Issues macro beside it: ``key in
  (...)`` chunks for explicit sets (``pages.jql``), or the theme's own JQL. Sets longer than
  ``LONG_LIST`` go into an expand, so the page stays readable;
- charts use the chart macro over a data table (first row: the categories; each further row: a
  series named by its first cell), the form Confluence and the sandbox both read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from restrat_sync.cache.restatements import RestatementRecord
from restrat_sync.config import UNALIGNED, Config, PagesConfig
from restrat_sync.metrics.alignment import Alignment, BucketShare
from restrat_sync.metrics.compute import OVERALL, UNALIGNED_SCOPE
from restrat_sync.metrics.decisions import DecisionLag
from restrat_sync.metrics.flow import CATEGORIES, FlowMetrics
from restrat_sync.metrics.outcomes import KeyResultProgress
from restrat_sync.metrics.pivots import KINDS as PIVOT_KINDS
from restrat_sync.metrics.pivots import Pivots
from restrat_sync.metrics.quality import DataQuality
from restrat_sync.metrics.restatements import restatement_line
from restrat_sync.pages.jql import key_in_chunks
from restrat_sync.pages.lozenges import Lozenge, grade, grade_deviation, issue_status
from restrat_sync.pages.models import (
    Footer,
    InitiativeRow,
    MonthlyModel,
    OverviewModel,
    PageModel,
    ParentModel,
    PeriodView,
    QuarterlyModel,
    ScopeMetrics,
    ThemeModel,
    ThemeRef,
    Trend,
    WeeklyModel,
    bucket_name,
    scope_name,
)
from restrat_sync.pages.storage import (
    Element,
    chart,
    el,
    expand,
    heading,
    jira_count,
    jira_issues,
    paragraph,
    serialize,
    status,
    strong,
    table,
)

Node = Element | str
Part = Node | None  # None: nothing to show here; dropped before serialising
NO_DATA = "no data"
LONG_LIST = 20  # more keys than a macro shows by default: the macros go into an expand
MAX_RESTATED = 10  # restatement lines a page shows; the rest are counted
COLUMNS = "key,summary,type,status"
# Rows are series and the first row the categories; said explicitly rather than left to a default.
CHART_OPTIONS = {"dataOrientation": "horizontal", "width": "640", "height": "300"}
_SECOND = timedelta(seconds=1)  # a period's end is exclusive: its last day holds end - 1 s


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """What rendering takes from the config."""

    server: str
    server_id: str | None
    pages: PagesConfig
    timezone: str
    alert_days: int

    @classmethod
    def of(cls, config: Config) -> RenderSettings:
        macro = config.confluence.jira_macro
        return cls(
            macro.server, macro.server_id, config.pages, config.timezone, config.decision.alert_days
        )


def render(model: PageModel, settings: RenderSettings) -> str:
    """The storage body of the page ``model`` describes."""
    parts: list[Part]
    match model:
        case OverviewModel():
            parts = _overview(model, settings)
        case ThemeModel():
            parts = _theme(model, settings)
        case WeeklyModel():
            parts = _weekly(model, settings)
        case MonthlyModel():
            parts = _monthly(model, settings)
        case QuarterlyModel():
            parts = _quarterly(model, settings)
        case ParentModel():
            parts = _parent(model)
    return serialize(part for part in parts if part is not None)


# --- formatting ---------------------------------------------------------------------------------


def percent(share: float | None) -> str:
    return NO_DATA if share is None else f"{share * 100:.1f}%"


def points(share: float | None) -> str:
    """A share difference (AV) in percentage points."""
    return NO_DATA if share is None else f"{share * 100:.1f} pp"


def signed_points(share: float | None) -> str:
    return NO_DATA if share is None else f"{share * 100:+.1f} pp"


def days(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.1f} d"


def count(value: int | None) -> str:
    return NO_DATA if value is None else str(value)


def span(model_footer: Footer) -> str:
    """The period as local dates, e.g. "2026-11-16 to 2026-11-22"."""
    zone = ZoneInfo(model_footer.timezone)
    period = model_footer.period
    first = period.start.astimezone(zone).date()
    last = (period.end.astimezone(zone) - _SECOND).date()
    return f"{first.isoformat()} to {last.isoformat()}"


# --- building blocks ----------------------------------------------------------------------------


def lozenge(grade_: Lozenge) -> Element:
    return status(grade_.title, grade_.colour)


def intro(text: str) -> Element:
    return paragraph(strong("What this page is: "), text)


def issues(
    keys: Sequence[str], what: str, settings: RenderSettings, folded: bool = False
) -> list[Part]:
    """Jira Issues macros listing ``keys`` (``key in`` chunks) under a line naming ``what``;
    in an expand when the set is long or ``folded`` (a detail beside the headline). Nothing
    for no keys: the number beside it already says 0."""
    if not keys:
        return []
    macros: list[Node] = [
        jira_issues(chunk.jql, settings.server, settings.server_id, COLUMNS, len(chunk.keys))
        for chunk in key_in_chunks(keys)
    ]
    label = f"{what}: {plural(len(keys), 'issue')}"
    if folded or len(keys) > LONG_LIST:
        return [expand(label, *macros)]
    return [paragraph(label), *macros]


def plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def theme_issues(theme: ThemeRef, settings: RenderSettings) -> Element:
    """The theme's own JQL as a live Jira Issues macro: its anchors as Jira selects them."""
    return jira_issues(theme.jql, settings.server, settings.server_id, COLUMNS, 50)


def figure(kind: str, title: str, categories: Sequence[str], rows: Sequence[Sequence[str]]) -> Node:
    """A chart, or a "no data" line when there is nothing to draw."""
    if not categories or not rows:
        return paragraph(f"{title}: {NO_DATA}.")
    return chart(kind, title, ["", *categories], rows, **CHART_OPTIONS)


Shown = Callable[[float | None], str]


def trend_block(
    data: Trend,
    title: str,
    shown: Sequence[Shown],
    scale: float = 1.0,
    charted: int | None = None,
) -> list[Part]:
    """A line chart of the periods with data (the first ``charted`` series, all by default),
    and a table of every period, each series formatted by its ``shown``, "no data" kept."""
    series = data.series[:charted]
    complete = [
        i for i in range(len(data.labels)) if all(vals[i] is not None for _, vals in series)
    ]
    rows = [
        [name, *(f"{(values[i] or 0.0) * scale:.1f}" for i in complete)] for name, values in series
    ]
    plotted = figure("line", title, [data.labels[i] for i in complete], rows)
    header = ["period", *(name for name, _ in data.series)]
    listed = [
        [label, *(show(values[i]) for show, (_, values) in zip(shown, data.series, strict=True))]
        for i, label in enumerate(data.labels)
    ]
    return [plotted, table(header, listed)]


def footer(data: Footer) -> list[Part]:
    as_of = NO_DATA if data.as_of is None else data.as_of.isoformat()
    freshness = (
        f"Data as of {as_of}. "
        if data.rolling
        else f"Numbers as of {as_of} (when one of them last changed). "
    )
    return [
        el("hr"),
        paragraph(
            el("em", f"Period: {data.period.label} ({span(data)}, {data.timezone}). "),
            el("em", freshness),
            el("em", f"Published by restrat-sync {data.version}."),
        ),
    ]


def unreadable(problems: Sequence[str]) -> list[Part]:
    if not problems:
        return []
    return [
        paragraph(strong("Snapshots that could not be read (shown as no data): ")),
        el("ul", *(el("li", problem) for problem in problems)),
    ]


def restated(
    records: Sequence[RestatementRecord], themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    """The period's numbers that changed after it closed, newest first, each with the issues
    that caused it; at most ``MAX_RESTATED`` lines, the rest counted."""
    if not records:
        return []

    def line(record: RestatementRecord) -> Element:
        scope = None if record.scope == OVERALL else scope_name(record.scope, themes)
        text = restatement_line(record, settings.timezone, scope, lambda b: bucket_name(b, themes))
        return el("li", text)

    items = [line(record) for record in records[:MAX_RESTATED]]
    if len(records) > MAX_RESTATED:
        more = len(records) - MAX_RESTATED
        items.append(
            el(
                "li",
                f"and {more} more; `restrat-sync metrics --restatements --period "
                f"{records[0].period}` lists them all",
            )
        )
    causes = sorted({key for record in records for key in record.causes})
    return [
        paragraph(
            strong("Restated: "),
            "numbers of this period that changed after it closed (a change synced late, an "
            "item moved, a status fixed after the fact). The page shows the new values.",
        ),
        el("ul", *items),
        *issues(causes, "Issues that caused them", settings, folded=True),
    ]


# --- sections -----------------------------------------------------------------------------------


def headline(
    got: ScopeMetrics,
    settings: RenderSettings,
    portfolio: bool = False,
    alignment: Alignment | None = None,
) -> Element:
    """The headline numbers of a scope: AV (for the ``portfolio``), decisions, flow."""
    bands = settings.pages
    lag = got.decision_lag
    rows: list[list[Part]] = []
    if portfolio:
        av = alignment.av if alignment else None
        rows.append(
            ["Alignment variance", points(av), lozenge(grade(av, bands.alignment_variance))]
        )
    median = lag.median_days if lag else None
    over = lag.pending_over_alert if lag else None
    rows += [
        ["Decision lag, median / p85", _pair(lag), lozenge(grade(median, bands.decision_lag_days))],
        [
            f"Pending decisions over {settings.alert_days} days",
            count(over),
            lozenge(grade(over, bands.pending_decisions)),
        ],
        *_flow_headline(got.flow, settings),
    ]
    return table(["number", "value", "status"], rows)


def _pair(lag: DecisionLag | None) -> str:
    if lag is None:
        return NO_DATA
    return f"{days(lag.median_days)} / {days(lag.p85_days)}"


def _flow_headline(flow: FlowMetrics | None, settings: RenderSettings) -> list[list[Part]]:
    if flow is None:
        return [["Flow metrics", NO_DATA, lozenge(grade(None, settings.pages.flow_efficiency))]]
    time, efficiency = flow.flow_time, flow.efficiency.value
    return [
        ["Flow velocity (items finished)", str(flow.velocity.count), None],
        ["Flow time, median / p85", f"{days(time.median_days)} / {days(time.p85_days)}", None],
        [
            "Flow efficiency",
            percent(efficiency),
            lozenge(grade(efficiency, settings.pages.flow_efficiency)),
        ],
        ["Flow load (items in progress)", str(flow.load.count), None],
        ["Age of work in progress, p85", days(flow.load.age_p85_days), None],
    ]


def allocation(
    alignment: Alignment | None, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    """AV, planned against actual share per bucket with the deviation, a bar chart and the
    issues behind each bucket's effort."""
    if alignment is None:
        return [paragraph(f"Alignment variance: {NO_DATA} (no snapshot of the allocation).")]
    bands = settings.pages
    rows: list[list[Part]] = [
        [
            bucket_name(b.bucket, themes),
            percent(b.planned),
            percent(b.actual),
            signed_points(b.deviation),
            lozenge(grade_deviation(b.deviation, bands.deviation)),
        ]
        for b in alignment.buckets
    ]
    names = [bucket_name(b.bucket, themes) for b in alignment.buckets]
    bars = [
        ["planned %", *(f"{b.planned * 100:.1f}" for b in alignment.buckets)],
        ["actual %", *(f"{(b.actual or 0.0) * 100:.1f}" for b in alignment.buckets)],
    ]
    drawn = alignment.av is not None
    return [
        paragraph(
            strong("Alignment variance: "),
            f"{points(alignment.av)} ",
            lozenge(grade(alignment.av, bands.alignment_variance)),
            f" (targets of {alignment.quarter}; effort measured as {alignment.measure}).",
        ),
        table(["theme", "planned", "actual", "deviation", "status"], rows),
        figure("bar", "Allocation: planned vs actual share (%)", names if drawn else [], bars),
        *(
            node
            for b in alignment.buckets
            for node in issues(b.keys, f"Effort of {bucket_name(b.bucket, themes)}", settings, True)
        ),
    ]


def decisions(lag: DecisionLag | None, settings: RenderSettings) -> list[Part]:
    """Decision lag and the pending decisions, with the issues behind them."""
    if lag is None:
        return [paragraph(f"Decision lag: {NO_DATA}.")]
    over = set(lag.pending_over_alert_keys)
    late = [[key, days(age)] for key, age in lag.pending if key in over]
    band = settings.pages
    return [
        paragraph(
            f"Decision lag (approval to the start of work), median / p85: {_pair(lag)} over "
            f"{lag.count} decisions ",
            lozenge(grade(lag.median_days, band.decision_lag_days)),
            f". Work started before the decision: {lag.work_before_decision}. Decision to "
            f"delivery, median / p85: {days(lag.delivery_median_days)} / "
            f"{days(lag.delivery_p85_days)} over {lag.delivery_count} items.",
        ),
        *issues(lag.keys, "Decisions measured", settings, True),
        paragraph(
            strong(f"Pending decisions over {lag.alert_days} days: {lag.pending_over_alert} "),
            lozenge(grade(lag.pending_over_alert, band.pending_decisions)),
            f" (pending in all: {len(lag.pending)}).",
        ),
        table(["decision", "pending for"], late) if late else None,
        *issues(lag.pending_over_alert_keys, "Pending over the alert", settings),
        *issues([key for key, _ in lag.pending], "All pending decisions", settings, True),
        *issues(lag.work_before_decision_keys, "Work started before the decision", settings, True),
    ]


def flow_block(flow: FlowMetrics | None, settings: RenderSettings) -> list[Part]:
    """Velocity, flow time, efficiency, the distribution and the work in progress."""
    if flow is None:
        return [paragraph(f"Flow metrics: {NO_DATA}.")]
    time, load = flow.flow_time, flow.load
    return [
        paragraph(
            f"Velocity: {flow.velocity.count} items finished. Flow time, median / p85: "
            f"{days(time.median_days)} / {days(time.p85_days)} over {time.count} items "
            f"({len(time.no_start)} finished without a start). Flow efficiency: "
            f"{percent(flow.efficiency.value)} ",
            lozenge(grade(flow.efficiency.value, settings.pages.flow_efficiency)),
            f". Load: {load.count} items in progress, p85 age {days(load.age_p85_days)}.",
        ),
        *issues(flow.velocity.keys, "Finished items", settings, True),
        *distribution(flow),
        *work_in_progress(flow, settings),
    ]


def work_in_progress(flow: FlowMetrics | None, settings: RenderSettings) -> list[Part]:
    """The oldest items in progress with their age, then every item in progress."""
    if flow is None:
        return [paragraph(f"Work in progress: {NO_DATA}.")]
    oldest = flow.load.ages[: settings.pages.wip_listed]
    return [
        paragraph(
            f"{plural(flow.load.count, 'item')} in progress at the end of the period; 85% of "
            f"them have been in progress for at most {days(flow.load.age_p85_days)}."
        ),
        table(["oldest in progress", "age"], [[k, days(age)] for k, age in oldest])
        if oldest
        else None,
        *issues(
            [key for key, _ in oldest], f"The {len(oldest)} oldest items in progress", settings
        ),
        *issues(flow.load.keys, "All items in progress", settings, True),
    ]


def distribution(flow: FlowMetrics) -> list[Part]:
    shares = flow.distribution.shares
    rows = [
        [
            kind,
            str(flow.distribution.counts.get(kind, 0)),
            percent(shares.get(kind) if shares else None),
        ]
        for kind in CATEGORIES
    ]
    counts = [["items", *(str(flow.distribution.counts.get(k, 0)) for k in CATEGORIES)]]
    return [
        table(["flow item type", "finished", "share"], rows),
        figure("pie", "Flow distribution", list(CATEGORIES) if shares else [], counts),
    ]


def key_results(
    results: Sequence[KeyResultProgress] | None, settings: RenderSettings
) -> list[Part]:
    if results is None:
        return [paragraph(f"Key results: {NO_DATA}.")]
    if not results:
        return [paragraph("This theme declares no key results.")]
    rows = [
        [
            kr.name,
            kr.measure,
            f"{kr.value:g} of {kr.target:g}",
            percent(kr.progress),
            # A count can be a goal either way (open GDPR items should shrink): no colour.
            None
            if kr.measure == "count"
            else lozenge(grade(kr.progress, settings.pages.key_result_progress)),
        ]
        for kr in results
    ]
    listed = [node for kr in results for node in issues(kr.keys, kr.name, settings)]
    return [table(["key result", "measure", "value", "progress", "status"], rows), *listed]


def data_quality(quality: DataQuality | None, settings: RenderSettings) -> list[Part]:
    """Every item of domain.md's data-quality list, with the issues behind each."""
    if quality is None:
        return [paragraph(f"Data quality: {NO_DATA} (run `restrat-sync metrics`).")]
    age = quality.last_sync_age_hours
    rows: list[list[Part]] = [
        [
            "Statuses mapped by their category only",
            str(len(quality.fallback_statuses)),
            ", ".join(quality.fallback_statuses) or "none",
        ],
        [
            "Statuses with no mapping and no category",
            str(len(quality.unknown_statuses)),
            ", ".join(quality.unknown_statuses) or "none",
        ],
        ["Changelogs that could not be completed", str(len(quality.incomplete_changelogs)), None],
        ["Finished items with no start", str(len(quality.no_start)), None],
        ["Items reachable from several themes", str(len(quality.conflicts)), None],
        ["Items with no parent", str(len(quality.no_parent)), None],
        ["Unaligned share (last four weeks)", percent(quality.unaligned_share), None],
        [
            "Age of the last successful sync",
            NO_DATA if age is None else f"{age:.1f} h",
            lozenge(grade(age, settings.pages.sync_age_hours)),
        ],
    ]
    known = quality.membership_known_since
    if known is not None:
        day = known.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
        rows.append(
            [
                "Theme membership known since",
                day,
                "the first sync that listed the themes; before it, the membership it saw is "
                "assumed",
            ]
        )
    conflicts = [[key, ", ".join(themes)] for key, themes in quality.conflicts]
    return [
        table(["check", "count", "details"], rows),
        *issues(quality.incomplete_changelogs, "Incomplete changelogs", settings),
        *issues(quality.no_start, "Finished with no start", settings),
        expand(
            f"Items reachable from several themes: {len(conflicts)}",
            table(["issue", "themes"], conflicts),
        )
        if conflicts
        else None,
        *issues([key for key, _ in quality.conflicts], "Reachable from several themes", settings),
        *issues(quality.no_parent, "No parent", settings),
        *config_problems(quality.config_problems),
    ]


def config_problems(problems: Sequence[str]) -> list[Part]:
    if not problems:
        return []
    return [
        paragraph(strong(f"Config problems found by `restrat-sync check`: {len(problems)}")),
        el("ul", *(el("li", problem) for problem in problems)),
    ]


def initiatives_table(
    rows: Sequence[InitiativeRow], theme: ThemeRef, settings: RenderSettings
) -> list[Part]:
    """A row per initiative of the theme, the largest shares first and at most
    ``pages.initiatives_listed`` of them: its share of the theme's effort and its headline
    numbers, with one count macro of its items in progress (a link to them in Jira), so the
    page grows by a macro per row listed, not by a list each. The rest are named in a line."""
    if not rows:
        return [paragraph(f"No initiative of {theme.name} in the last four weeks.")]
    header = ["initiative", "summary", f"share of {theme.name}'s effort", "velocity"]
    header += ["flow time, median", "decision lag, median", "pending decisions", "on time"]
    header.append("in progress")
    listed, rest = (
        rows[: settings.pages.initiatives_listed],
        rows[settings.pages.initiatives_listed :],
    )
    return [
        paragraph(
            "Each initiative whose own theme is this one at the end of the window, the largest "
            "share first. Its share counts the effort spent below it while that work was in "
            "this theme; the last column counts its items in progress at the end of the "
            "window, live from Jira."
        ),
        table(header, [_initiative_cells(row, settings) for row in listed]),
        paragraph(
            f"{plural(len(rest), 'more initiative')} with smaller shares: "
            + ", ".join(row.key for row in rest)
            + "."
        )
        if rest
        else None,
    ]


def _initiative_cells(row: InitiativeRow, settings: RenderSettings) -> list[Part]:
    got = row.metrics
    flow, lag, outcome = got.flow, got.decision_lag, got.predictability
    return [
        row.key,
        row.summary if row.summary is not None else "not in the cache",
        percent(got.effort.share if got.effort else None),
        count(flow.velocity.count if flow else None),
        days(flow.flow_time.median_days if flow else None),
        days(lag.median_days if lag else None),
        count(len(lag.pending) if lag else None),
        percent(outcome.rate if outcome else None),
        _in_progress(flow, settings),
    ]


def _in_progress(flow: FlowMetrics | None, settings: RenderSettings) -> Part:
    """Count macros of the items in progress: one, or one per ``key in`` chunk of a long set."""
    if flow is None:
        return NO_DATA
    if not flow.load.keys:
        return "0"
    counts = [
        jira_count(chunk.jql, settings.server, settings.server_id)
        for chunk in key_in_chunks(flow.load.keys)
    ]
    joined: list[Node] = [counts[0]]
    for macro in counts[1:]:
        joined += [" + ", macro]
    return el("span", *joined)


# --- tables per scope ---------------------------------------------------------------------------


def scopes_of(themes: Sequence[ThemeRef]) -> list[str]:
    """Every scope a page lists: the whole portfolio, each theme, unaligned work."""
    return [OVERALL, *(theme.scope for theme in themes), UNALIGNED_SCOPE]


def flow_by_scope(
    metrics: PeriodView, before: PeriodView, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    """Flow per scope, with the change in velocity and load against the previous period."""
    rows: list[list[Part]] = []
    for scope in scopes_of(themes):
        flow, old = metrics.scope(scope).flow, before.scope(scope).flow
        rows.append(
            [
                scope_name(scope, themes),
                count(flow.velocity.count if flow else None),
                _change(flow.velocity.count if flow else None, old.velocity.count if old else None),
                _flow_time(flow),
                percent(flow.efficiency.value if flow else None),
                lozenge(
                    grade(flow.efficiency.value if flow else None, settings.pages.flow_efficiency)
                ),
                count(flow.load.count if flow else None),
                _change(flow.load.count if flow else None, old.load.count if old else None),
                days(flow.load.age_p85_days if flow else None),
            ]
        )
    header = ["scope", "velocity", "change", "flow time median / p85", "efficiency", "status"]
    header += ["load", "change", "age p85"]
    listed = [
        part
        for scope in scopes_of(themes)
        for part in _scope_issues(metrics.scope(scope), scope_name(scope, themes), settings)
    ]
    return [table(header, rows), *listed]


def _scope_issues(got: ScopeMetrics, name: str, settings: RenderSettings) -> list[Part]:
    if got.flow is None:
        return []
    return [
        *issues(got.flow.velocity.keys, f"{name}: finished items", settings, True),
        *issues(got.flow.load.keys, f"{name}: items in progress", settings, True),
    ]


def _flow_time(flow: FlowMetrics | None) -> str:
    if flow is None:
        return NO_DATA
    return f"{days(flow.flow_time.median_days)} / {days(flow.flow_time.p85_days)}"


def _change(now: float | None, before: float | None) -> str:
    if now is None or before is None:
        return NO_DATA
    return f"{now - before:+g}"


def change_table(metrics: PeriodView, before: PeriodView) -> Element:
    """The portfolio's numbers against the previous period."""
    now, old = metrics.scope(OVERALL), before.scope(OVERALL)
    picks: list[tuple[str, Callable[[ScopeMetrics], float | None], Callable[[float | None], str]]]
    picks = [
        ("velocity", lambda m: m.flow.velocity.count if m.flow else None, _int),
        ("flow time median", lambda m: m.flow.flow_time.median_days if m.flow else None, days),
        ("flow efficiency", lambda m: m.flow.efficiency.value if m.flow else None, percent),
        ("load", lambda m: m.flow.load.count if m.flow else None, _int),
        (
            "age of work in progress p85",
            lambda m: m.flow.load.age_p85_days if m.flow else None,
            days,
        ),
        (
            "pending decisions",
            lambda m: len(m.decision_lag.pending) if m.decision_lag else None,
            _int,
        ),
    ]
    rows = [
        [name, shown(pick(now)), shown(pick(old)), _delta(pick(now), pick(old), shown)]
        for name, pick, shown in picks
    ]
    return table(["number", metrics.label, before.label, "change"], rows)


def _int(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:g}"


def _delta(now: float | None, old: float | None, shown: Callable[[float | None], str]) -> str:
    if now is None or old is None:
        return NO_DATA
    if shown is percent:
        return signed_points(now - old)
    text = shown(abs(now - old))
    return ("+" if now >= old else "-") + text


def decisions_by_scope(
    metrics: PeriodView, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    rows: list[list[Part]] = []
    for scope in scopes_of(themes):
        lag = metrics.scope(scope).decision_lag
        rows.append(
            [
                scope_name(scope, themes),
                count(lag.count if lag else None),
                _pair(lag),
                lozenge(grade(lag.median_days if lag else None, settings.pages.decision_lag_days)),
                count(len(lag.pending) if lag else None),
                count(lag.pending_over_alert if lag else None),
            ]
        )
    header = ["scope", "decisions", "lag median / p85", "status", "pending"]
    header.append(f"over {settings.alert_days} days")
    return [table(header, rows), *decisions(metrics.scope(OVERALL).decision_lag, settings)]


def pivots_by_scope(
    metrics: PeriodView, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    rows: list[list[Part]] = []
    for scope in scopes_of(themes):
        found = metrics.scope(scope).pivots
        kinds = found.by_kind if found else {}
        rows.append(
            [
                scope_name(scope, themes),
                count(found.count if found else None),
                *(count(kinds.get(kind)) if found else NO_DATA for kind in PIVOT_KINDS),
                NO_DATA if found is None or found.rate is None else f"{found.rate:.2f}",
            ]
        )
    header = ["scope", "pivots", *(kind.replace("_", " ") for kind in PIVOT_KINDS)]
    header.append("per active decision")
    return [table(header, rows), *pivot_events(metrics.scope(OVERALL).pivots, settings)]


def pivot_events(found: Pivots | None, settings: RenderSettings) -> list[Part]:
    """The pivot events (issue, kind, day, detail: a theme change names its cause), folded
    away, and the items that pivoted in a Jira macro."""
    events = (
        [
            [e.key, e.kind.replace("_", " "), e.at.strftime("%Y-%m-%d"), e.detail]
            for e in found.events
        ]
        if found
        else []
    )
    return [
        expand(f"Pivot events: {len(events)}", table(["issue", "kind", "day", "detail"], events))
        if events
        else None,
        *issues(found.keys if found else (), "Items that pivoted", settings, True),
    ]


def theme_pivots(found: Pivots | None, settings: RenderSettings) -> list[Part]:
    """A theme's pivots: how many, of which kinds, per active decision item, and the events."""
    if found is None:
        return [paragraph(NO_DATA)]
    kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in found.by_kind.items() if n)
    rate = NO_DATA if found.rate is None else f"{found.rate:.2f}"
    summary = f"{plural(found.count, 'pivot')}" + (f" ({kinds})" if kinds else "")
    return [
        paragraph(f"{summary}; {rate} per active decision item."),
        *pivot_events(found, settings),
    ]


def predictability_by_scope(
    metrics: PeriodView, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    rows: list[list[Part]] = []
    for scope in scopes_of(themes):
        got = metrics.scope(scope).predictability
        rows.append(
            [
                scope_name(scope, themes),
                count(got.due if got else None),
                count(got.on_time if got else None),
                count(got.late if got else None),
                count(got.unfinished if got else None),
                count(got.cancelled if got else None),
                percent(got.rate if got else None),
                lozenge(grade(got.rate if got else None, settings.pages.on_time_rate)),
            ]
        )
    header = ["scope", "due", "on time", "late", "unfinished", "cancelled", "on-time rate"]
    header.append("status")
    overall = metrics.scope(OVERALL).predictability
    return [
        table(header, rows),
        *issues(overall.late_keys if overall else (), "Late", settings, True),
        *issues(
            overall.unfinished_keys if overall else (), "Due, not finished yet", settings, True
        ),
        *issues(overall.cancelled_keys if overall else (), "Cancelled", settings, True),
    ]


def investment(
    alignment: Alignment | None, themes: Sequence[ThemeRef], settings: RenderSettings
) -> list[Part]:
    """Themes whose deviation is beyond the deviation band's green threshold, either way: the
    ones whose lozenge is not green."""
    if alignment is None or alignment.av is None:
        return [paragraph(f"Over- and under-invested themes: {NO_DATA}.")]
    limit = settings.pages.deviation.green
    over = [b for b in alignment.buckets if (b.deviation or 0.0) > limit]
    under = [b for b in alignment.buckets if (b.deviation or 0.0) < -limit]

    def listed(found: list[BucketShare], what: str) -> Part:
        if not found:
            return paragraph(f"{what}: none beyond {points(limit)}.")
        items = [
            el("li", f"{bucket_name(b.bucket, themes)}: {signed_points(b.deviation)}")
            for b in found
        ]
        return el("div", paragraph(strong(f"{what}:")), el("ul", *items))

    return [listed(over, "Over-invested"), listed(under, "Under-invested")]


# --- pages --------------------------------------------------------------------------------------


def _overview(model: OverviewModel, settings: RenderSettings) -> list[Part]:
    metrics, themes = model.metrics, model.themes
    unaligned = metrics.bucket(UNALIGNED)
    wip = metrics.scope(UNALIGNED_SCOPE).flow
    return [
        intro(
            "the whole portfolio over the last four weeks: how effort was spread over the "
            "strategic themes against plan, how fast decisions reach the teams, how work flows, "
            "what nobody planned for, and how far the data can be trusted."
        ),
        heading(2, "Headline numbers"),
        headline(metrics.scope(OVERALL), settings, True, metrics.alignment),
        heading(2, "Allocation against plan"),
        *allocation(metrics.alignment, themes, settings),
        heading(2, "Alignment variance by month"),
        *trend_block(model.av_trend, "Alignment variance by month (pp)", [points], 100.0),
        heading(2, "Decisions"),
        *decisions(metrics.scope(OVERALL).decision_lag, settings),
        heading(2, "Flow"),
        *flow_block(metrics.scope(OVERALL).flow, settings),
        heading(3, "Velocity by week"),
        *trend_block(model.velocity_trend, "Velocity by week (items finished)", [_int]),
        heading(2, "Unaligned work"),
        paragraph(
            f"Work no theme reaches took {percent(unaligned.actual if unaligned else None)} of "
            f"the effort (planned: {percent(unaligned.planned if unaligned else None)}); "
            f"{count(wip.load.count if wip else None)} unaligned items are in progress."
        ),
        *issues(wip.load.keys if wip else (), "Unaligned items in progress", settings),
        heading(2, "Data quality"),
        *data_quality(model.current.data_quality, settings),
        *unreadable(metrics.unreadable + model.current.unreadable),
        *footer(model.footer),
    ]


def _theme(model: ThemeModel, settings: RenderSettings) -> list[Part]:
    theme, bucket = model.theme, model.bucket
    rows: list[list[Part]] = [
        [a.key, a.summary, lozenge(issue_status(a.status, a.status_category))]
        for a in model.anchors
    ]
    got = model.metrics
    return [
        intro(
            f"the strategic theme {theme.name} ({theme.key}) over the last four weeks: its "
            "anchors and initiatives, its share of the effort against plan, its decisions, its "
            "flow and its key results."
        ),
        heading(2, "Headline numbers"),
        paragraph(
            f"Planned share: {percent(bucket.planned if bucket else None)}; actual: "
            f"{percent(bucket.actual if bucket else None)}; deviation: "
            f"{signed_points(bucket.deviation if bucket else None)} ",
            lozenge(
                grade_deviation(bucket.deviation if bucket else None, settings.pages.deviation)
            ),
            f" (targets of {model.quarter or NO_DATA}).",
        ),
        headline(got, settings),
        *issues(bucket.keys if bucket else (), "Items that took effort", settings, True),
        heading(2, "Anchors"),
        table(["anchor", "summary", "status"], rows)
        if rows
        else paragraph("No anchors in the cache."),
        paragraph("Everything the theme's JQL selects now, live from Jira:"),
        theme_issues(theme, settings),
        heading(2, "Initiatives"),
        *initiatives_table(model.initiatives, theme, settings),
        heading(2, "Decisions"),
        *decisions(got.decision_lag, settings),
        heading(2, "Strategic pivots"),
        *theme_pivots(got.pivots, settings),
        heading(2, "Flow"),
        *flow_block(got.flow, settings),
        heading(2, "Key results"),
        *key_results(model.key_results, settings),
        *unreadable(model.unreadable),
        *footer(model.footer),
    ]


def _weekly(model: WeeklyModel, settings: RenderSettings) -> list[Part]:
    metrics, before = model.metrics, model.previous
    return [
        intro(
            f"flow telemetry for the ISO week {metrics.label} ({span(model.footer)}): how much "
            "work finished and how fast, overall and per theme, the age of the work in "
            f"progress, the decisions waiting for the teams, and the change against "
            f"{before.label}."
        ),
        *restated(model.restatements, model.themes, settings),
        heading(2, "Headline numbers"),
        headline(metrics.scope(OVERALL), settings),
        heading(2, f"Change against {before.label}"),
        change_table(metrics, before),
        heading(2, "Flow by theme"),
        *flow_by_scope(metrics, before, model.themes, settings),
        heading(2, "Work in progress by age"),
        *work_in_progress(metrics.scope(OVERALL).flow, settings),
        heading(2, "Pending decisions"),
        *decisions(metrics.scope(OVERALL).decision_lag, settings),
        *unreadable(metrics.unreadable + before.unreadable),
        *footer(model.footer),
    ]


def _monthly(model: MonthlyModel, settings: RenderSettings) -> list[Part]:
    metrics, themes = model.metrics, model.themes
    return [
        intro(
            f"the portfolio sync for {metrics.label} ({span(model.footer)}): allocation against "
            "plan per theme, alignment variance, decision lag, strategic pivots, "
            "predictability, and the trend over six months."
        ),
        *restated(model.restatements, model.themes, settings),
        heading(2, "Allocation against plan"),
        *allocation(metrics.alignment, themes, settings),
        heading(2, "Decision lag"),
        *decisions_by_scope(metrics, themes, settings),
        heading(2, "Strategic pivots"),
        *pivots_by_scope(metrics, themes, settings),
        heading(2, "Predictability"),
        *predictability_by_scope(metrics, themes, settings),
        heading(2, "Six-month trend"),
        *trend_block(
            model.trend, "Alignment variance by month (pp)", [points, _int, days, percent], 100.0, 1
        ),
        *unreadable(metrics.unreadable),
        *footer(model.footer),
    ]


def _quarterly(model: QuarterlyModel, settings: RenderSettings) -> list[Part]:
    metrics, themes = model.metrics, model.themes
    results = [
        part
        for theme in themes
        for part in (
            heading(3, theme.name),
            *key_results(model.current.key_results.get(theme.key), settings),
        )
    ]
    return [
        intro(
            f"the strategy review of {metrics.label} ({span(model.footer)}): alignment variance "
            "by month, the themes that got more or less than planned, key results, the "
            "decision-lag trend, strategic pivots and predictability."
        ),
        *restated(model.restatements, model.themes, settings),
        heading(2, "Alignment variance by month"),
        *trend_block(model.av_trend, "Alignment variance by month (pp)", [points], 100.0),
        heading(2, "Allocation against plan over the quarter"),
        *investment(metrics.alignment, themes, settings),
        *allocation(metrics.alignment, themes, settings),
        heading(2, "Key results"),
        *results,
        heading(2, "Decision lag by month"),
        *trend_block(model.decision_trend, "Decision lag by month (days)", [days, days]),
        *decisions_by_scope(metrics, themes, settings),
        heading(2, "Strategic pivots"),
        *pivots_by_scope(metrics, themes, settings),
        heading(2, "Predictability"),
        *predictability_by_scope(metrics, themes, settings),
        *unreadable(metrics.unreadable + model.current.unreadable),
        *footer(model.footer),
    ]


_PARENT_TEXT = {
    "week": "one child page per ISO week with the flow telemetry of that week: flow overall "
    "and per theme, the age of the work in progress, pending decisions and the change against "
    "the week before.",
    "month": "one child page per month with the portfolio sync: allocation against plan per "
    "theme, alignment variance, decision lag, pivots, predictability and a six-month trend.",
    "quarter": "one child page per quarter with the strategy review: alignment variance by "
    "month, key results, the decision-lag trend, pivots, predictability and the themes that "
    "got more or less than planned.",
}


def _parent(model: ParentModel) -> list[Part]:
    return [
        intro(_PARENT_TEXT[model.kind]),
        paragraph(
            "restrat-sync adds a child page for each period and never rewrites a past one "
            "unless its metrics are computed again, so the history stays readable."
        ),
    ]
