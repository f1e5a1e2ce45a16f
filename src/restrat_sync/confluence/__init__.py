"""The Confluence gateway: the only code that talks to Confluence."""

from __future__ import annotations

from restrat_sync.confluence.gateway import (
    ConfluenceGateway,
    ConfluenceRefused,
    RemotePage,
    VersionConflict,
    connect_confluence,
)

__all__ = [
    "ConfluenceGateway",
    "ConfluenceRefused",
    "RemotePage",
    "VersionConflict",
    "connect_confluence",
]
