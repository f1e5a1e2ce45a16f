"""The worker process: the scheduler's jobs, rescheduling, catch-up at start, and shutdown."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import OperationalError

from restrat_sync.cli import main
from restrat_sync.errors import ConfigError
from restrat_sync.settings import load_settings
from restrat_sync.sync import SyncCounts
from restrat_sync.worker import process
from restrat_sync.worker.locks import job_runs
from restrat_sync.worker.process import Worker
from tests.worker.sandboxed import (
    cadence_titles,
    make_jobs,
    offline_environ,
    sandboxed,
    set_schedule,
    titles,
    wait_for,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def worker(config_dir: Path, tmp_path: Path) -> Iterator[Worker]:
    """A worker on the starter config (Europe/Berlin), its scheduler started paused."""
    jobs = make_jobs(tmp_path / "locks", environ=offline_environ(config_dir, tmp_path))
    context, cache = jobs.context, jobs.context.cache
    made = Worker(jobs)
    made.schedule(context.source.current)
    made.scheduler.start(paused=True)
    yield made
    made.shutdown(timeout=5)
    cache.close()


def test_the_scheduler_holds_the_four_jobs_coalesced_single_and_in_the_zone(
    worker: Worker,
) -> None:
    """sync, weekly, monthly and quarterly: coalesced, one instance, the configured misfire
    grace, triggers in the config's time zone."""
    jobs = {job.id: job for job in worker.scheduler.get_jobs()}
    assert set(jobs) == {"sync", "weekly", "monthly", "quarterly"}
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == 300
        assert job.trigger.timezone == BERLIN
    assert worker.scheduler.timezone == BERLIN


@pytest.mark.parametrize(
    ("job", "now", "expected"),
    [
        # Autumn 2026: Berlin leaves summer time on 25 October; 07:00 local is 06:00 UTC after.
        ("weekly", datetime(2026, 10, 17, 12, tzinfo=UTC), datetime(2026, 10, 19, 5, tzinfo=UTC)),
        ("weekly", datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 26, 6, tzinfo=UTC)),
        ("monthly", datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)),
        ("quarterly", datetime(2026, 9, 15, tzinfo=UTC), datetime(2026, 10, 1, 5, tzinfo=UTC)),
        ("quarterly", datetime(2026, 12, 15, tzinfo=UTC), datetime(2027, 1, 1, 6, tzinfo=UTC)),
        # Spring 2027: summer time from 28 March; 07:00 local is 05:00 UTC after.
        ("weekly", datetime(2027, 3, 27, 12, tzinfo=UTC), datetime(2027, 3, 29, 5, tzinfo=UTC)),
        ("monthly", datetime(2027, 3, 2, tzinfo=UTC), datetime(2027, 4, 1, 5, tzinfo=UTC)),
        ("sync", datetime(2026, 10, 25, 0, 50, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ],
)
def test_next_fire_times_follow_berlin_wall_clock_across_dst(
    worker: Worker, job: str, now: datetime, expected: datetime
) -> None:
    """The scheduled triggers fire at 07:00 Berlin time on either side of a clock change."""
    trigger = worker.scheduler.get_job(job).trigger
    fire = trigger.get_next_fire_time(None, now.astimezone(BERLIN))
    assert fire is not None
    assert fire.astimezone(UTC) == expected
    assert fire.astimezone(BERLIN).hour == (expected.astimezone(BERLIN).hour)


def test_a_schedule_edit_reschedules_at_the_next_job(worker: Worker, config_dir: Path) -> None:
    """After schedule.weekly is edited, the next job's reload gives the scheduler the new
    trigger."""
    set_schedule(config_dir, weekly="30 9 * * fri")
    worker.run_job("monthly")  # any job reloads the config (this one fails: empty cache)
    trigger = worker.scheduler.get_job("weekly").trigger
    fire = trigger.get_next_fire_time(None, datetime(2026, 11, 23, tzinfo=BERLIN))
    assert fire == datetime(2026, 11, 27, 9, 30, tzinfo=BERLIN)


def test_shutdown_when_idle_is_immediate(worker: Worker) -> None:
    """With no job running, shutdown stops the scheduler and reports idle at once."""
    started = time.monotonic()
    assert worker.shutdown(timeout=5) is True
    assert time.monotonic() - started < 1
    assert worker.stop.is_set()
    assert not worker.scheduler.running


