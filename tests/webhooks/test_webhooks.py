"""Webhooks: signed deliveries of the feed as the subscription's account reads it.

A real HTTP receiver (pytest-httpserver on 127.0.0.1, allow-listed) takes the posts; each
one is verified with the ``standardwebhooks`` package, as a receiver would. The worker runs
in the test's process against the real database.
"""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks import Webhook
from werkzeug import Response

from cases import services
from cases.feed import cursor as feed
from cases.models import AccessLogEntry
from cases.webhooks import crypto, engine
from cases.webhooks import services as hooks
from cases.webhooks.models import WebhookAttempt, WebhookSubscription
from tests import factories as f
from tests.support.clients import api_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    """Allow the local receiver, retry fast, and let the feed serve the test's transaction."""
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.WEBHOOK_RETRY_MAX_SECONDS = 1.0
    settings.WEBHOOK_RETRY_JITTER = 0.2
    settings.WEBHOOK_POLL_SECONDS = 0.05
    settings.WEBHOOK_CONNECT_TIMEOUT = 2.0
    settings.WEBHOOK_TOTAL_TIMEOUT = 3.0
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def local_url(httpserver, path: str) -> str:
    """Return the receiver's URL by address: its own URLs say localhost, which is refused."""
    return f"http://127.0.0.1:{httpserver.port}{path}"


class Receiver:
    """Collect what reaches the local receiver: arrival time, headers, body."""

    def __init__(self, httpserver, path="/hook"):
        self.server = httpserver
        self.path = path
        self.received: list[dict] = []
        self.answers: list[int] = []  # statuses to give first; then 200
        httpserver.expect_request(path, method="POST").respond_with_handler(self._handle)

    def _handle(self, request):
        status = self.answers.pop(0) if self.answers else 200
        self.received.append(
            {
                "at": time.monotonic(),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": request.get_data(),
                "status": status,
            }
        )
        return Response("ok" if status < 300 else "no", status=status)

    @property
    def url(self) -> str:
        return local_url(self.server, self.path)

    def accepted(self) -> list[dict]:
        return [item for item in self.received if item["status"] < 300]


