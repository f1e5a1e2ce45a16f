"""A whole page as an HTML document: breadcrumbs, title, byline, the rendered body with its
table of contents, child pages, attachments and labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

from restrat_sync.pages.preview._markup import document, esc
from restrat_sync.pages.preview._render import TOC_PLACEHOLDER, ViewContext, render_fragment


@dataclass(frozen=True)
class Link:
    """A titled link to another page, an attachment or a space."""

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
        link_list("Child pages", doc.children),
        link_list("Attachments", doc.attachments),
        _labels(doc.labels),
    ]
    return document(doc.title, "".join(sections))


def link_list(title: str, links: list[Link]) -> str:
    """A section listing ``links`` under ``title`` (no heading when empty); nothing for none."""
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


def _with_toc(body: str) -> str:
    """Fill the toc macro's placeholder with links to the (already escaped) headings."""
    if TOC_PLACEHOLDER not in body:
        return body
    counter = iter(range(1, 10_000))
    entries: list[str] = []

    def number(match: re.Match[str]) -> str:
        tag, inner, anchor = match.group(1), match.group(2), f"toc-{next(counter)}"
        entries.append(f'<li class="toc-{tag}"><a href="#{anchor}">{inner}</a></li>')
        return f'<{tag} id="{anchor}">{inner}</{tag}>'

    body = _HEADING.sub(number, body)
    return body.replace(TOC_PLACEHOLDER, f'<nav class="toc"><ul>{"".join(entries)}</ul></nav>', 1)
