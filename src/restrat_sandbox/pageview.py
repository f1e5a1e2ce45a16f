"""Confluence storage format rendered as readable HTML, so a person can look at published pages.

The view mimics what Confluence shows: XHTML passes through (attributes filtered), and the
macros restrat-sync writes become their visible form: status lozenges, ``<details>`` for
expand, an inline SVG for charts, tables of live Jira issues for the Jira macro. Nothing from
storage or from issues is ever written unescaped: page text and issue summaries are user input.
Jira data comes in through ``JiraSource``, so this module does no I/O of its own.
"""

from __future__ import annotations

import html
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from restrat_sandbox.model import Issue, Portfolio
from restrat_sandbox.storage_xml import AC, RI, StorageError, parse_storage

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def esc(text: str) -> str:
    """Escape text for HTML content or a quoted attribute; unprintable characters become �."""
    return html.escape(_CONTROL.sub("\ufffd", text), quote=True)


class MacroError(Exception):
    """A macro that cannot be shown; the page shows ``messages`` in an error box instead."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class JiraSource(Protocol):
    """What the Jira macro needs from the sandbox's Jira."""

    @property
    def portfolio(self) -> Portfolio: ...

    def search(self, jql: str) -> list[Issue]:
        """The issues matching ``jql`` in its order; raises MacroError for a bad query."""
        ...

    def browse_url(self, key: str) -> str: ...

    def search_url(self, jql: str) -> str: ...


@dataclass(frozen=True)
class ViewContext:
    """Everything outside the storage text that the view links to or looks up."""

    jira: JiraSource | None = None
    page_url: Callable[[str | None, str], str | None] = lambda _space, _title: None
    # A file attached to the page being shown, by name.
    attachment_url: Callable[[str], str | None] = lambda _name: None


def render_fragment(storage: str, ctx: ViewContext) -> str:
    """Storage markup as an HTML fragment (Confluence's ``body.view``)."""
    try:
        root = parse_storage(storage)
    except StorageError as err:
        return error_box("This page's storage format cannot be read", [str(err)])
    renderer = _Renderer(ctx)
    renderer.children(root)
    return "".join(renderer.parts)


def error_box(title: str, messages: list[str]) -> str:
    items = "".join(f"<li>{esc(message)}</li>" for message in messages)
    return (
        f'<div class="error-box" role="alert"><strong>{esc(title)}</strong><ul>{items}</ul></div>'
    )


# --- elements -------------------------------------------------------------------------------

