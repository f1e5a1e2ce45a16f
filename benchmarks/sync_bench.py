"""Sync figures against the sandbox: full and no-change incremental syncs, both flavours.

The sandbox runs in this process; each sync runs in a child process (the real CLI code path,
`open_syncer`), so its peak RSS is its own. Prints, per flavour and dataset: seconds, issues per
second, requests per 1,000 issues and peak RSS of a full sync (with 0 ms and 100 ms sandbox
latency), then requests, seconds and peak RSS of a no-change incremental sync, and the requests
and seconds of a no-change incremental sync that reconciles (as one does every
`sync.reconcile_hours`). Beside each request count the product reports, the count the sandbox
saw (`jira saw`): they must agree.

    .venv/bin/python benchmarks/sync_bench.py [--datasets medium,large] [--flavors cloud,datacenter]
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

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.starter import write_starter

NOW = datetime(2026, 11, 22, tzinfo=UTC)

_CHILD = """
import json, sys
from pathlib import Path
from restrat_sync.config import load_config
from restrat_sync.http import create_session
from restrat_sync.settings import load_settings
from restrat_sync.sync import open_syncer, options_for
settings = load_settings()
loaded = load_config(settings.config)
syncer = open_syncer(settings, loaded, create_session())
options = options_for(loaded, full=sys.argv[1] == "full")
options.reconcile = True if sys.argv[1] == "reconcile" else options.reconcile
summary = syncer.run(options).as_dict()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so the child would
# report the sandbox-holding parent's peak.
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
summary["peak_mb"] = int(status["VmHWM"].split()[0]) / 1024
print(json.dumps(summary))
"""


def run_sync(env: dict[str, str], mode: str, server: SandboxServer) -> dict[str, float]:
    """One sync in a child process; its summary, with ``jira_saw``: the requests the sandbox
    counted meanwhile."""
    with server.state.stats_lock:
        server.state.stats.clear()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sync failed:\n{done.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(done.stdout)
    with server.state.stats_lock:  # its 401/429/503 tallies are not requests of their own
        figures["jira_saw"] = sum(n for label, n in server.state.stats.items() if " " in label)
    return figures


def scenario(flavor: str, dataset: str, latency_ms: float, workdir: Path) -> None:
    options = SandboxOptions(flavor=flavor, port=0, latency_ms=latency_ms)
    with create_sandbox(options, dataset, NOW) as server:
        database = workdir / f"{flavor}-{dataset}-{latency_ms:.0f}.db"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESTRAT_")}
        env.update(
            RESTRAT_CONFIG=str(workdir / "config" / "restrat.yaml"),
            RESTRAT_DATABASE_URL=f"sqlite:///{database}",
            RESTRAT_JIRA_URL=server.url,
            RESTRAT_JIRA_USER=options.user,
            RESTRAT_JIRA_TOKEN=options.token,
        )
        full = run_sync(env, "full", server)
        again = run_sync(env, "incremental", server)
        reconciling = run_sync(env, "reconcile", server)
    issues = full["issues_new"]
    print(
        f"{flavor:<10} {dataset:<7} {latency_ms:>5.0f} ms  full: {full['seconds']:>6.1f} s "
        f"{issues / full['seconds']:>6.0f} issues/s {issues:>7.0f} issues "
        f"{1000 * full['requests_total'] / issues:>5.1f} req/1000 {full['peak_mb']:>5.0f} MB "
        f"({full['requests_total']:.0f} requests, jira saw {full['jira_saw']:.0f})"
        f" | no change: {again['requests_total']:>3.0f} requests "
        f"(jira saw {again['jira_saw']:.0f}) {again['seconds']:>5.2f} s "
        f"{again['peak_mb']:>4.0f} MB, "
        f"changelog requests {sum(v for k, v in again['requests'].items() if 'changelog' in k)}"
        f" | reconciling: {reconciling['requests_total']:>3.0f} requests "
        f"{reconciling['seconds']:>5.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default="medium")
    parser.add_argument("--flavors", default="cloud,datacenter")
    parser.add_argument("--latencies", default="0,100")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="restrat-bench-") as tmp:
        workdir = Path(tmp)
        write_starter(workdir)
        for dataset in args.datasets.split(","):
            for flavor in args.flavors.split(","):
                for latency in args.latencies.split(","):
                    scenario(flavor, dataset, float(latency), workdir)


if __name__ == "__main__":
    main()
