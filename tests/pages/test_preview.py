"""The storage -> HTML preview: storage XHTML and its macros rendered as safe, readable HTML.

The Jira macro reads a fake ``JiraSource`` of three issues here; tests/sandbox/test_pageview.py
checks the same view served by the sandbox over its own Jira.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from restrat_sync.pages import preview
from restrat_sync.pages.preview import IssueRow, IssueSearch
from tests.pages.preview_dom import Dom, jira_macro, macro, parse

LONG_TEXT = "x" * 10_000
NASTY_SUMMARY = "<script>alert(1)</script> ]]> \"double\" 'single' & 🚀 שלום \x07end"
CELLS = {"assignee": "Unassigned", "created": "2026-03-02"}
ROWS = [
    IssueRow("PORT-1", "Grow the portfolio", "Epic", "In Progress", "indeterminate", CELLS),
    IssueRow("PORT-2", "Ship the overview page", "Story", "Done", "done", CELLS),
    IssueRow("PORT-3", NASTY_SUMMARY, "Story", "To Do", "new", CELLS),
]


@dataclass
class FakeJira:
    """A JiraSource answering two queries: all of PORT, or a JQL error; it notes each search."""

    rows: list[IssueRow] = field(default_factory=lambda: list(ROWS))
    searches: list[tuple[str, list[str], int]] = field(default_factory=list)

    def search(self, jql: str, columns: Sequence[str], limit: int) -> IssueSearch:
        self.searches.append((jql, list(columns), limit))
        if jql == "project = PORT":
            return IssueSearch(len(self.rows), self.rows[:limit])
        raise preview.MacroError([f"Field 'nope' does not exist: {jql}"])

    def issue(self, key: str) -> IssueRow | None:
        return next((row for row in self.rows if row.key == key), None)

    def user_name(self, account_id: str) -> str | None:
        return "Ada Lovelace" if account_id == "ada-1" else None

    def browse_url(self, key: str) -> str:
        return f"http://jira.test/browse/{key}"

    def search_url(self, jql: str) -> str:
        return "http://jira.test/issues/?jql=" + jql


def render(storage: str, jira: FakeJira | None = None) -> Dom:
    context = preview.ViewContext(jira=jira or FakeJira())
    return parse(preview.render_fragment(storage, context))


@pytest.mark.parametrize(
    ("colour", "css"),
    [
        ("Green", "status-green"),
        ("Red", "status-red"),
        ("Blue", "status-blue"),
        ("Pink", "status-grey"),
    ],
)
def test_status_macro_is_a_coloured_lozenge(colour: str, css: str) -> None:
    """A status macro shows its title in a lozenge of its colour (grey when unknown)."""
    dom = render(macro("status", {"colour": colour, "title": "On track"}))
    assert f"status {css}" in dom.classes()
    assert dom.text == "On track"


def test_expand_macro_is_a_details_element() -> None:
    """An expand macro folds its body under a summary showing the title."""
    body = "<ac:rich-text-body><p>Hidden detail</p></ac:rich-text-body>"
    dom = render(macro("expand", {"title": "Show data quality"}, body))
    assert [tag for tag, _ in dom.tags][:3] == ["details", "summary", "div"]
    assert "Show data quality" in dom.text
    assert "Hidden detail" in dom.text


CHART_TABLE = (
    "<ac:rich-text-body><table><tbody>"
    "<tr><th>Theme</th><th>W1</th><th>W2</th><th>W3</th></tr>"
    "<tr><td>Planned</td><td>10</td><td>20</td><td>30</td></tr>"
    "<tr><td>Actual</td><td>12</td><td>18</td><td>35</td></tr>"
    "</tbody></table></ac:rich-text-body>"
)


@pytest.mark.parametrize(
    ("kind", "shape", "count"),
    [
        ("bar", "rect", 6),
        ("line", "polyline", 2),
        ("timeSeries", "polyline", 2),
        ("pie", "path", 3),
    ],
)
def test_chart_macro_draws_an_svg(kind: str, shape: str, count: int) -> None:
    """A chart macro becomes an inline SVG with one shape per bar, line or slice."""
    params = {"type": kind, "title": "Allocation", "width": "400", "height": "200"}
    dom = render(macro("chart", params, CHART_TABLE))
    assert len(dom.named("svg")) == 1
    assert len(dom.named(shape)) == count
    assert "Allocation" in dom.text
    assert dom.named("svg")[0]["width"] == "400"


def test_vertical_chart_reads_series_from_columns() -> None:
    """dataOrientation=vertical takes categories from the first column."""
    data = preview.ChartData.from_rows(
        [["Theme", "Planned", "Actual"], ["Growth", "1", "2"], ["Risk", "3", "4"]], "vertical"
    )
    assert data.categories == ["Growth", "Risk"]
    assert data.series == [("Planned", [1.0, 3.0]), ("Actual", [2.0, 4.0])]


def test_chart_without_data_says_so() -> None:
    """A chart with no table shows a note instead of an empty picture."""
    dom = render(macro("chart", {"type": "bar", "title": "Empty"}))
    assert "No chart data." in dom.text
    assert not dom.named("svg")


def test_jira_macro_lists_the_issues_of_its_jql() -> None:
    """A jqlQuery becomes a table with one row per issue, the chosen columns and a count."""
    dom = render(jira_macro(jqlQuery="project = PORT", columns="key,summary,status,assignee"))
    assert len(dom.named("tr")) == 4  # header + three issues
    links = [attrs["href"] for attrs in dom.named("a")]
    assert "http://jira.test/browse/PORT-1" in links
    assert "Grow the portfolio" in dom.text
    assert "3 issues" in dom.text
    assert "Unassigned" in dom.text


def test_jira_macro_stops_at_maximum_issues() -> None:
    """maximumIssues limits the rows and the count line says how many exist."""
    dom = render(jira_macro(jqlQuery="project = PORT", maximumIssues="2", columns="key"))
    assert len(dom.named("tr")) == 3
    assert "2 of 3 issues" in dom.text


def test_jira_macro_count_shows_only_the_count() -> None:
    """count=true renders the number of issues and no table."""
    dom = render(jira_macro(jqlQuery="project = PORT", count="true"))
    assert not dom.named("table")
    assert dom.text == "3 issues"


def test_jira_macro_with_key_shows_one_issue() -> None:
    """key=... renders a single issue line with its status."""
    dom = render(jira_macro(key="PORT-2"))
    assert "Ship the overview page" in dom.text
    assert "status status-green" in dom.classes()


@pytest.mark.parametrize(
    "params",
    [{"jqlQuery": "nope = 1"}, {}, {"key": "NOPE-1"}],
)
def test_jira_macro_problems_show_an_error_box(params: dict[str, str]) -> None:
    """Bad JQL, a missing query or an unknown key show a visible error, not a failure."""
    dom = render(jira_macro(**params))
    assert "error-box" in dom.classes()
    if "jqlQuery" in params:
        assert "Field 'nope' does not exist" in dom.text


def test_jira_macro_shows_hostile_summaries_as_text() -> None:
    """An issue summary full of markup, quotes, emoji and RTL stays text."""
    dom = render(jira_macro(jqlQuery="project = PORT", columns="key,summary"))
    assert not dom.named("script")
    expected = NASTY_SUMMARY.replace("\x07", "\ufffd")
    assert expected in dom.text


def test_jira_macro_asks_its_source_for_the_columns_and_the_maximum() -> None:
    """The source is asked for the macro's columns (lower case, blanks dropped) and only as
    many rows as maximumIssues; a count asks for none; the default maximum is 20."""
    jira = FakeJira()
    render(jira_macro(jqlQuery="project = PORT", columns="Key, Assignee,,status"), jira)
    render(jira_macro(jqlQuery="project = PORT", maximumIssues="2", columns="key"), jira)
    render(jira_macro(jqlQuery="project = PORT", count="true"), jira)
    assert jira.searches == [
        ("project = PORT", ["key", "assignee", "status"], 20),
        ("project = PORT", ["key"], 2),
        ("project = PORT", [], 0),
    ]


def test_jira_macro_shows_no_more_rows_than_maximum_issues() -> None:
    """A source that answers more rows than asked for is still cut at maximumIssues."""

    class Generous(FakeJira):
        def search(self, jql: str, columns: Sequence[str], limit: int) -> IssueSearch:
            return IssueSearch(len(self.rows), self.rows)

    dom = render(
        jira_macro(jqlQuery="project = PORT", maximumIssues="1", columns="key"), Generous()
    )
    assert len(dom.named("tr")) == 2  # header + one issue
    assert "1 of 3 issues" in dom.text


def test_jira_macro_shows_the_cells_the_source_gives() -> None:
    """Columns other than key, summary and status show the row's cell text, escaped; a cell
    the source left out is empty."""
    row = IssueRow("PORT-9", "s", "Story", "Done", "done", {"assignee": "<b>Ada</b> & co"})
    dom = render(jira_macro(jqlQuery="project = PORT", columns="assignee,labels"), FakeJira([row]))
    assert not dom.named("b")
    cells = [text for text in dom.texts if text.strip()]
    assert "<b>Ada</b> & co" in cells
    assert len(dom.named("td")) == 2


@pytest.mark.parametrize(
    ("category", "css"),
    [("done", "green"), ("indeterminate", "blue"), ("new", "grey"), ("undefined", "grey")],
)
def test_issue_status_is_coloured_by_its_category(category: str, css: str) -> None:
    """The status lozenge takes Jira's category colour: done green, in progress blue, else grey."""
    row = IssueRow("PORT-9", "s", "Story", "Whatever", category)
    dom = render(jira_macro(key="PORT-9"), FakeJira([row]))
    assert f"status status-{css}" in dom.classes()
    assert "Whatever" in dom.text


