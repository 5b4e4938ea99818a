"""Webhook workers as separate processes: shared subscriptions, SIGTERM, SIGKILL.

The workers are ``manage.py deliver_webhooks`` subprocesses on the test database; events
are committed for real (``transactional_db``), so the feed's real watermark applies.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

from cases import services
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.webhooks import services as hooks
from cases.webhooks.models import AttemptOutcome, WebhookAttempt
from tests import factories as f
from tests.support.roles import CASE_OFFICER, user_in_role
from tests.webhooks.test_webhooks import Receiver

MANAGE = Path(django_settings.BASE_DIR) / "manage.py"


@pytest.fixture(autouse=True)
def _allow_local_receiver(settings):
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite:///{db['NAME']}"


def start_worker(name: str, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DJANGO_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "DJANGO_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "DJANGO_WEBHOOK_POLL_SECONDS": "0.2",
        "DJANGO_WEBHOOK_LEASE_SECONDS": "2",
        "DJANGO_WEBHOOK_TOTAL_TIMEOUT": "1",
        "DJANGO_WEBHOOK_BATCH": "5",
        "DJANGO_LOG_LEVEL": "WARNING",
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, str(MANAGE), "deliver_webhooks", "--name", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out + err


def officer():
    return user_in_role(CASE_OFFICER, "officer")


def feed_order_after(position: feed.Position) -> list[str]:
    """Return the uuids of every committed event after ``position``, in feed order.

    Read without the watermark: every writer here has finished, while the real watermark
    may lag behind transactions other databases of the cluster hold open.
    """
    events = TimelineEvent.objects.order_by("xact_id", "id")
    if connection.vendor == "postgresql":
        events = events.filter(
            TupleGreaterThan(Tuple(F("xact_id"), F("id")), (position.xact_id, position.event_id))
        )
    else:
        events = events.filter(id__gt=position.event_id)
    return [str(u) for u in events.values_list("uuid", flat=True)]


def wait_for(condition, timeout: float, processes=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for process in processes:
            if process.poll() is not None and process.returncode not in (0, -9):
                raise AssertionError(f"worker died: {stop(process)}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _writer(index: int, cases, transactions: int, errors: list) -> None:
    rng = random.Random(index)
    try:
        for n in range(transactions):
            case = rng.choice(cases)  # one case per transaction: no lock-order deadlock
            try:
                with transaction.atomic():
                    for _ in range(rng.randint(1, 3)):
                        services.note_add(actor=f.SYSTEM, case=case, body=f"w{index} t{n}")
                    # Commit after a random wait, some much later, so commit order differs
                    # from the order in which transactions took their ids; a few roll back.
                    time.sleep(
                        rng.uniform(0.05, 0.2) if rng.random() < 0.1 else rng.uniform(0, 0.01)
                    )
                    if rng.random() < 0.1:
                        raise RuntimeError("roll back")
            except RuntimeError:
                pass
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_two_workers_while_writers_commit_deliver_each_event_once_in_order(httpserver):
    """Each subscription receives every committed event exactly once, in feed order."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers and the LISTEN wake-up are PostgreSQL's")
    user = officer()
    cases = [f.case() for _ in range(3)]
    receivers = [Receiver(httpserver, f"/s{i}") for i in range(3)]
    subscriptions = [
        hooks.webhook_subscription_create(
            created_by=user, name=f"s{i}", target_url=r.url, account=user
        )[0]
        for i, r in enumerate(receivers)
    ]
    start = feed.Position(subscriptions[0].position_xact_id, subscriptions[0].position_event_id)
    assert all(
        (s.position_xact_id, s.position_event_id) == (start.xact_id, start.event_id)
        for s in subscriptions
    )
    # A lease far longer than a post, so that a worker slowed down by a loaded machine keeps
    # its subscription: a lease that ran out mid-batch would (rightly) mean a resend. So is
    # the post's timeout: a receiver that answers too late has (rightly) the event again.
    workers = [
        start_worker(name, DJANGO_WEBHOOK_LEASE_SECONDS="15", DJANGO_WEBHOOK_TOTAL_TIMEOUT="10")
        for name in ("w1", "w2")
    ]
    try:
        errors: list = []
        writers = [threading.Thread(target=_writer, args=(i, cases, 12, errors)) for i in range(4)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        # A worker that starts first may deliver everything before the other is up; keep
        # writing (a little at a time) until both have posted, so that sharing is observed.
        deadline = time.monotonic() + 60
        extra = 0
        while len(_workers_that_posted()) < 2 and time.monotonic() < deadline:
            extra += 1
            _writer(100 + extra, cases, 2, errors)
            time.sleep(0.2)
        assert not errors
        expected = feed_order_after(start)
        assert len(expected) > 20
        wait_for(lambda: all(len(r.accepted()) >= len(expected) for r in receivers), 60, workers)
        time.sleep(0.5)  # anything sent twice would arrive by now
    finally:
        results = [stop(worker) for worker in workers]
    for receiver, subscription in zip(receivers, subscriptions, strict=True):
        received = [item["headers"]["webhook-id"] for item in receiver.received]
        assert list(dict.fromkeys(received)) == expected  # every event, in feed order
        # Once each, but for a post the worker recorded as failed (it answered too late):
        # at least once then allows the event again, and nothing else does.
        resent = {uuid: n - 1 for uuid, n in Counter(received).items() if n > 1}
        failed = Counter(
            str(uuid)
            for uuid in WebhookAttempt.objects.filter(
                subscription=subscription, event_uuid__in=list(resent)
            )
            .exclude(outcome=AttemptOutcome.DELIVERED)
            .values_list("event_uuid", flat=True)
        )
        assert all(failed[uuid] >= n for uuid, n in resent.items()), (resent, failed)
    for code, output in results:
        assert code == 0, output  # SIGTERM: a clean stop
        assert "stopped" in output
    assert _workers_that_posted() == {"w1", "w2"}  # the workers shared the subscriptions


def _workers_that_posted() -> set[str]:
    return set(WebhookAttempt.objects.values_list("worker", flat=True).distinct())


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_is_replaced_and_nothing_is_lost(httpserver):
    """SIGKILL during a post: the next worker takes the lease and resends from the position."""
    user = officer()
    receiver = Receiver(httpserver)
    in_flight, release = threading.Event(), threading.Event()
    original = receiver._handle

    def hold_third(request):
        if len(receiver.received) == 2 and not in_flight.is_set():
            in_flight.set()
            release.wait(15)
        return original(request)

    httpserver.clear()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(hold_third)
    subscription, _secret = hooks.webhook_subscription_create(
        created_by=user, name="s", target_url=receiver.url, account=user
    )
    start = feed.Position(subscription.position_xact_id, subscription.position_event_id)
    case = f.case()
    for n in range(4):
        services.note_add(actor=f.SYSTEM, case=case, body=f"note {n}")
    expected = feed_order_after(start)
    first = start_worker("doomed", DJANGO_WEBHOOK_TOTAL_TIMEOUT="20")
    try:
        wait_for(in_flight.is_set, 30, [first])
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        release.set()
        second = start_worker("heir")
        try:
            wait_for(lambda: len(receiver.accepted()) >= len(expected) + 1, 90, [second])
        finally:
            code, output = stop(second)
        assert code == 0, output
    finally:
        release.set()
        if first.poll() is None:
            first.kill()
    ids = [item["headers"]["webhook-id"] for item in receiver.received]
    # The event in flight when the worker died arrives twice (at least once); nothing is lost
    # and the order of first arrivals is the feed's.
    assert list(dict.fromkeys(ids)) == expected
    assert ids.count(expected[2]) == 2
    assert len(ids) == len(expected) + 1
    workers = set(WebhookAttempt.objects.values_list("worker", flat=True))
    assert workers == {"doomed", "heir"}


@pytest.mark.django_db(transaction=True)
def test_a_committed_event_wakes_a_waiting_worker_on_postgresql():
    """LISTEN/NOTIFY: the insert trigger's notification ends the wait, long before its end."""
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite polls")
    from cases.webhooks import engine

    worker = engine.Worker("listener")
    worker._listen()  # listening before the commit, as a running worker is
    done = threading.Event()

    def wait():
        worker.wait(60)
        done.set()

    thread = threading.Thread(target=wait)
    thread.start()
    try:
        time.sleep(0.2)
        assert not done.is_set()
        f.case()
        assert done.wait(20), "the commit did not wake the worker"
    finally:
        worker.stop.set()
        thread.join(5)
        worker._listener.close()
