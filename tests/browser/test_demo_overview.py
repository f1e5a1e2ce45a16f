"""The demo's overview page in headless Chromium, served by the sandbox the demo published to."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from restrat_sandbox import SandboxOptions, create_sandbox
from restrat_sandbox.demo import run_pipeline, sandbox_settings
from restrat_sync.cache import open_cache
from restrat_sync.cache.snapshots import read_snapshots
from tests.browser.checks import open_and_check, save_screenshot

# Jira tables outside the collapsed expands (long issue lists are folded into those).
VISIBLE_JIRA_ROWS = "table.jira-table:not(details table) tbody tr"


def test_demo_overview_shows_av_a_theme_row_and_a_jira_table(
    browser: webdriver.Chrome, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The overview the demo publishes shows the stored AV, a theme's planned share and a
    rendered Jira issues table; a screenshot is saved beside the test's files."""
    workdir = tmp_path / "demo"
    with create_sandbox(SandboxOptions(flavor="cloud", port=0), "small") as server:
        report, space = run_pipeline(server, workdir)
        capsys.readouterr()
        overview = next(page for page in report.pages if page.title == "Portfolio overview")
        cache = open_cache(sandbox_settings(server, workdir).effective_database_url)
        try:
            (alignment,) = read_snapshots(cache, ["last-4-weeks"], "overall", "alignment")
        finally:
            cache.close()
        av = f"{alignment.value['av'] * 100:.1f} pp"
        url = f"{server.url}/wiki/spaces/{space}/pages/{overview.page_id}"
        found = open_and_check(
            browser, url, ["Alignment variance", av, "Grow revenue"], [VISIBLE_JIRA_ROWS]
        )
        rows = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "tr")]
        assert any(row.startswith("Alignment variance") and av in row for row in rows), rows
        assert any(row.startswith("Grow revenue 35.0%") for row in rows), rows
        issue_rows = found[VISIBLE_JIRA_ROWS]
        assert all(row.find_element(By.CSS_SELECTOR, "a").text for row in issue_rows)
        shot = save_screenshot(browser, tmp_path / "demo-overview.png")
    assert shot.stat().st_size > 10_000
