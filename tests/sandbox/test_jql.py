"""The sandbox's JQL engine: the language, each field's semantics, ordering and Jira's errors.

Date and time-zone behaviour has its own module, ``test_jql_dates``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from restrat_sandbox.catalogue import PRIORITIES
from restrat_sandbox.jql import JqlContext, JqlError, parse_jql, search, validate_fields
from restrat_sandbox.model import (
    Issue,
    IssueType,
    Portfolio,
    Project,
    Status,
    User,
    Version,
)

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
ALICE = User("acc-alice", "alice", "Alice Adams", "alice@example.com", "Europe/Berlin")
BOB = User("acc-bob", "bob", "Bob Brown", "bob@example.com", "UTC")
ALL_KEYS = {"PAY-1", "PAY-2", "PAY-3", "PAY-9", "PAY-10", "PAY-11", "MOB-1", "MOB-2"}


def _catalogue(portfolio: Portfolio) -> None:
    for project in (Project("10000", "PAY", "Payments"), Project("10001", "MOB", "Mobile")):
        portfolio.projects[project.key] = project
    for level, name in ((-1, "Sub-task"), (0, "Story"), (0, "Bug"), (1, "Epic"), (2, "Initiative")):
        portfolio.issue_types[name] = IssueType(str(20 + level) + name[:2], name, level)
    statuses = (
        Status("1", "To Do", "new"),
        Status("3", "En cours", "indeterminate"),
        Status("4", 'In "Review"', "indeterminate"),
        Status("5", "Erledigt", "done"),
        Status("6", "Done", "done"),
    )
    portfolio.statuses.update((s.name, s) for s in statuses)
    portfolio.priorities.update((p.name, p) for p in PRIORITIES)
    for version in (
        Version("100", "1.0", "PAY", True, date(2026, 3, 1)),
        Version("101", "2.0", "PAY", False, None),
        Version("200", "1.0", "MOB", False, None),
    ):
        portfolio.versions[(version.project, version.name)] = version
    portfolio.users.update((u.account_id, u) for u in (ALICE, BOB))


def _issue(
    number: int, key: str, issuetype: str, status: str, summary: str, **extra: object
) -> Issue:
    created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=number)
    fields: dict[str, object] = {"created": created, "updated": created + timedelta(hours=1)}
    fields.update(extra)
    project = key.split("-")[0]
    return Issue(number, key, project, issuetype, status, summary, **fields)  # type: ignore[arg-type]


def build_portfolio() -> Portfolio:
    """Eight issues across two projects and four hierarchy levels; ids follow creation order."""
    portfolio = Portfolio(now=NOW)
    _catalogue(portfolio)
    issues = (
        _issue(1, "PAY-1", "Initiative", "En cours", "Grow payments", priority="Highest"),
        _issue(2, "PAY-2", "Epic", "To Do", "Checkout revamp", parent="PAY-1"),
        _issue(
            3,
            "PAY-3",
            "Story",
            "Done",
            "Login page redesign",
            parent="PAY-2",
            labels=["frontend", "won't"],
            assignee="acc-alice",
            reporter="acc-bob",
            fix_versions=["1.0"],
            duedate=date(2026, 4, 1),
            priority="High",
            resolutiondate=datetime(2026, 2, 1, tzinfo=UTC),
        ),
        _issue(
            4,
            "PAY-10",
            "Story",
            "Erledigt",
            "Payment retries",
            parent="PAY-2",
            labels=["backend"],
            priority="Lowest",
            assignee="acc-bob",
        ),
        _issue(5, "PAY-9", "Bug", "En cours", "Crash on login screen", priority="Low"),
        _issue(6, "PAY-11", "Sub-task", "To Do", "Write tests", parent="PAY-10"),
        _issue(7, "MOB-1", "Epic", 'In "Review"', "Offline mode", fix_versions=["1.0"]),
        _issue(
            8,
            "MOB-2",
            "Story",
            "To Do",
            "Sync engine",
            parent="MOB-1",
            labels=["Backend"],
            fix_versions=["1.0"],
            reporter="acc-alice",
        ),
    )
    for issue in issues:
        portfolio.add_issue(issue)
    return portfolio


@pytest.fixture(scope="module")
def ctx() -> JqlContext:
    return JqlContext(build_portfolio(), ALICE, NOW)


def matched(ctx: JqlContext, jql: str) -> set[str]:
    return {issue.key for issue in search(ctx, jql)}


def ordered(ctx: JqlContext, jql: str) -> list[str]:
    return [issue.key for issue in search(ctx, jql)]


def errors_of(ctx: JqlContext, jql: str) -> list[str]:
    with pytest.raises(JqlError) as caught:
        search(ctx, jql)
    return caught.value.messages


# -- boolean structure ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # AND binds tighter than OR: PAY-9, plus the Done story of PAY.
        ("issuetype = Bug OR project = PAY AND status = Done", {"PAY-9", "PAY-3"}),
        ("(issuetype = Bug OR project = PAY) AND status = Done", {"PAY-3"}),
        ("project = PAY AND status = Done OR issuetype = Bug", {"PAY-3", "PAY-9"}),
        # NOT binds tighter than AND.
        ("NOT project = PAY AND issuetype = Story", {"MOB-2"}),
        ("NOT (project = PAY AND issuetype = Story)", ALL_KEYS - {"PAY-3", "PAY-10"}),
        ("not not project = MOB", {"MOB-1", "MOB-2"}),
        ("project = MOB && issuetype = Epic || issuetype = Bug", {"MOB-1", "PAY-9"}),
        ("!(project = PAY)", {"MOB-1", "MOB-2"}),
        ("((project = MOB))", {"MOB-1", "MOB-2"}),
    ],
)
def test_boolean_operators_follow_jira_precedence(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """NOT binds tighter than AND, AND tighter than OR; parentheses and &&, ||, ! work."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    "jql",
    [
        "project = pay",
        "PROJECT = Payments",
        "Project IN (10000)",
        'project = "PAY"',
        "project='PAY'",
    ],
)
def test_keywords_fields_and_catalogue_values_are_case_insensitive(
    ctx: JqlContext, jql: str
) -> None:
    """Project matches by key, name or id, in any case, quoted or bare."""
    assert matched(ctx, jql) == ALL_KEYS - {"MOB-1", "MOB-2"}