def deliver_all(worker: engine.Worker, until, timeout: float = 10.0) -> None:
    """Run passes until ``until()`` holds (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, "deliveries did not arrive in time"
        if worker.run_pass() == 0:
            time.sleep(min(0.05, max(0.0, worker.next_wake())))


def subscribe(receiver, account, **kwargs):
    kwargs.setdefault("created_by", account)
    kwargs.setdefault("name", "receiver")
    return hooks.webhook_subscription_create(target_url=receiver.url, account=account, **kwargs)


def feed_results(user) -> list[dict]:
    response = api_client(user).get("/api/v1/events/?limit=10000")
    assert response.status_code == 200
    return response.json()["results"]


# --------------------------------------------------------------------------------------------
# Deliveries
# --------------------------------------------------------------------------------------------


def test_deliveries_arrive_signed_in_feed_order_as_the_feed_serves_them(httpserver):
    """Every event after the subscription starts arrives once, verified, equal to the feed."""
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, secret = subscribe(receiver, officer)
    case = f.case()
    services.note_add(actor=f.SYSTEM, case=case, body="Asked for a doctor")
    new = {str(event.uuid) for event in _new_events(officer, subscription)}
    expected = [e for e in feed_results(officer) if e["uuid"] in new]
    assert len(expected) >= 2
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= len(expected))
    worker.run_pass()
    verifier = Webhook(secret)
    bodies = []
    for item in receiver.accepted():
        payload = verifier.verify(item["body"], item["headers"])
        assert item["headers"]["webhook-id"] == payload["uuid"]
        assert item["headers"]["content-type"] == "application/json"
        bodies.append(payload)
    assert [b["uuid"] for b in bodies] == [e["uuid"] for e in expected]
    assert bodies == expected
    assert len(receiver.received) == len(expected)  # nothing twice
    attempts = WebhookAttempt.objects.filter(subscription=subscription)
    assert {a.outcome for a in attempts} == {"delivered"}
    assert all(a.status_code == 200 and a.latency_ms is not None for a in attempts)


def test_a_subscription_started_now_skips_history_and_one_from_the_beginning_does_not(
    httpserver,
):
    officer = user_in_role(CASE_OFFICER, "officer")
    f.case()
    before = len(feed_results(officer))
    assert before > 0
    receiver = Receiver(httpserver)
    subscribe(receiver, officer, name="now")
    subscribe(receiver, officer, name="all", start="beginning")
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= before)
    assert worker.run_pass() == 0
    assert len(receiver.received) == before


def test_deliveries_carry_only_what_the_account_may_read(httpserver):
    """A canary in every sensitive field reaches the officer's subscription, not the analyst's."""
    canary = "CANARY-7f3a"
    officer = user_in_role(CASE_OFFICER, "officer")
    analyst = user_in_role(ANALYST, "analyst")
    officer_receiver = Receiver(httpserver, "/officer")
    analyst_receiver = Receiver(httpserver, "/analyst")
    _sub, officer_secret = subscribe(officer_receiver, officer)
    analyst_sub, analyst_secret = subscribe(analyst_receiver, analyst, created_by=officer)
    person = f.person("Ri", medical_notes=f"{canary} jaw")
    case = f.case(person_obj=person)
    f.intention(case, quote=f"{canary} I want to go to Seoul")
    services.note_add(actor=f.SYSTEM, case=case, body=f"{canary} note")
    count = len(feed_results(officer))
    logged_before = AccessLogEntry.objects.filter(channel="webhook").count()
    worker = engine.Worker("test")
    deliver_all(
        worker,
        lambda: (
            len(officer_receiver.accepted()) >= count and len(analyst_receiver.accepted()) >= count
        ),
    )
    officer_bodies = [i["body"].decode() for i in officer_receiver.accepted()]
    analyst_bodies = [i["body"].decode() for i in analyst_receiver.accepted()]
    assert any(canary in body for body in officer_bodies)
    assert not any(canary in body for body in analyst_bodies)
    assert any(json.loads(body)["redacted"] for body in analyst_bodies)
    for item in analyst_receiver.accepted():
        Webhook(analyst_secret).verify(item["body"], item["headers"])
    for item in officer_receiver.accepted():
        Webhook(officer_secret).verify(item["body"], item["headers"])
    # The officer's deliveries showed sensitive values: logged, on the webhook channel.
    logs = AccessLogEntry.objects.filter(channel="webhook")
    assert logs.count() > logged_before
    assert set(logs.values_list("username", flat=True)) == {"officer"}
    assert str(analyst_sub.uuid) not in "".join(logs.values_list("path", flat=True))
    # The attempt log holds no payload.
    for attempt in WebhookAttempt.objects.all():
        assert canary not in f"{attempt.error} {attempt.event_kind}"


def test_an_account_that_loses_its_role_stops_receiving(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    analyst = user_in_role(ANALYST, "analyst")
    receiver = Receiver(httpserver)
    subscription, _secret = subscribe(receiver, analyst, created_by=officer)
    f.case()
    analyst.groups.clear()
    worker = engine.Worker("test")
    assert worker.run_pass() == 0
    assert receiver.received == []
    subscription.refresh_from_db()
    assert not subscription.active
    assert "may no longer read" in subscription.paused_reason


def test_the_receiver_refuses_then_recovers_every_event_arrives_in_order_spaced_as_configured(
    httpserver, settings
):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    receiver.answers = [503, 500, 502, 503]
    subscription, _secret = subscribe(receiver, officer)
    f.case()
    f.case()
    new = {str(event.uuid) for event in _new_events(officer, subscription)}
    expected = [e["uuid"] for e in feed_results(officer) if e["uuid"] in new]
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= len(expected))
    ids = [item["headers"]["webhook-id"] for item in receiver.received]
    # The first event was tried five times (four refusals), then each event once, in order.
    assert ids[:5] == [expected[0]] * 5
    assert [item["headers"]["webhook-id"] for item in receiver.accepted()] == expected
    times = [item["at"] for item in receiver.received[:5]]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    base, jitter = settings.WEBHOOK_RETRY_BASE_SECONDS, settings.WEBHOOK_RETRY_JITTER
    for n, gap in enumerate(gaps, start=1):
        assert gap >= base * 2 ** (n - 1) * (1 - jitter) - 0.005, (n, gaps)
    attempts = list(WebhookAttempt.objects.filter(subscription=subscription).order_by("id"))
    assert [a.status_code for a in attempts[:5]] == [503, 500, 502, 503, 200]
    assert [a.attempt for a in attempts[:5]] == [1, 2, 3, 4, 5]
    subscription.refresh_from_db()
    assert subscription.failures == 0 and subscription.active


def _new_events(user, subscription) -> list:
    state = feed.read_state()
    after = feed.Position(subscription.position_xact_id, subscription.position_event_id)
    from cases.models import TimelineEvent

    return list(feed.visible_after(TimelineEvent.objects.all(), state, after))


def test_backoff_doubles_up_to_the_maximum_with_bounded_jitter(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 2
    settings.WEBHOOK_RETRY_MAX_SECONDS = 30
    settings.WEBHOOK_RETRY_JITTER = 0.25
    for failures, nominal in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (20, 30)]:
        waits = [engine.backoff_seconds(failures) for _ in range(50)]
        assert all(nominal * 0.75 <= w <= nominal for w in waits), (failures, waits)
        assert len(set(waits)) > 1  # jittered


def test_a_subscription_that_keeps_failing_is_paused_and_resumes_where_it_stopped(
    httpserver, settings
):
    settings.WEBHOOK_RETRY_FOR_SECONDS = 0.3
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    receiver.answers = [500] * 1000
    subscription, _secret = subscribe(receiver, officer)
    f.case()
    expected = [e.uuid for e in _new_events(officer, subscription)]
    worker = engine.Worker("test")

    def paused():
        subscription.refresh_from_db()
        return not subscription.active

    deliver_all(worker, paused)
    assert "500" in subscription.paused_reason and "failed" in subscription.paused_reason
    assert {item["headers"]["webhook-id"] for item in receiver.received} == {str(expected[0])}
    tried = len(receiver.received)
    assert worker.run_pass() == 0 and len(receiver.received) == tried  # paused: nothing sent
    receiver.answers = []
    hooks.webhook_subscription_resume(subscription=subscription)
    deliver_all(worker, lambda: len(receiver.accepted()) >= len(expected))
    assert [item["headers"]["webhook-id"] for item in receiver.accepted()] == [
        str(u) for u in expected
    ]


def test_rotation_signs_with_both_secrets_during_the_grace_period(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, old = subscribe(receiver, officer)
    subscription, new = hooks.webhook_subscription_rotate(subscription=subscription)
    assert new != old
    f.case()
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= 1)
    item = receiver.accepted()[0]
    assert len(item["headers"]["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(item["body"], item["headers"])
    Webhook(new).verify(item["body"], item["headers"])
    # After the grace period only the new secret signs.
    subscription, newer = hooks.webhook_subscription_rotate(
        subscription=subscription, grace_seconds=0
    )
    f.case()
    count = len(receiver.accepted())
    deliver_all(worker, lambda: len(receiver.accepted()) > count)
    last = receiver.accepted()[-1]
    assert len(last["headers"]["webhook-signature"].split(" ")) == 1
    Webhook(newer).verify(last["body"], last["headers"])
    with pytest.raises(Exception):  # noqa: B017 - the library raises its own error type
        Webhook(new).verify(last["body"], last["headers"])


def test_the_secret_is_stored_sealed_and_a_wrong_key_pauses_the_subscription(httpserver, settings):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, secret = subscribe(receiver, officer)
    row = WebhookSubscription.objects.values().get(pk=subscription.pk)
    assert secret not in json.dumps(row, default=str)
    assert secret.removeprefix("whsec_") not in json.dumps(row, default=str)
    assert crypto.unseal(subscription.secret_sealed) == secret
    settings.WEBHOOK_KEYS = ["another key entirely"]
    f.case()
    assert engine.Worker("test").run_pass() == 0
    subscription.refresh_from_db()
    assert not subscription.active and "rotate" in subscription.paused_reason
    assert receiver.received == []
    # Listing the old key after the new one opens it again (key rotation).
    settings.WEBHOOK_KEYS = ["another key entirely", settings.SECRET_KEY]
    assert crypto.unseal(subscription.secret_sealed) == secret


def test_replay_from_a_cursor_and_redeliver_one_event(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, secret = subscribe(receiver, officer, start="beginning")
    f.case()
    total = len(feed_results(officer))
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= total)
    first_uuid = receiver.accepted()[0]["headers"]["webhook-id"]
    hooks.webhook_redeliver(subscription=subscription, event_uuid=first_uuid, requested_by=officer)
    deliver_all(worker, lambda: len(receiver.accepted()) >= total + 1)
    again = receiver.accepted()[-1]
    assert again["headers"]["webhook-id"] == first_uuid
    Webhook(secret).verify(again["body"], again["headers"])
    assert WebhookAttempt.objects.filter(redelivery=True, event_uuid=first_uuid).count() == 1
    # Replay from the start: every event again, in the same order.
    hooks.webhook_subscription_replay(subscription=subscription, after="")
    deliver_all(worker, lambda: len(receiver.accepted()) >= 2 * total + 1)
    ids = [i["headers"]["webhook-id"] for i in receiver.accepted()]
    assert ids[total + 1 :] == ids[:total]


def test_redeliver_refuses_an_event_not_reached_or_not_sent(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, _secret = subscribe(receiver, officer, event_kinds=["note.added"])
    case = f.case()
    from django.core.exceptions import ValidationError

    from cases.models import TimelineEvent

    opened = TimelineEvent.objects.filter(case=case).first()
    with pytest.raises(ValidationError):
        hooks.webhook_redeliver(
            subscription=subscription, event_uuid=opened.uuid, requested_by=officer
        )


def test_filters_by_kind_subject_type_and_case_query(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    case_a = f.case()
    case_b = f.case()
    subscribe(receiver, officer, event_kinds=["note.added"], case_filter=f"q={case_a.reference}")
    services.note_add(actor=f.SYSTEM, case=case_a, body="for A")
    services.note_add(actor=f.SYSTEM, case=case_b, body="for B")
    services.note_add(actor=f.SYSTEM, case=case_a, body="for A again")
    worker = engine.Worker("test")
    deliver_all(worker, lambda: len(receiver.accepted()) >= 2)
    assert worker.run_pass() == 0
    bodies = [json.loads(i["body"]) for i in receiver.accepted()]
    assert [b["kind"] for b in bodies] == ["note.added", "note.added"]
    assert {b["case"]["reference"] for b in bodies} == {case_a.reference}


# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/",
        "http://10.0.0.1/",
        "https://10.0.0.1/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://localhost/",
        "http://localhost:8000/",
        "ftp://example.org/",
        "https://user:pw@example.org/",
    ],
)
def test_targets_that_are_not_public_https_are_refused(url):
    from django.core.exceptions import ValidationError

    officer = user_in_role(CASE_OFFICER, "officer")
    with pytest.raises(ValidationError) as refused:
        hooks.webhook_subscription_create(
            created_by=officer, name="x", target_url=url, account=officer
        )
    assert "target_url" in refused.value.message_dict
    assert not WebhookSubscription.objects.exists()


def test_allow_listed_private_host_is_accepted(settings):
    settings.WEBHOOK_ALLOW_HOSTS = ["10.0.0.1"]
    officer = user_in_role(CASE_OFFICER, "officer")
    subscription, _secret = hooks.webhook_subscription_create(
        created_by=officer, name="x", target_url="http://10.0.0.1/hook", account=officer
    )
    assert subscription.pk


def test_every_attempt_checks_the_target_again(httpserver, settings):
    """A target allowed at creation but not now is refused before anything is sent."""
    officer = user_in_role(CASE_OFFICER, "officer")
    receiver = Receiver(httpserver)
    subscription, _secret = subscribe(receiver, officer)
    f.case()
    settings.WEBHOOK_ALLOW_HOSTS = []
    assert engine.Worker("test").run_pass() == 0
    assert receiver.received == []
    attempt = WebhookAttempt.objects.get(subscription=subscription)
    assert attempt.outcome == "refused" and "http" in attempt.error


def test_a_redirect_is_not_followed(httpserver):
    officer = user_in_role(CASE_OFFICER, "officer")
    httpserver.expect_request("/moved", method="POST").respond_with_response(
        Response("", status=302, headers={"Location": "http://127.0.0.1:1/elsewhere"})
    )
    subscription, _secret = hooks.webhook_subscription_create(
        created_by=officer, name="x", target_url=local_url(httpserver, "/moved"), account=officer
    )
    f.case()
    assert engine.Worker("test").run_pass() == 0
    attempt = WebhookAttempt.objects.get(subscription=subscription)
    assert attempt.status_code == 302 and attempt.outcome == "failed"
    assert "Redirect" in attempt.error


def test_a_slow_receiver_is_cut_at_the_total_timeout(httpserver, settings):
    settings.WEBHOOK_TOTAL_TIMEOUT = 0.3
    officer = user_in_role(CASE_OFFICER, "officer")

    def slow(request):
        time.sleep(2.0)
        return Response("late")

    httpserver.expect_request("/slow", method="POST").respond_with_handler(slow)
    subscription, _secret = hooks.webhook_subscription_create(
        created_by=officer, name="x", target_url=local_url(httpserver, "/slow"), account=officer
    )
    f.case()
    started = time.monotonic()
    assert engine.Worker("test").run_pass() == 0
    assert time.monotonic() - started < 1.5  # cut at 0.3 s, not after the 2 s answer
    attempt = WebhookAttempt.objects.get(subscription=subscription)
    assert attempt.outcome == "failed" and "Timed out" in attempt.error
