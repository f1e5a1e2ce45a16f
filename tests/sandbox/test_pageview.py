"""The page view: storage XHTML and its macros rendered as safe, readable HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

from restrat_sandbox import pageview
from restrat_sandbox.model import Issue, Portfolio
from tests.sandbox.confluence_fixtures import AUTH, NASTY_SUMMARY, Wiki, make_portfolio

LONG_TEXT = "x" * 10_000


class Dom(HTMLParser):
    """What a browser would see: the elements opened and the text shown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def classes(self) -> list[str]:
        return [str(attrs.get("class")) for _, attrs in self.tags if attrs.get("class")]


def parse(html: str) -> Dom:
    dom = Dom()
    dom.feed(html)
    dom.close()
    return dom


@dataclass
class FakeJira:
    """A JiraSource answering two queries: all of PORT, or a JQL error."""

    portfolio: Portfolio = field(default_factory=make_portfolio)

    def search(self, jql: str) -> list[Issue]:
        if jql == "project = PORT":
            return list(self.portfolio.issues.values())
        raise pageview.MacroError([f"Field 'nope' does not exist: {jql}"])

    def browse_url(self, key: str) -> str:
        return f"http://jira.test/browse/{key}"

    def search_url(self, jql: str) -> str:
        return "http://jira.test/issues/?jql=" + jql


def render(storage: str) -> Dom:
    return parse(pageview.render_fragment(storage, pageview.ViewContext(jira=FakeJira())))


def macro(name: str, params: dict[str, str], body: str = "") -> str:
    parts = "".join(
        f'<ac:parameter ac:name="{key}">{value}</ac:parameter>' for key, value in params.items()
    )
    return f'<ac:structured-macro ac:name="{name}">{parts}{body}</ac:structured-macro>'


def jira_macro(**params: str) -> str:
    return macro("jira", {"server": "System JIRA", **params})


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
    data = pageview.ChartData.from_rows(
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
    html = pageview.render_fragment(storage, pageview.ViewContext())
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
    doc = pageview.PageDoc(
        title="Overview <b>",
        space_name="Portfolio",
        space_url="/wiki/spaces/PORT",
        storage="<p>Body</p>",
        breadcrumbs=[pageview.Link("Home", "/wiki/spaces/PORT/pages/1/Home")],
        children=[pageview.Link("Child", "/wiki/spaces/PORT/pages/2/Child")],
        labels=["restrat"],
        attachments=[],
        byline="Version 1",
    )
    html = pageview.render_page(doc, pageview.ViewContext())
    assert html.startswith("<!DOCTYPE html>")
    dom = parse(html)
    assert [tag for tag, _ in dom.tags][:2] == ["html", "head"]
    assert dom.named("style")
    assert "Overview <b>" in dom.text
    assert not dom.named("b")


def test_toc_macro_links_the_headings() -> None:
    """A toc macro becomes a list of links to the page's headings."""
    doc = pageview.PageDoc(
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
    dom = parse(pageview.render_page(doc, pageview.ViewContext()))
    hrefs = [attrs.get("href") for attrs in dom.named("a")]
    assert [h for h in hrefs if h and h.startswith("#")] == ["#toc-1", "#toc-2"]
    assert [attrs.get("id") for attrs in dom.named("h2")] == ["toc-2"]
    assert dom.text.count("Alignment & flow") == 2


# --- served by the sandbox --------------------------------------------------------------------


def get_html(url: str) -> requests.Response:
    return requests.get(url, auth=AUTH, timeout=10)


def test_page_view_serves_html_at_the_webui_link(wiki: Wiki) -> None:
    """The page's _links.webui, under /wiki, answers an HTML document of the page."""
    page = wiki.create("Overview / Q1 & more", "<h1>Hello</h1><p>world</p>")
    response = get_html(f"{wiki.base}/wiki{page['_links']['webui']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    dom = parse(response.text)
    assert "Overview / Q1 & more" in dom.text
    assert "world" in dom.text
    bare = get_html(f"{wiki.base}/wiki/spaces/PORT/pages/{page['id']}")
    assert bare.status_code == 200


def test_space_index_links_pages_as_a_tree(wiki: Wiki) -> None:
    """The space index lists every page, children nested under their parent."""
    parent = wiki.create("Parent page")
    wiki.create("Child page", parent=parent["id"])
    response = get_html(f"{wiki.base}/wiki/spaces/PORT")
    assert response.status_code == 200
    dom = parse(response.text)
    hrefs = [str(attrs["href"]) for attrs in dom.named("a")]
    assert any(href.endswith("/Child+page") for href in hrefs)
    assert len(dom.named("ul")) >= 2  # nested


def test_unknown_page_view_is_a_404_page(wiki: Wiki) -> None:
    """An unknown page id answers an HTML 404."""
    response = get_html(f"{wiki.base}/wiki/spaces/PORT/pages/424242")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")


def test_served_jira_macro_runs_the_real_jql(wiki: Wiki) -> None:
    """The served page resolves the Jira macro with the sandbox's JQL engine."""
    body = jira_macro(jqlQuery="project = PORT ORDER BY key ASC", columns="key,summary,status")
    body += jira_macro(jqlQuery="project = PORT AND")
    page = wiki.create("Live issues", body)
    dom = parse(get_html(f"{wiki.base}/wiki{page['_links']['webui']}").text)
    keys = [text for text in dom.texts if text.startswith("PORT-")]
    assert keys == ["PORT-1", "PORT-2", "PORT-3"]
    assert not dom.named("script")
    assert "error-box" in dom.classes()


def test_links_to_pages_and_attached_images_resolve(wiki: Wiki) -> None:
    """ac:link to a page title and ac:image of an attachment point at their sandbox URLs."""
    target = wiki.create("Link target")
    body = (
        '<p><ac:link><ri:page ri:content-title="Link target" /><ac:plain-text-link-body>'
        "<![CDATA[see <here>]]></ac:plain-text-link-body></ac:link></p>"
        '<p><ac:image><ri:attachment ri:filename="chart.png" /></ac:image></p>'
    )
    page = wiki.create("Linking page", body)
    wiki.call(
        "POST",
        f"content/{page['id']}/child/attachment",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": ("chart.png", b"png", "image/png")},
    )
    dom = parse(get_html(f"{wiki.base}/wiki{page['_links']['webui']}").text)
    hrefs = [attrs.get("href") for attrs in dom.named("a")]
    assert f"/wiki{target['_links']['webui']}" in hrefs
    assert "see <here>" in dom.text
    image = dom.named("img")[0]["src"]
    assert get_html(f"{wiki.base}{image}").content == b"png"


def test_body_view_expansion_is_rendered_html(wiki: Wiki) -> None:
    """expand=body.view returns the page rendered the way the view shows it."""
    page = wiki.create("Viewed", macro("status", {"colour": "Green", "title": "ok"}))
    got: Any = wiki.call("GET", f"content/{page['id']}", params={"expand": "body.view"}).json()
    assert 'class="status status-green"' in got["body"]["view"]["value"]
