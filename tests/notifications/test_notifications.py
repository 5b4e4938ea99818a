"""The notification log of GC III Art. 122-123: opened with what must be notified, acted on
by officers, overdue after its due day, and the same through the services, the API and the admin.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.choices import CaseStatus
from cases.clocks import OVERDUE
from cases.feed import cursor as feed_cursor
from cases.models import Case, TimelineEvent
from cases.notifications import services as notifications
from cases.notifications.models import Notification, NotificationSettings
from cases.transitions import CASE_TRANSITIONS
from tests import factories as f
from tests.support import clients, timeline
from tests.support.admin import change_url, errors_text, form_data

pytestmark = pytest.mark.django_db

NOTIFIABLE = {
    "hospitalised": "hospital_admission",
    "released": "release",
    "repatriated": "repatriation",
    "transferred_third_state": "transfer",
    "escaped": "escape",
    "died": "death",
}


@pytest.fixture
def powers():
    """North Korea (the Power Ri depends on) and the ICRC (the default tracing agency)."""
    return {
        "kp": f.party("North Korea", country="KP"),
        "icrc": services.party_update(actor=f.SYSTEM, party=f.neutral_party(), short_name="ICRC"),
    }


@pytest.fixture
def ri(powers):
    """Ri's case, opened as captured; his capture is notified to both recipients."""
    person = f.person("Ri", power_depends_on=powers["kp"])
    return f.case(person_obj=person)


def rows_of(event: TimelineEvent) -> list[Notification]:
    return list(Notification.objects.filter(event_uuid=event.uuid).order_by("recipient__name"))


def test_opening_a_case_opens_a_capture_notification_per_default_recipient(powers):
    """The capture is owed to the Power he depends on and the tracing agency, in the opening's
    own event, due a week after the capture date."""
    person = f.person("Ri", power_depends_on=powers["kp"])
    ukraine = f.party("Ukraine")
    with timeline.assert_one_event(kind="case.opened") as new:
        case = f.case(person_obj=person, detaining_party=ukraine, capture_date=dt.date(2025, 1, 9))
    rows = rows_of(new.event)
    assert [(r.recipient, r.reason, r.state) for r in rows] == [
        (powers["icrc"], "capture", "pending"),
        (powers["kp"], "capture", "pending"),
    ]
    assert {r.case_id for r in rows} == {case.pk}
    assert {r.due_on for r in rows} == {dt.date(2025, 1, 16)}
    assert sorted(ref["uuid"] for ref in new.event.changes["notifications"][1]) == sorted(
        str(r.uuid) for r in rows
    )


def test_without_a_power_or_an_agency_nobody_is_notified_and_nothing_is_claimed():
    """No recipient, no row, and the event claims none."""
    person, ukraine = f.person("Kim"), f.party("Ukraine")
    with timeline.assert_one_event(kind="case.opened") as new:
        f.case(person_obj=person, detaining_party=ukraine)
    assert rows_of(new.event) == []
    assert "notifications" not in new.event.changes


@pytest.mark.parametrize("status", sorted(NOTIFIABLE))
def test_each_notifiable_status_opens_its_pending_rows_once(ri, powers, status):
    """Reaching a notifiable status opens one row per recipient, with its reason, in the status
    change's own event; the steps on the way that are not notifiable open none."""
    path_events = []
    for step in f._shortest_path(CASE_TRANSITIONS, ri.status, status):
        # A move across a border first records the verified wish the consent gate needs.
        ri = f.advance_case(Case.objects.get(pk=ri.pk), step)
        event = TimelineEvent.objects.filter(case=ri, kind="case.status_changed").last()
        assert event.changes["status"][1] == step
        path_events.append((step, event))
    for step, event in path_events:
        rows = rows_of(event)
        if step in NOTIFIABLE:
            assert [(r.recipient, r.reason) for r in rows] == [
                (powers["icrc"], NOTIFIABLE[step]),
                (powers["kp"], NOTIFIABLE[step]),
            ]
            assert len(event.changes["notifications"][1]) == 2
        else:
            assert rows == [] and "notifications" not in event.changes
    # The capture's two, and two for the status: never twice for one event.
    reasons = Notification.objects.filter(case=ri).values_list("reason", flat=True)
    assert sorted(reasons).count(NOTIFIABLE[status]) == 2


def test_leaving_hospital_and_being_registered_are_not_notified(ri):
    """Registration, internment and leaving hospital owe nothing (the capture was notified)."""
    before = Notification.objects.count()
    for step in ("registered", "interned", "hospitalised", "interned"):
        ri = services.case_change_status(actor=f.SYSTEM, case=ri, status=step)
    assert Notification.objects.count() == before + 2  # the hospital admission only


