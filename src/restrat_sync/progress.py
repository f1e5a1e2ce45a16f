"""Progress of long work: one redrawn line on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from restrat_sync.sync import SyncCounts

log = logging.getLogger("restrat_sync.progress")


def _line(phase: str, counts: SyncCounts) -> str:
    return (
        f"{phase}: {counts.issues_seen} issues, {counts.pages} pages, "
        f"{counts.changelog_requests} changelog completions"
    )


class TerminalProgress:
    """Redraws one status line at most ten times a second."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.phase_text = "starting"
        self.counts = SyncCounts()
        self._drawn = 0.0

    def phase(self, text: str) -> None:
        self.phase_text = text
        self._draw(force=True)

    def advanced(self, counts: SyncCounts) -> None:
        self.counts = counts
        self._draw(force=False)

    def close(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        self.stream.write("\r\033[K" + _line(self.phase_text, self.counts)[:200])
        self.stream.flush()


class LogProgress:
    """For logs and pipes: a line per phase and one every ``every`` pages."""

    def __init__(self, every: int = 20) -> None:
        self.every = every
        self.phase_text = "starting"
        self._last_pages = 0

    def phase(self, text: str) -> None:
        self.phase_text = text
        log.info("sync: %s", text)

    def advanced(self, counts: SyncCounts) -> None:
        if counts.pages - self._last_pages >= self.every:
            self._last_pages = counts.pages
            log.info("sync: %s", _line(self.phase_text, counts))

    def close(self) -> None:
        return None
