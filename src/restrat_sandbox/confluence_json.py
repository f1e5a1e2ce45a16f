"""Confluence's JSON shapes: content, spaces, versions, labels, attachments and errors.

``expand`` decides which parts are rendered; every part left out is named under
``_expandable`` with a link where Confluence gives one. Objects carry ``_links`` with ``self``
(absolute) and ``webui`` (relative to the ``/wiki`` context), as in Confluence Cloud.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, quote_plus

from restrat_sandbox.confluence_requests import MAX_LIMIT, Expand, Json
from restrat_sandbox.confluence_store import (
    Attachment,
    ConfluenceStore,
    ContentProperty,
    Label,
    Page,
    PageVersion,
    Space,
)
from restrat_sandbox.http_app import HttpError
from restrat_sandbox.model import User
from restrat_sync.pages import preview

ViewContextOf = Callable[[Page], preview.ViewContext]

CONTEXT = "/wiki"
BODY_FORMATS = ("storage", "view", "export_view", "styled_view")
OTHER_BODY_FORMATS = ("editor", "editor2", "anonymous_export_view", "atlas_doc_format", "wiki")
_SPACE_EXPANDABLE = (
    "settings",
    "metadata",
    "operations",
    "lookAndFeel",
    "identifiers",
    "permissions",
    "icon",
    "theme",
    "history",
)
AVATAR = {"path": "/wiki/aa-avatar/default.png", "width": 48, "height": 48, "isDefault": True}


def error(status: int, message: str) -> HttpError:
    """Confluence's error body. 400s list the message again under ``data.errors``."""
    translation = message.split("Exception: ", 1)[-1]
    data = {
        "authorized": status not in (401, 403),
        "valid": status != 400,
        "allowedInReadOnlyMode": True,
        "errors": [{"message": {"translation": translation, "args": []}}] if status == 400 else [],
        "successful": False,
    }
    reason = HTTPStatus(status).phrase
    return HttpError(
        status, {"statusCode": status, "data": data, "message": message, "reason": reason}
    )


