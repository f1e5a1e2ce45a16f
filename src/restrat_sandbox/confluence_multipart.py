"""Confluence's attachment uploads: multipart/form-data parsing and the XSRF check."""

from __future__ import annotations

import email.policy
import mimetypes
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

from restrat_sandbox.confluence_store import ConfluenceError, Upload, bad_request
from restrat_sandbox.http_app import Request, Response

XSRF_EXEMPT = frozenset({"no-check", "nocheck"})  # "nocheck" is deprecated but still honoured


@dataclass(frozen=True)
class FormPart:
    name: str
    filename: str | None
    media_type: str
    data: bytes


def parse_multipart(request: Request) -> list[FormPart]:
    """The parts of a multipart/form-data body, parsed with the standard ``email`` package."""
    content_type = request.headers.get("content-type", "")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ConfluenceError(415, "Unsupported Media Type: expected multipart/form-data")
    return [_form_part(part) for part in message.iter_parts() if isinstance(part, EmailMessage)]


def _form_part(part: EmailMessage) -> FormPart:
    payload = part.get_payload(decode=True)
    filename = part.get_filename()
    filename = None if filename is None else _utf8(filename)
    media_type = part.get_content_type()
    if "content-type" not in part:  # email would say text/plain; Confluence guesses by name
        guessed = mimetypes.guess_type(filename or "")[0]
        media_type = guessed or "application/octet-stream"
    return FormPart(
        _utf8(str(part.get_param("name", "", header="content-disposition"))),
        filename,
        media_type,
        payload if isinstance(payload, bytes) else b"",
    )


def _utf8(text: str) -> str:
    # Browsers and urllib3 send non-ASCII file names as raw UTF-8. email decodes valid UTF-8
    # itself but keeps other bytes as surrogate escapes, which cannot be encoded later.
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def uploads(parts: list[FormPart]) -> list[Upload]:
    """Files in the form, each with the comment given at the same position (Confluence's rule)."""
    comments = [p.data.decode("utf-8", "replace") for p in parts if p.name == "comment"]
    files = [p for p in parts if p.name == "file" and p.filename is not None]
    if not files:
        raise bad_request("At least one file must be provided in a part named 'file'.")
    return [
        Upload(
            (f.filename or "").replace("\\", "/").rsplit("/", 1)[-1],
            f.media_type,
            f.data,
            comments[i] if i < len(comments) else "",
        )
        for i, f in enumerate(files)
    ]


def xsrf_refusal(request: Request) -> Response | None:
    """Confluence's XSRF filter: form posts need ``X-Atlassian-Token: no-check``."""
    if request.headers.get("x-atlassian-token", "").lower() in XSRF_EXEMPT:
        return None
    return Response(403, "XSRF check failed", content_type="text/plain;charset=UTF-8")
