"""Job triggers and fire times in Europe/Berlin, across both daylight-saving changes.

Berlin keeps CEST (UTC+2) until 2026-10-25 01:00 UTC, then CET (UTC+1) until 2027-03-28
01:00 UTC, then CEST again. Both changes fall on a Sunday, so every weekly, monthly and
quarterly firing below lies wholly on one side of a change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from restrat_sync.config import Config
from restrat_sync.worker.schedule import (
    JOBS,
    format_schedule,
    job_triggers,
    latest_firing,
    next_fire_times,
    trigger_of,
)

BERLIN = ZoneInfo("Europe/Berlin")


def config(zone: str = "Europe/Berlin", **schedule: Any) -> Config:
    """A minimal valid config in ``zone`` with the given schedule fields."""
    theme = {"key": "GROWTH", "name": "Growth", "jql": "growth.jql", "target": 1.0}
    return Config.model_validate({"timezone": zone, "themes": [theme], "schedule": schedule})


def utc(text: str) -> datetime:
    """``2026-10-26T06:00`` read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def next_of(job: str, cfg: Config, now: datetime) -> datetime:
    """The next fire time of ``job`` at or after ``now``."""
    return dict(next_fire_times(cfg, now))[job]


def firings(job: str, cfg: Config, now: datetime, count: int) -> list[datetime]:
    """The next ``count`` fire times of ``job`` in UTC, stepping in UTC past each one."""
    found: list[datetime] = []
    for _ in range(count):
        fire = next_of(job, cfg, now).astimezone(UTC)
        found.append(fire)
        now = fire + timedelta(seconds=1)
    return found


def test_every_job_gets_a_trigger_in_the_zone() -> None:
    """Cron jobs get cron triggers, an interval sync an interval trigger anchored in the zone."""
    triggers = job_triggers(config(sync="every 15m"))
    assert tuple(triggers) == JOBS
    assert isinstance(triggers["sync"], IntervalTrigger)
    assert triggers["sync"].start_date == datetime(2000, 1, 1, tzinfo=BERLIN)
    assert triggers["sync"].interval == timedelta(minutes=15)
    assert all(isinstance(triggers[job], CronTrigger) for job in JOBS[1:])
    assert all(trigger.timezone == BERLIN for trigger in triggers.values())


@pytest.mark.parametrize(
    ("job", "now", "local", "in_utc"),
    [
        ("weekly", "2026-10-12T12:00", "2026-10-19T07:00+02:00", "2026-10-19T05:00"),
        ("weekly", "2026-10-20T00:00", "2026-10-26T07:00+01:00", "2026-10-26T06:00"),
        ("weekly", "2027-03-16T00:00", "2027-03-22T07:00+01:00", "2027-03-22T06:00"),
        ("weekly", "2027-03-23T00:00", "2027-03-29T07:00+02:00", "2027-03-29T05:00"),
        ("monthly", "2026-09-15T00:00", "2026-10-01T07:00+02:00", "2026-10-01T05:00"),
        ("monthly", "2026-10-02T00:00", "2026-11-01T07:00+01:00", "2026-11-01T06:00"),
        ("monthly", "2027-02-15T00:00", "2027-03-01T07:00+01:00", "2027-03-01T06:00"),
        ("monthly", "2027-03-02T00:00", "2027-04-01T07:00+02:00", "2027-04-01T05:00"),
        ("quarterly", "2026-07-02T00:00", "2026-10-01T07:00+02:00", "2026-10-01T05:00"),
        ("quarterly", "2026-10-02T00:00", "2027-01-01T07:00+01:00", "2027-01-01T06:00"),
        ("quarterly", "2027-01-02T00:00", "2027-04-01T07:00+02:00", "2027-04-01T05:00"),
    ],
)
def test_cadences_fire_at_seven_local_on_both_sides_of_a_change(
    job: str, now: str, local: str, in_utc: str
) -> None:
    """The default cadences fire at 07:00 Berlin time in summer and winter alike.

    By hand: weekly "0 7 * * mon". 2026-10-19 and 2027-03-29 are Mondays in summer time, so
    07:00 CEST = 05:00 UTC; 2026-10-26 and 2027-03-22 are Mondays in winter time, so 07:00 CET
    = 06:00 UTC. Monthly "0 7 1 * *": 1 October and 1 April are in CEST (05:00 UTC), 1 November
    and 1 March in CET (06:00 UTC). Quarterly "0 7 1 1,4,7,10 *": after 2 July comes 1 October
    (CEST, 05:00 UTC), after 2 October 1 January (CET, 06:00 UTC), after 2 January 1 April
    (CEST, 05:00 UTC).
    """
    fire = next_of(job, config(), utc(now))
    assert fire == datetime.fromisoformat(local)
    assert fire.utcoffset() == datetime.fromisoformat(local).utcoffset()  # reported in the zone
    assert fire.astimezone(UTC) == utc(in_utc)