def test_a_case_s_own_recipients_replace_the_defaults(ri, powers):
    """Once officers name the recipients, new notifications go to them alone."""
    korea = f.party("South Korea", country="KR")
    with timeline.assert_one_event(kind="notification.recipients_set", case=ri) as new:
        own = notifications.notification_recipients_set(actor=f.SYSTEM, case=ri, recipients=[korea])
    assert new.event.changes["recipients"][1] == [{"uuid": str(korea.uuid), "label": korea.name}]
    assert [p["label"] for p in new.event.changes["recipients"][0]] == [
        powers["kp"].name,
        powers["icrc"].name,
    ]
    ri = services.case_change_status(actor=f.SYSTEM, case=ri, status="escaped")
    escape = Notification.objects.filter(case=ri, reason="escape")
    assert [row.recipient for row in escape] == [korea]
    with pytest.raises(services.StaleObjectError):
        notifications.notification_recipients_set(
            actor=f.SYSTEM, case=ri, recipients=[], expected_version=own.version - 1
        )


def test_notifications_open_for_a_transfer_appends_one_event(ri):
    """A transfer between places opens its rows with ``notification.opened`` about the case."""
    with timeline.assert_one_event(kind="notification.opened", case=ri) as new:
        rows = notifications.notifications_open(
            actor=f.SYSTEM, case=ri, reason="transfer", occurred_on=dt.date(2025, 2, 1)
        )
    assert len(rows) == 2 and {r.reason for r in rows} == {"transfer"}
    assert {r.event_uuid for r in rows} == {new.event.uuid}
    assert {r.due_on for r in rows} == {dt.date(2025, 2, 8)}
    assert new.event.subject_type == "case"
    with pytest.raises(ValidationError):
        notifications.notifications_open(actor=f.SYSTEM, case=ri, reason="visit")


def test_sent_then_acknowledged_each_append_their_event(ri):
    """Sent records day, channel and reference; the acknowledgement comes after it."""
    row = Notification.objects.filter(case=ri).first()
    with timeline.assert_one_event(kind="notification.sent") as new:
        row = notifications.notification_mark_sent(
            actor=f.SYSTEM,
            notification=row,
            sent_on=dt.date(2025, 1, 12),
            channel="icrc_cta",
            sent_reference="CTA/2025/17",
            expected_version=1,
        )
    assert (row.state, row.version) == ("sent", 2)
    assert new.event.changes["state"] == ["pending", "sent"]
    assert new.event.object["sent_reference"] == "CTA/2025/17"
    with pytest.raises(ValidationError):
        notifications.notification_acknowledge(
            actor=f.SYSTEM, notification=row, acknowledged_on=dt.date(2025, 1, 11)
        )
    with timeline.assert_one_event(kind="notification.acknowledged"):
        row = notifications.notification_acknowledge(
            actor=f.SYSTEM, notification=row, acknowledged_on=dt.date(2025, 1, 20)
        )
    assert row.state == "acknowledged"


def test_withholding_needs_a_reason_and_writes_nothing_without_one(ri):
    """No reason: refused, no change, no event; with one: withheld, and it may be sent later."""
    row = Notification.objects.filter(case=ri).first()
    with timeline.assert_no_event():
        with pytest.raises(ValidationError) as refused:
            notifications.notification_withhold(
                actor=f.SYSTEM, notification=row, withheld_reason=" "
            )
    assert "withheld_reason" in refused.value.message_dict
    assert Notification.objects.get(pk=row.pk).state == "pending"
    with timeline.assert_one_event(kind="notification.withheld") as new:
        row = notifications.notification_withhold(
            actor=f.SYSTEM, notification=row, withheld_reason="His family would be punished"
        )
    assert new.event.changes["withheld_reason"] == ["", "His family would be punished"]
    with pytest.raises(ValidationError):
        notifications.notification_acknowledge(
            actor=f.SYSTEM, notification=row, acknowledged_on=dt.date(2025, 2, 1)
        )


