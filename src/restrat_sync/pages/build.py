"""The pages of a cadence, ready to publish: pick the period, build the models, render them and
check every body. Pure: ``PageInputs`` in, ``RenderedPage`` values out.

Titles are deterministic (``confluence.title_prefix`` + a fixed name + the period), so the
publisher finds the same page again on every run. A cadence page comes after its cadence parent
page, which it names as its parent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import NamedTuple

from restrat_sync.config import Config
from restrat_sync.errors import ConfigError, RestratError
from restrat_sync.model.periods import (
    ROLLING_LABEL,
    CalendarKind,
    Period,
    last_complete,
    parse_period,
)
from restrat_sync.pages.inputs import PageInputs
from restrat_sync.pages.models import (
    PageModel,
    ParentModel,
    monthly_model,
    overview_model,
    quarterly_model,
    theme_models,
    weekly_model,
)
from restrat_sync.pages.page import LABEL, Cadence, RenderedPage
from restrat_sync.pages.render import RenderSettings, render
from restrat_sync.pages.storage import check_well_formed, clean

OVERVIEW_TITLE = "Portfolio overview"
PARENT_TITLES: dict[Cadence, str] = {
    "weekly": "Weekly telemetry",
    "monthly": "Monthly portfolio sync",
    "quarterly": "Quarterly strategy review",
}
KINDS: dict[Cadence, CalendarKind] = {"weekly": "week", "monthly": "month", "quarterly": "quarter"}
_EXAMPLES: dict[CalendarKind, str] = {"week": "2026-W47", "month": "2026-11", "quarter": "2026-Q4"}


class MissingSnapshots(RestratError):
    """A page's period has no metric snapshots: the metrics were never computed for it."""


def build_pages(
    inputs: PageInputs,
    cadence: Cadence,
    period_label: str | None = None,
    themes: Collection[str] | None = None,
) -> list[RenderedPage]:
    """The pages of ``cadence``, every body checked well-formed.

    ``overview`` and ``themes`` cover the last four weeks (``period_label`` may only name it);
    ``themes`` names the theme keys whose pages to build (all without it). ``weekly``,
    ``monthly`` and ``quarterly`` give the cadence parent page, then the page of
    ``period_label``, by default the last complete week, month or quarter before
    ``inputs.now``. Raises ConfigError for a label that is not a period of the cadence, and
    MissingSnapshots when the period has no snapshots at all.
    """
    settings = RenderSettings.of(inputs.config)
    if cadence in ("overview", "themes"):
        _rolling_only(cadence, period_label)
        _require_snapshots(inputs, ROLLING_LABEL)
        if cadence == "overview":
            models: list[tuple[str, PageModel]] = [(OVERVIEW_TITLE, overview_model(inputs))]
        else:
            names = theme_page_names(inputs.config)
            chosen = [m for m in theme_models(inputs) if themes is None or m.theme.key in themes]
            models = [(names[m.theme.key], m) for m in chosen]
        return [_page(inputs, cadence, ROLLING_LABEL, None, t, m, settings) for t, m in models]
    period = resolve_period(inputs, cadence, period_label)
    _require_snapshots(inputs, period.label)
    parent = PARENT_TITLES[cadence]
    child = _cadence_model(inputs, cadence, period)
    return [
        _page(inputs, cadence, period.label, None, parent, ParentModel(KINDS[cadence]), settings),
        _page(
            inputs,
            cadence,
            period.label,
            parent,
            cadence_page_name(cadence, period.label),
            child,
            settings,
        ),
    ]


def resolve_period(inputs: PageInputs, cadence: Cadence, label: str | None) -> Period:
    """The period a cadence page covers: ``label``, or the last complete one."""
    kind, zone = KINDS[cadence], inputs.config.timezone
    if label is None:
        return last_complete(kind, inputs.now, zone)
    try:
        period = parse_period(label, inputs.now, zone)
    except ValueError as error:
        raise ConfigError([f"--period: {error}"]) from None
    if period.kind != kind:
        example = _EXAMPLES[kind]
        raise ConfigError([f"--period: the {cadence} pages cover a {kind} such as {example}"])
    return period


def cadence_page_name(cadence: Cadence, period_label: str) -> str:
    """The name of a cadence's page for one period, e.g. "Weekly telemetry 2026-W47"."""
    return f"{PARENT_TITLES[cadence]} {period_label}"


def page_title(config: Config, name: str) -> str:
    """A title with the configured prefix; characters a title cannot hold become U+FFFD."""
    return clean(config.confluence.title_prefix + name)


def page_labels(cadence: Cadence) -> tuple[str, ...]:
    return (LABEL, f"{LABEL}-{cadence}")


def _rolling_only(cadence: Cadence, label: str | None) -> None:
    if label not in (None, ROLLING_LABEL):
        raise ConfigError(
            [f"--period: the {cadence} pages always cover {ROLLING_LABEL}, not {label!r}"]
        )


def _require_snapshots(inputs: PageInputs, label: str) -> None:
    if not inputs.snapshots.get(label):
        raise MissingSnapshots(
            f"no metric snapshots for the period {label}: "
            f"run `restrat-sync metrics --period {label}` first"
        )


def theme_page_names(config: Config) -> dict[str, str]:
    """Theme key -> its page's name, in config order; a name two themes share gets the theme's
    key, so titles stay unique."""
    names = Counter(theme.name for theme in config.themes)
    return {
        t.key: f"Theme: {t.name}" + (f" ({t.key})" if names[t.name] > 1 else "")
        for t in config.themes
    }


class PageTitle(NamedTuple):
    name: str  # the page's name, without the prefix
    title: str  # prefix + name, as published
    fields: str  # the config fields the title is made of


def page_titles(config: Config) -> list[PageTitle]:
    """Every title the pages of ``config`` get (a cadence page's with its period label, which
    is always as long as the example's)."""
    prefix = "confluence.title_prefix"
    named = [
        (OVERVIEW_TITLE, prefix),
        *(
            (name, f"{prefix} or themes[{index}].name")
            for index, name in enumerate(theme_page_names(config).values())
        ),
        *((parent, prefix) for parent in PARENT_TITLES.values()),
        *((cadence_page_name(c, _EXAMPLES[KINDS[c]]), prefix) for c in PARENT_TITLES),
    ]
    return [PageTitle(name, page_title(config, name), fields) for name, fields in named]


def _cadence_model(inputs: PageInputs, cadence: Cadence, period: Period) -> PageModel:
    if cadence == "weekly":
        return weekly_model(inputs, period)
    if cadence == "monthly":
        return monthly_model(inputs, period)
    return quarterly_model(inputs, period)


def _page(
    inputs: PageInputs,
    cadence: Cadence,
    period: str,
    parent: str | None,
    name: str,
    model: PageModel,
    settings: RenderSettings,
) -> RenderedPage:
    config = inputs.config
    title = page_title(config, name)
    body = render(model, settings)
    check_well_formed(body, where=f"the page {title!r}")
    parent_title = None if parent is None else page_title(config, parent)
    labels = page_labels(cadence)
    return RenderedPage(title, cadence, period, parent_title, labels, body, inputs.last_sync_at)
