"""The medium dataset's snapshots, computed as `metrics --history` computes them, are exactly
those the code before the speed-ups of issue #15 stored (``docs/performance.md``).

The sandbox's medium dataset (10,000 issues, generated deterministically at ``NOW``) is synced
over HTTP into a fresh cache, every period of the last 12 months is computed and stored, and the
stored value hash of every snapshot (sha256 of its canonical JSON, ``cache.snapshots``) is
compared with ``data/medium_snapshot_digests.json``. That file was written by the code before
the speed-ups (commit dd491f6), which computed every period in one process with the plain
per-scope passes: any number, key list or ordering that the faster paths change shows here,
named by period, scope and metric.

A digest file rather than a second, slow computation in the test: the slow path *is* the old
code, and keeping it beside the new one would mean two copies of every metric's feeding. The
file is regenerated, after a change meant to change numbers, with
``.venv/bin/python -m tests.e2e.test_snapshots_unchanged`` (and the diff reviewed).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sync.cache import open_cache
from restrat_sync.cache.models import MetricSnapshot
from restrat_sync.config import load_config
from restrat_sync.http import create_session
from restrat_sync.metrics import runner
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.model.periods import recent_periods
from restrat_sync.starter import write_starter
from restrat_sync.sync import SyncOptions, open_syncer
from tests.e2e.conftest import NOW, settings_for

DIGESTS = Path(__file__).parent / "data" / "medium_snapshot_digests.json"
# What describes "now" (the last sync's wall-clock time in data quality) differs run to run.
PERIODS_ONLY = "current"


def computed_digests(workdir: Path) -> dict[str, str]:
    """Sync the medium dataset into a cache in ``workdir``, compute and store every period of
    the last 12 months at ``NOW``, and return "period|scope|metric" -> stored value hash."""
    write_starter(workdir)
    loaded = load_config(workdir / "config" / "restrat.yaml")
    server = create_sandbox(SandboxOptions(flavor="cloud", port=0), "medium", NOW)
    with server:
        settings = settings_for(server, workdir)
        open_syncer(settings, loaded, create_session()).run(SyncOptions(full=True))
    cache = open_cache(settings.effective_database_url)
    try:
        periods = recent_periods(NOW, loaded.config.timezone)
        compute_and_store(cache, loaded.config, periods, NOW)
        table = MetricSnapshot.__table__
        statement = select(table.c.period, table.c.scope, table.c.metric, table.c.value_hash)
        with cache.engine.connect() as connection:
            rows = connection.execute(statement.where(table.c.period != PERIODS_ONLY)).all()
    finally:
        cache.close()
    # 64 bits of each hash tell values apart as surely as 256 here, in a quarter of the file.
    return {
        f"{period}|{scope}|{metric}": str(digest)[:16] for period, scope, metric, digest in rows
    }


@pytest.fixture(scope="module")
def digests(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The digests as computed for a large portfolio: on forked children (``metrics.runner``
    forks from 50,000 items; the medium dataset has 10,000)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "FORK_FROM_ITEMS", 0)
        yield computed_digests(tmp_path_factory.mktemp("medium"))


def test_medium_snapshots_equal_those_before_the_speed_ups(digests: dict[str, str]) -> None:
    """Every snapshot of every period, scope and metric hashes as before, and none is missing
    or new."""
    expected: dict[str, str] = json.loads(DIGESTS.read_text())
    assert len(expected) > 5_000  # 72 periods x (6 theme scopes + initiatives) x metrics
    missing = sorted(expected.keys() - digests.keys())
    new = sorted(digests.keys() - expected.keys())
    both = expected.keys() & digests.keys()
    differ = sorted(key for key in both if expected[key] != digests[key])
    assert (missing[:10], new[:10], differ[:10]) == ([], [], [])


def main() -> None:
    """Write the digest file from the code checked out now (see the module docstring)."""
    with tempfile.TemporaryDirectory() as folder:
        found = computed_digests(Path(folder))
    DIGESTS.parent.mkdir(exist_ok=True)
    DIGESTS.write_text(json.dumps(dict(sorted(found.items())), indent=0) + "\n")
    print(f"wrote {len(found)} digests to {DIGESTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
