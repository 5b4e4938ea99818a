"""Every write to webhook subscriptions: create, edit, pause, resume, rotate, replay, redeliver.

Subscriptions are configuration, not case data: they append no timeline event (an event
would itself be pushed to every subscription). Each subscription keeps who created it and
when, why and when it was paused; edits and replays are recorded as
:class:`~cases.webhooks.models.WebhookSubscriptionChange` rows; each delivery attempt is in
the attempt log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import EventKind
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.security.policy import filter_names, policy_for
from cases.webhooks import crypto, delivery, safety
from cases.webhooks.models import (
    WebhookChangeAction,
    WebhookRedelivery,
    WebhookSubscription,
    WebhookSubscriptionChange,
)

#: What an editor may change, and what a change of each means for the deliveries.
EDITABLE = ("name", "target_url", "event_kinds", "subject_types", "case_filter", "account")


def _check_target(url: str) -> None:
    try:
        safety.resolve(url)
    except safety.TargetRefused as exc:
        raise ValidationError({"target_url": [str(exc)]}) from None


def _check_filters(
    *, event_kinds: Sequence[str], subject_types: Sequence[str], case_filter: str, account
) -> None:
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(event_kinds) - set(EventKind.values))
    if unknown:
        errors["event_kinds"] = [
            _("Unknown event kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)}
        ]
    if any(not isinstance(t, str) or not t or len(t) > 32 for t in subject_types):
        errors["subject_types"] = [
            _("Give subject types as names such as case or statedintention.")
        ]
    if case_filter:
        filterset = delivery.case_filterset(case_filter, user=account)
        extra = sorted(set(filterset.data) - filter_names("case"))
        if extra:
            errors["case_filter"] = [
                _("Not filters of the case list: %(extra)s. Use any of: %(filters)s.")
                % {"extra": ", ".join(extra), "filters": ", ".join(sorted(filter_names("case")))}
            ]
        elif not filterset.is_valid():
            errors["case_filter"] = [
                _("%(record)s: %(problem)s")
                % {"record": name, "problem": " ".join(str(m) for m in messages)}
                for name, messages in filterset.errors.items()
            ]
    if errors:
        raise ValidationError(errors)


def _check_account(*, account, created_by) -> None:
    """Refuse an account that could read what its creator cannot (a subscription reads as it)."""
    if account is None or not account.is_active:
        raise ValidationError({"account": [_("Name an active account.")]})
    if not policy_for(account).may(delivery.FEED_PERMISSION):
        raise ValidationError({"account": [_("The account may not read the change feed.")]})
    if created_by is None or created_by.is_superuser or account.pk == created_by.pk:
        return
    if account.is_superuser or not account.get_all_permissions() <= (
        created_by.get_all_permissions()
    ):
        raise ValidationError(
            {"account": [_("The account holds permissions you do not: it would read for you.")]}
        )


def webhook_subscription_create(
    *,
    created_by,
    name: str,
    target_url: str,
    account=None,
    event_kinds: Sequence[str] = (),
    subject_types: Sequence[str] = (),
    case_filter: str = "",
    start: str = "now",
) -> tuple[WebhookSubscription, str]:
    """Create a subscription; return it and its secret, which is shown this once only.

    ``account`` defaults to the creator; naming another needs every permission it holds.
    ``start`` is ``"now"`` (only events from the feed's head on) or ``"beginning"``.
    """
    account = account or created_by
    _check_account(account=account, created_by=created_by)
    _check_target(target_url)
    _check_filters(
        event_kinds=event_kinds,
        subject_types=subject_types,
        case_filter=case_filter,
        account=account,
    )
    if start not in ("now", "beginning"):
        raise ValidationError({"start": [_("Give 'now' or 'beginning'.")]})
    head = feed.read_state().head if start == "now" else feed.START
    secret = crypto.new_secret()
    subscription = WebhookSubscription(
        name=name,
        target_url=target_url,
        secret_sealed=crypto.seal(secret),
        event_kinds=list(event_kinds),
        subject_types=list(subject_types),
        case_filter=case_filter,
        account=account,
        created_by=created_by,
        position_xact_id=head.xact_id,
        position_event_id=head.event_id,
    )
    subscription.full_clean()
    subscription.save()
    return subscription, secret


def _cursor(position: feed.Position, state: feed.FeedState) -> str:
    return feed.encode_cursor(state, position)


def _edit(
    subscription: WebhookSubscription, changed_by, expected_version, changes: dict
) -> tuple[dict, dict]:
    """Check an edit of ``subscription``; return its settings before and those it changes."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed.")] for name in unknown})
    if expected_version is not None and int(expected_version) != subscription.version:
        from cases.services import StaleObjectError

        raise StaleObjectError(subscription, int(expected_version))
    before = {name: getattr(subscription, name) for name in EDITABLE}
    after = {**before, **changes}
    after["event_kinds"] = list(after["event_kinds"])
    after["subject_types"] = list(after["subject_types"])
    _check_account(account=after["account"], created_by=changed_by)
    if after["target_url"] != before["target_url"]:
        _check_target(after["target_url"])
    _check_filters(
        event_kinds=after["event_kinds"],
        subject_types=after["subject_types"],
        case_filter=after["case_filter"],
        account=after["account"],
    )
    return before, {name: value for name, value in after.items() if value != before[name]}