def test_a_cron_sync_keeps_its_pace_through_the_repeated_hour() -> None:
    """A */15 cron sync fires every 15 real minutes while the clock goes back from 03:00 to 02:00.

    By hand: 00:45 UTC is 02:45 CEST; at 01:00 UTC the clock shows 02:00 again (CET), and the
    cron matches minute 00, so it fires; then 02:15 CET = 01:15 UTC.
    """
    fires = firings("sync", config(), utc("2026-10-25T00:40"), 3)
    assert fires == [utc("2026-10-25T00:45"), utc("2026-10-25T01:00"), utc("2026-10-25T01:15")]
    assert [f.astimezone(BERLIN).strftime("%H:%M %Z") for f in fires] == [
        "02:45 CEST",
        "02:00 CET",
        "02:15 CET",
    ]


def test_a_cron_sync_skips_the_missing_hour_in_spring() -> None:
    """A */15 cron sync goes from 01:45 CET straight to 03:00 CEST: 15 real minutes.

    By hand: 01:45 CET = 00:45 UTC; at 01:00 UTC the clock jumps from 02:00 CET to 03:00 CEST.
    """
    fires = firings("sync", config(), utc("2027-03-28T00:40"), 3)
    assert fires == [utc("2027-03-28T00:45"), utc("2027-03-28T01:00"), utc("2027-03-28T01:15")]
    assert fires[1].astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_an_interval_sync_counts_real_time_across_the_change() -> None:
    """An "every 2h" sync fires two real hours apart, at odd UTC hours, through the autumn change.

    By hand: the anchor 2000-01-01 00:00 CET is 1999-12-31 23:00 UTC and a day is 12 intervals,
    so the firings are at odd UTC hours: 23:00, 01:00, 03:00 UTC, shown in Berlin as 01:00
    CEST, 02:00 CET and 04:00 CET.
    """
    fires = firings("sync", config(sync="every 2h"), utc("2026-10-24T22:30"), 3)
    assert fires == [utc("2026-10-24T23:00"), utc("2026-10-25T01:00"), utc("2026-10-25T03:00")]
    assert [f.astimezone(BERLIN).strftime("%H:%M %Z") for f in fires] == [
        "01:00 CEST",
        "02:00 CET",
        "04:00 CET",
    ]


@pytest.mark.parametrize(
    ("job", "first", "second", "expected"),
    [
        ("weekly", "2026-10-26T06:00", "2026-11-02T05:59:59", "2026-10-26T06:00"),
        ("monthly", "2026-11-01T06:00:01", "2026-11-30T23:00", "2026-11-01T06:00"),
        ("quarterly", "2026-10-01T05:00", "2026-12-31T23:59", "2026-10-01T05:00"),
        ("sync", "2026-10-25T01:00", "2026-10-25T01:14:59", "2026-10-25T01:00"),
    ],
)
def test_latest_firing_is_the_same_throughout_a_firing_window(
    job: str, first: str, second: str, expected: str
) -> None:
    """Two calls at different times before the next firing give the same UTC firing."""
    trigger = job_triggers(config())[job]
    one, other = latest_firing(trigger, utc(first)), latest_firing(trigger, utc(second))
    assert one == other == utc(expected)
    assert one is not None
    assert one.tzinfo is UTC


def test_latest_firing_moves_on_at_the_next_firing() -> None:
    """A second before the weekly firing it is last week's (CEST); at the firing it is this one."""
    trigger = job_triggers(config())["weekly"]
    assert latest_firing(trigger, utc("2026-10-26T05:59:59")) == utc("2026-10-19T05:00")
    assert latest_firing(trigger, utc("2026-10-26T06:00")) == utc("2026-10-26T06:00")


