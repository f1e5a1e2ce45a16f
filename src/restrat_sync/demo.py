"""``restrat-sync demo``: the product against the embedded sandbox, with no network.

It starts the sandbox with a generated portfolio, writes the starter config into a temporary
folder, points the settings at the sandbox and runs ``check`` exactly as an admin would, shows
what Jira holds (issues by type and status category, what each JQL file matches), then runs a
full sync into a fresh cache and an incremental one after it, and computes the metrics of
every period of the last year, printing the last four weeks per theme.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from restrat_sync.cache import Cache
from restrat_sync.check import format_report, run_check
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.http import create_session
from restrat_sync.jira import JiraGateway, connect_jira
from restrat_sync.metrics.report import metrics_table
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.periods import recent_periods
from restrat_sync.sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sync.sandbox.cli import describe
from restrat_sync.settings import Settings, jira_credentials
from restrat_sync.starter import write_starter
from restrat_sync.sync import format_summary, open_syncer, options_for


def run_demo(flavor: str = "cloud", dataset: str = "small", serve: bool = False) -> int:
    started = time.monotonic()
    print(f"starting the sandbox ({flavor}, {dataset} dataset) ...", flush=True)
    server = create_sandbox(SandboxOptions(flavor=flavor, port=0), dataset).start()
    try:
        with tempfile.TemporaryDirectory(prefix="restrat-demo-") as workdir:
            _demo(server, Path(workdir))
        print(f"\ndemo finished in {time.monotonic() - started:.1f} s")
        if serve:
            print("\n".join(describe(server)))
            print("serving until Ctrl-C", flush=True)
            _wait_forever()
    finally:
        server.stop()
    return 0


def _demo(server: SandboxServer, workdir: Path) -> None:
    write_starter(workdir)
    settings = sandbox_settings(server, workdir)
    loaded = load_config(workdir / "config" / "restrat.yaml")
    session = create_session()
    print("\n$ restrat-sync check")
    print("\n".join(format_report(run_check(loaded, settings, session))))
    gateway = connect_jira(str(settings.jira_url), jira_credentials(settings), session)
    projects = sorted(server.state.portfolio.projects)
    print(f"\nissues in projects {', '.join(projects)} by type and status category:")
    print("\n".join(format_counts(count_by_type_and_category(gateway, projects))))
    syncer = open_syncer(settings, loaded, session)
    for full in (True, False):
        print(f"\n$ restrat-sync sync{' --full' if full else ''}")
        print("\n".join(format_summary(syncer.run(options_for(loaded, full=full)))))
    print("\n$ restrat-sync metrics --history")
    print("\n".join(overview_metrics(syncer.cache, loaded, datetime.now(UTC))))


def overview_metrics(cache: Cache, loaded: LoadedConfig, now: datetime) -> list[str]:
    """The last four weeks as a table, after computing every period of the last year (what
    the pages' trends read)."""
    config = loaded.config
    periods = recent_periods(now, config.timezone)
    run = compute_and_store(cache, config, periods, now)
    overview = next(p for p in run.periods if p.period.kind == "rolling")
    stored = f"({len(periods)} periods computed and stored in {sum(run.seconds.values()):.1f} s)"
    return [*metrics_table(run.prepared, overview, run.current), "", stored]


def sandbox_settings(server: SandboxServer, workdir: Path) -> Settings:
    options = server.state.options
    return Settings(
        config=workdir / "config" / "restrat.yaml",
        data_dir=workdir / "data",
        jira_url=server.url,
        jira_user=options.user,
        jira_token=SecretStr(options.token),
        confluence_url=f"{server.url}/wiki",
    )


def count_by_type_and_category(
    gateway: JiraGateway, projects: list[str]
) -> Counter[tuple[str, str]]:
    jql = f"project in ({', '.join(projects)}) ORDER BY key ASC"
    counts: Counter[tuple[str, str]] = Counter()
    for issue in gateway.search(jql, ["issuetype", "status"]):
        fields = issue["fields"]
        category = fields["status"]["statusCategory"]["name"]
        counts[(fields["issuetype"]["name"], category)] += 1
    return counts


def format_counts(counts: Counter[tuple[str, str]]) -> list[str]:
    categories = ["To Do", "In Progress", "Done"]
    types = sorted({issue_type for issue_type, _ in counts})
    lines = [f"  {'type':<12}" + "".join(f"{c:>13}" for c in categories) + f"{'total':>8}"]
    for issue_type in types:
        row = [counts[(issue_type, category)] for category in categories]
        lines.append(f"  {issue_type:<12}" + "".join(f"{n:>13}" for n in row) + f"{sum(row):>8}")
    total = sum(counts.values())
    lines.append(f"  {'all':<12}" + " " * 13 * len(categories) + f"{total:>8}")
    return lines


def _wait_forever() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
