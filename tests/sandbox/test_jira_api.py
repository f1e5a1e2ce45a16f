"""The sandbox's Jira over HTTP: catalogues, issue rendering per flavour, auth and site knobs."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from tests.sandbox.jira_fixtures import CALLER, DST_KEY, running_sandbox

CUSTOM_TYPES = {
    "epic_link": "com.pyxis.greenhopper.jira:gh-epic-link",
    "parent_link": "com.atlassian.jpo:jpo-custom-field-parent",
    "cloud_points": "com.pyxis.greenhopper.jira:jsw-story-points",
}


@pytest.fixture(params=["cloud", "datacenter"])
def api(request: pytest.FixtureRequest, jira_servers: dict[str, SandboxServer]) -> str:
    """The API root of each flavour: v3 on Cloud, v2 on Data Center."""
    version = "3" if request.param == "cloud" else "2"
    return f"{jira_servers[request.param].url}/rest/api/{version}"


def get(http: requests.Session, url: str, **params: Any) -> Any:
    answer = http.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


# --- catalogues --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavor", "deployment"), [("cloud", "Cloud"), ("datacenter", "DataCenter")]
)
def test_server_info_names_the_deployment_type(
    jira_servers: dict[str, SandboxServer], http: requests.Session, flavor: str, deployment: str
) -> None:
    """/rest/api/2/serverInfo is how clients detect the flavour."""
    info = get(http, f"{jira_servers[flavor].url}/rest/api/2/serverInfo")
    assert info["deploymentType"] == deployment
    assert info["baseUrl"] == jira_servers[flavor].url
    assert {"version", "versionNumbers", "serverTitle", "buildNumber"} <= info.keys()


@pytest.mark.parametrize(
    ("flavor", "identity"),
    [("cloud", {"accountId": "sandbox"}), ("datacenter", {"name": "sandbox", "key": "sandbox"})],
)
def test_myself_identifies_the_caller_per_flavour(
    jira_servers: dict[str, SandboxServer],
    http: requests.Session,
    flavor: str,
    identity: dict[str, str],
) -> None:
    """Cloud names users by accountId, Data Center by name/key; timeZone is the profile's."""
    me = get(http, f"{jira_servers[flavor].url}/rest/api/2/myself")
    assert identity.items() <= me.items()
    assert me["timeZone"] == CALLER.time_zone
    assert ("accountId" in me) == (flavor == "cloud")


@pytest.mark.parametrize(
    ("flavor", "expected"),
    [
        ("cloud", {"cloud_points": "customfield_10016", "epic_link": "customfield_10014"}),
        (
            "datacenter",
            {"epic_link": "customfield_10100", "parent_link": "customfield_10200"},
        ),
    ],
)
def test_field_catalogue_ids_are_found_by_schema_type(
    jira_servers: dict[str, SandboxServer],
    http: requests.Session,
    flavor: str,
    expected: dict[str, str],
) -> None:
    """Custom field ids differ per flavour; the schema's custom type finds them."""
    fields = get(http, f"{jira_servers[flavor].url}/rest/api/2/field")
    by_type = {f["schema"]["custom"]: f["id"] for f in fields if f["custom"]}
    assert {name: by_type.get(CUSTOM_TYPES[name]) for name in expected} == expected
    names = {f["name"]: f["id"] for f in fields}
    if flavor == "datacenter":
        assert names["Story Points"] == "customfield_10106"
    else:
        assert names["Story point estimate"] == "customfield_10016"


def test_statuses_carry_their_category(api: str, http: requests.Session) -> None:
    """Each status names its category by key, id and colour."""
    statuses = {s["name"]: s["statusCategory"] for s in get(http, f"{api}/status")}
    assert statuses["In Progress"]["key"] == "indeterminate"
    assert {c["key"] for c in statuses.values()} == {"new", "indeterminate", "done"}
    assert statuses["Done"] | {"self": ""} == {
        "self": "",
        "id": 3,
        "key": "done",
        "colorName": "green",
        "name": "Done",
    }


