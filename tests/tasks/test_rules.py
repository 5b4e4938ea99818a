"""Each clock opens exactly its task and closes it when it stops; the command is idempotent."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from cases import services
from cases.models import TimelineEvent
from cases.notifications import services as notifications
from cases.places import services as place_services
from cases.tasks.models import Task
from tests import factories as f
from tests.support import timeline

from .conftest import open_tasks, snapshot

pytestmark = pytest.mark.django_db

D = dt.date


def _run(today: dt.date | None = None) -> str:
    out = io.StringIO()
    call_command("open_due_tasks", *(["--today", today.isoformat()] if today else []), stdout=out)
    return out.getvalue()


@pytest.fixture
def camp(db):
    ukraine = f.party("Ukraine", country="UA")
    return {
        "kyiv": place_services.place_create(
            actor=f.SYSTEM, name="Kyiv", kind="prison", detaining_party=ukraine
        ),
        "west": place_services.place_create(
            actor=f.SYSTEM, name="Camp West", kind="camp", detaining_party=ukraine
        ),
    }


def test_a_capture_opens_the_card_task_a_transfer_moves_it_and_the_card_closes_it(
    case, camp, officer
):
    """The capture's task is due with the card; a transfer cancels it and opens the new
    movement's; the card sent to the Agency closes that one as done, in the card's event."""
    with timeline.assert_one_event(kind="movement.recorded") as new:
        capture = place_services.movement_record(
            actor=f.SYSTEM, case=case, to_place=camp["kyiv"], moved_on=D(2025, 1, 9), kind="capture"
        )
    (task,) = open_tasks(case)
    assert (task.kind, task.subject_type, task.subject_uuid) == (
        "capture_card",
        "movement",
        capture.uuid,
    )
    assert (task.due_on, task.assignee) == (D(2025, 1, 16), officer)
    assert new.event.changes["tasks_opened"] == [None, [timeline.ref(task)]]

    with timeline.assert_one_event(kind="movement.recorded") as new:
        transfer = place_services.movement_record(
            actor=f.SYSTEM,
            case=case,
            from_place=camp["kyiv"],
            to_place=camp["west"],
            moved_on=D(2025, 2, 1),
            kind="transfer",
        )
    task.refresh_from_db()
    assert task.state == "cancelled"
    (moved,) = open_tasks(case)
    assert (moved.subject_uuid, moved.due_on) == (transfer.uuid, D(2025, 2, 8))
    assert new.event.changes["tasks_closed"][1] == [{**timeline.ref(task), "state": "cancelled"}]

    with timeline.assert_one_event(kind="capture_card.recorded") as new:
        place_services.capture_card_record(
            actor=f.SYSTEM,
            movement=transfer,
            filled_in_on=D(2025, 2, 3),
            sent_to_agency_on=D(2025, 2, 4),
        )
    moved.refresh_from_db()
    assert moved.state == "done" and moved.done_at is not None
    assert open_tasks(case) == []
    assert new.event.changes["tasks_closed"][1] == [{**timeline.ref(moved), "state": "done"}]


def test_a_notification_opens_its_task_and_sending_it_closes_it(officer):
    """Each pending notification has its task, due on its due day; marking it sent closes it."""
    person = f.person("Ri", power_depends_on=f.party("North Korea", country="KP"))
    ukraine = f.party("Ukraine")
    with timeline.assert_one_event(kind="case.opened") as new:
        case = f.case(
            person_obj=person,
            detaining_party=ukraine,
            assigned_officer=officer,
            capture_date=D(2025, 1, 9),
        )
    (notification,) = case.notifications.all()
    (task,) = open_tasks(case)
    assert (task.kind, task.subject_uuid, task.due_on) == (
        "notification",
        notification.uuid,
        notification.due_on,
    )
    assert new.event.changes["tasks_opened"] == [None, [timeline.ref(task)]]
    with timeline.assert_one_event(kind="notification.sent") as new:
        notifications.notification_mark_sent(
            actor=f.SYSTEM, notification=notification, sent_on=D(2025, 1, 12), channel="direct"
        )
    task.refresh_from_db()
    assert task.state == "done"
    assert new.event.changes["tasks_closed"][1][0]["uuid"] == str(task.uuid)


def test_a_request_filed_waits_for_its_answer_until_answered_or_withdrawn(case, settings):
    """Filing opens "no answer" due after TRACKER_REQUEST_ANSWER_DAYS; an acknowledgement
    keeps it open; a review closes it as done; a withdrawal cancels its own."""
    settings.TRACKER_REQUEST_ANSWER_DAYS = 20
    mofa = f.party("Ministry of Foreign Affairs")
    with timeline.assert_one_event(kind="request.filed"):
        request = f.request(case, addressed_to=mofa, filed_on=D(2025, 3, 1))
    (task,) = open_tasks(case)
    assert (task.kind, task.subject_uuid, task.due_on) == (
        "request_unanswered",
        request.uuid,
        D(2025, 3, 21),
    )
    request = services.request_transition(actor=f.SYSTEM, request=request, status="acknowledged")
    assert open_tasks(case) == [task]
    with timeline.assert_one_event(kind="request.status_changed") as new:
        services.request_transition(actor=f.SYSTEM, request=request, status="under_review")
    task.refresh_from_db()
    assert task.state == "done"
    assert "tasks_closed" in new.event.changes

    other = f.request(case)
    services.request_transition(actor=f.SYSTEM, request=other, status="withdrawn")
    assert Task.objects.get(subject_uuid=other.uuid).state == "cancelled"
    draft = f.request(case, draft=True)
    assert not Task.objects.filter(subject_uuid=draft.uuid).exists()


def test_consent_going_stale_before_a_scheduled_handover(case, today, settings):
    """A scheduled request whose verified statement goes stale within the lookahead opens the
    task due on its last fresh day, from the command; run twice, the same rows and one event."""
    settings.TRACKER_CONSENT_MAX_AGE_DAYS = 30
    settings.TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS = 14
    f.intention(case, option="third_state", verification="verified", stated_on=D(2025, 2, 15))
    request = f.advance_request(
        f.request(case, kind="third_state_transfer", addressed_to=f.party("South Korea")),
        "accepted",
    )
    # Verified on 15 February: fresh until 17 March, seven days from today (10 March).
    request = services.request_transition(actor=f.SYSTEM, request=request, status="scheduled")
    (task,) = open_tasks(case, kind="consent_stale")
    assert (task.subject_uuid, task.due_on) == (request.uuid, D(2025, 3, 17))

    before = snapshot()
    events = TimelineEvent.objects.count()
    assert _run(today).startswith("0 task(s) opened, 0 closed")
    assert _run(today).startswith("0 task(s) opened, 0 closed")
    assert snapshot() == before and TimelineEvent.objects.count() == events

    # A fresh reconfirmation: the next run closes it as done.
    f.intention(case, option="third_state", verification="verified", stated_on=D(2025, 3, 9))
    with timeline.assert_one_event(kind="task.rules_applied", case=case) as new:
        _run(today)
    task.refresh_from_db()
    assert task.state == "done"
    assert new.event.changes["tasks_closed"][1][0]["uuid"] == str(task.uuid)
    # The handover happens (the one way to execute it): nothing more to close.
    f.advance_case(case, "release_approved")
    f.handover(request, occurred_on=today)
    assert open_tasks(case, kind="consent_stale") == []


def test_the_command_opens_a_consent_task_when_time_alone_makes_it_due(case, settings):
    """No write happens between scheduling and the day the lookahead reaches the statement's
    last fresh day: the command opens the task that day, once."""
    settings.TRACKER_CONSENT_MAX_AGE_DAYS = 30
    settings.TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS = 7
    stated = dt.date.today() - dt.timedelta(days=1)
    f.intention(case, option="third_state", verification="verified", stated_on=stated)
    request = f.advance_request(
        f.request(case, kind="third_state_transfer", addressed_to=f.party("South Korea")),
        "scheduled",
    )
    assert open_tasks(case, kind="consent_stale") == []
    later = stated + dt.timedelta(days=25)
    with timeline.assert_one_event(kind="task.rules_applied", case=case):
        _run(later)
    (task,) = open_tasks(case, kind="consent_stale")
    assert (task.subject_uuid, task.due_on) == (request.uuid, stated + dt.timedelta(days=30))
    with timeline.assert_no_event():
        _run(later)
    assert open_tasks(case, kind="consent_stale") == [task]


def test_the_command_catches_up_on_rows_written_before_the_rules(case, camp, officer):
    """Tasks missing for data written before this code are opened by the first run; the
    second run changes nothing."""
    place_services.movement_record(
        actor=f.SYSTEM, case=case, to_place=camp["kyiv"], moved_on=D(2025, 1, 9), kind="capture"
    )
    request = f.request(case, filed_on=D(2025, 3, 1))
    kinds = sorted(t.kind for t in open_tasks(case))
    assert kinds == ["capture_card", "request_unanswered"]
    # As if written before the rules: no tasks at all (raw delete; tasks are not the timeline).
    Task.objects.all().delete()
    with timeline.assert_one_event(kind="task.rules_applied", case=case) as new:
        assert _run().startswith("2 task(s) opened, 0 closed on 1 case(s)")
    assert sorted(t.kind for t in open_tasks(case)) == kinds
    assert len(new.event.changes["tasks_opened"][1]) == 2
    first = snapshot()
    with timeline.assert_no_event():
        _run()
    assert snapshot() == first
    assert {t.assignee for t in open_tasks(case)} == {officer}
    assert Task.objects.get(kind="request_unanswered").subject_uuid == request.uuid


def test_a_rule_task_done_by_hand_is_not_opened_again(case):
    """An officer marks the "no answer" task done (he phoned); the command leaves it closed."""
    from cases.tasks import services as task_services

    f.request(case, filed_on=D(2025, 3, 1))
    (task,) = open_tasks(case)
    task_services.task_done(actor=f.SYSTEM, task=task)
    with timeline.assert_no_event():
        _run()
    assert open_tasks(case) == []


def test_one_open_task_per_rule_and_row_is_a_database_constraint(case):
    """A second open task of the same rule about the same row is refused by the database."""
    from django.db import IntegrityError, transaction

    request = f.request(case)
    (task,) = open_tasks(case)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            case=case,
            title="Again",
            kind=task.kind,
            subject_type="request",
            subject_uuid=request.uuid,
            due_on=task.due_on,
        )


def test_closing_the_case_cancels_its_capture_card_task(case, camp):
    """A closed case owes no card: the status change that closes it cancels the task."""
    place_services.movement_record(
        actor=f.SYSTEM, case=case, to_place=camp["kyiv"], moved_on=D(2025, 1, 9), kind="capture"
    )
    (task,) = open_tasks(case)
    with timeline.assert_one_event(kind="case.status_changed") as new:
        services.case_change_status(actor=f.SYSTEM, case=case, status="escaped")
    task.refresh_from_db()
    assert task.state == "cancelled"
    assert new.event.changes["tasks_closed"][1][0]["uuid"] == str(task.uuid)


# --------------------------------------------------------------------------------------------
# The consent clock of a planned exchange
# --------------------------------------------------------------------------------------------


def _listed(case, planned_on, *, state="accepted", name="Exchange of March"):
    """Put the case on an agreed exchange planned for ``planned_on``; return the exchange."""
    from cases.exchanges import services as exchanges

    exchange = exchanges.exchange_create(
        actor=f.SYSTEM,
        name=name,
        parties=[f.party(f"{name} side A"), f.party(f"{name} side B", country="RU")],
        planned_on=planned_on,
    )
    exchange = exchanges.exchange_transition(actor=f.SYSTEM, exchange=exchange, status="agreed")
    exchanges.exchange_entry_set(actor=f.SYSTEM, exchange=exchange, case=case, state=state)
    return exchange


def _scheduled_transfer(case):
    """Verified on 15 February (fresh until 17 March, with a 30-day age), then scheduled."""
    f.intention(case, option="third_state", verification="verified", stated_on=D(2025, 2, 15))
    request = f.advance_request(f.request(case, kind="third_state_transfer"), "accepted")
    return services.request_transition(actor=f.SYSTEM, request=request, status="scheduled")


@pytest.fixture
def consent_clock(settings):
    settings.TRACKER_CONSENT_MAX_AGE_DAYS = 30
    settings.TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS = 14


def test_the_exchange_date_is_the_clock_when_the_case_is_on_a_dated_list(
    case, today, consent_clock
):
    """Listed for an exchange on 1 April, beyond the lookahead: his consent of 15 February is
    stale by then, so the task opens now, due on the exchange's day."""
    _listed(case, D(2025, 4, 1))
    request = _scheduled_transfer(case)
    (task,) = open_tasks(case, kind="consent_stale")
    assert (task.subject_uuid, task.due_on) == (request.uuid, D(2025, 4, 1))
    assert _run(today).startswith("0 task(s) opened, 0 closed")


