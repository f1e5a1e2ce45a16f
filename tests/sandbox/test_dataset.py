"""Loading datasets: generated sizes, and Jira REST issue exports in Cloud and DC shapes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from restrat_sandbox.dataset import load_dataset, load_issue_export
from restrat_sandbox.model import Portfolio

Json = dict[str, Any]

PROJECTS = {
    "PORT": {"id": "10000", "key": "PORT", "name": "Portfolio"},
    "PAY": {"id": "10001", "key": "PAY", "name": "Payments"},
}
TODO = {"id": "10000", "name": "To Do", "statusCategory": {"key": "new"}}
DOING = {"id": "3", "name": "In Progress", "statusCategory": {"key": "indeterminate"}}
DONE = {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}}
IMPLEMENTS = {
    "id": "10006",
    "name": "Implements",
    "inward": "is implemented by",
    "outward": "implements",
}
CLOUD_USER = {
    "accountId": "5b10a2844c20165700ede21f",
    "displayName": "Mia Krystof",
    "emailAddress": "mia@example.com",
    "timeZone": "Asia/Tokyo",
}
DC_USER = {
    "name": "mia",
    "key": "JIRAUSER10100",
    "displayName": "Mia Krystof",
    "emailAddress": "mia@example.com",
    "timeZone": "Europe/Berlin",
}


def issue_type(type_id: str, name: str, level: int | None) -> Json:
    """Cloud shows hierarchyLevel; Data Center only the subtask flag (level None)."""
    body: Json = {"id": type_id, "name": name, "subtask": name == "Sub-task"}
    if level is not None:
        body["hierarchyLevel"] = level
    return body


def issue(issue_id: int, key: str, itype: Json, status: Json, created: str, **fields: Any) -> Json:
    """One issue as the REST API returns it; extra keyword arguments become fields."""
    changelog = fields.pop("changelog", None)
    body: Json = {
        "id": str(issue_id),
        "key": key,
        "fields": {
            "summary": f"Summary of {key}",
            "project": PROJECTS[key.split("-")[0]],
            "issuetype": itype,
            "status": status,
            "created": created,
            "updated": fields.pop("updated", created),
            "priority": {"id": "3", "name": "Medium"},
            "labels": [],
            **fields,
        },
    }
    if changelog is not None:
        body["changelog"] = changelog
    return copy.deepcopy(body)  # the shared constants must survive the tests that break issues


def status_item(source: Json, target: Json) -> Json:
    return {
        "field": "status",
        "fieldtype": "jira",
        "fieldId": "status",
        "from": source["id"],
        "fromString": source["name"],
        "to": target["id"],
        "toString": target["name"],
    }


def history(history_id: int, created: str | int, author: Json | None, *items: Json) -> Json:
    body: Json = {"id": str(history_id), "created": created, "items": list(items)}
    if author is not None:
        body["author"] = author
    return body


def changelog(*histories: Json, total: int | None = None) -> Json:
    count = len(histories)
    return {
        "startAt": 0,
        "maxResults": count,
        "total": total or count,
        "histories": list(histories),
    }


def cloud_issues() -> list[Json]:
    """A Cloud hierarchy through fields.parent; changelogs newest first, as Cloud embeds them."""
    ref = {"id": "10001", "key": "PORT-1", "fields": {"summary": "Grow"}}
    ready = {"id": "10050", "name": "Ready", "statusCategory": {"key": "new"}}
    story_log = changelog(
        history(
            103,
            "2026-02-03T09:00:00.000+0900",
            CLOUD_USER,
            status_item(DOING, DONE),
            {"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
             "fromString": None, "to": "10000", "toString": "Done"},
        ),
        history(102, "2026-02-01T10:00:00.000+0900", CLOUD_USER, status_item(ready, DOING)),
        history(
            101,
            1769904000000,  # epoch milliseconds, as bulk changelog fetches return
            None,
            {"field": "IssueParentAssociation", "fieldtype": "jira", "from": None,
             "fromString": None, "to": "10002", "toString": "PAY-1"},
            {"field": "Story point estimate", "fieldtype": "custom",
             "fieldId": "customfield_10016", "from": None, "fromString": None, "to": None,
             "toString": "5"},
        ),
    )  # fmt: skip
    return [
        issue(10001, "PORT-1", issue_type("10005", "Initiative", 2), DOING,
              "2026-01-05T10:00:00.000+0100", labels=["theme-growth"]),
        issue(10002, "PAY-1", issue_type("10000", "Epic", 1), DOING,
              "2026-01-10T10:00:00.000+0100", parent=ref,
              issuelinks=[{"id": "20001", "type": IMPLEMENTS, "outwardIssue": {"key": "PORT-1"}}]),
        issue(10003, "PAY-2", issue_type("10001", "Story", 0), DONE,
              "2026-01-31T12:00:00.000+0000", updated="2026-02-03T09:00:00.000+0900",
              resolutiondate="2026-02-03T09:00:00.000+0900", duedate="2026-02-10",
              parent={"id": "10002", "key": "PAY-1"}, customfield_10016=5.0,
              assignee=CLOUD_USER, reporter=CLOUD_USER,
              fixVersions=[{"id": "11000", "name": "PAY 2026.2", "released": True,
                            "releaseDate": "2026-02-28"}],
              changelog=story_log),
        issue(10004, "PAY-3", issue_type("10003", "Sub-task", -1), TODO,
              "2026-02-01T12:00:00.000Z", parent={"id": "10003", "key": "PAY-2"}, priority=None),
    ]  # fmt: skip


def dc_issues() -> list[Json]:
    """A Data Center hierarchy through Parent Link and Epic Link; no hierarchyLevel anywhere."""
    parent_link = {
        "hasEpicLinkFieldDependency": False,
        "showField": True,
        "data": {"id": 10001, "key": "PORT-1", "keyNum": 1, "summary": "Grow"},
    }
    epic_move = {
        "field": "Epic Link", "fieldtype": "custom", "fieldId": "customfield_10100",
        "from": "10009", "fromString": "PAY-9", "to": "10002", "toString": "PAY-1",
    }  # fmt: skip
    story_log = changelog(
        history(201, "2026-01-20T10:00:00.000+0100", DC_USER, epic_move),
        history(202, "2026-01-21T10:00:00.000+0100", DC_USER, status_item(TODO, DOING)),
    )
    return [
        issue(10001, "PORT-1", issue_type("10005", "Initiative", None), TODO,
              "2026-01-05T10:00:00.000+0100"),
        issue(10002, "PAY-1", issue_type("10000", "Epic", None), DOING,
              "2026-01-10T10:00:00.000+0100", customfield_10200=parent_link),
        issue(10003, "PAY-2", issue_type("10001", "Story", None), DOING,
              "2026-01-12T10:00:00.000+0100", updated="2026-01-21T10:00:00.000+0100",
              customfield_10100="PAY-1", customfield_10106=3.0, assignee=DC_USER,
              changelog=story_log),
        issue(10004, "PAY-3", issue_type("10003", "Sub-task", None), TODO,
              "2026-01-13T10:00:00.000+0100", parent={"id": "10003", "key": "PAY-2"}),
    ]  # fmt: skip


DC_NAMES = {
    "customfield_10100": "Epic Link",
    "customfield_10200": "Parent Link",
    "customfield_10106": "Story Points",
    "summary": "Summary",
}


def write(tmp_path: Path, content: Any, raw: str | None = None) -> Path:
    path = tmp_path / "export.json"
    path.write_text(raw if raw is not None else json.dumps(content), encoding="utf-8")
    return path


@pytest.fixture
def cloud(tmp_path: Path) -> Portfolio:
    return load_issue_export(write(tmp_path, {"issues": cloud_issues(), "names": {}}))


@pytest.fixture
def dc(tmp_path: Path) -> Portfolio:
    return load_issue_export(write(tmp_path, {"issues": dc_issues(), "names": DC_NAMES}))


@pytest.mark.parametrize("shape", ["list", "search response"])
def test_cloud_export_takes_hierarchy_from_parent(tmp_path: Path, shape: str) -> None:
    """Both file shapes load; fields.parent gives every level's parent."""
    issues = cloud_issues()
    content = issues if shape == "list" else {"issues": issues, "names": {}}
    portfolio = load_issue_export(write(tmp_path, content))
    parents = {key: i.parent for key, i in portfolio.issues.items()}
    assert parents == {"PORT-1": None, "PAY-1": "PORT-1", "PAY-2": "PAY-1", "PAY-3": "PAY-2"}


