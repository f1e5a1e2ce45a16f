"""Changelogs over HTTP: Cloud's truncated embedding and its completion; Data Center's full log."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from restrat_sandbox.timefmt import parse_jira_datetime
from tests.sandbox.jira_fixtures import LONG_HISTORY, LONG_KEY, OTHER

FIRST_LONG_HISTORY, LAST_LONG_HISTORY = 210000, 210000 + LONG_HISTORY - 1


def ids(histories: list[dict[str, Any]]) -> list[int]:
    return [int(h["id"]) for h in histories]


def embedded(http: requests.Session, url: str, path: str, **params: Any) -> dict[str, Any]:
    answer = http.get(f"{url}{path}", params={"expand": "changelog", **params})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    issue = body["issues"][0] if "issues" in body else body
    changelog: dict[str, Any] = issue["changelog"]
    return changelog


def test_cloud_search_embeds_the_newest_40_newest_first(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """/search/jql embeds 40 histories, newest first, and ``total`` tells the true count."""
    log = embedded(http, jira_cloud.url, "/rest/api/3/search/jql", jql=f"key = {LONG_KEY}")
    assert (log["startAt"], log["maxResults"], log["total"]) == (0, 40, LONG_HISTORY)
    assert ids(log["histories"]) == list(range(LAST_LONG_HISTORY, LAST_LONG_HISTORY - 40, -1))


def test_cloud_issue_embeds_at_most_100_newest_first(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """GET issue?expand=changelog embeds the newest 100 of 300, newest first."""
    log = embedded(http, jira_cloud.url, f"/rest/api/3/issue/{LONG_KEY}")
    assert (log["maxResults"], log["total"]) == (100, LONG_HISTORY)
    assert ids(log["histories"]) == list(range(LAST_LONG_HISTORY, LAST_LONG_HISTORY - 100, -1))


@pytest.mark.parametrize(
    ("path", "params"),
    [("/rest/api/2/search", {"jql": f"key = {LONG_KEY}"}), (f"/rest/api/2/issue/{LONG_KEY}", {})],
)
def test_dc_embeds_the_whole_changelog_oldest_first(
    jira_dc: SandboxServer, http: requests.Session, path: str, params: dict[str, str]
) -> None:
    """Data Center's search and issue embed all 300 histories, oldest first."""
    log = embedded(http, jira_dc.url, path, **params)
    assert log["total"] == len(log["histories"]) == LONG_HISTORY
    assert ids(log["histories"]) == list(range(FIRST_LONG_HISTORY, LAST_LONG_HISTORY + 1))


