"""Publishing rendered pages to Confluence: idempotent, and never over someone else's page.

For each ``RenderedPage``, in order (a cadence page after its cadence parent page):

1. Its parent is the configured parent page (``confluence.parent_page``, created under the
   space's home page when missing) or the page its ``parent_title`` names.
2. The body is checked to be well-formed storage; a malformed body is never sent.
3. The page is looked up by title. Missing: it is created (with the ``restrat-sync`` label and
   the content property). Present: it is restrat-sync's only when it carries the label or the
   property, or is the very page the cache recorded; anyone else's page is left alone and
   that page fails.
4. A content hash over title, parent, labels and body is compared with the cache's (or, with
   a fresh cache, with the page's property). Equal: nothing is written. Different: the page is
   updated to the read version + 1; a 409 re-reads the version and tries once more.

Confluence re-serialises storage, so bodies are never compared: only hashes. A page edited by
hand stays as edited until restrat-sync's content for it changes; then it is overwritten.
Every outcome lands in the ``PublishReport``; a failed page does not stop the others.
``ConnectionProblem`` (Confluence unreachable, credentials refused) stops the run: every page
would fail the same way. ``write_dry_run`` writes the pages to files and sends nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from restrat_sync import __version__
from restrat_sync.cache.pages import (
    PublishedRecord,
    published_page,
    record_checked,
    record_published,
)
from restrat_sync.cache.store import Cache
from restrat_sync.config import ConfluenceConfig
from restrat_sync.confluence.gateway import (
    ConfluenceGateway,
    RemotePage,
    VersionConflict,
)
from restrat_sync.errors import ConnectionProblem, RestratError
from restrat_sync.pages import preview
from restrat_sync.pages.page import LABEL, RenderedPage
from restrat_sync.pages.storage import check_well_formed, paragraph, serialize

log = logging.getLogger(__name__)

# The content property: {"hash", "cadence", "period", "synced_at"}, written with the page.
PROPERTY_KEY = "restrat-sync"
ROOT_BODY = serialize(
    paragraph("Dashboards published by restrat-sync. The pages below are updated automatically.")
)
Outcome = Literal["created", "updated", "unchanged", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("created", "updated", "unchanged", "failed")


class PageFailed(RestratError):
    """One page cannot be published; the message says which and why."""


@dataclass(frozen=True, slots=True)
class PageOutcome:
    title: str
    outcome: Outcome
    page_id: str | None = None
    version: int | None = None
    reason: str | None = None  # why it failed


@dataclass(frozen=True, slots=True)
class PublishReport:
    pages: list[PageOutcome]
    write_requests: int  # POST, PUT and DELETE requests sent to Confluence
    read_requests: int
    parent_id: str | None  # the configured parent page, None when it could not be had
    parent_created: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(1 for page in self.pages if page.outcome == outcome)

    @property
    def failed(self) -> list[PageOutcome]:
        return [page for page in self.pages if page.outcome == "failed"]

    @property
    def ok(self) -> bool:
        """Whether every page was published (or was already)."""
        return not self.failed

    def summary(self) -> str:
        """``pages: 3 created, 2 updated, 9 unchanged, 1 failed; write requests: N``."""
        counts = ", ".join(f"{self.count(outcome)} {outcome}" for outcome in OUTCOMES)
        return f"pages: {counts}; write requests: {self.write_requests}"


def content_hash(page: RenderedPage) -> str:
    """sha256 over what restrat-sync decides about a page: title, parent, labels and body."""
    payload = json.dumps([page.title, page.parent_title, list(page.labels), page.body])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def publish_pages(
    pages: list[RenderedPage],
    gateway: ConfluenceGateway,
    cache: Cache,
    confluence_config: ConfluenceConfig,
    now: datetime,
) -> PublishReport:
    """Publish ``pages`` in order into the configured space under the configured parent."""
    writes, reads = gateway.writes, gateway.reads
    publisher = _Publisher(gateway, cache, confluence_config.space, now)
    root_failure = publisher.ensure_root(confluence_config.parent_page)
    outcomes = [publisher.publish(page, root_failure) for page in pages]
    for outcome in outcomes:
        _log_outcome(outcome)
    return PublishReport(
        pages=outcomes,
        write_requests=gateway.writes - writes,
        read_requests=gateway.reads - reads,
        parent_id=publisher.root_id,
        parent_created=publisher.root_created,
    )


@dataclass
class _Publisher:
    gateway: ConfluenceGateway
    cache: Cache
    space: str
    now: datetime
    root_id: str | None = None
    root_created: bool = False
    ids: dict[str, str] = field(default_factory=dict)  # title -> page id, published this run
    failures: dict[str, str] = field(default_factory=dict)  # title -> reason

    def ensure_root(self, title: str) -> str | None:
        """Find (or create) the configured parent page; the reason when that fails."""
        try:
            found = self.gateway.find_page(self.space, title, PROPERTY_KEY)
            if found is None:
                home = self.gateway.space_home_id(self.space)
                found = self.gateway.create_page(self.space, title, ROOT_BODY, home)
                self.gateway.add_labels(found.id, [LABEL], title)
                self.root_created = True
        except ConnectionProblem:
            raise
        except RestratError as err:
            return f"the parent page '{title}' in space {self.space} is not available: {err}"
        self.root_id = found.id
        return None

    def publish(self, page: RenderedPage, root_failure: str | None) -> PageOutcome:
        try:
            outcome = self._publish(page, root_failure)
        except ConnectionProblem:
            raise
        except RestratError as err:
            self.failures[page.title] = str(err)
            return PageOutcome(page.title, "failed", reason=str(err))
        if outcome.page_id is not None:
            self.ids[page.title] = outcome.page_id
        return outcome

    def _publish(self, page: RenderedPage, root_failure: str | None) -> PageOutcome:
        if page.title in self.ids or page.title in self.failures:
            raise PageFailed(f"page '{page.title}' is listed twice in one publish")
        parent_id = self._parent_id(page, root_failure)
        check_well_formed(page.body, where=f"page '{page.title}'")
        digest = content_hash(page)
        cached = published_page(self.cache, page.title)
        remote = self.gateway.find_page(self.space, page.title, PROPERTY_KEY)
        if remote is None:
            return self._create(page, parent_id, digest)
        if not _ours(remote, cached):
            raise PageFailed(_foreign(page.title, self.space, remote))
        if digest in (_cached_hash(cached, remote), _property_hash(remote)):
            return self._unchanged(page, remote, cached, digest)
        return self._update(page, remote, parent_id, digest)

    def _parent_id(self, page: RenderedPage, root_failure: str | None) -> str:
        if page.parent_title is None:
            if root_failure is not None or self.root_id is None:
                raise PageFailed(f"page '{page.title}' not published: {root_failure}")
            return self.root_id
        if page.parent_title in self.failures:
            raise PageFailed(
                f"page '{page.title}' not published: its parent page '{page.parent_title}' "
                f"failed ({self.failures[page.parent_title]})"
            )
        if page.parent_title not in self.ids:
            raise PageFailed(
                f"page '{page.title}' not published: its parent page '{page.parent_title}' "
                "is not among the pages published before it"
            )
        return self.ids[page.parent_title]

    def _create(self, page: RenderedPage, parent_id: str, digest: str) -> PageOutcome:
        created = self.gateway.create_page(self.space, page.title, page.body, parent_id)
        self._finish(page, created, 1, digest)
        return PageOutcome(page.title, "created", created.id, 1)

    def _update(
        self, page: RenderedPage, remote: RemotePage, parent_id: str, digest: str
    ) -> PageOutcome:
        version = self._write_body(page, remote, parent_id)
        self._finish(page, remote, version, digest)
        return PageOutcome(page.title, "updated", remote.id, version)

    def _unchanged(
        self,
        page: RenderedPage,
        remote: RemotePage,
        cached: PublishedRecord | None,
        digest: str,
    ) -> PageOutcome:
        if cached is not None and cached.page_id == remote.id and remote.version > cached.version:
            log.info("%s: edited in Confluence since; left as is (unchanged here)", page.title)
        if cached is None or cached.page_id != remote.id or cached.content_hash != digest:
            # Adopted (a fresh cache, or a page the cache does not know): marks where missing.
            self._finish(page, remote, remote.version, digest)
        else:
            record_checked(self.cache, page.title, self.now)
        return PageOutcome(page.title, "unchanged", remote.id, remote.version)

    def _write_body(self, page: RenderedPage, remote: RemotePage, parent_id: str) -> int:
        """PUT the page at the read version + 1; after a 409, re-read and try once more."""
        version = remote.version
        for attempt in (1, 2):
            try:
                return self.gateway.update_page(
                    remote.id, page.title, page.body, parent_id, version + 1
                )
            except VersionConflict as conflict:
                if attempt == 2:
                    raise PageFailed(
                        f"page '{page.title}' changed in Confluence twice while restrat-sync "
                        f"was updating it (someone is editing it); gave up: {conflict}"
                    ) from None
                fresh = self.gateway.get_page(remote.id, PROPERTY_KEY, page.title)
                if fresh is None:
                    raise PageFailed(
                        f"page '{page.title}' was deleted while restrat-sync updated it"
                    ) from None
                log.info("%s: version moved to %d meanwhile; retrying", page.title, fresh.version)
                version = fresh.version
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _finish(self, page: RenderedPage, remote: RemotePage, version: int, digest: str) -> None:
        """Mark the page as restrat-sync's (labels, property), then record it. When marking
        fails the page is still recorded, without a hash: it is ours (never to be taken for
        someone else's), and the next publish writes it again."""
        try:
            self._mark(page, remote, digest)
        except RestratError:
            self._record(page, remote.id, version, "")
            raise
        self._record(page, remote.id, version, digest)

    def _mark(self, page: RenderedPage, remote: RemotePage, digest: str) -> None:
        """Add the labels the page lacks (LABEL always among them); set the content property
        unless it already holds ``digest``."""
        have = {label.casefold() for label in remote.labels}
        wanted = [LABEL, *(label for label in page.labels if label != LABEL)]
        missing = [label for label in wanted if label.casefold() not in have]
        if missing:
            self.gateway.add_labels(remote.id, missing, page.title)
        if _property_hash(remote) != digest:
            value = {"hash": digest, "cadence": page.cadence, "period": page.period}
            if page.synced_at is not None:  # exact, unlike the page's "data as of" day
                value["synced_at"] = page.synced_at.isoformat()
            self.gateway.set_property(
                remote.id, PROPERTY_KEY, value, remote.property_version, page.title
            )

    def _record(self, page: RenderedPage, page_id: str, version: int, digest: str) -> None:
        checked = self.now if digest else None  # a publish that did not finish checked nothing
        record = PublishedRecord(
            page.title, page_id, page.cadence, page.period, digest, version, self.now, checked
        )
        record_published(self.cache, record)


def _ours(remote: RemotePage, cached: PublishedRecord | None) -> bool:
    """restrat-sync's label or property is on the page, or the cache recorded this very page."""
    labelled = LABEL.casefold() in {label.casefold() for label in remote.labels}
    recorded = cached is not None and cached.page_id == remote.id
    return labelled or remote.property_value is not None or recorded


def _cached_hash(cached: PublishedRecord | None, remote: RemotePage) -> str | None:
    if cached is None or cached.page_id != remote.id or not cached.content_hash:
        return None
    return cached.content_hash


def _property_hash(remote: RemotePage) -> str | None:
    value = remote.property_value
    return str(value.get("hash")) if isinstance(value, dict) and value.get("hash") else None


def _foreign(title: str, space: str, remote: RemotePage) -> str:
    return (
        f"page '{title}' already exists in space {space} (id {remote.id}) without the "
        f"'{LABEL}' label or property: it belongs to someone else, so restrat-sync does not "
        f"overwrite it. Rename or move that page, or add the label '{LABEL}' to hand it over."
    )


def _log_outcome(outcome: PageOutcome) -> None:
    if outcome.outcome == "failed":
        log.warning("%s: failed: %s", outcome.title, outcome.reason)
    else:
        log.debug("%s: %s (page %s)", outcome.title, outcome.outcome, outcome.page_id)


# --- dry run -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DryRunReport:
    index: Path
    files: dict[str, tuple[Path, Path]]  # title -> (storage XML, HTML preview)
    failures: dict[str, str]  # title -> why its body would not be sent


def write_dry_run(pages: list[RenderedPage], out_dir: Path) -> DryRunReport:
    """Write each page's storage as ``<slug>.xml`` and a preview as ``<slug>.html``, plus an
    ``index.html`` linking them; nothing is sent. Jira macros show their JQL (no Jira here)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    slugs = _slugs([page.title for page in pages])
    failures: dict[str, str] = {}
    files: dict[str, tuple[Path, Path]] = {}
    for page in pages:
        try:
            check_well_formed(page.body, where=f"page '{page.title}'")
        except RestratError as err:
            failures[page.title] = str(err)
        xml = out_dir / f"{slugs[page.title]}.xml"
        xml.write_text(page.body, encoding="utf-8")
        html = out_dir / f"{slugs[page.title]}.html"
        html.write_text(_preview(page, pages, slugs), encoding="utf-8")
        files[page.title] = (xml, html)
    index = out_dir / "index.html"
    index.write_text(_index(pages, slugs, failures), encoding="utf-8")
    return DryRunReport(index, files, failures)


def slug(title: str) -> str:
    """A file name stem for ``title``: ASCII letters, digits and hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-") or "page"


def _slugs(titles: list[str]) -> dict[str, str]:
    """A distinct slug per title (``-2``, ``-3`` on collisions)."""
    taken: Counter[str] = Counter()
    found: dict[str, str] = {}
    for title in titles:
        if title in found:
            continue
        base = slug(title)
        taken[base] += 1
        candidate = base if taken[base] == 1 else f"{base}-{taken[base]}"
        while candidate in found.values():
            taken[base] += 1
            candidate = f"{base}-{taken[base]}"
        found[title] = candidate
    return found


def _preview(page: RenderedPage, pages: list[RenderedPage], slugs: dict[str, str]) -> str:
    by_title = {p.title: p for p in pages}
    crumbs: list[preview.Link] = []
    parent = page.parent_title
    while parent is not None and parent not in {c.title for c in crumbs}:
        crumbs.insert(0, preview.Link(parent, f"{slugs[parent]}.html" if parent in slugs else ""))
        parent = by_title[parent].parent_title if parent in by_title else None
    doc = preview.PageDoc(
        title=page.title,
        space_name="Preview",
        space_url="index.html",
        storage=page.body,
        breadcrumbs=crumbs,
        children=[
            preview.Link(p.title, f"{slugs[p.title]}.html")
            for p in pages
            if p.parent_title == page.title
        ],
        labels=list(page.labels),
        attachments=[],
        byline=f"Preview by restrat-sync {__version__}, not published ({page.cadence}, "
        f"{page.period})",
    )

    def page_url(_space: str | None, title: str) -> str | None:
        return f"{slugs[title]}.html" if title in slugs else None

    return preview.render_page(doc, preview.ViewContext(page_url=page_url))


def _index(pages: list[RenderedPage], slugs: dict[str, str], failures: dict[str, str]) -> str:
    titles = {page.title for page in pages}

    def tree(parent: str | None) -> str:
        items = []
        for page in pages:
            orphan = parent is None and page.parent_title not in titles
            if page.parent_title != parent and not orphan:
                continue
            note = " (not well-formed: would not be sent)" if page.title in failures else ""
            link = f'<a href="{preview.esc(slugs[page.title])}.html">{preview.esc(page.title)}</a>'
            items.append(f"<li>{link}{preview.esc(note)}{tree(page.title)}</li>")
        return f'<ul class="tree">{"".join(items)}</ul>' if items else ""

    heading = f"<h1>restrat-sync preview: {len(pages)} pages</h1>"
    note = "<p>Written by a dry run: nothing was sent to Confluence.</p>"
    return preview.document("restrat-sync preview", heading + note + tree(None))
