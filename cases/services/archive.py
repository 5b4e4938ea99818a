"""Archiving, where nothing is deleted, and purging, the one deliberate deletion."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils.translation import gettext as _

from cases.dbguards import timeline_purge
from cases.models import (
    CaptureCard,
    Case,
    Document,
    ExternalIdentifier,
    IdempotencyKey,
    IdentityDocument,
    Movement,
    NationalityClaim,
    Note,
    Notification,
    NotificationSettings,
    Occurrence,
    Person,
    PersonName,
    Position,
    Request,
    RiskAssessment,
    StatedIntention,
    Task,
    TimelineEvent,
)
from cases.services.base import Actor, check_version, plain
from cases.services.cases import lock_case
from cases.services.intentions import refresh_current_intention
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.sinks import ROWS
from cases.timeline.vocabulary import ARCHIVE_EVENTS, EventKind

# --------------------------------------------------------------------------------------------
# Archiving: rows drop out of the lists and can come back
# --------------------------------------------------------------------------------------------


def _archive_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the record is archived.")})
    return reason


def _stamp_archived(obj: models.Model, archive: bool) -> dict[str, list[Any]]:
    """Set or clear ``archived_at`` and bump the version; return the change."""
    label = obj._meta.verbose_name
    if archive and obj.archived_at is not None:
        raise ValidationError(_("This %(record)s is already archived.") % {"record": label})
    if not archive and obj.archived_at is None:
        raise ValidationError(_("This %(record)s is not archived.") % {"record": label})
    old = obj.archived_at
    obj.archived_at = ROWS.now() if archive else None
    obj.version += 1
    update_fields = ["archived_at", "version"]
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        update_fields.append("updated_at")
    ROWS.save(obj, fields=update_fields)
    return {"archived_at": [plain(old), plain(obj.archived_at)]}


def _case_of(obj: models.Model) -> Case | None:
    """Return the case whose chain an archiving event of ``obj`` joins, locked.

    A person's goes on his most recent case, as ``person_update``'s does. The case is locked
    before the row itself, the order every case service uses.
    """
    if isinstance(obj, Case):
        return None
    if isinstance(obj, Person):
        return ROWS.latest_case(obj)
    return lock_case(obj.case)


@transaction.atomic
def set_archived(
    *,
    actor: Actor,
    obj: models.Model,
    archive: bool,
    reason: str,
    expected_version: int | None,
) -> models.Model:
    """Archive or bring back a case, person, statement or request; append one event.

    Archiving needs a reason. An archived statement no longer counts towards the case's
    current intention, so archiving one (or bringing it back) recomputes it.
    """
    if archive:
        reason = _archive_reason(reason)
    case = _case_of(obj)
    obj = ROWS.lock(obj)
    if isinstance(obj, Case):
        case = obj
    check_version(obj, expected_version)
    changes = _stamp_archived(obj, archive)
    if isinstance(obj, StatedIntention):
        changes.update(refresh_current_intention(ROWS, case))
    archived_kind, unarchived_kind = ARCHIVE_EVENTS[obj._meta.model_name]
    ROWS.append(
        EventDraft(
            kind=archived_kind if archive else unarchived_kind,
            summary=vocabulary.archived(obj, archive=archive, case=case),
            subject=obj,
            actor=actor,
            case=case,
            person=obj if isinstance(obj, Person) else None,
            changes=changes,
            reason=reason,
        )
    )
    return obj


def case_archive(
    *, actor: Actor, case: Case, reason: str, expected_version: int | None = None
) -> Case:
    """Archive a case: it leaves the default lists but stays readable; ``case.archived``."""
    return set_archived(
        actor=actor, obj=case, archive=True, reason=reason, expected_version=expected_version
    )


def case_unarchive(
    *, actor: Actor, case: Case, reason: str = "", expected_version: int | None = None
) -> Case:
    """Bring an archived case back into the lists; append ``case.unarchived``."""
    return set_archived(
        actor=actor, obj=case, archive=False, reason=reason, expected_version=expected_version
    )


def person_archive(
    *, actor: Actor, person: Person, reason: str, expected_version: int | None = None
) -> Person:
    """Archive a person; append ``person.archived``."""
    return set_archived(
        actor=actor, obj=person, archive=True, reason=reason, expected_version=expected_version
    )


def person_unarchive(
    *, actor: Actor, person: Person, reason: str = "", expected_version: int | None = None
) -> Person:
    """Bring an archived person back; append ``person.unarchived``."""
    return set_archived(
        actor=actor, obj=person, archive=False, reason=reason, expected_version=expected_version
    )


def intention_archive(
    *,
    actor: Actor,
    intention: StatedIntention,
    reason: str,
    expected_version: int | None = None,
) -> StatedIntention:
    """Archive a statement (e.g. entered twice), recompute the current one; ``intention.archived``.

    An archived statement never counts as the current intention.
    """
    return set_archived(
        actor=actor, obj=intention, archive=True, reason=reason, expected_version=expected_version
    )


def intention_unarchive(
    *,
    actor: Actor,
    intention: StatedIntention,
    reason: str = "",
    expected_version: int | None = None,
) -> StatedIntention:
    """Bring an archived statement back; recompute the current one; ``intention.unarchived``."""
    return set_archived(
        actor=actor,
        obj=intention,
        archive=False,
        reason=reason,
        expected_version=expected_version,
    )


def request_archive(
    *, actor: Actor, request: Request, reason: str, expected_version: int | None = None
) -> Request:
    """Archive a request; append ``request.archived``."""
    return set_archived(
        actor=actor, obj=request, archive=True, reason=reason, expected_version=expected_version
    )


def request_unarchive(
    *, actor: Actor, request: Request, reason: str = "", expected_version: int | None = None
) -> Request:
    """Bring an archived request back; append ``request.unarchived``."""
    return set_archived(
        actor=actor, obj=request, archive=False, reason=reason, expected_version=expected_version
    )


# --------------------------------------------------------------------------------------------
# Purge: the one deliberate deletion, by a superuser, leaving a tombstone in the feed
# --------------------------------------------------------------------------------------------


class PurgeRefused(PermissionError):
    """Only a superuser may purge a case."""


def _purged_rows(case: Case, person: Person | None) -> dict[type[models.Model], Any]:
    """Return ``{model: primary keys}`` of every row the purge of ``case`` deletes.

    The person's own rows (name variants, identity documents, external identifiers,
    nationality claims) are there only when he goes with the case.
    """
    purged = {
        Case: [case.pk],
        StatedIntention: StatedIntention.objects.filter(case=case).values_list("pk", flat=True),
        Request: Request.objects.filter(case=case).values_list("pk", flat=True),
        Position: Position.objects.filter(request__case=case).values_list("pk", flat=True),
        Occurrence: Occurrence.objects.filter(case=case).values_list("pk", flat=True),
        RiskAssessment: RiskAssessment.objects.filter(case=case).values_list("pk", flat=True),
        Note: Note.objects.filter(case=case).values_list("pk", flat=True),
        Movement: Movement.objects.filter(case=case).values_list("pk", flat=True),
        CaptureCard: CaptureCard.objects.filter(case=case).values_list("pk", flat=True),
        Notification: Notification.objects.filter(case=case).values_list("pk", flat=True),
        Document: Document.objects.filter(case=case).values_list("pk", flat=True),
        NotificationSettings: NotificationSettings.objects.filter(case=case).values_list(
            "pk", flat=True
        ),
        Task: Task.objects.filter(case=case).values_list("pk", flat=True),
    }
    if person is not None:
        purged[Person] = [person.pk]
        purged[PersonName] = person.names.values_list("pk", flat=True)
        for model in (IdentityDocument, ExternalIdentifier, NationalityClaim):
            purged[model] = model.objects.filter(person=person).values_list("pk", flat=True)
    return purged


def _purge_admin_log(purged: dict[type[models.Model], Any]) -> None:
    """Delete Django admin's change-log rows of a case being purged and of what it holds.

    Those rows name the objects and what changed; they are the admin's copy, not history.
    """
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    condition = models.Q()
    for model, pks in purged.items():
        content_type = ContentType.objects.get_for_model(model)
        condition |= models.Q(content_type=content_type, object_id__in=[str(pk) for pk in pks])
    LogEntry.objects.filter(condition).delete()


def _purged_markers(purged: dict[type[models.Model], Any], reference: str) -> list[bytes]:
    """Return what names a purged row in a kept API answer: its uuid, the case's reference."""
    markers = [reference.encode()]
    for model, pks in purged.items():
        if any(field.name == "uuid" for field in model._meta.concrete_fields):
            uuids = model.objects.filter(pk__in=list(pks)).values_list("uuid", flat=True)
            markers.extend(str(value).encode() for value in uuids)
    return markers


