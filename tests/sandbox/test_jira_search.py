"""Jira search over HTTP: Cloud's cursor search and Data Center's offset search."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restrat_sandbox import jira_api, jql
from restrat_sandbox.server import SandboxServer
from tests.sandbox.jira_fixtures import FILLER_STORIES

PAY_ISSUES = 5 + FILLER_STORIES  # PAY-1 .. PAY-5 plus the filler stories
REMOVED = jira_api.SEARCH_REMOVED


def cloud_pages(
    http: requests.Session, url: str, params: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Every page of a Cloud search, following nextPageToken until isLast."""
    token = None
    while True:
        page = http.get(f"{url}/rest/api/3/search/jql", params={**params, "nextPageToken": token})
        assert page.status_code == 200, page.text
        body = page.json()
        yield body
        if body["isLast"]:
            return
        token = body["nextPageToken"]


# --- Cloud cursor search ------------------------------------------------------------------------


def test_cloud_search_pages_to_the_end_with_tokens(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """Short pages chain by nextPageToken; the last has isLast and no token; no key repeats."""
    params: dict[str, Any] = {
        "jql": "project = PAY ORDER BY key ASC",
        "maxResults": 40,
        "fields": "summary",
    }
    pages = list(cloud_pages(http, jira_cloud.url, params))
    keys = [issue["key"] for page in pages for issue in page["issues"]]
    assert len(keys) == len(set(keys)) == PAY_ISSUES
    assert all(len(page["issues"]) == 40 for page in pages[:-1])
    assert "nextPageToken" not in pages[-1]
    assert all(page["isLast"] is False and page["nextPageToken"] for page in pages[:-1])
    assert not {"total", "startAt"} & pages[0].keys()


def test_cloud_page_holds_at_most_100_issues_once_fields_are_requested(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """maxResults is an upper bound: with fields, a page stops at 100 although more match."""
    params: dict[str, Any] = {"jql": "project = PAY", "maxResults": 500, "fields": "summary,status"}
    body = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()
    assert len(body["issues"]) == 100
    assert body["isLast"] is False


def test_cloud_id_only_page_can_fill_max_results(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """Without fields, one page may hold up to maxResults issue ids."""
    params: dict[str, Any] = {"jql": "project = PAY", "maxResults": 500}
    body = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()
    assert len(body["issues"]) == PAY_ISSUES
    assert body["isLast"] is True


def test_cloud_search_defaults_to_ids_only(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """Without ``fields`` each issue is just its id: no key, no ``fields`` object."""
    params = {"jql": "key = PAY-2"}
    body = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()
    assert body == {"issues": [{"id": "10003"}], "isLast": True}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ("summary,status", {"summary", "status"}),
        ("summary,-summary,labels", {"labels"}),
        ("*all,-issuelinks,-labels,-parent", None),
        ("*navigable", None),
    ],
)
def test_cloud_fields_selection_and_exclusion(
    jira_cloud: SandboxServer, http: requests.Session, fields: str, expected: set[str] | None
) -> None:
    """``fields`` picks ids; ``*all``/``*navigable`` take every field; ``-id`` excludes one."""
    params = {"jql": "key = PAY-2", "fields": fields}
    issue = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()["issues"][0]
    assert issue["key"] == "PAY-2"
    if expected is None:
        excluded = {f[1:] for f in fields.split(",") if f.startswith("-")}
        assert {"summary", "status", "customfield_10016", "updated"} <= issue["fields"].keys()
        assert not excluded & issue["fields"].keys()
    else:
        assert issue["fields"].keys() == expected


def test_cloud_fields_key_only_gives_no_fields_object(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """``fields=key`` names an attribute, not a field: the issue carries no ``fields``."""
    params = {"jql": "key = PAY-2", "fields": "key"}
    issue = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()["issues"][0]
    assert issue["key"] == "PAY-2"
    assert "fields" not in issue


def test_cloud_post_search_takes_fields_as_a_list(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """In POST the same search takes a JSON body with ``fields`` as an array."""
    body = {"jql": "key in (PAY-1, PAY-2) ORDER BY key", "fields": ["summary", "labels"]}
    answer = http.post(f"{jira_cloud.url}/rest/api/3/search/jql", json=body).json()
    assert [i["key"] for i in answer["issues"]] == ["PAY-1", "PAY-2"]
    assert answer["issues"][0]["fields"].keys() == {"summary", "labels"}


def test_cloud_paging_runs_the_query_once(
    jira_cloud: SandboxServer, http: requests.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Later pages come from the token's cached key list, not from a new search."""
    calls = []

    def counting(*args: Any) -> Any:
        calls.append(args)
        return jql.search(*args)

    monkeypatch.setattr(jira_api, "search", counting)
    params: dict[str, Any] = {
        "jql": "project = PAY AND key != PAY-3",
        "maxResults": 20,
        "fields": "summary",
    }
    pages = list(cloud_pages(http, jira_cloud.url, params))
    assert len(pages) > 5
    assert len(calls) == 1


@pytest.mark.parametrize("jql", ["", "ORDER BY key", "order by created DESC"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cloud_rejects_unbounded_jql(
    jira_cloud: SandboxServer, http: requests.Session, jql: str, method: str
) -> None:
    """An empty query or one with only ORDER BY answers 400 with Jira's message."""
    url = f"{jira_cloud.url}/rest/api/3/search/jql"
    if method == "GET":
        answer = http.get(url, params={"jql": jql})
    else:
        answer = http.post(url, json={"jql": jql})
    assert answer.status_code == 400
    assert answer.json() == {"errorMessages": [jira_api.UNBOUNDED_JQL], "errors": {}}


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("project = ", "Error in the JQL Query"),
        ("universe = 42", "Field 'universe' does not exist"),
    ],
)
def test_cloud_jql_errors_answer_400(
    jira_cloud: SandboxServer, http: requests.Session, jql: str, message: str
) -> None:
    """JQL errors come back as ``errorMessages`` with an empty ``errors`` object."""
    answer = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params={"jql": jql})
    assert answer.status_code == 400
    body = answer.json()
    assert body["errors"] == {}
    assert any(message in text for text in body["errorMessages"]), body


@pytest.mark.parametrize("max_results", ["0", "5001", "many"])
def test_cloud_max_results_out_of_range_is_400(
    jira_cloud: SandboxServer, http: requests.Session, max_results: str
) -> None:
    """maxResults must be an integer from 1 to 5000."""
    params: dict[str, Any] = {"jql": "project = PAY", "maxResults": max_results}
    assert http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).status_code == 400


def test_cloud_unknown_page_token_is_400(jira_cloud: SandboxServer, http: requests.Session) -> None:
    """A token the server never issued (or forgot) is refused."""
    params = {"jql": "project = PAY", "nextPageToken": "bm9wZTox"}
    assert http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).status_code == 400


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cloud_legacy_search_is_gone(
    jira_cloud: SandboxServer, http: requests.Session, version: str, method: str
) -> None:
    """The old /search answers 410 with the removal notice on Cloud."""
    answer = http.request(
        method, f"{jira_cloud.url}/rest/api/{version}/search", params={"jql": "x"}
    )
    assert answer.status_code == 410
    assert answer.json() == {"errorMessages": [REMOVED], "errors": {}}


def test_cloud_cursor_search_is_also_served_at_v2(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """/rest/api/2/search/jql is the same search."""
    params = {"jql": "key = PAY-2", "fields": "summary"}
    answer = http.get(f"{jira_cloud.url}/rest/api/2/search/jql", params=params).json()
    assert answer["issues"][0]["self"].endswith("/rest/api/2/issue/10003")


@pytest.mark.parametrize("version", ["2", "3"])
def test_cloud_approximate_count(
    jira_cloud: SandboxServer, http: requests.Session, version: str
) -> None:
    """approximate-count answers the number of matches."""
    url = f"{jira_cloud.url}/rest/api/{version}/search/approximate-count"
    assert http.post(url, json={"jql": "project = PAY"}).json() == {"count": PAY_ISSUES}


def test_cloud_names_expansion_names_the_returned_fields(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """``expand=names`` maps each returned field id to its display name."""
    params = {"jql": "key = PAY-2", "fields": "summary,customfield_10016", "expand": "names"}
    body = http.get(f"{jira_cloud.url}/rest/api/3/search/jql", params=params).json()
    assert body["names"] == {"summary": "Summary", "customfield_10016": "Story point estimate"}


def parse(http: requests.Session, url: str, validation: str, *queries: str) -> list[Any]:
    answer = http.post(
        f"{url}/rest/api/3/jql/parse", params={"validation": validation}, json={"queries": queries}
    )
    assert answer.status_code == 200, answer.text
    parsed: list[Any] = answer.json()["queries"]
    return parsed


def test_jql_parse_returns_a_structure(jira_cloud: SandboxServer, http: requests.Session) -> None:
    """A valid query comes back as the engine's where/orderBy structure, in Jira's shape.

    The shape itself is checked clause by clause in ``test_jql``.
    """
    text = "project = PAY AND NOT labels is EMPTY ORDER BY key DESC"
    (parsed,) = parse(http, jira_cloud.url, "strict", text)
    assert parsed["structure"] == jql.parse_jql(text).structure()
    (negated,) = parsed["structure"]["where"]["clauses"][1]["clauses"]
    assert (negated["operator"], negated["operand"]) == ("is", {"keyword": "empty"})


@pytest.mark.parametrize(
    ("validation", "key", "expected"),
    [
        ("strict", "errors", ["The value 'NOPE' does not exist for the field 'project'."]),
        ("warn", "warnings", ["The value 'NOPE' does not exist for the field 'project'."]),
        ("none", "warnings", None),
    ],
)
def test_jql_parse_validation_modes(
    jira_cloud: SandboxServer, http: requests.Session, validation: str, key: str, expected: Any
) -> None:
    """Unknown values are errors when strict, warnings when warn, ignored when none."""
    (parsed,) = parse(http, jira_cloud.url, validation, "project = NOPE")
    assert parsed.get(key) == expected
    assert ("structure" in parsed) == (validation != "strict")


def test_jql_parse_reports_syntax_errors_per_query(
    jira_cloud: SandboxServer, http: requests.Session
) -> None:
    """Each query is answered on its own: a syntax error does not fail its neighbours."""
    good, bad = parse(http, jira_cloud.url, "strict", "key = PAY-1", "invalid query")
    assert "structure" in good
    assert bad["query"] == "invalid query"
    assert bad["errors"][0].startswith("Error in the JQL Query: Expecting operator")


# --- Data Center offset search -----------------------------------------------------------------


def test_dc_search_pages_by_offset_with_total(
    jira_dc: SandboxServer, http: requests.Session
) -> None:
    """startAt/maxResults pages add up to ``total`` issues, in order, without repeats."""
    keys: list[str] = []
    start = 0
    while True:
        params: dict[str, Any] = {
            "jql": "project = PAY ORDER BY key",
            "startAt": start,
            "maxResults": 70,
        }
        body = http.get(f"{jira_dc.url}/rest/api/2/search", params=params).json()
        assert (body["startAt"], body["maxResults"], body["total"]) == (start, 70, PAY_ISSUES)
        assert body["expand"] == "schema,names"
        keys += [issue["key"] for issue in body["issues"]]
        start += 70
        if start >= body["total"]:
            break
    assert len(keys) == len(set(keys)) == PAY_ISSUES
    assert keys[:3] == ["PAY-1", "PAY-2", "PAY-3"]


def test_dc_search_defaults_to_navigable_fields(
    jira_dc: SandboxServer, http: requests.Session
) -> None:
    """Without ``fields``, Data Center returns every navigable field, custom ones included."""
    body = http.get(f"{jira_dc.url}/rest/api/2/search", params={"jql": "key = PAY-2"}).json()
    fields = body["issues"][0]["fields"]
    assert {"summary", "status", "customfield_10100", "customfield_10106"} <= fields.keys()


def test_dc_max_results_zero_returns_the_total_only(
    jira_dc: SandboxServer, http: requests.Session
) -> None:
    """maxResults=0 counts without issues: how clients validate JQL on Data Center."""
    params: dict[str, Any] = {"jql": "project = PAY", "maxResults": 0}
    body = http.get(f"{jira_dc.url}/rest/api/2/search", params=params).json()
    assert (body["total"], body["issues"], body["maxResults"]) == (PAY_ISSUES, [], 0)


def test_dc_max_results_zero_still_reports_jql_errors(
    jira_dc: SandboxServer, http: requests.Session
) -> None:
    """A bad query answers 400 with Jira's messages even when no issue is asked for."""
    params: dict[str, Any] = {"jql": "project = NOPE", "maxResults": 0}
    answer = http.get(f"{jira_dc.url}/rest/api/2/search", params=params)
    assert answer.status_code == 400
    assert answer.json()["errorMessages"] == [
        "The value 'NOPE' does not exist for the field 'project'."
    ]


def test_dc_caps_max_results_at_1000(jira_dc: SandboxServer, http: requests.Session) -> None:
    """The server lowers a large maxResults to its cap and says so."""
    params: dict[str, Any] = {"jql": "project = PAY", "maxResults": 5000, "fields": "summary"}
    assert http.get(f"{jira_dc.url}/rest/api/2/search", params=params).json()["maxResults"] == 1000


def test_dc_accepts_unbounded_jql(jira_dc: SandboxServer, http: requests.Session) -> None:
    """Data Center runs an empty query over every issue."""
    params: dict[str, Any] = {"jql": "", "maxResults": 0}
    assert (
        http.get(f"{jira_dc.url}/rest/api/2/search", params=params).json()["total"]
        == PAY_ISSUES + 1
    )


def test_dc_post_search(jira_dc: SandboxServer, http: requests.Session) -> None:
    """POST /search takes the same parameters as a JSON body."""
    body = {"jql": "key = PAY-2", "fields": ["summary"], "startAt": 0, "maxResults": 5}
    answer = http.post(f"{jira_dc.url}/rest/api/2/search", json=body).json()
    assert answer["issues"][0]["fields"] == {"summary": "PAY-2 work"}


@pytest.mark.parametrize(
    "path",
    [
        "/rest/api/2/search/jql",
        "/rest/api/3/search/jql",
        "/rest/api/3/search",
        "/rest/api/2/changelog/bulkfetch",
        "/rest/api/2/jql/parse",
        "/rest/api/2/issue/PAY-2/changelog",
    ],
)
def test_dc_has_no_cloud_only_endpoints(
    jira_dc: SandboxServer, http: requests.Session, path: str
) -> None:
    """Cloud-only routes answer Jira's own 404 body on Data Center."""
    answer = http.get(f"{jira_dc.url}{path}", params={"jql": "project = PAY"})
    assert answer.status_code == 404
    assert answer.json() == {"message": "HTTP 404 Not Found", "status-code": 404, "sub-code": -1}


# --- the result cache behind page tokens ---------------------------------------------------------


def test_result_cache_evicts_least_recently_used_beyond_its_key_budget() -> None:
    """Entries beyond the key budget go, oldest-read first; the newest always stays."""
    cache = jira_api.ResultCache(size=10, ttl=60, sliding=True, budget=5)
    cache.put("a", ["A-1", "A-2"])
    cache.put("b", ["B-1", "B-2"])
    assert cache.get("a") == ["A-1", "A-2"]  # now "b" is the least recently used
    cache.put("c", ["C-1", "C-2"])
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (
        ["A-1", "A-2"],
        None,
        ["C-1", "C-2"],
    )
    cache.put("huge", [f"H-{n}" for n in range(10)])
    assert cache.get("huge") is not None
    assert cache.get("a") is None


def test_result_cache_expires_entries() -> None:
    """An entry older than the ttl is gone."""
    cache = jira_api.ResultCache(size=10, ttl=-1, sliding=False)
    cache.put("a", ["A-1"])
    assert cache.get("a") is None