def test_issue_types_carry_hierarchy_levels_on_cloud_only(api: str, http: requests.Session) -> None:
    """Cloud: hierarchyLevel -1 sub-task, 0 story, 1 epic, 2 initiative; DC: the subtask flag."""
    types = get(http, f"{api}/issuetype")
    levels = {t["name"]: (t.get("hierarchyLevel"), t["subtask"]) for t in types}
    cloud = api.endswith("/3")
    assert levels == {
        "Initiative": (2 if cloud else None, False),
        "Epic": (1 if cloud else None, False),
        "Story": (0 if cloud else None, False),
        "Sub-task": (-1 if cloud else None, True),
    }


# --- issue rendering ---------------------------------------------------------------------------


def test_cloud_shows_every_hierarchy_level_as_parent(
    jira_servers: dict[str, SandboxServer], http: requests.Session
) -> None:
    """On Cloud, fields.parent links sub-task, story and epic alike, with a summary block."""
    url = f"{jira_servers['cloud'].url}/rest/api/3"
    parents = {
        key: get(http, f"{url}/issue/{key}", fields="parent")["fields"].get("parent")
        for key in ("PAY-3", "PAY-2", "PAY-1", "PORT-1")
    }
    assert {k: p and p["key"] for k, p in parents.items()} == {
        "PAY-3": "PAY-2",
        "PAY-2": "PAY-1",
        "PAY-1": "PORT-1",
        "PORT-1": None,
    }
    parent = parents["PAY-1"]
    assert parent is not None
    assert parent["fields"].keys() == {"summary", "status", "priority", "issuetype"}
    assert parent["fields"]["issuetype"]["hierarchyLevel"] == 2


def test_dc_hierarchy_uses_epic_link_and_parent_link(
    jira_servers: dict[str, SandboxServer], http: requests.Session
) -> None:
    """On DC a story's epic is Epic Link (a key), an epic's initiative is Parent Link."""
    url = f"{jira_servers['datacenter'].url}/rest/api/2"
    story = get(http, f"{url}/issue/PAY-2")["fields"]
    epic = get(http, f"{url}/issue/PAY-1")["fields"]
    subtask = get(http, f"{url}/issue/PAY-3")["fields"]
    assert story["customfield_10100"] == "PAY-1"
    assert "parent" not in story
    assert story["customfield_10200"] is None
    assert epic["customfield_10200"] == {
        "hasEpicLinkFieldDependency": False,
        "showField": True,
        "data": {
            "id": 10001,
            "key": "PORT-1",
            "keyNum": 1,
            "projectId": 10000,
            "summary": "PORT-1 work",
        },
    }
    assert epic["customfield_10100"] is None
    assert subtask["parent"]["key"] == "PAY-2"


@pytest.mark.parametrize(
    ("flavor", "points_field", "assignee"),
    [
        ("cloud", "customfield_10016", {"accountId": "5b10a2844c20165700ede21g"}),
        ("datacenter", "customfield_10106", {"name": "mia", "key": "mia"}),
    ],
)
def test_issue_fields_render_like_jira(
    jira_servers: dict[str, SandboxServer],
    http: requests.Session,
    flavor: str,
    points_field: str,
    assignee: dict[str, str],
) -> None:
    """Ids are strings; story points, versions, links, users and dates take Jira's shapes."""
    version = "3" if flavor == "cloud" else "2"
    issue = get(http, f"{jira_servers[flavor].url}/rest/api/{version}/issue/PAY-2")
    fields = issue["fields"]
    assert (issue["id"], issue["key"]) == ("10003", "PAY-2")
    assert fields[points_field] == 5.0
    assert assignee.items() <= fields["assignee"].items()
    assert fields["priority"]["name"] == "High"
    assert fields["project"] | {"self": ""} == {
        "self": "",
        "id": "10001",
        "key": "PAY",
        "name": "Payments",
        "projectTypeKey": "software",
    }
    (version_json,) = fields["fixVersions"]
    assert (version_json["name"], version_json["released"]) == ("PAY 2025.6", True)
    assert version_json["releaseDate"] == "2025-06-28"
    assert fields["duedate"] == "2025-07-15"
    (link,) = fields["issuelinks"]
    assert link["type"]["outward"] == "implements"
    assert link["outwardIssue"]["key"] == "PORT-1"


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("created", "2025-01-15T10:30:00.000+0100"),
        ("resolutiondate", "2025-06-02T11:30:00.000+0200"),
        ("updated", "2025-06-02T11:30:00.000+0200"),
    ],
)
def test_timestamps_are_in_the_callers_zone_across_dst(
    api: str, http: requests.Session, field: str, expected: str
) -> None:
    """Europe/Berlin renders +0100 in winter and +0200 in summer, without a colon."""
    assert get(http, f"{api}/issue/{DST_KEY}")["fields"][field] == expected


