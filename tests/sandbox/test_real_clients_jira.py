"""atlassian-python-api 5.x, used the way restrat-sync uses it, works against the sandbox's Jira.

The sandbox serves the generated small dataset here (through ``create_sandbox``), so the client
meets realistic data: long changelogs, every hierarchy level, both flavours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from atlassian import Jira
from requests import HTTPError

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sandbox.server import DEFAULT_TOKEN, DEFAULT_USER

NOW = datetime(2026, 3, 1, tzinfo=UTC)
JQL = "project = PAY ORDER BY key ASC"


@pytest.fixture(scope="module")
def cloud_server() -> Iterator[SandboxServer]:
    with create_sandbox(SandboxOptions(flavor="cloud", port=0), "small", NOW) as server:
        yield server


@pytest.fixture(scope="module")
def dc_server() -> Iterator[SandboxServer]:
    with create_sandbox(SandboxOptions(flavor="datacenter", port=0), "small", NOW) as server:
        yield server


def client(server: SandboxServer, cloud: bool) -> Any:
    """The library's Jira client, with its own retries off (restrat-sync retries itself)."""
    return Jira(
        server.url,
        username=DEFAULT_USER,
        password=DEFAULT_TOKEN,
        cloud=cloud,
        backoff_and_retry=False,
    )


@pytest.fixture
def cloud(cloud_server: SandboxServer) -> Iterator[Any]:
    jira = client(cloud_server, cloud=True)
    yield jira
    jira.close()


@pytest.fixture
def dc(dc_server: SandboxServer) -> Iterator[Any]:
    jira = client(dc_server, cloud=False)
    yield jira
    jira.close()


def expected_keys(server: SandboxServer, project: str = "PAY") -> list[str]:
    issues = server.state.portfolio.issues.values()
    return sorted((i.key for i in issues if i.project == project), key=lambda k: int(k[4:]))


def test_cloud_enhanced_jql_pages_to_the_end(cloud: Any, cloud_server: SandboxServer) -> None:
    """enhanced_jql, looped on nextPageToken until isLast, returns every issue once."""
    keys: list[str] = []
    token = None
    pages = 0
    while True:
        page = cloud.enhanced_jql(
            JQL, fields="summary,status,parent", nextPageToken=token, limit=30, expand="changelog"
        )
        pages += 1
        keys += [issue["key"] for issue in page["issues"]]
        if page["isLast"]:
            break
        token = page["nextPageToken"]
    assert keys == expected_keys(cloud_server)
    assert pages > 1


def test_cloud_bulk_changelog_via_plain_post(cloud: Any, cloud_server: SandboxServer) -> None:
    """The library's own bulk helper is broken; a plain post to bulkfetch works."""
    keys = expected_keys(cloud_server)[:20]
    answer = cloud.post(
        "rest/api/3/changelog/bulkfetch", data={"issueIdsOrKeys": keys, "maxResults": 10000}
    )
    total = sum(len(log["changeHistories"]) for log in answer["issueChangeLogs"])
    portfolio = cloud_server.state.portfolio
    assert total == sum(len(portfolio.issues[key].histories) for key in keys)


def test_cloud_approximate_count(cloud: Any, cloud_server: SandboxServer) -> None:
    """approximate_issue_count posts to /search/approximate-count."""
    assert cloud.approximate_issue_count("project = PAY") == {
        "count": len(expected_keys(cloud_server))
    }


def test_dc_jql_pages_by_start_at(dc: Any, dc_server: SandboxServer) -> None:
    """jql(start, limit) walks Data Center's offset pages up to ``total``."""
    keys: list[str] = []
    start = 0
    while True:
        page = dc.jql(JQL, fields="summary,status", start=start, limit=40, expand="changelog")
        keys += [issue["key"] for issue in page["issues"]]
        start += len(page["issues"])
        if start >= page["total"]:
            break
    assert keys == expected_keys(dc_server)


def test_dc_jql_limit_zero_validates_a_query(dc: Any) -> None:
    """limit=0 returns only the total; a bad query raises with Jira's message."""
    assert dc.jql(JQL, limit=0)["issues"] == []
    with pytest.raises(HTTPError, match="does not exist for the field 'project'"):
        dc.jql("project = NOPE", limit=0)


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_get_issue_myself_and_fields(
    flavor: str, cloud_server: SandboxServer, dc_server: SandboxServer
) -> None:
    """get_issue, myself and get_all_fields answer in the flavour's shapes."""
    server = cloud_server if flavor == "cloud" else dc_server
    jira = client(server, cloud=flavor == "cloud")
    try:
        issue = jira.get_issue("PAY-1", expand="changelog")
        me = jira.myself()
        fields = jira.get_all_fields()
    finally:
        jira.close()
    assert issue["key"] == "PAY-1"
    assert issue["fields"]["project"]["key"] == "PAY"
    assert me["timeZone"] == "Europe/Berlin"
    assert ("accountId" in me) == (flavor == "cloud")
    customs = {f["schema"]["custom"] for f in fields if f["custom"]}
    assert "com.pyxis.greenhopper.jira:gh-epic-link" in customs


def test_cloud_client_refuses_legacy_search_with_410(cloud: Any) -> None:
    """The removed /search answers 410; the library surfaces Jira's migration message."""
    with pytest.raises(HTTPError, match="/rest/api/3/search/jql"):
        cloud.get("rest/api/2/search", params={"jql": JQL})
