"""Every write to the notification log, each with its one timeline event.

When notifications are opened:

* a case opened (capture or registration) owes a ``capture`` notification, and a status
  change to one of :data:`STATUS_REASONS` owes that reason's; the case's own service opens
  them with :func:`prepare` / :meth:`Pending.store` and lists them in its own event
  (``case.opened`` or ``case.status_changed``, under ``changes["notifications"]``), so one
  service still appends one event;
* a transfer between places, or anything else owed without a status change, is opened by
  :func:`notifications_open`, which appends ``notification.opened``; a service that records
  the transfer itself (a movement) calls :func:`prepare` inside its own transaction instead
  and lists them in its own event, as the case services do.

Each notification goes to one recipient: the case's own list (:class:`NotificationSettings`)
when it has one, else :func:`default_recipients`. It is due ``TRACKER_NOTIFICATION_DUE_DAYS``
after what it reports happened, and is overdue while pending after that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from cases import choices
from cases.choices import DatePrecision
from cases.clocks import latest_day
from cases.models import Case, Party, Source
from cases.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationReason,
    NotificationSettings,
    NotificationState,
)
from cases.services.base import Actor, check_version, date_to_datetime, reference, writes
from cases.statements import CompiledRows
from cases.tasks import rules as task_rules
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

#: The case statuses GC III Art. 122-123 requires to be notified, and what each reports.
#: Opening a case (capture, or registration of someone captured) owes ``capture``; the
#: other statuses (registered, interned, on hold, release approved) owe nothing: internment
#: in a camp is a place, notified as a transfer when it is recorded as a movement.
STATUS_REASONS: dict[str, str] = {
    choices.CaseStatus.HOSPITALISED: NotificationReason.HOSPITAL_ADMISSION,
    choices.CaseStatus.RELEASED: NotificationReason.RELEASE,
    choices.CaseStatus.REPATRIATED: NotificationReason.REPATRIATION,
    choices.CaseStatus.TRANSFERRED_THIRD_STATE: NotificationReason.TRANSFER,
    choices.CaseStatus.ESCAPED: NotificationReason.ESCAPE,
    choices.CaseStatus.DIED: NotificationReason.DEATH,
}
#: What opening a case owes, whatever open status it is opened in.
OPENING_REASON = NotificationReason.CAPTURE


def due_days() -> int:
    """Return the days a notification may stay pending (``TRACKER_NOTIFICATION_DUE_DAYS``)."""
    return int(getattr(settings, "TRACKER_NOTIFICATION_DUE_DAYS", 7))


def _tracing_agency_names() -> tuple[str, ...]:
    return tuple(getattr(settings, "TRACKER_NOTIFICATION_TRACING_AGENCIES", ()))


def _parties_named(names: tuple[str, ...]) -> QuerySet[Party]:
    """Return the parties any of ``names`` names, by uuid, short name or name."""
    uuids, words = [], []
    for name in names:
        try:
            uuids.append(str(uuid.UUID(name)))
        except ValueError:
            words.append(name)
    return Party.objects.filter(Q(uuid__in=uuids) | Q(short_name__in=words) | Q(name__in=words))


def _first_named(names: tuple[str, ...], parties, describe) -> Any:
    """Return the first of ``parties`` in the order of ``names`` (``describe(party)``: its
    uuid, short name and name), or None."""
    for name in names:
        for party in parties:
            if name in describe(party):
                return party
    return None


def tracing_agency() -> Party | None:
    """Return the tracing agency notified by default: the first party that
    ``TRACKER_NOTIFICATION_TRACING_AGENCIES`` names (by uuid, short name or name), or None."""
    names = _tracing_agency_names()
    if not names:
        return None
    return _first_named(
        names,
        list(_parties_named(names)),
        lambda party: (str(party.uuid), party.short_name, party.name),
    )


#: The parties the setting names, as plain values, compiled once per setting (a case's
#: detail reads the tracing agency on every read of a case without a list of its own).
NAMED_PARTIES = CompiledRows(
    Party,
    None,
    None,
    lambda _value, names: _parties_named(names).values("id", "uuid", "name", "short_name"),
)


def tracing_agency_ref() -> PartyRef | None:
    """Return :func:`tracing_agency` as plain values, read by a kept statement."""
    names = _tracing_agency_names()
    if not names:
        return None
    row = _first_named(
        names,
        NAMED_PARTIES.rows(None, names, names),
        lambda row: (str(row["uuid"]), row["short_name"], row["name"]),
    )
    return None if row is None else PartyRef(row["id"], row["uuid"], row["name"])


def _defaults(power: Any, agency: Any) -> list[Any]:
    """Return the default recipients given the Power the person depends on and the tracing
    agency (either None): parties, or their :class:`PartyRef`."""
    recipients = [] if power is None else [power]
    if agency is not None and all(agency.pk != party.pk for party in recipients):
        recipients.append(agency)
    return recipients


def default_recipients(case: Case) -> list[Party]:
    """Return who is notified when the case names nobody itself: the Power the person depends
    on (GC III Art. 122) and the tracing agency (Art. 123), those that exist."""
    return _defaults(case.person.power_depends_on, tracing_agency())


def recipients_for(case: Case) -> list[Party]:
    """Return who must be notified of the case's events: its own list, else the defaults."""
    own = NotificationSettings.objects.filter(case_id=case.pk).first()
    if own is not None:
        return list(own.recipients.order_by("name"))
    return default_recipients(case)


