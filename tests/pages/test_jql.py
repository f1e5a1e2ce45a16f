"""JQL for explicit key sets: deterministic order, every key exactly once, chunks under the
limit, and keys that cannot extend the query."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from restrat_sync.pages.jql import MAX_JQL_LENGTH, key_in_chunks, literal, ordered_keys

CHUNK = re.compile(r"key in \((.*)\)")


def keys_of(jql: str) -> list[str]:
    match = CHUNK.fullmatch(jql)
    assert match, jql
    return match[1].split(", ")


def test_keys_are_ordered_by_project_then_number_without_repeats() -> None:
    """A-2 comes before A-10 (numbers, not strings), projects alphabetically, repeats once."""
    assert ordered_keys(["B-1", "A-10", "A-2", "A-10", "AB-1"]) == ["A-2", "A-10", "AB-1", "B-1"]


def test_a_short_set_is_one_query() -> None:
    """Three keys make one ``key in`` query naming them in order."""
    chunks = key_in_chunks(["PAY-3", "PAY-1", "MOB-2"])
    assert [c.jql for c in chunks] == ["key in (MOB-2, PAY-1, PAY-3)"]
    assert chunks[0].keys == ("MOB-2", "PAY-1", "PAY-3")


def test_no_keys_give_no_query() -> None:
    """An empty set has no query: ``key in ()`` is not valid JQL."""
    assert key_in_chunks([]) == []


def test_a_long_set_is_split_under_the_limit_with_every_key_once() -> None:
    """2,000 keys: each chunk stays within 1,500 characters, the chunks name every key exactly
    once in the overall order, and each chunk is full (the next key would not have fitted)."""
    keys = [f"DATA-{n}" for n in range(2000, 0, -1)]
    chunks = key_in_chunks(keys)
    assert len(chunks) > 1
    assert all(len(c.jql) <= MAX_JQL_LENGTH for c in chunks)
    named = [key for c in chunks for key in keys_of(c.jql)]
    assert named == ordered_keys(keys)
    assert [key for c in chunks for key in c.keys] == named
    for chunk, after in pairwise(chunks):
        assert len(chunk.jql) + len(", ") + len(after.keys[0]) > MAX_JQL_LENGTH


@pytest.mark.parametrize("limit", [len("key in (A-1)"), len("key in (A-1, A-2)")])
def test_a_query_exactly_at_the_limit_is_kept(limit: int) -> None:
    """The limit is inclusive: a query of exactly ``limit`` characters is not split."""
    chunks = key_in_chunks(["A-1", "A-2", "A-3"], limit=limit)
    assert all(len(c.jql) <= limit for c in chunks)
    assert max(len(c.jql) for c in chunks) == limit


def test_the_same_keys_in_any_order_give_the_same_queries() -> None:
    """Deterministic output: the page hash does not change when the cache returns another
    order."""
    keys = [f"K{n % 7}-{n}" for n in range(500)]
    assert key_in_chunks(keys) == key_in_chunks(reversed(keys))


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("PAY-12", "PAY-12"),
        ('X-1) OR project = "SECRET', '"X-1) OR project = \\"SECRET"'),
        ("back\\slash", '"back\\\\slash"'),
        ("pay-1", '"pay-1"'),
    ],
)
def test_keys_not_shaped_like_jira_keys_are_quoted(key: str, written: str) -> None:
    """A key like ``X-1) OR ...`` becomes one quoted JQL string, quotes and backslashes escaped,
    so it cannot close the list and add a condition."""
    assert literal(key) == written


def test_a_key_too_long_for_any_query_is_an_error() -> None:
    """A value that cannot fit on its own is refused rather than sent over the limit."""
    with pytest.raises(ValueError, match="does not fit"):
        key_in_chunks(["A-1", "x" * 20], limit=20)