def test_an_exchange_before_the_last_fresh_day_needs_no_reconfirmation(case, today, consent_clock):
    """Fresh until 17 March, within the lookahead; the exchange is on 12 March, when it is
    still fresh: no task (the rolling window alone would have opened one)."""
    _listed(case, D(2025, 3, 12))
    _scheduled_transfer(case)
    assert open_tasks(case, kind="consent_stale") == []
    assert _run(today).startswith("0 task(s) opened, 0 closed")


def test_a_moved_exchange_date_moves_the_task(case, today, consent_clock):
    from cases.exchanges import services as exchanges

    exchange = _listed(case, D(2025, 4, 1))
    _scheduled_transfer(case)
    (first,) = open_tasks(case, kind="consent_stale")
    exchange.refresh_from_db()
    with timeline.assert_one_event(kind="exchange.updated") as new:
        exchanges.exchange_update(actor=f.SYSTEM, exchange=exchange, planned_on=D(2025, 4, 10))
    (second,) = open_tasks(case, kind="consent_stale")
    first.refresh_from_db()
    assert first.state == "cancelled" and second.due_on == D(2025, 4, 10)
    assert new.event.changes["tasks_opened"] == [None, [timeline.ref(second)]]
    assert new.event.changes["tasks_closed"][1][0]["uuid"] == str(first.uuid)
    # Brought forward to before his last fresh day: nothing to reconfirm.
    exchange.refresh_from_db()
    exchanges.exchange_update(actor=f.SYSTEM, exchange=exchange, planned_on=D(2025, 3, 12))
    assert open_tasks(case, kind="consent_stale") == []


