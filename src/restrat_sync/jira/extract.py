"""Jira REST JSON, Cloud or Data Center, into typed records (pure; no I/O).

Everything here is a function of the JSON Jira sent and the discovered field ids. The gateway
fetches (and completes changelogs); these functions only read. Quirks handled, per
``shared/atlassian-api.md``:

- timestamps come in the caller's profile time zone with a colon-less offset
  (``2021-01-25T11:09:27.985+0800``), and bulk-fetched histories carry epoch milliseconds;
- Cloud embeds changelogs newest first, other sources oldest first, and the same history can
  arrive twice when an embedded changelog is completed;
- the hierarchy is ``fields.parent`` on Cloud, and on Data Center ``parent`` for sub-tasks, an
  Epic Link key string, and a Parent Link object (``{"data": {"key": ...}}``);
- changelog items name a hierarchy change ``parent``, ``Parent``, ``IssueParentAssociation``,
  ``Epic Link`` or ``Parent Link``, and any of from/to/fromString/toString may be null.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from restrat_sync.jira import records
from restrat_sync.jira.fields import FieldIds

# Re-exported: the sync imports every JQL and JSON helper of the gateway from here.
from restrat_sync.jira.jql import incremental_jql, key_chunks_jql
from restrat_sync.jira.records import (
    FieldChangeRecord,
    FixVersion,
    IssueRecord,
    LinkRecord,
    StatusRecord,
    TransitionRecord,
)

__all__ = [
    "REQUEST_FIELDS",
    "changelog_field_ids",
    "histories_of",
    "incremental_jql",
    "is_truncated",
    "issue_record",
    "item_kind",
    "key_chunks_jql",
    "merge_histories",
    "parse_jira_timestamp",
    "relevant_items",
    "status_records",
    "transitions_and_changes",
]

Json = dict[str, Any]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STATUS = "status"  # the kind of a changelog item that becomes a TransitionRecord

# The system fields a record is built from; `id` and `key` come with every issue anyway.
_SYSTEM_FIELDS = (
    "summary",
    "status",
    "issuetype",
    "project",
    "created",
    "updated",
    "resolutiondate",
    "duedate",
    "fixVersions",
    "labels",
    "priority",
    "parent",
    "issuelinks",
)
# Changelog `field` names (casefolded) of system fields; Jira's hierarchy change has three.
_SYSTEM_ITEM_KINDS = {
    "status": STATUS,
    "parent": records.PARENT,
    "issueparentassociation": records.PARENT,
    "priority": records.PRIORITY,
    "labels": records.LABELS,
    "link": records.LINK,  # Jira writes "Link" with fieldtype jira, on both issues it joins
}
# Names of the custom fields (Data Center); their ids are matched too, as names are localised.
_CUSTOM_ITEM_KINDS = {"epic link": records.EPIC_LINK, "parent link": records.PARENT_LINK}


# --- what to ask for -----------------------------------------------------------------------------


def REQUEST_FIELDS(fields: FieldIds) -> list[str]:
    """The field ids to request: exactly what ``issue_record`` reads, never ``*all``."""
    custom = [fields.story_points, fields.epic_link, fields.parent_link]
    return [*_SYSTEM_FIELDS, *(field_id for field_id in custom if field_id)]


def changelog_field_ids(fields: FieldIds) -> list[str]:
    """The ``fieldIds`` filter for Cloud's changelog bulk fetch: the fields records track."""
    custom = [fields.epic_link, fields.parent_link]
    return [
        "status",
        "parent",
        "priority",
        "labels",
        # The id of the links field; that bulk fetch files "Link" items under it is unverified
        # on a real site: ``gateway._bulk_agrees`` sends an issue to the per-issue endpoint
        # whenever the filter dropped a relevant item of its newest histories.
        "issuelinks",
        *(field_id for field_id in custom if field_id),
    ]


# --- scalars -------------------------------------------------------------------------------------


