"""The API offers likely duplicates on writes and on a check, merges, undoes and redirects."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.duplicates.models import PersonMerge
from cases.duplicates.services import person_merge
from cases.models import Person, PersonName, TimelineEvent
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

CHECK = reverse("api:person-duplicates")
LIST = reverse("api:person-list")


def _detail(person, verb: str | None = None) -> str:
    name = f"api:person-{verb}" if verb else "api:person-detail"
    return reverse(name, kwargs={"uuid": person.uuid})


@pytest.fixture
def officer():
    client, _token = token_client(user_in_role(CASE_OFFICER), name="officer")
    return client


@pytest.fixture
def analyst():
    client, _token = token_client(user_in_role(ANALYST), name="analyst")
    return client


def test_creating_a_second_lee_answers_the_first_as_a_possible_duplicate(officer):
    """The create answer carries possible_duplicates: the person, a score, the reasons."""
    ri = f.person("Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin")])
    response = officer.post(
        LIST, {"working_name": "Ли", "names": [{"value": "Lee", "script": "latin"}]}, format="json"
    )
    assert response.status_code == 201, response.content
    found = response.json()["possible_duplicates"]
    assert [d["person"]["uuid"] for d in found] == [str(ri.uuid)]
    assert found[0]["person"]["url"].endswith(_detail(ri))
    assert found[0]["score"] == 0.6
    assert found[0]["reasons"][0]["code"] == "name"


def test_renaming_answers_duplicates_and_an_unrelated_name_none(officer):
    """An update answers the duplicates of the renamed person (never himself)."""
    f.person("Paek", names=[])
    kim = f.person("Kim", names=[])
    response = officer.patch(
        _detail(kim), {"working_name": "Baek", "version": kim.version}, format="json"
    )
    assert response.status_code == 200, response.content
    assert [d["person"]["working_name"] for d in response.json()["possible_duplicates"]] == ["Paek"]
    response = officer.patch(_detail(kim), {"working_name": "Kim", "version": 2}, format="json")
    assert response.json()["possible_duplicates"] == []


def test_the_check_answers_without_writing(officer):
    """POST /persons/duplicates/ answers the list and writes no row and no event."""
    baek = f.person("Baek", names=[], unit="11th Corps")
    persons, names, events = (
        Person.objects.count(),
        PersonName.objects.count(),
        TimelineEvent.objects.count(),
    )
    response = officer.post(
        CHECK, {"working_name": "백", "unit": "11th corps", "names": ["Paek"]}, format="json"
    )
    assert response.status_code == 200, response.content
    [found] = response.json()["possible_duplicates"]
    assert found["person"]["uuid"] == str(baek.uuid)
    assert [r["code"] for r in found["reasons"]] == ["name", "unit"]
    assert found["score"] == 0.7
    assert (Person.objects.count(), PersonName.objects.count()) == (persons, names)
    assert TimelineEvent.objects.count() == events


def test_the_check_tells_a_reader_nothing_he_may_not_see(officer, analyst):
    """An analyst is not told of a match on a hidden name or a service number."""
    f.person("Prisoner B", names=[NameSpec("Paek", "latin")], service_number="55-9")
    body = {"working_name": "Baek", "service_number": "55-9"}
    assert analyst.post(CHECK, body, format="json").json()["possible_duplicates"] == []
    [found] = officer.post(CHECK, body, format="json").json()["possible_duplicates"]
    assert [r["code"] for r in found["reasons"]] == ["name", "service_number"]


def test_the_check_refuses_bad_input(officer):
    """No working name is a 400 naming the field."""
    response = officer.post(CHECK, {"names": ["Ri"]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "working_name"


def test_merge_and_undo_through_the_api(officer):
    """Merge answers the record; the old id redirects (308); undo brings it back."""
    ri = f.person("Ri", names=[])
    lee = f.person("Lee", names=[])
    f.case(reference="UA-2025-0002", person_obj=lee)
    response = officer.post(
        _detail(lee, "merge"),
        {"into": str(ri.uuid), "into_version": 1, "version": 1, "reason": "Same man"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["merged"]["uuid"] == str(lee.uuid) and body["into"]["uuid"] == str(ri.uuid)
    assert body["moved"] == {"cases.case.person": 1} and body["undone_at"] is None

    response = officer.get(_detail(lee))
    assert response.status_code == 308
    assert response["Location"].endswith(_detail(ri))
    listed = [p["uuid"] for p in officer.get(LIST).json()["results"]]
    assert str(lee.uuid) not in listed and str(ri.uuid) in listed

    response = officer.patch(_detail(lee), {"rank": "private", "version": 2}, format="json")
    assert response.status_code == 410
    assert _detail(ri) in response.json()["detail"]

    response = officer.post(_detail(lee, "unmerge"), {"reason": "Brothers"}, format="json")
    assert response.status_code == 428
    response = officer.post(
        _detail(lee, "unmerge"), {"reason": "Brothers", "version": 2}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["undone_at"] is not None
    assert officer.get(_detail(lee)).status_code == 200
    assert Person.objects.get(pk=lee.pk).cases.count() == 1


def test_merge_needs_versions_and_the_change_permission(officer, analyst):
    """A stale version is 412, no version 428; a reader is refused (403); nothing moves."""
    ri = f.person("Ri", names=[])
    lee = f.person("Lee", names=[])
    body = {"into": str(ri.uuid), "into_version": 1, "reason": "Same man"}
    assert officer.post(_detail(lee, "merge"), body, format="json").status_code == 428
    stale = {**body, "into_version": 5, "version": 1}
    assert officer.post(_detail(lee, "merge"), stale, format="json").status_code == 412
    ok = {**body, "version": 1}
    assert analyst.post(_detail(lee, "merge"), ok, format="json").status_code == 403
    assert not PersonMerge.objects.exists()
    assert Person.objects.get(pk=lee.pk).merged_into is None


def test_a_read_only_token_cannot_merge():
    """A read-only token of an officer is refused."""
    client, _ = token_client(user_in_role(CASE_OFFICER), name="ro", read_only=True)
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    body = {"into": str(ri.uuid), "into_version": 1, "version": 1, "reason": "Same"}
    assert client.post(_detail(lee, "merge"), body, format="json").status_code == 403


def test_merging_into_a_tombstone_is_refused(officer):
    """A merged person cannot be merged again, nor merged into (400, nothing written)."""
    ri, lee, yi = (f.person(n, names=[]) for n in ("Ri", "Lee", "Yi"))
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same")
    body = {"into": str(lee.uuid), "into_version": 2, "version": 1, "reason": "Same"}
    response = officer.post(_detail(yi, "merge"), body, format="json")
    assert response.status_code == 400, response.content
    assert PersonMerge.objects.count() == 1


def test_the_check_finds_a_person_by_the_number_of_a_document_he_carried(officer, analyst):
    """A document number on record is a reason for an officer, never shown to an analyst
    (document numbers are sensitive)."""
    from cases.identity import services as identity

    carrier = f.person("Prisoner C", names=[])
    identity.identity_document_record(
        actor=f.SYSTEM, person=carrier, kind="military_id", issuer_country="RU", number="RU 4417"
    )
    body = {"working_name": "Prisoner C", "document_numbers": ["ru-4417"]}
    [found] = officer.post(CHECK, body, format="json").json()["possible_duplicates"]
    assert found["person"]["uuid"] == str(carrier.uuid)
    assert "identity_document" in [r["code"] for r in found["reasons"]]
    seen = analyst.post(CHECK, body, format="json").json()["possible_duplicates"]
    assert all("identity_document" not in [r["code"] for r in p["reasons"]] for p in seen)
    other = officer.post(
        CHECK, {"working_name": "Somebody Else", "document_numbers": ["RU 4417"]}, format="json"
    ).json()["possible_duplicates"]
    assert [p["person"]["uuid"] for p in other] == [str(carrier.uuid)]
