"""The sandbox's Confluence v1 content API, exercised over loopback HTTP like a real client."""

from __future__ import annotations

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from restrat_sandbox.storage_xml import normalise_storage
from tests.sandbox.confluence_fixtures import Wiki


def test_port_space_exists_with_a_home_page(wiki: Wiki) -> None:
    """The PORT space is there from the start, and its home page is a real page."""
    space = wiki.call("GET", "space/PORT", params={"expand": "homepage"}).json()
    assert (space["key"], space["name"], space["type"]) == ("PORT", "Portfolio", "global")
    assert space["homepage"]["type"] == "page"
    listing = wiki.call("GET", "space").json()
    assert [s["key"] for s in listing["results"]] == ["PORT"]
    assert listing["size"] == 1


def test_created_space_is_listed_and_duplicate_key_refused(wiki: Wiki) -> None:
    """POST space creates a space once; the same key again answers 400."""
    created = wiki.call("POST", "space", json={"key": "OPS", "name": "Operations"})
    assert created.status_code == 200
    assert created.json()["key"] == "OPS"
    again = wiki.call("POST", "space", json={"key": "OPS", "name": "Operations"})
    assert again.status_code == 400
    assert wiki.call("GET", "space/NOPE").status_code == 404


def test_created_page_is_found_by_space_and_title(wiki: Wiki) -> None:
    """A created page comes back from the title search with the requested expansions."""
    page = wiki.create("Portfolio Overview", "<p>Hello &nbsp;world</p>")
    assert page["id"].isdigit()
    assert page["version"]["number"] == 1
    found = wiki.call(
        "GET",
        "content",
        params={
            "spaceKey": "PORT",
            "title": "Portfolio Overview",
            "type": "page",
            "expand": "version,body.storage,ancestors,metadata.labels",
        },
    ).json()
    assert found["size"] == 1
    result = found["results"][0]
    assert result["id"] == page["id"]
    assert result["body"]["storage"]["value"] == "<p>Hello &nbsp;world</p>"
    assert result["metadata"]["labels"]["results"] == []
    assert result["_links"]["webui"].startswith(f"/spaces/PORT/pages/{page['id']}/")


def test_unexpanded_parts_are_listed_as_expandable(wiki: Wiki) -> None:
    """Without expand, body and ancestors are absent and named under _expandable."""
    page = wiki.create("Lean page")
    plain = wiki.call("GET", "content", params={"spaceKey": "PORT", "title": "Lean page"})
    result = plain.json()["results"][0]
    assert "body" not in result
    assert {"body", "ancestors", "version"} <= set(result["_expandable"])
    single = wiki.call("GET", f"content/{page['id']}").json()
    assert {"space", "history", "version"} <= set(single)  # Confluence's defaults


def test_update_needs_the_next_version_number(wiki: Wiki) -> None:
    """Version current+1 is accepted; a stale number answers 409 naming the current one."""
    page = wiki.create("Versioned")
    assert wiki.update(page, 2, "<p>two</p>").status_code == 200
    stale = wiki.update(page, 2, "<p>again</p>")
    assert stale.status_code == 409
    assert "Current version is: 2" in stale.json()["message"]
    assert stale.json()["statusCode"] == 409
    history = wiki.call("GET", f"content/{page['id']}/history").json()
    assert history["lastUpdated"]["number"] == 2


def test_update_without_version_is_refused(wiki: Wiki) -> None:
    """A PUT with no version answers 400 and changes nothing."""
    page = wiki.create("No version")
    payload = {"type": "page", "title": "No version", "body": {"storage": {"value": "<p/>"}}}
    response = wiki.call("PUT", f"content/{page['id']}", json=payload)
    assert response.status_code == 400
    assert response.json()["reason"] == "Bad Request"
    assert wiki.call("GET", f"content/{page['id']}").json()["version"]["number"] == 1


def test_duplicate_title_in_a_space_is_refused(wiki: Wiki) -> None:
    """A second page with the same title in the same space answers Confluence's 400."""
    wiki.create("Theme: Growth")
    response = wiki.post_page("Theme: Growth", "<p/>")
    assert response.status_code == 400
    assert "A page with this title already exists" in response.json()["message"]


