"""A merged person is a tombstone: nothing new may be hung on him, on any path.

The case API already refuses him (``CaseInputSerializer.person``); these are the other doors.
A row written onto a tombstone is hidden with him (lists and searches leave him out) and is
not moved by any merge, so an ICRC number recorded on him blocks the same number on the
person he was merged into, who is the only one anyone can find.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cases import services
from cases.duplicates.services import person_merge
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import Case, Person
from tests import factories as f
from tests.support.admin import form_data
from tests.support.clients import session_client, token_client
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def merged():
    """Lee, merged into Ri: return (the tombstone, the survivor)."""
    ri = f.person("Ri", names=[])
    lee = f.person("Lee", names=[])
    f.case(reference="UA-2025-0001", person_obj=ri)
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same man")
    return Person.objects.get(pk=lee.pk), Person.objects.get(pk=ri.pk)


@pytest.fixture
def officer():
    client, _token = token_client(user_in_role(CASE_OFFICER, "tomb-officer"))
    return client


@pytest.mark.parametrize(
    ("route", "body", "model"),
    [
        ("external-identifiers", {"scheme": "icrc", "value": "CTA-TOMB-1"}, ExternalIdentifier),
        ("identity-documents", {"kind": "military_id", "issuer_country": "RU"}, IdentityDocument),
        ("nationality-claims", {"country": "KR", "basis": "constitution"}, NationalityClaim),
    ],
)
def test_the_api_hangs_no_identity_row_on_a_merged_person(merged, officer, route, body, model):
    """POST with the tombstone's id is refused (400 or 410), as opening a case for him is."""
    tombstone, _survivor = merged
    if route == "nationality-claims":
        body = {**body, "claimed_by": str(f.party("Republic of Korea", country="KR").uuid)}
    response = officer.post(
        f"{API}/{route}/", {"person": str(tombstone.uuid), **body}, format="json"
    )
    assert response.status_code in (400, 410), (response.status_code, response.content)
    assert not model.objects.filter(person=tombstone).exists()


def test_the_case_service_opens_no_case_for_a_merged_person(merged):
    """``case_open`` (the admin, commands and the seed call it) refuses a tombstone, as the
    API's serializer does; else the case lands on a person no list shows."""
    tombstone, _survivor = merged
    with pytest.raises(ValidationError):
        services.case_open(
            actor=f.SYSTEM,
            reference="UA-2025-0077",
            person=tombstone,
            detaining_party=f.party("Ukraine", country="UA"),
        )
    assert not Case.objects.filter(reference="UA-2025-0077").exists()


def test_the_admin_opens_no_case_for_a_merged_person(merged):
    """The admin's case form refuses the tombstone's key in its person field."""
    tombstone, _survivor = merged
    client = session_client(user_in_role(CASE_OFFICER, "tomb-admin", is_staff=True))
    add = reverse("admin:cases_case_add")
    page = client.get(add)
    assert page.status_code == 200
    data = form_data(page)
    data.update(
        {
            "reference": "UA-2025-0078",
            "person": str(tombstone.pk),
            "detaining_party": str(f.party("Ukraine", country="UA").pk),
        }
    )
    client.post(add, data)
    assert not Case.objects.filter(reference="UA-2025-0078").exists()


def test_the_admin_does_not_edit_a_merged_person(merged):
    """The tombstone's change page (reachable from the "merged" filter) saves nothing: an
    edit there lands on a person no list or search shows, as the API's 410 says."""
    tombstone, _survivor = merged
    client = session_client(user_in_role(CASE_OFFICER, "tomb-editor", is_staff=True))
    url = reverse("admin:cases_person_change", args=[tombstone.pk])
    page = client.get(url)
    if page.status_code != 200:
        return  # the page itself is refused: safe
    data = form_data(page)
    data.update({"working_name": "Lee (edited)", "rank": "sergeant"})
    client.post(url, data)
    fresh = Person.objects.get(pk=tombstone.pk)
    assert (fresh.working_name, fresh.rank, fresh.version) == (
        tombstone.working_name,
        tombstone.rank,
        tombstone.version,
    )


def test_a_list_filtered_by_a_merged_persons_id_does_not_answer_an_empty_list(officer):
    """Lee's ICRC number moved to Ri with the merge. An integrator asking for Lee's
    identifiers by his old id gets them (Ri's rows) or an error naming Ri; an empty 200 says
    Lee has no ICRC number, which is false (his detail answers 308 to Ri, his lists do not).
    """
    from cases.identity import services as identity

    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    f.case(reference="UA-2025-0001", person_obj=ri)
    f.case(reference="UA-2025-0002", person_obj=lee)
    identity.external_identifier_record(actor=f.SYSTEM, person=lee, scheme="icrc", value="CTA-9")
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same man")
    response = officer.get(f"{API}/external-identifiers/", {"person": str(lee.uuid)})
    if response.status_code == 200:
        values = [row["value"] for row in response.json()["results"]]
        assert values == ["CTA-9"], "the merged person's id answers an empty list"
    else:
        assert str(ri.uuid) in response.content.decode()