@dataclass(frozen=True)
class PartyRef:
    """A party as a case's detail names it, read as plain values."""

    pk: int
    uuid: uuid.UUID
    name: str


def _own_recipients(case_id, _context):
    return (
        NotificationSettings.objects.filter(case_id=case_id)
        .order_by("recipients__name")
        .values("recipients__id", "recipients__uuid", "recipients__name")
    )


#: The case's own list, compiled once (a case's detail reads it on every read).
OWN_RECIPIENTS = CompiledRows(NotificationSettings, Case._meta.pk, -1_000_001, _own_recipients)


def recipient_refs(*, case_id: int, power: PartyRef | None) -> list[PartyRef]:
    """Return :func:`recipients_for`'s parties of the case ``case_id``, read as plain values.

    ``power`` is the Power the person depends on, read with the case. The case's own list
    and whether it has one are one query; the defaults add the tracing agency's.
    """
    own = OWN_RECIPIENTS.rows(case_id)
    if own:  # A list of its own, perhaps empty (one row without a party).
        return [
            PartyRef(row["recipients__id"], row["recipients__uuid"], row["recipients__name"])
            for row in own
            if row["recipients__id"] is not None
        ]
    return _defaults(power, tracing_agency_ref())


@dataclass
class Pending:
    """Notifications built for one event, stored once the event exists (:meth:`store`)."""

    rows: list[Notification] = field(default_factory=list)
    #: The task opened for each (``cases.tasks.rules``), stored already.
    tasks: task_rules.Applied = field(default_factory=task_rules.Applied)

    def changes(self) -> dict[str, list[Any]]:
        """Return the entries the causing event lists them (and their tasks) under (nothing
        when there are none)."""
        if not self.rows:
            return {}
        return {
            "notifications": [None, [reference(row) for row in self.rows]],
            **self.tasks.changes(),
        }

    def follow_ups(self, *, actor) -> list:
        """Return the events of the tasks opened for them, to follow the causing event."""
        return self.tasks.drafts(actor=actor)

    def store(self, sink, event) -> list[Notification]:
        """Insert the rows, each pointing at ``event``, the event that made them due."""
        for row in self.rows:
            row.event_uuid = event.uuid
            sink.insert(row)
        return self.rows


def prepare(
    *,
    sink,
    case: Case,
    reason: str,
    occurred_on: dt.date | None = None,
    occurred_precision: str = DatePrecision.DAY,
) -> Pending:
    """Build (unsaved) one pending notification of ``reason`` per recipient of ``case``.

    Call inside the service that records what happened, before it appends its event: list
    :meth:`Pending.changes` in the event, then :meth:`Pending.store` with the event. A day
    known only to the month (or year) counts from the last day it can have been, as the
    capture card's clock does (``cases.clocks.latest_day``): a move "in February" may have
    been on the 28th, and is not surely late before a week after that.
    """
    if reason not in NotificationReason.values:
        raise ValidationError(
            {"reason": _("Unknown notification reason %(reason)s.") % {"reason": repr(reason)}}
        )
    day = occurred_on or sink.today()
    due = latest_day(day, occurred_precision) + dt.timedelta(days=due_days())
    rows = [
        sink.new(
            Notification,
            case=case,
            recipient=party,
            reason=reason,
            occurred_on=day,
            due_on=due,
            state=NotificationState.PENDING,
        )
        for party in recipients_for(case)
    ]
    return Pending(rows, task_rules.for_notifications(sink, case, rows))


