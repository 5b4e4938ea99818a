"""Writes cannot destroy or probe what the writer cannot read (cases/security/policy.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.models import Person, TimelineEvent
from tests.support.clients import token_client
from tests.support.roles import read_write_integration
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

TRUE_NAMES = {"리", "Ri", "Lee", "Yi"}


@pytest.fixture
def writer():
    """A read-write integration: it may change case data but not see sensitive values."""
    client, _token = token_client(read_write_integration("rw-integration"))
    return client


def names_of(person) -> set[str]:
    return set(Person.objects.get(pk=person.pk).names.values_list("value", flat=True))


def test_put_without_names_keeps_the_hidden_name_variants(writer):
    """PUT {"working_name": "Baek"} deleted every true-name variant; now it keeps them."""
    ri, _baek = ri_and_baek()
    person = ri.person
    response = writer.put(
        f"/api/v1/persons/{person.uuid}/",
        {"working_name": "Baek", "version": person.version},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert names_of(person) == TRUE_NAMES
    assert Person.objects.get(pk=person.pk).working_name == "Baek"


def test_put_with_pseudonyms_replaces_only_the_pseudonyms(writer):
    ri, _baek = ri_and_baek()
    person = ri.person
    pseudonym = {"value": "Prisoner 7", "script": "latin", "is_pseudonym": True}
    response = writer.put(
        f"/api/v1/persons/{person.uuid}/",
        {"working_name": "Ri", "names": [pseudonym], "version": person.version},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert names_of(person) == TRUE_NAMES | {"Prisoner 7"}
    assert [n["value"] for n in response.json()["names"]] == ["Prisoner 7"]
    # Sending back what it sees changes nothing: no new version, no event.
    version, events = response.json()["version"], TimelineEvent.objects.count()
    again = writer.put(
        f"/api/v1/persons/{person.uuid}/",
        {"working_name": "Ri", "names": [pseudonym], "version": version},
        format="json",
    )
    assert again.status_code == 200 and again.json()["version"] == version
    assert TimelineEvent.objects.count() == events


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "field, value",
    [
        ("medical_notes", "Gunshot wound to the jaw"),
        ("medical_notes", "a wrong guess"),
        ("medical_notes", ""),
        ("family_links", "x"),
        ("birth_place", "x"),
        ("service_number", "x"),
        ("names", [{"value": "리", "script": "hangul"}]),
        ("names", [{"value": "X", "script": "latin", "is_pseudonym": False}]),
    ],
)
def test_a_write_naming_a_sensitive_field_is_refused_and_changes_nothing(
    writer, method, field, value
):
    """403 naming the field, whether the guess is right or not: no version oracle."""
    ri, _baek = ri_and_baek()
    person = ri.person
    Person.objects.filter(pk=person.pk).update(medical_notes="Gunshot wound to the jaw")
    before = Person.objects.get(pk=person.pk)
    events = TimelineEvent.objects.count()
    body = {"working_name": "Ri", field: value, "version": before.version}
    response = getattr(writer, method)(f"/api/v1/persons/{person.uuid}/", body, format="json")
    assert response.status_code == 403
    assert field in response.json()["detail"]
    after = Person.objects.get(pk=person.pk)
    assert after.version == before.version
    assert after.medical_notes == "Gunshot wound to the jaw"
    assert names_of(person) == TRUE_NAMES
    assert TimelineEvent.objects.count() == events


def test_creating_a_person_with_a_true_name_is_refused_but_pseudonyms_pass(writer):
    refused = writer.post(
        "/api/v1/persons/",
        {"working_name": "Kim", "names": [{"value": "김", "script": "hangul"}]},
        format="json",
    )
    assert refused.status_code == 403 and "names" in refused.json()["detail"]
    assert not Person.objects.filter(working_name="Kim").exists()
    created = writer.post(
        "/api/v1/persons/",
        {
            "working_name": "Kim",
            "names": [{"value": "K.", "script": "latin", "is_pseudonym": True}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content


@pytest.mark.parametrize("field", ["quote", "conditions"])
def test_recording_a_statement_with_sensitive_words_is_refused(writer, field):
    ri, _baek = ri_and_baek()
    body = {
        "case": str(ri.uuid),
        "option": "undecided",
        "stated_on": dt.date(2025, 3, 1).isoformat(),
        "setting": "hearsay",
        "verification": "reported",
        field: "he wants to go home",
    }
    response = writer.post("/api/v1/intentions/", body, format="json")
    assert response.status_code == 403 and field in response.json()["detail"]
    assert not ri.intentions.exists()
    del body[field]
    assert writer.post("/api/v1/intentions/", body, format="json").status_code == 201


def test_an_officer_may_write_every_sensitive_field(officer_client):
    ri, _baek = ri_and_baek()
    person = ri.person
    response = officer_client.patch(
        f"/api/v1/persons/{person.uuid}/",
        {"medical_notes": "jaw", "names": [{"value": "리", "script": "hangul"}], "version": 1},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert names_of(person) == {"리"}
