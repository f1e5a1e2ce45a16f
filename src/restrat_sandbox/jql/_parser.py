"""Recursive-descent JQL parser: tokens to a ``ParsedQuery``, with Jira's syntax messages.

Grammar (keywords case-insensitive; NOT binds tighter than AND, AND tighter than OR)::

    query    := [or_expr] [ORDER BY sort (, sort)*]
    or_expr  := and_expr (OR and_expr)*
    and_expr := not_expr (AND not_expr)*
    not_expr := NOT not_expr | "(" or_expr ")" | field operator operand
    operand  := EMPTY | NULL | value | function "(" args ")" | "(" item (, item)* ")"
"""

from __future__ import annotations

from collections.abc import Callable

from restrat_sandbox.jql._ast import (
    And,
    Clause,
    Empty,
    Function,
    ListOperand,
    Node,
    Not,
    Operand,
    Or,
    ParsedQuery,
    SortItem,
    Value,
)
from restrat_sandbox.jql._errors import VALID_OPERATORS, JqlError, syntax_error
from restrat_sandbox.jql._lexer import Token, tokenize

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "order", "by", "asc", "desc"})
_EMPTY_WORDS = frozenset({"empty", "null"})
# Jira refuses these as unquoted words anywhere in a query (JqlStringSupportImpl.RESERVED_WORDS).
_RESERVED_TEXT = """abort access add after alias all alter any as audit avg before begin
    between boolean break byte catch cf char character check checkpoint collate collation
    column commit connect continue count create current date decimal declare decrement
    default defaults define delete delimiter difference distinct divide do double drop else
    encoding end equals escape exclusive exec execute exists explain false fetch file field
    first float for from function go goto grant greater group having identified if immediate
    increment index initial inner inout input insert int integer intersect intersection into
    isempty isnull join last left less like limit lock long max min minus mode modify modulo
    more multiply next noaudit notin nowait number object of on option outer output power
    previous prior privileges public raise raw remainder rename resource return returns
    right row rowid rownum rows select session set share size sqrt start strict string
    subtract sum synonym table then to trans transaction trigger true uid union unique
    update user validate values view when whenever where while with"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())


def _reserved_word(token: Token) -> JqlError:
    return syntax_error(
        f"'{token.raw}' is a reserved JQL word. You must surround it in quotation marks to use "
        "it in a query.",
        token.line,
        token.column,
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------------

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at_keyword(self, word: str) -> bool:
        token = self.current
        if token.kind == word:  # the symbolic spellings &&, ||, !
            return True
        return token.kind == "word" and token.value.lower() == word

    def fail(self, expected: str, suffix: str = "") -> JqlError:
        token = self.current
        got = "the end of the query" if token.kind == "eof" else f"'{token.raw}'"
        detail = f"Expecting {expected} but got {got}.{suffix}"
        return syntax_error(detail, token.line, token.column)

    def expect(self, kind: str, expected: str) -> Token:
        if self.current.kind != kind:
            raise self.fail(expected)
        return self.advance()

    # -- boolean structure ---------------------------------------------------------------------

    def query(self) -> ParsedQuery:
        where = None
        if self.current.kind != "eof" and not self.at_keyword("order"):
            where = self.or_expr()
        order_by = self.order_by() if self.at_keyword("order") else ()
        if self.current.kind != "eof":
            raise self.fail("either 'OR' or 'AND'" if order_by == () else "','")
        return ParsedQuery(where, order_by)

    def or_expr(self) -> Node:
        return self._joined("or", self.and_expr, Or)

    def and_expr(self) -> Node:
        return self._joined("and", self.not_expr, And)

    def _joined(
        self,
        keyword: str,
        operand: Callable[[], Node],
        join: Callable[[tuple[Node, ...]], Node],
    ) -> Node:
        """``operand (keyword operand)*``; a lone operand is not wrapped."""
        children = [operand()]
        while self.at_keyword(keyword):
            self.advance()
            children.append(operand())
        return children[0] if len(children) == 1 else join(tuple(children))

    def not_expr(self) -> Node:
        if self.at_keyword("not"):
            self.advance()
            return Not(self.not_expr())
        if self.current.kind == "(":
            self.advance()
            inner = self.or_expr()
            if self.current.kind != ")":
                raise self.fail("')'" if self.current.kind == "eof" else "either 'OR' or 'AND'")
            self.advance()
            return inner
        field = self.field_name()
        operator = self.operator()
        return Clause(field, operator, self.operand(operator))

    # -- clauses -------------------------------------------------------------------------------

    def field_name(self) -> str:
        token = self.current
        if token.kind == "string" and token.value:
            return self.advance().value
        if token.kind != "word":
            raise self.fail("a field name")
        lowered = token.value.lower()
        if lowered in KEYWORDS or lowered in _EMPTY_WORDS:
            quote = (
                f" You must surround '{token.raw}' in quotation marks to use it as a field name."
            )
            raise self.fail("a field name", quote)
        if lowered in RESERVED_WORDS:
            raise _reserved_word(token)
        return self.advance().value

    def operator(self) -> str:
        token = self.current
        if token.kind == "op":
            return self.advance().value
        negated = self.at_keyword("not")
        if negated:
            self.advance()
            if not self.at_keyword("in"):
                raise self.fail("'IN'")
        if self.at_keyword("in"):
            self.advance()
            return "not in" if negated else "in"
        if self.at_keyword("is"):
            self.advance()
            return self.is_operator()
        raise self.fail("operator", f" The valid operators are {VALID_OPERATORS}.")

    def is_operator(self) -> str:
        negated = self.at_keyword("not")
        if negated:
            self.advance()
        token = self.current
        if token.kind != "word" or token.value.lower() not in _EMPTY_WORDS:
            raise self.fail("either 'EMPTY' or 'NULL'")
        return "is not" if negated else "is"

    def operand(self, operator: str) -> Operand:
        if operator in ("is", "is not"):
            return Empty(self.advance().raw)
        if self.current.kind == "(":
            return self.list_operand()
        return self.item()

    def list_operand(self) -> ListOperand:
        opening = self.advance()
        items = [self.item()]
        while self.current.kind == ",":
            self.advance()
            items.append(self.item())
        closing = self.expect(")", "')'" if self.current.kind == "eof" else "either ',' or ')'")
        raw = self.text[opening.start : closing.start + 1]
        return ListOperand(tuple(items), raw)

    def item(self) -> Value | Function | Empty:
        token = self.current
        if token.kind == "string":
            self.advance()
            return Value(token.value, quoted=True, raw=token.raw)
        if token.kind != "word":
            raise self.fail("either a value, list or function")
        self.check_value_word(token)
        self.advance()
        if token.value.lower() in _EMPTY_WORDS:
            return Empty(token.raw)
        if self.current.kind == "(":
            return self.function(token)
        return Value(token.value, quoted=False, raw=token.raw)

    def check_value_word(self, token: Token) -> None:
        lowered = token.value.lower()
        if lowered in KEYWORDS:
            quote = f" You must surround '{token.raw}' in quotation marks to use it as a value."
            raise self.fail("either a value, list or function", quote)
        if lowered in RESERVED_WORDS:
            raise _reserved_word(token)

    def function(self, name: Token) -> Function:
        self.advance()  # the "("
        args: list[str] = []
        while self.current.kind in ("word", "string"):
            args.append(self.advance().value)
            if self.current.kind != ",":
                break
            self.advance()
        closing = self.expect(")", "')'")
        return Function(name.value, tuple(args), self.text[name.start : closing.start + 1])

    # -- ORDER BY ------------------------------------------------------------------------------

    def order_by(self) -> tuple[SortItem, ...]:
        self.advance()  # ORDER
        if not self.at_keyword("by"):
            raise self.fail("'BY'")
        self.advance()
        items = [self.sort_item()]
        while self.current.kind == ",":
            self.advance()
            items.append(self.sort_item())
        return tuple(items)

    def sort_item(self) -> SortItem:
        field = self.field_name()
        descending = False
        if self.at_keyword("asc") or self.at_keyword("desc"):
            descending = self.advance().value.lower() == "desc"
        elif self.current.kind not in (",", "eof"):
            raise self.fail("either 'ASC' or 'DESC'")
        return SortItem(field, descending)


def parse(text: str) -> ParsedQuery:
    """Parse JQL text; raises JqlError with Jira's syntax message on the first error."""
    return _Parser(text).query()
