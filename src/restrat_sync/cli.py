"""The ``restrat-sync`` command line.

Exit codes: 0 ok, 1 anything else, 2 config error, 3 connection or credential error. Errors
that restrat-sync understands print as one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from restrat_sync import __version__
from restrat_sync.errors import RestratError
from restrat_sync.http import RetryPolicy
from restrat_sync.logs import LOG_FORMATS, LogFormat, configure_logging
from restrat_sync.worker.signals import release_held_signals

if TYPE_CHECKING:
    from restrat_sync.cache import Cache
    from restrat_sync.model.periods import Period

log = logging.getLogger("restrat_sync")


# A person is waiting on `check`: retry briefly, then say what is wrong.
INTERACTIVE_POLICY = RetryPolicy(max_attempts=3, max_total_seconds=30, initial_wait=1, max_wait=5)
# A sync can wait out rate limits and short outages: Atlassian's advised backoff.
SYNC_POLICY = RetryPolicy()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.func is _run_sandbox:
        args.sandbox_args = extra  # the sandbox's own parser reads them (and its --help)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.func is not _run_run:  # only the worker takes over the signals held at start
        release_held_signals()
    configure_logging(args.verbose, _log_format(args))
    try:
        code: int = args.func(args)
    except RestratError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="restrat-sync",
        description=(
            "Connects strategy to execution: reads Jira, rebuilds the strategy-to-execution "
            "graph, computes alignment and flow metrics, and publishes Confluence dashboards."
        ),
        epilog="Exit codes: 0 ok, 1 other error, 2 config error, 3 connection or credentials.",
    )
    parser.add_argument("--version", action="version", version=f"restrat-sync {__version__}")
    _add_verbose(parser, False)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_init(commands)
    _add_check(commands)
    _add_sync(commands)
    _add_db(commands)
    _add_metrics(commands)
    _add_publish(commands)
    _add_run(commands)
    _add_schedule(commands)
    _add_demo(commands)
    _add_sandbox(commands)
    _accept_verbose_after_commands(commands)
    return parser


def _add_verbose(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log debug detail"
    )


def _accept_verbose_after_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    """``restrat-sync sync -v`` works like ``restrat-sync -v sync``, at every level. The
    commands' flag has no default, so leaving it out after the command keeps the one given
    before it."""
    for command in commands.choices.values():
        _add_verbose(command, argparse.SUPPRESS)
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                _accept_verbose_after_commands(action)


def _log_format(args: argparse.Namespace) -> LogFormat:
    """--log-format where the command has it, else RESTRAT_LOG_FORMAT, else text. A bad
    RESTRAT_LOG_FORMAT falls back to text here; `run` reports it when it loads the settings."""
    chosen: str = getattr(args, "log_format", None) or os.environ.get("RESTRAT_LOG_FORMAT", "")
    for known in LOG_FORMATS:
        if chosen == known:
            return known
    return "text"


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="config file (default: RESTRAT_CONFIG or config/restrat.yaml)"
    )


# --- init ----------------------------------------------------------------------------------------


def _add_init(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = commands.add_parser(
        "init",
        help="write a starter config/ and jql/ to edit",
        description="Write a commented starter config/restrat.yaml and jql/*.jql into DIR. "
        "Existing files are never overwritten: if any is present, nothing is written.",
    )
    init.add_argument("directory", nargs="?", default=".", type=Path, help="default: .")
    init.set_defaults(func=_run_init)


def _run_init(args: argparse.Namespace) -> int:
    from restrat_sync.starter import write_starter

    written = write_starter(args.directory)
    for path in written:
        print(f"wrote {path}")
    print(
        f"next: edit {args.directory / 'config/restrat.yaml'} and the JQL files, set "
        "RESTRAT_JIRA_URL, RESTRAT_JIRA_USER and RESTRAT_JIRA_TOKEN, then run `restrat-sync check`"
    )
    return 0


# --- check ---------------------------------------------------------------------------------------


def _add_check(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "check",
        help="validate config/ and jql/, Jira, Confluence and the cache database",
        description="Validate the config offline (targets, flow states, JQL files, cron, time "
        "zone, page title lengths). Then check the connection and credentials, detect the "
        "Jira flavour, have Jira validate every JQL file (errors at the file's line and "
        "column) and count its matches, discover the story points / Epic Link / Parent Link "
        "fields, list statuses with no explicit flow-state mapping, look for the Confluence "
        "space, and read the cache database's schema revision. RESTRAT_JIRA_URL and "
        "RESTRAT_CONFLUENCE_URL (or jira.url and confluence.url) must be set; --offline checks "
        "the config alone. docs/config.md lists every message.",
    )
    _add_config_option(check)
    check.add_argument(
        "--offline",
        action="store_true",
        help="check the config alone: do not contact Jira, Confluence or the database",
    )
    check.set_defaults(func=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from restrat_sync.check import check_offline, format_report, run_check
    from restrat_sync.config import load_config
    from restrat_sync.errors import ConfigError
    from restrat_sync.http import create_session
    from restrat_sync.settings import load_settings

    settings = load_settings()
    loaded = load_config(args.config or settings.config)
    if args.offline:
        report = check_offline(loaded)
    else:
        report = run_check(loaded, settings, create_session(INTERACTIVE_POLICY))
    print("\n".join(format_report(report)))
    if report.problems:
        raise ConfigError(report.problems)
    return 0


# --- sync ----------------------------------------------------------------------------------------


def _add_sync(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sync = commands.add_parser(
        "sync",
        help="pull issues and changelogs from Jira into the local cache, incrementally",
        description="Pull every issue the themes, key results and scope select, plus the "
        "descendants of the theme anchors, with their complete changelogs, into the cache "
        "(RESTRAT_DATABASE_URL; SQLite in RESTRAT_DATA_DIR by default). Only what changed since "
        "the last sync is fetched; --full fetches everything again and reconciles deleted and "
        "moved issues. Safe to interrupt: the next sync carries on.",
    )
    sync.add_argument("--full", action="store_true", help="fetch everything, then reconcile")
    sync.add_argument("--json", action="store_true", help="print the summary as JSON")
    _add_config_option(sync)
    sync.set_defaults(func=_run_sync)


def _run_sync(args: argparse.Namespace) -> int:
    import json

    from restrat_sync.config import load_config
    from restrat_sync.http import create_session
    from restrat_sync.progress import LogProgress, TerminalProgress
    from restrat_sync.settings import load_settings
    from restrat_sync.sync import format_summary, open_syncer, options_for

    settings = load_settings()
    loaded = load_config(args.config or settings.config)
    observer = TerminalProgress() if sys.stderr.isatty() else LogProgress()
    try:
        syncer = open_syncer(settings, loaded, create_session(SYNC_POLICY), observer)
        summary = syncer.run(options_for(loaded, full=args.full))
    finally:
        observer.close()
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print("\n".join(format_summary(summary)))
    return 0


def _add_db(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = commands.add_parser(
        "db",
        help="manage the cache database",
        description="Manage the cache database. Migrations are also applied automatically "
        "whenever restrat-sync opens the cache.",
    )
    actions = db.add_subparsers(title="actions", metavar="ACTION", required=True)
    upgrade = actions.add_parser(
        "upgrade",
        help="apply pending schema migrations",
        description="Apply pending schema migrations to RESTRAT_DATABASE_URL.",
    )
    upgrade.set_defaults(func=_run_db_upgrade)


def _run_db_upgrade(_: argparse.Namespace) -> int:
    from restrat_sync.cache import upgrade
    from restrat_sync.settings import load_settings

    applied = upgrade(load_settings().effective_database_url)
    print("applied: " + ", ".join(applied) if applied else "the cache schema is up to date")
    return 0


# --- metrics -------------------------------------------------------------------------------------


def _add_metrics(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    metrics = commands.add_parser(
        "metrics",
        help="compute alignment, decision lag, flow, pivot and predictability metrics",
        description="Compute every metric of docs/metrics.md from the cache (run `sync` "
        "first) for one period, store them as snapshots (replacing earlier ones of that "
        "period) and print a table per theme, or JSON (schema: docs/metrics-json.md). Periods "
        "are cut in the config's time zone. A stored number of a closed period that a later "
        "computation changes is recorded as a restatement (--restatements lists them).",
    )
    metrics.add_argument(
        "--period",
        help="last-4-weeks (default), an ISO week (2026-W47), a month (2026-11) or a quarter "
        "(2026-Q4); with --restatements, list only that period's",
    )
    metrics.add_argument("--theme", metavar="KEY", help="show one theme only")
    metrics.add_argument(
        "--initiative",
        metavar="KEY",
        help="show one initiative only (an issue key, e.g. PORT-12; docs/metrics.md#initiatives)",
    )
    metrics.add_argument("--json", action="store_true", help="print JSON instead of a table")
    modes = metrics.add_mutually_exclusive_group()
    modes.add_argument(
        "--history",
        action="store_true",
        help="also compute and store every week, month and quarter of the last 12 months "
        "(what trend charts read)",
    )
    modes.add_argument(
        "--as-of",
        metavar="TIME",
        help="compute with only what was known at TIME (2026-10-01T00:00, read in the config's "
        "time zone unless it has an offset such as +02:00): changelog entries after it are "
        "ignored, each item's status, parent and links are as they were then, items created "
        "later do not exist. Prints --period (by default the four weeks ending at TIME) and "
        "stores nothing",
    )
    modes.add_argument(
        "--restatements",
        action="store_true",
        help="list the numbers of closed periods that later computations changed, newest "
        "first, with the issues that caused each; computes nothing",
    )
    _add_config_option(metrics)
    metrics.set_defaults(func=_run_metrics)


def _run_metrics(args: argparse.Namespace) -> int:
    import json
    from datetime import UTC

    from restrat_sync.cache import open_cache
    from restrat_sync.config import load_config
    from restrat_sync.errors import ConfigError
    from restrat_sync.metrics import report
    from restrat_sync.metrics.runner import compute_and_store, compute_as_of
    from restrat_sync.model.periods import ROLLING_LABEL, recent_periods
    from restrat_sync.settings import load_settings

    settings = load_settings()
    config = load_config(args.config or settings.config).config
    _known_theme(args.theme, [t.key for t in config.themes])
    if args.theme is not None and args.initiative is not None:
        raise ConfigError(["--theme and --initiative: show one theme or one initiative, not both"])
    now = datetime.now(UTC)
    as_of = None if args.as_of is None else _as_of(args.as_of, now, config.timezone)
    period = _period(args.period or ROLLING_LABEL, as_of or now, config.timezone)
    cache = open_cache(settings.effective_database_url)
    try:
        if args.restatements:
            return _print_restatements(cache, config.timezone, args)
        if as_of is not None:
            run = compute_as_of(cache, config, [period], as_of)
        else:
            periods = [period]
            if args.history:
                periods += [
                    p for p in recent_periods(now, config.timezone) if p.label != period.label
                ]
            run = compute_and_store(cache, config, periods, now)
    finally:
        cache.close()
    # Initiatives are items of the cache: known only once it is read.
    if args.initiative is not None:
        problem = report.unknown_initiative(args.initiative, run.prepared.initiatives)
        if problem:
            raise ConfigError([problem])
    shown = run.periods[0]
    if args.json:
        document = report.metrics_json(
            run.prepared, shown, run.current, now, args.theme, args.initiative, as_of
        )
        print(json.dumps(document, indent=2))
    else:
        table = report.metrics_table(
            run.prepared, shown, run.current, args.theme, args.initiative, as_of
        )
        print("\n".join(table))
    return 0


def _known_theme(theme: str | None, themes: list[str]) -> None:
    from restrat_sync.errors import ConfigError

    if theme is not None and theme not in themes:
        raise ConfigError([f"--theme {theme}: no such theme (themes: {', '.join(themes)})"])


def _period(label: str, now: datetime, zone: str) -> Period:
    from restrat_sync.errors import ConfigError
    from restrat_sync.model.periods import parse_period

    try:
        return parse_period(label, now, zone)
    except ValueError as exc:
        raise ConfigError([f"--period: {exc}"]) from exc


def _as_of(text: str, now: datetime, zone: str) -> datetime:
    from restrat_sync.errors import ConfigError
    from restrat_sync.model.periods import parse_moment

    try:
        moment = parse_moment(text, zone)
    except ValueError as exc:
        raise ConfigError([f"--as-of: {exc}"]) from exc
    if moment > now:
        raise ConfigError([f"--as-of {text}: that is in the future; an as-of run looks back"])
    return moment


def _print_restatements(cache: Cache, zone: str, args: argparse.Namespace) -> int:
    import json

    from restrat_sync.cache.restatements import read_restatements
    from restrat_sync.metrics import report

    found = report.of_theme(read_restatements(cache, args.period), args.theme)
    if args.json:
        print(json.dumps(report.restatements_json(found), indent=2))
    else:
        print("\n".join(report.restatements_table(found, zone)))
    return 0


# --- publish -------------------------------------------------------------------------------------


def _add_publish(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = commands.add_parser(
        "publish",
        help="publish the dashboard pages to Confluence",
        description="Build the dashboard pages (docs/pages.md) from the metric snapshots and "
        "publish them into confluence.space under confluence.parent_page. What syncs changed "
        "since the metrics were last computed, or a period a page needs, is computed first. "
        "Unchanged pages are not written; a page with the same title that restrat-sync does "
        "not own is never overwritten (that page fails, the others go on, and the exit code "
        "is 1).",
    )
    publish.add_argument(
        "--cadence",
        default="all",
        help="overview, themes, weekly, monthly, quarterly or all (default)",
    )
    publish.add_argument(
        "--period",
        help="with --cadence weekly, monthly or quarterly: the period of the cadence page, "
        "e.g. 2026-W47, 2026-11, 2026-Q4 (default: the last complete one)",
    )
    publish.add_argument(
        "--dry-run",
        action="store_true",
        help="send nothing; write each page's storage XML and an HTML preview to --out",
    )
    publish.add_argument(
        "--out", type=Path, help="the folder for --dry-run (default: ./restrat-preview)"
    )
    _add_config_option(publish)
    publish.set_defaults(func=_run_publish)


def _run_publish(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from restrat_sync import dashboards
    from restrat_sync.cache import open_cache
    from restrat_sync.config import load_config
    from restrat_sync.errors import ConfigError
    from restrat_sync.http import create_session
    from restrat_sync.settings import load_settings

    if args.out is not None and not args.dry_run:
        raise ConfigError(["--out: only with --dry-run"])
    selection = dashboards.Selection.of(args.cadence, args.period)
    settings = load_settings()
    loaded = load_config(args.config or settings.config)
    now = datetime.now(UTC)
    cache = open_cache(settings.effective_database_url)
    try:
        pages = dashboards.render_pages(cache, loaded, now, selection)
        if args.dry_run:
            out = args.out or Path("restrat-preview")
            written = dashboards.dry_run(pages, out)
            print(f"dry run: {len(written.files)} pages written to {out}; open {written.index}")
            for title, reason in written.failures.items():
                print(f"  error: {title}: {reason}")
            return 1 if written.failures else 0
        report = dashboards.publish(
            pages, cache, loaded, settings, create_session(SYNC_POLICY), now
        )
    finally:
        cache.close()
    print("\n".join(dashboards.format_report(report)))
    return 0 if report.ok else 1


# --- run and schedule ----------------------------------------------------------------------------


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the worker: sync, metrics and publishing on their schedules",
        description="Run the long-lived worker (docs/worker.md). On start it syncs and "
        "publishes every weekly, monthly or quarterly page of a last complete period that was "
        "never published; then it syncs on schedule.sync (republishing the overview and theme "
        "pages when the metrics changed) and publishes the cadence pages on schedule.weekly, "
        ".monthly and .quarterly, in the config's time zone. Config edits are picked up at the "
        "next job; an invalid edit keeps the last good config and shows on the overview page. "
        "Health: /healthz, /readyz and /metrics on RESTRAT_HEALTH_HOST:RESTRAT_HEALTH_PORT "
        "(default 0.0.0.0:8080); /readyz follows the shared cache's last successful sync. With "
        "several replicas on one database each job runs once per firing. The jobs of one run "
        "share a retry budget (schedule.retry_budget_seconds), and a service found unreachable "
        "is not asked again in that run. SIGTERM or SIGINT stops it within 10 seconds, even "
        "while it starts. Exit codes: 0 stopped by a signal (--once: no job failed); 1 a job "
        "failed (--once) or another error; 2 an invalid config or setting, or the health port "
        "already in use.",
    )
    run.add_argument(
        "--once",
        action="store_true",
        help="run every due job once and exit (for cron): the sync with its republishing, and "
        "each cadence page never published; exit 1 when a job failed",
    )
    run.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text, or json for one JSON object per line (default: RESTRAT_LOG_FORMAT, else text)",
    )
    _add_config_option(run)
    run.set_defaults(func=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from restrat_sync.worker.signals import stop_on_signals

    # Before anything slow (settings, config, opening and migrating the cache): a SIGTERM while
    # the worker starts (or held since the program started) must stop it cleanly, not kill it.
    with stop_on_signals() as stop:
        from sqlalchemy.engine import make_url

        from restrat_sync.settings import load_settings
        from restrat_sync.worker.process import run_worker

        settings = load_settings()
        secrets = [
            token.get_secret_value()
            for token in (settings.jira_token, settings.confluence_token)
            if token is not None
        ]
        if settings.database_url:  # a PostgreSQL password would show in connection errors
            password = make_url(settings.database_url).password
            secrets += [str(password)] if password else []
        # Again, now that tokens from a secrets directory are known too.
        configure_logging(args.verbose, args.log_format or settings.log_format, secrets)
        return run_worker(settings, args.config or settings.config, args.once, stop)


def _add_schedule(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schedule = commands.add_parser(
        "schedule",
        help="print when each job of the worker runs next",
        description="Print the next fire times of the worker's jobs (sync, weekly, monthly, "
        "quarterly) from the config's schedule section, in its time zone.",
    )
    _add_config_option(schedule)
    schedule.set_defaults(func=_run_schedule)


def _run_schedule(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from restrat_sync.config import load_config
    from restrat_sync.settings import load_settings
    from restrat_sync.worker.schedule import format_schedule

    config = load_config(args.config or load_settings().config).config
    print("\n".join(format_schedule(config, datetime.now(UTC))))
    return 0


# --- demo ----------------------------------------------------------------------------------------


def _add_demo(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = commands.add_parser(
        "demo",
        help="run restrat-sync against the embedded sandbox and show what it finds",
        description="Start the embedded Jira + Confluence sandbox with a generated portfolio, "
        "write a config pointing at it, and run restrat-sync against it: check, sync, metrics "
        "and publish of every page. Saves the published pages, as the sandbox renders them, "
        "into --out with an index.html. Needs no network.",
    )
    demo.add_argument("--flavor", choices=("cloud", "datacenter"), default="cloud")
    demo.add_argument("--dataset", default="small", help="small, medium, large or a JSON file")
    demo.add_argument("--serve", action="store_true", help="keep the sandbox running afterwards")
    demo.add_argument("--port", type=int, default=0, help="sandbox port (default: any free one)")
    demo.add_argument(
        "--out", type=Path, default=Path("demo-output"), help="default: ./demo-output"
    )
    demo.set_defaults(func=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from restrat_sandbox.demo import run_demo

    return run_demo(
        flavor=args.flavor, dataset=args.dataset, serve=args.serve, output=args.out, port=args.port
    )


# --- sandbox -------------------------------------------------------------------------------------


def _add_sandbox(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Its options belong to the sandbox package, which only this command loads: the parser
    # leaves them to the sandbox's own (``main`` hands them over), so no other command imports
    # the sandbox.
    sandbox = commands.add_parser(
        "sandbox",
        add_help=False,
        help="serve a local Jira + Confluence stand-in for trials and tests",
    )
    sandbox.set_defaults(func=_run_sandbox, sandbox_args=[])


def _run_sandbox(args: argparse.Namespace) -> int:
    from restrat_sandbox.cli import sandbox_parser, serve_sandbox

    return serve_sandbox(sandbox_parser().parse_args(args.sandbox_args))


if __name__ == "__main__":
    raise SystemExit(main())