_VOID = frozenset({"br", "hr", "col"})
_BLOCK = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "div"}
_BLOCK |= {"table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "colgroup", "pre"}
_BLOCK |= {"blockquote", "figure", "figcaption", "center"}
_INLINE = {"a", "strong", "b", "em", "i", "u", "s", "del", "ins", "strike", "code", "span"}
_INLINE |= {"sub", "sup", "small", "big", "cite", "q", "abbr", "kbd", "samp", "var", "mark"}
_PASS = frozenset(_BLOCK | _INLINE | _VOID)
# Active content is dropped whole, as Confluence's own sanitiser does.
_DROP = frozenset(
    {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form"}
    | {"input", "button", "select", "textarea", "link", "meta", "base", "svg", "math"}
    | {"template", "noscript"}
)
_ATTRIBUTES = frozenset({"colspan", "rowspan", "title", "datetime", "id", "start", "type", "lang"})
_SAFE_URL = re.compile(r"^(https?:|mailto:|/|#|\?|[^:]*$)", re.IGNORECASE)


def safe_url(url: str) -> str | None:
    """The URL when it cannot run script (no ``javascript:`` and the like), else None."""
    url = url.strip()
    return url if _SAFE_URL.match(url) else None


def _attrs(pairs: dict[str, str]) -> str:
    return "".join(f' {name}="{esc(value)}"' for name, value in pairs.items())


def ac(name: str) -> str:
    return f"{{{AC}}}{name}"


def ri(name: str) -> str:
    return f"{{{RI}}}{name}"


def text_of(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


@dataclass
class _Renderer:
    ctx: ViewContext
    parts: list[str] = field(default_factory=list)

    def children(self, element: ET.Element) -> None:
        if element.text:
            self.parts.append(esc(element.text))
        for child in element:
            self.node(child)
            if child.tail:
                self.parts.append(esc(child.tail))

    def node(self, element: ET.Element) -> None:
        tag = element.tag
        if tag.startswith(f"{{{AC}}}"):
            self.ac_element(tag.removeprefix(f"{{{AC}}}"), element)
        elif tag.startswith("{"):
            return  # ri: resources only mean something inside ac:link / ac:image
        elif tag in _PASS:
            self.html_element(tag, element)
        elif tag == "img":
            self.image(element.get("src", ""), element.get("alt", ""))
        elif tag == "time":
            self.parts.append(f"<time{_attrs({'datetime': element.get('datetime', '')})}>")
            self.parts.append(esc(element.get("datetime", "")) + esc(text_of(element)) + "</time>")
        elif tag not in _DROP:
            self.children(element)  # unknown markup: keep the text, lose the element

    def html_element(self, tag: str, element: ET.Element) -> None:
        attrs = {k: v for k, v in element.attrib.items() if k in _ATTRIBUTES}
        if tag == "a":
            href = safe_url(element.get("href", ""))
            if href is not None:
                attrs["href"] = href
        self.parts.append(f"<{tag}{_attrs(attrs)}>")
        if tag in _VOID:
            return
        self.children(element)
        self.parts.append(f"</{tag}>")

    def ac_element(self, name: str, element: ET.Element) -> None:
        if name == "structured-macro" or name == "macro":
            self.parts.append(render_macro(element, self.ctx))
        elif name == "link":
            self.link(element)
        elif name == "image":
            self.ac_image(element)
        elif name == "emoticon":
            self.parts.append(esc(_EMOTICONS.get(element.get(ac("name"), ""), "🙂")))
        elif name == "task-list":
            self.task_list(element)
        elif name in {"placeholder", "parameter"}:
            return
        else:
            self.children(element)

    def link(self, element: ET.Element) -> None:
        url, label = _link_target(element, self.ctx)
        body = element.find(ac("link-body"))
        plain = element.find(ac("plain-text-link-body"))
        self.parts.append(f"<a{_attrs({'href': url} if url else {})}>")
        if body is not None:
            self.children(body)
        else:
            self.parts.append(esc(text_of(plain) or label))
        self.parts.append("</a>")

    def ac_image(self, element: ET.Element) -> None:
        attachment = element.find(ri("attachment"))
        url_ref = element.find(ri("url"))
        if attachment is not None:
            name = attachment.get(ri("filename"), "")
            self.image(self.ctx.attachment_url(name) or "", name)
        elif url_ref is not None:
            self.image(url_ref.get(ri("value"), ""), element.get(ac("alt"), ""))

    def image(self, src: str, alt: str) -> None:
        url = safe_url(src)
        if url:
            self.parts.append(f"<img{_attrs({'src': url, 'alt': alt})}>")
        else:
            self.parts.append(f'<span class="missing-image">[image: {esc(alt)}]</span>')

    def task_list(self, element: ET.Element) -> None:
        self.parts.append('<ul class="task-list">')
        for task in element.findall(ac("task")):
            done = text_of(task.find(ac("task-status"))).strip() == "complete"
            box = "☑" if done else "☐"
            self.parts.append(f"<li>{box} ")
            body = task.find(ac("task-body"))
            if body is not None:
                self.children(body)
            self.parts.append("</li>")
        self.parts.append("</ul>")


_EMOTICONS = {
    "smile": "🙂",
    "sad": "🙁",
    "cheeky": "😛",
    "laugh": "😀",
    "wink": "😉",
    "thumbs-up": "👍",
    "thumbs-down": "👎",
    "information": "ℹ️",
    "tick": "✅",
    "cross": "❌",
    "warning": "⚠️",
    "plus": "➕",
    "minus": "➖",
    "question": "❓",
    "light-on": "💡",
    "light-off": "💡",
    "yellow-star": "⭐",
}


def _link_target(element: ET.Element, ctx: ViewContext) -> tuple[str | None, str]:
    """(href, default label) of an ``ac:link`` to a page, attachment, user or anchor."""
    anchor = element.get(ac("anchor"))
    page = element.find(ri("page"))
    if page is not None:
        title = page.get(ri("content-title"), "")
        url = ctx.page_url(page.get(ri("space-key")), title)
        return (url + f"#{anchor}" if url and anchor else url), title
    attachment = element.find(ri("attachment"))
    if attachment is not None:
        name = attachment.get(ri("filename"), "")
        return ctx.attachment_url(name), name
    user = element.find(ri("user"))
    if user is not None:
        return None, _user_name(user.get(ri("account-id")) or "", ctx)
    external = element.find(ri("url"))
    if external is not None:
        value = external.get(ri("value"), "")
        return safe_url(value), value
    return (f"#{anchor}" if anchor else None), anchor or ""


def _user_name(account_id: str, ctx: ViewContext) -> str:
    if ctx.jira is not None:
        user = ctx.jira.portfolio.users.get(account_id)
        if user is not None:
            return "@" + user.display_name
    return "@" + account_id


# --- macros ---------------------------------------------------------------------------------


def macro_parameters(element: ET.Element) -> dict[str, str]:
    return {
        param.get(ac("name"), ""): text_of(param).strip()
        for param in element.findall(ac("parameter"))
    }


def rich_body(element: ET.Element, ctx: ViewContext) -> str:
    body = element.find(ac("rich-text-body"))
    if body is None:
        return ""
    renderer = _Renderer(ctx)
    renderer.children(body)
    return "".join(renderer.parts)


def render_macro(element: ET.Element, ctx: ViewContext) -> str:
    """One ``ac:structured-macro`` as HTML; a failing macro becomes an error box, never a 500."""
    name = element.get(ac("name"), "")
    params = macro_parameters(element)
    handler = _MACROS.get(name)
    try:
        if handler is not None:
            return handler(element, params, ctx)
        return _unknown_macro(name, element, ctx)
    except MacroError as err:
        return error_box(f"Error rendering macro '{name}'", err.messages)


LOZENGE_COLOURS = ("grey", "red", "yellow", "green", "blue", "purple")


def lozenge(title: str, colour: str, subtle: bool = False) -> str:
    colour = colour.lower() if colour.lower() in LOZENGE_COLOURS else "grey"
    outline = " status-subtle" if subtle else ""
    return f'<span class="status status-{colour}{outline}">{esc(title)}</span>'


def _status(_: ET.Element, params: dict[str, str], __: ViewContext) -> str:
    colour = params.get("colour") or params.get("color") or "Grey"
    title = params.get("title") or colour
    # Confluence shows lozenges in capitals through CSS; the text itself stays as written.
    return lozenge(title, colour, params.get("subtle", "").lower() == "true")


def _expand(element: ET.Element, params: dict[str, str], ctx: ViewContext) -> str:
    title = params.get("title") or "Click here to expand..."
    body = rich_body(element, ctx)
    return f'<details class="expand"><summary>{esc(title)}</summary><div>{body}</div></details>'


def _panel(element: ET.Element, params: dict[str, str], ctx: ViewContext) -> str:
    kind = element.get(ac("name"), "info")
    title = params.get("title")
    heading = f"<p><strong>{esc(title)}</strong></p>" if title else ""
    return f'<div class="panel panel-{esc(kind)}">{heading}{rich_body(element, ctx)}</div>'


def _code(element: ET.Element, params: dict[str, str], _: ViewContext) -> str:
    code = text_of(element.find(ac("plain-text-body")))
    title = params.get("title")
    caption = f'<div class="code-title">{esc(title)}</div>' if title else ""
    return f'{caption}<pre class="code"><code>{esc(code)}</code></pre>'


def _anchor(_: ET.Element, params: dict[str, str], __: ViewContext) -> str:
    name = params.get("") or params.get("name") or ""
    return f'<a id="{esc(name)}"></a>'


def _toc(_: ET.Element, __: dict[str, str], ___: ViewContext) -> str:
    return '<nav class="toc" data-macro="toc"></nav>'  # filled in by render_page's headings


def _unknown_macro(name: str, element: ET.Element, ctx: ViewContext) -> str:
    body = rich_body(element, ctx)
    plain = text_of(element.find(ac("plain-text-body")))
    inner = body or (f"<pre>{esc(plain)}</pre>" if plain else "")
    return f'<div class="macro macro-unknown"><em>macro: {esc(name)}</em>{inner}</div>'


def _chart(element: ET.Element, params: dict[str, str], ctx: ViewContext) -> str:
    rows = table_rows(element.find(ac("rich-text-body")))
    title = params.get("title", "")
    data = ChartData.from_rows(rows, params.get("dataOrientation", "horizontal"))
    figure = render_chart(
        params.get("type", "pie"),
        data,
        title,
        width=_int(params.get("width"), 480),
        height=_int(params.get("height"), 300),
    )
    table = rich_body(element, ctx)
    caption = f"<figcaption>{esc(title)}</figcaption>" if title else ""
    return (
        f'<figure class="chart">{caption}{figure}'
        f"<details><summary>Chart data</summary>{table}</details></figure>"
    )


def table_rows(body: ET.Element | None) -> list[list[str]]:
    """The cell texts of the first table in ``body``, row by row."""
    table = next(iter(body.iter("table")), None) if body is not None else None
    if table is None:
        return []
    return [
        [text_of(cell).strip() for cell in row if cell.tag in {"th", "td"}]
        for row in table.iter("tr")
    ]


def _int(value: str | None, default: int) -> int:
    try:
        number = int(float(value or ""))
    except ValueError:
        return default
    return min(max(number, 50), 2000)


# --- the Jira macro ---------------------------------------------------------------------------

# Confluence's own default column set for the Jira macro.
DEFAULT_COLUMNS = "type,key,summary,assignee,reporter,priority,status,resolution,created,updated"
DEFAULT_COLUMNS += ",due"
COLUMN_TITLES = {
    "type": "T",
    "issuetype": "T",
    "key": "Key",
    "summary": "Summary",
    "status": "Status",
    "assignee": "Assignee",
    "reporter": "Reporter",
    "priority": "P",
    "created": "Created",
    "updated": "Updated",
    "due": "Due",
    "duedate": "Due",
    "resolution": "Resolution",
    "resolved": "Resolved",
    "resolutiondate": "Resolved",
    "labels": "Labels",
    "fixversion": "Fix Version/s",
    "fixversions": "Fix Version/s",
    "parent": "Parent",
    "story points": "Story Points",
}
CATEGORY_COLOURS = {"new": "grey", "indeterminate": "blue", "done": "green"}


def _jira(_: ET.Element, params: dict[str, str], ctx: ViewContext) -> str:
    if ctx.jira is None:  # an offline preview (a dry run): show what the macro asks for
        asked = f"issue {params['key']}" if params.get("key") else params.get("jqlQuery", "")
        return f'<div class="jira-issues jira-offline">Jira issues: <code>{esc(asked)}</code></div>'
    if params.get("key"):
        return _single_issue(params["key"], ctx.jira)
    jql = params.get("jqlQuery", "").strip()
    if not jql:
        raise MacroError(["The Jira macro needs a JQL query or an issue key."])
    issues = ctx.jira.search(jql)
    if params.get("count", "").lower() == "true":
        count = f"{len(issues)} issue{'' if len(issues) == 1 else 's'}"
        return f'<a class="jira-count" href="{esc(ctx.jira.search_url(jql))}">{esc(count)}</a>'
    limit = _int_or(params.get("maximumIssues"), 20)
    columns = [c.strip().lower() for c in (params.get("columns") or DEFAULT_COLUMNS).split(",")]
    return _issue_table(issues, [c for c in columns if c], limit, jql, ctx.jira)


def _int_or(value: str | None, default: int) -> int:
    try:
        return max(0, int(value or ""))
    except ValueError:
        return default


def _single_issue(key: str, jira: JiraSource) -> str:
    issue = jira.portfolio.find_issue(key.strip())
    if issue is None:
        raise MacroError([f"Unable to locate Jira issue: {key}"])
    return (
        f'<span class="jira-issue">{esc(issue.issuetype)} '
        f'<a href="{esc(jira.browse_url(issue.key))}">{esc(issue.key)}</a> '
        f"<bdi>{esc(issue.summary)}</bdi> {_issue_status(issue, jira.portfolio)}</span>"
    )


def _issue_table(
    issues: list[Issue], columns: list[str], limit: int, jql: str, jira: JiraSource
) -> str:
    head = "".join(f"<th>{esc(COLUMN_TITLES.get(c, c.title()))}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(issue, c, jira)}</td>" for c in columns) + "</tr>"
        for issue in issues[:limit]
    )
    shown = min(limit, len(issues))
    noun = "issue" if len(issues) == 1 else "issues"
    count = f"{len(issues)} {noun}" if shown == len(issues) else f"{shown} of {len(issues)} {noun}"
    link = f'<a href="{esc(jira.search_url(jql))}">{esc(count)}</a>'
    return (
        f'<div class="jira-issues"><table class="jira-table"><thead><tr>{head}</tr></thead>'
        f'<tbody>{rows}</tbody></table><p class="jira-count">{link}</p></div>'
    )


def _issue_status(issue: Issue, portfolio: Portfolio) -> str:
    status = portfolio.statuses.get(issue.status)
    colour = CATEGORY_COLOURS.get(status.category if status else "new", "grey")
    return lozenge(issue.status, colour)


def _cell(issue: Issue, column: str, jira: JiraSource) -> str:
    if column == "key":
        return f'<a href="{esc(jira.browse_url(issue.key))}">{esc(issue.key)}</a>'
    if column == "summary":
        return f"<bdi>{esc(issue.summary)}</bdi>"
    if column == "status":
        return _issue_status(issue, jira.portfolio)
    return esc(_plain_cell(issue, column, jira.portfolio))


def _plain_cell(issue: Issue, column: str, portfolio: Portfolio) -> str:
    users = portfolio.users
    values: dict[str, Callable[[], object]] = {
        "type": lambda: issue.issuetype,
        "issuetype": lambda: issue.issuetype,
        "priority": lambda: issue.priority,
        "assignee": lambda: users[issue.assignee].display_name if issue.assignee else "Unassigned",
        "reporter": lambda: users[issue.reporter].display_name if issue.reporter else "",
        "created": lambda: issue.created.date(),
        "updated": lambda: issue.updated.date(),
        "due": lambda: issue.duedate or "",
        "duedate": lambda: issue.duedate or "",
        "resolution": lambda: "Done" if issue.resolutiondate else "Unresolved",
        "resolved": lambda: issue.resolutiondate.date() if issue.resolutiondate else "",
        "resolutiondate": lambda: issue.resolutiondate.date() if issue.resolutiondate else "",
        "labels": lambda: ", ".join(issue.labels),
        "fixversion": lambda: ", ".join(issue.fix_versions),
        "fixversions": lambda: ", ".join(issue.fix_versions),
        "parent": lambda: issue.parent or "",
        "story points": lambda: "" if issue.story_points is None else f"{issue.story_points:g}",
    }
    getter = values.get(column)
    try:
        return str(getter()) if getter else ""
    except KeyError:  # an assignee missing from the user catalogue
        return ""


_MacroHandler = Callable[[ET.Element, dict[str, str], ViewContext], str]
_MACROS: dict[str, _MacroHandler] = {
    "status": _status,
    "expand": _expand,
    "chart": _chart,
    "jira": _jira,
    "jiraissues": _jira,
    "info": _panel,
    "note": _panel,
    "warning": _panel,
    "tip": _panel,
    "panel": _panel,
    "code": _code,
    "noformat": _code,
    "anchor": _anchor,
    "toc": _toc,
}


# --- whole documents --------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class PageDoc:
    """A page as the view shows it: its body plus the navigation around it."""

    title: str
    space_name: str
    space_url: str
    storage: str
    breadcrumbs: list[Link]
    children: list[Link]
    labels: list[str]
    attachments: list[Link]
    byline: str


@dataclass(frozen=True)
class TreeNode:
    link: Link
    children: list[TreeNode]


def render_page(doc: PageDoc, ctx: ViewContext) -> str:
    """A complete HTML5 document for one page."""
    crumbs = " / ".join(
        f'<a href="{esc(link.url)}">{esc(link.title)}</a>'
        for link in [Link(doc.space_name, doc.space_url), *doc.breadcrumbs]
    )
    body = _with_toc(render_fragment(doc.storage, ctx))
    sections = [
        f'<nav class="breadcrumbs">{crumbs}</nav>',
        f"<h1><bdi>{esc(doc.title)}</bdi></h1>",
        f'<p class="byline">{esc(doc.byline)}</p>',
        f'<article class="content">{body}</article>',
        _link_list("Child pages", doc.children),
        _link_list("Attachments", doc.attachments),
        _labels(doc.labels),
    ]
    return document(doc.title, "".join(sections))


def render_space(name: str, key: str, tree: list[TreeNode]) -> str:
    """A space's page tree, for browsing."""
    listing = _tree(tree) if tree else "<p>This space has no pages.</p>"
    heading = f'<h1><bdi>{esc(name)}</bdi> <span class="space-key">({esc(key)})</span></h1>'
    return document(name, heading + listing)


def render_spaces(spaces: list[Link]) -> str:
    return document("Spaces", "<h1>Spaces</h1>" + _link_list("", spaces))


def render_message(title: str, message: str) -> str:
    return document(title, f"<h1>{esc(title)}</h1><p>{esc(message)}</p>")


def _tree(nodes: list[TreeNode]) -> str:
    items = "".join(
        f'<li><a href="{esc(node.link.url)}">{esc(node.link.title)}</a>'
        f"{_tree(node.children) if node.children else ''}</li>"
        for node in nodes
    )
    return f'<ul class="tree">{items}</ul>'


def _link_list(title: str, links: list[Link]) -> str:
    if not links:
        return ""
    items = "".join(f'<li><a href="{esc(link.url)}">{esc(link.title)}</a></li>' for link in links)
    heading = f"<h2>{esc(title)}</h2>" if title else ""
    return f'<section class="links">{heading}<ul>{items}</ul></section>'


def _labels(labels: list[str]) -> str:
    if not labels:
        return ""
    chips = " ".join(f'<span class="label">{esc(label)}</span>' for label in labels)
    return f'<section class="labels"><h2>Labels</h2>{chips}</section>'


_HEADING = re.compile(r"<(h[1-3])>(.*?)</\1>", re.DOTALL)
_TOC = '<nav class="toc" data-macro="toc"></nav>'


def _with_toc(body: str) -> str:
    """Fill the toc macro's placeholder with links to the (already escaped) headings."""
    if _TOC not in body:
        return body
    counter = iter(range(1, 10_000))
    entries: list[str] = []

    def number(match: re.Match[str]) -> str:
        tag, inner, anchor = match.group(1), match.group(2), f"toc-{next(counter)}"
        entries.append(f'<li class="toc-{tag}"><a href="#{anchor}">{inner}</a></li>')
        return f'<{tag} id="{anchor}">{inner}</{tag}>'

    body = _HEADING.sub(number, body)
    return body.replace(_TOC, f'<nav class="toc"><ul>{"".join(entries)}</ul></nav>', 1)


def document(title: str, body: str) -> str:
    """Wrap ``body`` (already safe HTML) in a complete HTML5 document with the view's CSS."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - Confluence (sandbox)</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#172b4d;margin:0;
background:#f4f5f7}
main{max-width:1100px;margin:0 auto;padding:24px 32px;background:#fff;min-height:100vh;
overflow-wrap:anywhere}
h1{font-size:28px;margin:8px 0}
a{color:#0052cc}
table{border-collapse:collapse;margin:8px 0}
th,td{border:1px solid #dfe1e6;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f5f7}
.breadcrumbs,.byline{color:#5e6c84;font-size:13px}
.status{display:inline-block;border-radius:3px;padding:0 4px;font-size:11px;font-weight:700;
text-transform:uppercase;line-height:18px}
.status-grey{background:#dfe1e6;color:#42526e}.status-red{background:#ffebe6;color:#bf2600}
.status-yellow{background:#fffae6;color:#7a5d00}.status-green{background:#e3fcef;color:#006644}
.status-blue{background:#deebff;color:#0747a6}.status-purple{background:#eae6ff;color:#403294}
.status-subtle{background:transparent;border:1px solid currentColor}
details.expand{margin:8px 0}details summary{cursor:pointer;color:#0052cc}
.error-box{border:1px solid #de350b;background:#ffebe6;padding:8px 12px;margin:8px 0}
.panel{border-left:4px solid #0065ff;background:#deebff;padding:8px 12px;margin:8px 0}
.panel-warning{border-color:#de350b;background:#ffebe6}
.panel-note{border-color:#ff991f;background:#fffae6}
.panel-tip{border-color:#36b37e;background:#e3fcef}
pre{background:#f4f5f7;padding:8px;overflow:auto}
.chart svg{max-width:100%;height:auto}.chart figcaption{font-weight:600}
.label{display:inline-block;background:#dfe1e6;border-radius:3px;padding:0 6px;margin:2px}
.jira-count{color:#5e6c84}.space-key{color:#5e6c84;font-size:18px}
""".strip()


# --- charts -----------------------------------------------------------------------------------

PALETTE = ("#0052cc", "#36b37e", "#ff991f", "#de350b", "#6554c0", "#00b8d9", "#97a0af", "#ffc400")


@dataclass(frozen=True)
class ChartData:
    categories: list[str]
    series: list[tuple[str, list[float]]]

    @classmethod
    def from_rows(cls, rows: list[list[str]], orientation: str) -> ChartData:
        """Read a chart macro's table the way Confluence does.

        Horizontal (the default): the header row holds the categories and every further row is
        one series, named by its first cell. Vertical: the first column holds the categories
        and every further column is a series, named by its header.
        """
        rows = [row for row in rows if row]
        if len(rows) < 2:
            return cls([], [])
        if orientation.lower() == "vertical":
            width = max(len(row) for row in rows)
            rows = [[row[i] if i < len(row) else "" for row in rows] for i in range(width)]
        categories = rows[0][1:]
        series = [
            (row[0], [_number(cell) for cell in row[1 : len(categories) + 1]]) for row in rows[1:]
        ]
        return cls(categories, [(name, values) for name, values in series if values])


def _number(cell: str) -> float:
    cleaned = cell.replace(",", "").replace("%", "").strip()
    try:
        value = float(cleaned)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) else 0.0


def render_chart(kind: str, data: ChartData, title: str, width: int, height: int) -> str:
    """An inline SVG for a chart macro: pie, bar (the fallback) or line-like types."""
    if not data.categories or not data.series:
        return '<p class="chart-empty">No chart data.</p>'
    kind = kind.lower()
    if kind == "pie":
        shapes = _pie(data, width, height)
    elif kind in {"line", "timeseries", "xyline", "area", "xyarea", "stackedarea"}:
        shapes = _lines(data, width, height)
    else:
        shapes = _bars(data, width, height)
    names = data.categories if kind == "pie" else [name for name, _ in data.series]
    legend = "".join(
        f'<li><span style="color:{PALETTE[i % len(PALETTE)]}">■</span> {esc(name)}</li>'
        for i, name in enumerate(names)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(title)}">{shapes}</svg>'
        f'<ul class="chart-legend">{legend}</ul>'
    )


