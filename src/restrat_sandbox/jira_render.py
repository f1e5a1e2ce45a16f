"""Issue → Jira REST JSON, per flavour and in the caller's time zone; the field catalogue.

Catalogue objects (statuses, types, projects, users...) are rendered once per portfolio, flavour,
API version and time zone into JSON fragments that every issue shares, so a page of 100 issues
costs only the per-issue values. Fragments are never mutated after they are built, and writes
replace an issue's lists instead of mutating them, so a response can be serialised after the
portfolio lock is released.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from restrat_sandbox.catalogue import DONE_RESOLUTION, RANK_FIELD_ID
from restrat_sandbox.model import (
    PARENT_CHANGE,
    STATUS_CATEGORIES,
    STORY_POINTS_CHANGE,
    ChangeItem,
    History,
    Issue,
    LinkType,
    Portfolio,
    User,
)
from restrat_sandbox.timefmt import epoch_millis, format_date, format_jira_datetime

Json = dict[str, Any]
FieldRenderer = Callable[[Issue], Any]

# What Jira puts in an issue's "expand" attribute: the expansions it could perform.
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


@dataclass(frozen=True, slots=True)
class FlavourFields:
    """Custom field ids. They differ per flavour on purpose: clients must discover them."""

    story_points: str
    story_points_name: str
    story_points_type: str
    epic_link: str
    parent_link: str | None  # Data Center only (Advanced Roadmaps' "Parent Link")


CLOUD_FIELDS = FlavourFields(
    story_points="customfield_10016",
    story_points_name="Story point estimate",
    story_points_type="com.pyxis.greenhopper.jira:jsw-story-points",
    epic_link="customfield_10014",  # deprecated on Cloud, still listed
    parent_link=None,
)
DC_FIELDS = FlavourFields(
    story_points="customfield_10106",
    story_points_name="Story Points",
    story_points_type="com.atlassian.jira.plugin.system.customfieldtypes:float",
    epic_link="customfield_10100",
    parent_link="customfield_10200",
)
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"
PARENT_LINK_TYPE = "com.atlassian.jpo:jpo-custom-field-parent"


def flavour_fields(flavor: str) -> FlavourFields:
    return CLOUD_FIELDS if flavor == "cloud" else DC_FIELDS


# --- the field catalogue (GET /field) --------------------------------------------------------

# (id, name, schema) of the system fields the sandbox models; all are navigable.
_SYSTEM_FIELDS: tuple[tuple[str, str, Json], ...] = (
    ("summary", "Summary", {"type": "string", "system": "summary"}),
    ("status", "Status", {"type": "status", "system": "status"}),
    ("issuetype", "Issue Type", {"type": "issuetype", "system": "issuetype"}),
    ("project", "Project", {"type": "project", "system": "project"}),
    ("priority", "Priority", {"type": "priority", "system": "priority"}),
    ("fixVersions", "Fix versions", {"type": "array", "items": "version", "system": "fixVersions"}),
    ("labels", "Labels", {"type": "array", "items": "string", "system": "labels"}),
    ("duedate", "Due date", {"type": "date", "system": "duedate"}),
    ("resolution", "Resolution", {"type": "resolution", "system": "resolution"}),
    ("resolutiondate", "Resolved", {"type": "datetime", "system": "resolutiondate"}),
    ("assignee", "Assignee", {"type": "user", "system": "assignee"}),
    ("reporter", "Reporter", {"type": "user", "system": "reporter"}),
    (
        "issuelinks",
        "Linked Issues",
        {"type": "array", "items": "issuelinks", "system": "issuelinks"},
    ),
    ("created", "Created", {"type": "datetime", "system": "created"}),
    ("updated", "Updated", {"type": "datetime", "system": "updated"}),
)


def _custom_fields(flavor: str) -> list[tuple[str, str, Json]]:
    ids = flavour_fields(flavor)
    custom: list[tuple[str, str, Json]] = [
        (
            ids.story_points,
            ids.story_points_name,
            {"type": "number", "custom": ids.story_points_type},
        ),
        (ids.epic_link, "Epic Link", {"type": "any", "custom": EPIC_LINK_TYPE}),
    ]
    if ids.parent_link:
        custom.append((ids.parent_link, "Parent Link", {"type": "any", "custom": PARENT_LINK_TYPE}))
    for field_id, _, schema in custom:
        schema["customId"] = int(field_id.rsplit("_", 1)[1])
    return custom


@cache
def field_ids(flavor: str) -> tuple[str, ...]:
    """Every field id an issue of this flavour can carry, in catalogue order."""
    system = [field_id for field_id, _, _ in _SYSTEM_FIELDS]
    # "parent": Cloud's field for every hierarchy level; Data Center shows it on sub-tasks only.
    return (*system, "parent", *(field_id for field_id, _, _ in _custom_fields(flavor)))


def field_names(fields: tuple[str, ...], flavor: str) -> dict[str, str]:
    """``expand=names``: the display name of each returned field, by id."""
    names = {entry["id"]: entry["name"] for entry in field_catalogue(flavor)}
    return {field_id: names[field_id] for field_id in fields}


RANK_TYPE = "com.pyxis.greenhopper.jira:gh-lexo-rank"


def field_catalogue(flavor: str) -> list[Json]:
    """The body of ``GET /rest/api/{2,3}/field`` for this flavour."""
    entries = [
        _field_entry(fid, name, schema, False, flavor) for fid, name, schema in _SYSTEM_FIELDS
    ]
    # Cloud lists "parent" without a schema; it is how Cloud expresses every hierarchy level.
    entries.append(_field_entry("parent", "Parent", None, False, flavor))
    for field_id, name, schema in _custom_fields(flavor):
        entries.append(_field_entry(field_id, name, schema, True, flavor))
    # Rank appears in changelogs (board reordering), so the catalogue names it; the model keeps
    # no rank value, so issues never carry the field itself.
    rank: Json = {"type": "any", "custom": RANK_TYPE, "customId": int(RANK_FIELD_ID[12:])}
    entries.append(_field_entry(RANK_FIELD_ID, "Rank", rank, True, flavor))
    return entries


def _field_entry(field_id: str, name: str, schema: Json | None, custom: bool, flavor: str) -> Json:
    clause = [field_id] if not custom else [f"cf[{field_id.rsplit('_', 1)[1]}]", name]
    entry: Json = {
        "id": field_id,
        "name": name,
        "custom": custom,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": clause,
    }
    if flavor == "cloud":
        entry["key"] = field_id
    if schema is not None:
        entry["schema"] = schema
    return entry


# --- the `fields` request parameter -------------------------------------------------------------


def split_fields(values: Iterable[str]) -> list[str]:
    """Jira accepts repeated ``fields`` parameters and comma lists inside each."""
    return [token.strip() for value in values for token in value.split(",") if token.strip()]


def select_fields(tokens: list[str], default: str, flavor: str) -> tuple[str, ...]:
    """Resolve ``*all``, ``*navigable``, ids and ``-id`` exclusions into field ids to render.

    ``id`` and ``key`` are issue attributes, not fields; asking only for them yields no
    ``fields`` object at all. Unknown ids are ignored, as Jira does.
    """
    known = field_ids(flavor)
    wanted: list[str] = []
    excluded: set[str] = set()
    for token in tokens or [default]:
        if token in ("*all", "*navigable"):
            wanted.extend(known)
        elif token.startswith("-"):
            excluded.add(token[1:])
        elif token in known:
            wanted.append(token)
    return tuple(dict.fromkeys(f for f in wanted if f not in excluded))


# --- changelog embedding policies ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangelogPolicy:
    """How many histories an embedded changelog holds, and in which order."""

    limit: int | None  # None: all of them
    newest_first: bool


# Cloud's /search/jql embeds only the newest 40 (third-party reports say 20 on some sites).
CLOUD_SEARCH_CHANGELOG = ChangelogPolicy(limit=40, newest_first=True)
# Cloud's issue?expand=changelog embeds at most 100, also newest first.
CLOUD_ISSUE_CHANGELOG = ChangelogPolicy(limit=100, newest_first=True)
# Data Center embeds the whole changelog, oldest first.
DC_CHANGELOG = ChangelogPolicy(limit=None, newest_first=False)


# --- the renderer -------------------------------------------------------------------------------


class IssueRenderer:
    """Renders issues for one portfolio, flavour, API version, base URL and time zone."""

    def __init__(self, portfolio: Portfolio, flavor: str, api: str, base_url: str) -> None:
        self.portfolio = portfolio
        self.flavor = flavor
        self.cloud = flavor == "cloud"
        self.ids = flavour_fields(flavor)
        self.base_url = base_url
        self.root = f"{base_url}/rest/api/{api}"
        self.time_zone = next(iter(portfolio.users.values())).time_zone
        self._build_fragments()
        self._field_renderers = self._make_field_renderers()

    # fragments, built once

    def _build_fragments(self) -> None:
        p = self.portfolio
        self.statuses = {n: self._status(s.id, n, s.category) for n, s in p.statuses.items()}
        self.types = {
            n: self._issuetype(t.id, n, t.hierarchy_level) for n, t in p.issue_types.items()
        }
        self.projects = {key: self._project(pr.id, key, pr.name) for key, pr in p.projects.items()}
        self.priorities = {
            name: {"self": f"{self.root}/priority/{pr.id}", "id": pr.id, "name": name}
            for name, pr in p.priorities.items()
        }
        self.versions = {
            pk: self._version(v.id, v.name, v.released, v.release_date)
            for pk, v in p.versions.items()
        }
        self.users = {aid: self.user(u) for aid, u in p.users.items()}
        self.link_types = {name: self._link_type(lt) for name, lt in p.link_types.items()}

    def _project(self, project_id: str, key: str, name: str) -> Json:
        return {"self": f"{self.root}/project/{project_id}", "id": project_id, "key": key,
                "name": name, "projectTypeKey": "software"}  # fmt: skip

    def _link_type(self, link_type: LinkType) -> Json:
        return {"id": link_type.id, "name": link_type.name, "inward": link_type.inward,
                "outward": link_type.outward,
                "self": f"{self.root}/issueLinkType/{link_type.id}"}  # fmt: skip

    def _status(self, status_id: str, name: str, category: str) -> Json:
        cat_id, cat_name, colour = STATUS_CATEGORIES[category]
        return {
            "self": f"{self.root}/status/{status_id}",
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "name": name,
            "id": status_id,
            "statusCategory": {
                "self": f"{self.root}/statuscategory/{cat_id}",
                "id": cat_id,
                "key": category,
                "colorName": colour,
                "name": cat_name,
            },
        }

    def _issuetype(self, type_id: str, name: str, level: int) -> Json:
        body: Json = {
            "self": f"{self.root}/issuetype/{type_id}",
            "id": type_id,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/issuetypes/generic.png",
            "name": name,
            "subtask": level == -1,
        }
        # Data Center's issue types carry no hierarchyLevel: clients map levels by type name.
        if self.flavor == "cloud":
            body["hierarchyLevel"] = level
        return body

    def _version(self, version_id: str, name: str, released: bool, release: Any) -> Json:
        body: Json = {
            "self": f"{self.root}/version/{version_id}",
            "id": version_id,
            "name": name,
            "archived": False,
            "released": released,
        }
        if release is not None:
            body["releaseDate"] = format_date(release)
        return body

    def user(self, user: User) -> Json:
        """A user as Jira shows it: accountId on Cloud, name and key on Data Center."""
        if self.cloud:
            return {
                "self": f"{self.root}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "displayName": user.display_name,
                "active": True,
                "timeZone": user.time_zone,
                "accountType": "atlassian",
            }
        return {
            "self": f"{self.root}/user?username={user.name}",
            "name": user.name,
            "key": user.name,
            "emailAddress": user.email,
            "displayName": user.display_name,
            "active": True,
            "timeZone": user.time_zone,
        }

    # per-issue values

    def ts(self, moment: Any) -> str | None:
        return format_jira_datetime(moment, self.time_zone) if moment is not None else None

    def issue(
        self,
        issue: Issue,
        fields: tuple[str, ...],
        changelog: ChangelogPolicy | None,
        id_only: bool = False,
    ) -> Json:
        """One issue. ``id_only`` is Cloud search's default shape: just the id."""
        body: Json = {"id": str(issue.id)}
        if id_only and not fields and changelog is None:
            return body
        body = {
            "expand": ISSUE_EXPAND,
            "id": str(issue.id),
            "self": f"{self.root}/issue/{issue.id}",
            "key": issue.key,
        }
        if fields:
            body["fields"] = self.fields(issue, fields)
        if changelog is not None:
            body["changelog"] = self.embedded_changelog(issue, changelog)
        return body

    def fields(self, issue: Issue, selected: tuple[str, ...]) -> Json:
        out: Json = {}
        renderers = self._field_renderers
        for field_id in selected:
            value = renderers[field_id](issue)
            if value is _ABSENT:
                continue
            out[field_id] = value
        return out

    def _make_field_renderers(self) -> dict[str, FieldRenderer]:
        ids = self.ids
        renderers: dict[str, FieldRenderer] = {
            "summary": lambda i: i.summary,
            "status": lambda i: self.statuses[i.status],
            "issuetype": lambda i: self.types[i.issuetype],
            "project": lambda i: self.projects[i.project],
            "priority": lambda i: self.priorities.get(i.priority),
            "fixVersions": lambda i: [self.versions[(i.project, n)] for n in i.fix_versions],
            "labels": lambda i: i.labels,
            "duedate": lambda i: format_date(i.duedate),
            "resolution": self._resolution,
            "resolutiondate": lambda i: self.ts(i.resolutiondate),
            "assignee": lambda i: self.users.get(i.assignee) if i.assignee else None,
            "reporter": lambda i: self.users.get(i.reporter) if i.reporter else None,
            "issuelinks": self._links,
            "created": lambda i: self.ts(i.created),
            "updated": lambda i: self.ts(i.updated),
            "parent": self._parent_field,
            ids.story_points: lambda i: i.story_points,
            ids.epic_link: self._epic_link,
        }
        if ids.parent_link:
            renderers[ids.parent_link] = self._parent_link
        return renderers

    def _resolution(self, issue: Issue) -> Json | None:
        if issue.resolutiondate is None:
            return None
        rid, name = _current_resolution(issue)
        return {
            "self": f"{self.root}/resolution/{rid}",
            "id": rid,
            "name": name,
            "description": "Work has been completed on this issue.",
        }

    def issue_ref(self, other: Issue) -> Json:
        """The short form of another issue, as in ``parent`` and ``issuelinks``."""
        return {
            "id": str(other.id),
            "key": other.key,
            "self": f"{self.root}/issue/{other.id}",
            "fields": {
                "summary": other.summary,
                "status": self.statuses[other.status],
                "priority": self.priorities.get(other.priority),
                "issuetype": self.types[other.issuetype],
            },
        }

    def _links(self, issue: Issue) -> list[Json]:
        out = []
        for link in issue.links:
            other = self.portfolio.issues.get(link.other_key)
            if other is None:
                continue
            side = "outwardIssue" if link.direction == "outward" else "inwardIssue"
            out.append(
                {
                    "id": link.id,
                    "self": f"{self.root}/issueLink/{link.id}",
                    "type": self.link_types[link.type_name],
                    side: self.issue_ref(other),
                }
            )
        return out

    def _parent_of(self, issue: Issue) -> Issue | None:
        return self.portfolio.issues.get(issue.parent) if issue.parent else None

    def _parent_field(self, issue: Issue) -> Any:
        # Cloud shows every hierarchy level as fields.parent; Data Center only sub-tasks.
        parent = self._parent_of(issue)
        if parent is None:
            return _ABSENT
        if not self.cloud and self.portfolio.level_of(issue) != -1:
            return _ABSENT
        return self.issue_ref(parent)

    def _epic_link(self, issue: Issue) -> str | None:
        parent = self._parent_of(issue)
        if parent is None or self.portfolio.level_of(issue) != 0:
            return None
        return parent.key

    def _parent_link(self, issue: Issue) -> Json | None:
        # Advanced Roadmaps' Parent Link: epics and above point at the level above.
        parent = self._parent_of(issue)
        if parent is None or self.portfolio.level_of(issue) < 1:
            return None
        project = self.portfolio.projects[parent.project]
        return {
            "hasEpicLinkFieldDependency": False,
            "showField": True,
            "data": {
                "id": parent.id,
                "key": parent.key,
                "keyNum": parent.number,
                "projectId": int(project.id),
                "summary": parent.summary,
            },
        }

    # changelogs

    def embedded_changelog(self, issue: Issue, policy: ChangelogPolicy) -> Json:
        histories = issue.histories
        total = len(histories)
        chosen = histories if policy.limit is None else histories[max(0, total - policy.limit) :]
        if policy.newest_first:
            chosen = chosen[::-1]
        rendered = [self.history(issue, h) for h in chosen]
        return {"startAt": 0, "maxResults": len(rendered), "total": total, "histories": rendered}

    def history(self, issue: Issue, history: History, epoch_created: bool = False) -> Json:
        """One changelog entry. Bulk fetch shows ``created`` as epoch milliseconds."""
        author = self.portfolio.users.get(history.author)
        body: Json = {"id": str(history.id)}
        if author is not None:
            body["author"] = self.users[author.account_id]
        body["created"] = (
            epoch_millis(history.created) if epoch_created else self.ts(history.created)
        )
        level = self.portfolio.level_of(issue)
        body["items"] = [self.change_item(item, level) for item in history.items]
        return body

    def change_item(self, item: ChangeItem, level: int) -> Json:
        field, fieldtype, field_id = self._item_field(item, level)
        body: Json = {"field": field, "fieldtype": fieldtype}
        if field_id is not None:
            body["fieldId"] = field_id
        from_id, to_id = item.from_id, item.to_id
        if not self.cloud and item.field in _USER_FIELDS:
            # Data Center identifies users in changelogs by username, not account id.
            from_id, to_id = self._username(from_id), self._username(to_id)
        body["from"] = from_id
        body["fromString"] = item.from_string
        body["to"] = to_id
        body["toString"] = item.to_string
        return body

    def _username(self, account_id: str | None) -> str | None:
        user = self.portfolio.users.get(account_id) if account_id else None
        return user.name if user else account_id

    def item_field_id(self, item: ChangeItem, level: int) -> str | None:
        """The ``fieldId`` this flavour shows for a changelog item."""
        return self._item_field(item, level)[2]

    def _item_field(self, item: ChangeItem, level: int) -> tuple[str, str, str | None]:
        if item.field == PARENT_CHANGE:
            return self._parent_item_field(level)
        if STORY_POINTS_CHANGE in (item.field_id, item.field):
            return self.ids.story_points_name, "custom", self.ids.story_points
        return item.field, item.fieldtype, item.field_id

    def _parent_item_field(self, level: int) -> tuple[str, str, str | None]:
        # Hierarchy changes have a different name on each flavour and level.
        if self.cloud:
            return "IssueParentAssociation", "jira", None
        if level == -1:
            return "Parent", "jira", "parent"
        if level == 0:
            return "Epic Link", "custom", self.ids.epic_link
        return "Parent Link", "custom", self.ids.parent_link


_USER_FIELDS = frozenset({"assignee", "reporter"})
# The flavour-neutral name the model uses for the story points field in changelog items.


def _current_resolution(issue: Issue) -> tuple[str, str]:
    """The model keeps no resolution field; the newest resolution change in the log has it."""
    for history in reversed(issue.histories):
        for item in history.items:
            if item.field == "resolution" and item.to_id and item.to_string:
                return item.to_id, item.to_string
    return DONE_RESOLUTION


class _Absent:
    """Marks a field Jira omits entirely (rather than rendering as null)."""


_ABSENT: Any = _Absent()
