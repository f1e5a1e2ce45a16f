"""End-to-end fixtures: a sandbox per flavour, on loopback, over real HTTP."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sandbox.demo import sandbox_settings
from restrat_sync.settings import Settings

NOW = datetime(2026, 11, 22, tzinfo=UTC)  # fixed, so every run sees the same portfolio


@pytest.fixture(scope="module", params=["cloud", "datacenter"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A started sandbox with the small dataset, one per flavour."""
    server = create_sandbox(SandboxOptions(flavor=request.param, port=0), "small", NOW)
    with server:
        yield server


def settings_for(server: SandboxServer, workdir: Path, token: str | None = None) -> Settings:
    """The demo's settings for ``server``, optionally with another token."""
    settings = sandbox_settings(server, workdir)
    if token is None:
        return settings
    return settings.model_copy(update={"jira_token": SecretStr(token)})


def point_at(server: SandboxServer, config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the environment (config, cache, Jira and Confluence URLs, credentials) at
    ``server``, as a user's shell would be."""
    options = server.state.options
    monkeypatch.setenv("RESTRAT_CONFIG", str(config_dir / "config" / "restrat.yaml"))
    monkeypatch.setenv("RESTRAT_DATABASE_URL", f"sqlite:///{config_dir / 'cache.db'}")
    monkeypatch.setenv("RESTRAT_JIRA_URL", server.url)
    monkeypatch.setenv("RESTRAT_JIRA_USER", options.user)
    monkeypatch.setenv("RESTRAT_JIRA_TOKEN", options.token)
    monkeypatch.setenv("RESTRAT_CONFLUENCE_URL", f"{server.url}/wiki")


def transition(server: SandboxServer, key: str, status: str) -> None:
    """Move issue ``key`` into ``status`` through the sandbox's Jira API, as a user would."""
    http = requests.Session()
    http.auth = (server.state.options.user, server.state.options.token)
    api = f"{server.url}/rest/api/2/issue/{key}/transitions"
    moves = http.get(api, timeout=10).json()["transitions"]
    move = next(t for t in moves if t["to"]["name"] == status)
    http.post(api, json={"transition": {"id": move["id"]}}, timeout=10).raise_for_status()


def sync_env(server: SandboxServer, config: Path, database: Path) -> dict[str, str]:
    """The environment of a `restrat-sync sync` process: ``config``, a SQLite cache at
    ``database`` and ``server``'s Jira."""
    options = server.state.options
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTRAT_")}
    env.update(
        RESTRAT_CONFIG=str(config),
        RESTRAT_DATABASE_URL=f"sqlite:///{database}",
        RESTRAT_JIRA_URL=server.url,
        RESTRAT_JIRA_USER=options.user,
        RESTRAT_JIRA_TOKEN=options.token,
    )
    return env


def sync_command() -> list[str]:
    return [sys.executable, "-m", "restrat_sync", "sync"]
