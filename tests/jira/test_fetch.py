"""Fetching issues with complete changelogs, against a faked wire, on both flavours."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import responses
from pydantic import SecretStr
from responses import matchers

from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.jira import JiraAnswered, JiraGateway, connect_jira
from restrat_sync.jira.extract import REQUEST_FIELDS, changelog_field_ids
from restrat_sync.jira.gateway import IssuePage
from restrat_sync.settings import Credentials
from tests.jira.payloads import (
    CLOUD_IDS,
    DC_IDS,
    IDS,
    bulk_page,
    changelog_page,
    cloud_issue,
    dc_issue,
    dc_page,
    flavour_issue,
    search_page,
    status,
    status_histories,
    with_epoch_created,
)

BASE = "https://jira.example.com"
CREDS = Credentials("admin@example.com", SecretStr("tok"))
FAST = RetryPolicy(max_attempts=2, initial_wait=0.0, max_wait=0.0)
CLOUD_SEARCH = f"{BASE}/rest/api/3/search/jql"
DC_SEARCH = f"{BASE}/rest/api/2/search"
BULK = f"{BASE}/rest/api/3/changelog/bulkfetch"
FLAVOURS = ["cloud", "datacenter"]


def gateway(flavor: str) -> JiraGateway:
    return connect_jira(BASE, CREDS, create_session(FAST), flavor=flavor)


def body_of(call: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(call.request.body or b"{}")
    return loaded


def calls_to(*urls: str) -> list[Any]:
    return [call for call in responses.calls if str(call.request.url).startswith(urls)]


def sent_to(url: str) -> list[dict[str, Any]]:
    return [body_of(call) for call in calls_to(url)]


def token_is(token: str) -> Any:
    return matchers.json_params_matcher({"nextPageToken": token}, strict_match=False)


def start_is(start: int) -> Any:
    return matchers.json_params_matcher({"startAt": start}, strict_match=False)


def keys(pages: list[IssuePage]) -> list[str]:
    return [record.key for page in pages for record in page.records]


# --- paging --------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize(
    "last_page",
    [search_page([cloud_issue(4)], is_last=True), search_page([cloud_issue(4)])],
    ids=["isLast", "token-and-isLast-absent"],
)
def test_cloud_fetch_follows_tokens_through_short_pages(last_page: dict[str, Any]) -> None:
    """Pages shorter than maxResults are not the end; a missing token is, even without isLast."""
    responses.post(CLOUD_SEARCH, json=search_page([cloud_issue(1)], "t1", is_last=False))
    responses.post(
        CLOUD_SEARCH,
        json=search_page([cloud_issue(2), cloud_issue(3)], "t2", is_last=False),
        match=[token_is("t1")],
    )
    responses.post(CLOUD_SEARCH, json=last_page, match=[token_is("t2")])
    pages = list(gateway("cloud").fetch_issues("project = PAY", CLOUD_IDS))
    assert keys(pages) == ["PAY-1", "PAY-2", "PAY-3", "PAY-4"]
    assert [page.raw_count for page in pages] == [1, 2, 1]
    assert [page.total for page in pages] == [None, None, None]


@responses.activate
def test_datacenter_fetch_pages_by_start_at_until_total() -> None:
    """DC advances startAt by what came back (the server may cap maxResults) until total."""
    for start, numbers in ((0, [1, 2]), (2, [3, 4]), (4, [5])):
        issues = [dc_issue(n) for n in numbers]
        responses.post(DC_SEARCH, json=dc_page(issues, start, 5, 2), match=[start_is(start)])
    pages = list(gateway("datacenter").fetch_issues("project = PAY", DC_IDS))
    assert keys(pages) == [f"PAY-{n}" for n in range(1, 6)]
    assert [body["startAt"] for body in sent_to(DC_SEARCH)] == [0, 2, 4]
    assert {page.total for page in pages} == {5}


@responses.activate
def test_datacenter_fetch_stops_on_an_empty_page() -> None:
    """An empty page ends DC paging even when total promised more (issues deleted meanwhile)."""
    responses.post(DC_SEARCH, json=dc_page([dc_issue(1)], 0, 3), match=[start_is(0)])
    responses.post(DC_SEARCH, json=dc_page([], 1, 3), match=[start_is(1)])
    assert keys(list(gateway("datacenter").fetch_issues("project = PAY", DC_IDS))) == ["PAY-1"]


@responses.activate
@pytest.mark.parametrize(
    ("flavor", "url", "expand", "page_size"),
    [("cloud", CLOUD_SEARCH, "changelog", 100), ("datacenter", DC_SEARCH, ["changelog"], 1000)],
)
def test_fetch_requests_exactly_the_record_fields_with_the_changelog(
    flavor: str, url: str, expand: Any, page_size: int
) -> None:
    """The fields sent are REQUEST_FIELDS (never *all); changelogs are expanded in the same call."""
    page = search_page([], is_last=True) if flavor == "cloud" else dc_page([], 0, 0)
    responses.post(url, json=page)
    list(gateway(flavor).fetch_issues("project = PAY", IDS[flavor]))
    (sent,) = sent_to(url)
    assert sent["fields"] == REQUEST_FIELDS(IDS[flavor])
    assert "*all" not in sent["fields"]
    assert (sent["expand"], sent["maxResults"], sent["jql"]) == (expand, page_size, "project = PAY")


@responses.activate
@pytest.mark.parametrize(
    ("flavor", "url", "page_size"), [("cloud", CLOUD_SEARCH, 5000), ("datacenter", DC_SEARCH, 1000)]
)
def test_list_keys_asks_for_keys_only_in_the_largest_pages(
    flavor: str, url: str, page_size: int
) -> None:
    """Key-only pages are not capped like pages with fields; an issue seen twice counts once."""
    ids_and_keys = [{"id": "10001", "key": "PAY-1"}, {"id": "10002", "key": "PAY-2"}]
    if flavor == "cloud":
        responses.post(url, json=search_page(ids_and_keys, "t1", is_last=False))
        responses.post(
            url, json=search_page(ids_and_keys[1:], is_last=True), match=[token_is("t1")]
        )
    else:
        responses.post(url, json=dc_page(ids_and_keys, 0, 3), match=[start_is(0)])
        responses.post(url, json=dc_page(ids_and_keys[1:], 2, 3), match=[start_is(2)])
    assert gateway(flavor).list_keys("project = PAY") == ["PAY-1", "PAY-2"]
    first = sent_to(url)[0]
    assert (first["fields"], first["maxResults"]) == (["key"], page_size)


@responses.activate
def test_list_keys_refuses_issues_without_a_key() -> None:
    """Cloud sends ids only unless asked for keys; a keyless answer is an error, not a gap."""
    responses.post(CLOUD_SEARCH, json=search_page([{"id": "10001"}], is_last=True))
    with pytest.raises(Exception, match="without its key"):
        gateway("cloud").list_keys("project = PAY")


@responses.activate
@pytest.mark.parametrize(("flavor", "url"), [("cloud", CLOUD_SEARCH), ("datacenter", DC_SEARCH)])
def test_a_rejected_search_surfaces_jiras_messages(flavor: str, url: str) -> None:
    """A 400 from search becomes JiraAnswered carrying Jira's errorMessages and field errors."""
    body = {"errorMessages": ["Field 'sprintt' does not exist."], "errors": {"jql": "bad"}}
    responses.post(url, status=400, json=body)
    with pytest.raises(JiraAnswered) as caught:
        list(gateway(flavor).fetch_issues("sprintt = 1", IDS[flavor]))
    assert caught.value.status == 400
    assert caught.value.messages == ["Field 'sprintt' does not exist.", "jql: bad"]
    assert "sprintt" in str(caught.value)


