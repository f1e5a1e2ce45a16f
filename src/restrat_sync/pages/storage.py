"""Confluence storage format (XHTML), built as a tree and serialised in one place.

Escaping happens by construction: a page is a tree of ``Element`` values whose text children
and attribute values are plain strings, and ``serialize`` is the only code that writes markup.
Nothing from Jira or the config is ever concatenated into a string of markup, so a summary like
``<script>`` or ``]]>`` or ``&amp;`` comes out as text, escaped exactly once.

XML 1.0 cannot carry most control characters even as character references, and Confluence
refuses a body holding one; they become U+FFFD (the replacement character) here, as do lone
surrogates. No CDATA is written: every macro body used here is rich text or parameters.

``check_well_formed`` parses a finished body the way Confluence does (the ``ac:``/``ri:``
prefixes declared by a wrapping root); the publisher calls it on every body before sending.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from restrat_sync.errors import RestratError

_TAG = re.compile(r"^[a-z][a-z0-9]*(?::[a-z][a-z0-9-]*)?$")
_ATTRIBUTE = re.compile(r"^[a-z][a-zA-Z0-9-]*(?::[a-z][a-zA-Z0-9-]*)?$")
# Characters XML 1.0 forbids, plus lone surrogates (which cannot be encoded at all).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_VOID = frozenset({"br", "hr", "col"})
_ROOT = (
    '<ac:confluence xmlns:ac="http://atlassian.com/content" '
    'xmlns:ri="http://atlassian.com/resource/identifier">{}</ac:confluence>'
)


class StorageError(RestratError):
    """A body that is not well-formed storage XHTML: a bug in restrat-sync, never sent."""


@dataclass(frozen=True, slots=True)
class Element:
    tag: str
    attrs: tuple[tuple[str, str], ...]
    children: tuple[Element | str, ...]


def el(
    tag: str, *children: Element | str | None, attrs: Mapping[str, str] | None = None
) -> Element:
    """An element; ``None`` children are dropped (handy for optional parts)."""
    if not _TAG.match(tag):
        raise ValueError(f"not a storage tag name: {tag!r}")
    pairs = tuple((attrs or {}).items())
    for name, _ in pairs:
        if not _ATTRIBUTE.match(name):
            raise ValueError(f"not a storage attribute name: {name!r}")
    return Element(tag, pairs, tuple(child for child in children if child is not None))


def fragment(*children: Element | str | None) -> tuple[Element | str, ...]:
    """Several top-level nodes: a storage body is a fragment, not one document element."""
    return tuple(child for child in children if child is not None)


def serialize(nodes: Element | str | Iterable[Element | str]) -> str:
    """The storage markup of ``nodes``."""
    parts: list[str] = []
    if isinstance(nodes, Element | str):
        _write(nodes, parts)
    else:
        for node in nodes:
            _write(node, parts)
    return "".join(parts)


def _write(node: Element | str, parts: list[str]) -> None:
    if isinstance(node, str):
        parts.append(escape_text(node))
        return
    attributes = "".join(f' {name}="{escape_attribute(value)}"' for name, value in node.attrs)
    if not node.children and node.tag in _VOID:
        parts.append(f"<{node.tag}{attributes} />")
        return
    parts.append(f"<{node.tag}{attributes}>")
    for child in node.children:
        _write(child, parts)
    parts.append(f"</{node.tag}>")


def clean(text: str) -> str:
    """``text`` with the characters XML cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def escape_text(text: str) -> str:
    # A parser turns a raw CR (and CRLF) into LF; the reference keeps the text as it was.
    escaped = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;")


def escape_attribute(value: str) -> str:
    # Attribute normalisation turns raw tabs and newlines into spaces; references survive it.
    escaped = escape_text(value).replace('"', "&quot;")
    return escaped.replace("\t", "&#9;").replace("\n", "&#10;")


def check_well_formed(body: str, where: str = "page") -> None:
    """Raise StorageError unless ``body`` parses as a storage fragment."""
    try:
        ET.fromstring(_ROOT.format(body))  # noqa: S314 - our own output, no DTD, no entities
    except ET.ParseError as error:
        raise StorageError(f"the storage body of {where} is not well-formed XML: {error}") from None


# --- the markup and macros the pages use ---------------------------------------------------------


def heading(level: int, *children: Element | str | None) -> Element:
    return el(f"h{level}", *children)


def paragraph(*children: Element | str | None) -> Element:
    return el("p", *children)


def strong(*children: Element | str | None) -> Element:
    return el("strong", *children)


def link(url: str, *children: Element | str | None) -> Element:
    return el("a", *children, attrs={"href": url})


def table(
    header: Sequence[Element | str | None], rows: Iterable[Sequence[Element | str | None]]
) -> Element:
    """A table with one header row; cells hold text or elements."""
    head = el("tr", *(el("th", cell) for cell in header))
    body = [el("tr", *(el("td", cell) for cell in row)) for row in rows]
    return el("table", el("tbody", head, *body))


def macro(
    name: str,
    parameters: Mapping[str, str] | None = None,
    body: Iterable[Element | str] | None = None,
) -> Element:
    """A structured macro with its parameters and, when ``body`` is given, a rich-text body."""
    params = [
        el("ac:parameter", value, attrs={"ac:name": key})
        for key, value in (parameters or {}).items()
    ]
    rich = el("ac:rich-text-body", *body) if body is not None else None
    return el(
        "ac:structured-macro",
        *params,
        rich,
        attrs={"ac:name": name, "ac:schema-version": "1"},
    )


LozengeColour = str  # "Green", "Yellow", "Red", "Grey", "Blue": Confluence's status colours


def status(title: str, colour: LozengeColour) -> Element:
    """A status lozenge."""
    return macro("status", {"colour": colour, "title": title})


def expand(title: str, *children: Element | str) -> Element:
    return macro("expand", {"title": title}, children)


def jira_issues(
    jql: str,
    server: str,
    server_id: str | None,
    columns: str = "key,summary,type,status",
    maximum: int = 20,
) -> Element:
    """A Jira Issues macro: a live table of the issues ``jql`` finds."""
    parameters = {"server": server}
    if server_id:
        parameters["serverId"] = server_id
    parameters |= {"jqlQuery": jql, "columns": columns, "maximumIssues": str(maximum)}
    return macro("jira", parameters)


def jira_count(jql: str, server: str, server_id: str | None) -> Element:
    """A Jira Issues macro that shows only how many issues ``jql`` finds, as a link to them:
    light enough for a table cell."""
    parameters = {"server": server}
    if server_id:
        parameters["serverId"] = server_id
    parameters |= {"jqlQuery": jql, "count": "true"}
    return macro("jira", parameters)


def chart(
    kind: str,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    **options: str,
) -> Element:
    """A chart macro over a data table: the first column names the series' points."""
    parameters = {"type": kind, "title": title} | options
    return macro("chart", parameters, [table(header, rows)])
