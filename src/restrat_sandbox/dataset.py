"""The sandbox's datasets: a generated portfolio by size, or a replayed Jira issue export.

An export is what Jira's REST API returns, saved to a file: either a JSON list of issues or a
search response ``{"issues": [...], "names": {...}}`` (``expand=names``), from Cloud or Data
Center, with ``expand=changelog`` for the histories. The loader turns it into the same
flavour-neutral :class:`Portfolio` the generator builds: hierarchy from ``fields.parent``, Epic
Link or Parent Link; changelog hierarchy items (Epic Link, Parent Link, IssueParentAssociation)
folded into one ``parent`` field; story points under the model's neutral name. Catalogues are
learned from the issues themselves, so the sandbox can serve them back in either flavour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from restrat_sandbox.catalogue import SANDBOX_USER, STATUSES
from restrat_sandbox.generator import SIZES, generate_portfolio
from restrat_sandbox.model import (
    PARENT_CHANGE,
    STATUS_CATEGORIES,
    STORY_POINTS_CHANGE,
    ChangeItem,
    History,
    Issue,
    IssueLink,
    IssueType,
    LinkType,
    Portfolio,
    Priority,
    Project,
    Status,
    User,
    Version,
)
from restrat_sandbox.timefmt import from_epoch_millis, parse_jira_datetime

log = logging.getLogger(__name__)

Json = dict[str, Any]

EPIC_LINK = "Epic Link"
PARENT_LINK = "Parent Link"
STORY_POINTS_NAMES = ("Story Points", "Story point estimate")
# The model's flavour-neutral names for hierarchy and estimate changes in a changelog.
NEUTRAL_PARENT = PARENT_CHANGE
NEUTRAL_POINTS = STORY_POINTS_CHANGE
# How the two flavours and their levels name a hierarchy change in a changelog.
_PARENT_ITEMS = frozenset({"parent", "Parent", "IssueParentAssociation", EPIC_LINK, PARENT_LINK})
_KNOWN_CATEGORIES = {status.name.casefold(): status.category for status in STATUSES}


def load_dataset(spec: str, seed: int = 7, now: datetime | None = None) -> Portfolio:
    """``small``, ``medium`` or ``large`` generate a portfolio; anything else is an export file."""
    if spec in SIZES:
        return generate_portfolio(spec, seed, now)
    path = Path(spec)
    if not path.is_file():
        sizes = ", ".join(SIZES)
        raise ValueError(f"dataset {spec!r} is neither a size ({sizes}) nor an existing file")
    return load_issue_export(path)


def load_issue_export(path: Path) -> Portfolio:
    """Load a Jira REST issue export (Cloud or Data Center); ``now`` is its latest update.

    Raises ValueError naming the file, and the issue at fault, when the file cannot be used.
    """
    issues, names = _read(path)
    loader = _ExportLoader(path, _field_ids(names, issues))
    for index, raw in enumerate(issues):
        loader.add(index, raw)
    return loader.finish()


class _Bad(ValueError):
    """A problem inside one issue; the loader adds the file and the issue to the message."""


def _read(path: Path) -> tuple[list[Any], dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{path}: not a JSON file: {exc}") from exc
    names: Any = {}
    if isinstance(data, dict):
        issues, names = data.get("issues"), data.get("names") or {}
    else:
        issues = data
    if not isinstance(issues, list) or not isinstance(names, dict):
        raise ValueError(
            f"{path}: expected a JSON list of issues or an object with an 'issues' list"
            " (and optionally a 'names' object)"
        )
    if not issues:
        raise ValueError(f"{path}: holds no issues")
    return issues, names


def _field_ids(names: dict[str, Any], issues: list[Any]) -> dict[str, set[str]]:
    """Field name -> ids, from ``names`` (id -> name, either way round) and changelog items."""
    ids: dict[str, set[str]] = {}
    for key, value in names.items():
        if not isinstance(value, str):
            continue
        # Jira maps id -> name; a hand-made file may map name -> id.
        name, field_id = (key, value) if value.startswith("customfield_") else (value, key)
        ids.setdefault(name, set()).add(field_id)
    # Without names, a changelog item still tells which id a named field has.
    for item in _raw_items(issues):
        if item.get("fieldId") and item.get("field"):
            ids.setdefault(str(item["field"]), set()).add(str(item["fieldId"]))
    return ids


def _raw_items(issues: list[Any]) -> Iterator[Json]:
    """Every changelog item in the raw issues; malformed parts are skipped (and reported later)."""
    for raw in issues:
        changelog = raw.get("changelog") if isinstance(raw, dict) else None
        histories = changelog.get("histories") if isinstance(changelog, dict) else None
        for history in histories if isinstance(histories, list) else []:
            items = history.get("items") if isinstance(history, dict) else None
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    yield item


@dataclass
class _StatusEvidence:
    """What a changelog says about a status no issue currently has; it hints the category."""

    status_id: str
    resolved: bool = False  # entered together with a resolution being set
    initial: bool = False  # the "from" of an issue's first status change


@dataclass
class _Catalogues:
    projects: dict[str, Project] = field(default_factory=dict)
    issue_types: dict[str, tuple[str, int | None, bool]] = field(default_factory=dict)
    statuses: dict[str, Status] = field(default_factory=dict)
    evidence: dict[str, _StatusEvidence] = field(default_factory=dict)
    priorities: dict[str, Priority] = field(default_factory=dict)
    versions: dict[tuple[str, str], Version] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    link_types: dict[str, LinkType] = field(default_factory=dict)


class _ExportLoader:
    """Turns raw REST issues into model issues, learning the catalogues on the way."""

    def __init__(self, path: Path, field_ids: dict[str, set[str]]) -> None:
        self.path = path
        # Sorted, so an export with two such fields resolves the same way on every run.
        self.epic_link = sorted(field_ids.get(EPIC_LINK, ()))
        self.parent_link = sorted(field_ids.get(PARENT_LINK, ()))
        self.points = sorted({i for name in STORY_POINTS_NAMES for i in field_ids.get(name, ())})
        self.cat = _Catalogues()
        self.issues: list[Issue] = []
        self.seen: set[str | int] = set()
        self.truncated = 0

    def add(self, index: int, raw: Any) -> None:
        key = raw.get("key") if isinstance(raw, dict) else None
        label = key if isinstance(key, str) and key else f"#{index + 1} (no key)"
        try:
            issue = self._issue(_obj(raw, "the issue"))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"{self.path}: issue {label}: {_reason(exc)}") from exc
        if issue.key in self.seen or issue.id in self.seen:
            raise ValueError(f"{self.path}: issue {label}: its id or key occurs twice")
        self.seen.update((issue.key, issue.id))
        self.issues.append(issue)

    def finish(self) -> Portfolio:
        if self.truncated:
            # Cloud's search embeds only the newest histories; replaying them misses the rest.
            log.warning("%s: %d changelogs are incomplete", self.path, self.truncated)
        self.issues.sort(key=lambda issue: (issue.created, issue.id))
        portfolio = Portfolio(now=max(issue.updated for issue in self.issues))
        cat = self.cat
        portfolio.projects.update(cat.projects)
        portfolio.issue_types.update(self._issue_types())
        portfolio.statuses.update(cat.statuses)
        portfolio.statuses.update(self._historic_statuses())
        portfolio.priorities.update(cat.priorities)
        portfolio.versions.update(cat.versions)
        # The sandbox authenticates its first user, so the well-known caller leads.
        portfolio.users[SANDBOX_USER.account_id] = SANDBOX_USER
        for account_id, user in cat.users.items():
            portfolio.users.setdefault(account_id, user)
        portfolio.link_types.update(cat.link_types)
        for issue in self.issues:
            portfolio.add_issue(issue)
        return portfolio

    # --- one issue -------------------------------------------------------------------------

    def _issue(self, raw: Json) -> Issue:
        fields = _obj(raw.get("fields"), "fields")
        key = _text(raw.get("key"), "key")
        project = self._project(fields.get("project"), key)
        return Issue(
            id=_int(raw.get("id"), "id"),
            key=key,
            project=project,
            issuetype=self._issue_type(_obj(fields.get("issuetype"), "fields.issuetype")),
            status=self._status(_obj(fields.get("status"), "fields.status")),
            summary=str(fields.get("summary") or ""),
            created=_moment(fields.get("created"), "fields.created"),
            updated=_moment(fields.get("updated"), "fields.updated"),
            resolutiondate=_optional_moment(fields.get("resolutiondate"), "fields.resolutiondate"),
            duedate=_day(fields.get("duedate"), "fields.duedate"),
            priority=self._priority(fields.get("priority")),
            labels=_labels(fields.get("labels")),
            parent=self._parent(fields),
            fix_versions=self._versions(project, fields.get("fixVersions")),
            assignee=self._user(fields.get("assignee")),
            reporter=self._user(fields.get("reporter")),
            story_points=self._story_points(fields),
            links=self._links(fields.get("issuelinks")),
            histories=self._histories(raw.get("changelog")),
        )

    def _project(self, value: Any, key: str) -> str:
        if value is None:  # not requested in the export: the key's prefix still names it
            project_key = key.rsplit("-", 1)[0]
            if project_key not in self.cat.projects:
                synthetic_id = str(90000 + len(self.cat.projects))
                self.cat.projects[project_key] = Project(synthetic_id, project_key, project_key)
            return project_key
        value = _obj(value, "fields.project")
        project_key = _text(value.get("key"), "fields.project.key")
        name = str(value.get("name") or project_key)
        project_id = _text(value.get("id"), "fields.project.id")
        self.cat.projects.setdefault(project_key, Project(project_id, project_key, name))
        return project_key

    def _issue_type(self, value: Json) -> str:
        name = _text(value.get("name"), "fields.issuetype.name")
        level = value.get("hierarchyLevel")
        if level is not None and not isinstance(level, int):
            raise _Bad("fields.issuetype.hierarchyLevel must be a number")
        type_id = _text(value.get("id"), "fields.issuetype.id")
        self.cat.issue_types.setdefault(name, (type_id, level, bool(value.get("subtask"))))
        return name

    def _status(self, value: Json) -> str:
        name = _text(value.get("name"), "fields.status.name")
        category = _obj(value.get("statusCategory"), "fields.status.statusCategory").get("key")
        if category not in STATUS_CATEGORIES:
            keys = ", ".join(STATUS_CATEGORIES)
            raise _Bad(f"status {name!r} has category {category!r}; expected one of {keys}")
        status_id = _text(value.get("id"), "fields.status.id")
        self.cat.statuses.setdefault(name, Status(status_id, name, category))
        return name

    def _priority(self, value: Any) -> str:
        if value is None:
            return ""  # Jira allows no priority; the renderer shows null for an unknown name
        value = _obj(value, "fields.priority")
        name = _text(value.get("name"), "fields.priority.name")
        priority_id = _text(value.get("id"), "fields.priority.id")
        self.cat.priorities.setdefault(name, Priority(priority_id, name))
        return name

    def _parent(self, fields: Json) -> str | None:
        """Cloud's ``parent`` (also DC sub-tasks), else DC's Epic Link, else its Parent Link."""
        parent = fields.get("parent")
        if isinstance(parent, dict) and parent.get("key"):
            return _text(parent["key"], "fields.parent.key")
        for field_id in self.epic_link:
            value = fields.get(field_id)
            if value:
                return _text(value, f"{field_id} (Epic Link)")
        for field_id in self.parent_link:
            value = fields.get(field_id)
            if isinstance(value, dict):  # {"hasEpicLinkFieldDependency", "showField", "data"}
                value = _obj(value.get("data"), f"{field_id}.data (Parent Link)").get("key")
            if value:
                return _text(value, f"{field_id} (Parent Link)")
        return None

    def _versions(self, project: str, value: Any) -> list[str]:
        names = []
        for raw in _list(value, "fields.fixVersions"):
            version = _obj(raw, "fields.fixVersions[]")
            name = _text(version.get("name"), "fields.fixVersions[].name")
            released = bool(version.get("released"))
            release = _day(version.get("releaseDate"), "fields.fixVersions[].releaseDate")
            version_id = _text(version.get("id"), "fields.fixVersions[].id")
            self.cat.versions.setdefault(
                (project, name), Version(version_id, name, project, released, release)
            )
            names.append(name)
        return names

    def _user(self, value: Any) -> str | None:
        """A user on either flavour: Cloud's accountId, else Data Center's key or name."""
        if value is None:
            return None
        value = _obj(value, "user")
        account_id = value.get("accountId") or value.get("key") or value.get("name")
        account_id = _text(account_id, "user accountId, key or name")
        email = str(value.get("emailAddress") or "")
        name = str(value.get("name") or email.partition("@")[0] or account_id)
        display = str(value.get("displayName") or name)
        zone = str(value.get("timeZone") or "UTC")
        self.cat.users.setdefault(account_id, User(account_id, name, display, email, zone))
        return account_id

    def _story_points(self, fields: Json) -> float | None:
        for field_id in self.points:
            value = fields.get(field_id)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _Bad(f"{field_id} (story points) must be a number, not {value!r}")
            return float(value)
        return None

    def _links(self, value: Any) -> list[IssueLink]:
        links = []
        for raw in _list(value, "fields.issuelinks"):
            link = _obj(raw, "fields.issuelinks[]")
            kind = _obj(link.get("type"), "fields.issuelinks[].type")
            name = _text(kind.get("name"), "fields.issuelinks[].type.name")
            link_type = LinkType(
                str(kind.get("id") or ""),
                name,
                str(kind.get("inward") or ""),
                str(kind.get("outward") or ""),
            )
            self.cat.link_types.setdefault(name, link_type)
            direction = "outward" if "outwardIssue" in link else "inward"
            other = _obj(link.get(f"{direction}Issue"), f"fields.issuelinks[].{direction}Issue")
            other_key = _text(other.get("key"), "fields.issuelinks[] issue key")
            links.append(
                IssueLink(
                    _text(link.get("id"), "fields.issuelinks[].id"), name, direction, other_key
                )
            )
        return links

    # --- changelog -------------------------------------------------------------------------

    def _histories(self, value: Any) -> list[History]:
        if value is None:
            return []
        changelog = _obj(value, "changelog")
        raw = _list(changelog.get("histories"), "changelog.histories")
        total = changelog.get("total")
        if isinstance(total, int) and total > len(raw):
            self.truncated += 1
        histories = [self._history(_obj(h, "changelog history")) for h in raw]
        # Cloud embeds the newest first; the model keeps the oldest first.
        histories.sort(key=lambda history: (history.created, history.id))
        self._note_statuses(histories)
        return histories

    def _history(self, raw: Json) -> History:
        return History(
            id=_int(raw.get("id"), "changelog history id"),
            created=_moment(raw.get("created"), "changelog history created"),
            # Anonymous and some automation changes have no author; the renderer omits it.
            author=self._user(raw.get("author")) or "",
            items=self._items(raw.get("items")),
        )

    def _items(self, value: Any) -> list[ChangeItem]:
        items: list[ChangeItem] = []
        parent: ChangeItem | None = None
        for raw in _list(value, "changelog items"):
            item = self._item(_obj(raw, "changelog item"))
            if item.field == NEUTRAL_PARENT:
                if parent is not None:  # Cloud can report one move under two names
                    _merge(parent, item)
                    continue
                parent = item
            items.append(item)
        return items

    def _item(self, raw: Json) -> ChangeItem:
        name = _text(raw.get("field"), "changelog item field")
        field_id = _optional_text(raw.get("fieldId"))
        values = (
            _optional_text(raw.get("from")),
            _optional_text(raw.get("fromString")),
            _optional_text(raw.get("to")),
            _optional_text(raw.get("toString")),
        )
        if name in _PARENT_ITEMS:
            return ChangeItem(NEUTRAL_PARENT, "jira", NEUTRAL_PARENT, *values)
        if name in STORY_POINTS_NAMES or field_id in self.points:
            return ChangeItem(NEUTRAL_POINTS, "custom", NEUTRAL_POINTS, *values)
        return ChangeItem(name, str(raw.get("fieldtype") or "jira"), field_id, *values)

    def _note_statuses(self, histories: list[History]) -> None:
        """Keep what the changelog says about each status, for statuses no issue holds now."""
        first = True
        for history in histories:
            resolved = any(i.field == "resolution" and i.to_string for i in history.items)
            for item in history.items:
                if item.field != "status":
                    continue
                source = self._evidence(item.from_string, item.from_id)
                target = self._evidence(item.to_string, item.to_id)
                if first and source is not None:
                    source.initial = True
                if resolved and target is not None:
                    target.resolved = True
                first = False

    def _evidence(self, name: str | None, status_id: str | None) -> _StatusEvidence | None:
        if not name:
            return None
        return self.cat.evidence.setdefault(name, _StatusEvidence(status_id or ""))

    # --- catalogues ------------------------------------------------------------------------

    def _historic_statuses(self) -> dict[str, Status]:
        """Statuses only the changelogs mention, with a category inferred from how they were used.

        A status whose id a current status also has was renamed since; it is left out.
        """
        known_ids = {status.id for status in self.cat.statuses.values()}
        found: dict[str, Status] = {}
        for name, evidence in self.cat.evidence.items():
            if name in self.cat.statuses or evidence.status_id in known_ids:
                continue
            category = _KNOWN_CATEGORIES.get(name.casefold())
            if category is None:
                category = (
                    "done" if evidence.resolved else "new" if evidence.initial else "indeterminate"
                )
            status_id = evidence.status_id or f"history:{name}"
            found[name] = Status(status_id, name, category)
            known_ids.add(status_id)
        return found

    def _issue_types(self) -> dict[str, IssueType]:
        """Types with their levels: Jira's hierarchyLevel, else inferred (Data Center has none).

        Without a level, a sub-task type is -1, "Epic" 1 and others 0; a type whose issues are
        parents of a level-L type is raised to L + 1 (an Initiative over epics by Parent Link).
        """
        types = self.cat.issue_types
        levels = {
            name: level if level is not None else -1 if subtask else 1 if name == "Epic" else 0
            for name, (_, level, subtask) in types.items()
        }
        inferred = {name for name, (_, level, _) in types.items() if level is None}
        by_key = {issue.key: issue for issue in self.issues}
        for _ in range(len(levels)):
            raised = False
            for issue in self.issues:
                parent = by_key.get(issue.parent or "")
                if parent is None or parent.issuetype not in inferred:
                    continue
                needed = max(levels[issue.issuetype], -1) + 1
                if levels[parent.issuetype] < needed:
                    levels[parent.issuetype] = needed
                    raised = True
            if not raised:
                break
        return {name: IssueType(types[name][0], name, level) for name, level in levels.items()}


# --- JSON helpers ----------------------------------------------------------------------------


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"unexpected content ({exc})"


def _obj(value: Any, where: str) -> Json:
    if not isinstance(value, dict):
        raise _Bad(f"{where} must be an object, not {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Bad(f"{where} must be a list, not {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    """A required string; Jira sends ids as strings, hand-made files often as numbers."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Bad(f"{where} is missing or empty")


