"""JQL for explicit sets of issues: ``key in (A-1, A-2, ...)``, split into chunks.

Why chunks, and why 1,500 characters: Confluence's Jira Issues macro runs its JQL through the
application link as a ``GET`` search, so the query travels percent-encoded in the URL. Jira Data
Center runs on Tomcat, whose request line and headers share ``maxHttpHeaderSize`` (8,192 bytes
by default), and proxies in front of Jira (nginx's ``large_client_header_buffers`` of 8 KB, load
balancers) draw the same line; past it the macro shows an error instead of issues. In a key
list only the commas, spaces and brackets get encoded (to three bytes each), so 1,500
characters of JQL become about 2,100 bytes of URL, 4,500 at worst: with the macro's other
parameters and the base URL that stays well under 8 KB. It also keeps each macro's table short
enough to read (about 130 keys like ``DATA-1011``).

Keys are ordered deterministically (by project, then number, so ``A-2`` before ``A-10``) and each
key appears in exactly one chunk. A key that is not shaped like a Jira key (it comes from the
cache, but the cache holds what Jira sent) is written as a quoted JQL string, so it can never
extend the query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_JQL_LENGTH = 1_500
_PREFIX = "key in ("
_SUFFIX = ")"
_SEPARATOR = ", "
_KEY = re.compile(r"([A-Z][A-Z0-9_]*)-([1-9][0-9]*)", re.ASCII)


@dataclass(frozen=True, slots=True)
class KeyChunk:
    jql: str  # key in (...)
    keys: tuple[str, ...]  # the keys it names, in order


def ordered_keys(keys: Iterable[str]) -> list[str]:
    """``keys`` without repeats, by project and then number; odd keys last, as strings."""
    return sorted(set(keys), key=_order)


def _order(key: str) -> tuple[int, str, int, str]:
    match = _KEY.fullmatch(key)
    if match is None:
        return (1, "", 0, key)
    return (0, match[1], int(match[2]), key)


def literal(key: str) -> str:
    """``key`` as a JQL value: bare when it is shaped like a Jira key, else a quoted string."""
    if _KEY.fullmatch(key):
        return key
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def key_in_chunks(keys: Iterable[str], limit: int = MAX_JQL_LENGTH) -> list[KeyChunk]:
    """``key in (...)`` queries naming every key once, each at most ``limit`` characters long.

    Raises ValueError for a key too long to fit in a query on its own.
    """
    chunks: list[KeyChunk] = []
    current: list[str] = []
    length = len(_PREFIX) + len(_SUFFIX)
    for key in ordered_keys(keys):
        value = literal(key)
        if len(_PREFIX) + len(value) + len(_SUFFIX) > limit:
            raise ValueError(f"the issue key {key[:40]!r}... does not fit in a JQL query")
        added = len(value) + (len(_SEPARATOR) if current else 0)
        if current and length + added > limit:
            chunks.append(_chunk(current))
            current, length = [], len(_PREFIX) + len(_SUFFIX)
            added = len(value)
        current.append(key)
        length += added
    if current:
        chunks.append(_chunk(current))
    return chunks


def _chunk(keys: list[str]) -> KeyChunk:
    return KeyChunk(_PREFIX + _SEPARATOR.join(literal(k) for k in keys) + _SUFFIX, tuple(keys))
