"""A parsed query as Jira Cloud's ``/jql/parse`` returns it (the ``JqlQuery`` schema)."""

from __future__ import annotations

import re
from typing import Any

from restrat_sandbox.jql._ast import (
    And,
    Clause,
    Empty,
    Function,
    Node,
    Not,
    Operand,
    ParsedQuery,
    Value,
)
from restrat_sandbox.jql._parser import KEYWORDS, RESERVED_WORDS

Json = dict[str, Any]
_PLAIN = re.compile(r"[^\s\"'(),=!<>~&|{}*/%+^$#@?;\[\]\\]+")


def encode(text: str) -> str:
    """``text`` as it can be pasted back into JQL: bare when safe, else double-quoted."""
    lowered = text.lower()
    plain = _PLAIN.fullmatch(text) and lowered not in KEYWORDS | RESERVED_WORDS
    if plain and lowered not in ("empty", "null"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def structure(parsed: ParsedQuery) -> Json:
    """``{"where": clause, "orderBy": {"fields": [...]}}``, each part present when used."""
    out: Json = {}
    if parsed.where is not None:
        out["where"] = _node(parsed.where)
    if parsed.order_by:
        out["orderBy"] = {
            "fields": [
                {"field": _field(item.field), "direction": "desc" if item.descending else "asc"}
                for item in parsed.order_by
            ]
        }
    return out


def _field(name: str) -> Json:
    return {"name": name, "encodedName": encode(name)}


def _node(node: Node) -> Json:
    if isinstance(node, Clause):
        return {
            "field": _field(node.field),
            "operator": node.operator,
            "operand": _operand(node.operand),
        }
    if isinstance(node, Not):
        return {"clauses": [_node(node.child)], "operator": "not"}
    operator = "and" if isinstance(node, And) else "or"
    return {"clauses": [_node(child) for child in node.children], "operator": operator}


def _operand(operand: Operand) -> Json:
    if isinstance(operand, Value):
        return {"value": operand.text, "encodedValue": encode(operand.text)}
    if isinstance(operand, Function):
        return {
            "function": operand.name,
            "arguments": list(operand.args),
            "encodedOperand": operand.raw,
        }
    if isinstance(operand, Empty):
        return {"keyword": "empty"}
    return {"values": [_operand(item) for item in operand.items], "encodedOperand": operand.raw}
