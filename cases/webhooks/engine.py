"""The webhook worker: leases subscriptions, follows the feed for each, posts, retries.

Exactly-once order comes from the feed: a subscription's position is a feed position
(:mod:`cases.feed`) and moves past an event only after the receiver accepted it, in the
short transaction that logs the attempts of a batch. Delivery is at least once: a worker
that dies between a post and that transaction leaves the position before the event, and the
next worker sends it again (the receiver dedupes by ``webhook-id``, the event's uuid); each
post is recorded before the next, so a killed worker's successor resends only the event that
was in flight.

Workers share subscriptions by leases held in the subscription's row, not by row locks: a
lock held during a post would keep a transaction open, and an open transaction holds the
feed's watermark back for everyone. A lease is taken in one short transaction (``SELECT ...
FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE`` on SQLite), renewed with
the record of every post, and given back after each batch, so that workers take turns. Every
write of a leased subscription is conditional on the lease: a worker that lost it stops.

On PostgreSQL the worker's sessions commit asynchronously (``synchronous_commit = off``): a
record then costs no wait for the disk, and what a crash of the database server could lose
is the last records, whose events are sent again, which at-least-once delivery allows.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connection,
    connections,
    transaction,
)
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


@dataclass
class _Sent:
    """One post of a batch, waiting to be recorded."""

    event_uuid: str
    kind: str
    result: delivery.Result
    position: feed.Position


class Worker:
    """One delivery worker; run several, in one machine or many, on the same database.

    With ``threads`` above 1 it delivers to that many subscriptions at once, each in a
    thread of its own with its own database connection and HTTP connections; one thread
    delivers to one subscription at a time, so each subscription keeps its feed order.
    """

    def __init__(
        self,
        name: str | None = None,
        *,
        stop: threading.Event | None = None,
        threads: int = 1,
    ):
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = stop or threading.Event()
        self.threads = max(1, threads)
        self._listener = None
        self._local = threading.local()
        self._pool: ThreadPoolExecutor | None = None
        self._opened: list[tuple[delivery.Sender, object]] = []
        self._opened_lock = threading.Lock()

    # Leases -----------------------------------------------------------------------------

    def _lease_until(self):
        return timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)

    def acquire_many(self, exclude: set[int], limit: int) -> list[int]:
        """Lease up to ``limit`` active subscriptions no live lease holds; return their ids.

        Those whose lease ended longest ago come first, so workers take turns.
        """
        now = timezone.now()
        free = Q(active=True) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now))
        candidates = WebhookSubscription.objects.filter(free).exclude(pk__in=exclude)
        order = ("lease_expires_at", "id")
        if connection.vendor == "postgresql":
            with transaction.atomic():
                pks = list(
                    candidates.select_for_update(skip_locked=True)
                    .order_by(*order)
                    .values_list("pk", flat=True)[:limit]
                )
                if pks:
                    WebhookSubscription.objects.filter(pk__in=pks).update(
                        lease_owner=self.name, lease_expires_at=self._lease_until()
                    )
                return pks
        taken = []
        for pk in candidates.order_by(*order).values_list("pk", flat=True)[: limit + 20]:
            if len(taken) == limit:
                break
            if (
                WebhookSubscription.objects.filter(free, pk=pk).update(
                    lease_owner=self.name, lease_expires_at=self._lease_until()
                )
                == 1
            ):
                taken.append(pk)
        return taken

    def acquire(self, exclude: set[int]) -> int | None:
        """Lease one active subscription that no live lease holds; return its id or None."""
        pks = self.acquire_many(exclude, 1)
        return pks[0] if pks else None

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
        # Read afresh for every batch: permissions are cached on the user object, and an
        # account removed from its role must stop receiving by the next batch.
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

    def _sender(self) -> delivery.Sender:
        """Return this thread's sender (kept-alive connections), made on first use."""
        sender = getattr(self._local, "sender", None)
        if sender is None:
            sender = self._local.sender = delivery.Sender()
            with self._opened_lock:
                self._opened.append((sender, connections[DEFAULT_DB_ALIAS]))
        return sender

    def _post(self, subscription, reader, secrets_, row) -> tuple[str, str, delivery.Result]:
        body = delivery.event_body(reader, row)
        event_uuid, kind = delivery.event_identity(body)
        headers = delivery.signed_headers(secrets_, msg_id=event_uuid, body=body)
        result = self._sender().post(subscription.target_url, headers=headers, body=body)
        return event_uuid, kind, result

    def _attempt(self, subscription, event_uuid, kind, result, *, attempt, redelivery=False):
        return WebhookAttempt(
            subscription_id=subscription.pk,
            event_uuid=event_uuid,
            event_kind=kind,
            attempt=attempt,
            redelivery=redelivery,
            outcome=result_outcome(result),
            status_code=result.status,
            latency_ms=result.latency_ms,
            error=result.error[:300],
            worker=self.name[:100],
        )

    def work_on(self, pk: int) -> int:
        """Deliver what is due for subscription ``pk`` (leased by this worker); return the count.

        Redeliveries come first, then the feed after the subscription's position, in feed
        order, one batch of up to ``WEBHOOK_BATCH`` events; the first failure schedules a
        retry and ends the turn. The account's permissions and the target's DNS answer are
        read once per batch; each post is recorded (attempt, position, lease) in one short
        transaction before the next.
        """
        subscription = self._mine(pk).first()
        if subscription is None or not subscription.active:
            return 0
        try:
            secrets_ = active_secrets(subscription)
        except crypto.SecretUnreadable as exc:
            self._pause(pk, str(exc))
            return 0
        self._sender().new_batch()
        now = timezone.now()
        retry_due = not (subscription.next_attempt_at and subscription.next_attempt_at > now)
        redeliveries = self._due_redeliveries(subscription)
        state = feed.read_state()
        after = feed.Position(subscription.position_xact_id, subscription.position_event_id)
        news = retry_due and after < state.head
        if not redeliveries and not news:
            return 0  # nothing to send: the account need not be read
        account = self._may_read(pk, subscription)
        if account is None:
            return 0
        reader = delivery.reader_for(subscription, account)
        sent = self._redeliver(subscription, reader, secrets_, redeliveries)
        if not news or self.stop.is_set():
            return sent
        page = feed.feed_page(
            delivery.subscription_events(subscription, account),
            state=state,
            after=after,
            limit=settings.WEBHOOK_BATCH,
            rows=delivery.document_rows,
        )
        reached = after
        for row in page.events:
            if self.stop.is_set():
                return sent
            event_uuid, kind, result = self._post(subscription, reader, secrets_, row)
            # Recorded before the next post, so that a killed worker's successor resends
            # only the event that was in flight.
            posted = _Sent(event_uuid, kind, result, feed.position_of(row, state))
            if not self._record(subscription, [posted]) or not result.delivered:
                return sent
            sent += 1
            reached = posted.position
        # Past events filtered out at the end of the page: the position moves to the head.
        if not page.has_more and page.next_position > reached:
            if page.events or not subscription.failures:
                self._record(subscription, [], head=page.next_position)
        return sent

    def _record(self, subscription, pending: list[_Sent], *, head=None) -> bool:
        """Record a stretch of posts in one transaction; return False if the lease was lost.

        The position moves past the accepted events (to ``head`` when given), the first
        failure schedules the retry (or pauses the subscription when retries ran out), the
        attempts are inserted together and the lease is renewed, all conditional on this
        worker still holding the lease.
        """
        pk = subscription.pk
        now = timezone.now()
        update: dict = {"lease_expires_at": self._lease_until()}
        attempts = []
        failures, since = subscription.failures, subscription.failing_since
        for sent in pending:
            if sent.result.delivered:
                attempts.append(
                    self._attempt(
                        subscription, sent.event_uuid, sent.kind, sent.result, attempt=failures + 1
                    )
                )
                failures, since = 0, None
                update.update(
                    position_xact_id=sent.position.xact_id,
                    position_event_id=sent.position.event_id,
                    failures=0,
                    failing_since=None,
                    next_attempt_at=None,
                )
                continue
            failures, since = failures + 1, since or now
            attempts.append(
                self._attempt(
                    subscription, sent.event_uuid, sent.kind, sent.result, attempt=failures
                )
            )
            update.update(failures=failures, failing_since=since)
            if (now - since).total_seconds() >= settings.WEBHOOK_RETRY_FOR_SECONDS:
                update.update(
                    active=False,
                    paused_at=now,
                    paused_reason=(
                        f"Deliveries failed for {settings.WEBHOOK_RETRY_FOR_SECONDS:g} s "
                        f"since {since.isoformat()} ({failures} attempts); last error: "
                        f"{sent.result.error}"
                    )[:1000],
                    next_attempt_at=None,
                )
            else:
                update["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(failures))
        if head is not None:
            update.update(position_xact_id=head.xact_id, position_event_id=head.event_id)
        if attempts and connection.vendor == "postgresql" and connection.get_autocommit():
            held = self._record_in_one_statement(pk, update, attempts)
        else:
            with transaction.atomic():
                held = self._mine(pk).update(**update) == 1
                if held:
                    WebhookAttempt.objects.bulk_create(attempts)
        if held:
            subscription.failures, subscription.failing_since = failures, since
        return held

    def _record_in_one_statement(self, pk: int, update: dict, attempts: list) -> bool:
        """Update the leased row and insert the attempts in one statement (one round trip).

        The attempts are inserted from the updated row, so none is when the lease was lost;
        a single statement is its own transaction.
        """
        subscriptions = WebhookSubscription._meta
        columns = {name: subscriptions.get_field(name).column for name in update}
        assignments = ", ".join(f"{connection.ops.quote_name(columns[n])} = %s" for n in update)
        fields = [
            field
            for field in WebhookAttempt._meta.concrete_fields
            if not field.primary_key and field.name != "subscription"
        ]
        names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        sql = (
            f"WITH held AS (UPDATE {connection.ops.quote_name(subscriptions.db_table)} "
            f"SET {assignments} WHERE id = %s AND lease_owner = %s RETURNING id) "
            f"INSERT INTO {connection.ops.quote_name(WebhookAttempt._meta.db_table)} "
            f"(subscription_id, {names}) "
            f"SELECT held.id, v.* FROM held, (VALUES {', '.join([row] * len(attempts))}) "
            f"AS v({names})"
        )
        params = [
            *(
                subscriptions.get_field(name).get_db_prep_save(value, connection)
                for name, value in update.items()
            ),
            pk,
            self.name,
        ]
        for attempt in attempts:
            params.extend(
                field.get_db_prep_save(field.pre_save(attempt, True), connection)
                for field in fields
            )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount == len(attempts)

    def _due_redeliveries(self, subscription) -> list[WebhookRedelivery]:
        now = timezone.now()
        return list(
            WebhookRedelivery.objects.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
                subscription_id=subscription.pk,
                done_at__isnull=True,
            ).order_by("id")[: settings.WEBHOOK_BATCH]
        )

    def _redeliver(self, subscription, reader, secrets_, due) -> int:
        """Send the subscription's due redeliveries once each; a failure is retried later."""
        sent = 0
        for redelivery in due:
            if self.stop.is_set() or not self.renew(subscription.pk):
                break
            now = timezone.now()
            rows = list(
                delivery.document_rows(
                    delivery.subscription_events(subscription, reader.user).filter(
                        pk=redelivery.event_id
                    )
                )
            )
            if not rows:
                # Purged, or no longer one the subscription sends: nothing to send.
                redelivery.done_at, redelivery.outcome = now, AttemptOutcome.REFUSED
                redelivery.save(update_fields=["done_at", "outcome"])
                continue
            event_uuid, kind, result = self._post(subscription, reader, secrets_, rows[0])
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
                self._attempt(
                    subscription,
                    event_uuid,
                    kind,
                    result,
                    attempt=redelivery.failures + (1 if result.delivered else 0),
                    redelivery=True,
                ).save()
        return sent

    # The loop -----------------------------------------------------------------------------

    def _prepare_connection(self) -> None:
        """Let this thread's PostgreSQL session commit without waiting for the disk."""
        if connection.vendor != "postgresql":
            return
        connection.ensure_connection()
        if getattr(self._local, "prepared", None) is not connection.connection:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            self._local.prepared = connection.connection

    def _turn(self, pk: int) -> int:
        """Work on leased subscription ``pk`` and give the lease back."""
        self._prepare_connection()
        try:
            return self.work_on(pk)
        finally:
            self.release(pk)

    def _turn_in_thread(self, pk: int) -> int:
        """:meth:`_turn` in a pool thread, which keeps its database connection between turns."""
        self._sender()  # registers this thread's database connection for closing at the end
        try:
            return self._turn(pk)
        except (OperationalError, InterfaceError):
            connection.close()
            raise

    def run_pass(self) -> int:
        """Give every subscription one turn (those other workers hold aside); return deliveries.

        Up to ``threads`` subscriptions are worked on at once; as one finishes its turn the
        next free one is leased.
        """
        seen: set[int] = set()
        sent = 0
        if self.threads == 1:
            while not self.stop.is_set():
                pk = self.acquire(seen)
                if pk is None:
                    break
                seen.add(pk)
                sent += self._turn(pk)
            return sent
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="webhooks")
        running: dict = {}
        failure = None
        exhausted = False
        while True:
            if not exhausted and failure is None and not self.stop.is_set():
                pks = self.acquire_many(seen, self.threads - len(running))
                exhausted = not pks
                seen.update(pks)
                for pk in pks:
                    running[self._pool.submit(self._turn_in_thread, pk)] = pk
            if not running:
                break
            done, _pending = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                del running[future]
                try:
                    sent += future.result()
                except Exception as exc:  # noqa: BLE001 - raised once the others finished
                    failure = failure or exc
        if failure is not None:
            raise failure
        return sent

    def close(self) -> None:
        """Stop the threads and close their database and HTTP connections."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for sender, database in opened:
            sender.close()
            if database is not connections[DEFAULT_DB_ALIAS]:
                # Another thread's connection, closed from here once that thread is done.
                database.inc_thread_sharing()
                database.close()
        self._local = threading.local()

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
            self.close()
            if self._listener is not None:
                self._listener.close()
            logger.info("webhook worker %s stopped", self.name)


def result_outcome(result: delivery.Result) -> str:
    """Return the attempt-log outcome of ``result``."""
    if result.delivered:
        return AttemptOutcome.DELIVERED
    return AttemptOutcome.REFUSED if result.refused else AttemptOutcome.FAILED
