"""JQL files: comments and whitespace folded outside quotes only, and Jira's error positions
mapped back to the file's line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.errors import ConfigError
from restrat_sync.jql_files import (
    file_position,
    fold_jql,
    line_and_column,
    read_jql_file,
    strip_jql_comments,
)

NBSP = "\u00a0"
LINE_SEPARATOR = "\u2028"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'labels = "nb{NBSP}sp"', f'labels = "nb{NBSP}sp"'),
        ('fixVersion = "2026  Q1"\n', 'fixVersion = "2026  Q1"'),
        (f"summary ~ 'a{LINE_SEPARATOR}b'", f"summary ~ 'a{LINE_SEPARATOR}b'"),
        ('summary ~ "tab\there"  AND\n\n  x = 1', 'summary ~ "tab\there" AND x = 1'),
        ('summary ~ "say \\"  hi\\"  " -- c', 'summary ~ "say \\"  hi\\"  "'),
        ('summary ~ "it\'s  fine"', 'summary ~ "it\'s  fine"'),
        # Outside quotes an escaped quote opens nothing, and an escaped space stays a space.
        ("summary ~ it\\'s  AND labels = a\\  b", "summary ~ it\\'s AND labels = a\\  b"),
        (f"project{NBSP}={LINE_SEPARATOR}PAY", "project = PAY"),
    ],
)
def test_whitespace_is_folded_only_outside_quoted_strings(text: str, expected: str) -> None:
    """A no-break space, doubled spaces or a line separator inside quotes are part of the value
    and reach Jira unchanged; outside quotes any run of whitespace is one space."""
    assert strip_jql_comments(text) == expected


def test_a_theme_file_keeps_its_quoted_value(tmp_path: Path) -> None:
    """What a theme selects is the file's quoted value, byte for byte."""
    (tmp_path / "theme.jql").write_text(
        '-- the Q1 release\nfixVersion = "2026  Q1"  -- two spaces, as Jira names it\n',
        encoding="utf-8",
    )
    jql = read_jql_file(tmp_path, "theme.jql", "themes[0].jql")
    assert jql.query == 'fixVersion = "2026  Q1"'


def test_an_unreadable_jql_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    """A file that is not UTF-8 is named, not a traceback."""
    (tmp_path / "theme.jql").write_bytes(b"labels = \xff\n")
    with pytest.raises(ConfigError, match=r"theme\.jql cannot be read"):
        read_jql_file(tmp_path, "theme.jql", "themes[0].jql")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # Cloud's jql/parse and Data Center's search word the position the same way.
        (
            "Error in the JQL Query: Expecting operator but got 'PAY'. (line 1, character 28)",
            "theme.jql:3:17: Jira rejects this JQL (themes[0].jql): Error in the JQL Query: "
            "Expecting operator but got 'PAY'.",
        ),
        (
            "Error in JQL Query: The quoted string 'x' has not been completed. "
            "(line 1, character 46)",
            "theme.jql:4:17: Jira rejects this JQL (themes[0].jql): Error in JQL Query: "
            "The quoted string 'x' has not been completed.",
        ),
        (
            "Field 'nosuch' does not exist or you do not have permission to view it.",
            "theme.jql: Jira rejects this JQL (themes[0].jql): Field 'nosuch' does not exist "
            "or you do not have permission to view it.",
        ),
    ],
)
def test_jira_positions_are_reported_on_the_files_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, expected: str
) -> None:
    """Jira counts in the folded one-line query; the admin reads the file's line and column."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "theme.jql").write_text(
        "-- growth initiatives\n"
        "project = PORT   -- the portfolio\n"
        "  AND   project PAY\n"  # 'PAY': line 3, column 17 here; character 28 in the query
        "  AND summary ~ 'x\n",
        encoding="utf-8",
    )
    jql = read_jql_file(tmp_path, "theme.jql", "themes[0].jql")
    assert jql.query == "project = PORT AND project PAY AND summary ~ 'x\n"
    assert jql.query.index("PAY") + 1 == 28
    assert jql.query.index("'x") + 1 == 46
    problem = jql.problem(f"Jira rejects this JQL ({jql.used_by})", message)
    assert problem == expected


def test_the_position_past_the_end_is_just_after_the_last_character() -> None:
    """Jira may point one past the query's end (an unfinished clause)."""
    source = "project =\n\n"
    assert file_position(source, 1, 99) == (1, 10)


# --- properties ----------------------------------------------------------------------------------

_word = st.text(alphabet="abcXYZ019-=~().,", min_size=1, max_size=6).filter(
    lambda w: "--" not in w and not w.endswith("-")
)
_inside = st.text(
    alphabet=st.sampled_from([*"ab -'\"\\\t\n", NBSP, LINE_SEPARATOR, "\u3000", "é", "€"]),
    max_size=10,
)
_gap = st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\r", NBSP, LINE_SEPARATOR]), min_size=1)
_comment = st.text(alphabet="ab \"'-\\", max_size=8).map(lambda c: f" --{c}\n")


def _quoted(quote: str, content: str) -> str:
    """``content`` as a JQL string literal: quotes and backslashes escaped."""
    escaped = content.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return f"{quote}{escaped}{quote}"


@st.composite
def jql_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A JQL file text and the string literals in it, in order."""
    parts: list[str] = [draw(st.text(alphabet=" \n", max_size=2))]
    literals: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            literal = _quoted(draw(st.sampled_from(QUOTE_CHARS)), draw(_inside))
            literals.append(literal)
            parts.append(literal)
        else:
            parts.append(draw(_word))
        parts.append(draw(st.one_of(_gap, _comment)))
    return "".join(parts), literals


QUOTE_CHARS = ['"', "'"]


@given(jql_texts())
def test_folding_never_changes_a_quoted_string(case: tuple[str, list[str]]) -> None:
    """Every string literal of the file reaches Jira as written, in order."""
    text, literals = case
    query = strip_jql_comments(text)
    at = 0
    for literal in literals:
        found = query.find(literal, at)
        assert found >= 0, (literal, query)
        at = found + len(literal)


@given(jql_texts())
def test_the_position_map_round_trips(case: tuple[str, list[str]]) -> None:
    """Each character sent points back to that character in the file; a folded space points to
    the whitespace or comment it replaced."""
    text, _ = case
    folded = fold_jql(text)
    assert len(folded.origins) == len(folded.query)
    starts = [0] + [i + 1 for i, char in enumerate(folded.query) if char == "\n"]
    for index, char in enumerate(folded.query):
        line = max(n for n, start in enumerate(starts, start=1) if start <= index)
        jira = (line, index - starts[line - 1] + 1)  # Jira's 1-based line and character
        position = file_position(text, *jira)
        assert position == line_and_column(text, folded.origins[index])
        origin = text[folded.origins[index]]
        assert origin == char or (char == " " and (origin.isspace() or origin == "-"))
