"""Adversarial text through the storage builder, the sandbox's REST API and its page view.

One page per flavour holds every hostile string in paragraphs, table cells, status lozenges,
expand titles, a chart's data table and Jira macros, next to sandbox issues created (and edited)
with hostile summaries and labels. The sandbox must accept the page, and its HTML view must show
each string as text: no injected element, escaped exactly once. Text is compared after
``shown``: the characters XML cannot carry become U+FFFD (the builder's documented ``clean``),
and the view does the same to the C1 range.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest
import requests

from restrat_sandbox import DEFAULT_TOKEN, DEFAULT_USER, SandboxServer
from restrat_sync.pages.storage import (
    chart,
    check_well_formed,
    clean,
    expand,
    fragment,
    heading,
    jira_issues,
    paragraph,
    serialize,
    status,
    table,
)
from restrat_sync.pages.storage_parser import parse_storage

AUTH = (DEFAULT_USER, DEFAULT_TOKEN)
LABEL = "storage-e2e"
HOSTILE = {
    "script": "<script>alert(1)</script>",
    "cdata-end": "a ]]> b",
    "escaped-amp": "&amp; &lt;b&gt;",
    "quotes": "\"double\" and 'single'",
    "emoji": "🚀 ship it 👩🏽‍💻",
    "rtl": "مرحبا بالعالم · שלום עולם",
    "control": "bell\x07 nul\x00 esc\x1b",
    "surrogate": "half \ud83d pair",
    "long": "Ünïcödé <b>" * 1000,
}
HOSTILE_LABEL = "<img/src=x/onerror=alert(1)>&amp;\"'"  # labels may hold anything but spaces
# The edit test rewrites this issue's summary; the others keep theirs.
EDITED = "<iframe src=javascript:alert(2)></iframe> &quot;edited&quot;"
SCRIPT_JQL = 'summary ~ "<script>alert(1)</script>"'


def shown(text: str) -> str:
    """``text`` as the view may show it: the builder's clean, plus the view's C1 replacement."""
    return re.sub("[\x7f-\x9f]", "\ufffd", clean(text))


# --- a small DOM over html.parser -----------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def having_class(self, name: str) -> list[Node]:
        return [n for n in self.walk() if name in (n.attrs.get("class") or "").split()]

    def named(self, tag: str) -> list[Node]:
        return [n for n in self.walk() if n.tag == tag]


class _Builder(HTMLParser):
    VOID = frozenset({"meta", "br", "hr", "img", "col", "input", "link"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack = [Node("#document", {})]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in self.VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        opened = [n.tag for n in self.stack]
        assert tag in opened, f"</{tag}> closes nothing: the view's HTML is not nested"
        while self.stack.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.stack[0]


def cells(table_node: Node) -> list[list[str]]:
    """The ``td`` texts of each body row (header rows of ``th`` left out)."""
    rows = [[c.text() for c in row.named("td")] for row in table_node.named("tr")]
    return [row for row in rows if row]


# --- the published page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    sent: str
    response: requests.Response
    html: str
    dom: Node
    issues: dict[str, str]  # key -> summary as created


def create_issues(server: SandboxServer) -> dict[str, str]:
    """One PORT story per hostile string, all labelled LABEL and HOSTILE_LABEL."""
    made = {}
    for summary in HOSTILE.values():
        fields = {
            "project": {"key": "PORT"},
            "issuetype": {"name": "Story"},
            "summary": summary,
            "labels": [LABEL, HOSTILE_LABEL],
        }
        answer = requests.post(
            f"{server.url}/rest/api/2/issue", json={"fields": fields}, auth=AUTH, timeout=10
        )
        assert answer.status_code == 201, answer.text
        made[answer.json()["key"]] = summary
    return made


def hostile_body() -> str:
    values = list(HOSTILE.values())
    return serialize(
        fragment(
            heading(2, "Every hostile string"),
            *(paragraph(value) for value in values),
            table(["Name", "Text"], [[name, value] for name, value in HOSTILE.items()]),
            paragraph(*(status(value, "Yellow") for value in values)),
            *(expand(value, paragraph(name)) for name, value in HOSTILE.items()),
            chart("bar", HOSTILE["quotes"], ["Series", *values], [[HOSTILE["rtl"], *"12345678"]]),
            jira_issues(SCRIPT_JQL, "System JIRA", None, columns="key,summary"),
            jira_issues(
                f"labels = {LABEL} ORDER BY key ASC",
                "System JIRA",
                "sandbox-server-id",
                columns="key,summary,labels,status",
                maximum=50,
            ),
        )
    )


def view(server: SandboxServer, response: requests.Response) -> str:
    """The page's HTML view, at its ``webui`` link under ``/wiki`` (no auth: a person reads it)."""
    page = requests.get(server.url + "/wiki" + response.json()["_links"]["webui"], timeout=10)
    assert page.status_code == 200, page.text
    assert page.headers["Content-Type"].startswith("text/html")
    return page.text


@pytest.fixture(scope="module")
def published(sandbox: SandboxServer) -> Published:
    """The hostile page, created through the REST API, with its view fetched and parsed."""
    issues = create_issues(sandbox)
    body = hostile_body()
    check_well_formed(body)
    payload = {
        "type": "page",
        "title": f"Hostile text {uuid.uuid4().hex[:8]}",
        "space": {"key": "PORT"},
        "body": {"storage": {"value": body, "representation": "storage"}},
    }
    response = requests.post(
        f"{sandbox.url}/wiki/rest/api/content", json=payload, auth=AUTH, timeout=30
    )
    html = view(sandbox, response) if response.status_code == 200 else ""
    return Published(body, response, html, parse_html(html), issues)