def webhook_subscription_check_update(
    *,
    subscription: WebhookSubscription,
    changed_by,
    expected_version: int | None = None,
    **changes,
) -> None:
    """Raise the ValidationError :func:`webhook_subscription_update` would raise (a stale
    version included), writing nothing: a form checks an edit before its save."""
    from cases.services import StaleObjectError

    current = WebhookSubscription.objects.select_related("account").get(pk=subscription.pk)
    try:
        _edit(current, changed_by, expected_version, changes)
    except StaleObjectError as exc:
        raise ValidationError(str(exc)) from None


def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    changed_by,
    expected_version: int | None = None,
    **changes,
) -> WebhookSubscription:
    """Change a subscription's name, target URL, event filters or account; keep its position.

    ``changes`` holds any of :data:`EDITABLE`. They are checked as a new subscription's are:
    the target (https, public addresses unless allow-listed), the filters (the case filter
    as the case list's filters, read as the account), and the account, against the editor:
    whoever edits a subscription must hold every permission of the account it reads as,
    even when the account itself does not change, or a new URL would send that account's
    view of the feed to them. A new URL starts the retries afresh; the position stays, so
    nothing is skipped or sent twice. A worker in the middle of a batch finishes that batch
    with the settings it read at its start.
    """
    with transaction.atomic():
        locked = (
            WebhookSubscription.objects.select_for_update()
            .select_related("account")
            .get(pk=subscription.pk)
        )
        before, changed = _edit(locked, changed_by, expected_version, changes)
        if not changed:
            return locked
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.full_clean()
        update = {name: getattr(locked, name) for name in changed}
        if "target_url" in changed:
            update.update(failures=0, failing_since=None, next_attempt_at=None)
        update["version"] = locked.version + 1
        WebhookSubscription.objects.filter(pk=locked.pk).update(**update)

        def shown(name, value):
            return value.get_username() if name == "account" else value

        WebhookSubscriptionChange.objects.create(
            subscription=locked,
            changed_by=changed_by,
            action=WebhookChangeAction.EDITED,
            changes={
                name: [shown(name, before[name]), shown(name, value)]
                for name, value in changed.items()
            },
            summary=f"Edited: {', '.join(sorted(changed))}."[:300],
        )
    subscription.refresh_from_db()
    return subscription


