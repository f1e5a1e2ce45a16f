"""The Jira gateway against a faked wire: flavours, paging, validation, errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr
from responses import matchers

from restrat_sync.errors import ConnectionProblem, CredentialsRejected
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.jira import FieldIds, JiraAnswered, JiraGateway, connect_jira, discover_fields
from restrat_sync.settings import Credentials

BASE = "https://jira.example.com"
CREDS = Credentials("admin@example.com", SecretStr("tok"))
FAST = RetryPolicy(max_attempts=2, initial_wait=0.0, max_wait=0.0)


def gateway(flavor: str) -> JiraGateway:
    responses.get(f"{BASE}/rest/api/2/serverInfo", json={"deploymentType": flavor})
    return connect_jira(BASE, CREDS, create_session(FAST))


def issue(n: int) -> dict[str, Any]:
    return {"id": str(10000 + n), "key": f"PAY-{n}", "fields": {"summary": f"s{n}"}}


@responses.activate
@pytest.mark.parametrize(
    ("deployment", "flavor"),
    [("Cloud", "cloud"), ("Server", "datacenter"), ("DataCenter", "datacenter")],
)
def test_flavour_comes_from_server_info(deployment: str, flavor: str) -> None:
    """deploymentType decides the flavour."""
    assert gateway(deployment).flavor == flavor


@responses.activate
def test_forced_flavour_skips_detection() -> None:
    """Config can force the flavour; serverInfo is then not asked."""
    gw = connect_jira(BASE, CREDS, create_session(FAST), flavor="cloud")
    assert gw.flavor == "cloud"
    assert len(responses.calls) == 0


@responses.activate
def test_cloud_search_follows_tokens_through_short_pages() -> None:
    """Cloud pages by nextPageToken; a page shorter than maxResults is not the end."""
    gw = gateway("Cloud")
    url = f"{BASE}/rest/api/3/search/jql"
    responses.post(url, json={"issues": [issue(1)], "nextPageToken": "t1", "isLast": False})
    responses.post(
        url,
        json={"issues": [issue(2), issue(3)], "nextPageToken": "t2", "isLast": False},
        match=[matchers.json_params_matcher({"nextPageToken": "t1"}, strict_match=False)],
    )
    responses.post(
        url,
        json={"issues": [issue(4)], "isLast": True},
        match=[matchers.json_params_matcher({"nextPageToken": "t2"}, strict_match=False)],
    )
    keys = [i["key"] for i in gw.search("project = PAY", ["summary"], page_size=50)]
    assert keys == ["PAY-1", "PAY-2", "PAY-3", "PAY-4"]
    sent = json.loads(responses.calls[1].request.body or b"{}")
    assert sent["fields"] == ["summary"]
    assert sent["maxResults"] == 50


@responses.activate
def test_cloud_search_stops_when_the_token_is_missing() -> None:
    """A page without nextPageToken ends the search even if isLast is absent."""
    gw = gateway("Cloud")
    responses.post(f"{BASE}/rest/api/3/search/jql", json={"issues": [issue(1)]})
    assert [i["key"] for i in gw.search("project = PAY", ["summary"])] == ["PAY-1"]


@responses.activate
def test_datacenter_search_pages_by_offset_until_total() -> None:
    """Data Center pages by startAt until total, whatever page size the server chose."""
    gw = gateway("DataCenter")
    url = f"{BASE}/rest/api/2/search"
    for start, keys in ((0, [1, 2]), (2, [3, 4]), (4, [5])):
        responses.get(
            url,
            json={
                "startAt": start,
                "maxResults": 2,
                "total": 5,
                "issues": [issue(k) for k in keys],
            },
            match=[matchers.query_param_matcher({"startAt": str(start)}, strict_match=False)],
        )
    assert [i["key"] for i in gw.search("project = PAY", ["summary"], 1000)] == [
        f"PAY-{n}" for n in range(1, 6)
    ]


@responses.activate
def test_cloud_validates_jql_with_the_parse_endpoint() -> None:
    """Cloud asks /jql/parse in strict mode and returns each query's errors."""
    gw = gateway("Cloud")
    responses.post(
        f"{BASE}/rest/api/3/jql/parse",
        json={"queries": [{"query": "a", "structure": {}}, {"query": "b", "errors": ["bad"]}]},
        match=[matchers.query_param_matcher({"validation": "strict"})],
    )
    assert gw.validate_jql(["a", "b"]) == [[], ["bad"]]


