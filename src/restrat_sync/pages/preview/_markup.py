"""The HTML pieces every part of the preview writes: escaping, safe URLs, lozenges, error
boxes, and the document around a page with its stylesheet.

Nothing from storage or from Jira is ever written unescaped: page text and issue summaries are
user input.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET

from restrat_sync.pages.storage_parser import AC, RI

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def esc(text: str) -> str:
    """Escape text for HTML content or a quoted attribute; unprintable characters become �."""
    return html.escape(_CONTROL.sub("\ufffd", text), quote=True)


class MacroError(Exception):
    """A macro that cannot be shown; the page shows ``messages`` in an error box instead."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


def error_box(title: str, messages: list[str]) -> str:
    items = "".join(f"<li>{esc(message)}</li>" for message in messages)
    return (
        f'<div class="error-box" role="alert"><strong>{esc(title)}</strong><ul>{items}</ul></div>'
    )


_SAFE_URL = re.compile(r"^(https?:|mailto:|/|#|\?|[^:]*$)", re.IGNORECASE)


def safe_url(url: str) -> str | None:
    """The URL when it cannot run script (no ``javascript:`` and the like), else None."""
    url = url.strip()
    return url if _SAFE_URL.match(url) else None


def attributes(pairs: dict[str, str]) -> str:
    return "".join(f' {name}="{esc(value)}"' for name, value in pairs.items())


def ac(name: str) -> str:
    return f"{{{AC}}}{name}"


def ri(name: str) -> str:
    return f"{{{RI}}}{name}"


def text_of(element: ET.Element | None) -> str:
    return "".join(element.itertext()) if element is not None else ""


LOZENGE_COLOURS = ("grey", "red", "yellow", "green", "blue", "purple")


def lozenge(title: str, colour: str, subtle: bool = False) -> str:
    colour = colour.lower() if colour.lower() in LOZENGE_COLOURS else "grey"
    outline = " status-subtle" if subtle else ""
    return f'<span class="status status-{colour}{outline}">{esc(title)}</span>'


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
