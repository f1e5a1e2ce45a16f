"""The JQL fields the sandbox knows: operators, how each reads an Issue, resolves and sorts.

Field names are case-insensitive. Aliases follow Jira: ``type`` = ``issuetype``; ``key``,
``issuekey`` and ``id`` are one clause (values may be keys or numeric ids); ``due`` =
``duedate``; ``resolved`` = ``resolutiondate``. Negative operators (``!=``, ``NOT IN``) never
match an empty field, as in Jira: ``assignee != bob`` leaves out unassigned issues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

from restrat_sandbox.jql import _resolve as r
from restrat_sandbox.jql._ast import Atom, Value
from restrat_sandbox.jql._env import Env
from restrat_sandbox.model import Issue

Getter = Callable[[Issue], Any]
Predicate = Callable[[Issue], bool]
Compare = Callable[[Any, Any], bool]
Relational = Callable[[Env, str, Atom, Compare], Predicate]

EQUALITY = frozenset({"=", "!=", "in", "not in"})
EMPTINESS = frozenset({"is", "is not"})
ORDERING = frozenset({">", ">=", "<", "<="})
CONTAINS = frozenset({"~", "!~"})


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """How one field behaves. ``getter`` returns the value, None when empty (a list if multi)."""

    operators: frozenset[str]
    getter: Callable[[Env], Getter]
    resolve: r.Resolver | None = None  # for =, !=, IN, NOT IN
    multi: bool = False
    relational: Relational | None = None  # for >, >=, <, <=
    text: Getter | None = None  # the text ``~`` searches
    sort_key: Callable[[Env], Getter] | None = None  # None: not sortable


@lru_cache(maxsize=1 << 18)
def key_order(key: str) -> tuple[str, int]:
    """PAY-10 sorts after PAY-9: project, then the number."""
    project, _, number = key.rpartition("-")
    return project, int(number) if number.isdigit() else 0


def _fixed(getter: Getter) -> Callable[[Env], Getter]:
    return lambda _env: getter


def _ordered(getter: Callable[[Env], Getter], bound: Callable[[Env, str, Atom], Any]) -> Relational:
    def build(env: Env, field: str, atom: Atom, compare: Compare) -> Predicate:
        get, limit = getter(env), bound(env, field, atom)
        return lambda issue: (value := get(issue)) is not None and compare(value, limit)

    return build


def _key_relational(env: Env, field: str, atom: Atom, compare: Compare) -> Predicate:
    """``key > PAY-5``: same project, higher number; ``id > 10005``: higher issue id."""
    (key,) = r.issue_key(env, field, atom)
    if isinstance(atom, Value) and atom.text.strip().isdigit():
        limit = int(atom.text.strip())
        return lambda issue: compare(issue.id, limit)
    project, number = key_order(key)
    return lambda issue: issue.project == project and compare(issue.number, number)


# -- getters and sort keys that need the context --------------------------------------------------


def _priority_rank(env: Env) -> Getter:
    rank = env.priority_rank
    return lambda issue: rank.get(issue.priority)


def _priority_bound(env: Env, field: str, atom: Atom) -> int:
    (name,) = r.catalogue(r.priority_index)(env, field, atom)
    return env.priority_rank[name]


def _epic_link(env: Env) -> Getter:
    """Epic Link: the parent of a level-0 issue when that parent is an epic (level 1)."""
    levels, level_of_key = env.levels, env.level_of_key

    def get(issue: Issue) -> str | None:
        if issue.parent is None or levels.get(issue.issuetype) != 0:
            return None
        return issue.parent if level_of_key(issue.parent) == 1 else None

    return get


def _parent(env: Env) -> Getter:
    """parent: any level on Cloud; on Data Center only a sub-task's parent."""
    if env.flavor == "cloud":
        return attrgetter("parent")
    levels = env.levels
    return lambda issue: issue.parent if levels.get(issue.issuetype) == -1 else None


def _parent_link(env: Env) -> Getter:
    """Parent Link (Advanced Roadmaps): the parent of an epic or anything above it."""
    levels = env.levels
    return lambda issue: issue.parent if levels.get(issue.issuetype, 0) >= 1 else None


def _key_sort(getter: Callable[[Env], Getter]) -> Callable[[Env], Getter]:
    def sort_key(env: Env) -> Getter:
        get = getter(env)
        return lambda issue: None if (key := get(issue)) is None else key_order(key)

    return sort_key


def _project_name(env: Env) -> Getter:
    names = {key: p.name.casefold() for key, p in env.portfolio.projects.items()}
    return lambda issue: names.get(issue.project, issue.project.casefold())


def _user_name(attribute: str) -> Callable[[Env], Getter]:
    """Users sort by display name, as Jira's user columns do."""

    def sort_key(env: Env) -> Getter:
        names = {a: u.display_name.casefold() for a, u in env.portfolio.users.items()}
        get = attrgetter(attribute)
        return lambda issue: None if (a := get(issue)) is None else names.get(a, a.casefold())

    return sort_key


def _category_order(env: Env) -> Getter:
    """To Do, then In Progress, then Done."""
    order = {key: position for position, key in enumerate(("new", "indeterminate", "done"))}
    by_status = {s.name: order.get(s.category) for s in env.portfolio.statuses.values()}
    return lambda issue: by_status.get(issue.status)


