"""Rendering without HTTP: field selection, the catalogue and changelog embedding policies."""

from __future__ import annotations

import pytest

from restrat_sandbox.jira_render import (
    CLOUD_ISSUE_CHANGELOG,
    CLOUD_SEARCH_CHANGELOG,
    DC_CHANGELOG,
    ChangelogPolicy,
    IssueRenderer,
    field_catalogue,
    field_ids,
    select_fields,
    split_fields,
)
from tests.sandbox.jira_fixtures import LONG_HISTORY, LONG_KEY, build_portfolio


def test_split_fields_joins_repeated_and_comma_separated_values() -> None:
    """``fields=a,b&fields=c`` is three tokens; blanks vanish."""
    assert split_fields(["summary, status", "", "labels,"]) == ["summary", "status", "labels"]


@pytest.mark.parametrize(
    ("tokens", "default", "expected"),
    [
        ([], "id", ()),
        (["id"], "*all", ()),
        (["key", "summary"], "id", ("summary",)),
        (["summary", "nonsense", "status", "summary"], "id", ("summary", "status")),
        (["-labels"], "id", ()),
    ],
)
def test_select_fields(tokens: list[str], default: str, expected: tuple[str, ...]) -> None:
    """Ids are kept in order once; unknown ids, ``id`` and ``key`` select no field."""
    assert select_fields(tokens, default, "cloud") == expected


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_all_and_navigable_select_every_field_but_exclusions(flavor: str) -> None:
    """``*all,-x`` is every field of the flavour except x."""
    everything = field_ids(flavor)
    assert select_fields(["*navigable"], "id", flavor) == everything
    chosen = select_fields(["*all", "-labels"], "id", flavor)
    assert chosen == tuple(f for f in everything if f != "labels")


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_catalogue_lists_each_renderable_field_once(flavor: str) -> None:
    """GET /field lists every renderable field once, plus Rank, which only changelogs use."""
    ids = [entry["id"] for entry in field_catalogue(flavor)]
    assert len(ids) == len(set(ids))
    assert tuple(ids) == (*field_ids(flavor), "customfield_10019")


@pytest.mark.parametrize(
    ("policy", "count", "newest_first"),
    [
        (CLOUD_SEARCH_CHANGELOG, 40, True),
        (CLOUD_ISSUE_CHANGELOG, 100, True),
        (DC_CHANGELOG, 300, False),
    ],
)
def test_changelog_policies(policy: ChangelogPolicy, count: int, newest_first: bool) -> None:
    """Cloud embeds the newest 40 (search) or 100 (issue) newest first; DC all, oldest first."""
    portfolio = build_portfolio(filler=0)
    renderer = IssueRenderer(portfolio, "cloud", "3", "http://jira")
    log = renderer.embedded_changelog(portfolio.issues[LONG_KEY], policy)
    ids = [int(h["id"]) for h in log["histories"]]
    assert (log["total"], log["maxResults"], len(ids)) == (LONG_HISTORY, count, count)
    assert ids == sorted(ids, reverse=newest_first)
    assert max(ids) == 210000 + LONG_HISTORY - 1
