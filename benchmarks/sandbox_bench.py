"""Sandbox figures: dataset generation time and memory, and search page latency.

Each size is generated in a fresh subprocess so that peak RSS is that size's own. Then a
sandbox serving the medium dataset is paged through over loopback, as a client would.

    .venv/bin/python benchmarks/sandbox_bench.py [--sizes small,medium,large]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import UTC, datetime

import requests

from restrat_sandbox import DEFAULT_TOKEN, DEFAULT_USER, SandboxOptions, create_sandbox

NOW = datetime(2026, 11, 22, tzinfo=UTC)

_GENERATE = """
import json, sys, time
from datetime import UTC, datetime
from restrat_sandbox.generator import generate_portfolio
started = time.perf_counter()
portfolio = generate_portfolio(sys.argv[1], seed=7, now=datetime(2026, 11, 22, tzinfo=UTC))
seconds = time.perf_counter() - started
histories = sum(len(issue.histories) for issue in portfolio.issues.values())
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
peak_mb = int(status["VmHWM"].split()[0]) / 1024  # not ru_maxrss: it survives fork and exec
print(json.dumps({"issues": len(portfolio.issues), "histories": histories,
                  "seconds": seconds, "peak_mb": peak_mb}))
"""


def generation(size: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _GENERATE, size], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def paging(flavor: str) -> tuple[int, int, float]:
    """Page every issue of the medium dataset with fields and changelog; (issues, pages, s)."""
    with create_sandbox(SandboxOptions(flavor=flavor), "medium", NOW) as server:
        http = requests.Session()
        http.auth = (DEFAULT_USER, DEFAULT_TOKEN)
        started = time.perf_counter()
        issues, pages = 0, 0
        for page in _pages(http, server.url, flavor):
            issues += len(page)
            pages += 1
        return issues, pages, time.perf_counter() - started


def _pages(http: requests.Session, url: str, flavor: str) -> list[list[object]]:
    jql = "project in (PORT, PAY, MOB, DATA, OPS) ORDER BY key ASC"
    found: list[list[object]] = []
    if flavor == "cloud":
        body: dict[str, object] = {
            "jql": jql,
            "fields": ["*all"],
            "expand": "changelog",
            "maxResults": 5000,
        }
        while True:
            answer = http.post(f"{url}/rest/api/3/search/jql", json=body).json()
            found.append(answer["issues"])
            if answer.get("isLast", True):
                return found
            body["nextPageToken"] = answer["nextPageToken"]
    start = 0
    while True:
        params = {
            "jql": jql,
            "fields": "*all",
            "expand": "changelog",
            "startAt": start,
            "maxResults": 1000,
        }
        answer = http.get(f"{url}/rest/api/2/search", params=params).json()
        found.append(answer["issues"])
        start += len(answer["issues"])
        if start >= answer["total"] or not answer["issues"]:
            return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="small,medium,large")
    args = parser.parse_args()
    print(f"{'dataset':<8} {'issues':>8} {'histories':>10} {'seconds':>8} {'peak RSS MB':>12}")
    for size in args.sizes.split(","):
        f = generation(size)
        print(
            f"{size:<8} {f['issues']:>8.0f} {f['histories']:>10.0f} {f['seconds']:>8.2f} "
            f"{f['peak_mb']:>12.0f}"
        )
    print("\npaging the medium dataset with all fields and changelog over loopback:")
    for flavor in ("cloud", "datacenter"):
        issues, pages, seconds = paging(flavor)
        print(
            f"  {flavor:<10} {issues} issues in {pages} pages, {seconds:.1f} s "
            f"({1000 * seconds / pages:.0f} ms a page)"
        )


if __name__ == "__main__":
    main()
