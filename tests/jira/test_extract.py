"""Jira JSON of either flavour into records: fields, hierarchy, time stamps, changelogs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from restrat_sync.jira import FieldIds, records
from restrat_sync.jira.extract import (
    REQUEST_FIELDS,
    histories_of,
    is_truncated,
    issue_record,
    merge_histories,
    parse_jira_timestamp,
    status_records,
    transitions_and_changes,
)
from restrat_sync.jira.records import LinkRecord
from tests.jira.payloads import (
    CLOUD_IDS,
    DC_IDS,
    cloud_issue,
    dc_issue,
    history,
    issue_ref,
    item,
    recorded,
    status,
    status_histories,
    status_item,
    with_epoch_created,
)

NO_IDS = FieldIds(None, None, None)


def record(raw: dict[str, Any], fields: FieldIds = DC_IDS) -> records.IssueRecord:
    return issue_record(raw, fields, histories_of(raw))


# --- time stamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2021-01-25T11:09:27.985+0800", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        ("2021-01-25T11:09:27.985+08:00", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        ("2021-01-25T03:09:27.985Z", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        ("2021-01-24T22:09:27.985-0500", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        ("2021-01-25T05:39:27.985+0230", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        (1611544167985, datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
        ("1611544167985", datetime(2021, 1, 25, 3, 9, 27, 985000, tzinfo=UTC)),
    ],
)
def test_timestamps_of_any_offset_form_become_aware_utc(text: str | int, utc: datetime) -> None:
    """Colon-less, colon and Z offsets, and bulk fetch epoch milliseconds: all one instant."""
    parsed = parse_jira_timestamp(text)
    assert parsed == utc
    assert parsed.utcoffset() is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "utc_hour"),
    [
        ("2024-03-30T12:00:00.000+0100", 11),  # Berlin in winter time
        ("2024-03-31T12:00:00.000+0200", 10),  # Berlin the day after: summer time
    ],
)
def test_berlin_offsets_either_side_of_dst_map_to_utc(text: str, utc_hour: int) -> None:
    """The same wall-clock noon is a different UTC hour once daylight saving time starts."""
    assert parse_jira_timestamp(text).hour == utc_hour


@pytest.mark.parametrize("text", ["2021-01-25T11:09:27.985", "yesterday", "", True])
def test_timestamps_without_an_offset_or_garbage_are_refused(text: Any) -> None:
    """A time without its offset would have to guess a zone: refuse it."""
    with pytest.raises(ValueError, match=r"timestamp|Invalid"):
        parse_jira_timestamp(text)


def test_autumn_dst_changes_are_ordered_by_instant_not_by_wall_clock() -> None:
    """At Berlin's fall-back hour, 02:15+0100 comes after 02:30+0200 (and history ids disagree)."""
    late = history(4, "2024-10-27T02:15:00.000+0100", [status_item("In Progress", "Done")])
    early = history(5, "2024-10-27T02:30:00.000+0200", [status_item("To Do", "In Progress")])
    transitions, _ = transitions_and_changes([late, early])
    assert [t.history_id for t in transitions] == [5, 4]
    assert [t.at.hour for t in transitions] == [0, 1]


# --- fields --------------------------------------------------------------------------------------


def test_cloud_issue_reads_parent_story_points_and_status_category() -> None:
    """Cloud: fields.parent at every level, story points from the discovered field id."""
    raw = cloud_issue(
        7,
        parent=issue_ref("PAY-1"),
        customfield_10016=5,
        customfield_10106=99,
        status=status("Done"),
    )
    got = record(raw, CLOUD_IDS)
    assert (got.id, got.key, got.project, got.issuetype) == (10007, "PAY-7", "PAY", "Story")
    assert got.parent_key == "PAY-1"
    assert (got.epic_link_key, got.parent_link_key) == (None, None)
    assert got.story_points == 5.0
    assert (got.status, got.status_id, got.status_category) == ("Done", "10001", "done")
    assert (got.hierarchy_level, got.subtask) == (0, False)
    assert got.created == datetime(2024, 1, 8, 9, 0, tzinfo=UTC)
    assert got.priority == "Medium"


