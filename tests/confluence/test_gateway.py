"""The Confluence gateway against a faked wire: paths per flavour, bodies, answers, errors."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import requests
import responses
from pydantic import SecretStr
from responses import matchers

from restrat_sync.confluence import (
    ConfluenceGateway,
    ConfluenceRefused,
    VersionConflict,
    connect_confluence,
)
from restrat_sync.errors import ConfigError, ConnectionProblem, CredentialsRejected
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.settings import Credentials

CLOUD = "https://acme.atlassian.net/wiki"
DC = "https://confluence.example.com"
TOKEN = "s3cr3t-t0ken-value"
CREDS = Credentials("admin@example.com", SecretStr(TOKEN))
FAST = RetryPolicy(max_attempts=2, initial_wait=0.0, max_wait=0.0)
KEY = "restrat-sync"
CONFLICT = (
    "com.atlassian.confluence.api.service.exceptions.ConflictException: "
    "Version must be incremented on update. Current version is: 5"
)


def gateway(base: str = CLOUD) -> ConfluenceGateway:
    return connect_confluence(base, CREDS, create_session(FAST))


def content(page_id: str = "101", title: str = "Overview", **extra: Any) -> dict[str, Any]:
    """A page as GET content answers it with version, ancestors and metadata expanded."""
    body: dict[str, Any] = {
        "id": page_id,
        "type": "page",
        "title": title,
        "version": {"number": 4},
        "ancestors": [{"id": "1"}, {"id": "7"}],
        "metadata": {
            "labels": {"results": [{"prefix": "global", "name": "restrat-sync"}], "size": 1},
            "properties": {KEY: {"key": KEY, "value": {"hash": "abc"}, "version": {"number": 2}}},
        },
    }
    body.update(extra)
    return body


def error(status: int, message: str) -> dict[str, Any]:
    return {"statusCode": status, "message": message, "reason": "x"}


def sent(call: int = -1) -> Any:
    return json.loads(responses.calls[call].request.body or b"null")


@responses.activate
@pytest.mark.parametrize("base", [CLOUD, DC])
def test_find_page_asks_the_v1_content_api_below_the_base_url(base: str) -> None:
    """Cloud's base holds /wiki, Data Center's does not: both reach <base>/rest/api/content."""
    responses.get(f"{base}/rest/api/content", json={"results": [content()], "size": 1})
    page = gateway(base).find_page("PORT", "Overview & more", KEY)
    assert page is not None
    request = responses.calls[0].request
    assert request.url is not None
    assert request.url.startswith(f"{base}/rest/api/content?")
    params = requests.utils.urlparse(request.url).query
    assert "title=Overview+%26+more" in params
    assert "spaceKey=PORT" in params
    assert "expand=version,ancestors,metadata.labels,metadata.properties.restrat-sync" in params


@responses.activate
def test_find_page_reads_version_labels_parent_and_property() -> None:
    """The answer becomes a RemotePage: version number, label names, direct parent, property."""
    responses.get(f"{CLOUD}/rest/api/content", json={"results": [content()], "size": 1})
    page = gateway().find_page("PORT", "Overview", KEY)
    assert page is not None
    assert (page.id, page.version, page.labels, page.parent_id) == (
        "101",
        4,
        ("restrat-sync",),
        "7",
    )
    assert page.property_value == {"hash": "abc"}
    assert page.property_version == 2


@responses.activate
def test_find_page_answers_none_when_nothing_has_the_title() -> None:
    """An empty result list means no page; a page without metadata has no labels."""
    responses.get(f"{CLOUD}/rest/api/content", json={"results": [], "size": 0})
    assert gateway().find_page("PORT", "Nothing", KEY) is None


@responses.activate
def test_find_page_prefers_the_exact_title() -> None:
    """The lookup ignores case; the page with exactly our title wins over a case variant."""
    variants = [content("1", "OVERVIEW", metadata={}), content("2", "Overview", metadata={})]
    responses.get(f"{CLOUD}/rest/api/content", json={"results": variants, "size": 2})
    page = gateway().find_page("PORT", "Overview", KEY)
    assert page is not None
    assert page.id == "2"
    assert page.labels == ()
    assert page.property_value is None


@responses.activate
def test_get_page_by_id_and_gone_pages() -> None:
    """get_page reads one page with the same expansion; a 404 means it is gone."""
    responses.get(f"{CLOUD}/rest/api/content/101", json=content())
    responses.get(f"{CLOUD}/rest/api/content/102", status=404, json=error(404, "No content"))
    page = gateway().get_page("101", KEY, "Overview")
    assert page is not None
    assert page.version == 4
    assert gateway().get_page("102", KEY, "Overview") is None


@responses.activate
@pytest.mark.parametrize("base", [CLOUD, DC])
def test_create_page_posts_a_storage_page_under_its_parent(base: str) -> None:
    """POST content carries type, title, space key, the parent as last ancestor and storage."""
    responses.post(f"{base}/rest/api/content", json={"id": "555", "version": {"number": 1}})
    created = gateway(base).create_page("PORT", "Overview", "<p>x</p>", "77")
    assert (created.id, created.version, created.parent_id) == ("555", 1, "77")
    assert sent() == {
        "type": "page",
        "title": "Overview",
        "space": {"key": "PORT"},
        "ancestors": [{"id": "77"}],
        "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
    }


@responses.activate
def test_create_refusal_names_the_page_and_confluences_reason() -> None:
    """A 400 (a title taken) becomes ConfluenceRefused naming the page and Confluence's words."""
    message = (
        "com.atlassian.confluence.api.service.exceptions.BadRequestException: "
        "A page with this title already exists"
    )
    responses.post(f"{CLOUD}/rest/api/content", status=400, json=error(400, message))
    with pytest.raises(ConfluenceRefused, match="A page with this title already exists") as info:
        gateway().create_page("PORT", "Overview", "<p>x</p>", "77")
    assert "'Overview'" in str(info.value)
    assert "BadRequestException" not in str(info.value)
    assert info.value.status == 400


