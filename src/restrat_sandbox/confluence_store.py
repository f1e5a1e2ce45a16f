"""The sandbox's Confluence data: spaces, versioned pages, labels, attachments and properties.

Every rule that a real Confluence enforces on writes lives here, so the REST layer in
``confluence_api`` only translates: titles are unique per space (ignoring case), an update must
carry the current version + 1, storage must be well-formed and is stored re-serialised (macros
gain ``ac:macro-id``, as in Confluence), and deleted pages go to the trash
(their children move up to the deleted page's parent, as in Confluence). All access goes through
one re-entrant lock; callers that render several objects hold ``store.lock`` meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from restrat_sandbox.model import User
from restrat_sandbox.storage_xml import check_storage, normalise_storage
from restrat_sync.pages.storage_parser import StorageSyntaxError

FIRST_CONTENT_ID = 65537  # Confluence-looking ids, deterministic per sandbox
FIRST_SPACE_ID = 98305
TITLE_LIMIT = 255

# Exception class names Confluence puts in front of its messages.
BAD_REQUEST = "com.atlassian.confluence.api.service.exceptions.BadRequestException"
CONFLICT = "com.atlassian.confluence.api.service.exceptions.ConflictException"


class ConfluenceError(Exception):
    """A refusal with the HTTP status and message real Confluence answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ConfluenceError:
    return ConfluenceError(400, f"{BAD_REQUEST}: {message}")


@dataclass(frozen=True, slots=True)
class PageVersion:
    number: int
    when: datetime
    by: User
    message: str
    minor_edit: bool
    title: str
    body: str


@dataclass(slots=True)
class Label:
    id: int
    prefix: str
    name: str


@dataclass(slots=True)
class Attachment:
    id: int
    title: str  # the file name
    media_type: str
    comment: str
    versions: list[tuple[datetime, User, bytes]]  # oldest first

    @property
    def data(self) -> bytes:
        return self.versions[-1][2]


@dataclass(slots=True)
class ContentProperty:
    id: int
    key: str
    value: Any
    number: int
    when: datetime
    message: str = ""
    minor_edit: bool = False


@dataclass(slots=True)
class Page:
    id: int
    space_key: str
    parent_id: int | None
    versions: list[PageVersion]  # oldest first; never empty
    status: str = "current"  # or "trashed"
    labels: list[Label] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    properties: dict[str, ContentProperty] = field(default_factory=dict)
    position: int = 0  # creation order, for stable child order

    @property
    def current(self) -> PageVersion:
        return self.versions[-1]

    @property
    def title(self) -> str:
        return self.current.title

    @property
    def body(self) -> str:
        return self.current.body


