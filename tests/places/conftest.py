"""A fixed "today" and a small world of places for the places, movements and cards tests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from cases import clocks
from cases.places import services as place_services
from tests import factories as f

#: The day the tests' clock reads.
TODAY = dt.date(2025, 2, 10)


@pytest.fixture
def today(monkeypatch):
    """Fix the day deadlines are measured against; return a setter to move it."""
    day = {"value": TODAY}
    monkeypatch.setattr(clocks, "today", lambda: day["value"])

    def set_today(value: dt.date) -> dt.date:
        day["value"] = value
        return value

    set_today.value = lambda: day["value"]
    return set_today


@dataclass
class Places:
    """A detaining party, its places and a case captured by it."""

    ukraine: Any
    kyiv: Any
    camp: Any
    hospital: Any
    case: Any


@pytest.fixture
def places(db) -> Places:
    ukraine = f.party("Ukraine", country="UA")
    kyiv = place_services.place_create(
        actor=f.SYSTEM,
        name="SBU detention facility, Kyiv",
        kind="prison",
        detaining_party=ukraine,
        country="UA",
        subdivision_code="UA-30",
    )
    camp = place_services.place_create(
        actor=f.SYSTEM, name="Camp West", kind="camp", detaining_party=ukraine, country="UA"
    )
    hospital = place_services.place_create(
        actor=f.SYSTEM, name="Military hospital", kind="hospital", detaining_party=ukraine
    )
    case = f.case(reference="UA-2025-0001", detaining_party=ukraine)
    return Places(ukraine=ukraine, kyiv=kyiv, camp=camp, hospital=hospital, case=case)
