"""Writes over HTTP: transitions, edits and creation move ``updated`` and append history."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from restrat_sandbox.timefmt import parse_jira_datetime

FLAVORS = [("cloud", "3"), ("datacenter", "2")]


def fresh(server: SandboxServer, version: str) -> str:
    """Reset the sandbox's data (writes change it) and return its API root."""
    assert requests.post(f"{server.url}/_sandbox/reset", timeout=10).status_code == 204
    return f"{server.url}/rest/api/{version}"


@pytest.fixture(params=FLAVORS, ids=["cloud", "datacenter"])
def site(
    request: pytest.FixtureRequest, jira_servers: dict[str, SandboxServer]
) -> tuple[SandboxServer, str]:
    """A sandbox with fresh data, and its API root."""
    flavor, version = request.param
    return jira_servers[flavor], fresh(jira_servers[flavor], version)


@pytest.fixture
def cloud(jira_servers: dict[str, SandboxServer]) -> str:
    return fresh(jira_servers["cloud"], "3")


@pytest.fixture
def dc(jira_servers: dict[str, SandboxServer]) -> str:
    return fresh(jira_servers["datacenter"], "2")


def issue(http: requests.Session, api: str, key: str) -> dict[str, Any]:
    answer = http.get(f"{api}/issue/{key}", params={"expand": "changelog"})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def newest_history(body: dict[str, Any]) -> dict[str, Any]:
    histories: list[dict[str, Any]] = body["changelog"]["histories"]
    return max(histories, key=lambda h: int(h["id"]))


def transition_to(http: requests.Session, api: str, key: str, status: str) -> requests.Response:
    listed = http.get(f"{api}/issue/{key}/transitions").json()["transitions"]
    (chosen,) = [t for t in listed if t["to"]["name"] == status]
    return http.post(f"{api}/issue/{key}/transitions", json={"transition": {"id": chosen["id"]}})