def webhook_subscription_pause(
    *, subscription: WebhookSubscription, reason: str
) -> WebhookSubscription:
    """Pause deliveries, keeping the position; ``reason`` is shown with the subscription."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=False, paused_reason=reason or "Paused.", paused_at=timezone.now()
    )
    subscription.refresh_from_db()
    return subscription


def webhook_subscription_resume(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Resume deliveries from where they stopped: the next event after the position."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=True,
        paused_reason="",
        paused_at=None,
        failures=0,
        failing_since=None,
        next_attempt_at=None,
    )
    subscription.refresh_from_db()
    return subscription


def webhook_subscription_rotate(
    *, subscription: WebhookSubscription, grace_seconds: float | None = None
) -> tuple[WebhookSubscription, str]:
    """Give the subscription a new secret; the old one keeps signing for the grace period.

    Return the subscription and the new secret (shown this once). Until the grace period
    ends each delivery carries two signatures, so the receiver can switch at any moment.
    """
    grace = settings.WEBHOOK_ROTATION_GRACE_SECONDS if grace_seconds is None else grace_seconds
    secret = crypto.new_secret()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        try:
            crypto.unseal(locked.secret_sealed)
            previous, until = locked.secret_sealed, timezone.now() + timedelta(seconds=grace)
        except crypto.SecretUnreadable:
            previous, until = "", None  # an unreadable secret cannot sign in a grace period
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            secret_sealed=crypto.seal(secret),
            previous_secret_sealed=previous,
            previous_secret_expires_at=until,
        )
    subscription.refresh_from_db()
    return subscription, secret


def _position_of_time(when: dt.datetime) -> feed.Position:
    """Return the feed position just before the first event (feed order) recorded at ``when``."""
    state = feed.read_state()
    queryset = feed.visible_after(
        TimelineEvent.objects.filter(recorded_at__gte=when), state, feed.START
    )
    first = queryset.values("id", "xact_id").first()
    if first is None:
        return state.head
    position = feed.position_of(first, state)
    return feed.Position(position.xact_id, position.event_id - 1)


def webhook_subscription_replay(
    *,
    subscription: WebhookSubscription,
    after: str | None = None,
    since: dt.datetime | None = None,
    requested_by=None,
) -> WebhookSubscription:
    """Move the subscription back (or forward) to a feed cursor or a time, and resume it.

    ``after`` is a feed cursor (``next_cursor`` of ``/api/v1/events/``, or empty for the
    start); ``since`` a time: every event recorded then or later is sent again, with some
    recorded a little earlier (feed order is not time order). Receivers dedupe by uuid.
    The move is recorded (who, when, from which position to which) among the
    subscription's changes.
    """
    if (after is None) == (since is None):
        raise ValidationError({"after": [_("Give either 'after' (a feed cursor) or 'since'.")]})
    if since is not None:
        position = _position_of_time(since)
    elif after == "":
        position = feed.START
    else:
        try:
            position = feed.decode_cursor(after, feed.read_state())
        except (feed.CursorError, feed.CursorGone) as exc:
            raise ValidationError({"after": [str(exc)]}) from None
    state = feed.read_state()
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        previous = feed.Position(locked.position_xact_id, locked.position_event_id)
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            position_xact_id=position.xact_id,
            position_event_id=position.event_id,
            # A worker in the middle of a batch loses its lease, so its next record cannot
            # move the position past the replay; another takes the subscription afresh.
            lease_owner="",
            lease_expires_at=None,
            active=True,
            paused_reason="",
            paused_at=None,
            failures=0,
            failing_since=None,
            next_attempt_at=None,
        )
        asked = {"since": since.isoformat()} if since is not None else {"after": after}
        WebhookSubscriptionChange.objects.create(
            subscription=locked,
            changed_by=requested_by,
            action=WebhookChangeAction.REPLAYED,
            changes={
                "position": [_cursor(previous, state), _cursor(position, state)],
                **{name: [None, value] for name, value in asked.items()},
            },
            summary=(
                f"Replayed from {since.isoformat()}."
                if since is not None
                else f"Replayed after the cursor {after!r}."
                if after
                else "Replayed from the start of the feed."
            )[:300],
        )
    subscription.refresh_from_db()
    return subscription


def webhook_redeliver(
    *, subscription: WebhookSubscription, event_uuid, requested_by
) -> WebhookRedelivery:
    """Queue one event the subscription already passed to be sent to it again."""
    subscription.refresh_from_db()  # the worker moves the position
    account = subscription.account
    event = delivery.subscription_events(subscription, account).filter(uuid=event_uuid).first()
    if event is None:
        raise ValidationError({"event": [_("This subscription sends no event with this uuid.")]})
    position = feed.Position(subscription.position_xact_id, subscription.position_event_id)
    if feed.position_of(event, feed.read_state()) > position:
        raise ValidationError(
            {"event": [_("The subscription has not reached this event yet; it will be sent.")]}
        )
    return WebhookRedelivery.objects.create(
        subscription=subscription,
        event_id=event.pk,
        event_uuid=event.uuid,
        requested_by=requested_by,
    )
