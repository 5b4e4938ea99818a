"""The person page's identity inlines write through the services, one event per row."""

from __future__ import annotations

import pytest

from cases.identity import services as identity
from cases.identity.models import ExternalIdentifier, IdentityDocument
from tests import factories as f
from tests.support import timeline
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.support.clients import session_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def baek():
    person = f.person("Baek", names=[], nationalities=["KP"])
    return f.case(reference="UA-2025-0002", person_obj=person).person


@pytest.fixture
def officer():
    return user_in_role(CASE_OFFICER, "identity-admin", is_staff=True)


def _inline_prefix(page, model) -> str:
    for inline in page.context["inline_admin_formsets"]:
        if inline.formset.model is model:
            return inline.formset.prefix
    raise AssertionError(model)


def test_inline_correction_goes_through_the_update_service(officer, baek):
    """Changing an existing document on the person page appends one
    ``identity_document.updated`` by the officer through the admin, and nothing else."""
    document = identity.identity_document_record(
        actor=f.SYSTEM, person=baek, kind="military_id", issuer_country="RU"
    )
    client = session_client(officer)
    page = client.get(change_url(baek))
    data = form_data(page)
    prefix = _inline_prefix(page, IdentityDocument)
    data[f"{prefix}-0-genuineness"] = "not_his_own"
    with timeline.assert_one_event(
        kind="identity_document.updated",
        actor=officer,
        channel="admin",
        changes={"genuineness": ["unknown", "not_his_own"]},
    ):
        response = client.post(change_url(baek), data)
        assert response.status_code == 302, errors_text(response)
    document.refresh_from_db()
    assert (document.genuineness, document.version) == ("not_his_own", 2)


def test_inline_duplicate_identifier_is_a_form_error(officer, baek):
    """A value held already in the scheme is shown back on the page, not a server error;
    nothing is written."""
    other = f.person("Ri", names=[])
    identity.external_identifier_record(actor=f.SYSTEM, person=other, scheme="icrc", value="CTA-1")
    client = session_client(officer)
    page = client.get(change_url(baek))
    data = form_data(page)
    new_row(page, ExternalIdentifier, data, scheme="icrc", value="CTA-1")
    with timeline.assert_no_event():
        response = client.post(change_url(baek), data)
    assert response.status_code == 200
    assert "already" in response.content.decode()
    assert ExternalIdentifier.objects.count() == 1


def test_analyst_admin_page_withholds_numbers_and_family(baek):
    """A staff analyst without ``cases.view_sensitive`` sees neither the document's number
    nor the person's family fields on the person page."""
    from cases import services

    identity.identity_document_record(
        actor=f.SYSTEM,
        person=baek,
        kind="military_id",
        issuer_country="RU",
        number="NUMBER-CANARY",
        name_on_document="NAME-CANARY",
    )
    services.person_update(
        actor=f.SYSTEM, person=baek, mother_maiden_name="MOTHER-CANARY", given_names="GIVEN-CANARY"
    )
    client = session_client(user_in_role(ANALYST, "identity-admin-analyst", is_staff=True))
    page = client.get(change_url(baek))
    assert page.status_code == 200
    text = page.content.decode()
    for canary in ("NUMBER-CANARY", "NAME-CANARY", "MOTHER-CANARY", "GIVEN-CANARY"):
        assert canary not in text, canary
