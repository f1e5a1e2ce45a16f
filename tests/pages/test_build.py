"""build_pages: the pages of each cadence with deterministic titles and labels, parents first,
the default and explicit periods, and clear errors when the snapshots are missing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from restrat_sync import __version__
from restrat_sync.errors import ConfigError
from restrat_sync.pages.build import MissingSnapshots, build_pages
from restrat_sync.pages.page import CADENCES, RenderedPage
from restrat_sync.pages.storage import check_well_formed
from tests.pages import builders
from tests.pages.builders import NOW, text

# With NOW on Sunday 2026-11-22, the last complete periods.
DEFAULTS = {"weekly": "2026-W46", "monthly": "2026-10", "quarterly": "2026-Q3"}


def stored_everything() -> dict[str, Any]:
    stored: dict[str, Any] = {"current": builders.current_metrics()}
    for label in ("last-4-weeks", "2026-W47", *DEFAULTS.values()):
        stored[label] = builders.period_metrics()
    return stored


def pages(cadence: str, label: str | None = None, **config: Any) -> list[RenderedPage]:
    settings = builders.config(**config) if config else None
    return build_pages(builders.inputs(stored_everything(), settings), cadence, label)  # type: ignore[arg-type]


def test_the_overview_is_one_page_with_the_prefix_and_labels() -> None:
    """ "[rs] Portfolio overview", under the configured parent, labelled for its cadence."""
    (page,) = pages("overview")
    assert page.title == "[rs] Portfolio overview"
    assert page.parent_title is None
    assert page.cadence == "overview"
    assert page.period == "last-4-weeks"
    assert page.labels == ("restrat-sync", "restrat-sync-overview")


def test_one_theme_page_per_theme_in_config_order() -> None:
    """ "Theme: <name>" for each theme, in the order of the config."""
    found = pages("themes")
    assert [p.title for p in found] == ["[rs] Theme: Grow revenue", "[rs] Theme: Reliability"]
    assert all(p.labels == ("restrat-sync", "restrat-sync-themes") for p in found)
    assert all(p.parent_title is None for p in found)


def test_themes_sharing_a_name_get_their_key_in_the_title() -> None:
    """Titles must be unique in a space: a shared name is told apart by the theme key."""
    themes = [
        {"key": "A", "name": "Growth", "jql": "a.jql", "target": 0.5},
        {"key": "B", "name": "Growth", "jql": "b.jql", "target": 0.4},
    ]
    assert [p.title for p in pages("themes", themes=themes)] == [
        "[rs] Theme: Growth (A)",
        "[rs] Theme: Growth (B)",
    ]


def test_titles_cannot_carry_control_characters() -> None:
    """A control character in a theme name becomes U+FFFD in the title, as in the body."""
    themes = [{"key": "A", "name": "Bad\x07name", "jql": "a.jql", "target": 0.9}]
    assert pages("themes", themes=themes)[0].title == "[rs] Theme: Bad\ufffdname"


@pytest.mark.parametrize(
    ("cadence", "parent"),
    [
        ("weekly", "Weekly telemetry"),
        ("monthly", "Monthly portfolio sync"),
        ("quarterly", "Quarterly strategy review"),
    ],
)
def test_a_cadence_gives_its_parent_page_then_the_last_complete_period(
    cadence: str, parent: str
) -> None:
    """The cadence parent page comes first; the period's page names it as its parent."""
    first, second = pages(cadence)
    label = DEFAULTS[cadence]
    assert first.title == f"[rs] {parent}"
    assert first.parent_title is None
    assert second.title == f"[rs] {parent} {label}"
    assert second.parent_title == first.title
    assert second.period == label
    assert first.labels == second.labels == ("restrat-sync", f"restrat-sync-{cadence}")


def test_an_explicit_period_is_used() -> None:
    """``--period 2026-W47`` builds that week's page."""
    assert pages("weekly", "2026-W47")[1].title == "[rs] Weekly telemetry 2026-W47"


