"""Rendering page models to storage XHTML: well-formed bodies, lozenge colours from the
thresholds, Jira macros with the exact JQL, untrusted text escaped exactly once, "no data"."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from restrat_sync.cache.restatements import RestatementRecord
from restrat_sync.config import Config
from restrat_sync.metrics.pivots import PivotEvent, Pivots
from restrat_sync.model.periods import Period, parse_period
from restrat_sync.pages import preview
from restrat_sync.pages.inputs import Anchor, PageInputs
from restrat_sync.pages.models import (
    PageModel,
    monthly_model,
    overview_model,
    quarterly_model,
    theme_models,
    weekly_model,
)
from restrat_sync.pages.render import (
    LONG_LIST,
    RenderSettings,
    days,
    percent,
    points,
    render,
    signed_points,
)
from restrat_sync.pages.storage import check_well_formed, clean
from tests.pages import builders
from tests.pages.builders import AC, NOW, macros, parse, text

NASTY = "<script>alert(1)</script> ]]> &amp; \"double\" 'single' \x07bell \U0001f680 שלום"
SHOWN = clean(NASTY)  # the bell becomes U+FFFD: XML 1.0 cannot carry it


def overview_body(stored: dict[str, Any] | None = None, settings: Config | None = None) -> str:
    page_inputs = builders.inputs(
        stored
        or {"last-4-weeks": builders.period_metrics(), "current": builders.current_metrics()},
        settings,
    )
    return render(overview_model(page_inputs), RenderSettings.of(page_inputs.config))


def theme_body(page_inputs: PageInputs, index: int = 0) -> str:
    return render(theme_models(page_inputs)[index], RenderSettings.of(page_inputs.config))


def row(body: str, first_cell: str) -> list[ET.Element]:
    """The cells of the first table row whose first cell reads ``first_cell``."""
    for tr in parse(body).iter("tr"):
        cells = [cell for cell in tr if cell.tag in ("td", "th")]
        if cells and "".join(cells[0].itertext()) == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r}")


def lozenge_in(cell: ET.Element) -> tuple[str, str]:
    """(colour, title) of the status lozenge in a table cell."""
    for element in cell.iter(f"{AC}structured-macro"):
        params = {p.get(f"{AC}name"): "".join(p.itertext()) for p in element.iter(f"{AC}parameter")}
        return params["colour"], params["title"]
    raise AssertionError("no lozenge in the cell")


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (percent(0.2568), "25.7%"),
        (percent(1.0), "100.0%"),
        (points(0.0932), "9.3 pp"),
        (signed_points(-0.0932), "-9.3 pp"),
        (signed_points(0.046), "+4.6 pp"),
        (days(6.8937), "6.9 d"),
        (percent(None), "no data"),
        (days(None), "no data"),
        (signed_points(None), "no data"),
    ],
)
def test_numbers_are_formatted_with_one_decimal_and_no_data_for_none(
    shown: str, expected: str
) -> None:
    """Shares as percentages, AV and deviations in points, days: one decimal; None: no data."""
    assert shown == expected


def test_the_overview_body_is_well_formed_and_shows_the_headline_numbers() -> None:
    """The body parses; AV (15 pp) and the decision lag are in the headline table."""
    body = overview_body()
    check_well_formed(body)
    assert "".join(row(body, "Alignment variance")[1].itertext()) == "15.0 pp"
    assert "".join(row(body, "Decision lag, median / p85")[1].itertext()) == "4.5 d / 7.5 d"
    assert "".join(row(body, "Flow efficiency")[1].itertext()) == "75.0%"


def test_lozenge_colours_follow_the_configured_thresholds() -> None:
    """AV of 15 pp is yellow with the defaults and green when green goes up to 0.2; the
    pending-decisions count (1 over the alert) is yellow by default."""
    assert lozenge_in(row(overview_body(), "Alignment variance")[2]) == ("Yellow", "watch")
    relaxed = builders.config(pages={"alignment_variance": {"green": 0.2, "yellow": 0.3}})
    assert lozenge_in(row(overview_body(settings=relaxed), "Alignment variance")[2]) == (
        "Green",
        "on track",
    )
    assert lozenge_in(row(overview_body(), "Pending decisions over 14 days")[2]) == (
        "Yellow",
        "watch",
    )


def test_allocation_rows_show_planned_actual_and_signed_deviation_per_bucket() -> None:
    """One row per theme plus the unaligned bucket, named, with the deviation's lozenge."""
    body = overview_body()
    cells = ["".join(c.itertext()) for c in row(body, "Grow revenue")[:4]]
    assert cells == ["Grow revenue", "60.0%", "45.0%", "-15.0 pp"]
    assert lozenge_in(row(body, "Grow revenue")[4])[0] == "Red"
    assert ["".join(c.itertext()) for c in row(body, "Unaligned")[:4]] == [
        "Unaligned",
        "10.0%",
        "20.0%",
        "+10.0 pp",
    ]


