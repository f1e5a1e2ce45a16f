"""Helpers for browser tests: publish a page to the sandbox, open it, check it, photograph it.

``open_and_check`` is the reusable core: the demo-overview test calls it with the overview's
view URL, the texts a reader must see and the CSS selectors that must be displayed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from restrat_sandbox import DEFAULT_TOKEN, DEFAULT_USER, SandboxServer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def missing_browser(binaries: Iterable[Path] = (CHROMIUM, CHROMEDRIVER)) -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and its driver are there."""
    missing = [str(path) for path in binaries if not os.access(path, os.X_OK)]
    if not missing:
        return None
    return (
        f"the browser tests need Debian's Chromium; missing: {', '.join(missing)}. Install "
        "them with `apt-get install chromium chromium-driver` (as root; .ci/run does this)"
    )


def publish(server: SandboxServer, title: str, body: str, space: str = "PORT") -> str:
    """Create a page through the sandbox's REST API; return the URL of its HTML view."""
    payload: dict[str, Any] = {
        "type": "page",
        "title": title,
        "space": {"key": space},
        "body": {"storage": {"value": body, "representation": "storage"}},
    }
    answer = requests.post(
        f"{server.url}/wiki/rest/api/content",
        json=payload,
        auth=(DEFAULT_USER, DEFAULT_TOKEN),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return f"{server.url}/wiki{answer.json()['_links']['webui']}"


def open_and_check(
    browser: WebDriver,
    url: str,
    expected_texts: Iterable[str],
    selectors: Iterable[str],
    timeout: float = 15,
) -> dict[str, list[WebElement]]:
    """Open ``url``; wait until each text is visible and each selector matches displayed elements.

    Texts are looked for in the body's rendered text (WebDriver's visible text, so CSS
    ``text-transform`` applies: avoid expecting the text of upper-cased lozenges). Returns the
    displayed elements of each selector, for further checks.
    """
    browser.get(url)
    wait = WebDriverWait(browser, timeout)
    for text in expected_texts:
        wait.until(
            lambda driver, text=text: text in driver.find_element(By.TAG_NAME, "body").text,
            message=f"{text!r} is not visible on {url}",
        )
    found = {}
    for selector in selectors:
        located = (By.CSS_SELECTOR, selector)
        elements = wait.until(
            ec.visibility_of_all_elements_located(located),
            message=f"nothing displayed matches {selector!r} on {url}",
        )
        assert elements, selector
        assert all(element.is_displayed() for element in elements), selector
        found[selector] = elements
    return found


def save_screenshot(browser: WebDriver, path: Path) -> Path:
    """Save the window as a PNG at ``path`` and check the file is a non-empty PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(path)), f"no screenshot written to {path}"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC), f"{path} is not a PNG"
    assert len(data) > 1000, f"{path} is too small to hold a screenshot"
    return path