def test_cloud_export_keeps_the_issue_fields(cloud: Portfolio) -> None:
    """Times become UTC; dates, points, versions, people and links come through."""
    story = cloud.issues["PAY-2"]
    assert story.created == datetime(2026, 1, 31, 12, tzinfo=UTC)
    assert story.resolutiondate == datetime(2026, 2, 3, 0, tzinfo=UTC)
    assert story.duedate == date(2026, 2, 10)
    assert story.story_points == 5.0
    assert story.fix_versions == ["PAY 2026.2"]
    assert story.assignee == story.reporter == CLOUD_USER["accountId"]
    assert cloud.issues["PAY-3"].priority == ""
    [link] = cloud.issues["PAY-1"].links
    assert (link.id, link.type_name, link.direction, link.other_key) == (
        "20001",
        "Implements",
        "outward",
        "PORT-1",
    )


def test_cloud_changelog_is_sorted_oldest_first_and_made_neutral(cloud: Portfolio) -> None:
    """Newest-first histories are re-ordered; hierarchy and points items get neutral names."""
    story = cloud.issues["PAY-2"]
    assert [h.id for h in story.histories] == [101, 102, 103]
    first = story.histories[0]
    assert first.created == datetime(2026, 2, 1, tzinfo=UTC)
    assert first.author == ""
    parent, points = first.items
    assert (parent.field, parent.field_id, parent.to_id, parent.to_string) == (
        "parent",
        "parent",
        "10002",
        "PAY-1",
    )
    assert (points.field, points.fieldtype, points.to_string) == ("story_points", "custom", "5")
    assert story.histories[-1].items[1].to_string == "Done"


