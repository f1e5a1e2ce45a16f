"""A sync killed at random points, then run again, ends with the cache a clean sync makes."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

import pytest

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sync.cache import open_cache, table_digest
from tests.e2e.conftest import NOW, sync_command, sync_env


@pytest.mark.parametrize("flavor", ["cloud", "datacenter"])
def test_killed_syncs_converge_to_a_clean_sync(
    flavor: str, config_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL at random moments (seeded), several times, then a complete run: same digest."""
    config = config_dir / "config" / "restrat.yaml"
    # Latency stretches the sync so that the kills land in the middle of fetching and writing.
    options = SandboxOptions(flavor=flavor, port=0, latency_ms=120)
    with create_sandbox(options, "small", NOW) as server:
        killed_env = sync_env(server, config, tmp_path / "killed.db")
        rng = random.Random(f"kill-{flavor}")
        kills = 0
        for _ in range(4):
            with subprocess.Popen(
                sync_command(), env=killed_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ) as process:
                time.sleep(rng.uniform(0.7, 2.5))
                if process.poll() is None:
                    process.kill()
                    kills += 1
                process.wait()
        assert kills >= 2, "the kills must interrupt running syncs to prove anything"
        finished = subprocess.run(
            sync_command(), env=killed_env, capture_output=True, text=True, check=False
        )
        assert finished.returncode == 0, finished.stderr
        clean_env = sync_env(server, config, tmp_path / "clean.db")
        clean = subprocess.run(
            sync_command(), env=clean_env, capture_output=True, text=True, check=False
        )
        assert clean.returncode == 0, clean.stderr
    killed_digest = table_digest(open_cache(f"sqlite:///{tmp_path / 'killed.db'}"))
    clean_digest = table_digest(open_cache(f"sqlite:///{tmp_path / 'clean.db'}"))
    assert killed_digest == clean_digest
