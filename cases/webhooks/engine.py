"""The webhook worker: leases subscriptions, follows the feed for each, posts, retries.

Exactly-once order comes from the feed: a subscription's position is a feed position
(:mod:`cases.feed`) and moves past an event only after the receiver accepted it, in the
same short transaction that logs the attempt. Delivery is at least once: a worker that dies
between the post and that transaction leaves the position before the event, and the next
worker sends it again (the receiver dedupes by ``webhook-id``, the event's uuid).

Workers share subscriptions by leases held in the subscription's row, not by row locks: a
lock held during a post would keep a transaction open, and an open transaction holds the
feed's watermark back for everyone. A lease is taken in one short transaction (``SELECT ...
FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE`` on SQLite), renewed before
every post, and given back after each batch, so that workers take turns. Every write of a
leased subscription is conditional on the lease: a worker that lost it stops.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from cases.feed import cursor as feed
from cases.security.policy import policy_for
from cases.webhooks import crypto, delivery
from cases.webhooks.models import (
    AttemptOutcome,
    WebhookAttempt,
    WebhookRedelivery,
    WebhookSubscription,
)

logger = logging.getLogger("cases.webhooks")

NOTIFY_CHANNEL = "tracker_events"


def backoff_seconds(failures: int, *, rng: random.Random | None = None) -> float:
    """Return the wait before retry number ``failures`` (1 for the first retry).

    ``WEBHOOK_RETRY_BASE_SECONDS * 2**(failures-1)``, at most ``WEBHOOK_RETRY_MAX_SECONDS``,
    less a random share of up to ``WEBHOOK_RETRY_JITTER`` so that receivers coming back are
    not hit by every subscription at once.
    """
    base = settings.WEBHOOK_RETRY_BASE_SECONDS * (2 ** max(0, failures - 1))
    delay = min(base, settings.WEBHOOK_RETRY_MAX_SECONDS)
    jitter = settings.WEBHOOK_RETRY_JITTER
    return delay * (1 - jitter * (rng or random).random())


def active_secrets(subscription: WebhookSubscription, now=None) -> list[str]:
    """Return the secrets that sign now: the current one, and the previous one in its grace."""
    now = now or timezone.now()
    secrets_ = [crypto.unseal(subscription.secret_sealed)]
    if (
        subscription.previous_secret_sealed
        and subscription.previous_secret_expires_at
        and subscription.previous_secret_expires_at > now
    ):
        secrets_.append(crypto.unseal(subscription.previous_secret_sealed))
    return secrets_


class Worker:
    """One delivery worker; run several, in one machine or many, on the same database."""

    def __init__(self, name: str | None = None, *, stop: threading.Event | None = None):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = stop or threading.Event()
        self._listener = None

    # Leases -----------------------------------------------------------------------------

    def _lease_until(self):
        return timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)

    def acquire(self, exclude: set[int]) -> int | None:
        """Lease one active subscription that no live lease holds; return its id or None.

        The one whose lease ended longest ago comes first, so workers take turns.
        """
        now = timezone.now()
        free = Q(active=True) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        candidates = WebhookSubscription.objects.filter(free).exclude(pk__in=exclude)
        order = ("lease_expires_at", "id")
        if connection.vendor == "postgresql":
            with transaction.atomic():
                pk = (
                    candidates.select_for_update(skip_locked=True)
                    .order_by(*order)
                    .values_list("pk", flat=True)
                    .first()
                )
                if pk is None:
                    return None
                WebhookSubscription.objects.filter(pk=pk).update(
                    lease_owner=self.name, lease_expires_at=self._lease_until()
                )
                return pk
        for pk in candidates.order_by(*order).values_list("pk", flat=True)[:20]:
            taken = (
                WebhookSubscription.objects.filter(free, pk=pk).update(
                    lease_owner=self.name, lease_expires_at=self._lease_until()
                )
                == 1
            )
            if taken:
                return pk
        return None

    def _mine(self, pk: int):
        return WebhookSubscription.objects.filter(pk=pk, lease_owner=self.name)

    def renew(self, pk: int) -> bool:
        """Extend the lease on ``pk``; return False when this worker no longer holds it."""
        return self._mine(pk).update(lease_expires_at=self._lease_until()) == 1

    def release(self, pk: int) -> None:
        """Give the lease back, marked as ended now (the turn order of :meth:`acquire`)."""
        self._mine(pk).update(lease_owner="", lease_expires_at=timezone.now())

    # One subscription ---------------------------------------------------------------------

    def _pause(self, pk: int, reason: str) -> None:
        logger.warning("webhook subscription %s paused: %s", pk, reason)
        self._mine(pk).update(active=False, paused_reason=reason, paused_at=timezone.now())

    def _account(self, subscription: WebhookSubscription):
        # Read afresh for every attempt: permissions are cached on the user object, and an
        # account removed from its role must stop receiving at once.
        return get_user_model().objects.filter(pk=subscription.account_id).first()

    def _may_read(self, pk: int, subscription: WebhookSubscription):
        account = self._account(subscription)
        if account is None or not policy_for(account).may(delivery.FEED_PERMISSION):
            name = account.get_username() if account is not None else "(deleted)"
            self._pause(
                pk,
                f"The subscription's account {name} may no longer read the change feed "
                f"({delivery.FEED_PERMISSION}); resume it once the account holds a role again.",
            )
            return None
        return account

    def _post(self, subscription, account, row) -> tuple[str, str, delivery.Result]:
        reader = delivery.reader_for(subscription, account)
        body = delivery.event_body(reader, row)
        event_uuid, kind = delivery.event_identity(body)
        headers = delivery.signed_headers(
            active_secrets(subscription), msg_id=event_uuid, body=body
        )
        return event_uuid, kind, delivery.post(subscription.target_url, headers=headers, body=body)

    def _log(self, subscription, event_uuid, kind, result, *, attempt, redelivery=False):
        WebhookAttempt.objects.create(
            subscription_id=subscription.pk,
            event_uuid=event_uuid,
            event_kind=kind,
            attempt=attempt,
            redelivery=redelivery,
            outcome=(
                AttemptOutcome.DELIVERED
                if result.delivered
                else AttemptOutcome.REFUSED
                if result.refused
                else AttemptOutcome.FAILED
            ),
            status_code=result.status,
            latency_ms=result.latency_ms,
            error=result.error[:300],
            worker=self.name[:100],
        )

    def work_on(self, pk: int) -> int:
        """Deliver what is due for subscription ``pk`` (leased by this worker); return the count.

        Redeliveries come first, then the feed after the subscription's position, in feed
        order, one batch; the first failure schedules a retry and ends the turn.
        """
        subscription = self._mine(pk).first()
        if subscription is None or not subscription.active:
            return 0
        try:
            active_secrets(subscription)
        except crypto.SecretUnreadable as exc:
            self._pause(pk, str(exc))
            return 0
        sent = self._redeliver(subscription)
        now = timezone.now()
        if subscription.next_attempt_at and subscription.next_attempt_at > now:
            return sent
        account = self._may_read(pk, subscription)
        if account is None:
            return sent
        state = feed.read_state()
        after = feed.Position(subscription.position_xact_id, subscription.position_event_id)
        page = feed.feed_page(
            delivery.subscription_events(subscription, account),
            state=state,
            after=after,
            limit=settings.WEBHOOK_BATCH,
            rows=delivery.document_rows,
        )
        for row in page.events:
            if self.stop.is_set() or not self.renew(pk):
                return sent
            account = self._may_read(pk, subscription)
            if account is None:
                return sent
            event_uuid, kind, result = self._post(subscription, account, row)
            position = feed.position_of(row, state)
            if not self._record(subscription, event_uuid, kind, result, position):
                return sent
            if not result.delivered:
                return sent
            sent += 1
        if not page.has_more and page.next_position > after:
            # Past events filtered out at the end of the page: the cursor moves to the head.
            self._mine(pk).filter(failures=0).update(
                position_xact_id=page.next_position.xact_id,
                position_event_id=page.next_position.event_id,
            )
        return sent

    def _record(self, subscription, event_uuid, kind, result, position) -> bool:
        """Log the attempt and move the position or schedule the retry; False if lease lost."""
        pk = subscription.pk
        now = timezone.now()
        with transaction.atomic():
            if result.delivered:
                changed = self._mine(pk).update(
                    position_xact_id=position.xact_id,
                    position_event_id=position.event_id,
                    failures=0,
                    failing_since=None,
                    next_attempt_at=None,
                )
                attempt = subscription.failures + 1
                subscription.failures, subscription.failing_since = 0, None
            else:
                failures = subscription.failures + 1
                since = subscription.failing_since or now
                attempt = failures
                update = {"failures": failures, "failing_since": since}
                give_up = (now - since).total_seconds() >= settings.WEBHOOK_RETRY_FOR_SECONDS
                if give_up:
                    update.update(
                        active=False,
                        paused_at=now,
                        paused_reason=(
                            f"Deliveries failed for {settings.WEBHOOK_RETRY_FOR_SECONDS:g} s "
                            f"since {since.isoformat()} ({failures} attempts); last error: "
                            f"{result.error}"
                        )[:1000],
                        next_attempt_at=None,
                    )
                else:
                    update["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(failures))
                changed = self._mine(pk).update(**update)
                subscription.failures, subscription.failing_since = failures, since
            if changed != 1:
                return False
            self._log(subscription, event_uuid, kind, result, attempt=attempt)
        return True

    def _redeliver(self, subscription) -> int:
        """Send the subscription's due redeliveries once each; a failure is retried later."""
        now = timezone.now()
        due = WebhookRedelivery.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            subscription_id=subscription.pk,
            done_at__isnull=True,
        ).order_by("id")[: settings.WEBHOOK_BATCH]
        sent = 0
        for redelivery in due:
            if self.stop.is_set() or not self.renew(subscription.pk):
                break
            account = self._may_read(subscription.pk, subscription)
            if account is None:
                break
            rows = list(
                delivery.document_rows(
                    delivery.subscription_events(subscription, account).filter(
                        pk=redelivery.event_id
                    )
                )
            )
            if not rows:
                # Purged, or no longer one the subscription sends: nothing to send.
                redelivery.done_at, redelivery.outcome = now, AttemptOutcome.REFUSED
                redelivery.save(update_fields=["done_at", "outcome"])
                continue
            event_uuid, kind, result = self._post(subscription, account, rows[0])
            with transaction.atomic():
                redelivery.failures += 0 if result.delivered else 1
                if result.delivered:
                    redelivery.done_at, redelivery.outcome = timezone.now(), result_outcome(result)
                    sent += 1
                elif (timezone.now() - redelivery.requested_at).total_seconds() >= (
                    settings.WEBHOOK_RETRY_FOR_SECONDS
                ):
                    redelivery.done_at, redelivery.outcome = timezone.now(), result_outcome(result)
                else:
                    redelivery.next_attempt_at = timezone.now() + timedelta(
                        seconds=backoff_seconds(redelivery.failures)
                    )
                redelivery.save()
                self._log(
                    subscription,
                    event_uuid,
                    kind,
                    result,
                    attempt=redelivery.failures + (1 if result.delivered else 0),
                    redelivery=True,
                )
        return sent

    # The loop -----------------------------------------------------------------------------

    def run_pass(self) -> int:
        """Give every subscription one turn (those other workers hold aside); return deliveries."""
        seen: set[int] = set()
        sent = 0
        while not self.stop.is_set():
            pk = self.acquire(seen)
            if pk is None:
                break
            seen.add(pk)
            try:
                sent += self.work_on(pk)
            finally:
                self.release(pk)
        return sent

    def next_wake(self) -> float:
        """Return how long to wait for news: the poll interval, or less when a retry is due."""
        wait = settings.WEBHOOK_POLL_SECONDS
        soonest = (
            WebhookSubscription.objects.filter(active=True, next_attempt_at__isnull=False)
            .aggregate(at=Min("next_attempt_at"))
            .get("at")
        )
        redelivery = (
            WebhookRedelivery.objects.filter(done_at__isnull=True, next_attempt_at__isnull=False)
            .aggregate(at=Min("next_attempt_at"))
            .get("at")
        )
        for at in (soonest, redelivery):
            if at is not None:
                wait = min(wait, max(0.0, (at - timezone.now()).total_seconds()))
        return wait

    def _listen(self):
        """Return a connection listening for events on PostgreSQL, or None elsewhere."""
        if connection.vendor != "postgresql":
            return None
        if self._listener is None or self._listener.closed:
            import psycopg

            params = connection.get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("prepare_threshold", None)
            listener = psycopg.connect(**params, autocommit=True)
            listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self._listener = listener
        return self._listener

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, woken early by a committed event (PostgreSQL) or a stop."""
        if seconds <= 0 or self.stop.is_set():
            return
        listener = None
        try:
            listener = self._listen()
        except Exception:  # noqa: BLE001 - polling is the fallback
            logger.warning("webhook worker cannot LISTEN; polling instead", exc_info=True)
        if listener is None:
            self.stop.wait(seconds)
            return
        # Short slices so that a stop is seen quickly.
        deadline = timezone.now() + timedelta(seconds=seconds)
        while not self.stop.is_set():
            left = (deadline - timezone.now()).total_seconds()
            if left <= 0:
                return
            woken = any(True for _note in listener.notifies(timeout=min(left, 0.5), stop_after=1))
            if woken:
                # Drain what else arrived (one pass reads everything new), outside the first
                # generator, which holds the connection's lock. A timeout of 0 means none.
                for _more in listener.notifies(timeout=0.001):
                    pass
                return

    def run(self, *, max_seconds: float | None = None) -> None:
        """Deliver until stopped (or ``max_seconds`` pass): a pass, then a wait for news."""
        started = timezone.now()
        logger.info("webhook worker %s started", self.name)
        try:
            while not self.stop.is_set():
                try:
                    sent = self.run_pass()
                except (OperationalError, InterfaceError):
                    # The database went away: drop the connection, wait, try again.
                    logger.warning("webhook worker %s lost the database", self.name, exc_info=True)
                    connection.close()
                    self.stop.wait(settings.WEBHOOK_POLL_SECONDS)
                    continue
                if max_seconds is not None and (
                    (timezone.now() - started).total_seconds() >= max_seconds
                ):
                    break
                if sent == 0:
                    self.wait(self.next_wake())
        finally:
            if self._listener is not None:
                self._listener.close()
            logger.info("webhook worker %s stopped", self.name)


def result_outcome(result: delivery.Result) -> str:
    """Return the attempt-log outcome of ``result``."""
    if result.delivered:
        return AttemptOutcome.DELIVERED
    return AttemptOutcome.REFUSED if result.refused else AttemptOutcome.FAILED
