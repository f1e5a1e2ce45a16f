"""`--dataset FILE`: an export taken through the REST API replays to the same answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from restrat_sandbox import DEFAULT_TOKEN, DEFAULT_USER, SandboxOptions, create_sandbox
from tests.e2e.conftest import NOW

AUTH = (DEFAULT_USER, DEFAULT_TOKEN)
JQL = "project in (PORT, PAY, MOB, DATA, OPS) ORDER BY key ASC"


def export(url: str) -> dict[str, Any]:
    """Every issue with all fields, full changelog and field names, as DC's search returns."""
    issues: list[Any] = []
    names: dict[str, str] = {}
    while True:
        params = {
            "jql": JQL,
            "fields": "*all",
            "expand": "changelog,names",
            "startAt": len(issues),
            "maxResults": 1000,
        }
        page = requests.get(f"{url}/rest/api/2/search", params=params, auth=AUTH, timeout=30)
        page.raise_for_status()
        body = page.json()
        issues += body["issues"]
        names.update(body.get("names", {}))
        if len(issues) >= body["total"]:
            return {"issues": issues, "names": names}


def answers(url: str, jql: str) -> list[tuple[str, str, str | None, int]]:
    params = {
        "jql": jql,
        "fields": "status,updated,customfield_10100",
        "expand": "changelog",
        "maxResults": 1000,
    }
    body = requests.get(f"{url}/rest/api/2/search", params=params, auth=AUTH, timeout=30).json()
    return [
        (
            i["key"],
            i["fields"]["status"]["name"],
            i["fields"].get("customfield_10100"),
            len(i["changelog"]["histories"]),
        )
        for i in body["issues"]
    ]


@pytest.mark.parametrize(
    "jql",
    [
        JQL,
        "statusCategory = Done AND labels = checkout ORDER BY updated DESC",
        '"Epic Link" is not EMPTY ORDER BY key ASC',
    ],
)
def test_exported_portfolio_replays_identically(tmp_path: Path, jql: str) -> None:
    """Issues, statuses, Epic Links and changelogs survive an export and a replay."""
    original = create_sandbox(SandboxOptions(flavor="datacenter"), "small", NOW)
    with original:
        dump = tmp_path / "export.json"
        dump.write_text(json.dumps(export(original.url)), encoding="utf-8")
        expected = answers(original.url, jql)
    replay = create_sandbox(SandboxOptions(flavor="datacenter"), str(dump))
    with replay:
        assert answers(replay.url, jql) == expected
    assert len(expected) > 0
