"""Compile a parsed query, for one context, into a plain predicate and sort keys.

Every clause becomes a closure over pre-resolved values (a frozenset of model names, a UTC
bound...), so evaluating an issue is a few attribute reads and set lookups. Semantic problems
are collected in ``Env.errors`` rather than raised, so that a 400 lists all of them.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from typing import Any

from restrat_sandbox.jql._ast import (
    And,
    Clause,
    Empty,
    Function,
    ListOperand,
    Node,
    Not,
    SortItem,
    Value,
)
from restrat_sandbox.jql._env import Env
from restrat_sandbox.jql._errors import (
    ValueProblem,
    empty_text,
    empty_unsupported,
    empty_with_operator,
    field_missing,
    function_unsupported,
    list_unsupported,
    non_list_unsupported,
    not_sortable,
    operator_unsupported,
)
from restrat_sandbox.jql._fields import EMPTINESS, FieldSpec, Getter, Predicate, field_spec
from restrat_sandbox.jql._text import document, parse_term
from restrat_sandbox.model import Issue

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
# Jira's order when a query has none: newest first. Keys are unique, so this is total.
DEFAULT_ORDER = (SortItem("created", descending=True), SortItem("key", descending=True))


def _never(_issue: Issue) -> bool:
    return False


def _always(_issue: Issue) -> bool:
    return True


# -- boolean structure ---------------------------------------------------------------------------


def compile_where(env: Env, node: Node | None) -> Predicate:
    """The predicate for a WHERE tree; an absent tree matches everything."""
    if node is None:
        return _always
    if isinstance(node, Clause):
        return compile_clause(env, node)
    if isinstance(node, Not):
        inner = compile_where(env, node.child)
        return lambda issue: not inner(issue)
    parts = [compile_where(env, child) for child in node.children]
    return _all_of(parts) if isinstance(node, And) else _any_of(parts)


def _all_of(parts: list[Predicate]) -> Predicate:
    # Two-way closures beat all(generator) on 100k issues; halving keeps a generated chain of
    # thousands of clauses far from the recursion limit.
    if len(parts) == 1:
        return parts[0]
    left, right = _all_of(parts[: len(parts) // 2]), _all_of(parts[len(parts) // 2 :])
    return lambda issue: left(issue) and right(issue)


def _any_of(parts: list[Predicate]) -> Predicate:
    if len(parts) == 1:
        return parts[0]
    left, right = _any_of(parts[: len(parts) // 2]), _any_of(parts[len(parts) // 2 :])
    return lambda issue: left(issue) or right(issue)


# -- clauses -------------------------------------------------------------------------------------


def compile_clause(env: Env, clause: Clause) -> Predicate:
    """One ``field operator operand``; on a problem, records it and matches nothing."""
    spec = field_spec(clause.field)
    if spec is None:
        env.error(field_missing(clause.field))
        return _never
    if clause.operator not in spec.operators:
        env.error(operator_unsupported(clause.operator, clause.field))
        return _never
    try:
        return _dispatch(env, spec, clause)
    except ValueProblem as problem:
        env.error(str(problem))
        return _never


def _dispatch(env: Env, spec: FieldSpec, clause: Clause) -> Predicate:
    op, operand = clause.operator, clause.operand
    if op in EMPTINESS or (isinstance(operand, Empty) and op in ("=", "!=")):
        return _emptiness(env, spec, clause)
    if op in ("~", "!~"):
        return _contains(spec, clause)
    if op in _COMPARE:
        if isinstance(operand, Empty):
            raise ValueProblem(empty_with_operator(op, clause.field))
        if isinstance(operand, ListOperand):
            raise ValueProblem(list_unsupported(op, operand.raw, clause.field))
        assert spec.relational is not None  # every field allowing > has a comparison
        return spec.relational(env, clause.field, operand, _COMPARE[op])
    return _membership(env, spec, clause)


def _emptiness(env: Env, spec: FieldSpec, clause: Clause) -> Predicate:
    if not spec.operators >= EMPTINESS:
        raise ValueProblem(empty_unsupported(clause.field))
    get = spec.getter(env)
    if clause.operator in ("is not", "!="):
        if spec.multi:
            return lambda issue: bool(get(issue))
        return lambda issue: get(issue) is not None
    if spec.multi:
        return lambda issue: not get(issue)
    return lambda issue: get(issue) is None


def _contains(spec: FieldSpec, clause: Clause) -> Predicate:
    operand, text_of = clause.operand, spec.text
    if not isinstance(operand, Value) or text_of is None:
        raise ValueProblem(_not_a_value(clause))
    term = parse_term(operand.text)
    if term is None:
        raise ValueProblem(empty_text(clause.field))
    if term.is_void:
        found: Predicate = _never
    else:
        found = lambda issue: term.matches(document(text_of(issue)))  # noqa: E731
    if clause.operator == "!~":
        return lambda issue: not found(issue)
    return found


def _not_a_value(clause: Clause) -> str:
    operand = clause.operand
    if isinstance(operand, Function):
        return function_unsupported(operand.name, clause.field)
    if isinstance(operand, ListOperand):
        return list_unsupported(clause.operator, operand.raw, clause.field)
    return empty_with_operator(clause.operator, clause.field)


def _membership(env: Env, spec: FieldSpec, clause: Clause) -> Predicate:
    """``=``, ``!=``, ``IN`` and ``NOT IN``: one set lookup per issue."""
    op, operand = clause.operator, clause.operand
    if op in ("=", "!=") and isinstance(operand, ListOperand):
        raise ValueProblem(list_unsupported(op, operand.raw, clause.field))
    if op in ("in", "not in") and isinstance(operand, Value):
        raise ValueProblem(non_list_unsupported(op, operand.raw, clause.field))
    items = operand.items if isinstance(operand, ListOperand) else (operand,)
    with_empty = any(isinstance(item, Empty) for item in items)
    values = _resolve_all(env, spec, clause.field, items)
    if values is None:
        return _never
    if with_empty and not spec.operators >= EMPTINESS:
        raise ValueProblem(empty_unsupported(clause.field))
    get = spec.getter(env)
    if op in ("!=", "not in"):  # Jira: a negative operator never matches an empty field
        return _none_of(get, values, spec.multi)
    return _one_of(get, values, spec.multi, with_empty)


def _resolve_all(
    env: Env, spec: FieldSpec, field: str, items: Iterable[Value | Function | Empty]
) -> frozenset[Any] | None:
    """The union of what every item names; None (after recording why) if any is unknown."""
    assert spec.resolve is not None  # every field allowing = resolves values
    values: set[Any] = set()
    failed = False
    for item in items:
        if isinstance(item, Empty):
            continue
        try:
            values |= spec.resolve(env, field, item)
        except ValueProblem as problem:
            env.error(str(problem))
            failed = True
    return None if failed else frozenset(values)


def _one_of(get: Getter, values: frozenset[Any], multi: bool, with_empty: bool) -> Predicate:
    if multi and with_empty:
        return lambda issue: not (found := get(issue)) or not values.isdisjoint(found)
    if multi:
        return lambda issue: not values.isdisjoint(get(issue))
    if with_empty:
        return lambda issue: (found := get(issue)) is None or found in values
    return lambda issue: get(issue) in values


def _none_of(get: Getter, values: frozenset[Any], multi: bool) -> Predicate:
    if multi:
        return lambda issue: bool(found := get(issue)) and values.isdisjoint(found)
    return lambda issue: (found := get(issue)) is not None and found not in values


# -- ORDER BY ------------------------------------------------------------------------------------

SortKeys = list[tuple[Getter, bool]]


def compile_sort(env: Env, order_by: tuple[SortItem, ...]) -> SortKeys:
    """Sort keys for ORDER BY (or Jira's default), recording unknown or unsortable fields."""
    keys: SortKeys = []
    for item in order_by or DEFAULT_ORDER:
        spec = field_spec(item.field)
        if spec is None:
            env.error(field_missing(item.field))
        elif spec.sort_key is None:
            env.error(not_sortable(item.field))
        else:
            keys.append((spec.sort_key(env), item.descending))
    return keys


def sort_issues(keys: SortKeys, issues: Iterable[Issue]) -> list[Issue]:
    """Stable sorts: by issue id (the final tiebreak), then each run of keys sharing a direction.

    EMPTY sorts after every value, so it comes last in ASC and first in DESC, as in Jira.
    """
    ordered = sorted(issues, key=_by_id)
    for gets, descending in reversed(_runs(keys)):
        ordered.sort(key=_composite(gets), reverse=descending)
    return ordered


def _runs(keys: SortKeys) -> list[tuple[list[Getter], bool]]:
    """Consecutive keys with one direction sort in a single pass with a tuple key."""
    runs: list[tuple[list[Getter], bool]] = []
    for get, descending in keys:
        if runs and runs[-1][1] == descending:
            runs[-1][0].append(get)
        else:
            runs.append(([get], descending))
    return runs


def _by_id(issue: Issue) -> int:
    return issue.id


def _composite(gets: list[Getter]) -> Getter:
    if len(gets) == 1:
        (get,) = gets
        return lambda issue: ((value := get(issue)) is None, value)
    if len(gets) == 2:  # the default order and most ORDER BYs; a flat tuple is cheapest
        first, second = gets
        return lambda issue: ((a := first(issue)) is None, a, (b := second(issue)) is None, b)
    return lambda issue: tuple(((value := get(issue)) is None, value) for get in gets)