@responses.activate
def test_update_sends_the_next_version_and_returns_it() -> None:
    """PUT content/{id} carries title, type, body, parent and version.number; minor edit."""
    responses.put(f"{CLOUD}/rest/api/content/101", json={"id": "101", "version": {"number": 5}})
    assert gateway().update_page("101", "Overview", "<p>y</p>", "7", 5) == 5
    body = sent()
    assert body["version"]["number"] == 5
    assert body["version"]["minorEdit"] is True
    assert (body["type"], body["title"], body["ancestors"]) == ("page", "Overview", [{"id": "7"}])
    assert body["body"]["storage"] == {"value": "<p>y</p>", "representation": "storage"}


@responses.activate
def test_update_conflict_raises_version_conflict() -> None:
    """409 becomes VersionConflict with the page title and the current version Confluence names."""
    responses.put(f"{CLOUD}/rest/api/content/101", status=409, json=error(409, CONFLICT))
    with pytest.raises(VersionConflict, match="Current version is: 5") as info:
        gateway().update_page("101", "Overview", "<p>y</p>", "7", 4)
    assert "'Overview'" in str(info.value)


@responses.activate
def test_labels_are_posted_as_global_labels() -> None:
    """POST content/{id}/label with [{"prefix": "global", "name": ...}]."""
    responses.post(f"{CLOUD}/rest/api/content/101/label", json={"results": []})
    gateway().add_labels("101", ["restrat-sync", "restrat-sync-weekly"], "Overview")
    assert sent() == [
        {"prefix": "global", "name": "restrat-sync"},
        {"prefix": "global", "name": "restrat-sync-weekly"},
    ]


@responses.activate
@pytest.mark.parametrize(("known", "number"), [(None, 1), (3, 4)])
def test_property_is_put_at_the_next_version(known: int | None, number: int) -> None:
    """A missing property is PUT at version 1 (which creates it); a known one at version + 1."""
    url = f"{CLOUD}/rest/api/content/101/property/{KEY}"
    responses.put(url, json={"key": KEY})
    gateway().set_property("101", KEY, {"hash": "h"}, known, "Overview")
    assert sent() == {
        "key": KEY,
        "value": {"hash": "h"},
        "version": {"number": number, "minorEdit": True},
    }


