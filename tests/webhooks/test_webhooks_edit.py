"""Editing a subscription (URL, filters, account) and replaying it from a time.

Over the API (``PATCH /api/v1/webhooks/<uuid>/``, ``POST .../replay/``) and in the admin's
change form; deliveries go to a real receiver on 127.0.0.1, run by the worker in the test's
process.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from cases import services
from cases.feed import cursor as feed
from cases.models import TimelineEvent
from cases.webhooks import engine
from cases.webhooks.models import WebhookSubscription, WebhookSubscriptionChange
from cases.webhooks.services import webhook_subscription_create
from tests import factories as f
from tests.support.clients import api_client, field_errors
from tests.support.roles import user_in_role
from tests.webhooks.test_webhooks import Receiver
from tests.webhooks.test_webhooks_api import API, create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_RETRY_BASE_SECONDS = 0.05
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


@pytest.fixture
def officer():
    return user_in_role("case officer", "officer")


def drain(worker: engine.Worker) -> None:
    while worker.run_pass():
        pass


def ids(items) -> list[str]:
    return [item["headers"]["webhook-id"] for item in items]


def new_event_uuids(after: feed.Position) -> list[str]:
    state = feed.read_state()
    rows = feed.visible_after(TimelineEvent.objects.all(), state, after).values("uuid")
    return [str(row["uuid"]) for row in rows]


def position(subscription) -> feed.Position:
    subscription.refresh_from_db()
    return feed.Position(subscription.position_xact_id, subscription.position_event_id)


# --------------------------------------------------------------------------------------------
# Editing over the API
# --------------------------------------------------------------------------------------------


def test_a_new_url_keeps_the_cursor_nothing_skipped_nothing_sent_twice(officer, httpserver):
    old, new = Receiver(httpserver, "/old"), Receiver(httpserver, "/new")
    client = api_client(officer)
    created = create(client, old.url).json()
    subscription = WebhookSubscription.objects.get(uuid=created["uuid"])
    case = f.case()
    worker = engine.Worker("test")
    drain(worker)
    first = ids(old.accepted())
    assert first
    cursor = position(subscription)

    response = client.patch(
        f"{API}{created['uuid']}/",
        {"target_url": new.url, "version": created["version"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["target_url"] == new.url and body["version"] == created["version"] + 1
    assert body["cursor"] == created["cursor"] or position(subscription) == cursor
    assert position(subscription) == cursor  # the edit does not move the position

    services.note_add(actor=f.SYSTEM, case=case, body="after the move")
    expected = new_event_uuids(cursor)
    drain(worker)
    assert ids(new.accepted()) == expected  # everything since the cursor, in feed order
    assert ids(old.accepted()) == first  # nothing more went to the old URL
    assert not set(first) & set(ids(new.accepted()))

    changes = client.get(f"{API}{created['uuid']}/changes/").json()["results"]
    assert len(changes) == 1
    assert changes[0]["action"] == "edited" and changes[0]["changed_by"] == "officer"
    assert changes[0]["changes"] == {"target_url": [old.url, new.url]}


def test_an_edit_of_the_filters_applies_from_the_cursor_on(officer, httpserver):
    receiver = Receiver(httpserver)
    client = api_client(officer)
    created = create(client, receiver.url).json()
    case = f.case(person_obj=f.person("Baek", names=[]))
    response = client.patch(
        f"{API}{created['uuid']}/",
        {
            "event_kinds": ["note.added"],
            "subject_types": ["note"],
            "case_filter": "q=Baek",
        },
        format="json",
        HTTP_IF_MATCH=f'"{created["version"]}"',
    )
    assert response.status_code == 200, response.content
    assert response.json()["event_kinds"] == ["note.added"]
    other = f.case(person_obj=f.person("Ri", names=[]))
    note = services.note_add(actor=f.SYSTEM, case=case, body="kept")
    services.note_add(actor=f.SYSTEM, case=other, body="filtered out: another case")
    drain(engine.Worker("test"))
    received = [item["body"] for item in receiver.accepted()]
    assert len(received) == 1 and str(note.uuid).encode() in received[0]


def test_an_edit_needs_the_current_version(officer):
    client = api_client(officer)
    created = create(client).json()
    url = f"{API}{created['uuid']}/"
    assert client.patch(url, {"name": "x"}, format="json").status_code == 428
    stale = client.patch(url, {"name": "x", "version": created["version"] + 5}, format="json")
    assert stale.status_code == 412 and stale.json()["current_version"] == created["version"]
    assert client.patch(url, {"name": "x", "version": 1}, format="json").status_code == 200
    again = client.patch(url, {"name": "y", "version": 1}, format="json")
    assert again.status_code == 412  # the first edit moved the version on
    assert WebhookSubscription.objects.get(uuid=created["uuid"]).name == "x"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target_url": "http://169.254.169.254/"}, "target_url"),
        ({"target_url": "http://10.0.0.1/"}, "target_url"),
        ({"target_url": "https://localhost/"}, "target_url"),
        ({"target_url": "not a url"}, "target_url"),
        ({"case_filter": "status=nonsense"}, "case_filter"),
        ({"case_filter": "medical_notes__icontains=jaw"}, "case_filter"),
        ({"event_kinds": ["no.such"]}, "event_kinds"),
        ({"account": "nobody"}, "account"),
    ],
)
def test_an_edit_is_checked_as_a_create_is(officer, body, field):
    client = api_client(officer)
    created = create(client).json()
    response = client.patch(f"{API}{created['uuid']}/", {**body, "version": 1}, format="json")
    assert response.status_code == 400, response.content
    assert field in {name.split(".")[0] for name in field_errors(response)}
    row = WebhookSubscription.objects.get(uuid=created["uuid"])
    assert row.version == 1 and row.target_url == created["target_url"]
    assert not WebhookSubscriptionChange.objects.exists()


def test_an_editor_cannot_redirect_a_subscription_that_reads_more_than_they_may(officer):
    """A new URL would send the account's view of the feed to the editor: refused."""
    root = f.user("root", is_superuser=True, is_staff=True)
    subscription, _secret = webhook_subscription_create(
        created_by=root, name="all", target_url="http://127.0.0.1:9/all", account=root
    )
    client = api_client(officer)
    response = client.patch(
        f"{API}{subscription.uuid}/",
        {"target_url": "http://127.0.0.1:9/mine", "version": 1},
        format="json",
    )
    assert response.status_code == 400 and "account" in field_errors(response)
    mine = create(client).json()
    response = client.patch(
        f"{API}{mine['uuid']}/", {"account": "root", "version": 1}, format="json"
    )
    assert response.status_code == 400 and "account" in field_errors(response)
    subscription.refresh_from_db()
    assert subscription.target_url == "http://127.0.0.1:9/all"