def test_jira_macros_carry_the_exact_jql_and_the_configured_server() -> None:
    """Each Jira macro names the configured server and server id, and lists its keys with
    ``key in``; the oldest items in progress are one of them."""
    found = macros(overview_body(), "jira")
    assert found
    assert all(m["server"] == "Acme Jira" and m["serverId"] == "1a2b-3c4d" for m in found)
    assert all(m["columns"] == "key,summary,type,status" for m in found)
    oldest = [m for m in found if m["jqlQuery"] == "key in (PAY-8, PAY-9)"]
    assert oldest
    assert oldest[0]["maximumIssues"] == "2"
    assert {"jqlQuery": "key in (EPIC-7)"}.items() <= next(
        m for m in found if m["jqlQuery"] == "key in (EPIC-7)"
    ).items()


def test_without_a_server_id_the_macro_names_the_server_only() -> None:
    """``serverId`` is left out when the config has none (Confluence picks the link by name)."""
    settings = builders.config(confluence={"jira_macro": {"server": "System JIRA"}})
    found = macros(overview_body(settings=settings), "jira")
    assert all("serverId" not in m and m["server"] == "System JIRA" for m in found)


def test_the_theme_page_has_a_macro_with_the_themes_own_jql() -> None:
    """The theme's JQL file text goes into a Jira macro unchanged (quotes and all)."""
    body = theme_body(builders.inputs({"last-4-weeks": builders.period_metrics()}))
    assert 'project = PORT AND labels = "growth"' in [m["jqlQuery"] for m in macros(body, "jira")]


def test_long_lists_go_into_an_expand() -> None:
    """More than LONG_LIST keys: the macros sit inside an expand; a short list is shown."""
    many = [f"PAY-{n}" for n in range(1, LONG_LIST + 5)]
    stored = builders.period_metrics()
    stored[("unaligned", "flow")] = builders.flow(ages=[(key, 1.0) for key in many])
    body = overview_body({"last-4-weeks": stored})
    expands = [
        e for e in parse(body).iter(f"{AC}structured-macro") if e.get(f"{AC}name") == "expand"
    ]
    titled = {"".join(p.itertext()): e for e in expands for p in e.findall(f"{AC}parameter")}
    folded = titled[f"Unaligned items in progress: {len(many)} issues"]
    inner = [m for m in folded.iter(f"{AC}structured-macro") if m.get(f"{AC}name") == "jira"]
    assert len(inner) == 1
    assert "Pending over the alert: 1 issue" in text(body)


def test_untrusted_text_is_escaped_exactly_once() -> None:
    """A theme name, an anchor's summary and status, and a key result's name holding markup,
    ``]]>``, an already escaped ``&amp;``, quotes, a control character, emoji and
    right-to-left text all come back as the same text (the control character as U+FFFD)."""
    settings = builders.config(
        themes=[{"key": "GROWTH", "name": NASTY, "jql": "g.jql", "target": 0.9}]
    )
    current = {("theme:GROWTH", "key_results"): (builders.key_result(name=NASTY),)}
    page_inputs = builders.inputs(
        {"last-4-weeks": builders.period_metrics(), "current": current},
        settings,
        anchors={"GROWTH": (Anchor("PORT-1", NASTY, NASTY, "done"),)},
    )
    body = theme_body(page_inputs)
    check_well_formed(body)
    assert "<script>" not in body
    assert "]]>" not in body
    assert "&amp;amp;" in body  # the & of the text "&amp;", escaped once
    assert "&amp;amp;amp;" not in body
    assert f"the strategic theme {SHOWN} (GROWTH)" in text(body)
    cells = row(body, "PORT-1")
    assert "".join(cells[1].itertext()) == SHOWN
    assert lozenge_in(cells[2]) == ("Green", SHOWN)
    assert "".join(row(body, SHOWN)[0].itertext()) == SHOWN  # the key result's row


