"""Running sandboxes the sandbox tests share, one per test module (they are module-scoped).

Jira: the hand-built portfolio of ``jira_fixtures`` in each flavour. Confluence: the small
portfolio of ``confluence_fixtures``, with a ``wiki`` client that starts from a reset site.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from tests.sandbox.confluence_fixtures import Wiki, confluence_sandbox, reset
from tests.sandbox.jira_fixtures import running_sandbox, session


@pytest.fixture(scope="module")
def jira_cloud() -> Iterator[SandboxServer]:
    with running_sandbox("cloud") as server:
        yield server


@pytest.fixture(scope="module")
def jira_dc() -> Iterator[SandboxServer]:
    with running_sandbox("datacenter") as server:
        yield server


@pytest.fixture(scope="module")
def jira_servers(jira_cloud: SandboxServer, jira_dc: SandboxServer) -> dict[str, SandboxServer]:
    """Both Jira flavours, by flavour name."""
    return {"cloud": jira_cloud, "datacenter": jira_dc}


@pytest.fixture(scope="module")
def http() -> requests.Session:
    """A JSON session authenticated as the sandbox's user."""
    return session()


@pytest.fixture(scope="module")
def confluence_server() -> Iterator[SandboxServer]:
    with confluence_sandbox() as server:
        yield server


@pytest.fixture
def wiki(confluence_server: SandboxServer) -> Iterator[Wiki]:
    """A client for the Confluence sandbox, whose pages are reset first."""
    reset(confluence_server)
    client = Wiki(confluence_server.url)
    yield client
    client.close()