@pytest.mark.parametrize(
    ("cadence", "label", "message"),
    [
        ("weekly", "2026-10", "the weekly pages cover a week such as 2026-W47"),
        ("quarterly", "2026-W47", "the quarterly pages cover a quarter such as 2026-Q4"),
        ("monthly", "2026-13", "'2026-13' is not a period"),
        ("overview", "2026-10", "the overview pages always cover last-4-weeks"),
        ("themes", "2026-W47", "the themes pages always cover last-4-weeks"),
    ],
)
def test_a_period_of_the_wrong_kind_is_a_usage_error(
    cadence: str, label: str, message: str
) -> None:
    """A label that is not a period of the cadence exits like a bad option (ConfigError)."""
    with pytest.raises(ConfigError, match="--period: ") as raised:
        pages(cadence, label)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("cadence", "label"),
    [("weekly", "2026-W40"), ("monthly", "2026-03"), ("quarterly", "2025-Q4"), ("overview", None)],
)
def test_a_period_without_snapshots_names_the_command_to_run(
    cadence: str, label: str | None
) -> None:
    """No snapshot at all for the period: a clear error asking for the metrics first."""
    page_inputs = builders.inputs({"2026-W47": builders.period_metrics()})
    expected = label or "last-4-weeks"
    with pytest.raises(MissingSnapshots) as raised:
        build_pages(page_inputs, cadence, label)  # type: ignore[arg-type]
    assert str(raised.value) == (
        f"no metric snapshots for the period {expected}: "
        f"run `restrat-sync metrics --period {expected}` first"
    )


def test_a_period_with_some_snapshots_is_built_with_no_data_for_the_rest() -> None:
    """One stored metric is enough for a page; everything else says "no data"."""
    page_inputs = builders.inputs({"2026-10": {("overall", "pivots"): builders.pivots()}})
    _, page = build_pages(page_inputs, "monthly")
    assert "Alignment variance: no data" in text(page.body)


@pytest.mark.parametrize("cadence", CADENCES)
def test_every_body_is_well_formed_and_has_a_footer(cadence: str) -> None:
    """Every page of every cadence parses; each data page ends with the period, the day its
    data is as of (rolling pages: the last sync's; calendar periods: the day its numbers last
    changed) and the version. The exact sync time travels with the page, for its property."""
    for page in pages(cadence):
        check_well_formed(page.body)
        assert page.synced_at == builders.LAST_SYNC
        if page.parent_title is None and cadence in DEFAULTS:
            continue  # a cadence parent page only says what its children are
        shown = text(page.body)
        rolling = cadence in ("overview", "themes")
        as_of = "Data as of 2026-11-22." if rolling else "Numbers as of 2026-11-22 ("
        assert as_of in shown
        assert f"Period: {page.period} (" in shown
        assert f"Published by restrat-sync {__version__}." in shown


@pytest.mark.parametrize("cadence", CADENCES)
def test_pages_do_not_change_with_the_time_of_day(cadence: str) -> None:
    """Built later the same day, after more syncs that changed nothing, every page is the
    same: nothing on a page moves with the clock by the minute."""
    stored = stored_everything()
    morning = builders.inputs(stored, last_sync_at=NOW - timedelta(hours=9), now=NOW)
    evening = builders.inputs(
        stored, last_sync_at=NOW + timedelta(hours=14), now=NOW + timedelta(hours=14, minutes=5)
    )
    bodies = [
        [page.body for page in build_pages(each, cadence)]  # type: ignore[arg-type]
        for each in (morning, evening)
    ]
    assert bodies[0] == bodies[1]


def test_a_closed_period_says_when_its_numbers_last_changed_not_now() -> None:
    """A week's page dates its numbers by their snapshots' last change, whatever the day it is
    built on; the rolling pages by the day of the last sync."""
    stored = stored_everything()
    later = builders.inputs(
        stored,
        now=NOW + timedelta(days=3),
        last_sync_at=NOW + timedelta(days=3),
        computed_at=NOW - timedelta(days=2),
    )
    _, week = build_pages(later, "weekly", "2026-W47")
    assert "Numbers as of 2026-11-20 (" in text(week.body)
    (overview,) = build_pages(later, "overview")
    assert "Data as of 2026-11-25." in text(overview.body)


def test_only_the_theme_pages_asked_for_are_built() -> None:
    """Given theme keys, only their pages are built (the worker builds the pages due)."""
    found = build_pages(builders.inputs(stored_everything()), "themes", themes={"RELIABILITY"})
    assert [page.title for page in found] == ["[rs] Theme: Reliability"]


def test_the_same_inputs_give_the_same_pages() -> None:
    """Building twice gives equal pages: the publisher's content hash stays put."""
    assert pages("overview") == pages("overview")
    assert pages("quarterly") == pages("quarterly")


def test_the_cadence_pages_default_to_the_period_before_now() -> None:
    """On Monday 2026-11-23 the last complete week is 2026-W47."""
    page_inputs = builders.inputs(stored_everything(), now=NOW.replace(day=23))
    assert build_pages(page_inputs, "weekly")[1].period == "2026-W47"
