"""The one JQL exception and the Jira wording of every message it carries.

``JqlError`` holds Jira-like ``errorMessages``: a syntax error is a single message ending in
``(line L, character C)``; semantic errors (unknown field, value, operator, date) are collected
so that one 400 response lists them all, as Jira does.
"""

from __future__ import annotations

VALID_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
DATE_FORMATS = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
    "or a period format e.g. '-5d', '4w 2d'."
)


class JqlError(Exception):
    """A query Jira would answer with 400; ``messages`` are its ``errorMessages``."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class ValueProblem(Exception):
    """Internal: one semantic problem, carrying Jira's message; collected into JqlError."""


def syntax_error(detail: str, line: int, column: int) -> JqlError:
    """A parse error, positioned like Jira's: 1-based line and 1-based character in that line."""
    return JqlError([f"Error in the JQL Query: {detail} (line {line}, character {column})"])


def field_missing(field: str) -> str:
    return f"Field '{field}' does not exist or you do not have permission to view it."


def value_missing(value: str, field: str) -> str:
    return f"The value '{value}' does not exist for the field '{field}'."


def operator_unsupported(operator: str, field: str) -> str:
    return f"The operator '{operator}' is not supported by the '{field}' field."


def empty_unsupported(field: str) -> str:
    return f"The field '{field}' does not support searching for EMPTY values."


def empty_with_operator(operator: str, field: str) -> str:
    return (
        f"The operator '{operator}' does not support searching for EMPTY values "
        f"for field '{field}'."
    )


def list_unsupported(operator: str, operand: str, field: str) -> str:
    return (
        f"The operator '{operator}' does not support the list value '{operand}' "
        f"for field '{field}'."
    )


def non_list_unsupported(operator: str, operand: str, field: str) -> str:
    return (
        f"The operator '{operator}' does not support the non-list value '{operand}' "
        f"for field '{field}'."
    )


def bad_date(value: str, field: str) -> str:
    return f"Date value '{value}' for field '{field}' is invalid. {DATE_FORMATS}"


def bad_issue_key(value: str, field: str) -> str:
    return f"The issue key '{value}' for field '{field}' is invalid."


def issue_missing(value: str, field: str) -> str:
    return f"An issue with key '{value}' does not exist for field '{field}'."


def empty_text(field: str) -> str:
    return f"The field '{field}' does not support searching for an empty string."


def function_missing(name: str) -> str:
    return f"Unable to find JQL function '{name}()'."


def function_unsupported(name: str, field: str) -> str:
    return f"The function '{name}' is not supported by the '{field}' field."


def function_arity(name: str, expected: str, received: int) -> str:
    return f"Function '{name}' expected {expected} arguments but received '{received}'."


def function_duration(name: str, argument: str) -> str:
    return (
        f"Duration '{argument}' for function '{name}' should have the format "
        "(+/-)n(y|M|w|d|h|m), e.g. -1M for one month earlier."
    )


def not_sortable(field: str) -> str:
    return f"Not able to sort using field '{field}'."