def test_other_roles_may_not_edit_or_read_the_changes(officer):
    created = create(api_client(officer)).json()
    analyst = api_client(user_in_role("analyst", "analyst"))
    url = f"{API}{created['uuid']}/"
    assert analyst.patch(url, {"name": "x", "version": 1}, format="json").status_code == 403
    assert analyst.get(f"{url}changes/").status_code == 403


# --------------------------------------------------------------------------------------------
# Replay from a time over the API
# --------------------------------------------------------------------------------------------


def test_replay_from_a_time_moves_the_cursor_to_the_first_event_then_and_is_recorded(
    officer, httpserver
):
    receiver = Receiver(httpserver)
    client = api_client(officer)
    created = create(client, receiver.url).json()
    subscription = WebhookSubscription.objects.get(uuid=created["uuid"])
    case = f.case()
    worker = engine.Worker("test")
    drain(worker)
    middle = timezone.now()
    services.note_add(actor=f.SYSTEM, case=case, body="after the middle")
    drain(worker)
    head = position(subscription)
    count = len(receiver.accepted())

    response = client.post(
        f"{API}{created['uuid']}/replay/", {"since": middle.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    moved = position(subscription)
    first_then = (
        TimelineEvent.objects.filter(recorded_at__gte=middle).order_by("xact_id", "id").first()
    )
    assert moved < head
    assert new_event_uuids(moved)[0] == str(first_then.uuid)
    drain(worker)
    again = ids(receiver.accepted()[count:])
    assert again == new_event_uuids(moved)[: len(again)] and str(first_then.uuid) in again

    changes = client.get(f"{API}{created['uuid']}/changes/").json()["results"]
    assert changes[0]["action"] == "replayed" and changes[0]["changed_by"] == "officer"
    state = feed.read_state()
    assert changes[0]["changes"]["position"] == [
        feed.encode_cursor(state, head),
        feed.encode_cursor(state, moved),
    ]
    assert changes[0]["changes"]["since"][1] == middle.isoformat()


def test_a_replay_takes_the_lease_from_a_worker_in_the_middle_of_a_batch(officer):
    """The worker's next record finds its lease gone, so it cannot undo the replay."""
    created = create(api_client(officer)).json()
    subscription = WebhookSubscription.objects.get(uuid=created["uuid"])
    worker = engine.Worker("busy")
    assert worker.acquire(set()) == subscription.pk
    api_client(officer).post(f"{API}{created['uuid']}/replay/", {"after": ""}, format="json")
    assert not worker.renew(subscription.pk)
    assert position(subscription) == feed.START


# --------------------------------------------------------------------------------------------
# The admin
# --------------------------------------------------------------------------------------------


def admin_client(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def change_form(subscription, **override) -> dict:
    data = {
        "name": subscription.name,
        "target_url": subscription.target_url,
        "account": subscription.account_id,
        "event_kinds": subscription.event_kinds,
        "subject_types": ", ".join(subscription.subject_types),
        "case_filter": subscription.case_filter,
        "expected_version": subscription.version,
        "replay_since_0": "",
        "replay_since_1": "",
        "replay_after": "",
        **{
            f"{prefix}-{key}": value
            for prefix in ("changes", "attempts")
            for key, value in {
                "TOTAL_FORMS": 0,
                "INITIAL_FORMS": 0,
                "MIN_NUM_FORMS": 0,
                "MAX_NUM_FORMS": 0,
            }.items()
        },
    }
    data.update(override)
    return {key: value for key, value in data.items() if value is not None}


def admin_url(subscription) -> str:
    return f"/admin/cases/webhooksubscription/{subscription.pk}/change/"


def test_the_admin_edits_url_and_filters_through_the_service(officer, httpserver):
    receiver = Receiver(httpserver, "/admin-new")
    subscription, _secret = webhook_subscription_create(
        created_by=officer, name="s", target_url="http://127.0.0.1:9/old", account=officer
    )
    f.case()
    cursor = position(subscription)
    client = admin_client(officer)
    page = client.get(admin_url(subscription))
    assert page.status_code == 200 and b"replay_since" in page.content
    response = client.post(
        admin_url(subscription),
        change_form(subscription, target_url=receiver.url, event_kinds=["case.opened"]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    subscription.refresh_from_db()
    assert subscription.target_url == receiver.url and subscription.event_kinds == ["case.opened"]
    assert subscription.version == 2 and position(subscription) == cursor
    change = WebhookSubscriptionChange.objects.get(subscription=subscription)
    assert change.changed_by == officer and set(change.changes) == {"target_url", "event_kinds"}
    case = f.case()
    services.note_add(actor=f.SYSTEM, case=case, body="not a case.opened")
    drain(engine.Worker("test"))
    kinds = {item["body"].split(b'"kind":"')[1].split(b'"')[0] for item in receiver.accepted()}
    assert kinds == {b"case.opened"}


def test_the_admin_refuses_a_private_target_and_changes_nothing(officer):
    subscription, _secret = webhook_subscription_create(
        created_by=officer, name="s", target_url="http://127.0.0.1:9/old", account=officer
    )
    client = admin_client(officer)
    response = client.post(
        admin_url(subscription), change_form(subscription, target_url="http://10.0.0.1/")
    )
    assert response.status_code == 200
    assert "target_url" in response.context["adminform"].form.errors
    stale = client.post(
        admin_url(subscription), change_form(subscription, name="late", expected_version=7)
    )
    assert stale.status_code == 200 and stale.context["adminform"].form.errors
    subscription.refresh_from_db()
    assert subscription.target_url == "http://127.0.0.1:9/old" and subscription.version == 1
    assert not WebhookSubscriptionChange.objects.exists()


def test_the_admin_replays_from_a_time(officer, httpserver):
    receiver = Receiver(httpserver)
    subscription, _secret = webhook_subscription_create(
        created_by=officer, name="s", target_url=receiver.url, account=officer
    )
    f.case()
    worker = engine.Worker("test")
    drain(worker)
    middle = timezone.localtime()
    second = f.case()
    drain(worker)
    count = len(receiver.accepted())
    client = admin_client(officer)
    response = client.post(
        admin_url(subscription),
        change_form(
            subscription,
            replay_since_0=middle.strftime("%Y-%m-%d"),
            replay_since_1=middle.strftime("%H:%M:%S"),
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    change = WebhookSubscriptionChange.objects.get(subscription=subscription)
    assert change.action == "replayed" and change.changed_by == officer
    drain(worker)
    again = set(ids(receiver.accepted()[count:]))
    # Whole seconds in the form: everything recorded since the second of ``middle`` again.
    assert {str(e.uuid) for e in TimelineEvent.objects.filter(case=second)} <= again


def test_an_analyst_sees_the_admin_page_but_cannot_edit(officer):
    subscription, _secret = webhook_subscription_create(
        created_by=officer, name="s", target_url="http://127.0.0.1:9/old", account=officer
    )
    analyst = user_in_role("analyst", "analyst")
    client = admin_client(analyst)
    response = client.post(admin_url(subscription), change_form(subscription, name="mine"))
    assert response.status_code == 403
    subscription.refresh_from_db()
    assert subscription.name == "s"