_MARGIN = 30


def _axes(data: ChartData, width: int, height: int) -> tuple[str, float, float]:
    """The x axis with category labels; returns (svg, value of the top, y of the baseline)."""
    top = max((max(values, default=0.0) for _, values in data.series), default=0.0) or 1.0
    base_y = height - _MARGIN
    step = (width - 2 * _MARGIN) / len(data.categories)
    labels = "".join(
        f'<text x="{_MARGIN + step * (i + 0.5):.1f}" y="{base_y + 16}" font-size="11" '
        f'text-anchor="middle">{esc(category[:24])}</text>'
        for i, category in enumerate(data.categories)
    )
    axis = (
        f'<line x1="{_MARGIN}" y1="{base_y}" x2="{width - _MARGIN}" y2="{base_y}" '
        'stroke="#97a0af"/>'
        f'<text x="2" y="{_MARGIN - 8}" font-size="11">{top:g}</text>'
    )
    return axis + labels, top, base_y


def _bars(data: ChartData, width: int, height: int) -> str:
    axes, top, base_y = _axes(data, width, height)
    step = (width - 2 * _MARGIN) / len(data.categories)
    bar = step * 0.8 / len(data.series)
    shapes = [axes]
    for s, (name, values) in enumerate(data.series):
        for i, value in enumerate(values):
            tall = max(value, 0.0) / top * (base_y - _MARGIN)
            x = _MARGIN + step * i + step * 0.1 + bar * s
            shapes.append(
                f'<rect x="{x:.1f}" y="{base_y - tall:.1f}" width="{bar:.1f}" height="{tall:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{esc(name)}: {value:g}</title></rect>'
            )
    return "".join(shapes)