def jira_table(published: Published, index: int) -> Node:
    tables = published.dom.having_class("jira-table")
    assert len(tables) == 2, published.dom.having_class("error-box")
    return tables[index]


# --- the tests ----------------------------------------------------------------------------------


def test_sandbox_accepts_the_page_and_stores_the_same_text(
    published: Published, sandbox: SandboxServer
) -> None:
    """200 for the create; the stored storage reads back as the same text that was sent."""
    assert published.response.status_code == 200, published.response.text
    page_id = published.response.json()["id"]
    stored = requests.get(
        f"{sandbox.url}/wiki/rest/api/content/{page_id}",
        params={"expand": "body.storage"},
        auth=AUTH,
        timeout=10,
    ).json()["body"]["storage"]["value"]
    sent_root, stored_root = parse_storage(published.sent), parse_storage(stored)
    assert list(stored_root.itertext()) == list(sent_root.itertext())


def test_view_has_no_injected_element_or_handler(published: Published) -> None:
    """No script, iframe or img element and no on* attribute anywhere in the view."""
    tags = {node.tag for node in published.dom.walk()}
    assert not tags & {"script", "iframe", "img", "object", "embed"}
    handlers = [
        (n.tag, name) for n in published.dom.walk() for name in n.attrs if name.startswith("on")
    ]
    assert handlers == []


def test_view_escapes_exactly_once(published: Published) -> None:
    """The raw HTML holds ``&amp;amp;`` for ``&amp;`` and never a raw hostile tag."""
    assert "&amp;amp; &amp;lt;b&amp;gt;" in published.html
    assert "<script>alert" not in published.html
    assert "<b>" not in published.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in published.html


def test_paragraphs_and_table_cells_show_each_string_as_text(published: Published) -> None:
    """Each hostile string is a paragraph's whole text and sits in its table row."""
    content = published.dom.having_class("content")[0]
    paragraphs = [p.text() for p in content.named("p")]
    rows = next(cells(t) for t in content.named("table") if "jira-table" not in str(t.attrs))
    for name, value in HOSTILE.items():
        assert shown(value) in paragraphs, name
        assert [name, shown(value)] in rows, name


def test_lozenges_and_expand_titles_show_each_string(published: Published) -> None:
    """Status lozenge texts and expand summaries are the hostile strings, as text."""
    dom = published.dom
    lozenges = [n.text() for n in dom.having_class("status-yellow")]
    titles = [n.named("summary")[0].text() for n in dom.having_class("expand")]
    expected = [shown(value) for value in HOSTILE.values()]
    assert lozenges == expected
    assert titles == expected


def test_chart_shows_its_title_and_data_table_as_text(published: Published) -> None:
    """The chart's caption and its data table (series and categories) show the strings."""
    (figure,) = published.dom.having_class("chart")
    assert figure.named("figcaption")[0].text() == HOSTILE["quotes"]
    header = [th.text() for th in figure.named("th")]
    assert header == ["Series", *(shown(v) for v in HOSTILE.values())]
    assert cells(figure) == [[HOSTILE["rtl"], *"12345678"]]


def test_jira_macro_with_hostile_jql_lists_the_matching_issue(published: Published) -> None:
    """``summary ~ "<script>..."`` runs as JQL and shows the issue's summary as text."""
    key = next(k for k, v in published.issues.items() if v == HOSTILE["script"])
    rows = cells(jira_table(published, 0))
    assert [key, HOSTILE["script"]] in rows


def test_jira_macro_table_shows_hostile_summaries_and_labels(published: Published) -> None:
    """Every created issue is a row with its summary and labels as text, in key order."""
    rows = cells(jira_table(published, 1))
    by_key = {row[0]: row for row in rows}
    assert set(published.issues) <= set(by_key)
    for key, summary in published.issues.items():
        _, shown_summary, labels, _ = by_key[key]
        assert shown_summary == shown(summary), key
        assert labels == f"{LABEL}, {HOSTILE_LABEL}"


def _summary_cell(sandbox: SandboxServer, page: dict[str, Any], key: str) -> str:
    html = requests.get(sandbox.url + "/wiki" + page["_links"]["webui"], timeout=10).text
    tables = parse_html(html).having_class("jira-table")
    return {row[0]: row[1] for row in cells(tables[1])}[key]


def test_edited_summary_shows_escaped_in_the_live_macro(
    published: Published, sandbox: SandboxServer
) -> None:
    """A summary edited through Jira's API shows, escaped, the next time the page is viewed."""
    key = next(iter(published.issues))
    page = published.response.json()
    answer = requests.put(
        f"{sandbox.url}/rest/api/2/issue/{key}",
        json={"fields": {"summary": EDITED}},
        auth=AUTH,
        timeout=10,
    )
    assert answer.status_code == 204, answer.text
    try:
        assert _summary_cell(sandbox, page, key) == EDITED
    finally:
        restore = {"fields": {"summary": published.issues[key]}}
        requests.put(f"{sandbox.url}/rest/api/2/issue/{key}", json=restore, auth=AUTH, timeout=10)
    assert _summary_cell(sandbox, page, key) == shown(published.issues[key])