def parse_jira_timestamp(value: str | int | float) -> datetime:
    """Jira's ``2021-01-25T11:09:27.985+0800`` (offset with or without colon, or ``Z``), or epoch
    milliseconds as bulk fetch sends them, as an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError(f"not a Jira timestamp: {value!r}")
    if isinstance(value, int | float) or value.strip().isdigit():
        return EPOCH + timedelta(milliseconds=int(value))  # exact, unlike a float division
    # Python 3.11 reads the colon-less offset and fractions of any length.
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        # Jira always sends an offset; guessing a zone would shift the instant by hours.
        raise ValueError(f"Jira timestamp without an offset: {value!r}")
    return moment.astimezone(UTC)


def _timestamp_or_none(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_jira_timestamp(value)


def _date_or_none(value: Any) -> date | None:
    # duedate and releaseDate are plain `YYYY-MM-DD`; no time zone is involved.
    return date.fromisoformat(str(value)[:10]) if value else None


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _linked_key(value: Any) -> str | None:
    """The issue key in a hierarchy field: a key string (DC Epic Link), ``{"key"}`` (parent) or
    ``{"data": {"key"}}`` (DC Parent Link)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, dict):
        data = value.get("data")
        if isinstance(data, dict) and data.get("key"):
            return str(data["key"])
        if value.get("key"):
            return str(value["key"])
    return None


