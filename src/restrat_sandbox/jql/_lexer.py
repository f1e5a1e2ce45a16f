"""JQL tokens: words, quoted strings, operators and punctuation, with Jira's escapes and errors.

Jira reserves a set of characters in unquoted words (``@`` in an e-mail address is the classic
trap) and accepts the escapes ``\\' \\" \\t \\n \\r \\\\ '\\ '`` and ``\\uXXXX`` in both quoted and
unquoted text. ``&&``/``&`` and ``||``/``|`` spell AND and OR; a lone ``!`` spells NOT.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from restrat_sandbox.jql._errors import JqlError, syntax_error

# Characters that end an unquoted word; each is a token of its own (or starts one).
_STOPS = frozenset("\"'(),=!<>~&|")
# Characters Jira refuses inside unquoted words. '.' and '-' are deliberately absent: keys
# (PAY-1), periods (-7d) and version names (1.0) are written unquoted every day.
_RESERVED = frozenset("{}*/%+^$#@?;[]")
_ESCAPES = {"'": "'", '"': '"', "t": "\t", "n": "\n", "r": "\r", "\\": "\\", " ": " "}
_OPERATORS = ("!=", "<=", ">=", "!~", "&&", "||", "=", "<", ">", "~", "!", "&", "|")
_SYMBOL_KINDS = {"&&": "and", "&": "and", "||": "or", "|": "or", "!": "not"}


@dataclass(frozen=True, slots=True)
class Token:
    """One token. ``kind`` is word, string, op, and, or, not, (, ), ``,`` or eof."""

    kind: str
    value: str  # decoded text of a word or string; the symbol of an operator
    raw: str  # the source text, for error messages
    line: int
    column: int
    start: int  # offset in the query text


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self._line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def error(self, detail: str, offset: int) -> JqlError:
        return syntax_error(detail, *self.where(offset))

    def token(self, kind: str, value: str, start: int) -> Token:
        return Token(kind, value, self.text[start : self.pos], *self.where(start), start)

    def end_token(self) -> Token:
        # Jira places "the end of the query" on the last character, not one past it.
        line, column = self.where(len(self.text))
        return Token("eof", "", "", line, max(1, column - 1), len(self.text))

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        while True:
            while self.pos < len(self.text) and self.text[self.pos].isspace():
                self.pos += 1
            if self.pos >= len(self.text):
                out.append(self.end_token())
                return out
            out.append(self.next_token())

    def next_token(self) -> Token:
        start, ch = self.pos, self.text[self.pos]
        if ch in "(),":
            self.pos += 1
            return self.token(ch, ch, start)
        if ch in "\"'":
            return self.quoted(ch)
        for symbol in _OPERATORS:
            if self.text.startswith(symbol, start):
                self.pos += len(symbol)
                return self.token(_SYMBOL_KINDS.get(symbol, "op"), symbol, start)
        return self.word()

    def quoted(self, quote: str) -> Token:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text) and self.text[self.pos] != quote:
            chars.append(self.escape() if self.text[self.pos] == "\\" else self.advance())
        if self.pos >= len(self.text):
            content = self.text[start + 1 :]
            raise self.error(f"The quoted string '{content}' has not been completed.", start)
        self.pos += 1
        return self.token("string", "".join(chars), start)

    def word(self) -> Token:
        start = self.pos
        chars: list[str] = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch.isspace() or ch in _STOPS:
                break
            if ch == "[" and "".join(chars).lower() == "cf":
                chars.append(self.custom_field_id())
            elif ch in _RESERVED:
                raise self.error(_reserved_message(ch), self.pos)
            else:
                chars.append(self.escape() if ch == "\\" else self.advance())
        return self.token("word", "".join(chars), start)

    def custom_field_id(self) -> str:
        """``cf[10100]``: the one place Jira lets '[' into a name."""
        end = self.text.find("]", self.pos)
        inside = self.text[self.pos + 1 : end] if end > 0 else ""
        if not inside.isdigit():
            raise self.error(_reserved_message("["), self.pos)
        self.pos = end + 1
        return f"[{inside}]"

    def advance(self) -> str:
        self.pos += 1
        return self.text[self.pos - 1]

    def escape(self) -> str:
        start = self.pos
        code = self.text[start + 1 : start + 2]
        if code in _ESCAPES and code:
            self.pos += 2
            return _ESCAPES[code]
        digits = self.text[start + 2 : start + 6]
        if code == "u" and len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
            self.pos += 6
            return chr(int(digits, 16))
        sequence = self.text[start : start + 6 if code == "u" else start + 2]
        raise self.error(
            f"'{sequence}' is an illegal JQL escape sequence. The valid escape sequences are "
            "\\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX.",
            start,
        )


def _reserved_message(ch: str) -> str:
    return (
        f"The character '{ch}' is a reserved JQL character. You must enclose it in a string "
        f"or use the escape '\\u{ord(ch):04x}' instead."
    )


def tokenize(text: str) -> list[Token]:
    """Split JQL into tokens ending with an ``eof`` token; raises JqlError on lexical errors."""
    return _Lexer(text).tokens()