@pytest.mark.parametrize(
    ("level", "extra", "expected"),
    [
        (0, {"customfield_10100": "PAY-2"}, (None, "PAY-2", None)),
        (
            1,
            {
                "customfield_10200": {
                    "hasEpicLinkFieldDependency": False,
                    "showField": True,
                    "data": {"id": 10003, "key": "PORT-3", "keyNum": 3},
                }
            },
            (None, None, "PORT-3"),
        ),
        (1, {"customfield_10200": "PORT-4"}, (None, None, "PORT-4")),
        (-1, {"parent": issue_ref("PAY-5")}, ("PAY-5", None, None)),
        (0, {"customfield_10100": None, "customfield_10200": None}, (None, None, None)),
    ],
    ids=["epic-link", "parent-link-object", "parent-link-key", "sub-task-parent", "none"],
)
def test_datacenter_hierarchy_comes_from_parent_epic_link_and_parent_link(
    level: int, extra: dict[str, Any], expected: tuple[str | None, ...]
) -> None:
    """DC: sub-tasks use parent, stories a plain Epic Link key, epics a Parent Link object."""
    got = record(dc_issue(9, level=level, **extra), DC_IDS)
    assert (got.parent_key, got.epic_link_key, got.parent_link_key) == expected
    assert got.subtask is (level == -1)


@pytest.mark.parametrize(
    ("fields", "value", "expected"),
    [
        (DC_IDS, 3, 3.0),
        (DC_IDS, 0.5, 0.5),
        (DC_IDS, None, None),
        (NO_IDS, 8, None),  # no story points field was discovered
    ],
)
def test_story_points_come_from_the_discovered_field(
    fields: FieldIds, value: float | None, expected: float | None
) -> None:
    """Story points are read only from the field discovery found."""
    assert record(dc_issue(1, customfield_10106=value), fields).story_points == expected


def test_dates_versions_labels_and_resolution_are_typed() -> None:
    """duedate and releaseDate are dates; resolutiondate is aware UTC; labels a tuple."""
    raw = dc_issue(
        3,
        duedate="2024-02-29",
        resolutiondate="2024-02-01T18:30:00.000-0800",
        labels=["okr", "q1"],
        fixVersions=[
            {"id": "1", "name": "1.0", "released": True, "releaseDate": "2024-01-31"},
            {"id": "2", "name": "2.0", "released": False},
        ],
    )
    got = record(raw)
    assert got.duedate == date(2024, 2, 29)
    assert got.resolved == datetime(2024, 2, 2, 2, 30, tzinfo=UTC)
    assert got.labels == ("okr", "q1")
    assert [(v.name, v.released, v.release_date) for v in got.fix_versions] == [
        ("1.0", True, date(2024, 1, 31)),
        ("2.0", False, None),
    ]


def test_links_carry_their_direction_and_the_other_key() -> None:
    """An outwardIssue link is outward, an inwardIssue link inward; each names the other issue."""
    kind = {
        "id": "10300",
        "name": "Implements",
        "inward": "is implemented by",
        "outward": "implements",
    }
    raw = dc_issue(
        4,
        issuelinks=[
            {"id": "501", "type": kind, "outwardIssue": issue_ref("PORT-1")},
            {"id": "502", "type": kind, "inwardIssue": issue_ref("PAY-9")},
        ],
    )
    assert record(raw).links == (
        LinkRecord("501", "Implements", "outward", "PORT-1"),
        LinkRecord("502", "Implements", "inward", "PAY-9"),
    )


def test_missing_hierarchy_level_is_none() -> None:
    """Older Jira sends no issuetype.hierarchyLevel: the record says so instead of guessing."""
    got = record(dc_issue(1, level=None))
    assert got.hierarchy_level is None
    assert got.subtask is False


