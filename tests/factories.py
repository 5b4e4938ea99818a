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
    _earn(fields)
    return services.intention_record(actor=SYSTEM, case=case_obj, **fields)


def _earn(fields: dict) -> None:
    """Fill in the circumstances that earn the statement's level, where a test left them out.

    A verified or reconfirmed statement was heard by the ICRC in private, after the person
    was told his options; a witnessed one had an NGO present.
    """
    level = fields.get("verification")
    if level in ("verified", "reconfirmed"):
        fields.setdefault("setting", "private_neutral_interview")
        if fields.get("heard_by") is None:
            fields["heard_by"] = neutral_party()
        fields.setdefault("detaining_power_present", "no")
        fields.setdefault("options_explained", True)
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


def verified_wish(case_obj, option: str, destination: str = "", **kwargs):
    """Record what the person told the ICRC in private: a statement that earns 'verified'."""
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

    A step that moves the person across a border first records his verified wish for it, so
    that the consent gate opens (tests of the gate itself build their statements by hand).
    """
    for step in _shortest_path(CASE_TRANSITIONS, case_obj.status, status):
        extra = {}
        option = consent.GATED_CASE_STATUSES.get(step)
        if option == "third_state":
            extra["destination_country"] = "KR"
        if (
            option
            and not consent.check(
                case_obj, consent.Move(option, extra.get("destination_country", ""))
            ).passed
        ):
            verified_wish(case_obj, option, extra.get("destination_country", ""))
        case_obj = services.case_change_status(actor=SYSTEM, case=case_obj, status=step, **extra)
    return case_obj


def advance_request(request_obj, status: str):
    """Move a request to ``status`` along a shortest allowed path, one service call per step."""
    for step in _shortest_path(REQUEST_TRANSITIONS, request_obj.status, status):
        request_obj = services.request_transition(actor=SYSTEM, request=request_obj, status=step)
    return request_obj
