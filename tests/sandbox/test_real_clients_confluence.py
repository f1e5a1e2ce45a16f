"""atlassian-python-api 5.x, used the way restrat-sync uses it, works against the sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from atlassian import Confluence

from restrat_sandbox.server import DEFAULT_TOKEN, DEFAULT_USER, SandboxServer
from restrat_sandbox.storage_xml import normalise_storage
from tests.sandbox.confluence_fixtures import reset

STORAGE = (
    '<h1>Overview</h1><p>Alignment variance: 12&nbsp;pp</p><ac:structured-macro ac:name="status">'
    '<ac:parameter ac:name="colour">Green</ac:parameter>'
    '<ac:parameter ac:name="title">On track</ac:parameter></ac:structured-macro>'
)


@pytest.fixture
def confluence(confluence_server: SandboxServer) -> Iterator[Any]:
    """The v1 client the shared notes prescribe: the /wiki URL with cloud=False."""
    reset(confluence_server)
    client = Confluence(
        confluence_server.url + "/wiki", username=DEFAULT_USER, password=DEFAULT_TOKEN, cloud=False
    )
    yield client
    client.close()


def test_create_then_find_by_title_with_body(confluence: Any) -> None:
    """create_page makes a page that get_page_by_title finds with its storage body."""
    created = confluence.create_page("PORT", "Portfolio overview", STORAGE)
    found = confluence.get_page_by_title("PORT", "Portfolio overview", expand="body.storage")
    page = found["results"][0] if "results" in found else found
    assert page["id"] == created["id"]
    # Stored as Confluence re-serialises it: the macro gains its id.
    assert page["body"]["storage"]["value"] == normalise_storage(STORAGE, created["id"])


def test_create_child_page_under_parent(confluence: Any) -> None:
    """parent_id puts the new page under its parent."""
    parent = confluence.create_page("PORT", "Themes", "<p>All themes</p>")
    child = confluence.create_page("PORT", "Theme: Growth", "<p>g</p>", parent_id=parent["id"])
    assert confluence.get_parent_content_id(child["id"]) == parent["id"]


def test_update_page_bumps_the_version(confluence: Any) -> None:
    """update_page reads the history, sends version+1 and the new body lands."""
    created = confluence.create_page("PORT", "Weekly telemetry", "<p>week 1</p>")
    confluence.update_page(created["id"], "Weekly telemetry", "<p>week 2</p>")
    page = confluence.get_page_by_id(created["id"], expand="body.storage,version")
    assert page["version"]["number"] == 2
    assert page["body"]["storage"]["value"] == "<p>week 2</p>"


def test_update_with_identical_body_is_skipped_by_the_library(confluence: Any) -> None:
    """The library compares bodies itself; an unchanged body makes no new version."""
    created = confluence.create_page("PORT", "Stable", "<p>same</p>")
    confluence.update_page(created["id"], "Stable", "<p>same</p>")
    assert confluence.history(created["id"])["lastUpdated"]["number"] == 1


def test_library_sees_a_change_in_a_re_serialised_macro_body(confluence: Any) -> None:
    """Sending the same macro body again makes a new version: why restrat keeps its own hash."""
    created = confluence.create_page("PORT", "Macro page", STORAGE)
    confluence.update_page(created["id"], "Macro page", STORAGE)
    assert confluence.history(created["id"])["lastUpdated"]["number"] == 2


def test_set_page_label(confluence: Any) -> None:
    """set_page_label adds a label the label listing returns."""
    created = confluence.create_page("PORT", "Labelled page", "<p>x</p>")
    confluence.set_page_label(created["id"], "restrat-sync")
    labels = confluence.get_page_labels(created["id"])
    assert [label["name"] for label in labels["results"]] == ["restrat-sync"]


def test_attach_content_and_file(confluence: Any, tmp_path: Path) -> None:
    """attach_content and attach_file upload with the XSRF header the sandbox requires."""
    created = confluence.create_page("PORT", "With attachments", "<p>x</p>")
    confluence.attach_content(
        b"\x89PNG\r\n\x1a\nfake", name="chart.png", content_type="image/png", page_id=created["id"]
    )
    report = tmp_path / "report.csv"
    report.write_bytes("theme,share\nGrowth,0.4\nRückbau,0.6\n".encode())
    confluence.attach_file(str(report), page_id=created["id"], comment="weekly numbers")
    listed = confluence.get_attachments_from_content(created["id"])
    by_name = {a["title"]: a for a in listed["results"]}
    assert set(by_name) == {"chart.png", "report.csv"}
    assert by_name["report.csv"]["metadata"]["comment"] == "weekly numbers"
    assert by_name["report.csv"]["extensions"]["fileSize"] == report.stat().st_size


def test_malformed_storage_surfaces_as_an_error(confluence: Any) -> None:
    """The library raises on the sandbox's 400 for storage that is not XHTML."""
    from requests import HTTPError

    with pytest.raises(HTTPError, match="Error parsing xhtml"):
        confluence.create_page("PORT", "Broken page", "<p>unclosed")
