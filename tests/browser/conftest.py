"""Browser fixtures: headless Debian Chromium driven by Selenium, and a sandbox to point it at.

The browser is Debian's ``chromium`` driven through Debian's ``chromedriver`` (both installed
by ``.ci/run`` with apt-get). Selenium is given the driver's path, so Selenium Manager (which
would download a browser or driver) never runs; SE_MANAGER_PATH points it at /bin/false as
well, so a future Selenium that calls it anyway fails loudly instead of downloading. Without
the binaries the browser tests skip and say how to install them; under CI (``CI`` set) they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from restrat_sandbox import SandboxOptions, SandboxServer, create_sandbox
from tests.browser.checks import CHROMEDRIVER, CHROMIUM, missing_browser

NOW = datetime(2026, 11, 22, tzinfo=UTC)  # fixed, so every run sees the same portfolio
# Headless, no GPU, and no traffic of Chromium's own: updates, sync, safe browsing, QUIC.
ARGUMENTS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1400,1000",
)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium with a fresh profile; skips (fails under CI) without the binaries."""
    reason = missing_browser()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        patch.setenv("SE_MANAGER_PATH", "/bin/false")
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A started Cloud sandbox with the small dataset, on loopback."""
    with create_sandbox(SandboxOptions(flavor="cloud", port=0), "small", NOW) as server:
        yield server
