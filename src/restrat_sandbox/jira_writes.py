"""Jira writes: transitions, edits, creation and deletion, each recorded the way Jira records it.

Every write that changes something moves ``updated`` and appends one changelog history whose
items name the fields as Jira's changelog does (``status``, ``resolution``, ``labels``,
``Fix Version``...). Hierarchy changes are stored under the flavour-neutral ``parent`` item and
renamed per flavour when rendered. Writes replace an issue's lists rather than mutating them, so
responses rendered from the old lists stay consistent. Callers hold ``portfolio.lock``.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from restrat_sandbox.catalogue import resolution_for
from restrat_sandbox.http_app import HttpError
from restrat_sandbox.jira_render import FlavourFields, flavour_fields
from restrat_sandbox.model import (
    STORY_POINTS_CHANGE,
    ChangeItem,
    History,
    Issue,
    Portfolio,
    Status,
)

Json = dict[str, Any]
Setter = Callable[[Portfolio, Issue, Any], list[ChangeItem]]

_ONE_MS = timedelta(milliseconds=1)
_CANNOT_SET = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


def field_error(field: str, message: str) -> HttpError:
    """Jira's 400 for a bad field value: the message sits under ``errors[field]``."""
    return HttpError(400, {"errorMessages": [], "errors": {field: message}})


def write_time(issue: Issue) -> datetime:
    """Now, but never before the issue's last change, so its changelog stays in order."""
    floor = issue.updated
    if issue.histories:
        floor = max(floor, issue.histories[-1].created)
    return max(datetime.now(UTC), floor + _ONE_MS)


def record(portfolio: Portfolio, issue: Issue, author: str, items: list[ChangeItem]) -> None:
    """Append one history for ``items`` and move ``updated``; no items, no history."""
    if not items:
        return
    moment = write_time(issue)
    history = History(portfolio.next_history_id(), moment, author, items)
    issue.histories = [*issue.histories, history]
    issue.updated = moment


# --- transitions --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    id: str
    name: str
    to: Status


class Workflows:
    """Which statuses each (project, kind) of issue moves through, learnt from the data.

    The model keeps no workflow schemes, so the statuses an issue's workflow holds are those its
    siblings (same project; portfolio items or work items) hold now or held in their changelogs.
    Built once per portfolio; statuses outside every known workflow fall back to all statuses.
    """

    def __init__(self, portfolio: Portfolio) -> None:
        self.portfolio = portfolio
        seen: dict[tuple[str, bool], set[str]] = {}
        for issue in portfolio.issues.values():
            names = seen.setdefault(self._kind(issue), set())
            names.add(issue.status)
            for history in issue.histories:
                names.update(i.to_string or "" for i in history.items if i.field == "status")
        order = list(portfolio.statuses)
        self._flows = {kind: [n for n in order if n in names] for kind, names in seen.items()}

    def _kind(self, issue: Issue) -> tuple[str, bool]:
        return issue.project, self.portfolio.level_of(issue) >= 1

    def statuses(self, issue: Issue) -> list[Status]:
        names = self._flows.get(self._kind(issue), [])
        if issue.status not in names:
            names = list(self.portfolio.statuses)
        return [self.portfolio.statuses[name] for name in names]

    def initial(self, issue: Issue) -> str:
        """The first "new" status of the issue's workflow, where ``POST /issue`` puts it."""
        statuses = self._flows.get(self._kind(issue)) or list(self.portfolio.statuses)
        return next(
            (n for n in statuses if self.portfolio.statuses[n].category == "new"), statuses[0]
        )


def transition_id(portfolio: Portfolio, status: Status) -> str:
    """Jira numbers transitions 11, 21, 31...; derive them from the status catalogue order."""
    return str(11 + 10 * list(portfolio.statuses).index(status.name))


def available_transitions(workflows: Workflows, issue: Issue) -> list[Transition]:
    """Global transitions into every other status of the issue's workflow."""
    portfolio = workflows.portfolio
    return [
        Transition(transition_id(portfolio, status), status.name, status)
        for status in workflows.statuses(issue)
        if status.name != issue.status
    ]


