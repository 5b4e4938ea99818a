"""Builders for test data. They write through the services, so every row has its event."""

import datetime as dt
import itertools
from collections import deque

from django.contrib.auth import get_user_model
from django.utils import timezone

from cases import consent, services
from cases.services import Actor, NameSpec
from cases.transitions import CASE_TRANSITIONS, REQUEST_TRANSITIONS

_counter = itertools.count(1)

SYSTEM = Actor.system("tests")


def party(name: str | None = None, *, kind: str = "state", country: str = "UA", **kwargs):
    """Create a party through the service."""
    return services.party_create(
        actor=SYSTEM, name=name or f"Party {next(_counter)}", kind=kind, country=country, **kwargs
    )


def source(title: str | None = None, **kwargs):
    """Create a source through the service."""
    return services.source_create(actor=SYSTEM, title=title or f"Report {next(_counter)}", **kwargs)


def person(working_name: str = "Ri", *, names=None, **kwargs):
    """Create a person with name variants through the service."""
    if names is None:
        names = [NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")]
    return services.person_create(actor=SYSTEM, working_name=working_name, names=names, **kwargs)


def case(*, reference: str | None = None, person_obj=None, detaining_party=None, **kwargs):
    """Open a case (and a person and a party if not given) through the services."""
    kwargs.setdefault("capture_date", dt.date(2025, 1, 9))
    return services.case_open(
        actor=SYSTEM,
        reference=reference or f"UA-2025-{next(_counter):04d}",
        person=person_obj or person(),
        detaining_party=detaining_party or party(),
        **kwargs,
    )


def intention(case_obj, **kwargs):
    """Record a stated intention through the service."""
    fields = {
        "option": "third_state",
        "destination_country": "KR",
        "stated_on": dt.date(2025, 2, 25),
        "setting": "legislator_interview",
        "verification": "stated",
    }
    if kwargs.get("verification") in ("verified", "reconfirmed") and "setting" not in kwargs:
        fields["setting"] = "private_neutral_interview"
    fields.update(kwargs)
    _earn(fields, case_obj)
    return services.intention_record(actor=SYSTEM, case=case_obj, **fields)


def _earn(fields: dict, case_obj) -> None:
    """Fill in the circumstances that earn the statement's level, where a test left them out.

    A verified or reconfirmed statement was heard by the ICRC in private, after the person
    was told his options, in a private interview during its visit that day; a witnessed one
    had an NGO present.
    """
    level = fields.get("verification")
    if level in ("verified", "reconfirmed"):
        fields.setdefault("setting", "private_neutral_interview")
        if fields.get("heard_by") is None:
            fields["heard_by"] = neutral_party()
        fields.setdefault("detaining_power_present", "no")
        fields.setdefault("options_explained", True)
        if "interview" not in fields:
            fields["interview"] = private_interview(
                case_obj, on=fields.get("stated_on"), visiting_body=fields["heard_by"]
            )
    elif level == "witnessed" and not fields.get("present_parties"):
        fields["present_parties"] = [_observer()]


def _observer():
    from cases.models import Party

    existing = Party.objects.filter(name="Independent Observers").first()
    return existing or party("Independent Observers", kind="ngo", country="CH")


def neutral_party():
    """Return the ICRC: the neutral body whose private interviews verify a statement."""
    from cases.models import Party

    existing = Party.objects.filter(name="International Committee of the Red Cross").first()
    return existing or party(
        "International Committee of the Red Cross",
        kind="international_organisation",
        country="CH",
        is_neutral=True,
    )


def visit(*, visiting_body=None, visited_on=None, detaining_party=None, **kwargs):
    """Record a visit (by the ICRC unless told otherwise) through the service."""
    from cases.visits.services import visit_record

    return visit_record(
        actor=SYSTEM,
        visiting_body=visiting_body or neutral_party(),
        visited_on=visited_on or timezone.localdate(),
        detaining_party=detaining_party or party(),
        **kwargs,
    )


def private_interview(case_obj, *, on=None, visiting_body=None, in_private=True, **kwargs):
    """Record a visit on day ``on`` (today by default) that saw the case's person in private.

    The visiting body is the ICRC unless another one is given; a party of the detaining power
    cannot visit its own places, so the ICRC visits instead and the statement's level says why
    it is not earned.
    """
    from cases.visits.services import interview_record

    body = visiting_body or neutral_party()
    detaining = case_obj.detaining_party
    if body.root_id() == detaining.root_id():
        body = neutral_party()
    seen = visit(visiting_body=body, visited_on=on, detaining_party=detaining)
    return interview_record(
        actor=SYSTEM, visit=seen, case=case_obj, in_private=in_private, **kwargs
    )


def verified_wish(case_obj, option: str, destination: str = "", **kwargs):
    """Record what the person told the ICRC in private: a statement that earns 'verified'.

    The ICRC's visit that day and the private interview it was taken in are recorded first.
    """
    fields = {
        "option": option,
        "destination_country": destination,
        "stated_on": timezone.localdate(),
        "setting": "private_neutral_interview",
        "heard_by": neutral_party(),
        "detaining_power_present": "no",
        "options_explained": True,
        "verification": "verified",
    }
    fields.update(kwargs)
    if "interview" not in fields:
        fields["interview"] = private_interview(
            case_obj, on=fields["stated_on"], visiting_body=fields["heard_by"]
        )
    return services.intention_record(actor=SYSTEM, case=case_obj, **fields)


def user(username: str | None = None, **kwargs):
    """Create a login (users are not case data, so no service and no event)."""
    return get_user_model().objects.create_user(
        username=username or f"officer{next(_counter)}", **kwargs
    )


def request(case_obj, *, kind: str = "medical_treatment", addressed_to=None, **kwargs):
    """File a request (or a draft, with ``draft=True``) through the service."""
    if kind == "third_state_transfer":
        kwargs.setdefault("destination_country", "KR")
    return services.request_file(
        actor=SYSTEM, case=case_obj, kind=kind, addressed_to=addressed_to or party(), **kwargs
    )


def _shortest_path(transitions, start: str, goal: str) -> list[str]:
    """Return the statuses after ``start`` on a shortest allowed path to ``goal``."""
    previous = {start: None}
    queue = deque([start])
    while queue:
        status = queue.popleft()
        if status == goal:
            path = []
            while status != start:
                path.append(status)
                status = previous[status]
            return path[::-1]
        for following in sorted(transitions[status]):
            if following not in previous:
                previous[following] = status
                queue.append(following)
    raise ValueError(f"No allowed path from {start} to {goal}.")


def advance_case(case_obj, status: str):
    """Move a case to ``status`` along a shortest allowed path, one service call per step.

    A step that moves the person across a border is a handover (``handover``): his verified
    wish for it is recorded first when the gate would be shut, and a request that makes the
    move is filed and scheduled (tests of the gate itself build their statements by hand).
    A release says where to: the detaining state.
    """
    for step in _shortest_path(CASE_TRANSITIONS, case_obj.status, status):
        option = consent.GATED_CASE_STATUSES.get(step)
        if option:
            destination = "KR" if option == "third_state" else ""
            if not consent.check(case_obj, consent.Move(option, destination)).passed:
                verified_wish(case_obj, option, destination)
            kind = "third_state_transfer" if option == "third_state" else "repatriation"
            extra = {"destination_country": destination} if destination else {}
            move = advance_request(request(case_obj, kind=kind, **extra), "scheduled")
            handover(move)
            case_obj = type(case_obj).objects.get(pk=case_obj.pk)
            continue
        extra = {}
        if step == "released":
            extra["released_to"] = case_obj.detaining_party.country.code or "UA"
        case_obj = services.case_change_status(actor=SYSTEM, case=case_obj, status=step, **extra)
    return case_obj


def receiving_authority_for(request_obj):
    """Return an authority of the state the request takes him to, as a handover needs.

    The request's addressee when it is of that state, else the power he depends on, else a
    state party of that country (created when none is on file). When the destination is
    unknown the addressee is returned, and the handover refuses it.
    """
    from cases.exchanges.services import handover_destinations, state_country
    from cases.models import Party
    from cases.timeline.sinks import RowSink

    case_obj = type(request_obj.case).objects.get(pk=request_obj.case_id)
    move = consent.move_for_request(request_obj)
    wanted = handover_destinations(RowSink(), case_obj, move) if move is not None else set()
    for candidate in (request_obj.addressed_to, case_obj.person.power_depends_on):
        if candidate is not None and state_country(candidate) in wanted:
            return candidate
    if not wanted:
        return request_obj.addressed_to
    country = sorted(wanted)[0]
    existing = Party.objects.filter(kind="state", country=country, parent=None).first()
    return existing or party(f"State of {country}", country=country)


def handover(request_obj, *, occurred_on=None, receiving_authority=None, **kwargs):
    """Record the handover that executes a scheduled request, through its service.

    Without a ``reconfirmation`` none is taken there: the gate passes on his current wish.
    Without a ``receiving_authority`` he is handed to an authority of the state he goes to.
    """
    from cases.exchanges.services import handover_record

    return handover_record(
        actor=SYSTEM,
        request=request_obj,
        occurred_on=occurred_on or timezone.localdate(),
        receiving_authority=receiving_authority or receiving_authority_for(request_obj),
        **kwargs,
    )


def advance_request(request_obj, status: str):
    """Move a request to ``status`` along a shortest allowed path, one service call per step.

    Executing a request that moves the person across a border is a handover: the case's
    release is approved first and the handover recorded (``handover``).
    """
    for step in _shortest_path(REQUEST_TRANSITIONS, request_obj.status, status):
        if step == "executed" and consent.move_for_request(request_obj) is not None:
            case_obj = type(request_obj.case).objects.get(pk=request_obj.case_id)
            if case_obj.status != "release_approved":
                advance_case(case_obj, "release_approved")
            handover(request_obj)
            request_obj = type(request_obj).objects.get(pk=request_obj.pk)
            continue
        request_obj = services.request_transition(actor=SYSTEM, request=request_obj, status=step)
    return request_obj
