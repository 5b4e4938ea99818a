"""A case held by Ukraine, the ICRC and a visit to where he is held, for the visits tests."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import factories as f

#: The day of the ICRC's visit (and of the statements taken in it).
DAY = dt.date(2025, 3, 1)


@pytest.fixture
def ukraine(db):
    """The detaining party."""
    return f.party("Ukraine", country="UA")


@pytest.fixture
def icrc(db):
    """The neutral visiting body."""
    return f.neutral_party()


@pytest.fixture
def ri(ukraine):
    """Ri's case, held by Ukraine."""
    return f.case(reference="UA-2025-0001", person_obj=f.person("Ri"), detaining_party=ukraine)


@pytest.fixture
def seen(ri, icrc, ukraine):
    """The ICRC's visit of ``DAY`` that saw Ri in private: the interview."""
    return f.private_interview(ri, on=DAY, visiting_body=icrc)


def verified_fields(**overrides) -> dict:
    """Return what a statement heard by the ICRC in private on ``DAY`` says, at 'verified'."""
    fields = {
        "option": "third_state",
        "destination_country": "KR",
        "stated_on": DAY,
        "setting": "private_neutral_interview",
        "heard_by": f.neutral_party(),
        "detaining_power_present": "no",
        "options_explained": True,
        "verification": "verified",
    }
    fields.update(overrides)
    return fields
