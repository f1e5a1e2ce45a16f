"""Status lozenges: green, yellow or red for a number, from the thresholds in ``pages``.

A number without data gets a grey "no data" lozenge, never a colour: nothing measured is not
the same as good. The direction (lower or higher is better) belongs to the band's type in the
config, so a threshold cannot be read the wrong way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from restrat_sync.config import Band

Colour = Literal["Green", "Yellow", "Red", "Grey", "Blue"]  # Confluence's status colours

GOOD = "on track"
WATCH = "watch"
BAD = "off track"
NO_DATA = "no data"
# Jira's status categories, coloured as Jira shows them.
_CATEGORY_COLOURS: dict[str, Colour] = {"new": "Grey", "indeterminate": "Blue", "done": "Green"}


@dataclass(frozen=True, slots=True)
class Lozenge:
    title: str
    colour: Colour


def grade(value: float | None, band: Band) -> Lozenge:
    """The lozenge of ``value`` against ``band``; grey "no data" for None."""
    if value is None:
        return Lozenge(NO_DATA, "Grey")
    if band.higher_is_better:
        green, yellow = value >= band.green, value >= band.yellow
    else:
        green, yellow = value <= band.green, value <= band.yellow
    if green:
        return Lozenge(GOOD, "Green")
    return Lozenge(WATCH, "Yellow") if yellow else Lozenge(BAD, "Red")


def grade_deviation(deviation: float | None, band: Band) -> Lozenge:
    """A bucket's signed deviation (actual - planned) judged by its size, either way."""
    return grade(None if deviation is None else abs(deviation), band)


def issue_status(name: str, category: str) -> Lozenge:
    """An issue's status as Jira shows it: grey to do, blue in progress, green done."""
    return Lozenge(name, _CATEGORY_COLOURS.get(category, "Grey"))