def test_starting_publishes_the_cadence_pages_never_published(
    config_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a synced cache and nothing published, a starting worker publishes the last
    complete week's, month's and quarter's pages at once; once they exist, a start publishes
    no cadence page."""
    set_schedule(config_dir, sync="0 0 1 1 *")  # no scheduled sync during the test
    with sandboxed(config_dir, monkeypatch) as server:
        assert main(["sync"]) == 0
        capsys.readouterr()
        first = make_jobs(tmp_path / "locks")
        assert first.unpublished() == ["weekly", "monthly", "quarterly"]
        worker = Worker(first)
        worker.start()
        cadences = ("weekly", "monthly", "quarterly")

        def caught_up() -> bool:
            runs = job_runs(first.context.cache)
            return {run.job for run in runs if run.outcome == "ok"} >= set(cadences)

        try:
            assert wait_for(caught_up, 60)
        finally:
            assert worker.shutdown(timeout=7)
            first.context.cache.close()
        published = titles(server)
        second = make_jobs(tmp_path / "locks")
        try:
            again = [(r.job, r.outcome) for r in Worker(second).run_due()]
        finally:
            second.context.cache.close()
    assert cadence_titles(datetime.now(UTC)) <= published
    assert again == [("sync", "skipped_done")]  # the sync's firing ran; no cadence is due


def test_worker_settings_have_defaults_and_are_checked() -> None:
    """The health endpoint, readiness age and log format default sensibly; a bad log format
    is a config error naming the variable."""
    settings = load_settings({})
    assert (settings.health_host, settings.health_port) == ("0.0.0.0", 8080)  # noqa: S104
    assert settings.ready_max_age_minutes == 60
    assert settings.log_format == "text"
    tuned = load_settings({"RESTRAT_HEALTH_PORT": "9100", "RESTRAT_LOG_FORMAT": "json"})
    assert (tuned.health_port, tuned.log_format) == (9100, "json")
    with pytest.raises(ConfigError, match="RESTRAT_LOG_FORMAT"):
        load_settings({"RESTRAT_LOG_FORMAT": "yaml"})
    with pytest.raises(ConfigError, match="RESTRAT_READY_MAX_AGE_MINUTES"):
        load_settings({"RESTRAT_READY_MAX_AGE_MINUTES": "0"})


def test_schedule_prints_the_next_fire_time_of_every_job(
    config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`restrat-sync schedule` lists the four jobs with their expressions and next fire times."""
    assert main(["schedule", "--config", str(config_dir / "config" / "restrat.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["sync", "weekly", "monthly", "quarterly"]
    assert "0 7 * * mon" in lines[1]
    assert all("next " in line and "UTC" in line for line in lines)


def test_a_health_port_in_use_is_a_clear_config_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` on a health port another process holds ends with exit 2 and one line naming the
    address and what to do, before it loads anything else; no traceback."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        monkeypatch.setenv("RESTRAT_HEALTH_HOST", "127.0.0.1")
        monkeypatch.setenv("RESTRAT_HEALTH_PORT", str(port))
        monkeypatch.setenv("RESTRAT_CONFIG", "/nonexistent/restrat.yaml")  # never read
        assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: RESTRAT_HEALTH_PORT: cannot serve the health endpoints on "
        f"127.0.0.1:{port}: the port is already in use"
    )
    assert "set RESTRAT_HEALTH_PORT to a free port" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_readiness_reads_the_shared_cache_and_the_process_health(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that never synced is ready once the shared cache holds a successful sync (by
    any replica); not while the cache does not answer, nor once its scheduler stopped."""
    assert worker.readiness().last_success is None
    cache = worker.jobs.context.cache
    run = cache.start_run(False, datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    finished = datetime(2026, 11, 26, 9, 1, tzinfo=UTC)
    cache.finish_run(run, "ok", finished, vars(SyncCounts()), {}, {}, None)  # another replica
    assert worker.readiness().last_success == finished
    assert worker.readiness().problem is None

    def unreachable(_: object) -> None:
        raise OperationalError("SELECT ...", {}, Exception("connection refused"))

    monkeypatch.setattr(process, "last_successful_sync", unreachable)
    assert worker.readiness().problem == "the cache does not answer"
    monkeypatch.undo()
    worker.shutdown(timeout=5)
    assert worker.readiness().problem == "the scheduler is not running"
