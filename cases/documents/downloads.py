"""Serving a document's bytes: who may, what the answer says, and the access-log entry.

The API's ``content`` action and the pages' ``/documents/<uuid>/download`` both come here,
so the check, the headers and the log are one thing. A reader who may not read the contents
gets 403 and nothing of the file; a reader who may gets the file as an attachment, with the
type told from its bytes, ``nosniff``, a Content Security Policy that lets nothing run, and
one access-log entry.
"""

from __future__ import annotations

from django.http import FileResponse

from cases.documents.models import Document
from cases.documents.storage import documents_storage
from cases.security import access, sensitive
from cases.security.policy import policy_for

#: The Content Security Policy of a served file: nothing in it may load or run anything.
CSP = "default-src 'none'; sandbox; frame-ancestors 'none'"


def may_download(user) -> bool:
    """Return whether ``user`` may read documents' contents."""
    return policy_for(user).may_read_contents("document")


def refuse_unless_allowed(user, refusal: type[Exception]) -> None:
    """Raise ``refusal`` (a 403 of the surface asking) unless ``user`` may read contents."""
    if not may_download(user):
        raise refusal(
            "Reading documents' contents needs the permission to view sensitive values, "
            "which this account does not hold."
        )


def download_name(document: Document) -> str:
    """Return the name the file is offered under: its uploaded name, checked when stored."""
    return document.original_filename or f"document-{document.uuid}"


def serve(document: Document, *, user, channel: str, path: str, token_label: str = ""):
    """Return the streamed answer of ``document``'s bytes and log the read.

    The caller has checked ``may_download``. The entry is written once the file is open, so
    a file missing from the storage logs nothing (and answers the storage's error).
    """
    handle = documents_storage().open(document.file.name, "rb")
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=download_name(document),
        content_type=document.content_type,
    )
    response["Content-Length"] = str(document.size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "no-store, private"
    access.log_access(
        user=user,
        channel=channel,
        objects=[document],
        fields=[sensitive.CONTENT, *sensitive.FILE_FIELDS],
        path=path,
        token_label=token_label,
        extra={"sha256": document.sha256, "size": document.size},
    )
    return response