def _purge_idempotency_answers(markers: list[bytes]) -> None:
    """Delete the kept API answers (``IdempotencyKey``) that name a purged row.

    An answer to a write is kept, sealed, until its time to live runs out so that a retry
    can be replayed; one that shows the purged person (an identity document's number, say)
    would outlive the purge by that long. The table holds only unexpired answers, so each is
    opened and searched here rather than indexed. A request not yet answered is left alone.
    """
    from cases.api.idempotency import unseal

    doomed = []
    # A request still being answered holds no answer yet; the purge's own request is one,
    # and its answer (the tombstone) must be kept for its retry.
    answered = IdempotencyKey.objects.filter(status_code__isnull=False)
    for pk, path, body in answered.values_list("pk", "path", "body").iterator():
        answer = (unseal(bytes(body)) or b"") if body else b""
        text = path.encode() + b" " + answer
        if any(marker in text for marker in markers):
            doomed.append(pk)
    if doomed:
        IdempotencyKey.objects.filter(pk__in=doomed).delete()


@transaction.atomic
def case_purge(*, actor: Actor, case: Case, reason: str) -> TimelineEvent:
    """Delete a case and everything that belongs to it; return the ``case.purged`` tombstone.

    Gone are its intentions, requests and their positions, occurrences, movements and capture
    cards, notes, notifications and its own notification recipients, its tasks, its documents
    and their stored files (deleted from the storage once the purge commits), its timeline
    events, its person with their name variants, identity documents, external identifiers,
    nationality claims and events when no other case refers to them, the rows of Django
    admin's change log about any of these, and the kept answers of API writes
    (``IdempotencyKey``) that name any of them. The tombstone has no
    case and no person, names the case's uuid as its subject and carries only the reference,
    so systems that copied the case from the feed can drop their copy without learning
    anything sensitive. The access log is kept: it records who read
    what, and a purge does not undo a read.
    """
    user = actor.user
    if user is None or not (user.is_active and user.is_superuser):
        raise PurgeRefused(_("Only a superuser may purge a case."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the case is purged.")})
    case = lock_case(case)
    person = case.person
    reference = case.reference
    purge_person = not Case.objects.filter(person=person).exclude(pk=case.pk).exists()
    # The case's chain goes whole (and the person's, when he goes), so no other chain
    # loses a link; on PostgreSQL through the one function the application role may call.
    timeline_purge(connection, case_id=case.pk, person_id=person.pk if purge_person else None)
    purged = _purged_rows(case, person if purge_person else None)
    _purge_idempotency_answers(_purged_markers(purged, reference))
    _purge_admin_log(purged)
    Case.objects.filter(pk=case.pk).update(current_intention=None)
    from cases.documents import services as document_services

    documents = Document.objects.filter(case=case)
    stored = [name for name in documents.values_list("file", flat=True) if name]
    documents.delete()
    # The files go once the rows' deletion has committed: a purge rolled back keeps them.
    document_services.delete_files(stored)
    Position.objects.filter(request__case=case).delete()
    Request.objects.filter(case=case).delete()
    intentions = StatedIntention.objects.filter(case=case)
    intentions.update(supersedes=None)
    intentions.delete()
    Occurrence.objects.filter(case=case).delete()
    RiskAssessment.objects.filter(case=case).delete()
    Note.objects.filter(case=case).delete()
    CaptureCard.objects.filter(case=case).delete()
    Movement.objects.filter(case=case).delete()
    Notification.objects.filter(case=case).delete()
    NotificationSettings.objects.filter(case=case).delete()
    Task.objects.filter(case=case).delete()
    Case.objects.filter(pk=case.pk).delete()
    if purge_person:
        Person.objects.filter(pk=person.pk).delete()
    return ROWS.append(
        EventDraft(
            kind=EventKind.CASE_PURGED,
            summary=vocabulary.case_purged(reference),
            subject=case,
            actor=actor,
            changes={"reference": [reference, None]},
            reason=reason,
            represented=False,
        )
    )
