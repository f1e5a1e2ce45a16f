"""Config reload: edits to config/ are picked up at the next job; an invalid edit keeps the last
good config, is logged naming the file and field, and shows on the overview page until fixed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from restrat_sandbox import SandboxServer
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.model.periods import ROLLING_LABEL
from restrat_sync.worker.jobs import Jobs
from tests.worker.sandboxed import (
    SteppingClock,
    make_jobs,
    page_body,
    replace_in_config,
    sandboxed,
)

GROWTH_TARGET = "    target: 0.35\n"  # the first theme's target in the starter config
PROBLEM = "themes[0].target: a target is a share of effort between 0 and 1"


@pytest.fixture
def worker(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Jobs, SteppingClock, SandboxServer]]:
    """The jobs of a worker against the sandbox, after a first sync; the clock moves on by a
    sync interval per ``step``."""
    with sandboxed(config_dir, monkeypatch) as server:
        clock = SteppingClock()
        jobs = make_jobs(tmp_path / "locks", clock=clock)
        try:
            assert jobs.run("sync").outcome == "ok"
            yield jobs, clock, server
        finally:
            jobs.context.cache.close()


def planned(jobs: Jobs, theme: str) -> float:
    """The planned share of ``theme`` in the stored alignment of the last four weeks."""
    (alignment,) = read_snapshots(
        jobs.context.cache, [ROLLING_LABEL], scope="overall", metric="alignment"
    )
    return next(b["planned"] for b in alignment.value["buckets"] if b["bucket"] == theme)


def test_a_valid_edit_takes_effect_at_the_next_job(
    worker: tuple[Jobs, SteppingClock, SandboxServer], config_dir: Path
) -> None:
    """A new theme target is used by the next sync's metrics, without a restart."""
    jobs, clock, _ = worker
    assert planned(jobs, "GROWTH") == pytest.approx(0.35)
    replace_in_config(config_dir, GROWTH_TARGET, "    target: 0.30\n")
    replace_in_config(config_dir, "unaligned_target: 0.10", "unaligned_target: 0.15")
    clock.step()
    assert jobs.run("sync").outcome == "ok"
    assert planned(jobs, "GROWTH") == pytest.approx(0.30)
    assert planned(jobs, "UNALIGNED") == pytest.approx(0.15)


def test_an_invalid_edit_keeps_the_last_good_config_and_shows_until_fixed(
    worker: tuple[Jobs, SteppingClock, SandboxServer],
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A target of 7: the sync still runs on the old config, the log names the file and the
    field, the overview's data-quality section lists the problem; fixing the file clears it."""
    jobs, clock, server = worker
    replace_in_config(config_dir, GROWTH_TARGET, "    target: 7\n")
    clock.step()
    with caplog.at_level(logging.ERROR, logger="restrat_sync"):
        assert jobs.run("sync").outcome == "ok"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "restrat.yaml" in errors[0]
    assert PROBLEM in errors[0]
    assert planned(jobs, "GROWTH") == pytest.approx(0.35)  # the last good config
    assert PROBLEM in page_body(server, "Portfolio overview")

    replace_in_config(config_dir, "    target: 7\n", GROWTH_TARGET)
    clock.step()
    assert jobs.run("sync").outcome == "ok"
    assert jobs.context.source.problems == ()
    assert PROBLEM not in page_body(server, "Portfolio overview")


def test_an_invalid_edit_is_logged_once_not_at_every_job(
    worker: tuple[Jobs, SteppingClock, SandboxServer],
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same invalid config seen by several jobs is one error in the log."""
    jobs, clock, _ = worker
    replace_in_config(config_dir, GROWTH_TARGET, "    target: 7\n")
    with caplog.at_level(logging.ERROR, logger="restrat_sync"):
        for _ in range(3):
            clock.step()
            assert jobs.run("sync").outcome == "ok"
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
