"""Both state machines, pair by pair (the consent gate has tests of its own)."""

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.choices import CaseStatus as CS
from cases.choices import EventKind
from cases.choices import RequestStatus as RS
from cases.consent import GATED_CASE_STATUSES
from cases.models import Case, Request, TimelineEvent
from cases.transitions import CASE_TRANSITIONS, REQUEST_OPEN_STATUSES, REQUEST_TRANSITIONS
from tests import factories
from tests.support import timeline

SYSTEM = factories.SYSTEM

# The expected machines, written out from DESIGN.md so that the code is checked against an
# independent statement of them rather than against itself.
_CASE_OPEN_EXITS = {CS.DIED, CS.ESCAPED}
EXPECTED_CASE = {
    CS.CAPTURED: {CS.REGISTERED, CS.HOSPITALISED} | _CASE_OPEN_EXITS,
    CS.REGISTERED: {CS.INTERNED, CS.HOSPITALISED} | _CASE_OPEN_EXITS,
    CS.INTERNED: {CS.HOSPITALISED, CS.ON_HOLD, CS.RELEASE_APPROVED} | _CASE_OPEN_EXITS,
    CS.HOSPITALISED: {CS.INTERNED, CS.RELEASE_APPROVED} | _CASE_OPEN_EXITS,
    CS.ON_HOLD: {CS.INTERNED, CS.HOSPITALISED, CS.RELEASE_APPROVED} | _CASE_OPEN_EXITS,
    CS.RELEASE_APPROVED: {CS.INTERNED, CS.REPATRIATED, CS.TRANSFERRED_THIRD_STATE, CS.RELEASED}
    | _CASE_OPEN_EXITS,
    CS.REPATRIATED: set(),
    CS.TRANSFERRED_THIRD_STATE: set(),
    CS.RELEASED: set(),
    CS.DIED: set(),
    CS.ESCAPED: set(),
}
CLOSED = {CS.REPATRIATED, CS.TRANSFERRED_THIRD_STATE, CS.RELEASED, CS.DIED, CS.ESCAPED}

EXPECTED_REQUEST = {
    RS.DRAFT: {RS.FILED, RS.WITHDRAWN},
    RS.FILED: {RS.ACKNOWLEDGED, RS.UNDER_REVIEW, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED},
    RS.ACKNOWLEDGED: {RS.UNDER_REVIEW, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED},
    RS.UNDER_REVIEW: {RS.ACCEPTED, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED},
    RS.ACCEPTED: {RS.SCHEDULED, RS.WITHDRAWN, RS.LAPSED},
    RS.SCHEDULED: {RS.EXECUTED, RS.FAILED, RS.WITHDRAWN},
    RS.REFUSED: set(),
    RS.WITHDRAWN: set(),
    RS.LAPSED: set(),
    RS.EXECUTED: set(),
    RS.FAILED: set(),
}

CASE_PAIRS = [(a, b) for a in CS.values for b in CS.values]
REQUEST_PAIRS = [(a, b) for a in RS.values for b in RS.values]


def _event_count():
    return TimelineEvent.objects.count()


def test_machines_match_the_design():
    """The transition tables in code are the ones the design describes, status by status."""
    assert {k: set(v) for k, v in CASE_TRANSITIONS.items()} == EXPECTED_CASE
    assert {k: set(v) for k, v in REQUEST_TRANSITIONS.items()} == EXPECTED_REQUEST


def test_open_request_statuses_leave_out_drafts_and_final_ones():
    """A request is open once filed and until it reaches a final status."""
    assert {
        RS.FILED,
        RS.ACKNOWLEDGED,
        RS.UNDER_REVIEW,
        RS.ACCEPTED,
        RS.SCHEDULED,
    } == REQUEST_OPEN_STATUSES


def _case_in(status):
    # A national of the DPRK: a return takes him there, the state a handover must name.
    person = factories.person("Ri", nationalities=["KP"])
    if status in CLOSED:
        return factories.advance_case(factories.case(person_obj=person), status)
    return factories.case(person_obj=person, status=status)


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), CASE_PAIRS, ids=[f"{a}->{b}" for a, b in CASE_PAIRS])
def test_case_transition(old, new):
    """An allowed case transition writes the status and one event; a refused one neither."""
    case = _case_in(old)
    assert case.status == old
    events_before, version_before, seq_before = _event_count(), case.version, case.last_event_seq

    if new in GATED_CASE_STATUSES:
        _through_a_handover_only(case, old, new)
        return
    extra = {"released_to": "UA"} if new == CS.RELEASED else {}

    if new in EXPECTED_CASE[old]:
        case = services.case_change_status(actor=SYSTEM, case=case, status=new, **extra)
        row = Case.objects.get(pk=case.pk)
        assert row.status == new
        assert row.version == version_before + 1
        assert (row.closed_at is not None) == (new in CLOSED)
        (event,) = TimelineEvent.objects.filter(case=case, case_seq=seq_before + 1)
        assert _event_count() == events_before + 1
        assert event.kind == EventKind.CASE_STATUS_CHANGED
        assert event.changes["status"] == [old, new]
        assert ("closed_at" in event.changes) == (new in CLOSED)
        assert ("released_to" in event.changes) == (new == CS.RELEASED)
        assert event.summary == (f"{case.reference}: status {CS(old).label} → {CS(new).label}")
    else:
        with pytest.raises(ValidationError) as caught:
            services.case_change_status(actor=SYSTEM, case=case, status=new)
        message = caught.value.message_dict["status"][0]
        assert f"cannot go from {old} to {new}" in message
        allowed = EXPECTED_CASE[old]
        if allowed:
            listed = message.split(f"Allowed from {old}: ")[1].rstrip(".").split(", ")
            assert set(listed) == allowed
        else:
            assert "none (the case is closed)" in message
        row = Case.objects.get(pk=case.pk)
        assert (row.status, row.version, row.last_event_seq) == (old, version_before, seq_before)
        assert _event_count() == events_before


