"""What a correct sync must hold, computed independently from the sandbox's own data."""

from __future__ import annotations

from sqlalchemy import text

from restrat_sandbox import SandboxServer
from restrat_sandbox.jql import JqlContext, search
from restrat_sandbox.model import Portfolio
from restrat_sync.cache import Cache
from restrat_sync.config import LoadedConfig

Transitions = dict[str, list[tuple[int, str | None]]]


def expected_keys(server: SandboxServer, loaded: LoadedConfig) -> set[str]:
    """Every issue a mapping selects, plus every descendant of a theme anchor."""
    portfolio = server.state.portfolio
    ctx = JqlContext(portfolio, server.state.caller(), portfolio.now)
    selected: set[str] = set()
    anchors: set[str] = set()
    for mapping in loaded.mappings():
        keys = {issue.key for issue in search(ctx, mapping.jql.query)}
        selected |= keys
        if mapping.key.startswith("theme:"):
            anchors |= keys
    return selected | descendants(portfolio, anchors)


def descendants(portfolio: Portfolio, roots: set[str]) -> set[str]:
    children: dict[str, list[str]] = {}
    for issue in portfolio.issues.values():
        if issue.parent:
            children.setdefault(issue.parent, []).append(issue.key)
    found: set[str] = set()
    frontier = list(roots)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found


def sandbox_transitions(portfolio: Portfolio, keys: set[str]) -> Transitions:
    """(history id, new status) of every status change, oldest first."""
    return {
        key: [
            (history.id, item.to_string)
            for history in sorted(portfolio.issues[key].histories, key=lambda h: (h.created, h.id))
            for item in history.items
            if item.field == "status"
        ]
        for key in keys
    }


def cached_keys(cache: Cache) -> set[str]:
    with cache.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT key FROM issues WHERE deleted_at IS NULL AND out_of_scope_at IS NULL")
        )
        return {row[0] for row in rows}


def cached_transitions(cache: Cache) -> Transitions:
    query = text(
        "SELECT i.key, t.history_id, t.to_status FROM status_transitions t "
        "JOIN issues i ON i.id = t.issue_id ORDER BY i.key, t.at, t.history_id, t.item_index"
    )
    found: Transitions = {}
    with cache.engine.connect() as connection:
        for key, history_id, to_status in connection.execute(query):
            found.setdefault(key, []).append((int(history_id), to_status))
    return found


def cached_field(cache: Cache, key: str, column: str) -> object:
    allowed = {"status", "summary", "parent_key", "epic_link_key", "labels", "priority"}
    assert column in allowed
    with cache.engine.connect() as connection:
        row = connection.execute(
            text(f"SELECT {column} FROM issues WHERE key = :key"),  # noqa: S608 - allow-listed
            {"key": key},
        ).one()
        return row[0]
