"""Storage XHTML rendered as readable HTML, the way Confluence shows it (its ``body.view``).

XHTML passes through with its attributes filtered; active content is dropped; the macros
restrat-sync writes become their visible form: status lozenges, ``<details>`` for expand, an
inline SVG for charts, and for the Jira macro a table from the ``JiraSource`` in the context,
or, with none (an offline preview), the query it would run. This module does no I/O.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field

from restrat_sync.pages.preview._charts import ChartData, render_chart, table_rows
from restrat_sync.pages.preview._jira import JiraSource, jira_macro
from restrat_sync.pages.preview._markup import (
    MacroError,
    ac,
    attributes,
    error_box,
    esc,
    lozenge,
    ri,
    safe_url,
    text_of,
)
from restrat_sync.pages.storage_parser import AC, StorageSyntaxError, parse_storage

# Where the toc macro stands until the whole page's headings are known (see _page.py).
TOC_PLACEHOLDER = '<nav class="toc" data-macro="toc"></nav>'


@dataclass(frozen=True)
class ViewContext:
    """Everything outside the storage text that the view links to or looks up."""

    # The Jira that Jira macros read; None shows each macro's query instead (offline).
    jira: JiraSource | None = None
    page_url: Callable[[str | None, str], str | None] = lambda _space, _title: None
    # A file attached to the page being shown, by name.
    attachment_url: Callable[[str], str | None] = lambda _name: None


def render_fragment(storage: str, ctx: ViewContext) -> str:
    """Storage markup as an HTML fragment (Confluence's ``body.view``)."""
    try:
        root = parse_storage(storage)
    except StorageSyntaxError as err:
        return error_box("This page's storage format cannot be read", [str(err)])
    renderer = _Renderer(ctx)
    renderer.children(root)
    return "".join(renderer.parts)


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
            self.parts.append(f"<time{attributes({'datetime': element.get('datetime', '')})}>")
            self.parts.append(esc(element.get("datetime", "")) + esc(text_of(element)) + "</time>")
        elif tag not in _DROP:
            self.children(element)  # unknown markup: keep the text, lose the element

    def html_element(self, tag: str, element: ET.Element) -> None:
        attrs = {k: v for k, v in element.attrib.items() if k in _ATTRIBUTES}
        if tag == "a":
            href = safe_url(element.get("href", ""))
            if href is not None:
                attrs["href"] = href
        self.parts.append(f"<{tag}{attributes(attrs)}>")
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
        self.parts.append(f"<a{attributes({'href': url} if url else {})}>")
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
            self.parts.append(f"<img{attributes({'src': url, 'alt': alt})}>")
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
    name = ctx.jira.user_name(account_id) if ctx.jira is not None else None
    return "@" + (name if name is not None else account_id)


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
    return TOC_PLACEHOLDER  # filled in by render_page, which sees every heading


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


def _int(value: str | None, default: int) -> int:
    try:
        number = int(float(value or ""))
    except ValueError:
        return default
    return min(max(number, 50), 2000)


def _jira(_: ET.Element, params: dict[str, str], ctx: ViewContext) -> str:
    return jira_macro(params, ctx.jira)


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
