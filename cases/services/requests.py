"""Requests and the consent gate on their execution."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices, consent
from cases.models import Case, Party, Request, Source
from cases.services.base import (
    Actor,
    check_version,
    created_changes,
    date_to_datetime,
    occurred,
    plain,
    refuse_unknown,
    versioned_change,
    writes,
)
from cases.tasks import rules as task_rules
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind
from cases.transitions import REQUEST_TRANSITIONS, allowed_request_statuses

REQUEST_FIELDS = (
    "requested_by",
    "addressed_to",
    "destination_country",
    "legal_basis",
    "filed_on",
    "intention",
)

_REQUEST_STATUSES = frozenset(choices.RequestStatus.values)


def _check_dates(request: Request, today: dt.date) -> None:
    """Refuse a filing or decision date in the future, or a decision before the filing."""
    errors = {}
    for name in ("filed_on", "decided_on"):
        value = getattr(request, name)
        if value is not None and value > today:
            errors[name] = _("%(date)s is in the future; give the day it happened.") % {
                "date": value.isoformat()
            }
    if request.filed_on and request.decided_on and request.decided_on < request.filed_on:
        errors["decided_on"] = _(
            "The decision (%(decided)s) cannot come before the filing (%(filed)s)."
        ) % {"decided": request.decided_on.isoformat(), "filed": request.filed_on.isoformat()}
    if errors:
        raise ValidationError(errors)


def _check_intention_case(request: Request, case: Case) -> None:
    if request.intention is not None and request.intention.case_id != case.pk:
        raise ValidationError({"intention": _("The intention belongs to another case.")})


@writes
def request_file(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    addressed_to: Party,
    draft: bool = False,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Request:
    """Create a request (filed, or a draft) and append ``request.filed`` or ``request.drafted``."""
    case = sink.lock(case)
    refuse_unknown(fields, REQUEST_FIELDS, "request")
    status = choices.RequestStatus.DRAFT if draft else choices.RequestStatus.FILED
    request = sink.new(
        Request,
        case=case,
        kind=kind,
        addressed_to=addressed_to,
        status=status,
        source=source,
        **fields,
    )
    if not draft and request.filed_on is None:
        request.filed_on = sink.today()
    _check_dates(request, sink.today())
    _check_intention_case(request, case)
    sink.validate(request, exclude=["case"])
    consent.check_return_destination(case, request.kind, request.destination_country.code or "")
    sink.insert(request)
    changes = created_changes(request, ("kind", "status", "addressed_to", *fields))
    tasks = task_rules.Applied()
    if not draft:
        # The clock of an answer starts (cases/tasks/rules.py).
        tasks = task_rules.request_filed(sink, case, request)
        changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=EventKind.REQUEST_DRAFTED if draft else EventKind.REQUEST_FILED,
            summary=vocabulary.request_filed(request, addressed_to, draft=draft),
            subject=request,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=None if draft else date_to_datetime(request.filed_on),
            occurred_precision=choices.DatePrecision.EXACT if draft else choices.DatePrecision.DAY,
            follow_ups=tasks.drafts(actor=actor),
        )
    )
    return request


@writes
def request_update(
    *,
    actor: Actor,
    request: Request,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Request:
    """Change a request's details (not its status) and append ``request.updated``."""
    case = sink.lock(request.case)
    request = sink.lock(request)
    changes = versioned_change(
        request, expected_version=expected_version, fields=fields, allowed=REQUEST_FIELDS
    )
    if not changes:
        return request
    if "destination_country" in changes and request.status == choices.RequestStatus.EXECUTED:
        # Where he was taken is history: the handover (or, for a move at home, the
        # execution) recorded it, and a new destination would claim a move no gate passed.
        raise ValidationError(
            {
                "destination_country": _(
                    "An executed request keeps the destination it was executed to."
                )
            }
        )
    _check_dates(request, sink.today())
    _check_intention_case(request, case)
    sink.validate(request, exclude=["case"])
    consent.check_return_destination(case, request.kind, request.destination_country.code or "")
    request.version += 1
    sink.save(request)
    sink.append(
        EventDraft(
            kind=EventKind.REQUEST_UPDATED,
            summary=vocabulary.request_updated(request, changes),
            subject=request,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return request


#: What a case officer is told when he tries to execute a move across a border directly.
HANDOVER_ONLY = (
    "A {kind} that moves him across a border is executed only through a handover, which "
    "takes the reconfirmation there and moves the case with it: record the handover "
    "(admin: Add handover on the case page; API: POST /api/v1/handovers/)."
)


@writes
def request_transition(
    *,
    actor: Actor,
    request: Request,
    status: str,
    expected_version: int | None = None,
    decided_on: dt.date | None = None,
    decision_reason: str = "",
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
    sink,
) -> Request:
    """Move a request to ``status`` if allowed; append ``request.status_changed``.

    Executing a request that moves the person across a border is refused here: only a
    handover (``cases.exchanges.services.handover_record``) does it, through
    :func:`request_status_apply`. ``occurred_on`` is when it happened in the world; without
    it the event is dated now.
    """
    if status == choices.RequestStatus.EXECUTED and consent.move_for_request(request) is not None:
        raise ValidationError(
            {"status": HANDOVER_ONLY.format(kind=request.get_kind_display().lower())}
        )
    return request_status_apply(
        sink=sink,
        actor=actor,
        request=request,
        status=status,
        expected_version=expected_version,
        decided_on=decided_on,
        decision_reason=decision_reason,
        reason=reason,
        source=source,
        occurred_on=occurred_on,
        occurred_precision=occurred_precision,
    )


def request_status_apply(
    *,
    sink,
    actor: Actor,
    request: Request,
    status: str,
    expected_version: int | None = None,
    decided_on: dt.date | None = None,
    decision_reason: str = "",
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
) -> Request:
    """Move a request to ``status`` in the caller's transaction, if the machine allows it.

    Execution passes the consent gate for the move it makes (``occurred_on``, else today).
    Only :func:`request_transition` and the handover call this.
    A decision (accepted, refused) is dated ``decided_on``, else ``occurred_on``, else
    today; never in the future nor before the filing.
    """
    case = sink.lock(request.case)
    request = sink.lock(request)
    check_version(request, expected_version)
    if status not in _REQUEST_STATUSES:
        raise ValidationError(
            {"status": _("Unknown status %(status)s.") % {"status": repr(status)}}
        )
    if status not in REQUEST_TRANSITIONS[request.status]:
        allowed = allowed_request_statuses(request.status)
        allowed_text = ", ".join(allowed) if allowed else _("none (the request is closed)")
        raise ValidationError(
            {
                "status": _(
                    "A request cannot go from %(old)s to %(new)s. "
                    "Allowed from %(old)s: %(allowed)s."
                )
                % {"old": request.status, "new": status, "allowed": allowed_text}
            }
        )
    passed = None
    if status == choices.RequestStatus.EXECUTED:
        passed = sink.require_consent(case, consent.move_for_request(request), on=occurred_on)
    old_status = request.status
    changes: dict[str, list[Any]] = {"status": [old_status, status]}
    if passed is not None:
        changes.update(passed.changes())
    request.status = status
    if old_status == choices.RequestStatus.DRAFT and status == choices.RequestStatus.FILED:
        if request.filed_on is None:
            request.filed_on = occurred_on or sink.today()
            changes["filed_on"] = [None, request.filed_on.isoformat()]
    if status in {choices.RequestStatus.ACCEPTED, choices.RequestStatus.REFUSED}:
        new_decided = decided_on or occurred_on or sink.today()
        changes["decided_on"] = [plain(request.decided_on), new_decided.isoformat()]
        request.decided_on = new_decided
    _check_dates(request, sink.today())
    if decision_reason and decision_reason != request.decision_reason:
        changes["decision_reason"] = [request.decision_reason, decision_reason]
        request.decision_reason = decision_reason
    request.version += 1
    sink.save(request)
    tasks = task_rules.request_moved(sink, case, request, old_status, user=actor.user)
    changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=EventKind.REQUEST_STATUS_CHANGED,
            summary=vocabulary.request_status_changed(request, old_status, status),
            subject=request,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=tasks.drafts(actor=actor),
            **occurred(occurred_on, occurred_precision),
        )
    )
    return request