@pytest.mark.parametrize(
    ("jira", "shown"),
    [(FakeJira(), "@Ada Lovelace"), (None, "@ada-1")],
    ids=["known", "offline"],
)
def test_user_mention_shows_the_display_name_when_jira_knows_it(
    jira: FakeJira | None, shown: str
) -> None:
    """An ac:link to a user shows Jira's display name, or the account id without a Jira."""
    storage = '<p><ac:link><ri:user ri:account-id="ada-1" /></ac:link></p>'
    html = preview.render_fragment(storage, preview.ViewContext(jira=jira))
    assert parse(html).text == shown


def test_offline_jira_macro_shows_its_query() -> None:
    """Without a Jira (a dry run), a Jira macro shows the JQL or key it would ask for."""
    storage = jira_macro(jqlQuery="project = PORT") + jira_macro(key="PORT-1")
    dom = parse(preview.render_fragment(storage, preview.ViewContext()))
    assert dom.text == "Jira issues: project = PORTJira issues: issue PORT-1"
    assert "error-box" not in dom.classes()


ADVERSARIAL = [
    ("&lt;script&gt;alert(1)&lt;/script&gt;", "<script>alert(1)</script>"),
    ("]]&gt; and ]]&gt;", "]]> and ]]>"),  # a bare ]]> is not well-formed XML
    ("fish &amp;amp; chips", "fish &amp; chips"),
    ("&quot;double&quot; and 'single' and \"raw\"", '"double" and \'single\' and "raw"'),
    ("emoji 🚀👩‍💻", "emoji 🚀👩‍💻"),
    ("RTL שלום עולם and مرحبا", "RTL שלום עולם and مرحبا"),
    (LONG_TEXT, LONG_TEXT),
]