@responses.activate
def test_status_records_come_from_the_status_catalogue() -> None:
    """The gateway turns GET /status into StatusRecords."""
    responses.get(f"{BASE}/rest/api/2/status", json=[status("To Do"), status("Done")])
    got = gateway("datacenter").status_records()
    assert [(s.id, s.category) for s in got] == [("10000", "new"), ("10001", "done")]


# --- changelog completion ------------------------------------------------------------------------


def wire_300_histories(flavor: str) -> list[dict[str, Any]]:
    """Serve one issue with 300 status changes: Cloud truncated to 40, DC whole."""
    histories = status_histories(300)
    if flavor == "cloud":
        responses.post(CLOUD_SEARCH, json=search_page([cloud_issue(1, histories)], is_last=True))
        fetched = with_epoch_created(histories)
        # Bulk fetch counts histories across issues: the issue's log is split over two pages.
        responses.post(BULK, json=bulk_page({"10001": fetched[:200]}, "b1"))
        responses.post(BULK, json=bulk_page({"10001": fetched[200:]}), match=[token_is("b1")])
    else:
        responses.post(DC_SEARCH, json=dc_page([dc_issue(1, histories)], 0, 1))
    return histories


@responses.activate
@pytest.mark.parametrize("flavor", FLAVOURS)
def test_an_issue_with_300_histories_arrives_whole(flavor: str) -> None:
    """300 transitions, oldest first, none twice where the embedded 40 overlap the fetched ones."""
    histories = wire_300_histories(flavor)
    (page,) = gateway(flavor).fetch_issues("project = PAY", IDS[flavor])
    (got,) = page.records
    assert [t.history_id for t in got.transitions] == [int(h["id"]) for h in histories]
    assert [t.at for t in got.transitions] == sorted(t.at for t in got.transitions)
    assert got.changelog_total == 300
    assert page.changelog_requests == (2 if flavor == "cloud" else 0)