@dataclass(slots=True)
class Space:
    id: int
    key: str
    name: str
    description: str
    created: datetime
    creator: User
    homepage_id: int | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConfluenceStore:
    """Thread-safe spaces and pages. Methods raise ConfluenceError the way Confluence refuses."""

    def __init__(self, clock: Callable[[], datetime] = utc_now) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.spaces: dict[str, Space] = {}  # by key, in creation order
        self.pages: dict[int, Page] = {}  # by id, in creation order
        self._next_id = FIRST_CONTENT_ID
        self._next_space_id = FIRST_SPACE_ID
        self._next_minor_id = 1  # labels and properties have ids of their own

    def clear(self) -> None:
        with self.lock:
            self.spaces.clear()
            self.pages.clear()
            self._next_id = FIRST_CONTENT_ID
            self._next_space_id = FIRST_SPACE_ID
            self._next_minor_id = 1

    def _content_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def _minor_id(self) -> int:
        self._next_minor_id += 1
        return self._next_minor_id - 1

    # --- spaces ---------------------------------------------------------------------------

    def space(self, key: str) -> Space:
        with self.lock:
            space = self.spaces.get(key.upper())
            if space is None:
                raise ConfluenceError(404, f"No space with key : {key}")
            return space

    def create_space(self, key: str, name: str, by: User, description: str = "") -> Space:
        """Create a space with its home page, as Confluence does."""
        if not key.isalnum() or not key.isascii() or len(key) > 255:
            raise bad_request(f"Space key '{key}' is invalid: use letters and numbers only.")
        if not name.strip():
            raise bad_request("Space name is required.")
        with self.lock:
            if key.upper() in self.spaces:
                raise bad_request(f"A space already exists with key {key.upper()}")
            space = Space(self._next_space_id, key.upper(), name, description, self.clock(), by)
            self._next_space_id += 1
            self.spaces[space.key] = space
            home = self.create_page(space.key, f"{name} Home", "", by, parent_id=None)
            space.homepage_id = home.id
            return space

    # --- pages ----------------------------------------------------------------------------

    def page(self, page_id: str | int, *, trashed: bool = False) -> Page:
        """The page with this id; trashed pages only when asked for, like ``status=trashed``."""
        with self.lock:
            page = self.pages.get(int(page_id)) if str(page_id).isdigit() else None
            if page is None or (page.status == "trashed" and not trashed):
                raise ConfluenceError(404, f"No content found with id: ContentId{{id={page_id}}}")
            return page

    def find(self, space_key: str | None, title: str | None) -> list[Page]:
        """Current pages, optionally of one space and with one title (case-insensitive)."""
        with self.lock:
            if space_key is not None:
                space_key = self.space(space_key).key
            wanted = title.casefold() if title is not None else None
            return [
                page
                for page in self.pages.values()
                if page.status == "current"
                and (space_key is None or page.space_key == space_key)
                and (wanted is None or page.title.casefold() == wanted)
            ]

    def children(self, page: Page) -> list[Page]:
        with self.lock:
            return [
                child
                for child in self.pages.values()
                if child.parent_id == page.id and child.status == "current"
            ]

    def ancestors(self, page: Page) -> list[Page]:
        """Root first, as Confluence lists them."""
        with self.lock:
            chain: list[Page] = []
            parent_id = page.parent_id
            while parent_id is not None:
                parent = self.pages[parent_id]
                chain.append(parent)
                parent_id = parent.parent_id
            return chain[::-1]

    def create_page(
        self,
        space_key: str,
        title: str,
        body: str,
        by: User,
        parent_id: str | int | None,
        message: str = "",
    ) -> Page:
        """Create a page at version 1 (at the space's top level when there is no parent)."""
        with self.lock:
            space = self.space(space_key)
            self._check_title(space.key, title, None)
            parent = self._parent(space.key, parent_id, None)
            _check_body(body)
            page_id = self._content_id()
            body = normalise_storage(body, str(page_id))
            version = PageVersion(1, self.clock(), by, message, False, title, body)
            page = Page(page_id, space.key, parent, [version])
            page.position = page.id
            self.pages[page.id] = page
            return page

    def update_page(self, page: Page, change: PageChange, by: User) -> Page:
        """Apply a full update; ``change.version`` must be the current number + 1."""
        with self.lock:
            if change.version is None:
                raise bad_request(
                    "Must supply an incremented version when updating Content. No version supplied."
                )
            if change.version != page.current.number + 1:
                raise ConfluenceError(
                    409,
                    f"{CONFLICT}: Version must be incremented on update. "
                    f"Current version is: {page.current.number}",
                )
            title = page.title if change.title is None else change.title
            self._check_title(page.space_key, title, page)
            if change.parent_id is not None:
                page.parent_id = self._parent(page.space_key, change.parent_id, page)
            body = page.body if change.body is None else change.body
            _check_body(body)
            body = normalise_storage(body, str(page.id))
            when = self.clock()
            number = change.version
            page.versions.append(
                PageVersion(number, when, by, change.message, change.minor_edit, title, body)
            )
            return page

    def trash(self, page: Page) -> None:
        """Move a page to the trash; a trashed page is purged. Children move up a level."""
        with self.lock:
            if page.status == "trashed":
                del self.pages[page.id]
                return
            page.status = "trashed"
            for child in self.children(page):
                child.parent_id = page.parent_id

    def _check_title(self, space_key: str, title: str, page: Page | None) -> None:
        if not title or not title.strip():
            raise bad_request("Page title cannot be empty.")
        if len(title) > TITLE_LIMIT:
            raise bad_request(f"Title cannot be longer than {TITLE_LIMIT} characters.")
        for other in self.find(space_key, title):
            if other is not page:
                raise bad_request(
                    "A page with this title already exists: "
                    "A page already exists with the same TITLE in this space"
                )

    def _parent(self, space_key: str, parent_id: str | int | None, page: Page | None) -> int | None:
        if parent_id is None:
            return None
        try:
            parent = self.page(parent_id)
        except ConfluenceError as err:
            raise bad_request(f"Could not find parent page with id {parent_id}") from err
        if parent.space_key != space_key:
            raise bad_request("The parent page must be in the same space as the page.")
        if page is not None and (parent is page or page in self.ancestors(parent)):
            raise bad_request("A page cannot become a child of itself or of its descendants.")
        return parent.id

    # --- labels ---------------------------------------------------------------------------

    def add_labels(self, page: Page, labels: list[tuple[str, str]]) -> list[Label]:
        """Add (prefix, name) labels; names are lower-cased and existing ones are kept once."""
        with self.lock:
            for prefix, name in labels:
                _check_label(name)
                name = name.lower()
                if not any(lab.name == name and lab.prefix == prefix for lab in page.labels):
                    page.labels.append(Label(self._minor_id(), prefix, name))
            return list(page.labels)

    def remove_label(self, page: Page, name: str) -> None:
        with self.lock:
            before = len(page.labels)
            page.labels = [lab for lab in page.labels if lab.name != name.lower()]
            if len(page.labels) == before:
                raise ConfluenceError(404, f"Label '{name}' does not exist on this content")

    # --- attachments ----------------------------------------------------------------------

    def attachment(self, page: Page, attachment_id: str) -> Attachment:
        digits = attachment_id.removeprefix("att")
        with self.lock:
            for attachment in page.attachments:
                if str(attachment.id) == digits:
                    return attachment
        raise ConfluenceError(404, f"No attachment found with id: {attachment_id}")

    def attach(self, page: Page, upload: Upload, by: User, *, replace: bool) -> Attachment:
        """Add a file; one of the same name is refused, or gets a new version with ``replace``."""
        with self.lock:
            existing = next((a for a in page.attachments if a.title == upload.name), None)
            if existing is not None and not replace:
                raise bad_request(
                    "Cannot add a new attachment with same file name as an existing attachment: "
                    + upload.name
                )
            if existing is not None:
                return self.add_attachment_version(existing, upload, by)
            attachment = Attachment(
                self._content_id(),
                upload.name,
                upload.media_type,
                upload.comment,
                [(self.clock(), by, upload.data)],
            )
            page.attachments.append(attachment)
            return attachment

    def add_attachment_version(
        self, attachment: Attachment, upload: Upload, by: User
    ) -> Attachment:
        with self.lock:
            attachment.versions.append((self.clock(), by, upload.data))
            attachment.media_type = upload.media_type
            attachment.comment = upload.comment or attachment.comment
            return attachment

    # --- content properties ---------------------------------------------------------------

    def property(self, page: Page, key: str) -> ContentProperty:
        with self.lock:
            found = page.properties.get(key)
        if found is None:
            raise ConfluenceError(404, f"Cannot find property with key: {key}")
        return found

    def create_property(self, page: Page, key: str, value: Any) -> ContentProperty:
        if not key or len(key) > 255:
            raise bad_request("Property key must be between 1 and 255 characters long.")
        with self.lock:
            if key in page.properties:
                raise bad_request(f"Cannot create property with key '{key}': it already exists.")
            prop = ContentProperty(self._minor_id(), key, value, 1, self.clock())
            page.properties[key] = prop
            return prop

    def update_property(
        self, page: Page, key: str, value: Any, version: int | None, minor_edit: bool = True
    ) -> ContentProperty:
        """Update with version = current + 1; a missing property is created when version is 1."""
        with self.lock:
            prop = page.properties.get(key)
            if prop is None:
                if version != 1:
                    raise ConfluenceError(404, f"Cannot find property with key: {key}")
                return self.create_property(page, key, value)
            if version is None:
                raise bad_request("Must supply a version when updating a content property.")
            if version != prop.number + 1:
                raise ConfluenceError(
                    409,
                    f"{CONFLICT}: Version must be incremented on update. "
                    f"Current version is: {prop.number}",
                )
            prop.value, prop.number, prop.when = value, version, self.clock()
            prop.minor_edit = minor_edit
            return prop

    def delete_property(self, page: Page, key: str) -> None:
        with self.lock:
            self.property(page, key)
            del page.properties[key]


@dataclass(frozen=True, slots=True)
class PageChange:
    """The parts of a ``PUT content/{id}`` body the store acts on; None means "unchanged"."""

    version: int | None
    title: str | None = None
    body: str | None = None
    parent_id: str | int | None = None
    message: str = ""
    minor_edit: bool = False


@dataclass(frozen=True, slots=True)
class Upload:
    name: str
    media_type: str
    data: bytes
    comment: str = ""


# Confluence refuses these in label names (and whitespace, which separates labels in its UI).
_LABEL_FORBIDDEN = frozenset(":;,.?&[]()#^*@!<>")


def _check_label(name: str) -> None:
    if not name or len(name) > 255:
        raise bad_request("Label name must be between 1 and 255 characters long.")
    if any(char.isspace() or char in _LABEL_FORBIDDEN for char in name):
        raise bad_request(f"Label '{name}' contains invalid characters.")


def _check_body(body: str) -> None:
    try:
        check_storage(body)
    except StorageSyntaxError as err:
        raise bad_request(str(err)) from err
