"""Publishing pages: ownership, idempotency, parents, conflicts and the dry run.

Most tests publish to a Confluence-only sandbox on loopback; the 409 sequences are faked at
the wire with ``responses`` so that each request can be asserted.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import responses
from pydantic import SecretStr
from responses import matchers

from restrat_sandbox.server import SandboxServer
from restrat_sync.cache import Cache, open_cache
from restrat_sync.cache.pages import published_page, read_published
from restrat_sync.config import ConfluenceConfig
from restrat_sync.confluence import ConfluenceGateway, connect_confluence
from restrat_sync.errors import CredentialsRejected
from restrat_sync.http import RetryPolicy, create_session
from restrat_sync.pages import storage as s
from restrat_sync.pages.page import LABEL, RenderedPage
from restrat_sync.publish import (
    PROPERTY_KEY,
    PageOutcome,
    PublishReport,
    content_hash,
    publish_pages,
    slug,
    write_dry_run,
)
from restrat_sync.settings import Credentials
from tests.sandbox.confluence_fixtures import Wiki, confluence_sandbox, reset

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
CONFIG = ConfluenceConfig(space="PORT", parent_page="Strategy execution")
FAST = RetryPolicy(max_attempts=1, initial_wait=0.0, max_wait=0.0)


def page(
    title: str,
    text: str = "hello",
    parent: str | None = None,
    cadence: Any = "overview",
    labels: tuple[str, ...] = (LABEL, "restrat-sync-overview"),
) -> RenderedPage:
    """A hand-made page whose body says ``text``."""
    body = s.serialize([s.heading(2, title), s.paragraph(text)])
    return RenderedPage(title, cadence, "2026-W47", parent, labels, body)


def weekly() -> list[RenderedPage]:
    """The overview, a cadence parent page and one cadence page under it."""
    labels = (LABEL, "restrat-sync-weekly")
    return [
        page("Overview"),
        page("Weekly telemetry", "all weeks", cadence="weekly", labels=labels),
        page("Weekly telemetry 2026-W47", "w47", "Weekly telemetry", "weekly", labels),
    ]


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with confluence_sandbox() as started:
        yield started


@pytest.fixture
def wiki(server: SandboxServer) -> Iterator[Wiki]:
    """A raw REST client for the sandbox, whose pages are reset first."""
    reset(server)
    client = Wiki(server.url)
    yield client
    client.close()


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Cache]:
    opened = open_cache(f"sqlite:///{tmp_path / 'restrat.db'}")
    yield opened
    opened.close()


@pytest.fixture
def gateway(server: SandboxServer, wiki: Wiki) -> ConfluenceGateway:
    options = server.state.options
    creds = Credentials(options.user, SecretStr(options.token))
    return connect_confluence(f"{server.url}/wiki", creds, create_session(FAST))


def publish(gateway: ConfluenceGateway, cache: Cache, pages: list[RenderedPage]) -> PublishReport:
    return publish_pages(pages, gateway, cache, CONFIG, NOW)


def outcomes(report: PublishReport) -> dict[str, str]:
    return {p.title: p.outcome for p in report.pages}


def remote(wiki: Wiki, title: str) -> Any:
    """The page titled ``title`` with body, version, ancestors, labels and our property."""
    expand = f"body.storage,version,ancestors,metadata.labels,metadata.properties.{PROPERTY_KEY}"
    found = wiki.call(
        "GET", "content", params={"title": title, "spaceKey": "PORT", "expand": expand}
    )
    results = found.json()["results"]
    return results[0] if results else None


def labels_of(content: Any) -> set[str]:
    return {label["name"] for label in content["metadata"]["labels"]["results"]}


# --- the parent page --------------------------------------------------------------------------


def test_missing_parent_page_is_created_under_the_home_page_with_the_label(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """The configured parent page is created under the space's home page, labelled."""
    report = publish(gateway, cache, [page("Overview")])
    parent = remote(wiki, "Strategy execution")
    home = wiki.call("GET", "space/PORT", params={"expand": "homepage"}).json()["homepage"]
    assert report.parent_created
    assert report.parent_id == parent["id"]
    assert parent["ancestors"][-1]["id"] == home["id"]
    assert labels_of(parent) == {LABEL}
    assert remote(wiki, "Overview")["ancestors"][-1]["id"] == parent["id"]