def test_cloud_issue_changelog_pages_oldest_first(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """The per-issue fallback pages by startAt (100 at most) until isLast."""
    histories: list[dict[str, Any]] = []
    start = 0
    while True:
        params = {"startAt": start, "maxResults": 1000}
        page = http.get(
            f"{jira_cloud.url}/rest/api/3/issue/{LONG_KEY}/changelog", params=params
        ).json()
        assert (page["startAt"], page["maxResults"], page["total"]) == (start, 100, LONG_HISTORY)
        histories += page["values"]
        if page["isLast"]:
            assert "nextPage" not in page
            break
        assert page["nextPage"].endswith(f"startAt={start + 100}&maxResults=100")
        start += 100
    assert ids(histories) == list(range(FIRST_LONG_HISTORY, LAST_LONG_HISTORY + 1))


def bulk_pages(http: requests.Session, url: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    token = None
    while True:
        answer = http.post(
            f"{url}/rest/api/3/changelog/bulkfetch", json={**body, "nextPageToken": token}
        )
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        token = pages[-1].get("nextPageToken")
        if token is None:
            return pages


def test_bulkfetch_completes_a_truncated_changelog(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """Bulk fetch pages through all 300 histories, oldest first, ``created`` as epoch ms."""
    pages = bulk_pages(
        http, jira_cloud.url, {"issueIdsOrKeys": [LONG_KEY, "PAY-1"], "maxResults": 120}
    )
    assert len(pages) == 3
    by_issue: dict[str, list[dict[str, Any]]] = {}
    for page in pages:
        for log in page["issueChangeLogs"]:
            by_issue.setdefault(log["issueId"], []).extend(log["changeHistories"])
    assert ids(by_issue["10005"]) == list(range(FIRST_LONG_HISTORY, LAST_LONG_HISTORY + 1))
    assert ids(by_issue["10002"]) == [200001, 200002]
    created = [h["created"] for h in by_issue["10005"]]
    assert all(isinstance(c, int) for c in created)
    assert created == sorted(created)


def test_bulkfetch_filters_items_by_field_and_drops_empty_histories(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """fieldIds keeps only matching items; histories left without items disappear."""
    body = {"issueIdsOrKeys": ["PAY-1", "PAY-2", LONG_KEY], "fieldIds": ["parent"]}
    (page,) = bulk_pages(http, jira_cloud.url, body)
    logs = {log["issueId"]: log["changeHistories"] for log in page["issueChangeLogs"]}
    assert logs.keys() == {"10002", "10003"}
    assert [h["items"][0]["field"] for h in logs["10002"]] == ["IssueParentAssociation"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"issueIdsOrKeys": [f"PAY-{n}" for n in range(1, 1002)]}, 400),
        ({"issueIdsOrKeys": []}, 400),
        ({"issueIdsOrKeys": ["PAY-1"], "maxResults": 10001}, 400),
        ({"issueIdsOrKeys": ["PAY-1"], "fieldIds": [f"f{n}" for n in range(11)]}, 400),
        ({"issueIdsOrKeys": [f"PAY-{n}" for n in range(1, 1001)]}, 200),
    ],
)
def test_bulkfetch_validates_its_body(
    jira_cloud: SandboxServer, http: requests.Session, body: dict[str, Any], status: int
) -> None:
    """Up to 1000 keys, 10 field ids and maxResults 10000; beyond answers 400."""
    answer = http.post(f"{jira_cloud.url}/rest/api/3/changelog/bulkfetch", json=body)
    assert answer.status_code == status


@pytest.mark.parametrize(
    ("flavor", "key", "field", "fieldtype", "field_id"),
    [
        ("cloud", "PAY-1", "IssueParentAssociation", "jira", None),
        ("cloud", "PAY-2", "IssueParentAssociation", "jira", None),
        ("datacenter", "PAY-1", "Parent Link", "custom", "customfield_10200"),
        ("datacenter", "PAY-2", "Epic Link", "custom", "customfield_10100"),
    ],
)
def test_hierarchy_changes_are_named_per_flavour_and_level(
    jira_cloud: SandboxServer,
    jira_dc: SandboxServer,
    http: requests.Session,
    flavor: str,
    key: str,
    field: str,
    fieldtype: str,
    field_id: str | None,
) -> None:
    """A parent change is IssueParentAssociation on Cloud, Epic/Parent Link on Data Center."""
    url, version = (jira_cloud.url, "3") if flavor == "cloud" else (jira_dc.url, "2")
    log = embedded(http, url, f"/rest/api/{version}/issue/{key}")
    items = [i for h in log["histories"] for i in h["items"] if i["field"] == field]
    assert len(items) == 1
    assert (items[0]["fieldtype"], items[0].get("fieldId")) == (fieldtype, field_id)
    assert items[0]["toString"] in ("PORT-1", "PAY-1")
    assert (items[0]["from"], items[0]["fromString"]) == (None, None)


@pytest.mark.parametrize(
    ("flavor", "identity"),
    [("cloud", {"accountId": OTHER.account_id}), ("datacenter", {"name": "mia", "key": "mia"})],
)
def test_history_shape_and_author_identity(
    jira_cloud: SandboxServer,
    jira_dc: SandboxServer,
    http: requests.Session,
    flavor: str,
    identity: dict[str, str],
) -> None:
    """Histories carry id, author (accountId on Cloud, name/key on DC), created and items."""
    url, version = (jira_cloud.url, "3") if flavor == "cloud" else (jira_dc.url, "2")
    histories = embedded(http, url, f"/rest/api/{version}/issue/PAY-1")["histories"]
    (history,) = [h for h in histories if h["id"] == "200002"]
    assert history.keys() == {"id", "author", "created", "items"}
    assert identity.items() <= history["author"].items()
    assert history["author"]["timeZone"] == OTHER.time_zone
    assert parse_jira_datetime(history["created"]).year == 2025
    item = history["items"][0]
    assert item == {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": "10000",
        "fromString": "To Do",
        "to": "3",
        "toString": "In Progress",
    }


@pytest.mark.parametrize(("flavor", "to"), [("cloud", OTHER.account_id), ("datacenter", "mia")])
def test_assignee_changes_name_users_per_flavour(
    jira_cloud: SandboxServer, jira_dc: SandboxServer, http: requests.Session, flavor: str, to: str
) -> None:
    """An assignee item's ``to`` is the accountId on Cloud and the username on Data Center."""
    url, version = (jira_cloud.url, "3") if flavor == "cloud" else (jira_dc.url, "2")
    log = embedded(http, url, f"/rest/api/{version}/issue/PAY-2")
    (item,) = [i for h in log["histories"] for i in h["items"] if i["field"] == "assignee"]
    assert (item["from"], item["to"], item["toString"]) == (None, to, "Mia")
