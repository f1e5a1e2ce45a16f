"""Every Confluence endpoint the sandbox implements answers what the official v1 schema allows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from restrat_sandbox.server import SandboxServer
from tests.contract.openapi import validate_response
from tests.sandbox.confluence_fixtures import Wiki, confluence_sandbox

SPEC = "confluence-v1-subset.json"
XSRF = {"X-Atlassian-Token": "no-check"}
EVERYTHING = (
    "space,history,version,ancestors,body.storage,body.view,container,metadata.labels,"
    "metadata.properties,children.page,children.attachment,childTypes.all,descendants"
)


@dataclass(frozen=True)
class Scene:
    """A small site: a parent page and a child with labels, an attachment and a property."""

    wiki: Wiki
    parent: Any
    child: Any
    attachment_id: str


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    with confluence_sandbox() as server:
        wiki = Wiki(server.url)
        yield _build(wiki, server)
        wiki.close()


def _build(wiki: Wiki, _: SandboxServer) -> Scene:
    parent = wiki.create("Contract parent", "<p>Parent</p>")
    child = wiki.create("Contract child", "<h1>Child &mdash; page</h1>", parent=parent["id"])
    wiki.call("POST", f"content/{child['id']}/label", json=[{"prefix": "global", "name": "x"}])
    upload = wiki.call(
        "POST",
        f"content/{child['id']}/child/attachment",
        headers=XSRF,
        files={"file": ("data.csv", b"a,b\n1,2\n", "text/csv")},
    )
    wiki.call("POST", f"content/{child['id']}/property", json={"key": "hash", "value": {"v": 1}})
    return Scene(wiki, parent, child, upload.json()["results"][0]["id"])


Call = Callable[[Scene], requests.Response]


def _put_page(scene: Scene) -> requests.Response:
    current = scene.wiki.call("GET", f"content/{scene.parent['id']}").json()
    return scene.wiki.update(scene.parent, current["version"]["number"] + 1, "<p>Updated</p>")


def _put_property(scene: Scene) -> requests.Response:
    path = f"content/{scene.child['id']}/property/hash"
    number = scene.wiki.call("GET", path).json()["version"]["number"]
    return scene.wiki.call("PUT", path, json={"value": {"v": 2}, "version": {"number": number + 1}})


def _delete_page(scene: Scene) -> requests.Response:
    doomed = scene.wiki.create("Contract doomed")
    return scene.wiki.call("DELETE", f"content/{doomed['id']}")


def _delete_property(scene: Scene) -> requests.Response:
    path = f"content/{scene.child['id']}/property"
    scene.wiki.call("POST", path, json={"key": "gone", "value": "x"})
    return scene.wiki.call("DELETE", f"{path}/gone")


def _upload(method: str, name: str) -> Call:
    def call(scene: Scene) -> requests.Response:
        files = {"file": (name, b"\x00\x01payload", "application/octet-stream")}
        url = f"content/{scene.child['id']}/child/attachment"
        return scene.wiki.call(method, url, headers=XSRF, files=files)

    return call


def _new_attachment_data(scene: Scene) -> requests.Response:
    url = f"content/{scene.child['id']}/child/attachment/{scene.attachment_id}/data"
    files = {"file": ("data.csv", b"a,b\n3,4\n", "text/csv")}
    return scene.wiki.call("POST", url, headers=XSRF, files=files)


def _get(path: Callable[[Scene], str], **params: str) -> Call:
    return lambda scene: scene.wiki.call("GET", path(scene), params=params)


def _post(path: Callable[[Scene], str], body: Any) -> Call:
    return lambda scene: scene.wiki.call("POST", path(scene), json=body)


def _child(suffix: str) -> Callable[[Scene], str]:
    return lambda scene: f"content/{scene.child['id']}{suffix}"


CASES: list[tuple[str, str, Call]] = [
    ("get", "/wiki/rest/api/space", _get(lambda _: "space", expand="homepage,description")),
    ("get", "/wiki/rest/api/space/{spaceKey}", _get(lambda _: "space/PORT", expand="homepage")),
    ("post", "/wiki/rest/api/space", _post(lambda _: "space", {"key": "CT", "name": "Contract"})),
    (
        "get",
        "/wiki/rest/api/content",
        _get(lambda _: "content", spaceKey="PORT", title="Contract child", expand=EVERYTHING),
    ),
    ("get", "/wiki/rest/api/content", _get(lambda _: "content", spaceKey="PORT")),
    (
        "post",
        "/wiki/rest/api/content",
        _post(
            lambda _: "content",
            {
                "type": "page",
                "title": "Contract created",
                "space": {"key": "PORT"},
                "body": {"storage": {"value": "<p>x</p>", "representation": "storage"}},
            },
        ),
    ),
    ("get", "/wiki/rest/api/content/{id}", _get(_child(""))),
    ("get", "/wiki/rest/api/content/{id}", _get(_child(""), expand=EVERYTHING)),
    ("put", "/wiki/rest/api/content/{id}", _put_page),
    ("delete", "/wiki/rest/api/content/{id}", _delete_page),
    ("get", "/wiki/rest/api/content/{id}/history", _get(_child("/history"))),
    ("get", "/wiki/rest/api/content/{id}/child", _get(_child("/child"), expand="page,attachment")),
    (
        "get",
        "/wiki/rest/api/content/{id}/child/{type}",
        _get(lambda s: f"content/{s.parent['id']}/child/page", expand="version,ancestors"),
    ),
    ("get", "/wiki/rest/api/content/{id}/label", _get(_child("/label"))),
    (
        "post",
        "/wiki/rest/api/content/{id}/label",
        _post(_child("/label"), [{"prefix": "global", "name": "more"}]),
    ),
    ("get", "/wiki/rest/api/content/{id}/child/attachment", _get(_child("/child/attachment"))),
    ("post", "/wiki/rest/api/content/{id}/child/attachment", _upload("POST", "new.bin")),
    ("put", "/wiki/rest/api/content/{id}/child/attachment", _upload("PUT", "new.bin")),
    (
        "post",
        "/wiki/rest/api/content/{id}/child/attachment/{attachmentId}/data",
        _new_attachment_data,
    ),
    ("get", "/wiki/rest/api/content/{id}/property", _get(_child("/property"))),
    (
        "post",
        "/wiki/rest/api/content/{id}/property",
        _post(_child("/property"), {"key": "fresh", "value": ["a", "b"]}),
    ),
    ("get", "/wiki/rest/api/content/{id}/property/{key}", _get(_child("/property/hash"))),
    ("put", "/wiki/rest/api/content/{id}/property/{key}", _put_property),
    ("delete", "/wiki/rest/api/content/{id}/property/{key}", _delete_property),
]


@pytest.mark.parametrize(
    ("method", "path", "call"),
    CASES,
    ids=[f"{method} {path}#{n}" for n, (method, path, _) in enumerate(CASES)],
)
def test_response_matches_the_official_schema(
    scene: Scene, method: str, path: str, call: Call
) -> None:
    """The sandbox's success response validates against Confluence's documented schema."""
    response = call(scene)
    assert response.status_code in (200, 204), response.text
    body = response.json() if response.content else None
    validate_response(SPEC, method, path, response.status_code, body)


def test_data_center_users_also_match_the_schema() -> None:
    """On the datacenter flavour, version and history authors carry username and userKey."""
    with confluence_sandbox("datacenter") as server:
        wiki = Wiki(server.url)
        page = wiki.create("DC page")
        response = wiki.call("GET", f"content/{page['id']}", params={"expand": "version,history"})
        wiki.close()
    body = response.json()
    assert body["version"]["by"]["username"] == "ada"
    validate_response(SPEC, "get", "/wiki/rest/api/content/{id}", 200, body)