def test_off_the_list_or_a_cancelled_exchange_falls_back_to_the_rolling_window(
    case, today, consent_clock
):
    """Excluded from the list, or the exchange cancelled: the clock is his statement's last
    fresh day again (17 March, within the 14-day lookahead)."""
    from cases.exchanges import services as exchanges

    exchange = _listed(case, D(2025, 4, 1))
    _scheduled_transfer(case)
    with timeline.assert_one_event(kind="exchange.entry_set", case=case) as new:
        exchanges.exchange_entry_set(
            actor=f.SYSTEM, exchange=exchange, case=case, state="excluded", reason="Asked not to"
        )
    (task,) = open_tasks(case, kind="consent_stale")
    assert task.due_on == D(2025, 3, 17)
    assert new.event.changes["tasks_opened"] == [None, [timeline.ref(task)]]
    exchanges.exchange_entry_set(actor=f.SYSTEM, exchange=exchange, case=case, state="proposed")
    (task,) = open_tasks(case, kind="consent_stale")
    assert task.due_on == D(2025, 4, 1)
    exchange.refresh_from_db()
    exchanges.exchange_transition(actor=f.SYSTEM, exchange=exchange, status="cancelled")
    (task,) = open_tasks(case, kind="consent_stale")
    assert task.due_on == D(2025, 3, 17)


def test_an_exchange_date_passed_while_it_is_still_open_makes_it_due_today(
    case, today, consent_clock
):
    """Planned for 1 March and still open on 10 March: the handover can be no earlier than
    today. Fresh until 17 March, so no task; once stale, due the day the command runs."""
    _listed(case, D(2025, 3, 1))
    _scheduled_transfer(case)
    assert open_tasks(case, kind="consent_stale") == []
    _run(D(2025, 3, 20))
    (task,) = open_tasks(case, kind="consent_stale")
    assert task.due_on == D(2025, 3, 20)


def test_a_request_that_moves_no_one_ignores_the_exchange(case, today, consent_clock):
    """Treatment where he is held is no handover: the exchange's day is not its clock."""
    _listed(case, D(2025, 4, 1))
    f.intention(case, option="third_state", verification="verified", stated_on=D(2025, 2, 15))
    f.advance_request(f.request(case, kind="medical_treatment"), "scheduled")
    (task,) = open_tasks(case, kind="consent_stale")
    assert task.due_on == D(2025, 3, 17)