@responses.activate
def test_bulk_fetch_is_asked_for_the_truncated_issues_and_tracked_fields() -> None:
    """Only truncated issues go to bulk fetch, by id, filtered to the fields records track."""
    responses.post(
        CLOUD_SEARCH,
        json=search_page(
            [cloud_issue(1, status_histories(3)), cloud_issue(2, status_histories(41))]
        ),
    )
    responses.post(BULK, json=bulk_page({"10002": with_epoch_created(status_histories(41))}))
    (page,) = gateway("cloud").fetch_issues("project = PAY", DC_IDS)
    (sent,) = sent_to(BULK)
    assert sent == {
        "issueIdsOrKeys": ["10002"],
        "fieldIds": [
            "status",
            "parent",
            "priority",
            "labels",
            "issuelinks",
            "customfield_10100",
            "customfield_10200",
        ],
        "maxResults": 10000,
    }
    assert sent["fieldIds"] == changelog_field_ids(DC_IDS)
    assert [len(r.transitions) for r in page.records] == [3, 41]
    assert page.changelog_requests == 1


def wire_per_issue_changelog(issue_id: str, histories: list[dict[str, Any]]) -> str:
    url = f"{BASE}/rest/api/3/issue/{issue_id}/changelog"
    for start in range(0, len(histories), 100):
        values = histories[start : start + 100]
        params = {"startAt": str(start), "maxResults": "100"}
        page = changelog_page(values, start, len(histories))
        responses.get(url, json=page, match=[matchers.query_param_matcher(params)])
    return url


@responses.activate
@pytest.mark.parametrize("refusal", [404, 405])
def test_without_bulk_fetch_changelogs_are_paged_per_issue(refusal: int) -> None:
    """When bulk fetch is not offered, each truncated issue's changelog is paged by startAt; the
    refusal is remembered, so bulk fetch is asked once per gateway."""
    histories = status_histories(250)
    responses.post(CLOUD_SEARCH, json=search_page([cloud_issue(1, histories)], "t1"))
    responses.post(
        CLOUD_SEARCH, json=search_page([cloud_issue(2, histories)]), match=[token_is("t1")]
    )
    responses.post(BULK, status=refusal, json={"message": "HTTP 404 Not Found"})
    one = wire_per_issue_changelog("10001", histories)
    two = wire_per_issue_changelog("10002", histories)
    pages = list(gateway("cloud").fetch_issues("project = PAY", CLOUD_IDS))
    assert [len(page.records[0].transitions) for page in pages] == [250, 250]
    assert [page.changelog_requests for page in pages] == [4, 3]  # bulk + 3 pages, then 3 pages
    assert len(sent_to(BULK)) == 1
    assert len(calls_to(one, two)) == 6


