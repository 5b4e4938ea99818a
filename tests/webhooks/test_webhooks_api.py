"""``/api/v1/webhooks/``: who may manage subscriptions, the secret shown once, bad input is 400."""

from __future__ import annotations

import pytest
from standardwebhooks import Webhook

from cases.feed import cursor as feed
from cases.webhooks import engine
from cases.webhooks.models import WebhookSubscription
from tests import factories as f
from tests.support.clients import api_client, field_errors, token_client
from tests.support.roles import ANALYST, superuser, user_in_role
from tests.webhooks.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

API = "/api/v1/webhooks/"


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def create(client, url="http://127.0.0.1:9/hook", **body):
    return client.post(API, {"name": "mirror", "target_url": url, **body}, format="json")


def test_an_officer_creates_a_subscription_and_sees_the_secret_once(officer):
    client = api_client(officer)
    response = create(client, event_kinds=["note.added"], case_filter="status=interned")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["account"] == "officer" and body["active"] is True
    assert body["event_kinds"] == ["note.added"] and body["case_filter"] == "status=interned"
    detail = client.get(f"{API}{body['uuid']}/")
    assert detail.status_code == 200 and "secret" not in detail.json()
    listed = client.get(API).json()
    assert [row["uuid"] for row in listed["results"]] == [body["uuid"]]
    assert "secret" not in listed["results"][0]
    assert body["secret"] not in str(WebhookSubscription.objects.values().get())


@pytest.mark.parametrize("role", ["analyst", "integration", None])
def test_other_roles_may_neither_list_nor_create(role):
    user = user_in_role(role, "someone")
    client = api_client(user)
    assert client.get(API).status_code == 403
    assert create(client).status_code == 403
    assert not WebhookSubscription.objects.exists()


def test_a_read_only_token_cannot_create(officer):
    client, _token = token_client(officer, read_only=True)
    assert client.get(API).status_code == 200
    assert create(client).status_code == 403


def test_delete_and_put_are_not_allowed(officer):
    """Nothing is deleted and nothing replaced whole; an edit is a PATCH (tested below)."""
    client = api_client(officer)
    uuid = create(client).json()["uuid"]
    assert client.delete(f"{API}{uuid}/").status_code == 405
    assert client.put(f"{API}{uuid}/", {"name": "x"}, format="json").status_code == 405


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://169.254.169.254/"}, "target_url"),
        ({"url": "http://10.0.0.1/"}, "target_url"),
        ({"url": "https://localhost/"}, "target_url"),
        ({"url": "not a url"}, "target_url"),
        ({"case_filter": "status=nonsense"}, "case_filter"),
        ({"case_filter": "medical_notes__icontains=jaw"}, "case_filter"),
        ({"event_kinds": ["no.such"]}, "event_kinds"),
        ({"account": "nobody"}, "account"),
        ({"start": "yesterday"}, "start"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(officer, body, field):
    url = body.pop("url", "http://127.0.0.1:9/hook")
    response = create(api_client(officer), url, **body)
    assert response.status_code == 400, response.content
    # A list item's error names its index: event_kinds.0.
    assert field in {name.split(".")[0] for name in field_errors(response)}
    assert not WebhookSubscription.objects.exists()


def test_a_subscription_cannot_carry_an_account_that_reads_more_than_its_creator(officer):
    root = superuser("root")
    analyst = user_in_role(ANALYST, "analyst")
    client = api_client(officer)
    refused = create(client, account="root")
    assert refused.status_code == 400 and "account" in field_errors(refused)
    allowed = create(client, account="analyst")
    assert allowed.status_code == 201 and allowed.json()["account"] == "analyst"
    assert root.pk and analyst.pk


def test_pause_resume_rotate_replay_redeliver_and_attempts(officer, httpserver):
    receiver = Receiver(httpserver)
    client = api_client(officer)
    created = create(client, receiver.url).json()
    uuid = created["uuid"]
    f.case()
    paused = client.post(f"{API}{uuid}/pause/", {"reason": "receiver upgrade"}, format="json")
    assert paused.status_code == 200
    assert paused.json()["active"] is False and paused.json()["paused_reason"] == "receiver upgrade"
    worker = engine.Worker("test")
    assert worker.run_pass() == 0 and receiver.received == []
    assert client.post(f"{API}{uuid}/resume/").json()["active"] is True
    while worker.run_pass():
        pass
    delivered = len(receiver.accepted())
    assert delivered > 0
    Webhook(created["secret"]).verify(receiver.received[0]["body"], receiver.received[0]["headers"])

    attempts = client.get(f"{API}{uuid}/attempts/")
    assert attempts.status_code == 200
    rows = attempts.json()["results"]
    assert len(rows) == delivered and {r["outcome"] for r in rows} == {"delivered"}
    assert set(rows[0]) == {
        "event_uuid",
        "event_kind",
        "attempted_at",
        "attempt",
        "redelivery",
        "outcome",
        "status_code",
        "latency_ms",
        "error",
    }
    analyst_client = api_client(user_in_role(ANALYST, "analyst"))
    assert analyst_client.get(f"{API}{uuid}/attempts/").status_code == 403

    rotated = client.post(f"{API}{uuid}/rotate/", {"grace_seconds": 60}, format="json")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
    assert rotated.json()["previous_secret_expires_at"]

    event = rows[-1]["event_uuid"]
    queued = client.post(f"{API}{uuid}/redeliver/", {"event": event}, format="json")
    assert queued.status_code == 202
    bad = client.post(f"{API}{uuid}/redeliver/", {"event": "nope"}, format="json")
    assert bad.status_code == 400
    while worker.run_pass():
        pass
    last = receiver.received[-1]
    assert last["headers"]["webhook-id"] == event
    Webhook(rotated.json()["secret"]).verify(last["body"], last["headers"])
    Webhook(created["secret"]).verify(last["body"], last["headers"])

    replay = client.post(f"{API}{uuid}/replay/", {"after": ""}, format="json")
    assert replay.status_code == 200
    assert (
        client.post(f"{API}{uuid}/replay/", {"after": "garbage"}, format="json").status_code == 400
    )
    assert client.post(f"{API}{uuid}/replay/", {}, format="json").status_code == 400
    before = len(receiver.accepted())
    while worker.run_pass():
        pass
    assert len(receiver.accepted()) - before >= delivered


def test_replay_since_a_time_resends_events_recorded_then_or_later(officer, httpserver):
    receiver = Receiver(httpserver)
    client = api_client(officer)
    uuid = create(client, receiver.url).json()["uuid"]
    f.case()
    worker = engine.Worker("test")
    while worker.run_pass():
        pass
    from django.utils import timezone

    middle = timezone.now()
    second = f.case()
    while worker.run_pass():
        pass
    count = len(receiver.accepted())
    response = client.post(f"{API}{uuid}/replay/", {"since": middle.isoformat()}, format="json")
    assert response.status_code == 200, response.content
    while worker.run_pass():
        pass
    again = [i["headers"]["webhook-id"] for i in receiver.accepted()[count:]]
    from cases.models import TimelineEvent

    recorded = TimelineEvent.objects.filter(recorded_at__gte=middle).values_list("uuid", flat=True)
    assert set(again) == {str(u) for u in recorded}
    assert second.pk