def test_latest_interval_firing_is_on_the_anchored_grid() -> None:
    """Two replicas asking at 10:07:12 and 10:14:59 UTC both get the 10:00 UTC firing."""
    trigger = job_triggers(config(sync="every 15m"))["sync"]
    expected = utc("2026-11-23T10:00")
    assert latest_firing(trigger, utc("2026-11-23T10:07:12")) == expected
    assert latest_firing(trigger, utc("2026-11-23T10:14:59.999")) == expected
    # Also in another zone's notation of the same instant:
    assert latest_firing(trigger, utc("2026-11-23T10:07:12").astimezone(BERLIN)) == expected


def test_latest_firing_before_the_first_is_none() -> None:
    """Before the interval's anchor, or before a cron's first firing, there is no firing."""
    interval = trigger_of("every 15m", BERLIN)
    assert latest_firing(interval, utc("1999-12-31T22:59")) is None
    cron = CronTrigger(
        day_of_week="mon", hour=7, timezone=BERLIN, start_date=utc("2026-10-27T00:00")
    )
    assert latest_firing(cron, utc("2026-10-30T00:00")) is None


def test_latest_firing_finds_a_rare_cron() -> None:
    """A cron on 29 February is found almost four years back."""
    trigger = trigger_of("0 7 29 2 *", BERLIN)
    assert latest_firing(trigger, utc("2027-12-31T00:00")) == utc("2024-02-29T06:00")


def test_a_time_in_the_repeated_hour_fires_twice() -> None:
    """A 02:30 cron fires at 02:30 CEST and again at 02:30 CET on the autumn change day.

    By hand: 02:30 CEST = 00:30 UTC, 02:30 CET = 01:30 UTC, and the next day 02:30 CET = 01:30
    UTC.
    """
    cfg = config(sync="30 2 * * *")
    assert firings("sync", cfg, utc("2026-10-24T12:00"), 3) == [
        utc("2026-10-25T00:30"),
        utc("2026-10-25T01:30"),
        utc("2026-10-26T01:30"),
    ]
    trigger = job_triggers(cfg)["sync"]
    assert latest_firing(trigger, utc("2026-10-25T01:10")) == utc("2026-10-25T00:30")
    assert latest_firing(trigger, utc("2026-10-25T01:45")) == utc("2026-10-25T01:30")


def test_a_time_in_the_skipped_hour_fires_an_hour_later_by_the_clock() -> None:
    """A 02:30 cron fires once on the spring change day, at 03:30 CEST.

    By hand: 02:30 does not exist on 2027-03-28; read with the winter offset it is 01:30 UTC,
    which the clock shows as 03:30 CEST. The day after, 02:30 CEST = 00:30 UTC.
    """
    fires = firings("sync", config(sync="30 2 * * *"), utc("2027-03-27T12:00"), 2)
    assert fires == [utc("2027-03-28T01:30"), utc("2027-03-29T00:30")]
    assert fires[0].astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"


def test_format_schedule_lists_each_job_in_the_zone_and_in_utc() -> None:
    """One aligned line per job: expression, next fire time in Berlin and in UTC."""
    lines = format_schedule(config(sync="every 2h"), utc("2026-10-24T22:30"))
    assert lines == [
        "sync       every 2h          next 2026-10-25 01:00:00 CEST (2026-10-24 23:00:00 UTC)",
        "weekly     0 7 * * mon       next 2026-10-26 07:00:00 CET (2026-10-26 06:00:00 UTC)",
        "monthly    0 7 1 * *         next 2026-11-01 07:00:00 CET (2026-11-01 06:00:00 UTC)",
        "quarterly  0 7 1 1,4,7,10 *  next 2027-01-01 07:00:00 CET (2027-01-01 06:00:00 UTC)",
    ]


def test_next_fire_times_refuse_a_naive_now() -> None:
    """A naive datetime is a bug upstream, not a time in some zone."""
    with pytest.raises(ValueError, match="naive datetime"):
        next_fire_times(config(), datetime(2026, 10, 25, 12, 0))
