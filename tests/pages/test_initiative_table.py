"""The theme page's table of initiatives: the theme's own initiatives of the rolling window,
the largest share first, their numbers, and one count macro each of their items in progress."""

from __future__ import annotations

from typing import Any

from restrat_sync.metrics.compute import initiative_scope
from restrat_sync.pages.inputs import Anchor
from restrat_sync.pages.jql import MAX_JQL_LENGTH
from restrat_sync.pages.models import theme_models
from restrat_sync.pages.storage import check_well_formed
from tests.pages import builders
from tests.pages.builders import macros, text
from tests.pages.test_render import NASTY, SHOWN, row, theme_body

SUMMARIES = {
    "PORT-2": Anchor("PORT-2", "Wallets", "In Progress", "indeterminate"),
    "PORT-10": Anchor("PORT-10", NASTY, "To Do", "new"),
    "PORT-7": Anchor("PORT-7", "Uptime", "In Progress", "indeterminate"),
}


def stored(**initiatives: tuple[str, float | None, list[str]]) -> dict[str, Any]:
    """The rolling window's snapshots, plus for each initiative (``PORT_2=(theme, share, keys
    in progress)``) every metric of its scope."""
    values = builders.period_metrics()
    for name, (theme, share, in_progress) in initiatives.items():
        scope = initiative_scope(name.replace("_", "-"))
        values[(scope, "effort")] = builders.initiative_effort(theme, share)
        values[(scope, "flow")] = builders.flow(
            finished=("PAY-1",), median=3.5, ages=[(key, 2.0) for key in in_progress]
        )
        values[(scope, "decision_lag")] = builders.decision_lag(median=6.0)
        values[(scope, "pivots")] = builders.pivots()
        values[(scope, "predictability")] = builders.predictability(rate=0.5)
    return {"last-4-weeks": values}


def portfolio() -> dict[str, Any]:
    return stored(
        PORT_10=("GROWTH", 0.25, ["PAY-3", "PAY-4"]),
        PORT_2=("GROWTH", 0.5, []),
        PORT_7=("RELIABILITY", 1.0, ["OPS-1"]),
        PORT_9=("GROWTH", None, ["PAY-5"]),
    )


def test_a_theme_lists_its_own_initiatives_the_largest_share_first() -> None:
    """GROWTH's initiatives are those whose theme at the window's end was GROWTH: PORT-2 (50%),
    PORT-10 (25%), PORT-9 (no share: last), not PORT-7, RELIABILITY's; PORT-9 is not in the
    cache any more."""
    growth, reliability = theme_models(builders.inputs(portfolio(), initiatives=SUMMARIES))
    assert [(r.key, r.summary) for r in growth.initiatives] == [
        ("PORT-2", "Wallets"),
        ("PORT-10", NASTY),
        ("PORT-9", None),
    ]
    assert [r.key for r in reliability.initiatives] == ["PORT-7"]


def test_each_row_shows_the_share_and_the_headline_numbers_escaped() -> None:
    """PORT-10: 25% of the theme's effort, velocity 1, flow time 3.5 d, decision lag 6 d,
    2 pending decisions, on time 50%; its summary comes back as the same text."""
    body = theme_body(builders.inputs(portfolio(), initiatives=SUMMARIES))
    check_well_formed(body)
    assert "<script>" not in body
    cells = ["".join(cell.itertext()) for cell in row(body, "PORT-10")]
    assert cells[:8] == [
        "PORT-10", SHOWN, "25.0%", "1", "3.5 d", "6.0 d", "2", "50.0%"
    ]  # fmt: skip
    assert ["".join(c.itertext()) for c in row(body, "PORT-9")][1:3] == [
        "not in the cache",
        "no data",  # no share: the theme spent nothing
    ]
    assert "".join(row(body, "PORT-2")[8].itertext()) == "0"  # nothing in progress, no macro


def test_each_initiative_has_one_count_macro_of_its_items_in_progress() -> None:
    """One count macro per row with work in progress: the page grows by a macro per
    initiative, never by a list each."""
    body = theme_body(builders.inputs(portfolio(), initiatives=SUMMARIES))
    counts = [m for m in macros(body, "jira") if m.get("count") == "true"]
    assert [m["jqlQuery"] for m in counts] == ["key in (PAY-3, PAY-4)", "key in (PAY-5)"]
    assert all(m["server"] == "Acme Jira" and m["serverId"] == "1a2b-3c4d" for m in counts)


def test_a_long_set_in_progress_takes_one_count_macro_per_chunk() -> None:
    many = [f"PAY-{n}" for n in range(1000, 1000 + MAX_JQL_LENGTH // 8)]
    body = theme_body(builders.inputs(stored(PORT_2=("GROWTH", 0.5, many))))
    counts = [m for m in macros(body, "jira") if m.get("count") == "true"]
    assert len(counts) == 2
    assert sum(m["jqlQuery"].count("PAY-") for m in counts) == len(many)
    assert " + " in "".join(row(body, "PORT-2")[8].itertext())


def test_beyond_the_configured_rows_the_rest_are_named_without_macros() -> None:
    """``pages.initiatives_listed: 1``: PORT-2's row, then a line naming the other two."""
    settings = builders.config(pages={"initiatives_listed": 1})
    body = theme_body(builders.inputs(portfolio(), settings, initiatives=SUMMARIES))
    assert "".join(row(body, "PORT-2")[0].itertext()) == "PORT-2"
    assert "2 more initiatives with smaller shares: PORT-10, PORT-9." in text(body)
    assert len([m for m in macros(body, "jira") if m.get("count") == "true"]) == 0


def test_a_theme_without_initiatives_says_so() -> None:
    body = theme_body(builders.inputs({"last-4-weeks": builders.period_metrics()}))
    assert "No initiative of Grow revenue in the last four weeks." in text(body)
