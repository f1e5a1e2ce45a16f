"""When the worker's jobs fire: APScheduler triggers from ``config.schedule``, read in
``config.timezone``.

Cron expressions follow the zone's wall clock, so ``0 7 * * mon`` fires at 07:00 local time in
summer and in winter alike: an hour apart in UTC. A cron time inside the hour that the spring
change skips fires once, at the same UTC instant as the winter-time reading (02:30 becomes
03:30 summer time); one inside the hour that the autumn change repeats fires twice, once in
each reading. An interval (``every 15m``) counts real time from a fixed anchor, midnight of
2000-01-01 in the zone, and ignores the clock change.

Every firing is a pure function of the config and the time, so replicas that share a database
agree on which firing is due and can claim it by its time (``locks.claim_firing``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from restrat_sync.config import Config, cron_trigger, interval_seconds

JOBS: tuple[str, ...] = ("sync", "weekly", "monthly", "quarterly")
INTERVAL_ANCHOR = datetime(2000, 1, 1)  # midnight, read in the configured zone
# How far back latest_firing looks, widening until a firing turns up: the first window suits a
# frequent sync, the last one covers any five-field cron that fires at all (29 February).
SEARCH_WINDOWS = (
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=32),
    timedelta(days=93),
    timedelta(days=367),
    timedelta(days=8 * 366 + 1),
)
STEP = timedelta(seconds=1)  # firings fall on whole seconds


def job_triggers(config: Config) -> dict[str, BaseTrigger]:
    """Each job's trigger, in ``JOBS`` order, in the configured time zone."""
    zone = ZoneInfo(config.timezone)
    return {job: trigger_of(expression_of(config, job), zone) for job in JOBS}


def expression_of(config: Config, job: str) -> str:
    """The schedule expression of ``job`` as the config writes it."""
    return str(getattr(config.schedule, job))


def trigger_of(expression: str, zone: ZoneInfo) -> BaseTrigger:
    """A cron trigger, or an interval trigger anchored at ``INTERVAL_ANCHOR`` in ``zone``."""
    seconds = interval_seconds(expression)
    if seconds is None:
        return cron_trigger(expression, zone)
    anchor = INTERVAL_ANCHOR.replace(tzinfo=zone)
    return IntervalTrigger(seconds=seconds, start_date=anchor, timezone=zone)


def latest_firing(trigger: BaseTrigger, now: datetime) -> datetime | None:
    """The latest fire time at or before ``now``, in UTC; None when there is none yet.

    It depends only on the trigger and ``now``, and stays the same for every ``now`` up to the
    next firing: the key under which replicas claim a run.
    """
    now = as_utc(now)
    if isinstance(trigger, IntervalTrigger):
        return _latest_interval(trigger, now)
    for window in SEARCH_WINDOWS:
        found = _last_fire_between(trigger, now - window, now)
        if found is not None:
            return found
    return None


def next_fire_times(config: Config, now: datetime) -> list[tuple[str, datetime]]:
    """Each job's next fire time at or after ``now``, in the configured zone; a job that never
    fires again is left out."""
    zone = ZoneInfo(config.timezone)
    found = []
    for job, trigger in job_triggers(config).items():
        fire = trigger.get_next_fire_time(None, as_utc(now).astimezone(zone))
        if fire is not None:
            found.append((job, fire.astimezone(zone)))
    return found


def format_schedule(config: Config, now: datetime) -> list[str]:
    """One line per job for ``restrat-sync schedule``: the job, its expression, and its next
    fire time in the configured zone and in UTC."""
    upcoming = dict(next_fire_times(config, now))
    width = max(len(expression_of(config, job)) for job in JOBS)
    lines = []
    for job in JOBS:
        fire = upcoming.get(job)
        when = "never fires again" if fire is None else f"next {_both_zones(fire)}"
        lines.append(f"{job:<9}  {expression_of(config, job):<{width}}  {when}")
    return lines


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is refused, as everywhere in restrat-sync."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given where an instant is required")
    return moment.astimezone(UTC)


def _both_zones(fire: datetime) -> str:
    return f"{fire:%Y-%m-%d %H:%M:%S %Z} ({fire.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"


def _latest_interval(trigger: IntervalTrigger, now: datetime) -> datetime | None:
    # Exact arithmetic in UTC: start + k * interval, as APScheduler computes its fire times.
    start = as_utc(trigger.start_date)
    if now < start:
        return None
    interval: timedelta = trigger.interval
    return start + (now - start) // interval * interval


def _last_fire_between(trigger: BaseTrigger, start: datetime, end: datetime) -> datetime | None:
    # Walk forward through the window. Arithmetic stays in UTC: adding to a zoned datetime
    # would move along the wall clock and lose the fold of a repeated hour.
    found = None
    fire = _next_fire(trigger, start)
    while fire is not None and fire <= end:
        found = fire
        fire = _next_fire(trigger, fire + STEP)
    return found


def _next_fire(trigger: BaseTrigger, at: datetime) -> datetime | None:
    fire = trigger.get_next_fire_time(None, at)
    return None if fire is None else as_utc(fire)