def timestamp(moment: datetime) -> str:
    """Confluence Cloud's instant format: UTC with milliseconds and ``Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def webui(page: Page) -> str:
    return f"/spaces/{quote(page.space_key)}/pages/{page.id}/{quote_plus(page.title)}"


class Renderer:
    """Renders store objects as Confluence JSON; one per request (it knows the base URL).

    ``view_context`` gives what the HTML renderings of a page's body (``body.view``) need.
    """

    def __init__(
        self, store: ConfluenceStore, base_url: str, flavor: str, view_context: ViewContextOf
    ) -> None:
        self.store = store
        self.base = base_url + CONTEXT
        self.flavor = flavor
        self.view_context = view_context

    def user(self, user: User) -> Json:
        if self.flavor == "datacenter":  # Data Center still names users
            return {
                "type": "known",
                "username": user.name,
                "userKey": user.name,
                "profilePicture": AVATAR,
                "displayName": user.display_name,
                "_links": {"self": f"{self.base}/rest/api/user?username={quote(user.name)}"},
                "_expandable": {"status": ""},
            }
        return {
            "type": "known",
            "accountId": user.account_id,
            "accountType": "atlassian",
            "email": user.email,
            "publicName": user.display_name,
            "profilePicture": AVATAR,
            "displayName": user.display_name,
            "timeZone": user.time_zone,
            "isExternalCollaborator": False,
            "_expandable": {"operations": "", "personalSpace": ""},
            "_links": {"self": f"{self.base}/rest/api/user?accountId={quote(user.account_id)}"},
        }

    def version(self, page: Page, version: PageVersion) -> Json:
        return {
            "by": self.user(version.by),
            "when": timestamp(version.when),
            "friendlyWhen": version.when.strftime("%b %d, %Y"),
            "message": version.message,
            "number": version.number,
            "minorEdit": version.minor_edit,
            "contentTypeModified": False,
            "_expandable": {"collaborators": "", "content": f"/rest/api/content/{page.id}"},
            "_links": {"self": f"{self.base}/rest/api/content/{page.id}/version/{version.number}"},
        }

    def history(self, page: Page) -> Json:
        first = page.versions[0]
        body: Json = {
            "latest": True,
            "createdBy": self.user(first.by),
            "createdDate": timestamp(first.when),
            "lastUpdated": self.version(page, page.current),
            "_expandable": {"contributors": "", "nextVersion": ""},
            "_links": {"self": f"{self.base}/rest/api/content/{page.id}/history"},
        }
        if len(page.versions) > 1:
            body["previousVersion"] = self.version(page, page.versions[-2])
        else:
            body["_expandable"]["previousVersion"] = ""
        return body

    def space(self, space: Space, expand: Expand) -> Json:
        body: Json = {"id": space.id, "key": space.key, "name": space.name}
        expandable: Json = dict.fromkeys(_SPACE_EXPANDABLE, "")
        if "description" in expand:
            plain = {"value": space.description, "representation": "plain", "embeddedContent": []}
            body["description"] = {"plain": plain, "_expandable": {"view": ""}}
        else:
            expandable["description"] = ""
        if "homepage" in expand and space.homepage_id is not None:
            home = self.store.page(space.homepage_id, trashed=True)
            body["homepage"] = self.content(home, expand["homepage"])
        elif space.homepage_id is not None:
            expandable["homepage"] = f"/rest/api/content/{space.homepage_id}"
        body.update({"type": "global", "status": "current", "_expandable": expandable})
        body["_links"] = {
            "webui": f"/spaces/{quote(space.key)}",
            "self": f"{self.base}/rest/api/space/{quote(space.key)}",
        }
        return body

    def content(self, page: Page, expand: Expand, *, top: bool = False) -> Json:
        """A page, with the parts named in ``expand`` and links to the others."""
        body: Json = {"id": str(page.id), "type": "page", "status": page.status}
        body["title"] = page.title
        expandable: Json = {}
        for name, link, render in self._content_parts(page):
            if name in expand:
                body[name] = render(expand[name])
            else:
                expandable[name] = link
        body["macroRenderedOutput"] = {}
        body["extensions"] = {"position": page.position}
        body["_expandable"] = {**expandable, "schedulePublishDate": "", "operations": ""}
        body["_links"] = self._content_links(page, top)
        return body

    def _content_parts(self, page: Page) -> list[tuple[str, str, Callable[[Expand], Any]]]:
        space = self.store.space(page.space_key)
        root = f"/rest/api/content/{page.id}"
        return [
            ("space", f"/rest/api/space/{quote(space.key)}", lambda e: self.space(space, e)),
            ("container", f"/rest/api/space/{quote(space.key)}", lambda e: self.space(space, e)),
            ("history", f"{root}/history", lambda _: self.history(page)),
            ("version", "", lambda _: self.version(page, page.current)),
            ("ancestors", "", lambda e: [self.content(a, e) for a in self.store.ancestors(page)]),
            ("body", "", lambda e: self.body(page, e)),
            ("metadata", "", lambda e: self.metadata(page, e)),
            ("children", f"{root}/child", lambda e: self.children(page, e)),
            ("childTypes", "", lambda _: self.child_types(page)),
            ("descendants", f"{root}/descendant", lambda _: {"_expandable": {"page": ""}}),
            ("restrictions", f"{root}/restriction/byOperation", lambda _: {}),
        ]

    def _content_links(self, page: Page, top: bool) -> Json:
        links: Json = {
            "webui": webui(page),
            "edit": f"/pages/resumedraft.action?draftId={page.id}",
            "self": f"{self.base}/rest/api/content/{page.id}",
        }
        if top:
            links.update({"base": self.base, "context": CONTEXT, "collection": "/rest/api/content"})
        return links

    def body(self, page: Page, expand: Expand) -> Json:
        out: Json = {}
        expandable: Json = {}
        for representation in BODY_FORMATS + OTHER_BODY_FORMATS:
            if representation in expand and representation in BODY_FORMATS:
                value = page.body
                if representation != "storage":
                    value = preview.render_fragment(page.body, self.view_context(page))
                out[representation] = {
                    "value": value,
                    "representation": representation,
                    "embeddedContent": [],
                    "_expandable": {"content": f"/rest/api/content/{page.id}"},
                }
            else:
                expandable[representation] = ""
        out["_expandable"] = expandable
        return out

    def metadata(self, page: Page, expand: Expand) -> Json:
        body: Json = {}
        expandable: Json = {"currentuser": "", "frontend": "", "comments": "", "likes": ""}
        if "labels" in expand:
            body["labels"] = self.labels(page.labels, 0, MAX_LIMIT, page)
        else:
            expandable["labels"] = ""
        if "properties" in expand:
            wanted = expand["properties"] or page.properties
            body["properties"] = {
                key: self.content_property(page, page.properties[key])
                for key in wanted
                if key in page.properties
            }
        else:
            expandable["properties"] = ""
        body["_expandable"] = expandable
        return body

    def children(self, page: Page, expand: Expand) -> Json:
        body: Json = {"_links": {"self": f"{self.base}/rest/api/content/{page.id}/child"}}
        expandable: Json = {}
        if "page" in expand:
            kids = self.store.children(page)
            body["page"] = self.array([self.content(k, expand["page"]) for k in kids], 0, 25)
        else:
            expandable["page"] = f"/rest/api/content/{page.id}/child/page"
        if "attachment" in expand:
            files = [self.attachment(page, a) for a in page.attachments]
            body["attachment"] = self.array(files, 0, 25)
        else:
            expandable["attachment"] = f"/rest/api/content/{page.id}/child/attachment"
        expandable["comment"] = f"/rest/api/content/{page.id}/child/comment"
        body["_expandable"] = expandable
        return body

    def child_types(self, page: Page) -> Json:
        root = f"{self.base}/rest/api/content/{page.id}/child"
        present = {
            "attachment": bool(page.attachments),
            "comment": False,
            "page": bool(self.store.children(page)),
        }
        return {
            kind: {"value": value, "_links": {"self": f"{root}/{kind}"}}
            for kind, value in present.items()
        }

    def array(self, results: list[Any], start: int, limit: int, path: str = "") -> Json:
        links: Json = {"base": self.base, "context": CONTEXT}
        if path:
            links["self"] = self.base + path
        return {
            "results": results,
            "start": start,
            "limit": limit,
            "size": len(results),
            "_links": links,
        }

    def labels(self, labels: list[Label], start: int, limit: int, page: Page) -> Json:
        chosen = labels[start : start + limit]
        results = [
            {"prefix": lab.prefix, "name": lab.name, "id": str(lab.id), "label": lab.name}
            for lab in chosen
        ]
        return self.array(results, start, limit, f"/rest/api/content/{page.id}/label")

    def attachment(self, page: Page, attachment: Attachment) -> Json:
        when, by, data = attachment.versions[-1]
        number = len(attachment.versions)
        version = PageVersion(number, when, by, attachment.comment, True, attachment.title, "")
        return {
            "id": f"att{attachment.id}",
            "type": "attachment",
            "status": "current",
            "title": attachment.title,
            "macroRenderedOutput": {},
            "metadata": {
                "comment": attachment.comment,
                "mediaType": attachment.media_type,
                "_expandable": {"currentuser": "", "properties": "", "frontend": "", "labels": ""},
            },
            "extensions": {
                "mediaType": attachment.media_type,
                "fileSize": len(data),
                "comment": attachment.comment,
            },
            "version": {
                **self.version(page, version),
                "_links": {"self": f"{self.base}/rest/api/content/att{attachment.id}/version"},
            },
            "container": self.content(page, {}),
            "_expandable": {"childTypes": "", "operations": "", "space": "", "history": ""},
            "_links": self._attachment_links(page, attachment),
        }

    def _attachment_links(self, page: Page, attachment: Attachment) -> Json:
        name = quote(attachment.title)
        millis = int(attachment.versions[-1][0].timestamp() * 1000)
        number = len(attachment.versions)
        return {
            "webui": f"/pages/viewpageattachments.action?pageId={page.id}&preview={name}",
            "download": f"/download/attachments/{page.id}/{name}"
            f"?version={number}&modificationDate={millis}&api=v2",
            "self": f"{self.base}/rest/api/content/att{attachment.id}",
        }

    def content_property(self, page: Page, prop: ContentProperty) -> Json:
        return {
            "id": str(prop.id),
            "key": prop.key,
            "value": prop.value,
            "version": {
                "when": timestamp(prop.when),
                "message": prop.message,
                "number": prop.number,
                "minorEdit": prop.minor_edit,
                "contentTypeModified": False,
            },
            "_links": {
                "base": self.base,
                "context": CONTEXT,
                "self": f"{self.base}/rest/api/content/{page.id}/property/{quote(prop.key)}",
            },
            "_expandable": {"content": f"/rest/api/content/{page.id}"},
        }