@responses.activate
def test_datacenter_validates_jql_with_an_empty_search() -> None:
    """Data Center has no parse endpoint: a maxResults=0 search's 400 carries the errors."""
    gw = gateway("DataCenter")
    url = f"{BASE}/rest/api/2/search"
    responses.get(url, json={"total": 3, "issues": []}, match=[_jql("good")])
    responses.get(
        url, status=400, json={"errorMessages": ["Field 'x' does not exist"]}, match=[_jql("bad")]
    )
    assert gw.validate_jql(["good", "bad"]) == [[], ["Field 'x' does not exist"]]


def _jql(jql: str) -> Any:
    return matchers.query_param_matcher({"jql": jql, "maxResults": "0"}, strict_match=False)


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_raise_credentials_rejected(status: int) -> None:
    """401 and 403 become a clear credentials error naming the settings to check."""
    responses.get(f"{BASE}/rest/api/2/serverInfo", status=status, json={})
    with pytest.raises(CredentialsRejected, match="RESTRAT_JIRA_TOKEN"):
        connect_jira(BASE, CREDS, create_session(FAST))


@responses.activate
@pytest.mark.parametrize("user", ["admin@example.com", None])
def test_an_unset_token_is_named_instead_of_the_401(user: str | None) -> None:
    """Without a token Jira refuses the anonymous request: say which setting is missing."""
    responses.get(f"{BASE}/rest/api/2/serverInfo", json={"deploymentType": "Cloud"})
    responses.get(f"{BASE}/rest/api/2/myself", status=401, json={"errorMessages": ["no"]})
    gw = connect_jira(BASE, Credentials(user, None), create_session(FAST))
    with pytest.raises(CredentialsRejected) as caught:
        gw.myself()
    assert str(caught.value).startswith("RESTRAT_JIRA_TOKEN is not set: Jira needs a token")
    assert "401" not in str(caught.value)
    assert "Authorization" not in responses.calls[1].request.headers


@responses.activate
@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"status": 404, "json": {"message": "HTTP 404 Not Found", "status-code": 404}}, 404),
        ({"status": 404, "body": "<html>Not here</html>"}, 404),
        ({"status": 200, "body": "<html>Welcome to the intranet</html>"}, 200),
    ],
)
def test_a_base_url_that_is_not_jiras_says_what_to_check(
    answer: dict[str, Any], status: int
) -> None:
    """serverInfo answered 404, or not as JSON: the URL is wrong, a connection problem that
    names the setting and what it should look like."""
    responses.get(f"{BASE}/wiki/rest/api/2/serverInfo", **answer)
    with pytest.raises(ConnectionProblem) as caught:
        connect_jira(f"{BASE}/wiki", CREDS, create_session(FAST))
    message = str(caught.value)
    assert message.startswith(
        f"{BASE}/wiki does not answer like Jira ({status} to GET rest/api/2/serverInfo): "
        "check RESTRAT_JIRA_URL"
    )
    assert "https://acme.atlassian.net on Cloud" in message


@responses.activate
def test_unreachable_jira_raises_connection_problem_without_secrets() -> None:
    """A connection error names Jira's URL and never the credentials."""
    responses.get(f"{BASE}/rest/api/2/serverInfo", body=requests.ConnectionError("boom tok"))
    with pytest.raises(ConnectionProblem) as caught:
        connect_jira(BASE, CREDS, create_session(FAST))
    assert BASE in str(caught.value)
    assert "tok" not in str(caught.value).replace(BASE, "")


