"""What Confluence does with storage on a write: refuses a body it cannot parse, and
re-serialises the macros of one it keeps.

The parse itself is the product's (``restrat_sync.pages.storage_parser``), which words its
errors as Confluence does; this module adds what only the stand-in needs.
"""

from __future__ import annotations

import re
import uuid

from restrat_sync.pages.storage_parser import outside_verbatim, parse_storage

# A structured macro's start tag: its attributes, then "/" when it is self-closing.
_MACRO_TAG = re.compile(
    r"<ac:structured-macro((?:\s+[^\s=/>]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*)\s*(/?)>"
)


def check_storage(value: str) -> None:
    """Raise StorageSyntaxError unless ``value`` is storage markup Confluence would accept."""
    parse_storage(value)


def normalise_storage(value: str, seed: str) -> str:
    """Storage as Confluence saves it: every structured macro gets a schema version and an id.

    Confluence re-serialises what it stores, so a body read back differs from the one sent
    (the shared notes: clients must compare their own content hash, never the text). The ids
    here are uuid5 of ``seed`` and the macro's position, so a sandbox run stays reproducible.
    """
    counter = iter(range(1_000_000))

    def stamp(match: re.Match[str]) -> str:
        attrs = match.group(1)
        if "ac:schema-version=" not in attrs:
            attrs += ' ac:schema-version="1"'
        if "ac:macro-id=" not in attrs:
            macro_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}#{next(counter)}")
            attrs += f' ac:macro-id="{macro_id}"'
        return f"<ac:structured-macro{attrs}{match.group(2)}>"

    return outside_verbatim(_MACRO_TAG, stamp, value)