@pytest.mark.parametrize(
    "storage",
    [
        "<p>unclosed",
        "<p><b>crossed</p></b>",
        "<p>bare & ampersand</p>",
        "<p>&bogus;</p>",
        '<zz:macro name="x"/>',
        "<p>\x01</p>",
        "<p>text ]]> outside CDATA</p>",
        "<ac:structured-macro ac:name='a'>",
    ],
)
def test_malformed_storage_is_refused(wiki: Wiki, storage: str) -> None:
    """Storage that is not well-formed XHTML answers 400 "Error parsing xhtml"."""
    response = wiki.post_page("Broken", storage)
    assert response.status_code == 400
    assert "Error parsing xhtml" in response.json()["message"]


@pytest.mark.parametrize(
    "storage",
    [
        "<p>a&nbsp;b &mdash; &hellip; &amp;amp;</p>",
        "plain text",
        '<ac:structured-macro ac:name="code"><ac:plain-text-body>'
        "<![CDATA[x < y && ]]]]><![CDATA[> &nbsp;]]></ac:plain-text-body></ac:structured-macro>",
        '<p><ac:link><ri:page ri:content-title="Home" /></ac:link><br /></p>',
    ],
)
def test_well_formed_storage_with_html_entities_is_accepted(wiki: Wiki, storage: str) -> None:
    """HTML named entities, CDATA and ac:/ri: markup are accepted and kept as sent."""
    page = wiki.create("Fine", storage)
    stored = wiki.call("GET", f"content/{page['id']}", params={"expand": "body.storage"})
    assert stored.json()["body"]["storage"]["value"] == normalise_storage(storage, page["id"])


def test_stored_macros_gain_ids_like_confluence(wiki: Wiki) -> None:
    """Confluence re-serialises storage: macros come back with schema version and macro id."""
    sent = '<ac:structured-macro ac:name="status"><ac:parameter ac:name="title">ok</ac:parameter>'
    sent += "</ac:structured-macro>"
    page = wiki.create("Re-serialised", sent)
    value = page["body"]["storage"]["value"]
    assert value != sent
    assert 'ac:schema-version="1" ac:macro-id="' in value
    assert wiki.update(page, 2, value).status_code == 200
    again = wiki.call("GET", f"content/{page['id']}", params={"expand": "body.storage"}).json()
    assert again["body"]["storage"]["value"] == value  # ids already present are kept


def test_unknown_page_answers_confluence_404(wiki: Wiki) -> None:
    """GET of an unknown id answers 404 with Confluence's error body."""
    response = wiki.call("GET", "content/999999")
    assert response.status_code == 404
    body = response.json()
    assert body["statusCode"] == 404
    assert set(body) == {"statusCode", "data", "message", "reason"}


def test_children_and_ancestors_follow_the_hierarchy(wiki: Wiki) -> None:
    """Children list under their parent; ancestors come root first."""
    root = wiki.create("Root")
    middle = wiki.create("Middle", parent=root["id"])
    leaf = wiki.create("Leaf", parent=middle["id"])
    kids = wiki.call("GET", f"content/{root['id']}/child/page", params={"expand": "version"}).json()
    assert [k["title"] for k in kids["results"]] == ["Middle"]
    assert kids["results"][0]["version"]["number"] == 1
    got = wiki.call("GET", f"content/{leaf['id']}", params={"expand": "ancestors"}).json()
    assert [a["title"] for a in got["ancestors"]] == ["Root", "Middle"]
    nested = wiki.call(
        "GET", f"content/{root['id']}", params={"expand": "children.page.children.page"}
    ).json()
    assert nested["children"]["page"]["results"][0]["children"]["page"]["results"][0]["title"] == (
        "Leaf"
    )


def test_deleted_page_disappears_and_its_children_move_up(wiki: Wiki) -> None:
    """DELETE trashes the page; its children become children of its parent."""
    top = wiki.create("Top")
    doomed = wiki.create("Doomed", parent=top["id"])
    orphan = wiki.create("Orphan", parent=doomed["id"])
    assert wiki.call("DELETE", f"content/{doomed['id']}").status_code == 204
    assert wiki.call("GET", f"content/{doomed['id']}").status_code == 404
    got = wiki.call("GET", f"content/{orphan['id']}", params={"expand": "ancestors"}).json()
    assert [a["title"] for a in got["ancestors"]] == ["Top"]
    wiki.create("Doomed")  # the title is free again