# -- values and quoting ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('status = "In \\"Review\\""', {"MOB-1"}),
        ("status = 'In \"Review\"'", {"MOB-1"}),
        ("status = In\\u0020\\u0022Review\\u0022", {"MOB-1"}),
        ("labels = 'won\\'t'", {"PAY-3"}),
        ('labels = "won\'t"', {"PAY-3"}),
        ('status = "en COURS"', {"PAY-1", "PAY-9"}),
        ("status = ERLEDIGT", {"PAY-10"}),
        ('"status" = Done', {"PAY-3"}),
    ],
)
def test_quoted_values_and_escapes_are_decoded(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """Double and single quotes, backslash and \\uXXXX escapes, casefolded status names."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("status in (Done, Erledigt)", {"PAY-3", "PAY-10"}),
        (
            'status in ("To Do", "en cours", 6)',
            {"PAY-1", "PAY-2", "PAY-9", "PAY-11", "MOB-2", "PAY-3"},
        ),
        ("status not in (Done, Erledigt, 'To Do')", {"PAY-1", "PAY-9", "MOB-1"}),
        ("statusCategory = Done", {"PAY-3", "PAY-10"}),
        ('statusCategory = "In Progress"', {"PAY-1", "PAY-9", "MOB-1"}),
        ("statusCategory in (new, 3)", {"PAY-2", "PAY-11", "MOB-2", "PAY-3", "PAY-10"}),
        ("statusCategory != done", ALL_KEYS - {"PAY-3", "PAY-10"}),
        ("issuetype = story", {"PAY-3", "PAY-10", "MOB-2"}),
        ("type in standardIssueTypes()", ALL_KEYS - {"PAY-11"}),
        ("issuetype in subTaskIssueTypes()", {"PAY-11"}),
        ("priority = High", {"PAY-3"}),
        ("priority > Medium", {"PAY-1", "PAY-3"}),
        ("priority <= low", {"PAY-9", "PAY-10"}),
        ("priority in (Highest, Lowest)", {"PAY-1", "PAY-10"}),
    ],
)
def test_catalogue_fields_match_by_name_id_and_order(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """status, statusCategory, issuetype and priority resolve names and ids; priority orders."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("key = PAY-3", {"PAY-3"}),
        ("issuekey = pay-3", {"PAY-3"}),
        ("id = 3", {"PAY-3"}),
        ("key in (PAY-3, 7)", {"PAY-3", "MOB-1"}),
        ("key > PAY-9", {"PAY-10", "PAY-11"}),
        ("key >= PAY-9", {"PAY-9", "PAY-10", "PAY-11"}),
        ("key < PAY-3 AND key != PAY-1", {"PAY-2"}),
        ("id > 6", {"MOB-1", "MOB-2"}),
        ("key != PAY-3 AND project = MOB", {"MOB-1", "MOB-2"}),
    ],
)
def test_issue_keys_compare_within_a_project_by_number(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """key/issuekey/id take keys or ids; key > PAY-9 means same project, higher number."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("parent = PAY-2", {"PAY-3", "PAY-10"}),
        ("parent in (PAY-1, MOB-1)", {"PAY-2", "MOB-2"}),
        ('"Epic Link" = PAY-2', {"PAY-3", "PAY-10"}),
        ('"epic link" is EMPTY AND project = MOB', {"MOB-1"}),
        ('"Epic Link" is not empty', {"PAY-3", "PAY-10", "MOB-2"}),
        ('"Parent Link" = PAY-1', {"PAY-2"}),
        ('"Parent Link" is not EMPTY', {"PAY-2"}),
        ("parent != PAY-2", {"PAY-2", "PAY-11", "MOB-2"}),
    ],
)
def test_hierarchy_fields_follow_issue_levels(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """parent is any parent; Epic Link only story -> epic; Parent Link only from level 1 up."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("assignee = alice", {"PAY-3"}),
        ('assignee = "Alice Adams"', {"PAY-3"}),
        ('assignee = "alice@example.com"', {"PAY-3"}),
        ("assignee = acc-bob", {"PAY-10"}),
        ("assignee = currentUser()", {"PAY-3"}),
        ("reporter in (currentUser(), bob)", {"PAY-3", "MOB-2"}),
        ("assignee != alice", {"PAY-10"}),
        ("assignee is EMPTY AND project = PAY", {"PAY-1", "PAY-2", "PAY-9", "PAY-11"}),
        (
            "assignee in (EMPTY, bob) AND project = PAY",
            {"PAY-1", "PAY-2", "PAY-9", "PAY-10", "PAY-11"},
        ),
        ("NOT assignee = alice AND project = PAY", {"PAY-1", "PAY-2", "PAY-9", "PAY-10", "PAY-11"}),
    ],
)
def test_user_fields_match_any_identity_and_skip_empty_on_negation(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """Users match by account id, name, display name or e-mail; != never matches unassigned."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("labels = backend", {"PAY-10", "MOB-2"}),
        ("labels in (frontend, nothing)", {"PAY-3"}),
        ("labels != backend", {"PAY-3"}),
        ("labels not in (backend, frontend)", set()),
        ("labels is EMPTY", {"PAY-1", "PAY-2", "PAY-9", "PAY-11", "MOB-1"}),
        ("labels = EMPTY", {"PAY-1", "PAY-2", "PAY-9", "PAY-11", "MOB-1"}),
        ("labels is not null", {"PAY-3", "PAY-10", "MOB-2"}),
        ("labels != EMPTY", {"PAY-3", "PAY-10", "MOB-2"}),
        (
            "labels in (EMPTY, frontend) AND project = PAY",
            {"PAY-1", "PAY-2", "PAY-3", "PAY-9", "PAY-11"},
        ),
        ("fixVersion = 1.0", {"PAY-3", "MOB-1", "MOB-2"}),
        ('fixversion = "1.0" AND project = MOB', {"MOB-1", "MOB-2"}),
        ("fixVersion in releasedVersions()", {"PAY-3"}),
        ("fixVersion in unreleasedVersions(MOB)", {"MOB-1", "MOB-2"}),
        ("fixVersion is EMPTY AND issuetype = Story", {"PAY-10"}),
        ("fixVersion != 1.0", set()),
    ],
)
def test_list_fields_match_when_any_element_matches(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """labels/fixVersion: = is any-of; != and NOT IN need a non-empty list without the value."""
    assert matched(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('summary ~ "login"', {"PAY-3", "PAY-9"}),
        ("summary ~ LOGIN", {"PAY-3", "PAY-9"}),
        ('summary ~ "login page"', {"PAY-3"}),
        ('summary ~ "page login"', {"PAY-3"}),
        ('summary ~ "the login"', {"PAY-3", "PAY-9"}),
        ('summary ~ "pay*"', {"PAY-1", "PAY-10"}),
        ('summary ~ "\\"login screen\\""', {"PAY-9"}),
        ('summary ~ "\\"screen login\\""', set()),
        ('summary ~ "log"', set()),
        ('summary !~ "login"', ALL_KEYS - {"PAY-3", "PAY-9"}),
        ('text ~ "backend sync"', {"MOB-2"}),
        ('text ~ "frontend"', {"PAY-3"}),
        ('summary ~ "the"', set()),
    ],
)
def test_contains_needs_every_word_of_the_term(
    ctx: JqlContext, jql: str, expected: set[str]
) -> None:
    """~ matches whole words, any order, stop words ignored, trailing * and quoted phrases."""
    assert matched(ctx, jql) == expected


# -- ordering -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("project = PAY ORDER BY key", ["PAY-1", "PAY-2", "PAY-3", "PAY-9", "PAY-10", "PAY-11"]),
        (
            "project = PAY ORDER BY key DESC",
            ["PAY-11", "PAY-10", "PAY-9", "PAY-3", "PAY-2", "PAY-1"],
        ),
        ("key in (PAY-10, MOB-2, PAY-9) ORDER BY issuekey asc", ["MOB-2", "PAY-9", "PAY-10"]),
        (
            "project = PAY ORDER BY status ASC, key DESC",
            ["PAY-3", "PAY-9", "PAY-1", "PAY-10", "PAY-11", "PAY-2"],
        ),
        (
            "project = PAY ORDER BY status DESC, key ASC",
            ["PAY-2", "PAY-11", "PAY-10", "PAY-1", "PAY-9", "PAY-3"],
        ),
        (
            "project = PAY ORDER BY priority DESC, key",
            ["PAY-1", "PAY-3", "PAY-2", "PAY-11", "PAY-9", "PAY-10"],
        ),
        ("project = PAY ORDER BY id", ["PAY-1", "PAY-2", "PAY-3", "PAY-10", "PAY-9", "PAY-11"]),
        ("issuetype = Story ORDER BY created DESC", ["MOB-2", "PAY-10", "PAY-3"]),
        ("issuetype = Story", ["MOB-2", "PAY-10", "PAY-3"]),
    ],
)
def test_order_by_sorts_on_several_fields_in_both_directions(
    ctx: JqlContext, jql: str, expected: list[str]
) -> None:
    """Keys sort numerically within a project; several keys and directions; default newest first."""
    assert ordered(ctx, jql) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ("issuetype = Story ORDER BY duedate ASC, key", ["PAY-3", "MOB-2", "PAY-10"]),
        ("issuetype = Story ORDER BY duedate DESC, key", ["MOB-2", "PAY-10", "PAY-3"]),
        ("issuetype = Story ORDER BY assignee ASC, key", ["PAY-3", "PAY-10", "MOB-2"]),
        ("issuetype = Story ORDER BY labels, key", ["MOB-2", "PAY-10", "PAY-3"]),
    ],
)
def test_empty_values_sort_last_ascending_and_first_descending(
    ctx: JqlContext, jql: str, expected: list[str]
) -> None:
    """EMPTY sorts after every value, like Jira: last in ASC, first in DESC."""
    assert ordered(ctx, jql) == expected


def test_equal_sort_keys_fall_back_to_issue_id(ctx: JqlContext) -> None:
    """Ties are broken by issue id so that pages never shuffle."""
    query = parse_jql("project = PAY ORDER BY project")
    issues = list(reversed(ctx.portfolio.issues.values()))
    assert [i.id for i in query.sort(query.filter(issues, ctx), ctx)] == [1, 2, 3, 4, 5, 6]


# -- bounded queries and the query object --------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "bounded"),
    [("", False), ("   ", False), ("ORDER BY key", False), ("order by created DESC", False),
     ("project = PAY", True), ("project = PAY ORDER BY key", True)],
)  # fmt: skip
def test_queries_without_a_where_clause_are_unbounded(jql: str, bounded: bool) -> None:
    """Cloud rejects empty and ORDER-BY-only queries; is_bounded tells them apart."""
    assert parse_jql(jql).is_bounded is bounded


def test_an_unbounded_query_matches_every_issue(ctx: JqlContext) -> None:
    """The engine itself accepts unbounded queries (Data Center does); the API decides."""
    assert ordered(ctx, "ORDER BY key")[:3] == ["MOB-1", "MOB-2", "PAY-1"]
    assert matched(ctx, "") == ALL_KEYS


def test_context_needs_an_aware_now() -> None:
    """A naive "now" would make every relative date ambiguous, so it is refused."""
    with pytest.raises(ValueError, match="aware"):
        JqlContext(build_portfolio(), ALICE, datetime(2026, 4, 10, 12, 0))


def test_matches_evaluates_one_issue(ctx: JqlContext) -> None:
    """matches() answers for a single issue, compiled once per context."""
    query = parse_jql("status = Done")
    assert query.matches(ctx.portfolio.issues["PAY-3"], ctx)
    assert not query.matches(ctx.portfolio.issues["PAY-9"], ctx)


def test_referenced_fields_lists_where_then_order_by() -> None:
    """referenced_fields() names each field once, as written."""
    query = parse_jql("status = A AND (NOT labels = b OR status = c) ORDER BY updated, status")
    assert query.referenced_fields() == ("status", "labels", "updated")


def test_structure_mirrors_jira_cloud_parse_output() -> None:
    """structure() has the shape of /rest/api/3/jql/parse's JqlQuery."""
    query = parse_jql('project = PAY AND NOT labels in (a, "b c") ORDER BY key DESC')
    assert query.structure() == {
        "where": {
            "operator": "and",
            "clauses": [
                {
                    "field": {"name": "project", "encodedName": "project"},
                    "operator": "=",
                    "operand": {"value": "PAY", "encodedValue": "PAY"},
                },
                {
                    "operator": "not",
                    "clauses": [
                        {
                            "field": {"name": "labels", "encodedName": "labels"},
                            "operator": "in",
                            "operand": {
                                "values": [
                                    {"value": "a", "encodedValue": "a"},
                                    {"value": "b c", "encodedValue": '"b c"'},
                                ],
                                "encodedOperand": '(a, "b c")',
                            },
                        }
                    ],
                },
            ],
        },
        "orderBy": {
            "fields": [{"field": {"name": "key", "encodedName": "key"}, "direction": "desc"}]
        },
    }


# -- errors ---------------------------------------------------------------------------------------

_VALID = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_VALUE = "Expecting either a value, list or function but got"
_END = "the end of the query."


def syntax_messages(jql: str) -> list[str]:
    with pytest.raises(JqlError) as caught:
        parse_jql(jql)
    return caught.value.messages


@pytest.mark.parametrize(
    ("jql", "detail", "line", "character"),
    [
        ("project in (PAY, MOB", f"Expecting ')' but got {_END}", 1, 20),
        ("(project = PAY", f"Expecting ')' but got {_END}", 1, 14),
        ("project = PAY)", "Expecting either 'OR' or 'AND' but got ')'.", 1, 14),
        ("project = PAY status = Done", "Expecting either 'OR' or 'AND' but got 'status'.", 1, 15),
        ("status = ", f"{_VALUE} {_END}", 1, 9),
        ("project = PAY\nAND status = ", f"{_VALUE} {_END}", 2, 13),
        (
            "status foo Done",
            f"Expecting operator but got 'foo'. The valid operators are {_VALID}.",
            1,
            8,
        ),
        ("status not Done", "Expecting 'IN' but got 'Done'.", 1, 12),
        ("status is Done", "Expecting either 'EMPTY' or 'NULL' but got 'Done'.", 1, 11),
        ("= Done", "Expecting a field name but got '='.", 1, 1),
        ("labels in (a, )", f"{_VALUE} ')'.", 1, 15),
        ("labels in (a b)", "Expecting either ',' or ')' but got 'b'.", 1, 14),
        ("project = PAY ORDER key", "Expecting 'BY' but got 'key'.", 1, 21),
        ("project = PAY ORDER BY key up", "Expecting either 'ASC' or 'DESC' but got 'up'.", 1, 28),
        ("project = PAY ORDER BY", f"Expecting a field name but got {_END}", 1, 22),
        ('summary ~ "unclosed', "The quoted string 'unclosed' has not been completed.", 1, 11),
    ],
)
def test_syntax_errors_carry_jira_wording_and_position(
    jql: str, detail: str, line: int, character: int
) -> None:
    """Syntax errors read like Jira's, with a 1-based line and character."""
    where = f"(line {line}, character {character})"
    assert syntax_messages(jql) == [f"Error in the JQL Query: {detail} {where}"]


@pytest.mark.parametrize(
    ("jql", "detail"),
    [
        ("and = Done", "Expecting a field name but got 'and'. You must surround 'and' in"
         " quotation marks to use it as a field name. (line 1, character 1)"),
        ("project = IN", f"{_VALUE} 'IN'. You must surround 'IN' in quotation marks to use it"
         " as a value. (line 1, character 11)"),
        ("project = AS", "'AS' is a reserved JQL word. You must surround it in quotation marks"
         " to use it in a query. (line 1, character 11)"),
        ("reporter=a/user/with/slash", "The character '/' is a reserved JQL character. You"
         " must enclose it in a string or use the escape '\\u002f' instead."
         " (line 1, character 11)"),
        ("assignee = bob@example.com", "The character '@' is a reserved JQL character. You"
         " must enclose it in a string or use the escape '\\u0040' instead."
         " (line 1, character 15)"),
        ('labels = "a\\qb"', "'\\q' is an illegal JQL escape sequence. The valid escape"
         " sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX."
         " (line 1, character 12)"),
    ],
)  # fmt: skip
def test_reserved_words_characters_and_escapes_must_be_quoted(jql: str, detail: str) -> None:
    """Keywords, Jira's reserved words and characters, and bad escapes fail as in Jira."""
    assert syntax_messages(jql) == [f"Error in the JQL Query: {detail}"]


@pytest.mark.parametrize(
    ("jql", "field"),
    [("foo = bar", "foo"), ('"Story Points" > 3', "Story Points"), ("cf[10100] = x", "cf[10100]"),
     ("project = PAY ORDER BY foo", "foo")],
)  # fmt: skip
def test_unknown_fields_are_reported(ctx: JqlContext, jql: str, field: str) -> None:
    """A field the sandbox does not know fails as an invisible field does in Jira."""
    message = f"Field '{field}' does not exist or you do not have permission to view it."
    assert errors_of(ctx, jql) == [message]


@pytest.mark.parametrize(
    ("jql", "value", "field"),
    [
        ("status = Nope", "Nope", "status"),
        ('Status in (Done, "In Review")', "In Review", "Status"),
        ("issuetype = Task", "Task", "issuetype"),
        ("project = NOPE", "NOPE", "project"),
        ("priority > Urgent", "Urgent", "priority"),
        ("statusCategory = Doing", "Doing", "statusCategory"),
        ("assignee = carol", "carol", "assignee"),
        ("fixVersion = 9.9", "9.9", "fixVersion"),
        ("fixVersion in releasedVersions(NOPE)", "NOPE", "project"),
    ],
)
def test_unknown_values_are_reported(ctx: JqlContext, jql: str, value: str, field: str) -> None:
    """Catalogue fields refuse values that name nothing, with the value as written."""
    assert errors_of(ctx, jql) == [f"The value '{value}' does not exist for the field '{field}'."]


@pytest.mark.parametrize(
    ("jql", "operator", "field"),
    [
        ("summary = x", "=", "summary"),
        ("text !~ x", "!~", "text"),
        ("status > Done", ">", "status"),
        ("status ~ Done", "~", "status"),
        ("statusCategory is EMPTY", "is", "statusCategory"),
        ("parent is not EMPTY", "is not", "parent"),
        ("labels > a", ">", "labels"),
    ],
)
def test_operators_a_field_lacks_are_reported(
    ctx: JqlContext, jql: str, operator: str, field: str
) -> None:
    """Each field accepts only the operators Jira gives it."""
    message = f"The operator '{operator}' is not supported by the '{field}' field."
    assert errors_of(ctx, jql) == [message]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("key = EMPTY", "The field 'key' does not support searching for EMPTY values."),
        ("key in (EMPTY, PAY-1)", "The field 'key' does not support searching for EMPTY values."),
        ("created > EMPTY", "The operator '>' does not support searching for EMPTY values for"
         " field 'created'."),
        ("status = (Done, Erledigt)", "The operator '=' does not support the list value"
         " '(Done, Erledigt)' for field 'status'."),
        ("created < (-1d, -2d)", "The operator '<' does not support the list value '(-1d, -2d)'"
         " for field 'created'."),
        ("status in Done", "The operator 'in' does not support the non-list value 'Done' for"
         " field 'status'."),
        ('summary ~ ""', "The field 'summary' does not support searching for an empty string."),
        ('summary ~ "*"', "The field 'summary' does not support searching for an empty string."),
        ("project = PAY ORDER BY text", "Not able to sort using field 'text'."),
    ],
)  # fmt: skip
def test_operands_an_operator_cannot_take_are_reported(
    ctx: JqlContext, jql: str, message: str
) -> None:
    """EMPTY, lists and empty text only where Jira allows them; sorting only on sortable fields."""
    assert errors_of(ctx, jql) == [message]