def _folded(attribute: str) -> Callable[[Env], Getter]:
    get = attrgetter(attribute)
    return _fixed(lambda issue: get(issue).casefold())


def _labels(issue: Issue) -> list[str]:
    return [label.casefold() for label in issue.labels]


def _versions(issue: Issue) -> list[tuple[str, str]]:
    return [(issue.project, name) for name in issue.fix_versions]


def _sorted_list(get: Getter) -> Callable[[Env], Getter]:
    return _fixed(lambda issue: tuple(sorted(get(issue))) or None)


def _all_text(issue: Issue) -> str:
    return " ".join([issue.summary, *issue.labels])


# -- the registry -------------------------------------------------------------------------------


def _catalogue_field(
    attribute: str, resolve: r.Resolver, sort_key: Callable[[Env], Getter]
) -> FieldSpec:
    return FieldSpec(
        EQUALITY | EMPTINESS, _fixed(attrgetter(attribute)), resolve, sort_key=sort_key
    )


def _date_field(attribute: str, resolve: r.Resolver, bound: Callable[..., Any]) -> FieldSpec:
    getter = _fixed(attrgetter(attribute))
    relational = _ordered(getter, bound)
    operators = EQUALITY | EMPTINESS | ORDERING
    sort_key = _fixed(_as_number(attrgetter(attribute)))
    return FieldSpec(operators, getter, resolve, relational=relational, sort_key=sort_key)


def _as_number(get: Getter) -> Getter:
    """Dates as numbers for sorting: comparing aware datetimes is several times slower."""

    def number(issue: Issue) -> float | None:
        value = get(issue)
        if isinstance(value, datetime):
            return value.timestamp()
        return None if value is None else float(value.toordinal())

    return number


def _issue_link_field(getter: Callable[[Env], Getter], operators: frozenset[str]) -> FieldSpec:
    return FieldSpec(operators, getter, r.issue_key, sort_key=_key_sort(getter))


def _build_registry() -> dict[str, FieldSpec]:
    issue_types = {"standardissuetypes": r.standard_issue_types}
    issue_types["subtaskissuetypes"] = r.subtask_issue_types
    versions = {
        "releasedversions": r.versions_released(True),
        "unreleasedversions": r.versions_released(False),
    }
    user = r.catalogue(r.user_index, {"currentuser": r.current_user})
    key = _fixed(attrgetter("key"))
    return {
        "project": _catalogue_field("project", r.catalogue(r.project_index), _project_name),
        "issuetype": _catalogue_field(
            "issuetype", r.catalogue(r.issue_type_index, issue_types), _folded("issuetype")
        ),
        "status": _catalogue_field("status", r.catalogue(r.status_index), _folded("status")),
        "statuscategory": FieldSpec(
            EQUALITY,
            _fixed(attrgetter("status")),
            r.catalogue(r.category_index),
            sort_key=_category_order,
        ),
        "priority": FieldSpec(
            EQUALITY | EMPTINESS | ORDERING,
            _fixed(attrgetter("priority")),
            r.catalogue(r.priority_index),
            relational=_ordered(_priority_rank, _priority_bound),
            sort_key=_priority_rank,
        ),
        "key": FieldSpec(
            EQUALITY | ORDERING,
            key,
            r.issue_key,
            relational=_key_relational,
            sort_key=_key_sort(key),
        ),
        "parent": _issue_link_field(_parent, EQUALITY),
        "epic link": _issue_link_field(_epic_link, EQUALITY | EMPTINESS),
        "parent link": _issue_link_field(_parent_link, EQUALITY | EMPTINESS),
        "assignee": _catalogue_field("assignee", user, _user_name("assignee")),
        "reporter": _catalogue_field("reporter", user, _user_name("reporter")),
        "created": _date_field("created", r.instants, r.instant),
        "updated": _date_field("updated", r.instants, r.instant),
        "resolutiondate": _date_field("resolutiondate", r.instants, r.instant),
        "duedate": _date_field("duedate", r.days, r.day),
        "labels": FieldSpec(
            EQUALITY | EMPTINESS,
            _fixed(_labels),
            r.label,
            multi=True,
            sort_key=_sorted_list(_labels),
        ),
        "fixversion": FieldSpec(
            EQUALITY | EMPTINESS,
            _fixed(_versions),
            r.catalogue(r.version_index, versions),
            multi=True,
            sort_key=_sorted_list(attrgetter("fix_versions")),
        ),
        "summary": FieldSpec(
            CONTAINS | EMPTINESS,
            _fixed(attrgetter("summary")),
            text=attrgetter("summary"),
            sort_key=_folded("summary"),
        ),
        "text": FieldSpec(frozenset({"~"}), _fixed(_all_text), text=_all_text),
    }


_ALIASES = {
    "type": "issuetype",
    "issuekey": "key",
    "due": "duedate",
    "resolved": "resolutiondate",
    "createddate": "created",
    "updateddate": "updated",
}
FIELDS = _build_registry()
# ``id`` is the key clause under another name, except that it sorts by the numeric id.
FIELDS["id"] = replace(FIELDS["key"], sort_key=_fixed(attrgetter("id")))


def field_spec(name: str) -> FieldSpec | None:
    """The spec for a field name as written in a query (any case, alias or quoted)."""
    folded = name.casefold()
    return FIELDS.get(_ALIASES.get(folded, folded))
