"""Writes of documents: attach one (its bytes checked, stored and hashed) and withdraw one.

Each appends one event, ``document.attached`` or ``document.withdrawn``, that carries the
document's metadata only, never its contents; the name it was uploaded under is sensitive
(it often names the person) and is withheld from readers without the right, as every
sensitive value is. The bytes are stored under a random name before the row is written; if
the write then fails, the stored file is deleted again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.documents import sniffing
from cases.documents.models import ATTACHMENT_TARGETS, Document
from cases.documents.storage import documents_storage, stored_name
from cases.models import Case, Source
from cases.services.base import Actor, check_version, created_changes, writes
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

#: The document's fields its ``document.attached`` event lists.
DOCUMENT_FIELDS = (
    "title",
    "kind",
    "language",
    "original_filename",
    "content_type",
    "size",
    "sha256",
    *ATTACHMENT_TARGETS,
)
#: Bytes read at a time from an upload.
CHUNK_BYTES = 64 * 1024


def max_bytes() -> int:
    """Return the largest document accepted (``DJANGO_DOCUMENT_MAX_BYTES``, 25 MiB)."""
    return int(getattr(settings, "DOCUMENT_MAX_BYTES", 25 * 1024 * 1024))


def too_large(limit: int | None = None) -> ValidationError:
    """Return the refusal of a file larger than the limit."""
    limit = max_bytes() if limit is None else limit
    return ValidationError(
        {
            "file": [
                ValidationError(
                    _("The file is larger than %(limit)s MiB, the most a document may be.")
                    % {"limit": f"{limit / 1048576:g}"},
                    code="too_large",
                )
            ]
        }
    )


@dataclass(frozen=True)
class Checked:
    """What reading an upload found: its type, the name to keep, its size and SHA-256."""

    accepted: sniffing.Accepted
    filename: str
    size: int
    sha256: str


def check_upload(upload: File, *, filename: str = "") -> Checked:
    """Read ``upload`` once, chunk by chunk: sniff its type, check its name, size it, hash it.

    Nothing is held in memory but one chunk; a file past the limit is refused as soon as
    the limit is passed. The upload is rewound for storing.
    """
    limit = max_bytes()
    digest = hashlib.sha256()
    size = 0
    accepted = None
    text = None
    head = b""
    upload.seek(0)
    for chunk in upload.chunks(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        digest.update(chunk)
        if accepted is None:
            head += chunk
            if len(head) < sniffing.HEAD_BYTES:
                continue
            accepted, text = _sniffed(head)
        elif text is not None:
            text.feed(chunk)
    if accepted is None:
        accepted, text = _sniffed(head)
    elif text is not None:
        text.feed(b"", final=True)
    upload.seek(0)
    name = sniffing.checked_name(filename or getattr(upload, "name", "") or "", accepted)
    return Checked(accepted=accepted, filename=name, size=size, sha256=digest.hexdigest())


def _sniffed(head: bytes):
    accepted = sniffing.sniff(head)
    if accepted is not sniffing.TEXT:
        return accepted, None
    checker = sniffing.TextChecker()
    checker.feed(head)
    return accepted, checker


def _target_fields(targets: dict) -> dict:
    unknown = set(targets) - set(ATTACHMENT_TARGETS)
    if unknown:
        raise TypeError(f"A document is not attached to {', '.join(sorted(unknown))}.")
    return {name: row for name, row in targets.items() if row is not None}


@writes
def document_attach(
    *,
    actor: Actor,
    case: Case,
    upload: File,
    title: str,
    kind: str,
    filename: str = "",
    language: str = "",
    source: Source | None = None,
    reason: str = "",
    sink,
    **targets,
) -> Document:
    """Attach the file ``upload`` to ``case`` (and to one of its statements, requests or
    handovers, as ``statement=``, ``request=`` or ``handover=``); append ``document.attached``.

    The file's type is told from its bytes; a name whose extension says another type is
    refused, a name without one gets the type's. A file larger than
    ``DJANGO_DOCUMENT_MAX_BYTES``, or one the case already has (the same SHA-256, not
    withdrawn), is refused. The bytes are stored under a random name.
    """
    attached = _target_fields(targets)
    checked = check_upload(upload, filename=filename)
    case = sink.lock(case)
    if Document.objects.filter(case=case, sha256=checked.sha256, archived_at__isnull=True).exists():
        raise ValidationError(
            {"file": [ValidationError(_("This case already has this file attached."), "duplicate")]}
        )
    document = sink.new(
        Document,
        case=case,
        title=title,
        kind=kind,
        language=language,
        original_filename=checked.filename,
        content_type=checked.accepted.content_type,
        size=checked.size,
        sha256=checked.sha256,
        source=source,
        uploaded_by=actor.user,
        uploaded_at=timezone.now(),
        **attached,
    )
    document.file.name = "pending"  # validated before the bytes are stored
    sink.validate(document, exclude=["case", "file"])
    storage = documents_storage()
    document.file.name = storage.save(stored_name(document, ""), upload, max_length=200)
    try:
        with transaction.atomic():
            sink.insert(document)
            sink.append(
                EventDraft(
                    kind=EventKind.DOCUMENT_ATTACHED,
                    summary=vocabulary.document_attached(document),
                    subject=document,
                    actor=actor,
                    case=case,
                    changes=created_changes(document, DOCUMENT_FIELDS, empty=(None, "")),
                    reason=reason,
                    source=source,
                )
            )
    except IntegrityError as exc:
        storage.delete(document.file.name)
        raise ValidationError(
            {"file": [ValidationError(_("This case already has this file attached."), "duplicate")]}
        ) from exc
    except BaseException:
        storage.delete(document.file.name)
        raise
    return document


@writes
def document_withdraw(
    *,
    actor: Actor,
    document: Document,
    reason: str,
    expected_version: int | None = None,
    sink,
) -> Document:
    """Withdraw a document (it leaves the lists; its file is kept); append ``document.withdrawn``.

    A reason is required. Only a purge of the case deletes the file.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the document is withdrawn.")})
    case = sink.lock(document.case)
    document = sink.lock(document)
    check_version(document, expected_version)
    if document.archived_at is not None:
        raise ValidationError(_("The document is withdrawn already."))
    document.archived_at = timezone.now()
    document.version += 1
    sink.save(document)
    sink.append(
        EventDraft(
            kind=EventKind.DOCUMENT_WITHDRAWN,
            summary=vocabulary.document_withdrawn(document),
            subject=document,
            actor=actor,
            case=case,
            changes={"archived_at": [None, document.archived_at.isoformat()]},
            reason=reason,
        )
    )
    return document


def delete_files(names: list[str]) -> None:
    """Delete stored files once the purge that deleted their rows has committed."""
    if not names:
        return
    storage = documents_storage()

    def delete():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete)
