"""JQL hierarchy fields differ by flavour, as on the real products."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from restrat_sandbox.generator import generate_portfolio
from restrat_sandbox.jql import JqlContext, search

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.fixture(scope="module")
def epic_with_children() -> tuple[JqlContext, JqlContext, str, set[str]]:
    portfolio = generate_portfolio("small", now=NOW)
    caller = next(iter(portfolio.users.values()))
    epic = next(
        i
        for i in portfolio.issues.values()
        if i.issuetype == "Epic" and any(j.parent == i.key for j in portfolio.issues.values())
    )
    children = {i.key for i in portfolio.issues.values() if i.parent == epic.key}
    cloud = JqlContext(portfolio, caller, NOW, flavor="cloud")
    dc = JqlContext(portfolio, caller, NOW, flavor="datacenter")
    return cloud, dc, epic.key, children


def test_parent_reaches_every_level_on_cloud(
    epic_with_children: tuple[JqlContext, JqlContext, str, set[str]],
) -> None:
    """Cloud's parent field links stories to their epic."""
    cloud, _, epic, children = epic_with_children
    assert {i.key for i in search(cloud, f"parent = {epic}")} == children


def test_parent_is_only_the_subtask_link_on_datacenter(
    epic_with_children: tuple[JqlContext, JqlContext, str, set[str]],
) -> None:
    """On Data Center an epic's stories answer to Epic Link, not to parent."""
    _, dc, epic, children = epic_with_children
    assert search(dc, f"parent = {epic}") == []
    assert {i.key for i in search(dc, f'"Epic Link" = {epic}')} == children
