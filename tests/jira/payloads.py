"""Small builders of Jira REST JSON, in the shapes Cloud and Data Center send."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from restrat_sync.jira import FieldIds

Json = dict[str, Any]
# Not "data/": the repository .gitignore drops every folder of that name.
DATA = Path(__file__).parent / "recorded"
CLOUD_IDS = FieldIds(story_points="customfield_10016", epic_link=None, parent_link=None)
DC_IDS = FieldIds(
    story_points="customfield_10106", epic_link="customfield_10100", parent_link="customfield_10200"
)
IDS = {"cloud": CLOUD_IDS, "datacenter": DC_IDS}
START = datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
STATUSES = {
    "To Do": ("10000", "new"),
    "In Progress": ("3", "indeterminate"),
    "Done": ("10001", "done"),
}


def recorded(name: str) -> Json:
    """A recorded-style response from ``tests/jira/recorded``."""
    loaded: Json = json.loads((DATA / name).read_text(encoding="utf-8"))
    return loaded


def jira_time(moment: datetime, zone: str = "Asia/Shanghai") -> str:
    """``moment`` as Jira renders it for a user in ``zone``: ``2024-01-08T17:00:00.000+0800``."""
    local = moment.astimezone(ZoneInfo(zone))
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + local.strftime("%z")
    )


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- changelogs ----------------------------------------------------------------------------------


def history(history_id: int, created: str | int, items: Sequence[Json]) -> Json:
    return {
        "id": str(history_id),
        "author": {"accountId": "5e97a1", "displayName": "Ana", "timeZone": "Asia/Shanghai"},
        "created": created,
        "items": list(items),
    }


def item(
    field: str,
    from_: str | None = None,
    from_string: str | None = None,
    to: str | None = None,
    to_string: str | None = None,
    fieldtype: str = "jira",
    field_id: str | None = None,
) -> Json:
    body: Json = {"field": field, "fieldtype": fieldtype}
    if field_id is not None:
        body["fieldId"] = field_id
    body.update({"from": from_, "fromString": from_string, "to": to, "toString": to_string})
    return body


def status_item(before: str, after: str) -> Json:
    return item("status", STATUSES[before][0], before, STATUSES[after][0], after, field_id="status")


def status_histories(count: int, first_id: int = 1000) -> list[Json]:
    """``count`` status changes, one a minute, oldest first, alternating To Do/In Progress."""
    out = []
    for n in range(count):
        before, after = ("To Do", "In Progress") if n % 2 == 0 else ("In Progress", "To Do")
        created = jira_time(START + timedelta(minutes=n))
        out.append(history(first_id + n, created, [status_item(before, after)]))
    return out


def with_epoch_created(histories: Iterable[Json]) -> list[Json]:
    """The same histories as bulk fetch shows them: ``created`` in epoch milliseconds."""
    from restrat_sync.jira.extract import parse_jira_timestamp

    return [{**h, "created": epoch_ms(parse_jira_timestamp(h["created"]))} for h in histories]


def changelog(
    histories: Sequence[Json], embedded: int | None = None, newest_first: bool = False
) -> Json:
    """An embedded changelog holding the newest ``embedded`` histories, ``total`` counting all."""
    kept = list(histories) if embedded is None else list(histories)[-embedded:] if embedded else []
    if newest_first:
        kept.reverse()
    return {"startAt": 0, "maxResults": len(kept), "total": len(histories), "histories": kept}


# --- issues --------------------------------------------------------------------------------------


def status(name: str) -> Json:
    status_id, category = STATUSES[name]
    return {
        "id": status_id,
        "name": name,
        "statusCategory": {"id": 4, "key": category, "name": name},
    }


def issue_ref(key: str, issue_id: int = 20000) -> Json:
    return {
        "id": str(issue_id),
        "key": key,
        "fields": {"summary": f"About {key}", "status": status("To Do")},
    }


def issue(
    n: int,
    project: str = "PAY",
    issuetype: str = "Story",
    level: int | None = 0,
    histories: Sequence[Json] = (),
    embedded: int | None = None,
    newest_first: bool = False,
    **extra: Any,
) -> Json:
    """An issue as a search page carries it, with every field ``REQUEST_FIELDS`` asks for."""
    kind: Json = {"id": "10001", "name": issuetype, "subtask": level == -1}
    if level is not None:
        kind["hierarchyLevel"] = level
    fields: Json = {
        "summary": f"Issue {n}",
        "status": status("In Progress"),
        "issuetype": kind,
        "project": {"id": "10000", "key": project, "name": project.title()},
        "created": jira_time(START),
        "updated": jira_time(START + timedelta(days=1)),
        "resolutiondate": None,
        "duedate": None,
        "fixVersions": [],
        "labels": [],
        "priority": {"id": "3", "name": "Medium"},
        "issuelinks": [],
        **extra,
    }
    return {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog",
        "id": str(10000 + n),
        "self": f"https://jira.example.com/rest/api/2/issue/{10000 + n}",
        "key": f"{project}-{n}",
        "fields": fields,
        "changelog": changelog(histories, embedded, newest_first),
    }


def cloud_issue(n: int, histories: Sequence[Json] = (), **extra: Any) -> Json:
    """Cloud's search embeds the newest 40 histories, newest first."""
    return issue(n, histories=histories, embedded=40, newest_first=True, **extra)


def dc_issue(n: int, histories: Sequence[Json] = (), **extra: Any) -> Json:
    """Data Center embeds the whole changelog, oldest first."""
    return issue(n, histories=histories, **extra)


def flavour_issue(flavor: str, n: int, histories: Sequence[Json] = (), **extra: Any) -> Json:
    build = cloud_issue if flavor == "cloud" else dc_issue
    return build(n, histories, **extra)


# --- pages ---------------------------------------------------------------------------------------


def search_page(
    issues: Sequence[Json], next_token: str | None = None, is_last: bool | None = None
) -> Json:
    """Cloud's ``/search/jql`` page: ``nextPageToken`` and ``isLast``; either may be absent."""
    body: Json = {"issues": list(issues)}
    if next_token is not None:
        body["nextPageToken"] = next_token
    if is_last is not None:
        body["isLast"] = is_last
    return body


def dc_page(issues: Sequence[Json], start: int, total: int, max_results: int = 1000) -> Json:
    """Data Center's ``/search`` page: ``startAt``, ``maxResults`` and ``total``."""
    return {
        "expand": "schema,names",
        "startAt": start,
        "maxResults": max_results,
        "total": total,
        "issues": list(issues),
    }


def bulk_page(logs: dict[str, Sequence[Json]], next_token: str | None = None) -> Json:
    """``/changelog/bulkfetch``: histories grouped by issue id, oldest first."""
    body: Json = {
        "issueChangeLogs": [
            {"issueId": issue_id, "changeHistories": list(h)} for issue_id, h in logs.items()
        ]
    }
    if next_token is not None:
        body["nextPageToken"] = next_token
    return body


def changelog_page(values: Sequence[Json], start: int, total: int) -> Json:
    """``/issue/{key}/changelog``: one page by startAt, oldest first."""
    return {
        "startAt": start,
        "maxResults": 100,
        "total": total,
        "isLast": start + len(values) >= total,
        "values": list(values),
    }
