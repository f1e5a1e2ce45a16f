"""Publish figures: build every page from the snapshots and publish them to the sandbox.

Starts the sandbox with a dataset, syncs it into a fresh SQLite cache and computes the metrics
of the last 12 months (not timed here: see sync_bench.py and metrics_bench.py), then prints the
seconds to read the page inputs, to build and render every page of every cadence, to publish
them into an empty space, and to publish them again unchanged, with the write requests of each
publish and the size of the largest storage body.

    .venv/bin/python benchmarks/publish_bench.py [--dataset medium]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sandbox.demo import sandbox_settings
from restrat_sync import dashboards
from restrat_sync.config import load_config
from restrat_sync.http import create_session
from restrat_sync.metrics.runner import compute_and_store
from restrat_sync.model.periods import recent_periods
from restrat_sync.pages.build import build_pages
from restrat_sync.pages.inputs import read_page_inputs
from restrat_sync.pages.page import CADENCES
from restrat_sync.starter import write_starter
from restrat_sync.sync import open_syncer, options_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="medium", help="small, medium or large")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with (
        create_sandbox(SandboxOptions(port=0), args.dataset) as server,
        tempfile.TemporaryDirectory() as workdir,
    ):
        write_starter(Path(workdir))
        settings = sandbox_settings(server, Path(workdir))
        loaded = load_config(settings.config)
        session = create_session()
        syncer = open_syncer(settings, loaded, session)
        syncer.run(options_for(loaded, full=True))
        cache = syncer.cache
        compute_and_store(cache, loaded.config, recent_periods(now, loaded.config.timezone), now)
        started = time.monotonic()
        inputs = read_page_inputs(cache, loaded, now)
        read = time.monotonic() - started
        started = time.monotonic()
        pages = [page for cadence in CADENCES for page in build_pages(inputs, cadence)]
        built = time.monotonic() - started
        largest = max(len(page.body.encode("utf-8")) for page in pages)
        print(
            f"{args.dataset}: {len(pages)} pages; read inputs {read:.2f} s, build and render "
            f"{built:.2f} s, largest body {largest / 1024:.0f} KiB"
        )
        for attempt in ("first publish", "unchanged publish"):
            started = time.monotonic()
            report = dashboards.publish(pages, cache, loaded, settings, session, now)
            seconds = time.monotonic() - started
            print(f"  {attempt}: {seconds:.2f} s, {report.summary()}")


if __name__ == "__main__":
    main()