@responses.activate
def test_property_conflict_rereads_its_version_once() -> None:
    """A 409 on the property reads its current version and puts again at that + 1."""
    url = f"{CLOUD}/rest/api/content/101/property/{KEY}"
    responses.put(url, status=409, json=error(409, CONFLICT))
    responses.get(url, json={"key": KEY, "value": {}, "version": {"number": 6}})
    responses.put(
        url,
        json={"key": KEY},
        match=[matchers.json_params_matcher({"version": {"number": 7}}, strict_match=False)],
    )
    gateway().set_property("101", KEY, {"hash": "h"}, None, "Overview")
    assert [c.request.method for c in responses.calls] == ["PUT", "GET", "PUT"]


@responses.activate
def test_space_home_page_id_comes_from_the_homepage_expansion() -> None:
    """GET space/{key}?expand=homepage gives the home page's id; a missing space is refused."""
    responses.get(
        f"{CLOUD}/rest/api/space/PORT",
        json={"key": "PORT", "homepage": {"id": "65537"}},
        match=[matchers.query_param_matcher({"expand": "homepage"})],
    )
    responses.get(f"{CLOUD}/rest/api/space/NOPE", status=404, json=error(404, "No space"))
    assert gateway().space_home_id("PORT") == "65537"
    with pytest.raises(ConfluenceRefused, match="no space NOPE"):
        gateway().space_home_id("NOPE")


@responses.activate
def test_reads_and_writes_are_counted() -> None:
    """Every GET counts as a read, every POST/PUT/DELETE as a write, refusals included."""
    gw = gateway()
    responses.get(f"{CLOUD}/rest/api/content", json={"results": []})
    responses.post(f"{CLOUD}/rest/api/content/1/label", json={})
    responses.put(f"{CLOUD}/rest/api/content/1", status=409, json=error(409, CONFLICT))
    gw.find_page("PORT", "A", KEY)
    gw.add_labels("1", ["x"], "A")
    with pytest.raises(VersionConflict):
        gw.update_page("1", "A", "<p/>", "2", 2)
    assert (gw.reads, gw.writes) == (1, 2)


@responses.activate
def test_401_is_a_credentials_problem_and_403_fails_only_the_page() -> None:
    """401 stops everything (CredentialsRejected); 403 (no permission here) is a refusal."""
    responses.put(f"{CLOUD}/rest/api/content/1", status=401, json=error(401, "Unauthorized"))
    responses.put(f"{CLOUD}/rest/api/content/2", status=403, json=error(403, "Not permitted"))
    with pytest.raises(CredentialsRejected, match="RESTRAT_CONFLUENCE_TOKEN"):
        gateway().update_page("1", "A", "<p/>", "9", 2)
    with pytest.raises(ConfluenceRefused, match=r"403.*'B'.*Not permitted") as info:
        gateway().update_page("2", "B", "<p/>", "9", 2)
    assert not isinstance(info.value, ConnectionProblem)


@responses.activate
def test_unreachable_confluence_is_a_connection_problem() -> None:
    """A connection error becomes ConnectionProblem naming the URL."""
    responses.get(f"{CLOUD}/rest/api/content", body=requests.ConnectionError("refused"))
    with pytest.raises(ConnectionProblem, match=CLOUD):
        gateway().find_page("PORT", "A", KEY)


