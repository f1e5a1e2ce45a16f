"""A local Jira + Confluence stand-in that speaks their real REST APIs, quirks included.

``create_sandbox`` builds a server around a generated (or replayed) portfolio; the demo, the
end-to-end tests and the benchmarks all start one on loopback.
"""

from __future__ import annotations

from datetime import datetime

from restrat_sandbox.model import Portfolio
from restrat_sandbox.server import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    FLAVORS,
    SandboxApp,
    SandboxOptions,
    SandboxServer,
    SandboxState,
)

__all__ = [
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "FLAVORS",
    "SandboxOptions",
    "SandboxServer",
    "create_sandbox",
]


def create_sandbox(
    options: SandboxOptions, dataset: str = "small", now: datetime | None = None
) -> SandboxServer:
    """A sandbox serving ``dataset`` (small, medium, large or a JSON file path); not started."""
    # Imported here so that `restrat-sync --help` does not load the whole sandbox.
    from restrat_sandbox.confluence_api import install_confluence_routes
    from restrat_sandbox.dataset import load_dataset
    from restrat_sandbox.jira_api import install_jira_routes

    def load() -> Portfolio:
        return load_dataset(dataset, seed=options.seed, now=now)

    state = SandboxState(options=options, portfolio=load(), reset_portfolio=load)
    app = SandboxApp(state, [install_jira_routes, install_confluence_routes])
    return SandboxServer(app)
