"""JQL that restrat-sync writes itself: incremental queries and key chunks (pure; no I/O).

Admins' JQL is taken as written and only wrapped: its own ``ORDER BY`` is dropped (ours decides
the paging order) and the rest goes in parentheses, so an ``OR`` inside it cannot escape the
``AND`` that follows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INCREMENTAL_ORDER = "ORDER BY updated ASC, key ASC"
_ORDER_BY = re.compile(r"\border\s+by\b", re.IGNORECASE)
_BARE_FIELD = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|cf\[\d+\])$")
_BARE_VALUE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_]*-\d+|\d+)$")


def incremental_jql(base_jql: str, since_ms: int | None) -> str:
    """``(base) AND updated >= since_ms ORDER BY updated ASC, key ASC``.

    ``since_ms`` is epoch milliseconds: JQL reads a wall-clock datetime in the Jira user's
    profile time zone (which moves with daylight saving time), a number it reads as an instant.
    None leaves the time restriction out (a full read).
    """
    clauses = []
    where = strip_order_by(base_jql)
    if where:
        clauses.append(f"({where})")
    if since_ms is not None:
        clauses.append(f"updated >= {int(since_ms)}")
    return " ".join([" AND ".join(clauses), INCREMENTAL_ORDER]).strip()


def strip_order_by(jql: str) -> str:
    """``jql`` without its ``ORDER BY`` clause; the words inside quoted strings do not count."""
    match = _ORDER_BY.search(_mask_quoted(jql))
    return (jql[: match.start()] if match else jql).strip()


def key_chunks_jql(field: str, keys: Sequence[str]) -> str:
    """``field in (K-1, K-2)``; the field and odd keys quoted, e.g. ``"Epic Link" in (...)``."""
    if not keys:
        raise ValueError("a JQL `in` list needs at least one key")  # `in ()` is a syntax error
    values = ", ".join(jql_value(key) for key in keys)
    return f"{jql_field(field)} in ({values})"


def jql_field(name: str) -> str:
    """A field name as JQL needs it: bare when it is a word or ``cf[n]``, quoted otherwise."""
    if _BARE_FIELD.match(name) or _is_quoted(name):
        return name
    return _quote(name)


def jql_value(value: str) -> str:
    """An issue key or id bare, anything else as a quoted JQL string."""
    return value if _BARE_VALUE.match(value) else _quote(value)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _is_quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'"


def _mask_quoted(jql: str) -> str:
    """``jql`` with every character inside a quoted string replaced, length kept.

    JQL strings use single or double quotes, with backslash escapes inside them.
    """
    out: list[str] = []
    quote: str | None = None
    escaped = False
    for char in jql:
        if quote is None:
            quote = char if char in "\"'" else None
            out.append(char)
        elif escaped:
            escaped = False
            out.append("_")
        elif char == "\\":
            escaped = True
            out.append("_")
        else:
            quote = None if char == quote else quote
            out.append(char if quote is None else "_")
    return "".join(out)