def test_unknown_issue_is_404(api: str, http: requests.Session) -> None:
    """An issue that does not exist answers 404 with Jira's message."""
    answer = http.get(f"{api}/issue/PAY-9999")
    assert answer.status_code == 404
    assert answer.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


def test_issue_is_found_by_id_too(api: str, http: requests.Session) -> None:
    """``{issueIdOrKey}`` accepts the numeric id."""
    assert get(http, f"{api}/issue/10003", fields="summary")["key"] == "PAY-2"


# --- authentication and site knobs -------------------------------------------------------------


@pytest.mark.parametrize(
    "auth", [("sandbox@example.com", "wrong"), ("someone@example.com", "sandbox-token"), None]
)
def test_wrong_credentials_are_401(api: str, auth: tuple[str, str] | None) -> None:
    """A wrong token, user or no credentials at all answer 401."""
    answer = requests.get(f"{api}/myself", auth=auth, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["errorMessages"]


def test_rate_limit_answers_429_with_retry_headers(http: requests.Session) -> None:
    """Beyond --rate-limit requests per second, answers are 429 with Retry-After."""
    with running_sandbox("cloud", rate_limit=2) as server:
        answers = [http.get(f"{server.url}/rest/api/3/myself") for _ in range(5)]
    limited = [a for a in answers if a.status_code == 429]
    assert limited
    headers = limited[0].headers
    assert int(headers["Retry-After"]) >= 1
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= headers.keys()


def test_fault_rate_one_answers_503(http: requests.Session) -> None:
    """With fault_rate=1.0 every request answers 503 with Retry-After."""
    with running_sandbox("datacenter", fault_rate=1.0) as server:
        answer = http.get(f"{server.url}/rest/api/2/serverInfo")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "1"


def test_stats_count_requests_per_endpoint(http: requests.Session) -> None:
    """/_sandbox/stats counts each route by its template."""
    with running_sandbox("cloud") as server:
        for _ in range(3):
            http.get(f"{server.url}/rest/api/3/issue/PAY-2", params={"fields": "summary"})
        http.post(f"{server.url}/rest/api/3/search/jql", json={"jql": "key = PAY-2"})
        stats = requests.get(f"{server.url}/_sandbox/stats", timeout=10).json()
    assert stats["requests"]["GET /rest/api/3/issue/{issueIdOrKey}"] == 3
    assert stats["requests"]["POST /rest/api/3/search/jql"] == 1
    assert stats["total"] == 4


def test_reset_restores_the_data_and_routes_read_it_afresh(http: requests.Session) -> None:
    """After /_sandbox/reset, an edit is gone: every request reads the new portfolio."""
    with running_sandbox("cloud") as server:
        url = f"{server.url}/rest/api/3/issue/PAY-2"
        http.put(url, json={"fields": {"summary": "Changed"}})
        assert get(http, url, fields="summary")["fields"]["summary"] == "Changed"
        requests.post(f"{server.url}/_sandbox/reset", timeout=10)
        assert get(http, url, fields="summary")["fields"]["summary"] == "PAY-2 work"
