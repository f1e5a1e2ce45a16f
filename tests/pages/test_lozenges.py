"""Status lozenges from the ``pages`` thresholds, and the validation of those thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from restrat_sync.config import LowerIsBetter, PagesConfig, ShareHigherIsBetter, load_config
from restrat_sync.errors import ConfigError
from restrat_sync.pages.lozenges import Colour, Lozenge, grade, grade_deviation, issue_status

AV = PagesConfig().alignment_variance  # green <= 0.10, yellow <= 0.20


@pytest.mark.parametrize(
    ("value", "colour"),
    [(0.0, "Green"), (0.10, "Green"), (0.1001, "Yellow"), (0.20, "Yellow"), (0.2001, "Red")],
)
def test_lower_is_better_bands_include_their_thresholds(value: float, colour: str) -> None:
    """AV at or below 10% is green, at or below 20% yellow, above that red."""
    assert grade(value, AV).colour == colour


@pytest.mark.parametrize(
    ("value", "colour"),
    [(0.9, "Green"), (0.4, "Green"), (0.39, "Yellow"), (0.2, "Yellow"), (0.19, "Red")],
)
def test_higher_is_better_bands_turn_the_other_way(value: float, colour: str) -> None:
    """Flow efficiency at or above 40% is green, at or above 20% yellow, below that red."""
    assert grade(value, PagesConfig().flow_efficiency).colour == colour


def test_no_data_is_grey_never_a_colour() -> None:
    """Nothing measured is not good news: it is a grey "no data" lozenge."""
    assert grade(None, AV) == Lozenge("no data", "Grey")


@pytest.mark.parametrize(
    ("deviation", "colour"), [(0.04, "Green"), (-0.04, "Green"), (-0.12, "Red"), (0.07, "Yellow")]
)
def test_a_deviation_is_judged_by_its_size_either_way(deviation: float, colour: str) -> None:
    """Under- and over-investment by the same amount get the same colour."""
    assert grade_deviation(deviation, PagesConfig().deviation).colour == colour


@pytest.mark.parametrize(
    ("category", "colour"),
    [("new", "Grey"), ("indeterminate", "Blue"), ("done", "Green"), ("?", "Grey")],
)
def test_issue_status_lozenges_follow_the_status_category(category: str, colour: Colour) -> None:
    """An anchor's status is coloured as Jira colours its category; the title is the name."""
    assert issue_status("In Prüfung", category) == Lozenge("In Prüfung", colour)


def test_custom_thresholds_change_the_colour() -> None:
    """Moving the thresholds moves the colour: 15% AV is yellow by default, green at 0.2."""
    assert grade(0.15, AV).colour == "Yellow"
    assert (
        grade(
            0.15,
            PagesConfig.model_validate(
                {"alignment_variance": {"green": 0.2, "yellow": 0.3}}
            ).alignment_variance,
        ).colour
        == "Green"
    )


def test_the_starter_config_has_the_default_thresholds(config_dir: Path) -> None:
    """The pages section of config/restrat.yaml spells out the defaults."""
    loaded = load_config(config_dir / "config" / "restrat.yaml")
    assert loaded.config.pages == PagesConfig()


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "  alignment_variance: {green: 0.3, yellow: 0.2}\n",
            "pages.alignment_variance: yellow (0.2) must not be below green (0.3)",
        ),
        (
            "  flow_efficiency: {green: 0.2, yellow: 0.4}\n",
            "pages.flow_efficiency: yellow (0.4) must not be above green (0.2)",
        ),
        (
            "  on_time_rate: {green: 85, yellow: 70}\n",
            "pages.on_time_rate: green is a share between 0 and 1",
        ),
        ("  decision_lag_days: {green: -1, yellow: 14}\n", "pages.decision_lag_days.green"),
        ("  trend_months: 2\n", "pages.trend_months"),
        ("  colours: {}\n", "pages.colours: unknown key"),
    ],
)
def test_bad_thresholds_are_rejected_naming_the_field(
    config_dir: Path, section: str, message: str
) -> None:
    """A threshold the wrong way round, a share given in percent, a negative number of days,
    an unknown key: each error names the field under ``pages``."""
    path = config_dir / "config" / "restrat.yaml"
    text = path.read_text(encoding="utf-8")
    # The pages section ends the starter file.
    path.write_text(text[: text.index("\npages:")] + "\npages:\n" + section, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert message in str(raised.value)


def test_bands_check_their_order_on_their_own() -> None:
    """The band types carry their direction: a lower-is-better band cannot be built backwards,
    a share band cannot leave 0..1."""
    with pytest.raises(ValueError, match="lower is better"):
        LowerIsBetter(green=5, yellow=1)
    with pytest.raises(ValueError, match="share between 0 and 1"):
        ShareHigherIsBetter(green=1.5, yellow=0.5)