def _int(value: Any, where: str) -> int:
    text = _text(value, where)
    if not text.isdigit():
        raise _Bad(f"{where} must be a number, not {value!r}")
    return int(text)


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(value: Any, where: str) -> datetime:
    """A Jira timestamp string, or epoch milliseconds as bulk changelog fetches return."""
    if isinstance(value, int) and not isinstance(value, bool):
        return from_epoch_millis(value)
    if not isinstance(value, str):
        raise _Bad(f"{where} is missing or not a timestamp")
    try:
        return parse_jira_datetime(value)
    except ValueError as exc:
        raise _Bad(f"{where}: {exc}") from exc


def _optional_moment(value: Any, where: str) -> datetime | None:
    return None if value is None else _moment(value, where)


def _day(value: Any, where: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise _Bad(f"{where}: not a YYYY-MM-DD date: {value!r}") from exc


def _labels(value: Any) -> list[str]:
    labels = _list(value, "fields.labels")
    if not all(isinstance(label, str) for label in labels):
        raise _Bad("fields.labels must be a list of strings")
    return list(labels)


def _merge(kept: ChangeItem, duplicate: ChangeItem) -> None:
    """Fill what one name of a hierarchy change left empty from the other name's item."""
    kept.from_id = kept.from_id or duplicate.from_id
    kept.from_string = kept.from_string or duplicate.from_string
    kept.to_id = kept.to_id or duplicate.to_id
    kept.to_string = kept.to_string or duplicate.to_string
