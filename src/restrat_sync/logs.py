"""Logging setup: one stderr handler, readable text or JSON lines, secrets redacted everywhere.

Redaction happens twice on purpose. ``RedactingFilter`` cleans the message of every record that
reaches the handler (libraries such as atlassian-python-api log curl commands with headers).
The formatters then redact what they produce, because a traceback or an ``extra`` field can
carry a secret that the message did not.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from restrat_sync.http import RedactingFilter, redact

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def configure_logging(
    verbose: bool, log_format: LogFormat = "text", secrets: Sequence[str] = ()
) -> None:
    """Send all logging to stderr through one redacting handler; safe to call again.

    The secrets redacted are ``secrets`` plus every ``RESTRAT_*TOKEN*`` environment variable.
    Call again once settings are loaded to add secrets read from the secrets directory.
    """
    known = [*secrets_from_env(), *secrets]
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter
    if log_format == "json":
        formatter = JsonFormatter(known)
    elif log_format == "text":
        formatter = RedactingFormatter(known, TEXT_FORMAT)
    else:
        raise ValueError(f"unknown log format {log_format!r}; expected one of {LOG_FORMATS}")
    handler.setFormatter(formatter)
    # On the handler, not on one logger: library records pass through it too.
    handler.addFilter(RedactingFilter(known))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("restrat_sync").setLevel(logging.DEBUG if verbose else logging.INFO)


def secrets_from_env() -> list[str]:
    """The values of the ``RESTRAT_*TOKEN*`` environment variables that are set."""
    return [v for k, v in os.environ.items() if k.startswith("RESTRAT_") and "TOKEN" in k and v]


class RedactingFormatter(logging.Formatter):
    """A plain formatter whose whole output, traceback included, has the secrets blanked."""

    def __init__(self, secrets: Iterable[str], fmt: str | None = None) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO-8601 UTC), level, logger, message, exc_info, extras."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: self._clean(value)
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES and _serialisable(value)
        }
        # The standard fields win over an ``extra`` of the same name.
        entry.update(
            time=_iso_utc(record.created),
            level=record.levelname,
            logger=record.name,
            message=redact(record.getMessage(), self.secrets),
        )
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info), self.secrets)
        elif record.exc_text:
            entry["exc_info"] = redact(record.exc_text, self.secrets)
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info), self.secrets)
        return json.dumps(entry, ensure_ascii=False)

    def _clean(self, value: Any) -> Any:
        """``value`` with every string in it redacted (keys too)."""
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, dict):
            return {self._clean(str(k)): self._clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(item) for item in value]
        return value


def _serialisable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _iso_utc(created: float) -> str:
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
