"""A published page opened in headless Chromium: figures, lozenge and live Jira table render."""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By

from restrat_sandbox import SandboxServer
from restrat_sandbox.jql import JqlContext, search
from restrat_sync.pages.storage import (
    fragment,
    heading,
    jira_issues,
    paragraph,
    serialize,
    status,
    strong,
    table,
)
from tests.browser.checks import missing_browser, open_and_check, publish, save_screenshot

JQL = "project = PORT ORDER BY key ASC"


def headline_page() -> str:
    """A small dashboard: the AV figure in a table, a lozenge and a live Jira macro."""
    return serialize(
        fragment(
            heading(2, "Allocation variance"),
            table(
                ["Theme", "Planned", "Actual", "Deviation"],
                [
                    ["Grow the platform", "40%", "35%", "-5 pp"],
                    ['Reduce churn <fast> & "safely"', "60%", "65%", "+5 pp"],
                ],
            ),
            paragraph(strong("AV 12.5%"), " ", status("On track", "Green")),
            heading(2, "Issues"),
            jira_issues(JQL, "System JIRA", None, columns="key,summary,status", maximum=10),
        )
    )


def test_published_page_renders_in_chromium(
    browser: webdriver.Chrome, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The AV figure, a theme row, the lozenge and the Jira table's issue rows are displayed."""
    url = publish(sandbox, "Browser check", headline_page())
    found = open_and_check(
        browser,
        url,
        expected_texts=["AV 12.5%", "Grow the platform", 'Reduce churn <fast> & "safely"'],
        selectors=[".content table", ".status-green", ".jira-table tbody tr"],
    )
    portfolio = sandbox.state.portfolio
    context = JqlContext(portfolio, sandbox.state.caller(), portfolio.now, "cloud")
    expected_keys = [issue.key for issue in search(context, JQL)][:10]
    rows = found[".jira-table tbody tr"]
    assert [row.find_element(By.CSS_SELECTOR, "td").text for row in rows] == expected_keys
    assert found[".status-green"][0].text == "ON TRACK"  # Confluence's lozenges are upper case
    assert browser.find_elements(By.TAG_NAME, "script") == []
    shot = save_screenshot(browser, tmp_path / "browser-check.png")
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank window


def test_missing_browser_names_the_absent_binaries_and_the_install(tmp_path: Path) -> None:
    """The skip (or CI failure) reason names what is missing and how to install it."""
    present = tmp_path / "chromium"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    absent = tmp_path / "chromedriver"
    assert missing_browser([present]) is None
    reason = missing_browser([present, absent])
    assert reason is not None
    assert str(absent) in reason
    assert str(present) not in reason
    assert "apt-get install chromium chromium-driver" in reason
