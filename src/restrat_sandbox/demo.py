"""``restrat-sync demo``: the product against the embedded sandbox, with no network.

It starts the sandbox with a generated portfolio, writes the starter config into a temporary
folder, points the settings at the sandbox and runs ``check`` exactly as an admin would, shows
what Jira holds (issues by type and status category, what each JQL file matches), then runs a
full sync into a fresh cache and an incremental one after it, computes the metrics of every
period of the last year (printing the last four weeks per theme), publishes every dashboard page
into the sandbox's Confluence, publishes again to show that nothing unchanged is written, and
saves each page as the sandbox renders it into ``./demo-output/`` with an ``index.html``.
"""

from __future__ import annotations

import html
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from restrat_sandbox.cli import describe
from restrat_sync import dashboards
from restrat_sync.cache import Cache
from restrat_sync.check import format_report, run_check
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.http import create_session
from restrat_sync.jira import JiraGateway, connect_jira
from restrat_sync.metrics.report import metrics_table
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.model.periods import recent_periods
from restrat_sync.publish import PublishReport, slug
from restrat_sync.settings import Settings, jira_credentials
from restrat_sync.starter import write_starter
from restrat_sync.sync import format_summary, open_syncer, options_for

DEMO_OUTPUT = Path("demo-output")


def run_demo(
    flavor: str = "cloud",
    dataset: str = "small",
    serve: bool = False,
    output: Path = DEMO_OUTPUT,
    port: int = 0,
) -> int:
    started = time.monotonic()
    print(f"starting the sandbox ({flavor}, {dataset} dataset) ...", flush=True)
    server = create_sandbox(SandboxOptions(flavor=flavor, port=port), dataset).start()
    try:
        with tempfile.TemporaryDirectory(prefix="restrat-demo-") as workdir:
            report, space = run_pipeline(server, Path(workdir))
        index = save_pages(server, report, space, output)
        print(f"\nthe pages as the sandbox shows them: {index}")
        print("\n".join(describe(server)))
        print(f"\ndemo finished in {time.monotonic() - started:.1f} s", flush=True)
        if serve:
            print("serving until Ctrl-C", flush=True)
            _wait_forever()
    finally:
        server.stop()
    return 0 if report.ok else 1


def run_pipeline(server: SandboxServer, workdir: Path) -> tuple[PublishReport, str]:
    """check, sync (full, then incremental), metrics and publish (twice) against ``server``,
    printing each step; returns the last publish report and the space the pages went to."""
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
    now = datetime.now(UTC)
    print("\n".join(overview_metrics(syncer.cache, loaded, now)))
    selection = dashboards.Selection.of(dashboards.ALL, None)
    pages = dashboards.render_pages(syncer.cache, loaded, now, selection)
    report = PublishReport([], 0, 0, None)
    for attempt in ("", " (again: unchanged pages are not written)"):
        print(f"\n$ restrat-sync publish{attempt}")
        report = dashboards.publish(pages, syncer.cache, loaded, settings, session, now)
        print("\n".join(dashboards.format_report(report)))
    return report, loaded.config.confluence.space


def overview_metrics(cache: Cache, loaded: LoadedConfig, now: datetime) -> list[str]:
    """The last four weeks as a table, after computing every period of the last year (what
    the pages' trends read) as the pages do, so that publishing finds them current."""
    config = loaded.config
    selection = dashboards.Selection.of(dashboards.ALL, None)
    run = dashboards.refresh_metrics(cache, loaded, now, selection)
    if run is None:  # the cache's metrics are current already: computed again only to print
        run = compute_and_store(cache, config, recent_periods(now, config.timezone), now)
    overview = next(p for p in run.periods if p.period.kind == "rolling")
    seconds = sum(run.seconds.values())
    stored = f"({len(run.periods)} periods computed and stored in {seconds:.1f} s)"
    return [*metrics_table(run.prepared, overview, run.current), "", stored]


def save_pages(server: SandboxServer, report: PublishReport, space: str, output: Path) -> Path:
    """Each published page as the sandbox's Confluence renders it, into ``output``, with an
    ``index.html`` linking them (and the live sandbox URLs, for ``--serve``)."""
    output.mkdir(parents=True, exist_ok=True)
    for stale in output.glob("*.html"):
        stale.unlink()
    rows = []
    for page in report.pages:
        if page.page_id is None:
            continue
        url = f"{server.url}/wiki/spaces/{space}/pages/{page.page_id}"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            (output / f"{slug(page.title)}.html").write_bytes(response.read())
        rows.append(
            f'<li><a href="{html.escape(slug(page.title))}.html">{html.escape(page.title)}</a>'
            f' (live while the sandbox runs: <a href="{html.escape(url)}">{html.escape(url)}</a>)'
            "</li>"
        )
    index = output / "index.html"
    index.write_text(
        "<!doctype html><meta charset=utf-8><title>restrat-sync demo pages</title>"
        "<h1>restrat-sync demo: the published pages</h1>"
        f"<p>Saved from the sandbox's Confluence.</p><ul>{''.join(rows)}</ul>",
        encoding="utf-8",
    )
    return index


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
