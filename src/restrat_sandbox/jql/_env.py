"""The context a query runs in, and the per-context lookups compiled queries share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from restrat_sandbox.model import Portfolio, User

_T = TypeVar("_T")


# eq=False: identity semantics; field equality would compare whole portfolios.
@dataclass(frozen=True, eq=False)
class JqlContext:
    """Who asks and when: literals and relative dates are read in ``user.time_zone``."""

    portfolio: Portfolio
    user: User  # the caller: currentUser(), and the zone dates are read in
    now: datetime  # aware UTC; the origin of -7d, startOfDay() ...
    # On Data Center, `parent` relates only sub-tasks to their parents; Epic Link and Parent
    # Link carry the levels above. On Cloud, `parent` is every level's link.
    flavor: str = "cloud"

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("JqlContext.now must be an aware datetime")


class Env:
    """One compilation: the context, its catalogues pre-indexed once, and collected errors."""

    def __init__(self, ctx: JqlContext) -> None:
        self.portfolio = ctx.portfolio
        self.user = ctx.user
        self.now = ctx.now
        self.flavor = ctx.flavor
        self.zone = ZoneInfo(ctx.user.time_zone)
        self.errors: list[str] = []
        self._memo: dict[Callable[[Env], Any], Any] = {}

    def error(self, message: str) -> None:
        if message not in self.errors:  # Jira lists each distinct problem once
            self.errors.append(message)

    def memo(self, build: Callable[[Env], _T]) -> _T:
        """``build(self)``, computed once per compilation (catalogue indexes and the like)."""
        if build not in self._memo:
            self._memo[build] = build(self)
        value: _T = self._memo[build]
        return value

    @cached_property
    def levels(self) -> dict[str, int]:
        """Issue type name -> hierarchy level."""
        return {t.name: t.hierarchy_level for t in self.portfolio.issue_types.values()}

    @cached_property
    def priority_rank(self) -> dict[str, int]:
        """Priority name -> rank, larger is more urgent.

        ``Portfolio.priorities`` is kept most urgent first, as Jira lists its priority scheme.
        """
        names = list(self.portfolio.priorities)
        return {name: len(names) - index for index, name in enumerate(names)}

    @cached_property
    def users_by_alias(self) -> dict[str, frozenset[str]]:
        """Casefolded account id, username, display name or e-mail -> account ids."""
        found: dict[str, set[str]] = {}
        for user in self.portfolio.users.values():
            for alias in (user.account_id, user.name, user.display_name, user.email):
                found.setdefault(alias.casefold(), set()).add(user.account_id)
        return {alias: frozenset(ids) for alias, ids in found.items()}

    def level_of_key(self, key: str) -> int | None:
        issue = self.portfolio.issues.get(key)
        return None if issue is None else self.levels.get(issue.issuetype)