@pytest.mark.parametrize(
    ("name", "fields", "expected"),
    [
        ("cloud_search_page.json", CLOUD_IDS, ("PAY-1234", "PAY-1200", None, 3, 2)),
        ("dc_search_page.json", DC_IDS, ("MOB-88", None, "MOB-80", 2, 1)),
    ],
)
def test_recorded_pages_extract_fully(
    name: str, fields: FieldIds, expected: tuple[Any, ...]
) -> None:
    """Recorded-style pages, with all their noise, give the expected records."""
    raw = recorded(name)["issues"][0]
    got = record(raw, fields)
    histories = (got.changelog_total, len(got.transitions))
    assert (got.key, got.parent_key, got.epic_link_key, *histories) == expected
    assert all(t.at.tzinfo is UTC for t in got.transitions)


# --- changelogs ----------------------------------------------------------------------------------


def test_newest_first_histories_become_oldest_first_records() -> None:
    """Cloud embeds the newest history first; records run oldest first."""
    raw = cloud_issue(1, status_histories(5))
    assert [h["id"] for h in histories_of(raw)] == ["1004", "1003", "1002", "1001", "1000"]
    assert [t.history_id for t in record(raw, CLOUD_IDS).transitions] == [
        1000,
        1001,
        1002,
        1003,
        1004,
    ]


def test_ties_on_created_are_broken_by_history_id() -> None:
    """Histories of the same millisecond are ordered by their id."""
    same = "2024-01-08T17:00:00.000+0800"
    raw = [history(i, same, [status_item("To Do", "In Progress")]) for i in (12, 3, 7)]
    transitions, _ = transitions_and_changes(raw)
    assert [t.history_id for t in transitions] == [3, 7, 12]


def test_a_history_seen_twice_counts_once_whatever_its_created_form() -> None:
    """An embedded history (ISO created) and its bulk-fetched copy (epoch ms) merge into one."""
    embedded = status_histories(3)
    merged = merge_histories(embedded, with_epoch_created(status_histories(5)))
    assert [h["id"] for h in merged] == ["1000", "1001", "1002", "1003", "1004"]
    assert merged[0] is embedded[0]  # the first source wins


def test_status_items_become_transitions_with_names_and_ids() -> None:
    """A status item keeps Jira's from/to ids and names; its time is the history's, in UTC."""
    transitions, changes = transitions_and_changes(
        [history(1, "2021-04-01T08:52:16.448+0800", [status_item("To Do", "In Progress")])]
    )
    assert changes == ()
    assert transitions == (
        records.TransitionRecord(
            history_id=1,
            item_index=0,
            at=datetime(2021, 4, 1, 0, 52, 16, 448000, tzinfo=UTC),
            from_status_id="10000",
            from_status="To Do",
            to_status_id="3",
            to_status="In Progress",
        ),
    )


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (item("IssueParentAssociation", None, None, "10001", "PAY-1"), records.PARENT),
        (item("parent", None, None, "10001", "PAY-1", field_id="parent"), records.PARENT),
        (item("Parent", None, None, "10001", "PAY-1", field_id="parent"), records.PARENT),
        (
            item("Epic Link", None, None, "10002", "PAY-2", "custom", "customfield_10100"),
            records.EPIC_LINK,
        ),
        (
            item("Epic-Verknüpfung", None, None, "10002", "PAY-2", "custom", "customfield_10100"),
            records.EPIC_LINK,
        ),
        (
            item("Parent Link", None, None, "10003", "PORT-3", "custom", "customfield_10200"),
            records.PARENT_LINK,
        ),
        (item("priority", "3", "Medium", "2", "High", field_id="priority"), records.PRIORITY),
        (item("labels", None, "", None, "okr q1", field_id="labels"), records.LABELS),
        (item("Link", None, None, "PAY-2", "This issue implements PAY-2"), records.LINK),
    ],
    ids=[
        "cloud-parent",
        "parent",
        "dc-sub-task",
        "epic",
        "epic-localised",
        "parent-link",
        "priority",
        "labels",
        "link",
    ],
)
def test_tracked_items_become_field_changes(changed: dict[str, Any], expected: str) -> None:
    """Hierarchy items under all their names, priority, labels and issue links are kept as
    field changes."""
    _, changes = transitions_and_changes(
        [history(1, "2024-01-08T17:00:00.000+0800", [changed])], DC_IDS
    )
    assert [c.field for c in changes] == [expected]
    assert (changes[0].to_value, changes[0].to_string) == (changed["to"], changed["toString"])


