"""Holds: ``/_sandbox/holds`` stops the first matching request until the test releases it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from tests.sandbox.jira_fixtures import running_sandbox, session
from tests.worker.sandboxed import wait_for


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with running_sandbox("cloud") as running:
        yield running


def hold(server: SandboxServer, **spec: Any) -> str:
    answer = requests.post(f"{server.url}/_sandbox/holds", json=spec, timeout=10)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def state(server: SandboxServer, hold_id: str) -> dict[str, Any]:
    answer = requests.get(f"{server.url}/_sandbox/holds/{hold_id}", timeout=10)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def search_in_background(server: SandboxServer, jql: str) -> tuple[threading.Thread, list[int]]:
    statuses: list[int] = []

    def search() -> None:
        answer = session().post(f"{server.url}/rest/api/3/search/jql", json={"jql": jql})
        statuses.append(answer.status_code)

    thread = threading.Thread(target=search)
    thread.start()
    return thread, statuses


def test_the_first_matching_request_waits_until_released(server: SandboxServer) -> None:
    """A search whose JQL matches is held (other requests pass meanwhile) until DELETE."""
    hold_id = hold(server, method="POST", path="/search/jql$", jql=r"parent in \(")
    thread, statuses = search_in_background(server, "parent in (PAY-1)")
    assert wait_for(lambda: state(server, hold_id)["held"], 10)
    http = session()
    assert http.post(f"{server.url}/rest/api/3/search/jql", json={"jql": "key = PAY-2"}).ok
    assert http.get(f"{server.url}/rest/api/3/issue/PAY-2").ok
    assert statuses == []
    assert requests.delete(f"{server.url}/_sandbox/holds/{hold_id}", timeout=10).status_code == 204
    thread.join(10)
    assert statuses == [200]
    final = state(server, hold_id)
    assert (final["held"], final["released"]) == (False, True)


def test_only_the_first_match_is_held(server: SandboxServer) -> None:
    """Once a request was held, later matching requests pass; a hold times out on its own."""
    hold_id = hold(server, path="/status$", timeout=0.2)
    http = session()
    assert http.get(f"{server.url}/rest/api/3/status").ok  # held 0.2 s, then let through
    assert state(server, hold_id)["arrived"]
    assert http.get(f"{server.url}/rest/api/3/status", timeout=5).ok


@pytest.mark.parametrize("spec", [{}, {"path": "("}, {"path": ".", "timeout": "soon"}])
def test_a_malformed_hold_is_400(server: SandboxServer, spec: dict[str, Any]) -> None:
    """A hold needs a valid path pattern; a bad pattern or timeout answers 400."""
    answer = requests.post(f"{server.url}/_sandbox/holds", json=spec, timeout=10)
    assert answer.status_code == 400
    assert requests.get(f"{server.url}/_sandbox/holds/999", timeout=10).status_code == 404