def _through_a_handover_only(case, old, new):
    """A border crossing: refused by the case service, reached only by a handover from
    ``release_approved`` (its own tests are in tests/exchanges/)."""
    events_before, version_before, seq_before = _event_count(), case.version, case.last_event_seq
    with pytest.raises(ValidationError, match="only through a handover"):
        services.case_change_status(actor=SYSTEM, case=case, status=new)
    row = Case.objects.get(pk=case.pk)
    assert (row.status, row.version, row.last_event_seq) == (old, version_before, seq_before)
    assert _event_count() == events_before
    if new not in EXPECTED_CASE[old]:
        return
    destination = "KR" if new == CS.TRANSFERRED_THIRD_STATE else ""
    factories.verified_wish(case, GATED_CASE_STATUSES[new], destination)
    kind = "third_state_transfer" if destination else "repatriation"
    extra = {"destination_country": destination} if destination else {}
    request = factories.advance_request(factories.request(case, kind=kind, **extra), "scheduled")
    row = Case.objects.get(pk=case.pk)
    version_before, seq_before = row.version, row.last_event_seq
    factories.handover(request)
    row = Case.objects.get(pk=case.pk)
    assert row.status == new and row.closed_at is not None
    assert row.version == version_before + 1
    (event,) = TimelineEvent.objects.filter(
        case=case, kind=EventKind.CASE_STATUS_CHANGED, case_seq__gt=seq_before
    )
    assert event.changes["status"] == [old, new]
    assert "consent_statement" in event.changes and "closed_at" in event.changes


def test_case_unknown_status_is_refused(db):
    """A status that does not exist is named in the error; nothing is written."""
    case = factories.case()
    with pytest.raises(ValidationError, match="Unknown status 'paroled'"):
        services.case_change_status(actor=SYSTEM, case=case, status="paroled")
    assert Case.objects.get(pk=case.pk).status == CS.CAPTURED


def _request_in(status):
    case = factories.case()
    if status == RS.DRAFT:
        return factories.request(case, draft=True)
    return factories.advance_request(factories.request(case), status)


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), REQUEST_PAIRS, ids=[f"{a}->{b}" for a, b in REQUEST_PAIRS])
def test_request_transition(old, new):
    """An allowed request transition writes the status and one event; a refused one neither.

    Medical treatment is not consent-gated, so execution depends on the machine alone.
    """
    request = _request_in(old)
    assert request.status == old
    seq_before = Case.objects.get(pk=request.case_id).last_event_seq
    events_before, version_before = _event_count(), request.version

    if new in EXPECTED_REQUEST[old]:
        services.request_transition(actor=SYSTEM, request=request, status=new)
        row = Request.objects.get(pk=request.pk)
        assert row.status == new
        assert row.version == version_before + 1
        (event,) = TimelineEvent.objects.filter(case=request.case_id, case_seq=seq_before + 1)
        # The one event, then one per task the request's clocks opened or closed.
        follow_ups = timeline.task_follow_ups(event)
        assert _event_count() == events_before + 1 + len(follow_ups)
        timeline.check_task_follow_ups(
            event, list(TimelineEvent.objects.filter(id__gt=event.id).order_by("id"))
        )
        assert event.kind == EventKind.REQUEST_STATUS_CHANGED
        assert event.changes["status"] == [old, new]
        assert event.summary == f"Request for medical treatment: {RS(old).label} → {RS(new).label}"
        if new in {RS.ACCEPTED, RS.REFUSED}:
            assert row.decided_on is not None
        if old == RS.DRAFT and new == RS.FILED:
            assert row.filed_on is not None
    else:
        with pytest.raises(ValidationError) as caught:
            services.request_transition(actor=SYSTEM, request=request, status=new)
        message = caught.value.message_dict["status"][0]
        assert f"cannot go from {old} to {new}" in message
        allowed = EXPECTED_REQUEST[old]
        if allowed:
            listed = message.split(f"Allowed from {old}: ")[1].rstrip(".").split(", ")
            assert set(listed) == allowed
        else:
            assert "none (the request is closed)" in message
        row = Request.objects.get(pk=request.pk)
        assert (row.status, row.version) == (old, version_before)
        assert _event_count() == events_before