def test_catalogues_are_learned_from_the_issues(cloud: Portfolio) -> None:
    """Projects, types, statuses, priorities, versions, users and link types are collected."""
    assert list(cloud.projects) == ["PORT", "PAY"]
    levels = {name: t.hierarchy_level for name, t in cloud.issue_types.items()}
    assert levels == {"Initiative": 2, "Epic": 1, "Story": 0, "Sub-task": -1}
    assert cloud.statuses["Done"].category == "done"
    assert list(cloud.priorities) == ["Medium"]
    version = cloud.versions[("PAY", "PAY 2026.2")]
    assert (version.released, version.release_date) == (True, date(2026, 2, 28))
    assert cloud.link_types["Implements"].inward == "is implemented by"
    users = list(cloud.users.values())
    assert users[0].account_id == "sandbox"
    assert users[1].display_name == "Mia Krystof"
    assert users[1].time_zone == "Asia/Tokyo"


def test_status_seen_only_in_a_changelog_gets_a_category(cloud: Portfolio) -> None:
    """A status no issue holds now is inferred from use: an initial status counts as new."""
    ready = cloud.statuses["Ready"]
    assert (ready.id, ready.category) == ("10050", "new")


def test_now_is_the_latest_update(cloud: Portfolio) -> None:
    """The export's reference instant is its newest ``updated``."""
    assert cloud.now == datetime(2026, 2, 3, 0, tzinfo=UTC)