def test_labels_are_added_once_and_listed(wiki: Wiki) -> None:
    """Labels posted as a list (or one object) are stored lower-case, without duplicates."""
    page = wiki.create("Labelled")
    labels = [{"prefix": "global", "name": "restrat"}, {"prefix": "global", "name": "Weekly"}]
    added = wiki.call("POST", f"content/{page['id']}/label", json=labels)
    assert added.status_code == 200
    wiki.call("POST", f"content/{page['id']}/label", json={"prefix": "global", "name": "restrat"})
    listed = wiki.call("GET", f"content/{page['id']}/label").json()
    assert [lab["name"] for lab in listed["results"]] == ["restrat", "weekly"]
    bad = wiki.call("POST", f"content/{page['id']}/label", json=[{"name": "two words"}])
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"X-Atlassian-Token": "no-check"}, 200), ({}, 403), ({"X-Atlassian-Token": "yes"}, 403)],
)
def test_attachment_upload_needs_the_xsrf_header(
    wiki: Wiki, headers: dict[str, str], status: int
) -> None:
    """Multipart uploads pass only with X-Atlassian-Token: no-check."""
    page = wiki.create("With files")
    files = {"file": ("chart.png", b"\x89PNG\r\n\x1a\n\x00binary\r\n", "image/png")}
    response = wiki.call(
        "POST",
        f"content/{page['id']}/child/attachment",
        headers=headers,
        files=files,
        data={"comment": "a chart"},
    )
    assert response.status_code == status
    if status == 403:
        assert "XSRF check failed" in response.text
        return
    listed = wiki.call("GET", f"content/{page['id']}/child/attachment").json()
    assert [(a["title"], a["extensions"]["fileSize"]) for a in listed["results"]] == [
        ("chart.png", 17)
    ]
    download = wiki.call("GET", f"{wiki.base}/wiki{listed['results'][0]['_links']['download']}")
    assert download.content == b"\x89PNG\r\n\x1a\n\x00binary\r\n"


def test_same_attachment_name_twice_is_refused_then_versioned(wiki: Wiki) -> None:
    """A second upload of the same name answers 400; the data endpoint adds a version."""
    page = wiki.create("Twice")
    url = f"content/{page['id']}/child/attachment"
    headers = {"X-Atlassian-Token": "no-check"}
    first = wiki.call("POST", url, headers=headers, files={"file": ("a.txt", b"one")})
    assert first.status_code == 200
    again = wiki.call("POST", url, headers=headers, files={"file": ("a.txt", b"two")})
    assert again.status_code == 400
    att_id = first.json()["results"][0]["id"]
    data_url = f"{url}/{att_id}/data"
    updated = wiki.call("POST", data_url, headers=headers, files={"file": ("a.txt", b"two")})
    assert updated.status_code == 200
    assert updated.json()["version"]["number"] == 2


@pytest.mark.parametrize("name", ["Rückbau plan.csv", "100% done.bin", "a b+c.txt"])
def test_attachment_bytes_and_names_round_trip(wiki: Wiki, name: str) -> None:
    """Binary data with CRLFs and boundary-like lines, and odd file names, come back intact."""
    page = wiki.create("Round trip")
    data = bytes(range(256)) + b"\r\n--boundary\r\n\r\n\n\r" * 3
    uploaded = wiki.call(
        "POST",
        f"content/{page['id']}/child/attachment",
        headers={"X-Atlassian-Token": "no-check"},
        files={"file": (name, data)},
    ).json()["results"][0]
    assert uploaded["title"] == name
    download = wiki.call("GET", f"{wiki.base}/wiki{uploaded['_links']['download']}")
    assert download.content == data


def test_multipart_put_on_content_is_unsupported_media(wiki: Wiki) -> None:
    """PUT content/{id} takes JSON only; a form upload there answers 415."""
    page = wiki.create("Json only")
    response = wiki.call("PUT", f"content/{page['id']}", files={"file": ("a.txt", b"x")})
    assert response.status_code == 415


