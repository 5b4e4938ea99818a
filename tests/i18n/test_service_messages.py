"""A service's refusal reaches an API client in his language, with the same codes and fields.

One bad request per service area (requests, places, identity, notifications, imports,
exchanges, tasks) is sent with ``Accept-Language`` ``en``, ``uk`` and ``ko``: the status, every
error's ``code`` and ``field`` are the same in all three; the English ``detail`` is the
service's sentence, and the Ukrainian and Korean ones are translations of it (Cyrillic and
Hangul, and not the English).
"""

from __future__ import annotations

import re

import pytest

from cases.notifications.models import Notification
from cases.places import services as place_services
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import superuser

pytestmark = pytest.mark.django_db

API = "/api/v1"
SCRIPTS = {"uk": "[а-яіїєґ]", "ko": "[가-힣]"}


@pytest.fixture
def world():
    """A case, a party, a place, a person and a task done, and a writer's API client."""
    ukraine = f.party("Ukraine", country="UA")
    # The Power he depends on is a recipient: opening his case owes it a notification.
    person = f.person("Ri", power_depends_on=f.party("DPRK", country="KP"))
    case = f.case(reference="UA-2025-0101", detaining_party=ukraine, person_obj=person)
    camp = place_services.place_create(
        actor=f.SYSTEM, name="Camp West", kind="camp", detaining_party=ukraine, country="UA"
    )
    client, _token = token_client(superuser("service-words"))
    task = client.post(
        f"{API}/tasks/",
        {"case": str(case.uuid), "title": "Ask for a visit", "due_on": "2025-03-20"},
        format="json",
    )
    assert task.status_code == 201, task.content
    task_url = f"{API}/tasks/{task.json()['uuid']}/"
    done = client.post(f"{task_url}done/", {"version": 1}, format="json")
    assert done.status_code == 200, done.content
    return {"case": case, "party": ukraine, "camp": camp, "client": client, "task": task_url}


def requests_area(world):
    body = {
        "case": str(world["case"].uuid),
        "kind": "medical_treatment",
        "addressed_to": str(world["party"].uuid),
        "filed_on": "2999-01-01",
    }
    return (
        f"{API}/requests/",
        body,
        "filed_on",
        "2999-01-01 is in the future; give the day it happened.",
    )


def places_area(world):
    body = {
        "case": str(world["case"].uuid),
        "to_place": str(world["camp"].uuid),
        "moved_on": "2025-02-04",
        "kind": "transfer",
    }
    return (
        f"{API}/movements/",
        body,
        "from_place",
        "Say where he was moved from (only a capture has no origin).",
    )


def identity_area(world):
    body = {"person": str(world["case"].person.uuid), "kind": "passport"}
    return (
        f"{API}/identity-documents/",
        body,
        "issuer",
        "Name the issuer: a party, or the issuing country (or both).",
    )


def notifications_area(world):
    notification = Notification.objects.filter(case=world["case"]).first()
    assert notification is not None, "opening a case owes its notifications"
    return (
        f"{API}/notifications/{notification.uuid}/withhold/",
        {"version": notification.version, "withheld_reason": " "},
        "withheld_reason",
        None,
    )


def imports_area(world):
    return (
        f"{API}/import-mappings/",
        {"name": "Bad mapping", "columns": {"Name": "shoe_size"}},
        "columns",
        None,
    )


def exchanges_area(world):
    side = str(world["party"].uuid)
    return (
        f"{API}/exchanges/",
        {"name": "One-sided", "parties": [side, side]},
        "parties",
        "An exchange is between two sides: name two parties.",
    )


def tasks_area(world):
    return f"{world['task']}cancel/", {"version": 2}, "state", "The task is done already."


AREAS = [
    requests_area,
    places_area,
    identity_area,
    notifications_area,
    imports_area,
    exchanges_area,
    tasks_area,
]


def errors_of(response) -> list[dict]:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.mark.parametrize("area", AREAS, ids=[area.__name__ for area in AREAS])
def test_a_refusal_keeps_its_codes_and_fields_and_translates_its_words(world, area):
    url, body, field, english = area(world)
    answers = {
        language: errors_of(
            world["client"].post(url, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
        )
        for language in ("en", "uk", "ko")
    }
    shapes = {
        language: [(error["field"], error["code"]) for error in errors]
        for language, errors in answers.items()
    }
    assert shapes["uk"] == shapes["en"] == shapes["ko"]
    named = {
        language: [e for e in errors if e["field"] == field] for language, errors in answers.items()
    }
    assert named["en"], answers["en"]
    if english is not None:
        assert named["en"][0]["detail"] == english
    for language, script in SCRIPTS.items():
        detail = named[language][0]["detail"]
        assert detail != named["en"][0]["detail"]
        assert re.search(script, detail, re.IGNORECASE), detail