def _name(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


# --- issues --------------------------------------------------------------------------------------


def issue_record(raw: Json, fields: FieldIds, histories: list[Json]) -> IssueRecord:
    """The record of one search-result issue; ``histories`` is its complete changelog."""
    f: Json = raw.get("fields") or {}
    issuetype: Json = f.get("issuetype") or {}
    status: Json = f.get("status") or {}
    level = issuetype.get("hierarchyLevel")
    ordered = _ordered([histories])
    transitions, changes = _records(ordered, fields)
    return IssueRecord(
        id=int(raw["id"]),
        key=str(raw["key"]),
        project=str((f.get("project") or {}).get("key", "")),
        issuetype=str(issuetype.get("name", "")),
        hierarchy_level=int(level) if isinstance(level, int) else None,
        subtask=bool(issuetype.get("subtask")) or level == -1,
        status=str(status.get("name", "")),
        status_id=str(status.get("id", "")),
        status_category=str((status.get("statusCategory") or {}).get("key", "")),
        summary=str(f.get("summary") or ""),
        created=parse_jira_timestamp(f["created"]),
        updated=parse_jira_timestamp(f["updated"]),
        resolved=_timestamp_or_none(f.get("resolutiondate")),
        duedate=_date_or_none(f.get("duedate")),
        priority=_name(f.get("priority")),
        story_points=_float_or_none(f.get(fields.story_points)) if fields.story_points else None,
        labels=tuple(str(label) for label in f.get("labels") or ()),
        fix_versions=tuple(_fix_version(v) for v in f.get("fixVersions") or ()),
        parent_key=_linked_key(f.get("parent")),
        epic_link_key=_linked_key(f.get(fields.epic_link)) if fields.epic_link else None,
        parent_link_key=_linked_key(f.get(fields.parent_link)) if fields.parent_link else None,
        links=tuple(link for link in map(_link, f.get("issuelinks") or ()) if link is not None),
        transitions=transitions,
        field_changes=changes,
        changelog_total=max(_reported_total(raw), len(ordered)),
    )


def _fix_version(raw: Json) -> FixVersion:
    return FixVersion(
        name=str(raw.get("name", "")),
        released=bool(raw.get("released")),
        release_date=_date_or_none(raw.get("releaseDate")),
    )


def _link(raw: Json) -> LinkRecord | None:
    # Each link names only the other issue, on the side that says which way it points.
    for side, direction in (("outwardIssue", "outward"), ("inwardIssue", "inward")):
        other = raw.get(side)
        if isinstance(other, dict) and other.get("key"):
            type_name = str((raw.get("type") or {}).get("name", ""))
            return LinkRecord(str(raw.get("id", "")), type_name, direction, str(other["key"]))
    return None


def status_records(raw_statuses: Iterable[Json]) -> list[StatusRecord]:
    """Jira's status catalogue (``GET /rest/api/2/status``); the category key is not localised."""
    return [
        StatusRecord(
            id=str(raw["id"]),
            name=str(raw.get("name", "")),
            category=str((raw.get("statusCategory") or {}).get("key", "")),
        )
        for raw in raw_statuses
    ]


def link_type_records(answer: Json) -> list[records.LinkTypeRecord]:
    """Jira's link types (``GET /rest/api/2/issueLinkType``: ``{"issueLinkTypes": [...]}``)."""
    return [
        records.LinkTypeRecord(
            name=str(raw.get("name", "")),
            inward=str(raw.get("inward", "")),
            outward=str(raw.get("outward", "")),
        )
        for raw in answer.get("issueLinkTypes") or []
        if raw.get("name")
    ]


# --- changelogs ----------------------------------------------------------------------------------


def histories_of(raw: Json) -> list[Json]:
    """The histories embedded by ``expand=changelog`` (none when it was not expanded)."""
    return list((raw.get("changelog") or {}).get("histories") or [])


def is_truncated(raw: Json) -> bool:
    """Whether the embedded changelog misses histories: Cloud's search embeds only the newest
    (40, or 20 on some sites) with ``total`` counting all; no changelog at all also counts."""
    changelog = raw.get("changelog")
    if not isinstance(changelog, dict):
        return True
    return _reported_total(raw) > len(changelog.get("histories") or [])


def _reported_total(raw: Json) -> int:
    total = (raw.get("changelog") or {}).get("total")
    return int(total) if isinstance(total, int | str) and str(total).isdigit() else 0


def merge_histories(*sources: Iterable[Json]) -> list[Json]:
    """Histories of all sources, each id once (the first seen wins), oldest first.

    Jira's order differs per source (Cloud embeds newest first), so they are sorted by
    ``created`` and then by id, which breaks ties between histories of the same millisecond.
    """
    return [history for _, _, history in _ordered(sources)]


def _ordered(sources: Iterable[Iterable[Json]]) -> list[tuple[datetime, int, Json]]:
    """(created, id, history) of each distinct history, in the order of ``merge_histories``."""
    unique: dict[int, Json] = {}
    for source in sources:
        for history in source:
            unique.setdefault(int(history["id"]), history)
    dated = [(parse_jira_timestamp(h["created"]), hid, h) for hid, h in unique.items()]
    return sorted(dated, key=lambda entry: entry[:2])


def item_kind(item: Json, fields: FieldIds | None = None) -> str | None:
    """``status``, a ``records.TRACKED_FIELDS`` name, or None for an item restrat-sync ignores."""
    name = str(item.get("field") or "").casefold()
    field_id = item.get("fieldId")
    if fields is not None and field_id:
        if field_id == fields.epic_link:
            return records.EPIC_LINK
        if field_id == fields.parent_link:
            return records.PARENT_LINK
    if name in _CUSTOM_ITEM_KINDS:
        return _CUSTOM_ITEM_KINDS[name]
    if item.get("fieldtype") == "custom":
        return None  # a custom field that happens to be called "Status", say
    return _SYSTEM_ITEM_KINDS.get(name) or _SYSTEM_ITEM_KINDS.get(str(field_id or ""))


def relevant_items(history: Json, fields: FieldIds | None = None) -> list[tuple[str, Json]]:
    """The (kind, item) pairs of a history that become records, in Jira's order."""
    kinds = ((item_kind(item, fields), item) for item in history.get("items") or ())
    return [(kind, item) for kind, item in kinds if kind is not None]


def transitions_and_changes(
    histories: Iterable[Json], fields: FieldIds | None = None
) -> tuple[tuple[TransitionRecord, ...], tuple[FieldChangeRecord, ...]]:
    """Status transitions and tracked-field changes, oldest first, each history once.

    ``item_index`` is the item's position among the history's *relevant* items (status and
    tracked fields): bulk fetch filters items by field, so a position among all items would
    differ between an embedded copy and a fetched copy of the same history.
    """
    return _records(_ordered([histories]), fields)


def _records(
    ordered: list[tuple[datetime, int, Json]], fields: FieldIds | None
) -> tuple[tuple[TransitionRecord, ...], tuple[FieldChangeRecord, ...]]:
    transitions: list[TransitionRecord] = []
    changes: list[FieldChangeRecord] = []
    for at, history_id, history in ordered:
        for index, (kind, item) in enumerate(relevant_items(history, fields)):
            values = (_text(item, "from"), _text(item, "fromString"))
            targets = (_text(item, "to"), _text(item, "toString"))
            if kind == STATUS:
                transitions.append(TransitionRecord(history_id, index, at, *values, *targets))
            else:
                changes.append(FieldChangeRecord(history_id, index, at, kind, *values, *targets))
    return tuple(transitions), tuple(changes)


def _text(item: Json, name: str) -> str | None:
    value = item.get(name)
    return None if value is None else str(value)