@responses.activate
def test_secrets_never_reach_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Neither the token nor an Authorization header appears in messages or debug logs."""
    caplog.set_level(logging.DEBUG)
    responses.post(f"{CLOUD}/rest/api/content", status=400, json=error(400, "Bad page"))
    responses.put(f"{CLOUD}/rest/api/content/1", status=401, json=error(401, "Unauthorized"))
    messages = []
    for call in (
        lambda: gateway().create_page("PORT", "A", "<p/>", "1"),
        lambda: gateway().update_page("1", "A", "<p/>", "1", 2),
    ):
        with pytest.raises((ConfluenceRefused, CredentialsRejected)) as info:
            call()
        messages.append(str(info.value))
    assert responses.calls[0].request.headers["Authorization"]  # the secret was sent...
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for text in [*messages, logged]:
        assert TOKEN not in text  # ...and is nowhere else
        assert "Authorization" not in text
        assert "Basic " not in text


# --- is it Confluence at all? ---------------------------------------------------------------------


@responses.activate
def test_a_missing_space_is_none_when_confluence_says_so() -> None:
    """404 for the space, while the server lists spaces like Confluence: the space is missing."""
    responses.get(f"{DC}/rest/api/space/NOPE", status=404, json=error(404, "No space with key"))
    responses.get(f"{DC}/rest/api/space", json={"results": [], "start": 0, "limit": 1, "size": 0})
    assert gateway(DC).space("NOPE") is None


@responses.activate
@pytest.mark.parametrize(
    ("base", "suggested"),
    [
        ("https://intranet.example.com", "try https://intranet.example.com/wiki"),
        ("https://intranet.example.com/wiki", "the address you open Confluence at"),
    ],
)
def test_a_server_that_is_not_confluence_is_a_connection_problem(base: str, suggested: str) -> None:
    """A 404 from something that does not list spaces (Jira, a web server) means the base URL is
    wrong: say so, and suggest /wiki where it is missing."""
    jira_404 = {"message": "HTTP 404 Not Found", "status-code": 404, "sub-code": -1}
    responses.get(f"{base}/rest/api/space/PORT", status=404, json=jira_404)
    responses.get(f"{base}/rest/api/space", status=404, body="<html>Not Found</html>")
    with pytest.raises(ConnectionProblem) as caught:
        gateway(base).space("PORT")
    assert f"{base} does not answer like Confluence (404 to GET rest/api/space/PORT)" in str(
        caught.value
    )
    assert "RESTRAT_CONFLUENCE_URL" in str(caught.value)
    assert suggested in str(caught.value)


@responses.activate
def test_a_web_page_instead_of_a_space_is_not_confluence() -> None:
    """200 with HTML (a portal, a login page) is no space either."""
    responses.get(f"{DC}/rest/api/space/PORT", body="<html>Welcome</html>")
    with pytest.raises(ConnectionProblem, match=r"does not answer like Confluence.*try .*/wiki"):
        gateway(DC).space("PORT")


@pytest.mark.parametrize(
    "base",
    [
        "https://acme.atlassian.net",
        "https://ACME.atlassian.net/",
        "https://acme.atlassian.net/confluence",
    ],
)
def test_a_cloud_url_without_wiki_is_refused_before_any_request(base: str) -> None:
    """Confluence Cloud always lives under /wiki: the URL to use is named, and nothing is sent
    (responses is not active, so a request would reach the network and fail differently)."""
    with pytest.raises(ConfigError) as caught:
        connect_confluence(base, CREDS, create_session(FAST))
    assert "Confluence Cloud lives under /wiki: set it to https://" in str(caught.value)
    assert str(caught.value).lower().endswith("acme.atlassian.net/wiki")


@responses.activate
def test_an_unset_token_is_named_instead_of_the_401() -> None:
    """Without any token Confluence refuses the anonymous request; the message says which
    setting is missing, not the status."""
    responses.get(f"{CLOUD}/rest/api/space/PORT", status=401, json=error(401, "auth needed"))
    anonymous = Credentials(
        "admin@example.com", None, "RESTRAT_CONFLUENCE_TOKEN (or RESTRAT_JIRA_TOKEN, its default)"
    )
    with pytest.raises(CredentialsRejected) as caught:
        connect_confluence(CLOUD, anonymous, create_session(FAST)).space("PORT")
    message = str(caught.value)
    assert message.startswith(
        "RESTRAT_CONFLUENCE_TOKEN (or RESTRAT_JIRA_TOKEN, its default) is not set"
    )
    assert "401" not in message