def test_truncated_changelogs_load_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A changelog whose total exceeds its histories is kept as is, and the log says so."""
    issues = cloud_issues()
    issues[2]["changelog"]["total"] = 120
    portfolio = load_issue_export(write(tmp_path, issues))
    assert len(portfolio.issues["PAY-2"].histories) == 3
    assert "1 changelogs are incomplete" in caplog.text


def test_issues_are_kept_in_creation_order(tmp_path: Path) -> None:
    """Issues listed out of order are stored oldest first, as the generator stores them."""
    portfolio = load_issue_export(write(tmp_path, list(reversed(cloud_issues()))))
    assert list(portfolio.issues) == ["PORT-1", "PAY-1", "PAY-2", "PAY-3"]


def test_dc_export_takes_hierarchy_from_epic_and_parent_links(dc: Portfolio) -> None:
    """Parent Link's data.key and Epic Link's key are parents; sub-tasks use fields.parent."""
    parents = {key: i.parent for key, i in dc.issues.items()}
    assert parents == {"PORT-1": None, "PAY-1": "PORT-1", "PAY-2": "PAY-1", "PAY-3": "PAY-2"}
    assert dc.issues["PAY-2"].story_points == 3.0


def test_dc_levels_are_inferred_without_hierarchy_level(dc: Portfolio) -> None:
    """Sub-task -1, Epic 1, others 0, and a type parenting epics sits at 2."""
    levels = {name: t.hierarchy_level for name, t in dc.issue_types.items()}
    assert levels == {"Initiative": 2, "Epic": 1, "Story": 0, "Sub-task": -1}


def test_dc_users_and_epic_link_changes(dc: Portfolio) -> None:
    """DC users are keyed by their key; an Epic Link change becomes a neutral parent change."""
    story = dc.issues["PAY-2"]
    assert story.assignee == "JIRAUSER10100"
    assert dc.users["JIRAUSER10100"].name == "mia"
    move = story.histories[0].items[0]
    assert (move.field, move.from_string, move.to_id) == ("parent", "PAY-9", "10002")
    assert story.histories[0].created == datetime(2026, 1, 20, 9, tzinfo=UTC)


def test_names_may_map_names_to_ids(tmp_path: Path) -> None:
    """A names object written name -> id finds the custom fields too."""
    names = {name: field_id for field_id, name in DC_NAMES.items() if field_id != "summary"}
    portfolio = load_issue_export(write(tmp_path, {"issues": dc_issues(), "names": names}))
    assert portfolio.issues["PAY-1"].parent == "PORT-1"


def test_changelog_field_ids_stand_in_for_missing_names(tmp_path: Path) -> None:
    """Without names, the Epic Link id is learned from a changelog item that names it."""
    portfolio = load_issue_export(write(tmp_path, dc_issues()))
    assert portfolio.issues["PAY-2"].parent == "PAY-1"
    assert portfolio.issues["PAY-1"].parent is None  # Parent Link is named nowhere


def _break(mutate: Any) -> list[Json]:
    issues = cloud_issues()
    mutate(issues)
    return issues


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(None, "not a JSON file", id="not json"),
        pytest.param({"total": 0}, "expected a JSON list of issues", id="no issues list"),
        pytest.param([], "holds no issues", id="empty"),
        pytest.param(
            _break(lambda i: i[2]["fields"].pop("created")),
            "issue PAY-2: fields.created is missing",
            id="missing created",
        ),
        pytest.param(
            _break(lambda i: i[1]["fields"].update(updated="yesterday")),
            "issue PAY-1: fields.updated: not a Jira timestamp",
            id="bad timestamp",
        ),
        pytest.param(
            _break(lambda i: i[0]["fields"].update(status={"id": "1", "name": "Open"})),
            "issue PORT-1: fields.status.statusCategory must be an object",
            id="status without category",
        ),
        pytest.param(
            _break(lambda i: i[3]["fields"]["status"].update(statusCategory={"key": "open"})),
            "issue PAY-3: status 'To Do' has category 'open'",
            id="unknown category",
        ),
        pytest.param(
            _break(lambda i: i[3].update(key="PAY-2")),
            "issue PAY-2: its id or key occurs twice",
            id="duplicate key",
        ),
        pytest.param(
            _break(lambda i: i.insert(1, "PAY-7")),
            "issue #2 (no key): the issue must be an object",
            id="not an object",
        ),
        pytest.param(
            _break(lambda i: i[2]["changelog"]["histories"][0].update(id="abc")),
            "issue PAY-2: changelog history id must be a number",
            id="bad history id",
        ),
        pytest.param(
            _break(lambda i: i[0]["fields"].update(labels="theme-growth")),
            "issue PORT-1: fields.labels must be a list",
            id="labels not a list",
        ),
    ],
)
def test_bad_files_are_rejected_naming_file_and_issue(
    tmp_path: Path, content: Any, message: str
) -> None:
    """Each problem is reported with the file's path and, inside an issue, the issue's key."""
    path = write(tmp_path, content, raw="{not json" if content is None else None)
    with pytest.raises(ValueError, match=r"export\.json") as caught:
        load_issue_export(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    """An unreadable path names the file."""
    with pytest.raises(ValueError, match="cannot read"):
        load_issue_export(tmp_path / "absent.json")


def test_load_dataset_generates_sizes_and_reads_files(tmp_path: Path) -> None:
    """A size name generates a portfolio; a path loads the export it names."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    generated = load_dataset("small", seed=3, now=now)
    assert generated.now == now
    assert len(generated.issues) >= 450
    path = write(tmp_path, cloud_issues())
    assert list(load_dataset(str(path)).issues) == ["PORT-1", "PAY-1", "PAY-2", "PAY-3"]


def test_load_dataset_rejects_an_unknown_spec(tmp_path: Path) -> None:
    """Neither a size nor a file: the message says which choices exist."""
    with pytest.raises(ValueError, match="neither a size"):
        load_dataset(str(tmp_path / "nope.json"))
