"""The parsed shape of a JQL query: a boolean tree of clauses plus an ORDER BY list."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Value:
    """A literal operand: a bare word or a quoted string (``quoted`` keeps which)."""

    text: str
    quoted: bool
    raw: str


@dataclass(frozen=True, slots=True)
class Function:
    """A function operand such as ``currentUser()`` or ``startOfMonth(-1)``."""

    name: str
    args: tuple[str, ...]
    raw: str


@dataclass(frozen=True, slots=True)
class Empty:
    """``EMPTY`` or ``NULL``."""

    raw: str


Atom = Value | Function


@dataclass(frozen=True, slots=True)
class ListOperand:
    """``(a, "b c", currentUser(), EMPTY)``."""

    items: tuple[Value | Function | Empty, ...]
    raw: str


Operand = Value | Function | Empty | ListOperand


@dataclass(frozen=True, slots=True)
class Clause:
    """``field operator operand``; ``operator`` is lower-case: =, !=, in, not in, is, is not..."""

    field: str
    operator: str
    operand: Operand


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortItem:
    field: str
    descending: bool


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    where: Node | None
    order_by: tuple[SortItem, ...]
