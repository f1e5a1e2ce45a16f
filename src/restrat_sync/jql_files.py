"""JQL files as admins write them, and as Jira receives them.

A JQL file may hold ``--`` comments and any layout. Before it is sent, comments are dropped and
whitespace is folded into single spaces, but only outside quoted strings: inside ``"..."`` and
``'...'`` every character is kept as written (a no-break space, two spaces, a line separator),
because there it is part of a value and changes what the query selects.

Quoting follows JQL's lexer: ``"`` and ``'`` open a string that the same quote closes, and a
backslash escapes the next character, inside a string (``\\"``) and outside one (``\\ `` is a
space inside an unquoted word, ``\\'`` is not a quote).

Jira reports syntax errors at ``(line L, character C)`` of the query it received, 1-based. The
fold keeps, for every character it sends, the offset it came from in the file, so such a
position is reported as ``jql/theme.jql:LINE:COL: <message>`` on the file the admin edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from restrat_sync.errors import ConfigError

QUOTES = "\"'"
ESCAPE = "\\"
COMMENT = "--"
# Jira's position suffix: "... (line 1, character 23)", on Cloud and Data Center alike.
JIRA_POSITION = re.compile(r"\s*\(line (\d+), character (\d+)\)")


@dataclass(frozen=True)
class FoldedJql:
    """The query to send, and for each of its characters the offset in the file it came from
    (a folded run of whitespace comes from its first character)."""

    query: str
    origins: tuple[int, ...]


@dataclass(frozen=True)
class JqlFile:
    name: str  # as written in the config, relative to jql_dir
    path: Path
    query: str  # comments removed, whitespace folded outside quotes
    used_by: str  # the field path that names it, e.g. "themes[0].jql"
    source: str = ""  # the file's text, to map Jira's error positions back to it

    def problem(self, what: str, message: str) -> str:
        """``message`` about this file, prefixed ``FILE:LINE:COL:`` when Jira gave a position
        (its own position suffix, about the folded query, is dropped) and ``FILE:`` otherwise."""
        match = JIRA_POSITION.search(message)
        where = _shown(self.path)
        if match is None:
            return f"{where}: {what}: {message}"
        line, column = file_position(self.source, int(match[1]), int(match[2]))
        detail = (message[: match.start()] + message[match.end() :]).strip()
        return f"{where}:{line}:{column}: {what}: {detail}"


def read_jql_file(jql_dir: Path, name: str, used_by: str) -> JqlFile:
    path = jql_dir / name
    if Path(name).is_absolute() or ".." in Path(name).parts:
        raise ConfigError([f"{name!r} must be a file name inside {jql_dir}"])
    if not path.is_file():
        raise ConfigError([f"JQL file {path} does not exist"])
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"JQL file {path} cannot be read: {exc}"]) from None
    query = fold_jql(source).query
    if not query:
        raise ConfigError([f"JQL file {path} holds no query (only comments or blank lines)"])
    return JqlFile(name=name, path=path, query=query, used_by=used_by, source=source)


def strip_jql_comments(text: str) -> str:
    """The query Jira receives for the file text ``text``."""
    return fold_jql(text).query


def fold_jql(text: str) -> FoldedJql:
    """Drop ``--`` comments and fold whitespace into one space, both outside quoted strings."""
    out: list[str] = []
    origins: list[int] = []
    quote: str | None = None
    space_at: int | None = None  # where a pending run of whitespace began
    index = 0
    while index < len(text):
        char = text[index]
        if quote is None and text.startswith(COMMENT, index):
            space_at = index if space_at is None else space_at  # a comment separates words
            end = text.find("\n", index)
            index = len(text) if end < 0 else end
            continue
        if quote is None and char.isspace():
            space_at = index if space_at is None else space_at
            index += 1
            continue
        if space_at is not None and out:
            out.append(" ")
            origins.append(space_at)
        space_at = None
        # An escape keeps the next character as written, whatever it is (a quote, a space).
        taken = 2 if char == ESCAPE and index + 1 < len(text) else 1
        out.append(text[index : index + taken])
        origins.extend(range(index, index + taken))
        if taken == 1 and char in QUOTES and quote in (None, char):
            quote = char if quote is None else None
        index += taken
    return FoldedJql("".join(out), tuple(origins))


def file_position(source: str, line: int, character: int) -> tuple[int, int]:
    """The 1-based (line, column) in the file text ``source`` of Jira's 1-based
    ``line``/``character`` in the query folded from it."""
    folded = fold_jql(source)
    starts = [0] + [i + 1 for i, char in enumerate(folded.query) if char == "\n"]
    line = min(max(line, 1), len(starts))
    offset = starts[line - 1] + max(character, 1) - 1
    if offset < len(folded.origins):
        at = folded.origins[offset]
    else:  # past the end: just after the last character sent
        at = folded.origins[-1] + 1 if folded.origins else 0
    return line_and_column(source, at)


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text``; lines end at ``\\n`` only, as editors
    count them."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def _shown(path: Path) -> str:
    """The path relative to the working directory when it lies below it (as an admin typed it),
    else as it is."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
