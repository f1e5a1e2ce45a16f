"""The public entry points: parse once, compile per context, filter and sort."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from restrat_sandbox.jql._ast import Clause, Node, Not, ParsedQuery
from restrat_sandbox.jql._compile import (
    SortKeys,
    compile_sort,
    compile_where,
    sort_issues,
)
from restrat_sandbox.jql._env import Env, JqlContext
from restrat_sandbox.jql._errors import JqlError
from restrat_sandbox.jql._fields import Predicate
from restrat_sandbox.jql._parser import parse
from restrat_sandbox.jql._structure import structure
from restrat_sandbox.model import Issue


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A query bound to one context: the predicate, sort keys and semantic errors."""

    ctx: JqlContext
    predicate: Predicate
    sort_keys: SortKeys
    errors: tuple[str, ...]

    def serves(self, ctx: JqlContext) -> bool:
        # Not ctx == self.ctx: Portfolio equality would compare every issue.
        return ctx is self.ctx or (
            ctx.portfolio is self.ctx.portfolio
            and ctx.user == self.ctx.user
            and ctx.now == self.ctx.now
            and ctx.flavor == self.ctx.flavor
        )

    def check(self) -> None:
        if self.errors:
            raise JqlError(list(self.errors))


class JqlQuery:
    """A parsed JQL query. Compiled lazily per context; reuse it across pages of a search."""

    def __init__(self, text: str, parsed: ParsedQuery) -> None:
        self.text = text
        self.parsed = parsed
        self._compiled: CompiledQuery | None = None

    def __repr__(self) -> str:
        return f"JqlQuery({self.text!r})"

    @property
    def is_bounded(self) -> bool:
        """False without a WHERE clause (empty, or only ORDER BY): Cloud rejects those."""
        return self.parsed.where is not None

    def referenced_fields(self) -> tuple[str, ...]:
        """Field names as written, WHERE first then ORDER BY, each once."""
        names = [clause.field for clause in _clauses(self.parsed.where)]
        names += [item.field for item in self.parsed.order_by]
        return tuple(dict.fromkeys(names))

    def structure(self) -> dict[str, Any]:
        """The syntax tree in the shape of Jira Cloud's ``/jql/parse`` ``structure``."""
        return structure(self.parsed)

    def compile(self, ctx: JqlContext) -> CompiledQuery:
        """Resolve every value against ``ctx`` once; cached for the last context used."""
        cached = self._compiled
        if cached is not None and cached.serves(ctx):
            return cached
        env = Env(ctx)
        predicate = compile_where(env, self.parsed.where)
        sort_keys = compile_sort(env, self.parsed.order_by)
        self._compiled = CompiledQuery(ctx, predicate, sort_keys, tuple(env.errors))
        return self._compiled

    def matches(self, issue: Issue, ctx: JqlContext) -> bool:
        """Whether ``issue`` satisfies the WHERE clause; raises JqlError on semantic errors."""
        compiled = self.compile(ctx)
        compiled.check()
        return compiled.predicate(issue)

    def filter(self, issues: list[Issue], ctx: JqlContext) -> list[Issue]:
        """The issues that match, in their given order."""
        compiled = self.compile(ctx)
        compiled.check()
        return [issue for issue in issues if compiled.predicate(issue)]

    def sort(self, issues: list[Issue], ctx: JqlContext) -> list[Issue]:
        """A new list in ORDER BY order; without ORDER BY, ``created DESC, key DESC``.

        Ties are broken by issue id (ascending), so the order is always deterministic.
        """
        compiled = self.compile(ctx)
        compiled.check()
        return sort_issues(compiled.sort_keys, issues)


def _clauses(node: Node | None) -> list[Clause]:
    if node is None:
        return []
    if isinstance(node, Clause):
        return [node]
    children = (node.child,) if isinstance(node, Not) else node.children
    return [clause for child in children for clause in _clauses(child)]


def parse_jql(text: str) -> JqlQuery:
    """Parse JQL; raises JqlError with Jira's syntax message."""
    return JqlQuery(text, _parse_cached(text))


@lru_cache(maxsize=512)
def _parse_cached(text: str) -> ParsedQuery:
    # Only the immutable tree is shared: a shared JqlQuery would keep its last compiled
    # context, and with it a possibly discarded portfolio, alive.
    return parse(text)


def validate_fields(query: JqlQuery, ctx: JqlContext) -> list[str]:
    """Semantic errors Jira would report: unknown fields, values, operators, dates."""
    return list(query.compile(ctx).errors)


def search(ctx: JqlContext, jql: str) -> list[Issue]:
    """Run ``jql`` over the portfolio: parse, validate (raising every message), filter, sort."""
    query = parse_jql(jql)
    with ctx.portfolio.lock:  # a snapshot: writers may add issues while we filter
        issues = list(ctx.portfolio.issues.values())
    return query.sort(query.filter(issues, ctx), ctx)
