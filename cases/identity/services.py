"""Writes of a person's identity documents, external identifiers and nationality claims.

Each service changes one row and appends one event about it. The event joins the person's
most recent case, as ``person.updated`` does, so it shows on the case timeline (on the
person's own chain when he has no case yet); the person's row is locked after the case, the
order every person and case service locks in.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import Person
from cases.services.base import (
    Actor,
    created_changes,
    refuse_merged,
    refuse_unknown,
    versioned_change,
    writes,
)
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

DOCUMENT_FIELDS = (
    "kind",
    "issuer",
    "issuer_country",
    "number",
    "name_on_document",
    "genuineness",
    "notes",
    "source",
)
IDENTIFIER_FIELDS = ("scheme", "value", "issued_by", "source")
CLAIM_FIELDS = ("country", "claimed_by", "basis", "source")


def _store(sink, row, *, new: bool) -> None:
    """Insert or save ``row``; a uniqueness lost to a concurrent writer is a validation error.

    ``full_clean`` has checked the constraints already; a writer committing the same value
    between that check and this write trips the database's constraint instead, which is
    answered as the check's own message rather than a server error.
    """
    try:
        with transaction.atomic():
            if new:
                sink.insert(row)
            else:
                sink.save(row)
    except IntegrityError as exc:
        message = gettext("Another row already holds this value.")
        for constraint in type(row)._meta.constraints:
            if constraint.name in str(exc) or "unique" in str(exc).lower():
                message = getattr(constraint, "violation_error_message", None) or message
        raise ValidationError(message) from exc


def _record(
    sink,
    *,
    model: type,
    fields_allowed: tuple[str, ...],
    what: str,
    kind: str,
    summary,
    actor: Actor,
    person: Person,
    reason: str,
    fields: dict[str, Any],
):
    """Create one child row of ``person`` and append its ``*.recorded`` event."""
    refuse_unknown(fields, fields_allowed, what)
    case = sink.latest_case(person)
    person = sink.lock(person)
    refuse_merged(person)
    row = sink.new(model, person=person, **fields)
    sink.validate(row, exclude=["person"])
    _store(sink, row, new=True)
    sink.append(
        EventDraft(
            kind=kind,
            summary=summary(row),
            subject=row,
            actor=actor,
            case=case,
            person=person,
            changes=created_changes(row, fields_allowed, empty=(None, "")),
            reason=reason,
            source=fields.get("source"),
        )
    )
    return row


def _update(
    sink,
    *,
    row,
    fields_allowed: tuple[str, ...],
    kind: str,
    summary,
    actor: Actor,
    expected_version: int | None,
    reason: str,
    fields: dict[str, Any],
):
    """Change one child row, checked against its version; append its ``*.updated`` event.

    Nothing is written, and no event appended, when nothing changed.
    """
    case = sink.latest_case(row.person)
    person = sink.lock(row.person)
    row = sink.lock(row)
    changes = versioned_change(
        row, expected_version=expected_version, fields=fields, allowed=fields_allowed
    )
    if not changes:
        return row
    sink.validate(row, exclude=["person"])
    row.version += 1
    _store(sink, row, new=False)
    sink.append(
        EventDraft(
            kind=kind,
            summary=summary(row, changes),
            subject=row,
            actor=actor,
            case=case,
            person=person,
            changes=changes,
            reason=reason,
            source=row.source,
        )
    )
    return row


@writes
def identity_document_record(
    *, actor: Actor, person: Person, reason: str = "", sink, **fields: Any
) -> IdentityDocument:
    """Record a document the person carried; append ``identity_document.recorded``."""
    return _record(
        sink,
        model=IdentityDocument,
        fields_allowed=DOCUMENT_FIELDS,
        what="identity document",
        kind=EventKind.IDENTITY_DOCUMENT_RECORDED,
        summary=vocabulary.identity_document_recorded,
        actor=actor,
        person=person,
        reason=reason,
        fields=fields,
    )


@writes
def identity_document_update(
    *,
    actor: Actor,
    identitydocument: IdentityDocument,
    expected_version: int | None = None,
    reason: str = "",
    sink,
    **fields: Any,
) -> IdentityDocument:
    """Correct what is known of a document; append ``identity_document.updated``."""
    return _update(
        sink,
        row=identitydocument,
        fields_allowed=DOCUMENT_FIELDS,
        kind=EventKind.IDENTITY_DOCUMENT_UPDATED,
        summary=vocabulary.identity_document_updated,
        actor=actor,
        expected_version=expected_version,
        reason=reason,
        fields=fields,
    )


@writes
def external_identifier_record(
    *, actor: Actor, person: Person, reason: str = "", sink, **fields: Any
) -> ExternalIdentifier:
    """Record a number another system knows the person by; append
    ``external_identifier.recorded``. A number already held in the same scheme is refused."""
    return _record(
        sink,
        model=ExternalIdentifier,
        fields_allowed=IDENTIFIER_FIELDS,
        what="external identifier",
        kind=EventKind.EXTERNAL_IDENTIFIER_RECORDED,
        summary=vocabulary.external_identifier_recorded,
        actor=actor,
        person=person,
        reason=reason,
        fields=fields,
    )


@writes
def external_identifier_update(
    *,
    actor: Actor,
    externalidentifier: ExternalIdentifier,
    expected_version: int | None = None,
    reason: str = "",
    sink,
    **fields: Any,
) -> ExternalIdentifier:
    """Correct an external identifier; append ``external_identifier.updated``."""
    return _update(
        sink,
        row=externalidentifier,
        fields_allowed=IDENTIFIER_FIELDS,
        kind=EventKind.EXTERNAL_IDENTIFIER_UPDATED,
        summary=vocabulary.external_identifier_updated,
        actor=actor,
        expected_version=expected_version,
        reason=reason,
        fields=fields,
    )


@writes
def nationality_claim_record(
    *, actor: Actor, person: Person, reason: str = "", sink, **fields: Any
) -> NationalityClaim:
    """Record a party's claim that the person is its national; append
    ``nationality_claim.recorded``."""
    return _record(
        sink,
        model=NationalityClaim,
        fields_allowed=CLAIM_FIELDS,
        what="nationality claim",
        kind=EventKind.NATIONALITY_CLAIM_RECORDED,
        summary=vocabulary.nationality_claim_recorded,
        actor=actor,
        person=person,
        reason=reason,
        fields=fields,
    )


@writes
def nationality_claim_update(
    *,
    actor: Actor,
    nationalityclaim: NationalityClaim,
    expected_version: int | None = None,
    reason: str = "",
    sink,
    **fields: Any,
) -> NationalityClaim:
    """Correct a nationality claim; append ``nationality_claim.updated``."""
    return _update(
        sink,
        row=nationalityclaim,
        fields_allowed=CLAIM_FIELDS,
        kind=EventKind.NATIONALITY_CLAIM_UPDATED,
        summary=vocabulary.nationality_claim_updated,
        actor=actor,
        expected_version=expected_version,
        reason=reason,
        fields=fields,
    )


__all__ = [
    "CLAIM_FIELDS",
    "DOCUMENT_FIELDS",
    "IDENTIFIER_FIELDS",
    "external_identifier_record",
    "external_identifier_update",
    "identity_document_record",
    "identity_document_update",
    "nationality_claim_record",
    "nationality_claim_update",
]