def for_status(*, sink, case: Case, status: str, occurred_on: dt.date | None) -> Pending:
    """Return the notifications a move of ``case`` to ``status`` owes (none for most)."""
    reason = STATUS_REASONS.get(status)
    if reason is None:
        return Pending()
    return prepare(sink=sink, case=case, reason=reason, occurred_on=occurred_on)


@writes
def notifications_open(
    *,
    actor: Actor,
    case: Case,
    reason: str,
    occurred_on: dt.date | None = None,
    note: str = "",
    source: Source | None = None,
    sink,
) -> list[Notification]:
    """Open one pending notification of ``reason`` per recipient; append ``notification.opened``.

    For what is owed without a status change (a transfer between places). The event's subject
    is the case; it lists the notifications under ``changes["notifications"]``.
    """
    case = sink.lock(case)
    pending = prepare(sink=sink, case=case, reason=reason, occurred_on=occurred_on)
    changes = {"reason": [None, reason], **pending.changes()}
    event = sink.append(
        EventDraft(
            kind=EventKind.NOTIFICATION_OPENED,
            summary=vocabulary.notifications_opened(
                case, NotificationReason(reason).label, [row.recipient for row in pending.rows]
            ),
            subject=case,
            actor=actor,
            case=case,
            changes=changes,
            reason=note,
            source=source,
            follow_ups=pending.follow_ups(actor=actor),
            occurred_at=date_to_datetime(occurred_on) if occurred_on else None,
            occurred_precision=choices.DatePrecision.DAY
            if occurred_on
            else choices.DatePrecision.EXACT,
        )
    )
    return pending.store(sink, event)


#: How a refusal names each action (``what`` itself is stored English, in the summary).
ACTION_WORDS = {
    "sent": pgettext_lazy("a notification cannot be", "sent"),
    "withheld": pgettext_lazy("a notification cannot be", "withheld"),
    "acknowledged": pgettext_lazy("a notification cannot be", "acknowledged"),
}


def _act(
    *,
    sink,
    actor: Actor,
    notification: Notification,
    expected_version: int | None,
    allowed_from: Iterable[str],
    kind: str,
    what: str,
    fields: dict[str, Any],
    reason: str,
    source: Source | None,
    occurred_on: dt.date | None,
) -> Notification:
    notification = sink.lock(notification)
    check_version(notification, expected_version)
    if notification.state not in allowed_from:
        raise ValidationError(
            {
                "state": _(
                    "A notification in state “%(state)s” cannot be %(action)s; allowed from: "
                    "%(allowed)s."
                )
                % {
                    "state": notification.get_state_display(),
                    "action": ACTION_WORDS.get(what, what),
                    "allowed": ", ".join(allowed_from),
                }
            }
        )
    changes: dict[str, list[Any]] = {}
    for name, new in fields.items():
        old = getattr(notification, name)
        setattr(notification, name, new)
        if old != new:
            changes[name] = [
                old.isoformat() if isinstance(old, dt.date) else old,
                new.isoformat() if isinstance(new, dt.date) else new,
            ]
    sink.validate(notification)
    notification.version += 1
    sink.save(notification)
    case = sink.lock(notification.case)
    # No longer pending: its task is done (cases/tasks/rules.py).
    tasks = task_rules.notification_acted(sink, case, notification, user=actor.user)
    changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=kind,
            summary=vocabulary.notification_acted(notification, what),
            subject=notification,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=tasks.drafts(actor=actor),
            occurred_at=date_to_datetime(occurred_on) if occurred_on else None,
            occurred_precision=choices.DatePrecision.DAY
            if occurred_on
            else choices.DatePrecision.EXACT,
        )
    )
    return notification


