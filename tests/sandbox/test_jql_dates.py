"""JQL dates: literals read in the caller's time zone, DST, epoch millis, periods, functions.

Europe/Berlin leaves CET (+01:00) for CEST (+02:00) at 2026-03-29 01:00 UTC, so that local day
lasts 23 hours and 02:00-03:00 local does not exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from restrat_sandbox.jql import JqlContext, search
from restrat_sandbox.jql._dates import date_function
from restrat_sandbox.model import Issue, IssueType, Portfolio, Project, Status, User
from restrat_sandbox.timefmt import epoch_millis

BERLIN = User("acc-berlin", "berta", "Berta Berlin", "berta@example.com", "Europe/Berlin")
LONDONER = User("acc-utc", "uma", "Uma Utc", "uma@example.com", "UTC")
DST_DAY_NOON = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def portfolio_of(updated: list[datetime], dues: list[date | None] | None = None) -> Portfolio:
    """One project, one story per timestamp: T-1 updated at updated[0], and so on."""
    portfolio = Portfolio(now=DST_DAY_NOON)
    portfolio.projects["T"] = Project("1", "T", "Time")
    portfolio.issue_types["Story"] = IssueType("1", "Story", 0)
    portfolio.statuses["Open"] = Status("1", "Open", "new")
    portfolio.users.update((u.account_id, u) for u in (BERLIN, LONDONER))
    for number, moment in enumerate(updated, 1):
        due = dues[number - 1] if dues else None
        created = utc(2026, 1, 1)
        portfolio.add_issue(
            Issue(number, f"T-{number}", "T", "Story", "Open", "x", created, moment, duedate=due)
        )
    return portfolio


def matched_numbers(
    portfolio: Portfolio, jql: str, user: User = BERLIN, now: datetime = DST_DAY_NOON
) -> list[int]:
    return sorted(issue.id for issue in search(JqlContext(portfolio, user, now), jql))


# -- literals in the user's zone -----------------------------------------------------------------


@pytest.mark.parametrize(("user", "expected"), [(BERLIN, [1]), (LONDONER, [])])
def test_date_literal_is_local_midnight_of_the_caller(user: User, expected: list[int]) -> None:
    """23:30 UTC on 2026-03-28 is already 2026-03-29 in Berlin, still the 28th in UTC."""
    portfolio = portfolio_of([utc(2026, 3, 28, 23, 30)])
    assert matched_numbers(portfolio, 'updated >= "2026-03-29"', user) == expected


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # The 23-hour local day of the DST change: [28th 23:00Z, 29th 22:00Z).
        ('updated >= "2026-03-29" AND updated < "2026-03-30"', [2, 3, 5]),
        ('updated >= "2026/03/29" and updated < "2026/03/30"', [2, 3, 5]),
        # 03:00 CEST is 01:00 UTC; an hour earlier on the wall clock is two hours earlier.
        ('updated >= "2026-03-29 03:00"', [3, 4, 5]),
        ('updated < "2026-03-29 01:59"', [1, 2]),
        # 02:30 does not exist in Berlin that night; like Java's lenient calendar it means 03:30.
        ('updated >= "2026-03-29 02:30"', [4, 5]),
        ('updated = "2026-03-29 03:00"', [3]),
        ('updated in ("2026-03-29 03:00", "2026-03-29 03:30")', [3, 5]),
        ('updated != "2026-03-29 03:00" AND updated < "2026-03-29"', [1]),
    ],
)
def test_wall_clock_literals_follow_daylight_saving_time(jql: str, expected: list[int]) -> None:
    """Literal date-times are Berlin wall-clock times on both sides of the DST change."""
    portfolio = portfolio_of(
        [
            utc(2026, 3, 28, 22, 59),  # 23:59 CET on the 28th
            utc(2026, 3, 28, 23, 0),  # 00:00 CET on the 29th
            utc(2026, 3, 29, 1, 0),  # 03:00 CEST
            utc(2026, 3, 29, 22, 0),  # 00:00 CEST on the 30th
            utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        ]
    )
    assert matched_numbers(portfolio, jql) == expected


@pytest.mark.parametrize("user", [BERLIN, LONDONER])
def test_epoch_millis_mean_the_same_instant_for_everyone(user: User) -> None:
    """updated >= 1774746000000 is zone-proof: the safe incremental watermark."""
    portfolio = portfolio_of([utc(2026, 3, 29, 0, 59), utc(2026, 3, 29, 1, 0)])
    millis = epoch_millis(utc(2026, 3, 29, 1, 0))
    assert matched_numbers(portfolio, f"updated >= {millis}", user) == [2]
    assert matched_numbers(portfolio, f'updated < "{millis}"', user) == [1]


# -- relative periods ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        # -1d moves the Berlin calendar: 14:00 CEST today -> 14:00 CET yesterday = 13:00Z.
        ("updated >= -1d", [2, 3, 4]),
        # -24h is absolute: 12:00Z yesterday.
        ("updated >= -24h", [1, 2, 3, 4]),
        ('updated >= "-2h"', [4]),
        ("updated >= -150m", [3, 4]),
        ("updated < -1w", [5]),
        ('updated > "-1w 1d"', [1, 2, 3, 4]),
        ("updated <= 1d", [1, 2, 3, 4, 5]),
        ('updated > "+4w 2d"', []),
    ],
)
def test_relative_periods_count_back_from_now(jql: str, expected: list[int]) -> None:
    """Days and weeks move the local calendar (23h across DST); hours and minutes are absolute."""
    portfolio = portfolio_of(
        [
            utc(2026, 3, 28, 12, 30),
            utc(2026, 3, 28, 13, 0),
            utc(2026, 3, 29, 9, 45),
            utc(2026, 3, 29, 10, 0),
            utc(2026, 3, 20, 12, 0),
        ]
    )
    assert matched_numbers(portfolio, jql) == expected


# -- date functions ------------------------------------------------------------------------------

FRIDAY_NOON = utc(2026, 4, 10, 12, 0)  # 14:00 CEST on Friday 2026-04-10


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("now", (), FRIDAY_NOON),
        ("startOfDay", (), utc(2026, 4, 9, 22, 0)),
        ("endOfDay", (), datetime(2026, 4, 10, 21, 59, 59, 999000, tzinfo=UTC)),
        ("startOfDay", ("-1",), utc(2026, 4, 8, 22, 0)),
        ("startOfDay", ("+1h",), utc(2026, 4, 9, 23, 0)),
        ("startOfWeek", (), utc(2026, 4, 5, 22, 0)),
        ("endOfWeek", (), datetime(2026, 4, 12, 21, 59, 59, 999000, tzinfo=UTC)),
        ("startOfMonth", (), utc(2026, 3, 31, 22, 0)),
        ("startOfMonth", ("-1",), utc(2026, 2, 28, 23, 0)),
        ("startOfMonth", ("-1M",), utc(2026, 2, 28, 23, 0)),
        ("startOfMonth", ("1d",), utc(2026, 4, 1, 22, 0)),
        ("endOfMonth", ("-1",), datetime(2026, 3, 31, 21, 59, 59, 999000, tzinfo=UTC)),
        ("endOfMonth", ("-2",), datetime(2026, 2, 28, 22, 59, 59, 999000, tzinfo=UTC)),
        ("STARTOFYEAR", (), utc(2025, 12, 31, 23, 0)),
        ("endOfYear", (), datetime(2026, 12, 31, 22, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_date_functions_snap_in_the_callers_zone(
    name: str, args: tuple[str, ...], expected: datetime
) -> None:
    """startOf/endOf day, week (Monday), month and year are Berlin boundaries, with increments."""
    assert date_function(name, args, FRIDAY_NOON, ZoneInfo("Europe/Berlin")) == expected


def test_date_functions_work_inside_queries() -> None:
    """updated >= startOfDay() keeps today's (local) issues only."""
    portfolio = portfolio_of([utc(2026, 4, 9, 21, 59), utc(2026, 4, 9, 22, 0)])
    assert matched_numbers(portfolio, "updated >= startOfDay()", now=FRIDAY_NOON) == [2]
    assert matched_numbers(portfolio, "updated >= startOfDay(-1)", now=FRIDAY_NOON) == [1, 2]


