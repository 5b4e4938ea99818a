"""Builders for test data. They write through the services, so every row has its event."""

import datetime as dt
import itertools
from collections import deque

from django.contrib.auth import get_user_model

from cases import services
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
    """Move a case to ``status`` along a shortest allowed path, one service call per step."""
    for step in _shortest_path(CASE_TRANSITIONS, case_obj.status, status):
        case_obj = services.case_change_status(actor=SYSTEM, case=case_obj, status=step)
    return case_obj


def advance_request(request_obj, status: str):
    """Move a request to ``status`` along a shortest allowed path, one service call per step."""
    for step in _shortest_path(REQUEST_TRANSITIONS, request_obj.status, status):
        request_obj = services.request_transition(actor=SYSTEM, request=request_obj, status=step)
    return request_obj