@pytest.mark.parametrize(("storage_text", "shown"), ADVERSARIAL)
@pytest.mark.parametrize(
    "wrap",
    [
        "<p>{}</p>",
        "<table><tr><td>{}</td></tr></table>",
        '<ac:structured-macro ac:name="expand"><ac:parameter ac:name="title">{}</ac:parameter>'
        "<ac:rich-text-body><p>{}</p></ac:rich-text-body></ac:structured-macro>",
        '<ac:structured-macro ac:name="status"><ac:parameter ac:name="title">{}'
        "</ac:parameter></ac:structured-macro>",
    ],
    ids=["paragraph", "cell", "expand", "status"],
)
def test_adversarial_text_comes_out_as_text(storage_text: str, shown: str, wrap: str) -> None:
    """Whatever the storage text holds, the page shows it as text and opens no element for it."""
    dom = render(wrap.format(storage_text, storage_text))
    assert not dom.named("script")
    assert shown in dom.text


@pytest.mark.parametrize(
    ("cdata", "shown"),
    [
        ("<script>alert(1)</script> &amp; &nbsp;", "<script>alert(1)</script> &amp; &nbsp;"),
        ("a ]]]]><![CDATA[> b", "a ]]> b"),
        ("שלום 🚀 \"q\" 'q'", "שלום 🚀 \"q\" 'q'"),
    ],
)
def test_code_macro_shows_cdata_literally(cdata: str, shown: str) -> None:
    """Plain-text bodies are literal: markup and entities in CDATA show exactly as written."""
    storage = (
        '<ac:structured-macro ac:name="code"><ac:plain-text-body>'
        f"<![CDATA[{cdata}]]></ac:plain-text-body></ac:structured-macro>"
    )
    dom = render(storage)
    assert not dom.named("script")
    assert dom.text == shown