@pytest.mark.parametrize(
    ("jql", "value", "field"),
    [
        ("created > yesterday", "yesterday", "created"),
        ('due = "2026-02-30"', "2026-02-30", "due"),
        ('updated > "2026-03-01 24:00"', "2026-03-01 24:00", "updated"),
        ("resolved < -5x", "-5x", "resolved"),
    ],
)
def test_invalid_dates_are_reported(ctx: JqlContext, jql: str, value: str, field: str) -> None:
    """A date operand in none of Jira's formats lists the formats it accepts."""
    assert errors_of(ctx, jql) == [
        f"Date value '{value}' for field '{field}' is invalid. Valid formats include:"
        " 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period"
        " format e.g. '-5d', '4w 2d'."
    ]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("key = PAY", "The issue key 'PAY' for field 'key' is invalid."),
        ("key = NOPE-1", "The issue key 'NOPE-1' for field 'key' is invalid."),
        ("key in (PAY-1, PAY-99)", "An issue with key 'PAY-99' does not exist for field 'key'."),
        ("parent = 999", "An issue with key '999' does not exist for field 'parent'."),
        ("assignee = whoAmI()", "Unable to find JQL function 'whoAmI()'."),
        ("status = currentUser()", "The function 'currentUser' is not supported by the"
         " 'status' field."),
        ("created > currentUser()", "The function 'currentUser' is not supported by the"
         " 'created' field."),
        ("summary ~ now()", "The function 'now' is not supported by the 'summary' field."),
        ("assignee = currentUser(x)", "Function 'currentUser' expected '0' arguments but"
         " received '1'."),
        ("created > startOfDay(1, 2)", "Function 'startOfDay' expected between '0' and '1'"
         " arguments but received '2'."),
        ("created > startOfDay(soon)", "Duration 'soon' for function 'startOfDay' should have"
         " the format (+/-)n(y|M|w|d|h|m), e.g. -1M for one month earlier."),
    ],
)  # fmt: skip
def test_unknown_issues_and_misused_functions_are_reported(
    ctx: JqlContext, jql: str, message: str
) -> None:
    """Issue keys must exist, and functions must exist, fit the field and get valid arguments."""
    assert errors_of(ctx, jql) == [message]


def test_every_semantic_error_is_reported_at_once(ctx: JqlContext) -> None:
    """Like Jira's 400, one response lists all problems, each once."""
    jql = "foo = 1 AND status in (Nope, Nada) OR foo = 2 ORDER BY bar"
    assert errors_of(ctx, jql) == [
        "Field 'foo' does not exist or you do not have permission to view it.",
        "The value 'Nope' does not exist for the field 'status'.",
        "The value 'Nada' does not exist for the field 'status'.",
        "Field 'bar' does not exist or you do not have permission to view it.",
    ]


def test_validate_fields_returns_messages_and_evaluation_refuses(ctx: JqlContext) -> None:
    """validate_fields lists problems; matches() and sort() raise rather than guess."""
    query = parse_jql("status = Nope")
    assert validate_fields(query, ctx) == [
        "The value 'Nope' does not exist for the field 'status'."
    ]
    with pytest.raises(JqlError):
        query.matches(ctx.portfolio.issues["PAY-1"], ctx)
    with pytest.raises(JqlError):
        query.sort([], ctx)
    assert validate_fields(parse_jql("status = Done ORDER BY key"), ctx) == []