@responses.activate
def test_an_issue_bulk_fetch_leaves_out_is_paged_per_issue() -> None:
    """Bulk fetch that omits an issue (or drops its tracked items) does not cost its history."""
    histories = status_histories(60)
    issues = [cloud_issue(1, histories), cloud_issue(2, histories)]
    responses.post(CLOUD_SEARCH, json=search_page(issues, is_last=True))
    responses.post(BULK, json=bulk_page({"10001": with_epoch_created(histories)}))
    wire_per_issue_changelog("10002", histories)
    (page,) = gateway("cloud").fetch_issues("project = PAY", CLOUD_IDS)
    assert [len(r.transitions) for r in page.records] == [60, 60]
    assert page.changelog_requests == 2


@responses.activate
def test_an_issue_deleted_while_its_changelog_is_read_keeps_what_was_embedded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 404 from the per-issue changelog is logged; the page still arrives."""
    responses.post(CLOUD_SEARCH, json=search_page([cloud_issue(1, status_histories(45))]))
    responses.post(BULK, status=404, json={})
    responses.get(f"{BASE}/rest/api/3/issue/10001/changelog", status=404, json={})
    with caplog.at_level(logging.WARNING, "restrat_sync.jira.gateway"):
        (page,) = gateway("cloud").fetch_issues("project = PAY", CLOUD_IDS)
    assert len(page.records[0].transitions) == 40
    assert "vanished" in caplog.text


@responses.activate
def test_a_failing_bulk_fetch_is_not_mistaken_for_a_missing_one() -> None:
    """Only 404/405/501 mean "not offered"; other errors surface."""
    responses.post(CLOUD_SEARCH, json=search_page([cloud_issue(1, status_histories(45))]))
    responses.post(BULK, status=400, json={"errorMessages": ["fieldIds: too many"]})
    with pytest.raises(JiraAnswered, match="too many"):
        list(gateway("cloud").fetch_issues("project = PAY", CLOUD_IDS))


@responses.activate
def test_a_truncated_datacenter_changelog_is_reported_not_fetched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """DC has no changelog paging: a short changelog is logged and changelog_total stays honest."""
    raw = dc_issue(1, status_histories(10))
    raw["changelog"]["total"] = 12
    responses.post(DC_SEARCH, json=dc_page([raw], 0, 1))
    with caplog.at_level(logging.WARNING, "restrat_sync.jira.gateway"):
        (page,) = gateway("datacenter").fetch_issues("project = PAY", DC_IDS)
    got = page.records[0]
    assert (len(got.transitions), got.changelog_total, page.changelog_requests) == (10, 12, 0)
    assert "10 of 12 histories of PAY-1" in caplog.text
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("flavor", FLAVOURS)
def test_complete_changelogs_cost_no_extra_request(flavor: str) -> None:
    """Issues whose embedded changelog is whole need nothing but the search."""
    issues = [flavour_issue(flavor, n, status_histories(n * 10)) for n in range(1, 5)]
    url, page = (
        (CLOUD_SEARCH, search_page(issues))
        if flavor == "cloud"
        else (DC_SEARCH, dc_page(issues, 0, 4))
    )
    responses.post(url, json=page)
    (got,) = gateway(flavor).fetch_issues("project = PAY", IDS[flavor])
    assert [len(r.transitions) for r in got.records] == [10, 20, 30, 40]
    assert (got.changelog_requests, len(responses.calls)) == (0, 1)