def test_escaped_ampersand_appears_once_as_text() -> None:
    """``&amp;amp;`` in storage shows as the five characters ``&amp;``, not ``&`` or doubled."""
    dom = render("<p>fish &amp;amp; chips</p>")
    assert dom.text == "fish &amp; chips"
    assert dom.text.count("&amp;") == 1


@pytest.mark.parametrize(
    "storage",
    [
        "<script>alert(1)</script><p>after</p>",
        '<p><a href="javascript:alert(1)">after</a></p>',
        '<p onclick="alert(1)">after</p>',
        '<iframe src="http://evil.test"></iframe><p>after</p>',
        '<p><img src="javascript:alert(1)" /></p><p>after</p>',
    ],
)
def test_active_markup_in_storage_is_neutralised(storage: str) -> None:
    """Script elements, event handlers and javascript: URLs never reach the HTML."""
    html = preview.render_fragment(storage, preview.ViewContext())
    dom = parse(html)
    assert not dom.named("script")
    assert not dom.named("iframe")
    assert "javascript:" not in html
    assert "onclick" not in html
    assert "after" in dom.text


def test_plain_xhtml_keeps_its_structure() -> None:
    """Headings, lists, tables and links pass through as the same elements."""
    dom = render(
        "<h2>Flow</h2><ul><li>one</li></ul><ol><li>two</li></ol>"
        '<table><tr><th>a</th></tr><tr><td colspan="2">b</td></tr></table>'
        '<p><a href="https://example.com/x?a=1&amp;b=2">link</a><br /></p>'
    )
    names = [tag for tag, _ in dom.tags]
    for tag in ("h2", "ul", "ol", "li", "table", "th", "td", "a", "br"):
        assert tag in names
    assert dom.named("a")[0]["href"] == "https://example.com/x?a=1&b=2"
    assert dom.named("td")[0]["colspan"] == "2"


def test_full_page_is_a_complete_html_document() -> None:
    """render_page wraps the body in a titled HTML5 document with breadcrumbs and labels."""
    doc = preview.PageDoc(
        title="Overview <b>",
        space_name="Portfolio",
        space_url="/wiki/spaces/PORT",
        storage="<p>Body</p>",
        breadcrumbs=[preview.Link("Home", "/wiki/spaces/PORT/pages/1/Home")],
        children=[preview.Link("Child", "/wiki/spaces/PORT/pages/2/Child")],
        labels=["restrat"],
        attachments=[],
        byline="Version 1",
    )
    html = preview.render_page(doc, preview.ViewContext())
    assert html.startswith("<!DOCTYPE html>")
    dom = parse(html)
    assert [tag for tag, _ in dom.tags][:2] == ["html", "head"]
    assert dom.named("style")
    assert "Overview <b>" in dom.text
    assert not dom.named("b")


def test_toc_macro_links_the_headings() -> None:
    """A toc macro becomes a list of links to the page's headings."""
    doc = preview.PageDoc(
        title="T",
        space_name="Portfolio",
        space_url="/wiki/spaces/PORT",
        storage=macro("toc", {}) + "<h1>Alignment &amp; flow</h1><h2>Decisions</h2>",
        breadcrumbs=[],
        children=[],
        labels=[],
        attachments=[],
        byline="",
    )
    dom = parse(preview.render_page(doc, preview.ViewContext()))
    hrefs = [attrs.get("href") for attrs in dom.named("a")]
    assert [h for h in hrefs if h and h.startswith("#")] == ["#toc-1", "#toc-2"]
    assert [attrs.get("id") for attrs in dom.named("h2")] == ["toc-2"]
    assert dom.text.count("Alignment & flow") == 2