def test_content_properties_are_versioned(wiki: Wiki) -> None:
    """A property is created at version 1 and updated only with the next version number."""
    page = wiki.create("Hashed")
    path = f"content/{page['id']}/property"
    assert wiki.call("GET", f"{path}/restrat-hash").status_code == 404
    created = wiki.call("POST", path, json={"key": "restrat-hash", "value": {"sha256": "aa"}})
    assert created.status_code == 200
    assert created.json()["version"]["number"] == 1
    update = {"value": {"sha256": "bb"}, "version": {"number": 2}}
    assert wiki.call("PUT", f"{path}/restrat-hash", json=update).status_code == 200
    stale = wiki.call("PUT", f"{path}/restrat-hash", json=update)
    assert stale.status_code == 409
    got = wiki.call("GET", f"{path}/restrat-hash").json()
    assert (got["value"], got["version"]["number"]) == ({"sha256": "bb"}, 2)
    duplicate = wiki.call("POST", path, json={"key": "restrat-hash", "value": "x"})
    assert duplicate.status_code == 400


def test_metadata_properties_expand_with_the_page(wiki: Wiki) -> None:
    """expand=metadata.properties.KEY returns the property alongside the page."""
    page = wiki.create("Hash in page")
    wiki.call("POST", f"content/{page['id']}/property", json={"key": "h", "value": "v1"})
    got = wiki.call(
        "GET", f"content/{page['id']}", params={"expand": "metadata.properties.h"}
    ).json()
    assert got["metadata"]["properties"]["h"]["value"] == "v1"


def test_reset_clears_pages_but_keeps_the_port_space(
    wiki: Wiki, confluence_server: SandboxServer
) -> None:
    """POST /_sandbox/reset forgets created pages and recreates PORT with its home page."""
    wiki.create("Ephemeral")
    answer = wiki.session.post(f"{confluence_server.url}/_sandbox/reset", timeout=10)
    assert answer.status_code == 204
    found = wiki.call("GET", "content", params={"spaceKey": "PORT", "title": "Ephemeral"})
    assert found.json()["size"] == 0
    assert wiki.call("GET", "space/PORT").status_code == 200


def test_requests_without_credentials_are_refused(confluence_server: SandboxServer) -> None:
    """The sandbox's authentication covers the Confluence API too."""
    response = requests.get(f"{confluence_server.url}/wiki/rest/api/space", timeout=10)
    assert response.status_code == 401


def test_concurrent_creates_get_distinct_ids(wiki: Wiki) -> None:
    """Pages created from many threads at once all get their own id."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(lambda n: wiki.create(f"Parallel {n}"), range(24)))
    assert len({page["id"] for page in pages}) == 24


def test_stats_count_writes_per_page_title(wiki: Wiki, confluence_server: SandboxServer) -> None:
    """/_sandbox/stats counts each completed write by the page's title and route; a refused
    write (409) and reads are not counted, and resetting the stats forgets them."""
    stats_url = f"{confluence_server.url}/_sandbox/stats"
    wiki.session.delete(stats_url, timeout=10)
    first, second = wiki.create("Counted"), wiki.create("Also counted")
    assert wiki.update(first, 2).status_code == 200
    assert wiki.update(first, 2).status_code == 409
    path = f"content/{first['id']}/property"
    wiki.call("POST", path, json={"key": "restrat-sync", "value": {"hash": "aa"}})
    wiki.call("POST", f"content/{second['id']}/label", json=[{"name": "restrat-sync"}])
    wiki.call("GET", f"content/{first['id']}")
    assert wiki.call("DELETE", f"content/{second['id']}").status_code == 204
    content = "/wiki/rest/api/content"
    assert wiki.session.get(stats_url, timeout=10).json()["page_writes"] == {
        "Counted": {
            f"POST {content}": 1,
            f"PUT {content}/{{id}}": 1,
            f"POST {content}/{{id}}/property": 1,
        },
        "Also counted": {
            f"POST {content}": 1,
            f"POST {content}/{{id}}/label": 1,
            f"DELETE {content}/{{id}}": 1,
        },
    }
    wiki.session.delete(stats_url, timeout=10)
    assert wiki.session.get(stats_url, timeout=10).json()["page_writes"] == {}