def transition(workflows: Workflows, issue: Issue, transition_id: str, author: str) -> None:
    """Move the issue to the transition's status; set or clear the resolution with it."""
    chosen = next(
        (t for t in available_transitions(workflows, issue) if t.id == transition_id), None
    )
    if chosen is None:
        raise HttpError(
            400,
            {
                "errorMessages": [f"Transition id '{transition_id}' is not valid for this issue."],
                "errors": {},
            },
        )
    portfolio = workflows.portfolio
    old = portfolio.statuses[issue.status]
    items = [ChangeItem("status", "jira", "status", old.id, old.name, chosen.to.id, chosen.to.name)]
    items.extend(_resolution_change(issue, old, chosen.to))
    issue.status = chosen.to.name
    record(portfolio, issue, author, items)
    if chosen.to.category == "done" and old.category != "done":
        issue.resolutiondate = issue.updated
    elif chosen.to.category != "done":
        issue.resolutiondate = None


def _resolution_change(issue: Issue, old: Status, new: Status) -> list[ChangeItem]:
    # Jira's post-functions set the resolution entering "done" and clear it when leaving.
    if new.category == "done" and old.category != "done":
        rid, name = resolution_for(new.name)
        return [ChangeItem("resolution", "jira", "resolution", None, None, rid, name)]
    if new.category != "done" and issue.resolutiondate is not None:
        rid, name = resolution_for(old.name)
        return [ChangeItem("resolution", "jira", "resolution", rid, name, None, None)]
    return []


# --- edits --------------------------------------------------------------------------------------


def edit(portfolio: Portfolio, issue: Issue, body: Json, flavor: str, author: str) -> None:
    """Apply ``PUT /issue`` ``fields`` and ``update`` operations as one history."""
    fields, update = _edit_parts(body)
    setters = _setters(flavour_fields(flavor), flavor)
    changes = dict(fields)
    for field, operations in update.items():
        changes[field] = _apply_operations(issue, field, operations)
    _reject_unknown(changes, setters)
    # Apply to a copy first: a bad value anywhere must leave the issue untouched, as in Jira.
    draft = dataclasses.replace(issue)
    items: list[ChangeItem] = []
    for field, value in changes.items():
        items.extend(setters[field](portfolio, draft, value))
    for attribute in dataclasses.fields(Issue):
        setattr(issue, attribute.name, getattr(draft, attribute.name))
    record(portfolio, issue, author, items)


def _edit_parts(body: Any) -> tuple[Json, dict[str, list[Any]]]:
    """The ``fields`` and ``update`` objects of an edit, or Jira's 400 for a malformed body."""
    fields = (body.get("fields") or {}) if isinstance(body, dict) else None
    update = (body.get("update") or {}) if isinstance(body, dict) else None
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise HttpError(
            400, {"errorMessages": ["Can not deserialize the request body."], "errors": {}}
        )
    for field, operations in update.items():
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise field_error(field, "Update operations must be a list of objects.")
    return fields, update


def _reject_unknown(changes: Json, setters: dict[str, Setter]) -> None:
    unknown = [f for f in changes if f not in setters]
    if unknown:
        raise HttpError(
            400,
            {
                "errorMessages": [],
                "errors": {field: _CANNOT_SET.format(field) for field in unknown},
            },
        )


def _apply_operations(issue: Issue, field: str, operations: list[Any]) -> Any:
    """Fold ``update`` verbs (set/add/remove) into a plain new value."""
    if field != "labels":
        sets = [op["set"] for op in operations if "set" in op]
        if not sets:
            raise field_error(field, f"Operation is not supported for field '{field}'.")
        return sets[-1]
    labels = list(issue.labels)
    for op in operations:
        if "set" in op:
            labels = list(op["set"])
        elif "add" in op and op["add"] not in labels:
            labels.append(op["add"])
        elif "remove" in op and op["remove"] in labels:
            labels.remove(op["remove"])
    return labels


def _setters(ids: FlavourFields, flavor: str) -> dict[str, Setter]:
    setters: dict[str, Setter] = {
        "summary": _set_summary,
        "labels": _set_labels,
        "priority": _set_priority,
        "duedate": _set_duedate,
        "fixVersions": _set_fix_versions,
        ids.story_points: _set_story_points,
        # Epic Link: Data Center's hierarchy field for level 0; deprecated but settable on Cloud.
        ids.epic_link: functools.partial(_set_link, field=ids.epic_link, epic=True),
    }
    if flavor == "cloud":
        setters["parent"] = _set_parent_ref
    if ids.parent_link:
        setters[ids.parent_link] = functools.partial(_set_link, field=ids.parent_link, epic=False)
    return setters