def test_missing_numbers_say_no_data_never_zero() -> None:
    """Without an allocation, a flow or a decision-lag snapshot the overview says "no data"
    (with grey lozenges) and invents no 0."""
    body = overview_body({"last-4-weeks": {("overall", "pivots"): builders.pivots()}})
    check_well_formed(body)
    assert "".join(row(body, "Alignment variance")[1].itertext()) == "no data"
    assert lozenge_in(row(body, "Alignment variance")[2]) == ("Grey", "no data")
    assert "".join(row(body, "Decision lag, median / p85")[1].itertext()) == "no data"
    assert "".join(row(body, "Flow metrics")[1].itertext()) == "no data"
    assert "Data quality: no data" in text(body)
    assert "0.0%" not in text(body)


def test_the_data_quality_section_lists_every_check() -> None:
    """Every item of domain.md's data-quality list has a row; config problems are listed."""
    current = builders.current_metrics()
    current[("overall", "data_quality")] = builders.data_quality(
        config_problems=("themes[0].jql: JQL file missing",)
    )
    body = overview_body({"last-4-weeks": builders.period_metrics(), "current": current})
    counts = {
        "Statuses mapped by their category only": "1",
        "Changelogs that could not be completed": "1",
        "Finished items with no start": "2",
        "Items reachable from several themes": "1",
        "Items with no parent": "1",
        "Unaligned share (last four weeks)": "20.0%",
        "Age of the last successful sync": "0.5 h",
    }
    for check, shown in counts.items():
        assert "".join(row(body, check)[1].itertext()) == shown
    assert "themes[0].jql: JQL file missing" in text(body)
    assert "key in (EPIC-3)" in [m["jqlQuery"] for m in macros(body, "jira")]
    assert "Theme membership known since" not in text(body)  # attribution: current


def test_the_data_quality_section_says_from_when_membership_is_known() -> None:
    """With the graph with memory, the overview discloses the first sync that listed the themes
    (as a local date): earlier periods assume the membership it saw."""
    current = builders.current_metrics()
    current[("overall", "data_quality")] = builders.data_quality(
        membership_known_since=datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    )
    body = overview_body({"last-4-weeks": builders.period_metrics(), "current": current})
    cells = ["".join(cell.itertext()) for cell in row(body, "Theme membership known since")]
    assert cells[1] == "2026-11-01"
    assert "the membership it saw is assumed" in cells[2]


def test_the_allocation_chart_reads_as_planned_and_actual_series_in_the_sandbox() -> None:
    """The chart macro's data table, read the way the sandbox (and Confluence) read it, has
    the buckets as categories and planned and actual shares as series."""
    for element in parse(overview_body()).iter(f"{AC}structured-macro"):
        params = {
            p.get(f"{AC}name"): "".join(p.itertext()) for p in element.findall(f"{AC}parameter")
        }
        if params.get("title") == "Allocation: planned vs actual share (%)":
            rows = preview.table_rows(element.find(f"{AC}rich-text-body"))
            data = preview.ChartData.from_rows(rows, "horizontal")
            assert params["type"] == "bar"
            assert params["dataOrientation"] == "horizontal"
            assert data.categories == ["Grow revenue", "Reliability", "Unaligned"]
            assert data.series == [
                ("planned %", [60.0, 30.0, 10.0]),
                ("actual %", [45.0, 35.0, 20.0]),
            ]
            return
    raise AssertionError("no allocation chart")


def test_trend_charts_plot_only_periods_with_data() -> None:
    """The AV trend's chart holds the months with a snapshot; its table lists every month,
    "no data" for the others."""
    body = overview_body(
        {"last-4-weeks": builders.period_metrics(), "2026-10": builders.period_metrics()}
    )
    assert "".join(row(body, "2026-10")[1].itertext()) == "15.0 pp"
    assert "".join(row(body, "2026-09")[1].itertext()) == "no data"
    charts = {m["title"]: m for m in macros(body, "chart")}
    assert charts["Alignment variance by month (pp)"]["type"] == "line"