def test_existing_parent_page_is_used_as_it_is(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A parent page someone made is found by title, used, and never written."""
    made = wiki.create("Strategy execution", "<p>Ours, hands off</p>")
    report = publish(gateway, cache, [page("Overview")])
    parent = remote(wiki, "Strategy execution")
    assert not report.parent_created
    assert parent["version"]["number"] == 1
    assert labels_of(parent) == set()
    assert remote(wiki, "Overview")["ancestors"][-1]["id"] == made["id"]


def test_cadence_pages_go_under_their_cadence_parent(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """parent_title None: under the configured parent; otherwise under the named page."""
    report = publish(gateway, cache, weekly())
    assert outcomes(report) == dict.fromkeys([p.title for p in weekly()], "created")
    cadence_parent = remote(wiki, "Weekly telemetry")
    child = remote(wiki, "Weekly telemetry 2026-W47")
    assert child["ancestors"][-1]["id"] == cadence_parent["id"]
    assert cadence_parent["ancestors"][-1]["id"] == report.parent_id
    assert labels_of(child) == {LABEL, "restrat-sync-weekly"}


def test_a_failed_parent_fails_its_children_with_the_reason(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A cadence parent that cannot be published takes its children down, saying why."""
    wiki.create("Weekly telemetry", "<p>someone else's</p>")
    report = publish(gateway, cache, weekly())
    child = next(p for p in report.pages if p.title == "Weekly telemetry 2026-W47")
    assert outcomes(report)["Overview"] == "created"
    assert child.outcome == "failed"
    assert child.reason is not None
    assert "its parent page 'Weekly telemetry' failed" in child.reason
    assert remote(wiki, "Weekly telemetry 2026-W47") is None


def test_a_parent_not_listed_before_its_child_fails_the_child(
    gateway: ConfluenceGateway, cache: Cache
) -> None:
    """A cadence page whose parent is not among the earlier pages is not published."""
    report = publish(gateway, cache, [weekly()[2], weekly()[1]])
    reason = report.pages[0].reason or ""
    assert report.pages[0].outcome == "failed"
    assert "is not among the pages published before it" in reason
    assert report.pages[1].outcome == "created"


def test_an_unavailable_space_fails_every_page(gateway: ConfluenceGateway, cache: Cache) -> None:
    """Without the space there is no parent page: every page fails and says so."""
    config = ConfluenceConfig(space="NOPE", parent_page="Strategy execution")
    report = publish_pages(weekly(), gateway, cache, config, NOW)
    assert report.count("failed") == 3
    assert all("'Strategy execution' in space NOPE" in (p.reason or "") for p in report.pages)
    assert report.write_requests == 0


# --- idempotency and ownership ----------------------------------------------------------------


def test_second_publish_writes_nothing_and_reports_unchanged(
    gateway: ConfluenceGateway, cache: Cache
) -> None:
    """Unchanged hashes: the second run counts zero write requests, all pages unchanged."""
    first = publish(gateway, cache, weekly())
    second = publish(gateway, cache, weekly())
    assert first.write_requests > 0
    assert second.write_requests == 0
    assert second.count("unchanged") == 3
    assert (
        second.summary() == "pages: 0 created, 0 updated, 3 unchanged, 0 failed; write requests: 0"
    )


def test_the_hash_and_where_it_is_kept(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """The content hash is in the cache row and in the page's property, with cadence/period."""
    pages = weekly()
    publish(gateway, cache, pages)
    stored = read_published(cache)
    for each in pages:
        prop = remote(wiki, each.title)["metadata"]["properties"][PROPERTY_KEY]["value"]
        assert prop == {"hash": content_hash(each), "cadence": each.cadence, "period": "2026-W47"}
        record = stored[each.title]
        assert record.content_hash == content_hash(each)
        assert (record.cadence, record.period, record.version) == (each.cadence, "2026-W47", 1)
        assert record.page_id == remote(wiki, each.title)["id"]
        assert record.published_at == record.checked_at == NOW


def test_the_property_keeps_the_exact_sync_time_and_changes_only_with_the_page(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """The sync a page was built after is in its property, to the microsecond (the body says
    only the day). A later sync that changes no content changes no property: writing one is a
    write too."""
    synced = datetime(2026, 11, 22, 8, 59, 30, 123456, tzinfo=UTC)
    publish(gateway, cache, [dataclasses.replace(page("Overview"), synced_at=synced)])
    prop = remote(wiki, "Overview")["metadata"]["properties"][PROPERTY_KEY]
    assert prop["value"]["synced_at"] == "2026-11-22T08:59:30.123456+00:00"
    later = dataclasses.replace(page("Overview"), synced_at=synced.replace(hour=9, minute=15))
    report = publish_pages([later], gateway, cache, CONFIG, NOW.replace(hour=10))
    assert (report.write_requests, outcomes(report)) == (0, {"Overview": "unchanged"})
    assert remote(wiki, "Overview")["metadata"]["properties"][PROPERTY_KEY] == prop


def test_a_page_found_unchanged_is_recorded_as_checked(
    gateway: ConfluenceGateway, cache: Cache
) -> None:
    """Publishing a page that is already as it would be written records when it was found
    current (the quiet rule for the rolling pages reads it); its write time stays."""
    publish(gateway, cache, [page("Overview")])
    publish_pages([page("Overview")], gateway, cache, CONFIG, NOW.replace(hour=10))
    record = published_page(cache, "Overview")
    assert record is not None
    assert (record.published_at, record.checked_at) == (NOW, NOW.replace(hour=10))


def test_a_changed_page_is_updated_in_place(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A new hash updates the page (version + 1, new body, property); others stay unchanged."""
    pages = weekly()
    publish(gateway, cache, pages)
    pages[0] = page("Overview", "new numbers")
    report = publish(gateway, cache, pages)
    assert outcomes(report)["Overview"] == "updated"
    assert report.count("unchanged") == 2
    overview = remote(wiki, "Overview")
    assert overview["version"]["number"] == 2
    assert "new numbers" in overview["body"]["storage"]["value"]
    prop = overview["metadata"]["properties"][PROPERTY_KEY]
    assert prop["value"]["hash"] == content_hash(pages[0])
    record = published_page(cache, "Overview")
    assert record is not None
    assert (record.version, record.content_hash) == (2, content_hash(pages[0]))


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Other"},
        {"parent_title": "Weekly telemetry"},
        {"labels": (LABEL, "x")},
        {"body": "<p>x</p>"},
    ],
)
def test_the_hash_covers_title_parent_labels_and_body(change: dict[str, Any]) -> None:
    """Any of the four parts changes the hash; cadence and period alone do not."""
    base = page("Overview")
    assert content_hash(dataclasses.replace(base, **change)) != content_hash(base)
    assert content_hash(dataclasses.replace(base, period="2026-W48")) == content_hash(base)


def test_someone_elses_page_is_never_overwritten(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A page with our title but without our label or property fails; the others go on."""
    theirs = wiki.create("Overview", "<p>my own notes</p>")
    report = publish(gateway, cache, weekly())
    failed = report.failed
    assert [p.title for p in failed] == ["Overview"]
    reason = failed[0].reason or ""
    assert "'Overview'" in reason
    assert "belongs to someone else" in reason
    assert theirs["id"] in reason
    assert report.count("created") == 2
    assert not report.ok
    kept = remote(wiki, "Overview")
    assert kept["version"]["number"] == 1
    assert kept["body"]["storage"]["value"] == "<p>my own notes</p>"
    assert labels_of(kept) == set()
    assert published_page(cache, "Overview") is None


def test_a_labelled_page_not_in_the_cache_is_adopted(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A page carrying the restrat-sync label is ours: updated, given the property, recorded."""
    made = wiki.create("Overview", "<p>old</p>")
    wiki.call("POST", f"content/{made['id']}/label", json=[{"prefix": "global", "name": LABEL}])
    report = publish(gateway, cache, [page("Overview")])
    assert outcomes(report) == {"Overview": "updated"}
    adopted = remote(wiki, "Overview")
    assert adopted["id"] == made["id"]
    assert labels_of(adopted) == {LABEL, "restrat-sync-overview"}
    assert PROPERTY_KEY in adopted["metadata"]["properties"]
    record = published_page(cache, "Overview")
    assert record is not None
    assert record.page_id == made["id"]


def test_a_page_with_our_property_only_is_adopted_and_labelled(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """Our property without the label also proves ownership; the labels are added."""
    made = wiki.create("Overview", "<p>old</p>")
    prop = {"key": PROPERTY_KEY, "value": {"hash": "stale"}}
    assert wiki.call("POST", f"content/{made['id']}/property", json=prop).status_code == 200
    report = publish(gateway, cache, [page("Overview")])
    assert outcomes(report) == {"Overview": "updated"}
    assert labels_of(remote(wiki, "Overview")) == {LABEL, "restrat-sync-overview"}


def test_a_fresh_cache_trusts_the_pages_property_and_writes_nothing(
    gateway: ConfluenceGateway, cache: Cache, tmp_path: Path
) -> None:
    """With the cache lost, a page whose property holds the same hash is only recorded."""
    publish(gateway, cache, weekly())
    fresh = open_cache(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        report = publish(gateway, fresh, weekly())
        assert report.count("unchanged") == 3
        assert report.write_requests == 0
        assert set(read_published(fresh)) == {p.title for p in weekly()}
    finally:
        fresh.close()


def test_a_page_deleted_in_confluence_is_recreated(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """The cache remembers a page that is gone: it is created again and recorded anew."""
    publish(gateway, cache, weekly())
    old = remote(wiki, "Overview")
    assert wiki.call("DELETE", f"content/{old['id']}").status_code == 204
    report = publish(gateway, cache, weekly())
    assert outcomes(report)["Overview"] == "created"
    new = remote(wiki, "Overview")
    assert new["id"] != old["id"]
    record = published_page(cache, "Overview")
    assert record is not None
    assert record.page_id == new["id"]


def test_a_hand_edit_is_overwritten_only_when_our_content_changes(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """An edited page of ours stays as edited while our hash is the same, then is replaced."""
    publish(gateway, cache, [page("Overview")])
    edited = remote(wiki, "Overview")
    assert wiki.update(edited, 2, "<p>hand edit</p>").status_code == 200
    report = publish(gateway, cache, [page("Overview")])
    assert outcomes(report) == {"Overview": "unchanged"}
    assert remote(wiki, "Overview")["body"]["storage"]["value"] == "<p>hand edit</p>"
    report = publish(gateway, cache, [page("Overview", "fresh numbers")])
    assert outcomes(report) == {"Overview": "updated"}
    final = remote(wiki, "Overview")
    assert final["version"]["number"] == 3
    assert "fresh numbers" in final["body"]["storage"]["value"]


def test_a_malformed_body_is_never_sent(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """A body that is not well-formed fails its page before any request; others go on."""
    broken = dataclasses.replace(page("Overview"), body="<p>unclosed")
    report = publish(gateway, cache, [broken, page("Themes")])
    assert outcomes(report) == {"Overview": "failed", "Themes": "created"}
    assert "not well-formed" in (report.pages[0].reason or "")
    assert remote(wiki, "Overview") is None


def test_a_page_whose_labels_fail_is_still_ours_next_time(
    gateway: ConfluenceGateway, cache: Cache, wiki: Wiki
) -> None:
    """Created, but refused a label: it fails, yet is recorded (no hash) and fixed next run."""
    bad = page("Overview", labels=(LABEL, "bad label"))
    report = publish(gateway, cache, [bad])
    assert outcomes(report) == {"Overview": "failed"}
    assert "contains invalid characters" in (report.pages[0].reason or "")
    record = published_page(cache, "Overview")
    assert record is not None
    assert record.content_hash == ""
    again = publish(gateway, cache, [page("Overview")])
    assert outcomes(again) == {"Overview": "updated"}
    assert labels_of(remote(wiki, "Overview")) == {LABEL, "restrat-sync-overview"}


def test_a_title_listed_twice_fails_the_second(gateway: ConfluenceGateway, cache: Cache) -> None:
    """Two pages with one title would overwrite each other: the second one fails."""
    report = publish(gateway, cache, [page("Overview"), page("Overview", "other")])
    assert [p.outcome for p in report.pages] == ["created", "failed"]
    assert "listed twice" in (report.pages[1].reason or "")


def test_credentials_refused_stop_the_run(server: SandboxServer, cache: Cache) -> None:
    """401 is not a page's problem: it propagates as CredentialsRejected."""
    creds = Credentials(server.state.options.user, SecretStr("wrong"))
    gw = connect_confluence(f"{server.url}/wiki", creds, create_session(FAST))
    with pytest.raises(CredentialsRejected):
        publish(gw, cache, [page("Overview")])


def test_summary_counts_every_outcome() -> None:
    """The report's summary line names each outcome count and the write requests."""
    report = PublishReport(
        pages=[
            PageOutcome("a", "created"),
            PageOutcome("b", "updated"),
            PageOutcome("c", "unchanged"),
            PageOutcome("d", "unchanged"),
            PageOutcome("e", "failed", reason="x"),
        ],
        write_requests=7,
        read_requests=9,
        parent_id="1",
    )
    assert (
        report.summary() == "pages: 1 created, 1 updated, 2 unchanged, 1 failed; write requests: 7"
    )
    assert [p.title for p in report.failed] == ["e"]


# --- 409 at the wire --------------------------------------------------------------------------

WIKI = "https://acme.atlassian.net/wiki"
CONFLICT = {
    "statusCode": 409,
    "message": "Version must be incremented on update. Current version is: 6",
}


def _wire_gateway() -> ConfluenceGateway:
    return connect_confluence(WIKI, Credentials("u", SecretStr("t")), create_session(FAST))


def _fake_found(title: str, result: dict[str, Any]) -> None:
    responses.get(
        f"{WIKI}/rest/api/content",
        json={"results": [result], "size": 1},
        match=[matchers.query_param_matcher({"title": title}, strict_match=False)],
    )


def _ours(page_id: str, version: int) -> dict[str, Any]:
    names = (LABEL, "restrat-sync-overview")
    labels = {"results": [{"prefix": "global", "name": name} for name in names]}
    props = {PROPERTY_KEY: {"value": {"hash": "old"}, "version": {"number": 1}}}
    return {
        "id": page_id,
        "title": "Overview",
        "version": {"number": version},
        "metadata": {"labels": labels, "properties": props},
    }


def _put_versions() -> list[int]:
    return [
        json.loads(c.request.body or b"{}")["version"]["number"]
        for c in responses.calls
        if c.request.method == "PUT" and c.request.url == f"{WIKI}/rest/api/content/101"
    ]


@responses.activate
def test_a_409_rereads_the_version_and_retries_once(cache: Cache) -> None:
    """Version 4 read, PUT 5 answers 409, re-read says 6, PUT 7 succeeds."""
    _fake_found("Strategy execution", {"id": "9", "title": "Strategy execution"})
    _fake_found("Overview", _ours("101", 4))
    responses.put(f"{WIKI}/rest/api/content/101", status=409, json=CONFLICT)
    responses.get(f"{WIKI}/rest/api/content/101", json=_ours("101", 6))
    responses.put(f"{WIKI}/rest/api/content/101", json={"id": "101", "version": {"number": 7}})
    responses.put(f"{WIKI}/rest/api/content/101/property/{PROPERTY_KEY}", json={})
    report = publish_pages([page("Overview")], _wire_gateway(), cache, CONFIG, NOW)
    assert report.pages == [PageOutcome("Overview", "updated", "101", 7)]
    assert _put_versions() == [5, 7]
    assert report.write_requests == 3  # two PUTs of the page, one of the property
    record = published_page(cache, "Overview")
    assert record is not None
    assert record.version == 7


@responses.activate
def test_a_second_409_fails_the_page_clearly(cache: Cache) -> None:
    """Two conflicts in a row: the page fails saying someone is editing it; nothing recorded."""
    _fake_found("Strategy execution", {"id": "9", "title": "Strategy execution"})
    _fake_found("Overview", _ours("101", 4))
    responses.put(f"{WIKI}/rest/api/content/101", status=409, json=CONFLICT)
    responses.get(f"{WIKI}/rest/api/content/101", json=_ours("101", 6))
    report = publish_pages([page("Overview")], _wire_gateway(), cache, CONFIG, NOW)
    outcome = report.pages[0]
    assert outcome.outcome == "failed"
    assert "'Overview' changed in Confluence twice" in (outcome.reason or "")
    assert "someone is editing it" in (outcome.reason or "")
    assert _put_versions() == [5, 7]
    assert published_page(cache, "Overview") is None


# --- dry run ----------------------------------------------------------------------------------


def test_dry_run_writes_storage_previews_and_an_index(tmp_path: Path) -> None:
    """Each page gets <slug>.xml (its exact body) and <slug>.html; index.html links them all."""
    pages = weekly()
    result = write_dry_run(pages, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "index.html",
        "overview.html",
        "overview.xml",
        "weekly-telemetry-2026-w47.html",
        "weekly-telemetry-2026-w47.xml",
        "weekly-telemetry.html",
        "weekly-telemetry.xml",
    ]
    assert (tmp_path / "out" / "overview.xml").read_text() == pages[0].body
    index = result.index.read_text()
    for name in ("overview.html", "weekly-telemetry.html", "weekly-telemetry-2026-w47.html"):
        assert f'href="{name}"' in index
    child = (tmp_path / "out" / "weekly-telemetry-2026-w47.html").read_text()
    assert 'href="weekly-telemetry.html"' in child  # the breadcrumb to its parent
    assert result.failures == {}


def test_dry_run_preview_shows_untrusted_text_as_text_and_the_jql(tmp_path: Path) -> None:
    """A hostile summary is escaped in the preview; a Jira macro shows its JQL, not an error."""
    hostile = "<script>alert(1)</script> & ]]>"
    body = s.serialize(
        [
            s.paragraph(hostile),
            s.jira_issues('project = PORT AND summary ~ "<b>"', "System JIRA", None),
        ]
    )
    pages = [RenderedPage("Overview", "overview", "x", None, (LABEL,), body)]
    html = write_dry_run(pages, tmp_path).files["Overview"][1].read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; ]]&gt;" in html
    assert "project = PORT AND summary ~ &quot;&lt;b&gt;&quot;" in html
    assert "Error rendering macro" not in html


def test_dry_run_keeps_malformed_bodies_for_inspection_and_flags_them(tmp_path: Path) -> None:
    """A malformed body is written as is and reported; the index marks it."""
    broken = dataclasses.replace(page("Overview"), body="<p>unclosed")
    result = write_dry_run([broken], tmp_path)
    assert "not well-formed" in result.failures["Overview"]
    assert (tmp_path / "overview.xml").read_text() == "<p>unclosed"
    assert "would not be sent" in result.index.read_text()


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Weekly telemetry 2026-W47", "weekly-telemetry-2026-w47"),
        ("Thème: Rückbau & Co.", "theme-ruckbau-co"),
        ("שלום", "page"),
        ("../../etc/passwd", "etc-passwd"),
    ],
)
def test_slugs_are_safe_file_names(title: str, expected: str) -> None:
    """Slugs keep ASCII letters and digits, never path separators; empty ones become 'page'."""
    assert slug(title) == expected


def test_colliding_slugs_get_a_suffix(tmp_path: Path) -> None:
    """Two titles with one slug get distinct files."""
    result = write_dry_run([page("A b"), page("A-b")], tmp_path)
    assert [xml.name for xml, _ in result.files.values()] == ["a-b.xml", "a-b-2.xml"]