def _set_summary(_: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    if not isinstance(value, str) or not value.strip():
        raise field_error("summary", "You must specify a summary of the issue.")
    old, issue.summary = issue.summary, value
    return (
        [ChangeItem("summary", "jira", "summary", None, old, None, value)] if old != value else []
    )


def _set_labels(_: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    if not isinstance(value, list) or any(not isinstance(v, str) or " " in v for v in value):
        raise field_error("labels", "The label must not contain spaces.")
    old, issue.labels = issue.labels, list(value)
    if old == issue.labels:
        return []
    # Jira's changelog shows labels as one space-separated string, ids null.
    return [ChangeItem("labels", "jira", "labels", None, " ".join(old), None, " ".join(value))]


def _set_priority(portfolio: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    ref = value if isinstance(value, dict) else {}
    new = next(
        (
            p
            for p in portfolio.priorities.values()
            if ref.get("name") == p.name or ref.get("id") == p.id
        ),
        None,
    )
    if new is None:
        raise field_error("priority", "Priority name or id is not valid.")
    old = portfolio.priorities.get(issue.priority)
    if old is not None and old.name == new.name:
        return []
    issue.priority = new.name
    return [
        ChangeItem(
            "priority",
            "jira",
            "priority",
            old.id if old else None,
            old.name if old else None,
            new.id,
            new.name,
        )
    ]


def _set_duedate(_: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    try:
        new = date.fromisoformat(value) if value else None
    except (TypeError, ValueError) as exc:
        raise field_error("duedate", "Error parsing date string: " + str(value)) from exc
    old, issue.duedate = issue.duedate, new
    if old == new:
        return []
    # Jira's changelog keeps the ISO day as the id and a timestamp-ish string for display.
    return [
        ChangeItem(
            "duedate", "jira", "duedate", _iso(old), _day_string(old), _iso(new), _day_string(new)
        )
    ]


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day_string(day: date | None) -> str | None:
    return f"{day.isoformat()} 00:00:00.0" if day else None


def _set_fix_versions(portfolio: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    if not isinstance(value, list):
        raise field_error("fixVersions", "Fix versions must be a list.")
    names = []
    for ref in value:
        version = _find_version(portfolio, issue.project, ref)
        if version is None:
            raise field_error("fixVersions", f"Version name '{ref}' is not valid")
        names.append(version)
    old, issue.fix_versions = issue.fix_versions, list(dict.fromkeys(names))
    items = []
    # One item per version removed or added, named "Fix Version" as Jira's changelog does.
    for name in (n for n in old if n not in issue.fix_versions):
        vid = portfolio.versions[(issue.project, name)].id
        items.append(ChangeItem("Fix Version", "jira", "fixVersions", vid, name, None, None))
    for name in (n for n in issue.fix_versions if n not in old):
        vid = portfolio.versions[(issue.project, name)].id
        items.append(ChangeItem("Fix Version", "jira", "fixVersions", None, None, vid, name))
    return items


def _find_version(portfolio: Portfolio, project: str, ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    for (proj, name), version in portfolio.versions.items():
        if proj == project and (ref.get("name") == name or ref.get("id") == version.id):
            return name
    return None


def _set_story_points(_: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise field_error(STORY_POINTS_CHANGE, "Operation value must be a number")
    new = float(value) if value is not None else None
    old, issue.story_points = issue.story_points, new
    if old == new:
        return []
    field = STORY_POINTS_CHANGE
    return [ChangeItem(field, "custom", field, None, _points(old), None, _points(new))]


def _points(value: float | None) -> str | None:
    if value is None:
        return None
    return str(int(value)) if value == int(value) else str(value)


# --- hierarchy ----------------------------------------------------------------------------------


def _set_parent_ref(portfolio: Portfolio, issue: Issue, value: Any) -> list[ChangeItem]:
    """Cloud's ``parent: {"key"|"id"}`` for every level."""
    if value is None:
        return _reparent(portfolio, issue, None, "parent")
    if not isinstance(value, dict):
        raise field_error("parent", "Could not find issue by id or key.")
    ref = value.get("key") or value.get("id")
    return _reparent(portfolio, issue, str(ref) if ref is not None else None, "parent")


def _set_link(
    portfolio: Portfolio, issue: Issue, value: Any, *, field: str, epic: bool
) -> list[ChangeItem]:
    """Epic Link (level-0 issues) or Parent Link (epics and above): an issue key or null."""
    level = portfolio.level_of(issue)
    if epic and level != 0:
        raise field_error(field, "Epic Link can only be set on standard issue types.")
    if not epic and level < 1:
        raise field_error(field, "Parent Link can only be set on epics and above.")
    if value is not None and not isinstance(value, str):
        raise field_error(field, "The value must be an issue key.")
    return _reparent(portfolio, issue, value, field)


def _reparent(portfolio: Portfolio, issue: Issue, ref: Any, field: str) -> list[ChangeItem]:
    new = portfolio.find_issue(str(ref)) if ref else None
    if ref and new is None:
        raise field_error(field, f"Issue '{ref}' does not exist.")
    if new is not None and not _may_parent(portfolio, new, issue):
        raise field_error(field, "Given parent work item does not belong to appropriate hierarchy.")
    old = portfolio.issues.get(issue.parent) if issue.parent else None
    if old is new:
        return []
    issue.parent = new.key if new else None
    return [
        ChangeItem(
            "parent",
            "jira",
            "parent",
            str(old.id) if old else None,
            old.key if old else None,
            str(new.id) if new else None,
            new.key if new else None,
        )
    ]


def _may_parent(portfolio: Portfolio, parent: Issue, child: Issue) -> bool:
    child_level, parent_level = portfolio.level_of(child), portfolio.level_of(parent)
    if child_level == -1:
        return parent_level == 0
    return parent_level == child_level + 1


# --- creation -----------------------------------------------------------------------------------


def create(workflows: Workflows, body: Json, flavor: str, reporter: str) -> Issue:
    """``POST /issue``: a new issue in its workflow's first status, with no history yet."""
    portfolio = workflows.portfolio
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        raise HttpError(400, {"errorMessages": ["Issue must have fields."], "errors": {}})
    project = _find_project(portfolio, fields.get("project"))
    issuetype = _find_type(portfolio, fields.get("issuetype"))
    summary = fields.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        raise field_error("summary", "You must specify a summary of the issue.")
    issue = _new_issue(portfolio, project, issuetype, summary, reporter)
    issue.status = workflows.initial(issue)
    rest = {k: v for k, v in fields.items() if k not in ("project", "issuetype", "summary")}
    setters = _setters(flavour_fields(flavor), flavor)
    _reject_unknown(rest, setters)
    for field, value in rest.items():
        setters[field](portfolio, issue, value)  # Jira records no history for creation values
    portfolio.add_issue(issue)
    return issue


def _find_project(portfolio: Portfolio, ref: Any) -> str:
    for project in portfolio.projects.values():
        if isinstance(ref, dict) and (ref.get("key") == project.key or ref.get("id") == project.id):
            return project.key
    raise field_error("project", "valid project is required")


def _find_type(portfolio: Portfolio, ref: Any) -> str:
    for issuetype in portfolio.issue_types.values():
        if isinstance(ref, dict) and (
            ref.get("name") == issuetype.name or ref.get("id") == issuetype.id
        ):
            return issuetype.name
    raise field_error("issuetype", "valid issue type is required")


def _new_issue(
    portfolio: Portfolio, project: str, issuetype: str, summary: str, reporter: str
) -> Issue:
    numbers = [i.number for i in portfolio.issues.values() if i.project == project]
    now = datetime.now(UTC)
    initial = next(s.name for s in portfolio.statuses.values() if s.category == "new")
    return Issue(
        id=portfolio.next_issue_id(),
        key=f"{project}-{max(numbers, default=0) + 1}",
        project=project,
        issuetype=issuetype,
        status=initial,
        summary=summary,
        created=now,
        updated=now,
        reporter=reporter,
    )


# --- deletion -----------------------------------------------------------------------------------

HAS_SUBTASKS = (
    "The issue '{}' has subtasks. To delete it, set the deleteSubtasks parameter to true, which "
    "deletes its subtasks with it."
)


def delete(portfolio: Portfolio, issue: Issue, delete_subtasks: bool) -> list[str]:
    """``DELETE /issue``: the issue is gone, with its sub-tasks when asked (else 400, as the
    official document says); return the keys deleted.

    Children at other levels stay and lose their parent, and links to a deleted issue go. Jira
    keeps no history of a deleted issue; whether it writes one on those children is unverified,
    so the sandbox writes none and leaves their ``updated`` alone: the harder case for a client,
    which cannot find the change by ``updated``.
    """
    subtasks = [
        i for i in portfolio.issues.values() if i.parent == issue.key and portfolio.level_of(i) < 0
    ]
    if subtasks and not delete_subtasks:
        raise HttpError(400, {"errorMessages": [HAS_SUBTASKS.format(issue.key)], "errors": {}})
    gone = [issue, *subtasks]
    for deleted in gone:
        portfolio.remove_issue(deleted)
    keys = {deleted.key for deleted in gone}
    for other in portfolio.issues.values():
        if other.parent in keys:
            other.parent = None
        if any(link.other_key in keys for link in other.links):
            other.links = [link for link in other.links if link.other_key not in keys]
    return sorted(keys)
