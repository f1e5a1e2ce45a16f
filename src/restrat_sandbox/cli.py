"""``restrat-sync sandbox``: options and the foreground server."""

from __future__ import annotations

import argparse
import signal
from datetime import UTC, datetime
from types import FrameType

from restrat_sandbox import (
    DEFAULT_TOKEN,
    DEFAULT_USER,
    FLAVORS,
    SandboxOptions,
    SandboxServer,
    create_sandbox,
)
from restrat_sync.errors import ConfigError


def sandbox_parser() -> argparse.ArgumentParser:
    """The options of ``restrat-sync sandbox``."""
    parser = argparse.ArgumentParser(
        prog="restrat-sync sandbox",
        description="Serve a local stand-in for Jira (at /) and Confluence (at /wiki) that "
        "speaks their REST APIs, with a generated portfolio. It prints its URLs and "
        "credentials. Admin endpoints: GET/DELETE /_sandbox/stats, POST /_sandbox/reset, "
        "/_sandbox/holds (docs/sandbox.md).",
    )
    add_sandbox_arguments(parser)
    return parser


def add_sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flavor", choices=FLAVORS, default="cloud", help="default: cloud")
    parser.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (loopback)")
    parser.add_argument("--port", type=int, default=8990, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")
    parser.add_argument(
        "--dataset",
        default="small",
        help="small (~500 issues), medium (~10,000), large (~100,000), or a JSON file of "
        "Jira issues as the REST API returns them",
    )
    parser.add_argument("--now", help="the date the generated portfolio ends at (YYYY-MM-DD)")
    parser.add_argument("--user", default=DEFAULT_USER, help=f"default: {DEFAULT_USER}")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help=f"default: {DEFAULT_TOKEN}")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer")
    parser.add_argument(
        "--rate-limit", type=float, default=0.0, help="requests per second before 429 (0: none)"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="fraction of requests answered 503"
    )


def options_from(args: argparse.Namespace) -> SandboxOptions:
    if not 0 <= args.fault_rate <= 1:
        raise ConfigError([f"--fault-rate {args.fault_rate}: must be between 0 and 1"])
    return SandboxOptions(
        flavor=args.flavor,
        host=args.host,
        port=args.port,
        user=args.user,
        token=args.token,
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        fault_rate=args.fault_rate,
        seed=args.seed,
    )


def parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ConfigError([f"--now {text!r}: expected a date like 2026-11-22"]) from None


def describe(server: SandboxServer) -> list[str]:
    options = server.state.options
    portfolio = server.state.portfolio
    return [
        f"sandbox ({options.flavor}) with {len(portfolio.issues)} issues, "
        f"ending {portfolio.now:%Y-%m-%d}",
        f"  Jira:        {server.url}",
        f"  Confluence:  {server.url}/wiki   (pages: {server.url}/wiki/spaces/PORT)",
        f"  credentials: {options.user} / {options.token}",
        f"  export RESTRAT_JIRA_URL={server.url} RESTRAT_JIRA_USER={options.user} "
        f"RESTRAT_JIRA_TOKEN={options.token} RESTRAT_CONFLUENCE_URL={server.url}/wiki",
    ]


def serve_sandbox(args: argparse.Namespace) -> int:
    try:
        server = create_sandbox(options_from(args), args.dataset, parse_now(args.now))
    except (OSError, ValueError) as exc:
        raise ConfigError([f"sandbox: {exc}"]) from None
    print("\n".join(describe(server)), flush=True)
    print("serving until Ctrl-C or SIGTERM", flush=True)
    # SIGTERM (docker stop, systemd, CI teardown) ends the server like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    print("sandbox stopped", flush=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