@responses.activate
def test_basic_auth_is_sent_with_user_and_bearer_without() -> None:
    """A user means Basic auth (Cloud API token); no user means a Bearer PAT (Data Center)."""
    responses.get(f"{BASE}/rest/api/2/myself", json={"name": "x"})
    session = create_session(FAST)
    connect_jira(BASE, CREDS, session, "cloud").myself()
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")
    pat = Credentials(None, SecretStr("pat-1"))
    connect_jira(BASE, pat, create_session(FAST), "datacenter").myself()
    assert responses.calls[1].request.headers["Authorization"] == "Bearer pat-1"


CLOUD_FIELDS = [
    {"id": "summary", "name": "Summary", "custom": False, "schema": {"type": "string"}},
    {
        "id": "customfield_10016",
        "name": "Story point estimate",
        "custom": True,
        "schema": {"custom": "com.pyxis.greenhopper.jira:jsw-story-points"},
    },
]
DC_FIELDS = [
    {"id": "customfield_10106", "name": "Story Points", "custom": True, "schema": {"custom": "x"}},
    {
        "id": "customfield_10100",
        "name": "Epic Link",
        "custom": True,
        "schema": {"custom": "com.pyxis.greenhopper.jira:gh-epic-link"},
    },
    {
        "id": "customfield_10200",
        "name": "Parent Link",
        "custom": True,
        "schema": {"custom": "com.atlassian.jpo:jpo-custom-field-parent"},
    },
]


@pytest.mark.parametrize(
    ("catalogue", "expected"),
    [
        (CLOUD_FIELDS, FieldIds("customfield_10016", None, None)),
        (DC_FIELDS, FieldIds("customfield_10106", "customfield_10100", "customfield_10200")),
    ],
)
def test_fields_are_discovered_by_custom_type_then_name(
    catalogue: list[dict[str, Any]], expected: FieldIds
) -> None:
    """Story points, Epic Link and Parent Link are found without hard-coded ids."""
    assert discover_fields(catalogue, FieldIds(None, None, None)) == expected


def test_configured_field_ids_win_over_discovery() -> None:
    """An id named in config is used as is."""
    found = discover_fields(DC_FIELDS, FieldIds("customfield_1", None, None))
    assert found.story_points == "customfield_1"
    assert found.epic_link == "customfield_10100"


@responses.activate
def test_search_waits_out_a_429_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rate-limited search is retried after Retry-After and then completes."""
    slept: list[float] = []
    monkeypatch.setattr("tenacity.nap.time.sleep", slept.append)
    gw = connect_jira(BASE, CREDS, create_session(RetryPolicy(max_attempts=3)), "cloud")
    url = f"{BASE}/rest/api/3/search/jql"
    responses.post(url, status=429, headers={"Retry-After": "7"}, json={"errorMessages": []})
    responses.post(url, json={"issues": [issue(1)], "isLast": True})
    assert [i["key"] for i in gw.search("project = PAY", ["summary"])] == ["PAY-1"]
    assert slept == [7.0]


@responses.activate
def test_search_gives_up_after_the_bound_with_jiras_message() -> None:
    """After the last attempt the error names the status, the endpoint and Jira's words."""
    gw = connect_jira(BASE, CREDS, create_session(FAST), "cloud")
    responses.post(
        f"{BASE}/rest/api/3/search/jql",
        status=429,
        json={"errorMessages": ["Rate limit exceeded."]},
    )
    with pytest.raises(JiraAnswered) as caught:
        list(gw.search("project = PAY", ["summary"]))
    assert str(caught.value) == (
        "Jira answered 429 to POST rest/api/3/search/jql: Rate limit exceeded."
    )
    assert len(responses.calls) == FAST.max_attempts


@responses.activate
def test_debug_logs_never_show_the_token(capsys: pytest.CaptureFixture[str]) -> None:
    """With -v, the library logs curl commands with headers; the CLI's handler blanks them."""
    from restrat_sync.cli import configure_logging

    configure_logging(verbose=True)
    try:
        responses.get(f"{BASE}/rest/api/2/myself", json={"name": "x"})
        pat = Credentials(None, SecretStr("pat-secret-123"))
        connect_jira(BASE, pat, create_session(FAST), "datacenter").myself()
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    err = capsys.readouterr().err
    assert "curl" in err  # the library did log the request
    assert "pat-secret-123" not in err
