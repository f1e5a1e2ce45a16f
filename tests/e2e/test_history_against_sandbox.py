"""The graph with memory end to end, on both flavours: an epic is re-parented through Jira's API
to an initiative of another theme, and the product syncs, computes and publishes again.

- The previous month's alignment variance, on its monthly page, does not move: the epic's
  stories spent that month under the old initiative.
- This month's effort is split: the epic's story in progress counts for the old theme until the
  re-parent and for the new one after it.
- The old theme's page shows the move as a pivot, naming the re-parent that caused it.

Jira writes at the real time ``R`` of the test run; the product computes before the write at
``R`` and after it two days later (or by the end of R's month), both in the config's time
zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from restrat_sandbox import SandboxServer
from restrat_sync import dashboards
from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.portfolio import read_portfolio
from restrat_sync.cache.snapshots import read_snapshots
from restrat_sync.config import LoadedConfig, load_config
from restrat_sync.http import create_session
from restrat_sync.metrics.compute import OVERALL, prepare
from restrat_sync.model.periods import month_of
from restrat_sync.pages.build import cadence_page_name, page_title, theme_page_names
from restrat_sync.settings import Settings
from restrat_sync.starter import write_starter
from restrat_sync.sync import connect_syncer, options_for
from tests.e2e.conftest import settings_for


@dataclass
class Scene:
    server: SandboxServer
    settings: Settings
    loaded: LoadedConfig
    cache: Cache

    def sync(self) -> None:
        syncer = connect_syncer(self.settings, self.loaded, create_session(), self.cache)
        syncer.run(options_for(self.loaded, full=False))

    def publish(self, now: datetime, cadence: str, period: str | None = None) -> None:
        selection = dashboards.Selection.of(cadence, period)
        pages = dashboards.render_pages(self.cache, self.loaded, now, selection)
        report = dashboards.publish(
            pages, self.cache, self.loaded, self.settings, create_session(), now
        )
        assert report.ok, report.summary()

    def page(self, name: str) -> str:
        title = page_title(self.loaded.config, name)
        answer = self.http().get(
            f"{self.server.url}/wiki/rest/api/content",
            params={"spaceKey": "PORT", "title": title, "expand": "body.storage"},
            timeout=10,
        )
        (found,) = answer.json()["results"]
        return str(found["body"]["storage"]["value"])

    def av(self, label: str) -> Any:
        (snapshot,) = read_snapshots(self.cache, [label], scope=OVERALL, metric="alignment")
        return snapshot.value

    def http(self) -> requests.Session:
        http = requests.Session()
        http.auth = (self.server.state.options.user, self.server.state.options.token)
        return http


@pytest.fixture
def scene(sandbox: SandboxServer, tmp_path: Path) -> Any:
    write_starter(tmp_path)
    settings = settings_for(sandbox, tmp_path)
    loaded = load_config(tmp_path / "config" / "restrat.yaml")
    cache = open_cache(settings.effective_database_url)
    try:
        yield Scene(sandbox, settings, loaded, cache)
    finally:
        cache.close()


def a_moving_epic(scene: Scene, now: datetime) -> tuple[str, str, str, str, str]:
    """An epic under an initiative of one theme, with a story that was active all through last
    month and is still in progress; and an initiative of another theme. (epic, story, old
    theme, new initiative, new theme), the first such epic by key."""
    config = scene.loaded.config
    prepared = prepare(read_portfolio(scene.cache, config.hierarchy.level_of), config)
    zone = config.timezone
    last_month = month_of(month_of(now, zone).start - timedelta(microseconds=1), zone)
    theme = prepared.attribution.theme
    initiatives = {
        key: theme[key]
        for key, item in prepared.items.items()
        if item.level == 2 and theme[key] in {t.key for t in config.themes}
    }
    for epic in sorted(k for k, item in prepared.items.items() if item.level == 1):
        parent = prepared.items[epic].parent_key
        if parent not in initiatives or theme[epic] != initiatives[parent]:
            continue
        for story in sorted(prepared.graph.children(epic)):
            line = prepared.timelines[story]
            if (
                prepared.items[story].level == 0
                and line.state == "active"
                and line.start
                and line.start < last_month.start
            ):
                other = next(
                    (key for key, t in sorted(initiatives.items()) if t != theme[epic]), None
                )
                if other is not None:
                    return epic, story, theme[epic], other, initiatives[other]
    raise AssertionError("the sandbox has no epic with work in progress since last month")


def reparent(scene: Scene, epic: str, initiative: str) -> None:
    """Move ``epic`` under ``initiative`` as a user would: Cloud's parent, Data Center's Parent
    Link (its field id discovered from Jira's field list)."""
    if scene.server.state.options.flavor == "cloud":
        fields: dict[str, Any] = {"parent": {"key": initiative}}
    else:
        listed = scene.http().get(f"{scene.server.url}/rest/api/2/field", timeout=10).json()
        (parent_link,) = [f["id"] for f in listed if f.get("name") == "Parent Link"]
        fields = {parent_link: initiative}
    answer = scene.http().put(
        f"{scene.server.url}/rest/api/2/issue/{epic}", json={"fields": fields}, timeout=10
    )
    assert answer.status_code == 204, answer.text


def test_a_re_parent_splits_this_month_and_leaves_last_month_alone(scene: Scene) -> None:
    zone = scene.loaded.config.timezone
    before = datetime.now().astimezone()
    scene.sync()
    epic, story, old_theme, initiative, new_theme = a_moving_epic(scene, before)
    this_month = month_of(before, zone)
    last_month = month_of(this_month.start - timedelta(microseconds=1), zone)
    monthly = cadence_page_name("monthly", last_month.label)
    scene.publish(before, "monthly", last_month.label)
    last_month_av, last_month_page = scene.av(last_month.label), scene.page(monthly)

    reparent(scene, epic, initiative)
    moved = datetime.now().astimezone()
    after = min(moved + timedelta(days=2), this_month.end - timedelta(minutes=1))
    scene.sync()
    scene.publish(after, "monthly", last_month.label)
    scene.publish(after, "themes")

    assert scene.av(last_month.label) == last_month_av
    assert scene.page(monthly) == last_month_page
    split = {b["bucket"]: b["keys"] for b in scene.av(this_month.label)["buckets"]}
    assert story in split[old_theme], "active before the re-parent: the old theme's"
    assert story in split[new_theme], "active after the re-parent: the new theme's"
    theme_page = scene.page(theme_page_names(scene.loaded.config)[old_theme])
    assert f"{old_theme} → {new_theme}" in theme_page
    assert f"{epic} parent" in theme_page or f"{epic} parent_link" in theme_page
