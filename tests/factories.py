"""Builders for test data. They write through the services, so every row has its event."""

import datetime as dt
import itertools

from cases import services
from cases.services import Actor, NameSpec

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
