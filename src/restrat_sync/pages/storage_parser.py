"""Confluence storage format parsed as Confluence parses it, for the preview (and the sandbox).

Storage is an XHTML fragment: many top-level elements, ``ac:``/``ri:`` prefixed macro markup
whose namespaces are never declared, and HTML named entities (``&nbsp;``) that plain XML does
not know. Confluence wraps the fragment in a root element that declares the prefixes and
resolves the HTML5 entity set; anything that is still not well-formed XML is refused with 400
"Error parsing xhtml: ...". This module does the same with the standard library's expat parser.

The publisher's own check of what it is about to send is ``storage.check_well_formed``: bodies
restrat-sync writes use no named entities, so plain XML suffices there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.entities import html5

AC = "http://atlassian.com/content"
RI = "http://atlassian.com/resource/identifier"
AT = "http://atlassian.com/template"

# The prefixes Confluence declares around a storage body; an undeclared prefix is an error there.
_ROOT_OPEN = f'<ac:confluence xmlns:ac="{AC}" xmlns:ri="{RI}" xmlns:at="{AT}">'
_ROOT_CLOSE = "</ac:confluence>"

# XML predefines only these five; every other named reference must come from the HTML5 set.
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
# Entities are literal text inside CDATA and comments, so those spans are left untouched.
_VERBATIM = re.compile(r"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)
_POSITION = re.compile(r"line (\d+), column (\d+)")


class StorageSyntaxError(ValueError):
    """Storage markup that Confluence would refuse; ``str()`` is Confluence's message."""


def parse_storage(value: str) -> ET.Element:
    """Parse a storage fragment into a tree under a synthetic root, or raise StorageSyntaxError.

    Element tags come back in Clark notation, e.g. ``{http://atlassian.com/content}parameter``.
    """
    parser = ET.XMLParser(target=ET.TreeBuilder())  # noqa: S314 - see module docstring
    try:
        parser.feed(_wrap(value))
        root: ET.Element = parser.close()
    except ET.ParseError as err:
        raise StorageSyntaxError(f"Error parsing xhtml: {_describe(str(err), value)}") from err
    return root


def _wrap(value: str) -> str:
    # The fragment sits inside a start tag, so a DOCTYPE (and with it any entity expansion
    # attack) is itself a well-formedness error: expat never reads a DTD here.
    return _ROOT_OPEN + _resolve_html_entities(value) + _ROOT_CLOSE


def _resolve_html_entities(value: str) -> str:
    """Turn HTML5 named references into numeric ones; unknown names stay and fail the parse."""
    return outside_verbatim(_ENTITY, _numeric, value)


def outside_verbatim(
    pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], value: str
) -> str:
    """``pattern.sub(replace, value)``, leaving CDATA sections and comments as they are."""
    pieces: list[str] = []
    cursor = 0
    for verbatim in _VERBATIM.finditer(value):
        pieces.append(pattern.sub(replace, value[cursor : verbatim.start()]))
        pieces.append(verbatim.group(0))
        cursor = verbatim.end()
    pieces.append(pattern.sub(replace, value[cursor:]))
    return "".join(pieces)


def _numeric(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    text = html5.get(name + ";")
    if text is None:
        return match.group(0)
    return "".join(f"&#{ord(char)};" for char in text)


def _describe(message: str, value: str) -> str:
    """Phrase expat's error like Confluence's parser: what, then where in the caller's text.

    The position is relative to the fragment, not the wrapper. Columns after a resolved entity
    may be off by a few characters; the line is exact.
    """
    what = message
    match = _POSITION.search(message)
    if match:
        what = message[: match.start()].rstrip(" :")
    if what.startswith("undefined entity"):
        unknown = [m.group(1) for m in _ENTITY.finditer(value) if _numeric(m) == m.group(0)]
        unknown = [name for name in unknown if name not in _XML_ENTITIES]
        what = f'Undeclared general entity "{unknown[0]}"' if unknown else what
    if not match:
        return what
    line, column = int(match.group(1)), int(match.group(2))
    if line == 1:
        column = max(0, column - len(_ROOT_OPEN))
    return f"{what}\n at [row,col {{unknown-source}}]: [{line},{column + 1}]"
