"""Periods: ISO weeks, months, quarters and the rolling last four weeks, cut in a local zone.

Times are written in UTC; the comments give the local wall clock. Berlin is UTC+1 in winter and
UTC+2 in summer (2026: from 29 March to 25 October); New York is UTC-5 / UTC-4 (2026: from
8 March to 1 November).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.model.periods import (
    CALENDAR_KINDS,
    CalendarKind,
    Period,
    last_complete,
    last_four_weeks,
    month_of,
    parse_period,
    period_of,
    periods_between,
    previous,
    quarter_of_moment,
    recent_periods,
    week_of,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
HOUR = 1 / 24
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)  # Sunday 13:00 in Berlin, ISO week 2026-W47
FORMS = "use last-4-weeks, 2026-W47, 2026-11 or 2026-Q4"


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026-W47", utc(2026, 11, 16), utc(2026, 11, 23)),
        ("2026-W01", utc(2025, 12, 29), utc(2026, 1, 5)),
        ("2026-W53", utc(2026, 12, 28), utc(2027, 1, 4)),
        ("2025-W01", utc(2024, 12, 30), utc(2025, 1, 6)),
        ("2025-W52", utc(2025, 12, 22), utc(2025, 12, 29)),
        ("2020-W53", utc(2020, 12, 28), utc(2021, 1, 4)),
    ],
)
def test_iso_weeks_run_monday_to_monday_in_their_iso_year(
    label: str, start: datetime, end: datetime
) -> None:
    """An ISO week label names Monday 00:00 to the next Monday, week 1 possibly in December."""
    period = parse_period(label, NOW, "UTC")
    assert (period.kind, period.start, period.end, period.days) == ("week", start, end, 7)


def test_week_53_exists_only_in_iso_years_that_have_it() -> None:
    """2026 has 53 ISO weeks and 2025 only 52, and the error says so."""
    assert parse_period("2026-W53", NOW, BERLIN).label == "2026-W53"
    with pytest.raises(ValueError, match="'2025-W53' is not a period: 2025 has 52 ISO weeks; use"):
        parse_period("2025-W53", NOW, BERLIN)


@pytest.mark.parametrize(
    ("label", "start", "end"),
    [
        ("2026-11", utc(2026, 11, 1), utc(2026, 12, 1)),
        ("2026-12", utc(2026, 12, 1), utc(2027, 1, 1)),
        ("2024-02", utc(2024, 2, 1), utc(2024, 3, 1)),
        ("2026-Q1", utc(2026, 1, 1), utc(2026, 4, 1)),
        ("2026-Q4", utc(2026, 10, 1), utc(2027, 1, 1)),
    ],
)
def test_months_and_quarters_run_from_their_first_day_to_the_next(
    label: str, start: datetime, end: datetime
) -> None:
    """Month and quarter labels name calendar months and quarters."""
    period = parse_period(label, NOW, "UTC")
    assert (period.label, period.start, period.end) == (label, start, end)


@pytest.mark.parametrize(
    ("label", "now", "quarter"),
    [
        ("2026-W01", NOW, "2026-Q1"),  # Mon 2025-12-29 .. Sun 2026-01-04
        ("2026-W40", NOW, "2026-Q4"),  # Mon 2026-09-28 .. Sun 2026-10-04
        ("2026-W53", NOW, "2027-Q1"),  # Mon 2026-12-28 .. Sun 2027-01-03
        ("2026-W39", NOW, "2026-Q3"),  # Mon 2026-09-21 .. Sun 2026-09-27
        ("2026-11", NOW, "2026-Q4"),
        ("2026-Q2", NOW, "2026-Q2"),
        ("last-4-weeks", utc(2026, 10, 2, 12), "2026-Q4"),
        ("last-4-weeks", utc(2026, 9, 30, 22), "2026-Q3"),  # Thursday 1 October 00:00 sharp
    ],
)
def test_quarter_is_the_one_holding_the_last_local_day(
    label: str, now: datetime, quarter: str
) -> None:
    """A period is judged against the quarter of its last local day."""
    assert parse_period(label, now, BERLIN).quarter == quarter


@pytest.mark.parametrize(
    ("label", "zone", "start"),
    [
        ("2026-W47", BERLIN, utc(2026, 11, 15, 23)),  # Monday 00:00 CET is Sunday 23:00 UTC
        ("2026-W27", BERLIN, utc(2026, 6, 28, 22)),  # Monday 00:00 CEST is Sunday 22:00 UTC
        ("2026-W47", NEW_YORK, utc(2026, 11, 16, 5)),
        ("2026-W27", NEW_YORK, utc(2026, 6, 29, 4)),
    ],
)
def test_weeks_start_at_local_monday_midnight(label: str, zone: str, start: datetime) -> None:
    """A week starts at 00:00 on Monday in the zone, whatever that is in UTC."""
    period = parse_period(label, NOW, zone)
    assert (period.start, period.end - period.start) == (start, timedelta(days=7))


@pytest.mark.parametrize(
    ("label", "zone", "start", "end", "days"),
    [
        ("2026-03", BERLIN, utc(2026, 2, 28, 23), utc(2026, 3, 31, 22), 31 - HOUR),
        ("2026-10", BERLIN, utc(2026, 9, 30, 22), utc(2026, 10, 31, 23), 31 + HOUR),
        ("2026-W13", BERLIN, utc(2026, 3, 22, 23), utc(2026, 3, 29, 22), 7 - HOUR),
        ("2026-03", NEW_YORK, utc(2026, 3, 1, 5), utc(2026, 4, 1, 4), 31 - HOUR),
        ("2026-11", NEW_YORK, utc(2026, 11, 1, 4), utc(2026, 12, 1, 5), 30 + HOUR),
        ("2026-Q1", BERLIN, utc(2025, 12, 31, 23), utc(2026, 3, 31, 22), 90 - HOUR),
    ],
)
def test_periods_spanning_a_dst_change_are_an_hour_short_or_long(
    label: str, zone: str, start: datetime, end: datetime, days: float
) -> None:
    """A period holding a DST change lasts its days minus or plus one hour."""
    period = parse_period(label, NOW, zone)
    assert (period.start, period.end) == (start, end)
    assert period.days == pytest.approx(days)


def test_a_midnight_skipped_by_dst_starts_the_day_at_the_end_of_the_gap() -> None:
    """Havana jumps from 00:00 to 01:00 on 2026-03-08: that day starts at 01:00 (05:00 UTC)."""
    window = last_four_weeks(utc(2026, 4, 4, 12), "America/Havana")  # today: Saturday 4 April
    assert window.start == utc(2026, 3, 8, 5)


def test_an_ambiguous_midnight_starts_the_day_at_its_first_occurrence() -> None:
    """Havana repeats 00:00-01:00 on 2026-11-01: November starts at the first 00:00 (UTC-4)."""
    assert parse_period("2026-11", NOW, "America/Havana").start == utc(2026, 11, 1, 4)


@pytest.mark.parametrize(
    ("of", "midnight", "new", "old"),
    [
        (week_of, utc(2026, 11, 15, 23), "2026-W47", "2026-W46"),
        (month_of, utc(2026, 10, 31, 23), "2026-11", "2026-10"),
        (quarter_of_moment, utc(2026, 9, 30, 22), "2026-Q4", "2026-Q3"),
        (month_of, utc(2026, 3, 31, 22), "2026-04", "2026-03"),
    ],
)
def test_a_moment_at_local_midnight_belongs_to_the_period_it_starts(
    of: Callable[[datetime, str], Period], midnight: datetime, new: str, old: str
) -> None:
    """Local midnight opens the new period; the microsecond before still closes the old one."""
    assert of(midnight, BERLIN).label == new
    assert of(midnight, BERLIN).start == midnight
    assert of(midnight - timedelta(microseconds=1), BERLIN).label == old


def test_period_contains_its_start_but_not_its_end() -> None:
    """Periods are half-open: start inside, end outside."""
    period = parse_period("2026-W47", NOW, BERLIN)
    assert period.contains(period.start)
    assert period.contains(period.end - timedelta(microseconds=1))
    assert not period.contains(period.end)


def test_last_four_weeks_runs_from_midnight_27_days_ago_to_now() -> None:
    """The rolling window is the 28 local days ending now, and it ends at now itself."""
    window = parse_period("last-4-weeks", NOW, BERLIN)
    assert window.start == utc(2026, 10, 25, 23)  # Monday 26 October 00:00 CET
    assert window.end == NOW
    assert window.days == pytest.approx(27 + 13 * HOUR)


@pytest.mark.parametrize(
    ("label", "before"),
    [
        ("2026-W01", "2025-W52"),
        ("2027-W01", "2026-W53"),
        ("2026-W47", "2026-W46"),
        ("2026-01", "2025-12"),
        ("2026-03", "2026-02"),
        ("2026-Q1", "2025-Q4"),
        ("2026-Q4", "2026-Q3"),
    ],
)
def test_previous_is_the_period_of_the_same_kind_just_before(label: str, before: str) -> None:
    """previous steps back one week, month or quarter, across year ends and W53."""
    period = parse_period(label, NOW, BERLIN)
    earlier = previous(period, BERLIN)
    assert (earlier.label, earlier.kind, earlier.end) == (before, period.kind, period.start)


def test_previous_rolling_window_is_the_28_days_before_it() -> None:
    """Before the rolling window come 28 whole local days, labelled by their dates."""
    window = last_four_weeks(NOW, BERLIN)
    earlier = previous(window, BERLIN)
    assert earlier.label == "2026-09-28..2026-10-25"
    assert (earlier.kind, earlier.start) == ("rolling", utc(2026, 9, 27, 22))
    assert earlier.end == window.start
    assert earlier.days == pytest.approx(28 + HOUR)  # holds the end of summer time
    assert previous(earlier, BERLIN).end == earlier.start


@pytest.mark.parametrize(
    ("kind", "boundary", "ended", "before"),
    [
        ("week", utc(2026, 11, 15, 23), "2026-W46", "2026-W45"),
        ("month", utc(2026, 10, 31, 23), "2026-10", "2026-09"),
        ("quarter", utc(2026, 9, 30, 22), "2026-Q3", "2026-Q2"),
    ],
)
def test_last_complete_on_a_boundary_is_the_period_that_just_ended(
    kind: CalendarKind, boundary: datetime, ended: str, before: str
) -> None:
    """At local midnight the period ending there is complete; a microsecond earlier it is not."""
    assert last_complete(kind, boundary, BERLIN).label == ended
    assert last_complete(kind, boundary, BERLIN).end == boundary
    assert last_complete(kind, boundary - timedelta(microseconds=1), BERLIN).label == before


@pytest.mark.parametrize(
    ("kind", "since", "until", "labels"),
    [
        (
            "month",
            utc(2026, 1, 15),
            utc(2026, 3, 31, 22),  # April 00:00 CEST: April is not touched
            ["2026-01", "2026-02", "2026-03"],
        ),
        (
            "week",
            utc(2025, 12, 20),
            utc(2026, 1, 10),
            ["2025-W51", "2025-W52", "2026-W01", "2026-W02"],
        ),
        ("quarter", utc(2026, 3, 31, 21), utc(2026, 3, 31, 23), ["2026-Q1", "2026-Q2"]),
        ("month", utc(2026, 5, 1), utc(2026, 5, 1), []),
        ("month", utc(2026, 6, 1), utc(2026, 5, 1), []),
    ],
)
def test_periods_between_lists_every_overlapping_period_in_order(
    kind: CalendarKind, since: datetime, until: datetime, labels: list[str]
) -> None:
    """periods_between lists the periods overlapping [since, until), unclipped and oldest first."""
    found = periods_between(kind, since, until, BERLIN)
    assert [period.label for period in found] == labels
    assert all(later.start == earlier.end for earlier, later in pairwise(found))


def test_recent_periods_cover_the_last_twelve_months() -> None:
    """Now Sunday 2026-11-22 13:00 Berlin, the window is 2025-11-22 00:00 .. now.

    Weeks: 2025-W47 (17-23 Nov 2025) to 2025-W52 is 6, plus 2026-W01 to the current 2026-W47 is
    47: 53. Months: 2025-11 to the current 2026-11: 13. Quarters: 2025-Q4 to 2026-Q4: 5. Plus the
    rolling window: 72 in all.
    """
    found = recent_periods(NOW, BERLIN)
    by_kind = {kind: [p.label for p in found if p.kind == kind] for kind in CALENDAR_KINDS}
    assert [p.label for p in found if p.kind == "rolling"] == ["last-4-weeks"]
    assert (len(by_kind["week"]), len(by_kind["month"]), len(by_kind["quarter"])) == (53, 13, 5)
    assert len(found) == 72
    assert (by_kind["week"][0], by_kind["week"][-1]) == ("2025-W47", "2026-W47")
    assert (by_kind["month"][0], by_kind["month"][-1]) == ("2025-11", "2026-11")
    assert (by_kind["quarter"][0], by_kind["quarter"][-1]) == ("2025-Q4", "2026-Q4")
    current = found[-1]
    assert current.end == utc(2026, 12, 31, 23)  # the current quarter is not clipped to now


def test_recent_periods_clamp_to_the_end_of_a_shorter_month() -> None:
    """Six months before 31 August is 28 February: February is the first month listed."""
    found = recent_periods(utc(2026, 8, 31, 12), BERLIN, months=6)
    assert next(p.label for p in found if p.kind == "month") == "2026-02"


@pytest.mark.parametrize(
    "label",
    [
        "2026-W60",
        "2026-W00",
        "2026-W7",
        "2026-w47",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "2026-Q0",
        "26-11",
        "0000-01",
        "last-3-weeks",
        "",
    ],
)
def test_bad_labels_name_the_label_and_the_accepted_forms(label: str) -> None:
    """An unknown label is rejected with a message that names it and shows the valid forms."""
    with pytest.raises(ValueError, match="is not a period") as raised:
        parse_period(label, NOW, BERLIN)
    assert str(raised.value).startswith(f"{label!r} is not a period: ")
    assert str(raised.value).endswith(FORMS)


def test_naive_moments_and_unknown_zones_are_rejected() -> None:
    """A naive datetime or a zone that is not in the IANA database raises ValueError."""
    with pytest.raises(ValueError, match="no time zone"):
        week_of(datetime(2026, 11, 22), BERLIN)  # naive on purpose
    with pytest.raises(ValueError, match="'Europe/Atlantis' is not an IANA time zone"):
        week_of(NOW, "Europe/Atlantis")


ZONES = ["UTC", BERLIN, NEW_YORK, "America/Havana", "Australia/Lord_Howe", "Asia/Kathmandu"]


@given(
    moment=st.datetimes(datetime(1990, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC)),
    zone=st.sampled_from(ZONES),
    kind=st.sampled_from(CALENDAR_KINDS),
)
def test_periods_contain_their_moment_and_tile_without_gaps(
    moment: datetime, zone: str, kind: CalendarKind
) -> None:
    """The period of a moment contains it, its label names it, and neighbours meet exactly."""
    period = period_of(kind, moment, zone)
    assert period.contains(moment)
    assert parse_period(period.label, moment, zone) == period
    assert previous(period, zone).end == period.start
    assert period_of(kind, period.end, zone).start == period.end