def test_the_sandbox_view_shows_the_page_as_text() -> None:
    """The sandbox renders the overview without an error box and shows nasty text as text."""
    settings = builders.config(
        themes=[{"key": "GROWTH", "name": NASTY, "jql": "g.jql", "target": 0.9}]
    )
    html = preview.render_fragment(overview_body(settings=settings), preview.ViewContext())
    assert "error-box" not in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<figure class="chart">' in html


@pytest.mark.parametrize("cadence", ["weekly", "monthly", "quarterly"])
def test_cadence_pages_render_well_formed_with_and_without_data(cadence: str) -> None:
    """Each cadence page renders from full snapshots, and from a lone snapshot ("no data"
    everywhere else)."""
    label = {"weekly": "2026-W46", "monthly": "2026-10", "quarterly": "2026-Q3"}[cadence]
    builds: dict[str, Callable[[PageInputs, Period], PageModel]] = {
        "weekly": weekly_model,
        "monthly": monthly_model,
        "quarterly": quarterly_model,
    }
    build = builds[cadence]
    period = parse_period(label, NOW, "UTC")
    for stored in (builders.period_metrics(), {("overall", "pivots"): builders.pivots()}):
        page_inputs = builders.inputs({label: stored, "current": builders.current_metrics()})
        body = render(build(page_inputs, period), RenderSettings.of(page_inputs.config))
        check_well_formed(body)
        assert label in text(body)


def test_the_weekly_page_shows_the_change_against_the_previous_week() -> None:
    """Velocity 3 against 1 in the week before is +2; efficiency 75% against 50% is +25 pp."""
    w45 = builders.period_metrics()
    w45[("overall", "flow")] = builders.flow(finished=("PAY-1",), efficiency=0.5)
    page_inputs = builders.inputs({"2026-W46": builders.period_metrics(), "2026-W45": w45})
    body = render(
        weekly_model(page_inputs, parse_period("2026-W46", NOW, "UTC")),
        RenderSettings.of(page_inputs.config),
    )
    assert ["".join(c.itertext()) for c in row(body, "velocity")] == ["velocity", "3", "1", "+2"]
    assert ["".join(c.itertext()) for c in row(body, "flow efficiency")][3] == "+25.0 pp"


def test_the_quarterly_page_names_over_and_under_invested_themes() -> None:
    """Deviations beyond the deviation band's green threshold (5 pp) are called out, either
    way; exactly 5 pp is not beyond it."""
    stored = builders.period_metrics()
    stored[("overall", "alignment")] = builders.alignment(
        {"GROWTH": 0.45, "RELIABILITY": 0.35, "UNALIGNED": 0.2}
    )
    page_inputs = builders.inputs({"2026-Q3": stored})
    body = render(
        quarterly_model(page_inputs, parse_period("2026-Q3", NOW, "UTC")),
        RenderSettings.of(page_inputs.config),
    )
    lists = [["".join(li.itertext()) for li in ul.iter("li")] for ul in parse(body).iter("ul")]
    assert ["Unaligned: +10.0 pp"] in lists  # over-invested
    assert ["Grow revenue: -15.0 pp"] in lists  # under-invested
    relaxed = builders.config(pages={"deviation": {"green": 0.2, "yellow": 0.3}})
    page_inputs = builders.inputs({"2026-Q3": stored}, relaxed)
    body = render(
        quarterly_model(page_inputs, parse_period("2026-Q3", NOW, "UTC")),
        RenderSettings.of(page_inputs.config),
    )
    assert "Over-invested: none beyond 20.0 pp." in text(body)
    assert "Under-invested: none beyond 20.0 pp." in text(body)


def test_the_theme_page_shows_its_pivots_with_what_caused_a_theme_change() -> None:
    """A theme change on the theme page names its cause (the re-parent that moved the epic),
    beside the count per kind and the rate; the detail is escaped like any Jira text."""
    stored = builders.period_metrics()
    moved = PivotEvent(
        "EPIC-1", NOW, "theme_change", "GROWTH → RELIABILITY (EPIC-1 parent: <INIT-A> → INIT-B)"
    )
    stored[("theme:GROWTH", "pivots")] = Pivots(
        count=1,
        by_kind={"re_parent": 0, "theme_change": 1, "priority_change": 0, "cancellation": 0},
        active_decisions=4,
        rate=0.25,
        events=(moved,),
        keys=("EPIC-1",),
    )
    body = theme_body(builders.inputs({"last-4-weeks": stored}))
    shown = text(body)
    assert "Strategic pivots" in shown
    assert "1 pivot (1 theme change); 0.25 per active decision item." in shown
    assert "GROWTH → RELIABILITY (EPIC-1 parent: <INIT-A> → INIT-B)" in shown
    assert "&lt;INIT-A&gt;" in body
    assert "key in (EPIC-1)" in [m["jqlQuery"] for m in macros(body, "jira")]