@pytest.mark.parametrize(
    "ignored",
    [
        item("resolution", None, None, "10000", "Done", field_id="resolution"),
        item("Status", None, None, "1", "Green", "custom", "customfield_12000"),
        item("Link", None, None, "PAY-2", "This issue implements PAY-2", "custom", "customfield_1"),
        item("Story point estimate", None, None, "3", "3", "custom", "customfield_10016"),
    ],
)
def test_untracked_items_are_ignored(ignored: dict[str, Any]) -> None:
    """Fields restrat-sync does not track, and custom fields named like system ones, are skipped."""
    result = transitions_and_changes([history(1, "2024-01-08T17:00:00.000+0800", [ignored])])
    assert result == ((), ())


def test_null_from_and_to_values_stay_none() -> None:
    """Any of from, to, fromString and toString may be null and is kept as None."""
    created = "2024-01-08T17:00:00.000+0800"
    _, changes = transitions_and_changes(
        [history(1, created, [item("IssueParentAssociation", None, None, None, None)])]
    )
    change = changes[0]
    assert (change.from_value, change.from_string, change.to_value, change.to_string) == (
        None,
        None,
        None,
        None,
    )


def test_item_index_is_the_same_for_an_embedded_and_a_bulk_filtered_history() -> None:
    """Bulk fetch drops untracked items; a history's records must not change index for it."""
    created = "2024-01-08T17:00:00.000+0800"
    resolution = item("resolution", None, None, "1", "Done", field_id="resolution")
    full = history(1, created, [resolution, status_item("In Progress", "Done"), item("labels")])
    filtered = history(1, created, [status_item("In Progress", "Done"), item("labels")])
    assert transitions_and_changes([full]) == transitions_and_changes([filtered])
    transitions, changes = transitions_and_changes([full])
    assert (transitions[0].item_index, changes[0].item_index) == (0, 1)


@pytest.mark.parametrize(
    ("raw", "truncated"),
    [
        (cloud_issue(1, status_histories(41)), True),
        (cloud_issue(1, status_histories(40)), False),
        (dc_issue(1, status_histories(300)), False),
        ({"id": "1", "key": "PAY-1", "fields": {}}, True),
    ],
    ids=["over-40", "exactly-40", "dc-full", "no-changelog"],
)
def test_truncation_is_total_above_the_histories_held(raw: dict[str, Any], truncated: bool) -> None:
    """total > len(histories), or no changelog at all, means the changelog must be completed."""
    assert is_truncated(raw) is truncated


def test_changelog_total_is_what_jira_reported() -> None:
    """A record says how many histories Jira counted, even when it holds fewer."""
    raw = cloud_issue(1, status_histories(45))
    got = record(raw, CLOUD_IDS)
    assert (got.changelog_total, len(got.transitions)) == (45, 40)


# --- requests and catalogues ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "custom"),
    [
        (CLOUD_IDS, ["customfield_10016"]),
        (DC_IDS, ["customfield_10106", "customfield_10100", "customfield_10200"]),
        (NO_IDS, []),
    ],
)
def test_request_fields_are_exactly_what_records_read(fields: FieldIds, custom: list[str]) -> None:
    """Only the fields records need, plus the discovered custom ids; never *all or *navigable."""
    system = [
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
    ]
    assert REQUEST_FIELDS(fields) == system + custom


def test_status_records_keep_the_category_key() -> None:
    """Statuses keep their id, name and the category key (names are localised, keys are not)."""
    got = status_records([status("To Do"), {**status("Done"), "name": "Erledigt"}])
    assert got == [
        records.StatusRecord("10000", "To Do", "new"),
        records.StatusRecord("10001", "Erledigt", "done"),
    ]