def test_the_overdue_clock_with_a_fixed_today(ri, monkeypatch):
    """A case is overdue once a pending notification passes its due day, and no longer once
    every late one is sent or withheld."""
    capture_due = dt.date(2025, 1, 16)
    on_time = Case.objects.filter(OVERDUE["notification"](capture_due))
    assert not on_time.exists()
    late = Case.objects.filter(OVERDUE["notification"](capture_due + dt.timedelta(days=1)))
    assert list(late) == [ri]
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2025, 1, 17))
    client = clients.api_client(f.user("reader", is_superuser=True))
    listed = client.get("/api/v1/cases/", {"overdue": "notification"}).json()
    assert [row["reference"] for row in listed["results"]] == [ri.reference]
    pending = client.get("/api/v1/notifications/", {"overdue": "true"}).json()
    assert pending["count"] == 2
    for row in Notification.objects.filter(case=ri):
        notifications.notification_withhold(actor=f.SYSTEM, notification=row, withheld_reason="x")
    assert client.get("/api/v1/cases/", {"overdue": "notification"}).json()["count"] == 0
    refused = client.get("/api/v1/cases/", {"overdue": "capture"})
    assert refused.status_code == 400


def test_api_acts_with_versions_and_refuses_a_withhold_without_a_reason(ri, officer_client):
    """Acting needs the version read (428 without, 412 stale); a withhold without a reason is
    a 400 naming the field."""
    row = Notification.objects.filter(case=ri).first()
    url = reverse("api:notification-withhold", kwargs={"uuid": row.uuid})
    assert officer_client.post(url, {"withheld_reason": "Danger"}, format="json").status_code == 428
    assert (
        officer_client.post(url, {"withheld_reason": "Danger", "version": 9}, format="json")
    ).status_code == 412
    missing = officer_client.post(url, {"version": 1}, format="json")
    assert missing.status_code == 400
    assert "withheld_reason" in {e["field"] for e in missing.json()["errors"]}
    sent = officer_client.post(
        reverse("api:notification-sent", kwargs={"uuid": row.uuid}),
        {"version": 1, "sent_on": "2025-01-12", "channel": "diplomatic_note"},
        format="json",
    )
    assert sent.status_code == 200, sent.content
    assert sent.json()["state"] == "sent" and sent["ETag"] == '"2"'


def test_the_withheld_reason_is_sensitive(ri, officer, analyst, monkeypatch):
    """An analyst reads that a notification was withheld, never why; the case officer does."""
    # Serve the test's own uncommitted events from the feed (tests/feed/test_api_feed.py).
    monkeypatch.setattr(
        feed_cursor, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1"
    )
    row = Notification.objects.filter(case=ri).first()
    notifications.notification_withhold(
        actor=f.SYSTEM, notification=row, withheld_reason="Mother would be sent to a camp"
    )
    url = reverse("api:notification-detail", kwargs={"uuid": row.uuid})
    seen = clients.api_client(analyst).get(url).json()
    assert seen["withheld_reason"] is None and "withheld_reason" in seen["redacted"]
    assert clients.api_client(officer).get(url).json()["withheld_reason"].startswith("Mother")
    feed = clients.api_client(analyst).get("/api/v1/events/", {"subject_type": "notification"})
    (event,) = feed.json()["results"]
    assert "Mother" not in str(event)
    refused = clients.api_client(analyst).post(
        reverse("api:notification-withhold", kwargs={"uuid": row.uuid}),
        {"withheld_reason": "x", "version": 2},
        format="json",
    )
    assert refused.status_code == 403


def test_the_case_resource_shows_its_recipients(ri, powers, analyst):
    """The case's detail names who is notified: the defaults, then its own list."""
    url = reverse("api:case-detail", kwargs={"uuid": ri.uuid})
    client = clients.api_client(analyst)
    names = [p["name"] for p in client.get(url).json()["notification_recipients"]]
    assert names == [powers["kp"].name, powers["icrc"].name]
    notifications.notification_recipients_set(actor=f.SYSTEM, case=ri, recipients=[powers["kp"]])
    names = [p["name"] for p in client.get(url).json()["notification_recipients"]]
    assert names == [powers["kp"].name]


@pytest.mark.parametrize("n", [1, 20])
def test_notification_list_query_count_is_flat(powers, analyst, django_assert_num_queries, n):
    """User, permissions, the ETag's state, count, page and the access check: the same
    for 2 rows and 40."""
    for _ in range(n):
        f.case(person_obj=f.person("Ri", power_depends_on=powers["kp"]))
    client = clients.api_client(analyst)
    with django_assert_num_queries(5):
        response = client.get("/api/v1/notifications/")
    assert response.json()["count"] == 2 * n


def test_the_admin_withholds_only_with_a_reason(ri, officer):
    """The change page refuses a withhold without a reason, and records one with it."""
    officer.is_staff = True
    officer.save()
    client = clients.session_client(officer)
    row = Notification.objects.filter(case=ri).first()
    url = change_url(row)
    page = client.get(url)
    assert page.status_code == 200
    data = form_data(page)
    data.update(act="withhold", withheld_reason="")
    refused = client.post(url, data)
    assert refused.status_code == 200 and "Say why it is withheld" in errors_text(refused)
    assert Notification.objects.get(pk=row.pk).state == "pending"
    data.update(withheld_reason="Onward transmission would endanger his family")
    with timeline.assert_one_event(kind="notification.withheld", channel="admin"):
        done = client.post(url, data)
    assert done.status_code == 302, errors_text(done)


