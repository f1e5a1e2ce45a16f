"""JQL that restrat-sync writes: incremental queries and chunked key lists."""

from __future__ import annotations

import pytest

from restrat_sync.jira.extract import incremental_jql as reexported
from restrat_sync.jira.jql import incremental_jql, key_chunks_jql, strip_order_by


def test_incremental_jql_uses_epoch_milliseconds_and_a_stable_order() -> None:
    """The watermark is an instant in epoch ms (never a zoned wall-clock date), then our order."""
    assert incremental_jql("project = PAY", 1732233600000) == (
        "(project = PAY) AND updated >= 1732233600000 ORDER BY updated ASC, key ASC"
    )


def test_without_a_watermark_the_query_is_only_wrapped_and_ordered() -> None:
    """A full read has no time restriction."""
    assert incremental_jql("project = PAY", None) == "(project = PAY) ORDER BY updated ASC, key ASC"


def test_an_or_in_the_admins_query_stays_inside_its_parentheses() -> None:
    """`a OR b AND updated >= x` would bind wrongly; the admin's JQL is parenthesised."""
    got = incremental_jql("project = PAY OR project = MOB", 5)
    assert got.startswith("(project = PAY OR project = MOB) AND updated >= 5 ")


@pytest.mark.parametrize(
    ("admin", "kept"),
    [
        ("project = PAY ORDER BY Rank ASC", "project = PAY"),
        ("project = PAY order   by created DESC, key", "project = PAY"),
        ("project = PAY\nORDER BY\n  priority", "project = PAY"),
        ('summary ~ "order by hand" ORDER BY key', 'summary ~ "order by hand"'),
        ("summary ~ 'ORDER BY' AND project = PAY", "summary ~ 'ORDER BY' AND project = PAY"),
        (r'summary ~ "say \"order by\" now" order by key', r'summary ~ "say \"order by\" now"'),
        ("labels = orderby ORDER BY key", "labels = orderby"),
        ("project = PAY", "project = PAY"),
    ],
    ids=[
        "plain",
        "spaces",
        "newlines",
        "quoted-then-real",
        "quoted-only",
        "escaped-quote",
        "word-orderby",
        "none",
    ],
)
def test_the_admins_order_by_is_dropped_but_quoted_text_is_not(admin: str, kept: str) -> None:
    """ORDER BY is found outside quoted strings only; everything before it is kept as is."""
    assert strip_order_by(admin) == kept
    assert incremental_jql(admin, None) == f"({kept}) ORDER BY updated ASC, key ASC"


def test_a_query_of_only_order_by_keeps_just_the_watermark() -> None:
    """Nothing is left to parenthesise: only the time restriction and our order remain."""
    assert incremental_jql("ORDER BY key", 7) == "updated >= 7 ORDER BY updated ASC, key ASC"


def test_extract_reexports_the_jql_builders() -> None:
    """The sync imports the builders from jira.extract."""
    assert reexported is incremental_jql


@pytest.mark.parametrize(
    ("field", "keys", "expected"),
    [
        ("parent", ["A-1", "A-2"], "parent in (A-1, A-2)"),
        ("key", ["PAY-10"], "key in (PAY-10)"),
        ("Epic Link", ["PAY-1"], '"Epic Link" in (PAY-1)'),
        ('"Parent Link"', ["PORT-2"], '"Parent Link" in (PORT-2)'),
        ("cf[10100]", ["PAY-1"], "cf[10100] in (PAY-1)"),
        ("issue", ["10001", "PAY-3"], "issue in (10001, PAY-3)"),
        ("key", ["PAY 1", 'X"Y-1'], r'key in ("PAY 1", "X\"Y-1")'),
    ],
    ids=["parent", "key", "epic-link", "pre-quoted", "cf-id", "ids", "odd-keys"],
)
def test_key_chunks_quote_fields_with_spaces_and_odd_keys(
    field: str, keys: list[str], expected: str
) -> None:
    """Field names with spaces are quoted (DC's "Epic Link"); plain keys stay bare."""
    assert key_chunks_jql(field, keys) == expected


def test_an_empty_key_chunk_is_refused() -> None:
    """`in ()` is a JQL syntax error: refuse to build it."""
    with pytest.raises(ValueError, match="at least one key"):
        key_chunks_jql("parent", [])
