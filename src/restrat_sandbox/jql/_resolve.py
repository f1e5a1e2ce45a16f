"""Operands to field values, resolved once per compilation against the portfolio's catalogues.

A resolver turns one operand (a value or a function call) into the set of values the field
holds in the model: ``status = "en COURS"`` becomes ``{"En cours"}``, ``statusCategory = Done``
becomes the names of every done-category status, ``assignee = currentUser()`` the caller's
account id. Evaluating a clause is then a set lookup per issue, with no per-issue normalising.
Unknown values raise ``ValueProblem`` with Jira's message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from restrat_sandbox.jql._ast import Atom, Function
from restrat_sandbox.jql._dates import (
    date_function,
    is_date_function,
    parse_day,
    parse_instant,
)
from restrat_sandbox.jql._env import Env
from restrat_sandbox.jql._errors import (
    ValueProblem,
    bad_date,
    bad_issue_key,
    function_arity,
    function_missing,
    function_unsupported,
    issue_missing,
    value_missing,
)
from restrat_sandbox.model import STATUS_CATEGORIES

Resolver = Callable[[Env, str, Atom], frozenset[Any]]
FunctionTable = Mapping[str, Callable[[Env, Function], frozenset[Any]]]
Index = dict[str, frozenset[Any]]

_ISSUE_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*-\d+", re.ASCII)
# Functions some field accepts; naming one on the wrong field is "not supported", not unknown.
_OTHER_FUNCTIONS = frozenset(
    {
        "currentuser",
        "standardissuetypes",
        "subtaskissuetypes",
        "releasedversions",
        "unreleasedversions",
    }
)


def call(env: Env, field: str, function: Function, table: FunctionTable) -> frozenset[Any]:
    """Run ``function`` if ``field`` accepts it, else raise Jira's complaint."""
    handler = table.get(function.name.lower())
    if handler is not None:
        return handler(env, function)
    known = function.name.lower() in _OTHER_FUNCTIONS or is_date_function(function.name)
    message = function_unsupported if known else _missing
    raise ValueProblem(message(function.name, field))


def _missing(name: str, _field: str) -> str:
    return function_missing(name)


def _no_arguments(function: Function) -> None:
    if function.args:
        raise ValueProblem(function_arity(function.name, "'0'", len(function.args)))


def _index(entries: Iterable[tuple[Iterable[str], Hashable]]) -> Index:
    """Casefolded aliases -> the model values they name (several when names repeat)."""
    found: dict[str, set[Hashable]] = {}
    for aliases, value in entries:
        for alias in aliases:
            found.setdefault(alias.casefold(), set()).add(value)
    return {alias: frozenset(values) for alias, values in found.items()}


def catalogue(index: Callable[[Env], Index], functions: FunctionTable | None = None) -> Resolver:
    """A resolver looking values up by casefolded name, id or other alias."""
    table = functions or {}

    def resolve(env: Env, field: str, atom: Atom) -> frozenset[Any]:
        if isinstance(atom, Function):
            return call(env, field, atom, table)
        found = env.memo(index).get(atom.text.casefold())
        if found is None:
            raise ValueProblem(value_missing(atom.text, field))
        return found

    return resolve


# -- catalogue indexes ---------------------------------------------------------------------------


def project_index(env: Env) -> Index:
    return _index(((p.key, p.name, p.id), p.key) for p in env.portfolio.projects.values())


def issue_type_index(env: Env) -> Index:
    return _index(((t.name, t.id), t.name) for t in env.portfolio.issue_types.values())


def status_index(env: Env) -> Index:
    return _index(((s.name, s.id), s.name) for s in env.portfolio.statuses.values())


def priority_index(env: Env) -> Index:
    return _index(((p.name, p.id), p.name) for p in env.portfolio.priorities.values())


def user_index(env: Env) -> Index:
    return env.users_by_alias