def _lines(data: ChartData, width: int, height: int) -> str:
    axes, top, base_y = _axes(data, width, height)
    step = (width - 2 * _MARGIN) / len(data.categories)
    shapes = [axes]
    scale = (base_y - _MARGIN) / top
    for s, (name, values) in enumerate(data.series):
        points = " ".join(
            f"{_MARGIN + step * (i + 0.5):.1f},{base_y - max(v, 0.0) * scale:.1f}"
            for i, v in enumerate(values)
        )
        shapes.append(
            f'<polyline points="{points}" fill="none" stroke-width="2" '
            f'stroke="{PALETTE[s % len(PALETTE)]}"><title>{esc(name)}</title></polyline>'
        )
    return "".join(shapes)


def _pie(data: ChartData, width: int, height: int) -> str:
    values = [max(v, 0.0) for v in data.series[0][1]]
    total = sum(values)
    cx, cy, r = width / 2, height / 2, min(width, height) / 2 - 10
    if total <= 0:
        return f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="#dfe1e6"/>'
    shapes, angle = [], -math.pi / 2
    for i, (category, value) in enumerate(zip(data.categories, values, strict=False)):
        sweep = value / total * 2 * math.pi
        colour, tip = PALETTE[i % len(PALETTE)], f"<title>{esc(category)}: {value:g}</title>"
        if sweep >= 2 * math.pi - 1e-9:
            shapes.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{colour}">{tip}</circle>')
            break
        x1, y1 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        angle += sweep
        x2, y2 = cx + r * math.cos(angle), cy + r * math.sin(angle)
        large = 1 if sweep > math.pi else 0
        shapes.append(
            f'<path d="M{cx:.1f},{cy:.1f} L{x1:.1f},{y1:.1f} A{r:.1f},{r:.1f} 0 {large} 1 '
            f'{x2:.1f},{y2:.1f} Z" fill="{colour}">{tip}</path>'
        )
    return "".join(shapes)
