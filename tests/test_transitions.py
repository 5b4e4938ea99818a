"""Both state machines, pair by pair, and the consent gate on executing a transfer."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.choices import CaseStatus as CS
from cases.choices import EventKind
from cases.choices import RequestStatus as RS
from cases.models import Case, Request, TimelineEvent
from cases.transitions import CASE_TRANSITIONS, REQUEST_OPEN_STATUSES, REQUEST_TRANSITIONS
from tests import factories

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
    if status in CLOSED:
        return factories.advance_case(factories.case(), status)
    return factories.case(status=status)


@pytest.mark.django_db
@pytest.mark.parametrize(("old", "new"), CASE_PAIRS, ids=[f"{a}->{b}" for a, b in CASE_PAIRS])
def test_case_transition(old, new):
    """An allowed case transition writes the status and one event; a refused one neither."""
    case = _case_in(old)
    assert case.status == old
    events_before, version_before, seq_before = _event_count(), case.version, case.last_event_seq

    if new in EXPECTED_CASE[old]:
        case = services.case_change_status(actor=SYSTEM, case=case, status=new)
        row = Case.objects.get(pk=case.pk)
        assert row.status == new
        assert row.version == version_before + 1
        assert (row.closed_at is not None) == (new in CLOSED)
        (event,) = TimelineEvent.objects.filter(case=case, case_seq=seq_before + 1)
        assert _event_count() == events_before + 1
        assert event.kind == EventKind.CASE_STATUS_CHANGED
        assert event.changes["status"] == [old, new]
        assert ("closed_at" in event.changes) == (new in CLOSED)
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
        assert _event_count() == events_before + 1
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


# --------------------------------------------------------------------------------------------
# The consent gate
# --------------------------------------------------------------------------------------------


def _scheduled(kind, destination=""):
    case = factories.case()
    extra = {"destination_country": destination} if destination else {}
    request = factories.request(case, kind=kind, **extra)
    return case, factories.advance_request(request, RS.SCHEDULED)


def _state(case, *, option, destination="", verification="verified"):
    setting = (
        "private_neutral_interview"
        if verification in {"verified", "reconfirmed"}
        else ("legislator_interview")
    )
    return factories.intention(
        case,
        option=option,
        destination_country=destination,
        verification=verification,
        setting=setting,
        stated_on=dt.date(2025, 3, 10),
    )


def _refusal(request):
    events_before = _event_count()
    with pytest.raises(ValidationError) as caught:
        services.request_transition(actor=SYSTEM, request=request, status=RS.EXECUTED)
    assert Request.objects.get(pk=request.pk).status == RS.SCHEDULED
    assert _event_count() == events_before
    message = caught.value.message_dict["status"][0]
    assert message.startswith("Consent gate: this request cannot be executed because ")
    return message


GATED = ["repatriation", "direct_medical_repatriation", "third_state_transfer"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", GATED)
def test_gate_refuses_without_any_statement(kind):
    """With no stated intention at all, a gated request cannot be executed."""
    _, request = _scheduled(kind, "KR" if kind == "third_state_transfer" else "")
    assert "the case has no current stated intention" in _refusal(request)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["repatriation", "direct_medical_repatriation"])
@pytest.mark.parametrize("level", ["reported", "stated", "witnessed"])
def test_gate_refuses_unverified_return_home(kind, level):
    """A matching wish that was not verified by a neutral body does not open the gate."""
    case, request = _scheduled(kind)
    _state(case, option="return_home", verification=level)
    message = _refusal(request)
    assert f"the current intention is only {level}; it must be verified" in message
    assert "or reconfirmed" in message
    assert "not 'Return home'" not in message


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["repatriation", "direct_medical_repatriation"])
@pytest.mark.parametrize(
    ("option", "destination", "label"),
    [
        ("third_state", "KR", "Transfer to a third state"),
        ("remain", "", "Remain in the detaining state"),
        ("undecided", "", "Undecided"),
        ("declined", "", "Declined to say"),
    ],
)
def test_gate_refuses_repatriation_against_a_verified_wish(kind, option, destination, label):
    """A verified wish for anything but going home blocks a repatriation (GC III Art. 109(3))."""
    case, request = _scheduled(kind)
    _state(case, option=option, destination=destination)
    message = _refusal(request)
    assert f"the current intention is '{label}', not 'Return home'" in message
    assert "must be verified" not in message


@pytest.mark.django_db
def test_gate_refuses_transfer_when_the_wish_is_to_go_home():
    """A transfer to a third state is refused when the verified wish is to return home."""
    case, request = _scheduled("third_state_transfer", "KR")
    _state(case, option="return_home")
    assert "the current intention is 'Return home', not 'Transfer to a third state'" in _refusal(
        request
    )


@pytest.mark.django_db
def test_gate_refuses_transfer_to_another_destination():
    """A verified wish for one third state does not allow a transfer to another."""
    case, request = _scheduled("third_state_transfer", "KR")
    _state(case, option="third_state", destination="US")
    assert "the current intention names US, the request KR" in _refusal(request)


@pytest.mark.django_db
def test_gate_names_every_missing_condition():
    """An unverified wish for another destination: both problems are named."""
    case, request = _scheduled("third_state_transfer", "KR")
    _state(case, option="third_state", destination="US", verification="stated")
    message = _refusal(request)
    assert "the current intention is only stated; it must be verified" in message
    assert "the current intention names US, the request KR" in message


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "destination", "option", "wish_destination"),
    [
        ("repatriation", "", "return_home", ""),
        ("direct_medical_repatriation", "", "return_home", ""),
        ("third_state_transfer", "KR", "third_state", "KR"),
    ],
)
@pytest.mark.parametrize("level", ["verified", "reconfirmed"])
def test_gate_opens_once_a_verified_matching_wish_is_recorded(
    kind, destination, option, wish_destination, level
):
    """Refused first; after a matching verified statement the same request executes."""
    case, request = _scheduled(kind, destination)
    _state(case, option=option, destination=wish_destination, verification="stated")
    _refusal(request)

    _state(case, option=option, destination=wish_destination, verification=level)
    seq_before = Case.objects.get(pk=case.pk).last_event_seq
    services.request_transition(actor=SYSTEM, request=request, status=RS.EXECUTED)
    assert Request.objects.get(pk=request.pk).status == RS.EXECUTED
    event = TimelineEvent.objects.get(case=case, case_seq=seq_before + 1)
    assert event.kind == EventKind.REQUEST_STATUS_CHANGED
    assert event.changes["status"] == [RS.SCHEDULED, RS.EXECUTED]


@pytest.mark.django_db
def test_gate_closes_again_when_the_verified_wish_is_superseded():
    """A change of mind after verification blocks the transfer that rested on the old wish."""
    case, request = _scheduled("third_state_transfer", "KR")
    verified = _state(case, option="third_state", destination="KR")
    services.intention_supersede(
        actor=SYSTEM,
        intention=verified,
        option="return_home",
        stated_on=dt.date(2025, 4, 1),
        setting="private_neutral_interview",
        verification="verified",
    )
    assert "not 'Transfer to a third state'" in _refusal(request)


@pytest.mark.django_db
def test_gate_ignores_a_contested_verification():
    """Once the verified statement is contested, the older unverified one is current again."""
    case, request = _scheduled("repatriation")
    _state(case, option="return_home", verification="stated")
    verified = _state(case, option="return_home")
    services.intention_contest(actor=SYSTEM, intention=verified, reason="Interpreter was SBU")
    assert "only stated" in _refusal(request)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "kind",
    [
        "medical_treatment",
        "asylum",
        "exchange_inclusion",
        "exchange_exclusion",
        "family_contact",
    ],
)
def test_non_gated_kinds_execute_without_any_statement(kind):
    """Requests that move nobody across a border are not held by the consent gate."""
    case, request = _scheduled(kind)
    assert case.current_intention is None
    services.request_transition(actor=SYSTEM, request=request, status=RS.EXECUTED)
    assert Request.objects.get(pk=request.pk).status == RS.EXECUTED


def test_gate_is_checked_only_on_execution(db):
    """Filing, accepting and scheduling a gated request need no verified statement."""
    case, request = _scheduled("repatriation")
    assert request.status == RS.SCHEDULED
    assert case.current_intention is None