def restatement(number: str, old: float, new: float, **fields: Any) -> RestatementRecord:
    values: dict[str, Any] = {
        "period": "2026-10", "scope": "overall", "metric": "alignment", "number": number,
        "old": old, "new": new, "restated_at": datetime(2026, 11, 12, 8, tzinfo=UTC),
        "previous_computed_at": datetime(2026, 11, 1, 6, tzinfo=UTC),
        "causes": ("PAY-12", "PAY-40"),
    }  # fmt: skip
    values.update(fields)
    return RestatementRecord(**values)


def restated_lines(body: str) -> list[str]:
    return [
        "".join(li.itertext())
        for ul in parse(body).iter("ul")
        for li in ul.iter("li")
        if "".join(li.itertext()).startswith(("restated on", "and "))
    ]


@pytest.mark.parametrize("cadence", ["weekly", "monthly", "quarterly"])
def test_a_cadence_page_shows_its_restatements_with_their_causes(cadence: str) -> None:
    """The page of the restated period says what changed after it closed, newest first, with
    a Jira macro of the issues that caused it; without restatements of its own (only of
    another period) it says nothing of them."""
    label = {"weekly": "2026-W44", "monthly": "2026-10", "quarterly": "2026-Q4"}[cadence]
    builds: dict[str, Callable[[PageInputs, Period], PageModel]] = {
        "weekly": weekly_model,
        "monthly": monthly_model,
        "quarterly": quarterly_model,
    }
    records = (
        restatement("av", 0.184, 0.191, period=label),
        restatement("velocity", 12, 13, period=label, scope="theme:GROWTH", metric="flow",
                    causes=("PAY-3",), restated_at=datetime(2026, 11, 2, tzinfo=UTC)),
    )  # fmt: skip
    page_inputs = dataclasses.replace(
        builders.inputs({label: builders.period_metrics()}), restatements={label: records}
    )
    period = parse_period(label, NOW, "UTC")
    body = render(builds[cadence](page_inputs, period), RenderSettings.of(page_inputs.config))
    check_well_formed(body)
    assert restated_lines(body) == [
        "restated on 2026-11-12: AV 18.4 pp → 19.1 pp (PAY-12, PAY-40)",
        "restated on 2026-11-02: Grow revenue velocity 12 → 13 (PAY-3)",
    ]
    (jql,) = [m["jqlQuery"] for m in macros(body, "jira") if "PAY-12" in m["jqlQuery"]]
    assert jql == "key in (PAY-3, PAY-12, PAY-40)"
    elsewhere = dataclasses.replace(page_inputs, restatements={"2026-09": records})
    quiet = render(builds[cadence](elsewhere, period), RenderSettings.of(page_inputs.config))
    assert restated_lines(quiet) == []
    assert "Restated:" not in text(quiet)


def test_restatement_lines_are_escaped_and_capped() -> None:
    """A theme name with markup comes back as text; past ten lines the rest are counted, with
    the command that lists them all."""
    settings = builders.config(
        themes=[{"key": "GROWTH", "name": NASTY, "jql": "g.jql", "target": 0.9}]
    )
    records = tuple(
        restatement("share:GROWTH", 0.3, 0.3 + n / 100, causes=()) for n in range(1, 13)
    )
    page_inputs = dataclasses.replace(
        builders.inputs({"2026-10": builders.period_metrics()}, settings),
        restatements={"2026-10": records},
    )
    body = render(
        monthly_model(page_inputs, parse_period("2026-10", NOW, "UTC")),
        RenderSettings.of(settings),
    )
    check_well_formed(body)
    assert "<script>" not in body
    lines = restated_lines(body)
    assert lines[0] == f"restated on 2026-11-12: {SHOWN} share 30.0% → 31.0%"
    assert len(lines) == 11
    assert lines[-1] == (
        "and 2 more; `restrat-sync metrics --restatements --period 2026-10` lists them all"
    )