def test_transitions_list_every_other_status_of_the_workflow(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """GET transitions offers each status except the current one, with its category."""
    _, api = site
    listed = http.get(f"{api}/issue/PAY-6/transitions").json()["transitions"]
    assert {t["to"]["name"] for t in listed} == {"In Progress", "Done"}
    assert {t["to"]["statusCategory"]["key"] for t in listed} == {"indeterminate", "done"}


def test_transition_to_done_sets_status_resolution_and_history(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """A transition answers 204, records status and resolution items and moves ``updated``."""
    _, api = site
    before = issue(http, api, "PAY-6")
    assert transition_to(http, api, "PAY-6", "Done").status_code == 204
    after = issue(http, api, "PAY-6")
    assert after["fields"]["status"]["name"] == "Done"
    assert after["fields"]["resolution"]["name"] == "Done"
    assert after["fields"]["resolutiondate"] == after["fields"]["updated"]
    updated = parse_jira_datetime(after["fields"]["updated"])
    assert updated > parse_jira_datetime(before["fields"]["updated"])
    history = newest_history(after)
    assert [(i["field"], i["fromString"], i["toString"]) for i in history["items"]] == [
        ("status", "To Do", "Done"),
        ("resolution", None, "Done"),
    ]
    assert parse_jira_datetime(history["created"]) == updated


def test_reopening_clears_the_resolution(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """Leaving a done status clears resolution and resolutiondate, recorded in the log."""
    _, api = site
    assert transition_to(http, api, "PAY-5", "In Progress").status_code == 204
    after = issue(http, api, "PAY-5")
    assert after["fields"]["resolution"] is None
    assert after["fields"]["resolutiondate"] is None
    items = newest_history(after)["items"]
    assert items[1] == {
        "field": "resolution",
        "fieldtype": "jira",
        "fieldId": "resolution",
        "from": "10000",
        "fromString": "Done",
        "to": None,
        "toString": None,
    }


def test_unknown_transition_is_400(site: tuple[SandboxServer, str], http: requests.Session) -> None:
    """A transition id the workflow does not offer is refused."""
    _, api = site
    answer = http.post(f"{api}/issue/PAY-6/transitions", json={"transition": {"id": "999"}})
    assert answer.status_code == 400
    assert "999" in answer.json()["errorMessages"][0]


def test_edit_is_found_by_an_epoch_millisecond_updated_filter(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """After a PUT, ``updated >= <epoch ms>`` finds exactly the edited issue."""
    server, api = site
    watermark = int(time.time() * 1000) - 1
    fields = {"summary": "Renamed", "labels": ["alpha", "beta"], "priority": {"name": "High"}}
    assert http.put(f"{api}/issue/PAY-7", json={"fields": fields}).status_code == 204
    jql = f"updated >= {watermark}"
    if server.state.flavor == "cloud":
        found = http.get(f"{api}/search/jql", params={"jql": jql, "fields": "summary"}).json()
    else:
        found = http.get(f"{api}/search", params={"jql": jql, "fields": "summary"}).json()
    assert [(i["key"], i["fields"]["summary"]) for i in found["issues"]] == [("PAY-7", "Renamed")]
    items = newest_history(issue(http, api, "PAY-7"))["items"]
    assert [(i["field"], i["fromString"], i["toString"]) for i in items] == [
        ("summary", "PAY-7 work", "Renamed"),
        ("labels", "", "alpha beta"),
        ("priority", "Medium", "High"),
    ]


def test_update_verbs_add_and_remove_labels(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """``update: {labels: [{add}, {remove}]}`` edits the list in place."""
    _, api = site
    http.put(f"{api}/issue/PORT-1", json={"update": {"labels": [{"add": "x"}, {"add": "y"}]}})
    http.put(f"{api}/issue/PORT-1", json={"update": {"labels": [{"remove": "x"}]}})
    body = issue(http, api, "PORT-1")
    assert body["fields"]["labels"] == ["theme-growth", "y"]
    assert newest_history(body)["items"][0]["toString"] == "theme-growth y"


def test_fix_versions_and_due_date_edits(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """Fix Version items name each version added or removed; due dates log their day."""
    _, api = site
    fields = {"fixVersions": [{"name": "PAY 2025.7"}], "duedate": "2025-08-01"}
    assert http.put(f"{api}/issue/PAY-2", json={"fields": fields}).status_code == 204
    body = issue(http, api, "PAY-2")
    assert [v["name"] for v in body["fields"]["fixVersions"]] == ["PAY 2025.7"]
    assert body["fields"]["duedate"] == "2025-08-01"
    items = newest_history(body)["items"]
    assert [(i["field"], i["fromString"], i["toString"]) for i in items] == [
        ("Fix Version", "PAY 2025.6", None),
        ("Fix Version", None, "PAY 2025.7"),
        ("duedate", "2025-07-15 00:00:00.0", "2025-08-01 00:00:00.0"),
    ]


def test_a_bad_field_leaves_the_issue_untouched(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """One unknown or invalid field refuses the whole edit, without a history."""
    _, api = site
    before = issue(http, api, "PAY-7")
    unknown = http.put(f"{api}/issue/PAY-7", json={"fields": {"summary": "x", "universe": 42}})
    assert unknown.status_code == 400
    assert "universe" in unknown.json()["errors"]
    invalid = {"fields": {"summary": "x", "fixVersions": [{"name": "nope"}]}}
    assert http.put(f"{api}/issue/PAY-7", json=invalid).status_code == 400
    assert issue(http, api, "PAY-7") == before


def test_edit_without_changes_records_nothing(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """Setting a field to its current value neither logs a history nor moves ``updated``."""
    _, api = site
    before = issue(http, api, "PAY-2")
    assert http.put(f"{api}/issue/PAY-2", json={"fields": {"summary": "PAY-2 work"}}).ok
    assert issue(http, api, "PAY-2") == before


def test_cloud_parent_edit_logs_issue_parent_association(
    cloud: str, http: requests.Session
) -> None:
    """On Cloud ``parent: {key}`` re-parents at any level and logs IssueParentAssociation."""
    assert http.put(f"{cloud}/issue/PAY-6", json={"fields": {"parent": {"key": "PAY-1"}}}).ok
    body = issue(http, cloud, "PAY-6")
    assert body["fields"]["parent"]["key"] == "PAY-1"
    item = newest_history(body)["items"][0]
    assert (item["field"], item["to"], item["toString"]) == (
        "IssueParentAssociation",
        "10002",
        "PAY-1",
    )


def test_cloud_parent_must_sit_one_level_up(cloud: str, http: requests.Session) -> None:
    """A story cannot hang under an initiative."""
    answer = http.put(f"{cloud}/issue/PAY-6", json={"fields": {"parent": {"key": "PORT-1"}}})
    assert answer.status_code == 400
    assert "parent" in answer.json()["errors"]


@pytest.mark.parametrize(
    ("key", "field", "value", "logged"),
    [
        ("PAY-6", "customfield_10100", "PAY-1", "Epic Link"),
        ("PAY-1", "customfield_10200", None, "Parent Link"),
    ],
)
def test_dc_hierarchy_edits_use_epic_and_parent_link(
    dc: str, http: requests.Session, key: str, field: str, value: str | None, logged: str
) -> None:
    """On Data Center the Epic Link and Parent Link custom fields carry the hierarchy."""
    assert http.put(f"{dc}/issue/{key}", json={"fields": {field: value}}).status_code == 204
    body = issue(http, dc, key)
    rendered = body["fields"][field]
    assert rendered == value if field == "customfield_10100" else rendered is None
    item = newest_history(body)["items"][0]
    assert (item["field"], item["fieldtype"], item["fieldId"]) == (logged, "custom", field)


def test_dc_has_no_parent_field_to_set(dc: str, http: requests.Session) -> None:
    """Data Center refuses ``parent`` in an edit: its hierarchy lives in custom fields."""
    answer = http.put(f"{dc}/issue/PAY-6", json={"fields": {"parent": {"key": "PAY-1"}}})
    assert answer.status_code == 400


def test_create_answers_201_and_the_issue_is_searchable(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """POST /issue returns id, key and self; the issue starts in To Do without history."""
    _, api = site
    fields = {
        "project": {"key": "PAY"},
        "issuetype": {"name": "Story"},
        "summary": "Brand new",
        "labels": ["fresh"],
    }
    answer = http.post(f"{api}/issue", json={"fields": fields})
    assert answer.status_code == 201
    created = answer.json()
    assert created.keys() == {"id", "key", "self"}
    assert created["self"] == f"{api}/issue/{created['id']}"
    body = issue(http, api, created["key"])
    assert body["fields"]["status"]["name"] == "To Do"
    assert body["fields"]["labels"] == ["fresh"]
    assert body["changelog"]["total"] == 0


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"project": {"key": "PAY"}, "issuetype": {"name": "Story"}}, "summary"),
        ({"project": {"key": "NOPE"}, "issuetype": {"name": "Story"}, "summary": "x"}, "project"),
        ({"project": {"key": "PAY"}, "issuetype": {"name": "Nope"}, "summary": "x"}, "issuetype"),
    ],
)
def test_create_rejects_incomplete_fields(
    site: tuple[SandboxServer, str],
    http: requests.Session,
    fields: dict[str, Any],
    error_field: str,
) -> None:
    """Missing or unknown project, type or summary answers 400 naming the field."""
    _, api = site
    answer = http.post(f"{api}/issue", json={"fields": fields})
    assert answer.status_code == 400
    assert error_field in answer.json()["errors"]


@pytest.mark.parametrize(
    ("flavor", "field", "name"),
    [
        ("cloud", "customfield_10016", "Story point estimate"),
        ("datacenter", "customfield_10106", "Story Points"),
    ],
)
def test_story_point_edits_use_the_flavours_field(
    jira_servers: dict[str, SandboxServer],
    http: requests.Session,
    flavor: str,
    field: str,
    name: str,
) -> None:
    """Story points are set and logged under the flavour's own custom field."""
    api = fresh(jira_servers[flavor], "3" if flavor == "cloud" else "2")
    assert http.put(f"{api}/issue/PAY-2", json={"fields": {field: 8}}).status_code == 204
    body = issue(http, api, "PAY-2")
    assert body["fields"][field] == 8.0
    item = newest_history(body)["items"][0]
    assert item == {
        "field": name,
        "fieldtype": "custom",
        "fieldId": field,
        "from": None,
        "fromString": "5",
        "to": None,
        "toString": "8",
    }


def test_delete_removes_the_issue_and_unlinks_its_children(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """DELETE answers 204; the issue is gone (404, not found by JQL), its child story stays
    without a parent, and links to it go."""
    _, api = site
    assert http.delete(f"{api}/issue/PAY-1").status_code == 204
    assert http.get(f"{api}/issue/PAY-1").status_code == 404
    story = issue(http, api, "PAY-2")["fields"]
    assert story.get("parent") is None
    assert not story.get("customfield_10100")
    assert http.delete(f"{api}/issue/PORT-1").status_code == 204
    assert issue(http, api, "PAY-2")["fields"]["issuelinks"] == []


def test_delete_refuses_an_issue_with_subtasks_unless_asked(
    site: tuple[SandboxServer, str], http: requests.Session
) -> None:
    """Without deleteSubtasks=true an issue with sub-tasks answers 400 and stays; with it, the
    sub-tasks go too."""
    _, api = site
    refused = http.delete(f"{api}/issue/PAY-2")
    assert refused.status_code == 400
    assert "deleteSubtasks" in refused.json()["errorMessages"][0]
    assert http.get(f"{api}/issue/PAY-2").status_code == 200
    assert http.delete(f"{api}/issue/PAY-2", params={"deleteSubtasks": "true"}).status_code == 204
    assert http.get(f"{api}/issue/PAY-3").status_code == 404
    assert http.delete(f"{api}/issue/PAY-2").status_code == 404