@writes
def notification_mark_sent(
    *,
    actor: Actor,
    notification: Notification,
    sent_on: dt.date,
    channel: str,
    sent_reference: str = "",
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Notification:
    """Record that a notification was transmitted (day, channel, reference); append
    ``notification.sent``."""
    if channel not in NotificationChannel.values:
        raise ValidationError(
            {"channel": _("Unknown channel %(channel)s.") % {"channel": repr(channel)}}
        )
    return _act(
        sink=sink,
        actor=actor,
        notification=notification,
        expected_version=expected_version,
        allowed_from=(NotificationState.PENDING, NotificationState.WITHHELD),
        kind=EventKind.NOTIFICATION_SENT,
        what="sent",
        fields={
            "state": NotificationState.SENT,
            "sent_on": sent_on,
            "channel": channel,
            "sent_reference": sent_reference or "",
        },
        reason=reason,
        source=source,
        occurred_on=sent_on,
    )


@writes
def notification_withhold(
    *,
    actor: Actor,
    notification: Notification,
    withheld_reason: str,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Notification:
    """Record that a notification is deliberately not transmitted, and why (required: onward
    transmission would endanger the family); append ``notification.withheld``."""
    if not (withheld_reason or "").strip():
        raise ValidationError(
            {"withheld_reason": _("Say why it is withheld (e.g. it would endanger the family).")}
        )
    return _act(
        sink=sink,
        actor=actor,
        notification=notification,
        expected_version=expected_version,
        allowed_from=(NotificationState.PENDING,),
        kind=EventKind.NOTIFICATION_WITHHELD,
        what="withheld",
        fields={"state": NotificationState.WITHHELD, "withheld_reason": withheld_reason.strip()},
        reason=reason,
        source=source,
        occurred_on=None,
    )


@writes
def notification_acknowledge(
    *,
    actor: Actor,
    notification: Notification,
    acknowledged_on: dt.date,
    acknowledgement_reference: str = "",
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Notification:
    """Record the recipient's acknowledgement of a sent notification; append
    ``notification.acknowledged``."""
    if notification.sent_on and acknowledged_on < notification.sent_on:
        raise ValidationError(
            {
                "acknowledged_on": _(
                    "An acknowledgement cannot come before the notification was sent."
                )
            }
        )
    return _act(
        sink=sink,
        actor=actor,
        notification=notification,
        expected_version=expected_version,
        allowed_from=(NotificationState.SENT,),
        kind=EventKind.NOTIFICATION_ACKNOWLEDGED,
        what="acknowledged",
        fields={
            "state": NotificationState.ACKNOWLEDGED,
            "acknowledged_on": acknowledged_on,
            "acknowledgement_reference": acknowledgement_reference or "",
        },
        reason=reason,
        source=source,
        occurred_on=acknowledged_on,
    )


@writes
def notification_recipients_set(
    *,
    actor: Actor,
    case: Case,
    recipients: Sequence[Party],
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> NotificationSettings:
    """Name who must be notified of the case's events, replacing the defaults; append
    ``notification.recipients_set``. Notifications already opened keep their recipient.

    ``expected_version`` is the settings row's version (none exists before the first call).
    """
    case = sink.lock(case)
    own = NotificationSettings.objects.select_for_update().filter(case_id=case.pk).first()
    if own is None:
        # The first list a case gets: there is no version to check yet.
        old = [reference(party) for party in default_recipients(case)]
        own = NotificationSettings(case=case, version=0)
        own.save()
    else:
        check_version(own, expected_version)
        old = [reference(party) for party in own.recipients.order_by("name")]
    wanted = sorted({party.pk: party for party in recipients}.values(), key=lambda p: p.name)
    new = [reference(party) for party in wanted]
    own.recipients.set(wanted)
    own.version += 1
    own.save()
    sink.append(
        EventDraft(
            kind=EventKind.NOTIFICATION_RECIPIENTS_SET,
            summary=vocabulary.notification_recipients_set(case, wanted),
            subject=own,
            actor=actor,
            case=case,
            changes={"recipients": [old, new]},
            reason=reason,
            source=source,
        )
    )
    return own