# -- due dates compare by day --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("jql", "expected"),
    [
        ('duedate = "2026-03-29"', [2]),
        ('due = "2026/03/29 18:00"', [2]),
        ('duedate >= "2026-03-29 23:59"', [2, 3]),
        ("duedate < 1d", [1, 2]),
        ("duedate <= 0d", [1, 2]),
        ("duedate > 0d", [3]),
        ("duedate is EMPTY", [4]),
        ("duedate not in (2026-03-28, 2026-03-30)", [2]),
    ],
)
def test_due_dates_compare_by_calendar_day(jql: str, expected: list[int]) -> None:
    """duedate has no time: literals, periods and functions are reduced to the local day."""
    dues = [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30), None]
    portfolio = portfolio_of([DST_DAY_NOON] * 4, dues)
    assert matched_numbers(portfolio, jql) == expected


@pytest.mark.parametrize(("user", "expected"), [(BERLIN, [2]), (LONDONER, [1])])
def test_today_for_due_dates_is_the_callers_day(user: User, expected: list[int]) -> None:
    """At 23:30 UTC it is already tomorrow in Berlin, so startOfDay() names another day."""
    portfolio = portfolio_of([DST_DAY_NOON] * 2, [date(2026, 3, 29), date(2026, 3, 30)])
    late = utc(2026, 3, 29, 23, 30)
    assert matched_numbers(portfolio, "duedate = startOfDay()", user, late) == expected


def test_resolution_date_may_be_empty() -> None:
    """resolved and resolutiondate are one field that unresolved issues leave empty."""
    portfolio = portfolio_of([DST_DAY_NOON, DST_DAY_NOON])
    portfolio.issues["T-1"].resolutiondate = utc(2026, 3, 1)
    assert matched_numbers(portfolio, "resolved is EMPTY") == [2]
    assert matched_numbers(portfolio, 'resolutiondate >= "2026-03-01"') == [1]
    assert matched_numbers(portfolio, 'resolved = "2026-03-01 01:00"') == [1]  # 00:00Z is 01:00 CET
    assert matched_numbers(portfolio, 'resolved > "2026-03-01 01:00"') == []
