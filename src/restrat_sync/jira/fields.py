"""Find the custom fields restrat-sync needs in Jira's field list (pure; no I/O).

Custom field ids differ on every instance, so they are never hard-coded: they are found by the
schema's custom type, then by name, unless config names them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
PARENT_LINK_TYPE = "com.atlassian.jpo:jpo-custom-field-parent"
STORY_POINTS_TYPES = ("com.pyxis.greenhopper.jira:jsw-story-points",)
STORY_POINTS_NAMES = ("story points", "story point estimate")


@dataclass(frozen=True)
class FieldIds:
    story_points: str | None
    epic_link: str | None
    parent_link: str | None


def discover_fields(fields: Iterable[dict[str, Any]], configured: FieldIds) -> FieldIds:
    """Field ids to use: the configured ones, else those found in ``GET /rest/api/2/field``."""
    catalogue = list(fields)
    return FieldIds(
        story_points=configured.story_points
        or _by_custom_type(catalogue, STORY_POINTS_TYPES)
        or _by_name(catalogue, STORY_POINTS_NAMES),
        epic_link=configured.epic_link or _by_custom_type(catalogue, (EPIC_LINK_TYPE,)),
        parent_link=configured.parent_link or _by_custom_type(catalogue, (PARENT_LINK_TYPE,)),
    )


def _by_custom_type(fields: list[dict[str, Any]], types: tuple[str, ...]) -> str | None:
    for field in fields:
        if (field.get("schema") or {}).get("custom") in types:
            return str(field["id"])
    return None


def _by_name(fields: list[dict[str, Any]], names: tuple[str, ...]) -> str | None:
    for field in fields:
        if str(field.get("name", "")).casefold() in names and field.get("custom", True):
            return str(field["id"])
    return None
