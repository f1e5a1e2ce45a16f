"""Confluence Cloud's v1 content API under ``/wiki/rest/api``, and a readable page view.

The routes translate between REST and ``ConfluenceStore``: they read requests
(``confluence_requests``, ``confluence_multipart``), apply the store's rules and answer
Confluence's JSON shapes (``confluence_json``). ``/wiki/spaces/...`` serves the pages as HTML
documents for a person to read (``confluence_view``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from restrat_sandbox.confluence_json import Renderer, error
from restrat_sandbox.confluence_multipart import parse_multipart, uploads, xsrf_refusal
from restrat_sandbox.confluence_requests import (
    MAX_LIMIT,
    Json,
    as_dict,
    caller,
    json_body,
    json_object,
    paging,
    parent_of,
    parse_expand,
    query_string,
    storage_of,
    version_number,
)
from restrat_sandbox.confluence_store import (
    ConfluenceError,
    ConfluenceStore,
    Page,
    PageChange,
    Upload,
    bad_request,
)
from restrat_sandbox.confluence_view import PageView
from restrat_sandbox.http_app import Request, Response, Router
from restrat_sandbox.model import User
from restrat_sandbox.server import SandboxState

Handler = Callable[[Request], Response]

API = "/wiki/rest/api"
WRITES = ("POST", "PUT", "DELETE")
HOME_SPACE = ("PORT", "Portfolio")
# What Confluence expands when the caller names nothing.
GET_DEFAULT_EXPAND = "space,history,version"
WRITE_EXPAND = "space,history,version,ancestors,body.storage,container"


def install_confluence_routes(router: Router, state: SandboxState) -> None:
    """Serve Confluence at ``/wiki``; the store lives in ``state.extras["confluence"]``."""
    store = ConfluenceStore()
    state.extras["confluence"] = store

    def seed() -> None:
        store.clear()
        store.create_space(HOME_SPACE[0], HOME_SPACE[1], caller(state))

    seed()
    state.extras.setdefault("on_reset", []).append(seed)
    api = ConfluenceApi(store, state)
    for method, template, handler in api.routes():
        if method in WRITES and template.startswith(f"{API}/content"):
            handler = api.counted(f"{method} {template}", handler)
        router.add(method, template, _confluence_errors(handler))


def _confluence_errors(handler: Handler) -> Handler:
    def wrapped(request: Request) -> Response:
        try:
            return handler(request)
        except ConfluenceError as err:
            raise error(err.status, err.message) from err

    return wrapped


class ConfluenceApi:
    """The route handlers. Each holds the store's lock while it reads and renders."""

    def __init__(self, store: ConfluenceStore, state: SandboxState) -> None:
        self.store = store
        self.state = state
        self.view = PageView(store, state)

    def routes(self) -> list[tuple[str, str, Handler]]:
        content = f"{API}/content/{{id}}"
        return [
            ("GET", f"{API}/space", self.list_spaces),
            ("POST", f"{API}/space", self.create_space),
            ("GET", f"{API}/space/{{key}}", self.get_space),
            ("GET", f"{API}/content", self.find_content),
            ("POST", f"{API}/content", self.create_content),
            ("GET", content, self.get_content),
            ("PUT", content, self.update_content),
            ("DELETE", content, self.delete_content),
            ("GET", f"{content}/history", self.get_history),
            ("GET", f"{content}/child", self.get_children),
            ("GET", f"{content}/child/attachment", self.list_attachments),
            ("POST", f"{content}/child/attachment", self.create_attachments),
            ("PUT", f"{content}/child/attachment", self.put_attachments),
            ("POST", f"{content}/child/attachment/{{att}}/data", self.update_attachment_data),
            ("GET", f"{content}/child/{{type}}", self.get_child_type),
            ("GET", f"{content}/label", self.get_labels),
            ("POST", f"{content}/label", self.add_labels),
            ("DELETE", f"{content}/label", self.delete_label_by_query),
            ("DELETE", f"{content}/label/{{label}}", self.delete_label),
            ("GET", f"{content}/property", self.list_properties),
            ("POST", f"{content}/property", self.create_property),
            ("GET", f"{content}/property/{{key}}", self.get_property),
            ("PUT", f"{content}/property/{{key}}", self.update_property),
            ("DELETE", f"{content}/property/{{key}}", self.delete_property),
            ("GET", "/wiki/download/attachments/{id}/{name}", self.download),
            ("GET", "/wiki/spaces", self.view.view_spaces),
            ("GET", "/wiki/spaces/{space}", self.view.view_space),
            ("GET", "/wiki/spaces/{space}/overview", self.view.view_space),
            ("GET", "/wiki/spaces/{space}/pages/{id}", self.view.view_page),
            # The title slug may hold "/" once the server has percent-decoded the path; the
            # router compiles its templates as regular expressions, so take the rest whole.
            ("GET", "/wiki/spaces/{space}/pages/{id}/(?P<slug>.+)", self.view.view_page),
        ]

    def counted(self, label: str, handler: Handler) -> Handler:
        """``handler``, counting each write it completes against the page's title in the
        sandbox's stats (a refused write changed nothing, so it is not counted)."""

        def wrapped(request: Request) -> Response:
            # Read before the write: a purge removes the page.
            page_id = request.params.get("id")
            before = None if page_id is None else self.store.page(page_id, trashed=True).title
            response = handler(request)
            # Creating a page: the title is in the answer.
            self.state.count_page_write(before or str(response.body["title"]), label)
            return response

        return wrapped

    def render(self) -> Renderer:
        return Renderer(self.store, self.state.base_url, self.state.flavor, self.view.view_context)

    def by(self) -> User:
        return caller(self.state)

    @contextmanager
    def locked_page(self, request: Request, *, trashed: bool = False) -> Iterator[Page]:
        """The page the route's ``id`` names, with the store locked until the block ends."""
        with self.store.lock:
            yield self.store.page(request.params["id"], trashed=trashed)

    # --- spaces ---

    def list_spaces(self, request: Request) -> Response:
        start, limit = paging(request)
        keys = {key.upper() for key in request.query.get("spaceKey", [])}
        expand = parse_expand(request.arg("expand"))
        with self.store.lock:
            spaces = [s for s in self.store.spaces.values() if not keys or s.key in keys]
            results = [self.render().space(s, expand) for s in spaces[start : start + limit]]
            return Response(200, self.render().array(results, start, limit, "/rest/api/space"))

    def get_space(self, request: Request) -> Response:
        expand = parse_expand(request.arg("expand"))
        with self.store.lock:
            space = self.store.space(request.params["key"])
            return Response(200, self.render().space(space, expand))

    def create_space(self, request: Request) -> Response:
        data = json_object(request)
        key, name = data.get("key"), data.get("name")
        if not isinstance(key, str) or not isinstance(name, str):
            raise bad_request("A space needs a key and a name.")
        description = ((data.get("description") or {}).get("plain") or {}).get("value", "")
        with self.store.lock:
            space = self.store.create_space(key, name, self.by(), str(description))
            return Response(200, self.render().space(space, {}))

    # --- content ---

    def find_content(self, request: Request) -> Response:
        start, limit = paging(request)
        expand = parse_expand(request.arg("expand"))
        kind = request.arg("type") or "page"
        status = request.arg("status") or "current"
        with self.store.lock:
            pages = self.store.find(request.arg("spaceKey"), request.arg("title"))
            if status in {"trashed", "any"}:
                pages = self._with_trashed(pages, request, status)
            pages = pages if kind == "page" else []
            chosen = pages[start : start + limit]
            results = [self.render().content(p, expand) for p in chosen]
            body = self.render().array(
                results, start, limit, f"/rest/api/content?{query_string(request)}"
            )
            if start + limit < len(pages):
                body["_links"]["next"] = f"/rest/api/content?{query_string(request, start + limit)}"
            return Response(200, body)

    def _with_trashed(self, current: list[Page], request: Request, status: str) -> list[Page]:
        space, title = request.arg("spaceKey"), request.arg("title")
        trashed = [
            page
            for page in self.store.pages.values()
            if page.status == "trashed"
            and (space is None or page.space_key == space.upper())
            and (title is None or page.title.casefold() == title.casefold())
        ]
        return trashed if status == "trashed" else current + trashed

    def get_content(self, request: Request) -> Response:
        expand = parse_expand(request.arg("expand", GET_DEFAULT_EXPAND))
        trashed = request.arg("status") in {"trashed", "any"}
        with self.locked_page(request, trashed=trashed) as page:
            return Response(200, self.render().content(page, expand, top=True))

    def create_content(self, request: Request) -> Response:
        data = json_object(request)
        if data.get("type") != "page":
            raise bad_request(f"Unsupported content type: {data.get('type')}")
        space = data.get("space")
        space_key = space.get("key") if isinstance(space, dict) else None
        title = data.get("title")
        if not isinstance(space_key, str) or not isinstance(title, str):
            raise bad_request("A page needs a title and space.key.")
        version = data.get("version")
        message = version.get("message", "") if isinstance(version, dict) else ""
        with self.store.lock:
            if space_key.upper() not in self.store.spaces:
                raise ConfluenceError(403, f"No space with key : {space_key}")
            page = self.store.create_page(
                space_key, title, storage_of(data) or "", self.by(), parent_of(data), str(message)
            )
            self._apply_metadata_properties(page, data)
            return Response(200, self.render().content(page, parse_expand(WRITE_EXPAND), top=True))

    def update_content(self, request: Request) -> Response:
        data = json_object(request)
        with self.locked_page(request) as page:
            change = self._change(data)
            self.store.update_page(page, change, self.by())
            self._apply_metadata_properties(page, data)
            return Response(200, self.render().content(page, parse_expand(WRITE_EXPAND), top=True))

    def _change(self, data: Json) -> PageChange:
        number = version_number(data)
        if number is not None:
            if data.get("type") != "page":
                raise bad_request("The content type must be supplied and match: page")
            if not isinstance(data.get("title"), str):
                raise bad_request("The title must be supplied when updating content.")
        version = as_dict(data.get("version"))
        return PageChange(
            version=number,
            title=data.get("title"),
            body=storage_of(data),
            parent_id=parent_of(data),
            message=str(version.get("message") or ""),
            minor_edit=bool(version.get("minorEdit", False)),
        )

    def _apply_metadata_properties(self, page: Page, data: Json) -> None:
        """``metadata.properties`` in a create/update body set content properties, as in Cloud."""
        metadata = data.get("metadata")
        properties = metadata.get("properties") if isinstance(metadata, dict) else None
        if not isinstance(properties, dict):
            return
        for key, holder in properties.items():
            value = holder.get("value") if isinstance(holder, dict) else holder
            current = page.properties.get(key)
            if current is None:
                self.store.create_property(page, str(key), value)
            elif current.value != value:
                self.store.update_property(page, key, value, current.number + 1)

    def delete_content(self, request: Request) -> Response:
        purge = request.arg("status") == "trashed"
        with self.locked_page(request, trashed=purge) as page:
            if purge and page.status != "trashed":
                raise bad_request("Only trashed content can be purged.")
            self.store.trash(page)
        return Response(204)

    def get_history(self, request: Request) -> Response:
        with self.locked_page(request) as page:
            return Response(200, self.render().history(page))

    def get_children(self, request: Request) -> Response:
        expand = parse_expand(request.arg("expand"))
        with self.locked_page(request) as page:
            return Response(200, self.render().children(page, expand))

    def get_child_type(self, request: Request) -> Response:
        start, limit = paging(request)
        kind = request.params["type"]
        expand = parse_expand(request.arg("expand"))
        with self.locked_page(request) as page:
            if kind not in {"page", "comment"}:
                raise bad_request(f"Cannot find {kind} children of a page.")
            kids = self.store.children(page) if kind == "page" else []
            results = [self.render().content(k, expand) for k in kids[start : start + limit]]
            path = f"/rest/api/content/{page.id}/child/{kind}"
            return Response(200, self.render().array(results, start, limit, path))

    # --- labels ---

    def get_labels(self, request: Request) -> Response:
        start, limit = paging(request)
        prefix = request.arg("prefix")
        with self.locked_page(request) as page:
            labels = [lab for lab in page.labels if prefix is None or lab.prefix == prefix]
            return Response(200, self.render().labels(labels, start, limit, page))

    def add_labels(self, request: Request) -> Response:
        body = json_body(request)
        items = body if isinstance(body, list) else [body]
        pairs: list[tuple[str, str]] = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise bad_request("Each label needs a name.")
            pairs.append((str(item.get("prefix") or "global"), item["name"]))
        with self.locked_page(request) as page:
            labels = self.store.add_labels(page, pairs)
            return Response(200, self.render().labels(labels, 0, MAX_LIMIT, page))

    def delete_label(self, request: Request) -> Response:
        with self.locked_page(request) as page:
            self.store.remove_label(page, request.params["label"])
        return Response(204)

    def delete_label_by_query(self, request: Request) -> Response:
        name = request.arg("name")
        if not name:
            raise bad_request("The label name is required.")
        request.params["label"] = name
        return self.delete_label(request)

    # --- attachments ---

    def list_attachments(self, request: Request) -> Response:
        start, limit = paging(request)
        filename = request.arg("filename")
        with self.locked_page(request) as page:
            chosen = [a for a in page.attachments if filename is None or a.title == filename]
            results = [self.render().attachment(page, a) for a in chosen[start : start + limit]]
            path = f"/rest/api/content/{page.id}/child/attachment"
            return Response(200, self.render().array(results, start, limit, path))

    def create_attachments(self, request: Request) -> Response:
        return self._attach(request, replace=False)

    def put_attachments(self, request: Request) -> Response:
        return self._attach(request, replace=True)

    def _attach(self, request: Request, *, replace: bool) -> Response:
        refusal = xsrf_refusal(request)
        if refusal is not None:
            return refusal
        files = uploads(parse_multipart(request))
        with self.locked_page(request) as page:
            done = [self.store.attach(page, upload, self.by(), replace=replace) for upload in files]
            results = [self.render().attachment(page, a) for a in done]
            path = f"/rest/api/content/{page.id}/child/attachment"
            return Response(200, self.render().array(results, 0, len(results), path))

    def update_attachment_data(self, request: Request) -> Response:
        refusal = xsrf_refusal(request)
        if refusal is not None:
            return refusal
        upload = uploads(parse_multipart(request))[0]
        with self.locked_page(request) as page:
            attachment = self.store.attachment(page, request.params["att"])
            renamed = Upload(attachment.title, upload.media_type, upload.data, upload.comment)
            self.store.add_attachment_version(attachment, renamed, self.by())
            return Response(200, self.render().attachment(page, attachment))

    def download(self, request: Request) -> Response:
        # Route parameters are percent-decoded twice by the server; the path only once, so the
        # file name comes from the path ("100%25.csv" must stay "100%.csv", not fail).
        name = request.path.split("/", 5)[-1]
        with self.locked_page(request) as page:
            for attachment in page.attachments:
                if attachment.title == name:
                    return Response(200, attachment.data, content_type=attachment.media_type)
        raise ConfluenceError(404, f"No attachment named {name}")

    # --- content properties ---

    def list_properties(self, request: Request) -> Response:
        start, limit = paging(request)
        with self.locked_page(request) as page:
            props = list(page.properties.values())[start : start + limit]
            results = [self.render().content_property(page, p) for p in props]
            path = f"/rest/api/content/{page.id}/property"
            return Response(200, self.render().array(results, start, limit, path))

    def get_property(self, request: Request) -> Response:
        with self.locked_page(request) as page:
            prop = self.store.property(page, request.params["key"])
            return Response(200, self.render().content_property(page, prop))

    def create_property(self, request: Request) -> Response:
        data = json_object(request)
        if not isinstance(data.get("key"), str) or "value" not in data:
            raise bad_request("A content property needs a key and a value.")
        with self.locked_page(request) as page:
            prop = self.store.create_property(page, data["key"], data["value"])
            return Response(200, self.render().content_property(page, prop))

    def update_property(self, request: Request) -> Response:
        data = json_object(request)
        if "value" not in data:
            raise bad_request("A content property update needs a value.")
        version = as_dict(data.get("version"))
        with self.locked_page(request) as page:
            prop = self.store.update_property(
                page,
                request.params["key"],
                data["value"],
                version_number(data),
                bool(version.get("minorEdit", True)),
            )
            return Response(200, self.render().content_property(page, prop))

    def delete_property(self, request: Request) -> Response:
        with self.locked_page(request) as page:
            self.store.delete_property(page, request.params["key"])
        return Response(204)
