"""Building blocks for the hand-built sandboxes: catalogue entries by name, a started server.

Hand-built portfolios share the generated portfolio's catalogue (the same ids and names) but
hold only the entries their tests need, in the order the tests expect them listed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from restrat_sandbox import catalogue
from restrat_sandbox.model import Portfolio
from restrat_sandbox.server import (
    RouteInstaller,
    SandboxApp,
    SandboxOptions,
    SandboxServer,
    SandboxState,
)

_T = TypeVar("_T")


def pick(items: Iterable[_T], key: Callable[[_T], str], names: Iterable[str]) -> dict[str, _T]:
    """``items`` by ``key``, only those ``names`` and in their order; a missing name fails."""
    table = {key(item): item for item in items}
    return {name: table[name] for name in names}


def install_catalogue(
    portfolio: Portfolio,
    *,
    projects: Iterable[str],
    issue_types: Iterable[str],
    statuses: Iterable[str],
    priorities: Iterable[str] = (),
    link_types: Iterable[str] = (),
) -> None:
    """Copy the named entries of the sandbox's catalogue into ``portfolio``."""
    portfolio.projects.update(pick(catalogue.PROJECTS, lambda p: p.key, projects))
    portfolio.issue_types.update(pick(catalogue.ISSUE_TYPES, lambda t: t.name, issue_types))
    portfolio.statuses.update(pick(catalogue.STATUSES, lambda s: s.name, statuses))
    portfolio.priorities.update(pick(catalogue.PRIORITIES, lambda p: p.name, priorities))
    portfolio.link_types.update(pick(catalogue.LINK_TYPES, lambda t: t.name, link_types))


@contextmanager
def serve(
    install: RouteInstaller,
    make_portfolio: Callable[[], Portfolio],
    portfolio: Portfolio | None = None,
    **options: Any,
) -> Iterator[SandboxServer]:
    """A started sandbox with only ``install``'s routes, around ``portfolio`` (or a fresh one).

    ``/_sandbox/reset`` starts over from ``make_portfolio()``.
    """
    state = SandboxState(
        options=SandboxOptions(**options),
        portfolio=portfolio or make_portfolio(),
        reset_portfolio=make_portfolio,
    )
    with SandboxServer(SandboxApp(state, [install])) as server:
        yield server