def category_index(env: Env) -> Index:
    """Category key, name or id -> names of the statuses in it (evaluation tests status only)."""
    statuses = env.portfolio.statuses.values()
    return {
        alias.casefold(): frozenset(s.name for s in statuses if s.category == key)
        for key, (category_id, name, _) in STATUS_CATEGORIES.items()
        for alias in (key, name, str(category_id))
    }


def version_index(env: Env) -> Index:
    """Version name or id -> (project, name) pairs; a name can exist in several projects."""
    versions = env.portfolio.versions.values()
    return _index(((v.name, v.id), (v.project, v.name)) for v in versions)


# -- functions -----------------------------------------------------------------------------------


def current_user(env: Env, function: Function) -> frozenset[Any]:
    _no_arguments(function)
    return frozenset({env.user.account_id})


def standard_issue_types(env: Env, function: Function) -> frozenset[Any]:
    _no_arguments(function)
    return frozenset(name for name, level in env.levels.items() if level >= 0)


def subtask_issue_types(env: Env, function: Function) -> frozenset[Any]:
    _no_arguments(function)
    return frozenset(name for name, level in env.levels.items() if level < 0)


def versions_released(released: bool) -> Callable[[Env, Function], frozenset[Any]]:
    """``releasedVersions(PAY, ...)``: released versions, of the named projects if any."""

    def versions(env: Env, function: Function) -> frozenset[Any]:
        projects: set[str] = set()
        for argument in function.args:
            found = env.memo(project_index).get(argument.casefold())
            if found is None:
                raise ValueProblem(value_missing(argument, "project"))
            projects |= found
        return frozenset(
            (v.project, v.name)
            for v in env.portfolio.versions.values()
            if v.released == released and (not projects or v.project in projects)
        )

    return versions


# -- labels, issue keys, dates -------------------------------------------------------------------


def label(env: Env, field: str, atom: Atom) -> frozenset[Any]:
    """Labels are free text: any value is valid; compared casefolded."""
    if isinstance(atom, Function):
        return call(env, field, atom, {})
    return frozenset({atom.text.casefold()})


def issue_key(env: Env, field: str, atom: Atom) -> frozenset[Any]:
    """An existing issue's key, from a key (any case) or a numeric issue id."""
    if isinstance(atom, Function):
        return call(env, field, atom, {})
    text = atom.text.strip()
    if text.isascii() and text.isdigit():
        found = env.portfolio.find_issue(text)
        if found is None:
            raise ValueProblem(issue_missing(text, field))
        return frozenset({found.key})
    key = text.upper()
    if not _ISSUE_KEY.fullmatch(text) or key.rpartition("-")[0] not in env.portfolio.projects:
        raise ValueProblem(bad_issue_key(text, field))
    if key not in env.portfolio.issues:
        raise ValueProblem(issue_missing(text, field))
    return frozenset({key})


def instant(env: Env, field: str, atom: Atom) -> datetime:
    """The aware UTC instant a date operand means for the caller."""
    if isinstance(atom, Function):
        if not is_date_function(atom.name):
            call(env, field, atom, {})  # raises the right complaint
        return date_function(atom.name, atom.args, env.now, env.zone)
    found = parse_instant(atom.text, env.now, env.zone)
    if found is None:
        raise ValueProblem(bad_date(atom.text, field))
    return found


def day(env: Env, field: str, atom: Atom) -> date:
    """The calendar day (in the caller's zone) a date operand means, for date-only fields."""
    if isinstance(atom, Function):
        return instant(env, field, atom).astimezone(env.zone).date()
    found = parse_day(atom.text, env.now, env.zone)
    if found is None:
        raise ValueProblem(bad_date(atom.text, field))
    return found


def instants(env: Env, field: str, atom: Atom) -> frozenset[Any]:
    return frozenset({instant(env, field, atom)})


def days(env: Env, field: str, atom: Atom) -> frozenset[Any]:
    return frozenset({day(env, field, atom)})