def test_the_admin_lists_overdue_cases_and_the_page_counts_them(ri, officer, monkeypatch):
    """The case change list filters ``overdue`` and the analysts' page counts and links it."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: dt.date(2025, 3, 1))
    officer.is_staff = True
    officer.save()
    client = clients.session_client(officer)
    listed = client.get(reverse("admin:cases_case_changelist"), {"overdue": "notification"})
    assert listed.status_code == 200 and ri.reference in listed.content.decode()
    page = client.get("/cases/")
    (clock,) = [c for c in page.context["overdue"] if c["key"] == "notification"]
    assert clock["count"] == 1
    assert "overdue=notification" in clock["href"]


def assert_every_status_change_opened_its_notifications(case: Case | None = None) -> None:
    """Assert each case event that owed notifications stored exactly the rows it lists, and
    that no status change that owes none stored any: the invariant of every path that opens
    or moves a case (of ``case`` alone when given)."""
    events = TimelineEvent.objects.filter(kind__in=("case.opened", "case.status_changed"))
    if case is not None:
        events = events.filter(case=case)
    stored_by_event: dict = {}
    for row in Notification.objects.filter(event_uuid__in=events.values("uuid")):
        stored_by_event.setdefault(row.event_uuid, []).append(str(row.uuid))
    for event in events:
        claimed = sorted(ref["uuid"] for ref in event.changes.get("notifications", [None, []])[1])
        assert claimed == sorted(stored_by_event.get(event.uuid, [])), event.summary
        status = event.changes.get("status", [None, None])[1]
        if event.kind == "case.status_changed" and status not in notifications.STATUS_REASONS:
            assert not claimed, event.summary


def test_every_path_that_changes_a_status_opens_its_notifications(ri, powers, officer_client):
    """The services, the API's transition and the admin's change form all open the rows."""
    services.case_change_status(actor=f.SYSTEM, case=ri, status="registered")
    response = officer_client.post(
        reverse("api:case-transition", kwargs={"uuid": ri.uuid}),
        {"status": "escaped"},
        format="json",
    )
    assert response.status_code == 200, response.content
    other = f.case(person_obj=f.person("Baek", power_depends_on=powers["kp"]))
    officer = f.user("admin-officer", is_superuser=True, is_staff=True)
    client = clients.session_client(officer)
    page = client.get(change_url(other))
    data = form_data(page)
    data.update(status="hospitalised")
    assert client.post(change_url(other), data).status_code == 302
    assert Notification.objects.filter(case=ri, reason="escape").count() == 2
    assert Notification.objects.filter(case=other, reason="hospital_admission").count() == 2
    assert_every_status_change_opened_its_notifications()


def test_the_seed_opens_the_notifications_its_story_owes(db):
    """Loading the seed goes through the services: its captures and moves are notified."""
    import io

    from django.core.management import call_command

    call_command("load_seed", stdout=io.StringIO())
    assert Notification.objects.filter(reason="capture").exists()
    assert_every_status_change_opened_its_notifications()


def test_a_failing_status_change_leaves_no_notification(ri):
    """A refused move (consent gate) opens nothing and appends nothing."""
    ri = services.case_change_status(actor=f.SYSTEM, case=ri, status="registered")
    ri = services.case_change_status(actor=f.SYSTEM, case=ri, status="interned")
    ri = services.case_change_status(actor=f.SYSTEM, case=ri, status="release_approved")
    before = Notification.objects.count()
    with timeline.assert_no_event():
        with pytest.raises(Exception):  # noqa: B017 - the gate's refusal
            services.case_change_status(actor=f.SYSTEM, case=ri, status="repatriated")
    assert Notification.objects.count() == before
    assert CaseStatus.REPATRIATED in notifications.STATUS_REASONS


def test_a_purge_takes_the_case_s_notifications_and_recipients_with_it(ri, powers):
    """Purging a case deletes its notifications and its own recipient list too."""
    notifications.notification_recipients_set(actor=f.SYSTEM, case=ri, recipients=[powers["kp"]])
    root = f.user("purger", is_superuser=True)
    services.case_purge(actor=services.Actor(user=root), case=ri, reason="Entered by mistake")
    assert not Notification.objects.filter(case_id=ri.pk).exists()
    assert not NotificationSettings.objects.filter(case_id=ri.pk).exists()
