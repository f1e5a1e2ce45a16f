"""Metrics figures: every metric for every period of the last 12 months, on a synced cache.

Syncs the sandbox's dataset into a SQLite cache once (kept in --workdir, so later runs skip it),
then computes in a child process, as `restrat-sync metrics --history` does, and prints the
seconds per phase (load the cache, prepare timelines and the graph, compute, store snapshots),
the child's peak RSS (and that of the largest process it forked to compute the periods), and
the CPU seconds of all of them. Targets on the large dataset: 5 s and 800 MB (issue #15).

    .venv/bin/python benchmarks/metrics_bench.py [--dataset large] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sync.starter import write_starter

NOW = datetime(2026, 11, 22, tzinfo=UTC)

_SYNC = """
from restrat_sync.config import load_config
from restrat_sync.http import create_session
from restrat_sync.settings import load_settings
from restrat_sync.sync import open_syncer, options_for
settings = load_settings()
loaded = load_config(settings.config)
open_syncer(settings, loaded, create_session()).run(options_for(loaded, full=True))
"""

_COMPUTE = """
import json, os, resource, sys, time
from datetime import datetime
from restrat_sync.cache import open_cache
from restrat_sync.config import load_config
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.model.periods import recent_periods
from restrat_sync.settings import load_settings
settings = load_settings()
config = load_config(settings.config).config
now = datetime.fromisoformat(sys.argv[1])
periods = recent_periods(now, config.timezone)
cache = open_cache(settings.effective_database_url)
started = time.monotonic()
run = compute_and_store(cache, config, periods, now)
total = time.monotonic() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec from the parent.
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
# The children forked to compute the periods: the largest one's peak (RSS counts the pages it
# shares with this process too), and the CPU seconds of all, theirs included.
forked = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
times = os.times()
print(json.dumps({
    "issues": len(run.prepared.items),
    "transitions": sum(len(i.status_changes) for i in run.prepared.items.values()),
    "periods": len(periods),
    "scopes": len(run.prepared.scopes()),
    "initiatives": len(run.prepared.initiatives),
    "seconds": total,
    "phases": run.seconds,
    "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
    "forked_peak_mb": forked,
    "cpu": times.user + times.system + times.children_user + times.children_system,
}))
"""


def child(code: str, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="large", help="small, medium or large")
    parser.add_argument("--flavor", default="cloud", choices=("cloud", "datacenter"))
    parser.add_argument("--workdir", type=Path, help="keep the synced cache here between runs")
    parser.add_argument("--repeat", type=int, default=1, help="compute this many times")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="restrat-metrics-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if not (workdir / "config").exists():
        write_starter(workdir)
    database = workdir / f"{args.flavor}-{args.dataset}.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTRAT_")}
    env.update(
        RESTRAT_CONFIG=str(workdir / "config" / "restrat.yaml"),
        RESTRAT_DATABASE_URL=f"sqlite:///{database}",
    )
    if not database.exists():
        options = SandboxOptions(flavor=args.flavor, port=0)
        print(f"syncing the {args.dataset} dataset into {database} ...", flush=True)
        with create_sandbox(options, args.dataset, NOW) as server:
            env.update(
                RESTRAT_JIRA_URL=server.url,
                RESTRAT_JIRA_USER=options.user,
                RESTRAT_JIRA_TOKEN=options.token,
            )
            child(_SYNC, env)
    for _ in range(args.repeat):
        figures = json.loads(child(_COMPUTE, env, NOW.isoformat()))
        phases = ", ".join(f"{name} {sec:.2f} s" for name, sec in figures["phases"].items())
        print(
            f"{args.dataset}: {figures['issues']} issues, {figures['transitions']} transitions, "
            f"{figures['periods']} periods x {figures['scopes']} scopes "
            f"+ {figures['initiatives']} initiatives: "
            f"{figures['seconds']:.2f} s ({phases}), peak RSS {figures['peak_mb']:.0f} MB"
            f" (forked children: {figures['forked_peak_mb']:.0f} MB), "
            f"CPU {figures['cpu']:.1f} s"
        )


if __name__ == "__main__":
    main()
