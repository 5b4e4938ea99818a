"""The identity services: each write stores its row and appends exactly one event."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.identity import services as identity
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import TimelineEvent
from cases.services import StaleObjectError
from tests import factories as f
from tests.support import timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def baek():
    person = f.person("Baek", names=[], nationalities=["KP"])
    return f.case(reference="UA-2025-0002", person_obj=person)


def test_document_record_stores_the_row_and_one_event_on_the_latest_case(baek):
    """A document is stored for the person, and ``identity_document.recorded`` joins his
    most recent case with the fields given; the summary names neither number nor name."""
    russia = f.party("Russian Federation", country="RU")
    source = f.source("Capture report")
    with timeline.assert_one_event(kind="identity_document.recorded", actor=None, case=baek) as new:
        document = identity.identity_document_record(
            actor=f.SYSTEM,
            person=baek.person,
            kind="military_id",
            issuer=russia,
            issuer_country="RU",
            number="RU-0001",
            name_on_document="Another man",
            genuineness="not_his_own",
            source=source,
        )
    assert list(baek.person.identity_documents.all()) == [document]
    event = new.event
    assert event.subject_type == "identitydocument"
    assert event.subject_uuid == document.uuid
    assert event.person_id == baek.person.pk
    assert event.source == source
    assert event.changes["number"] == [None, "RU-0001"]
    assert event.changes["genuineness"] == [None, "not_his_own"]
    assert event.changes["issuer"] == [None, timeline.ref(russia)]
    assert "RU-0001" not in event.summary and "Another man" not in event.summary
    assert event.object["number"] == "RU-0001"
    assert event.subject_version == 1


def test_document_without_an_issuer_is_refused_and_leaves_nothing(baek):
    """An issuer (a party or a country) is required; the refused write stores no row and
    appends no event."""
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        identity.identity_document_record(actor=f.SYSTEM, person=baek.person, kind="passport")
    assert "issuer" in error.value.message_dict
    assert not IdentityDocument.objects.exists()


def test_document_update_checks_the_version_and_records_the_changes(baek):
    """A correction names the version it was made on: a stale one is refused without an
    event; a current one bumps the version and records ``{field: [old, new]}``."""
    document = identity.identity_document_record(
        actor=f.SYSTEM, person=baek.person, kind="military_id", issuer_country="RU"
    )
    with timeline.assert_no_event(), pytest.raises(StaleObjectError):
        identity.identity_document_update(
            actor=f.SYSTEM, identitydocument=document, expected_version=7, genuineness="forged"
        )
    with timeline.assert_one_event(
        kind="identity_document.updated", changes={"genuineness": ["unknown", "forged"]}
    ):
        updated = identity.identity_document_update(
            actor=f.SYSTEM, identitydocument=document, expected_version=1, genuineness="forged"
        )
    assert updated.version == 2
    with timeline.assert_no_event():
        identity.identity_document_update(
            actor=f.SYSTEM, identitydocument=updated, expected_version=2, genuineness="forged"
        )


def test_identifier_is_unique_per_scheme(baek):
    """The same value in the same scheme is refused for another person (a validation error,
    nothing written); the same value in another scheme is allowed."""
    ri = f.person("Ri", names=[])
    identity.external_identifier_record(
        actor=f.SYSTEM, person=baek.person, scheme="icrc", value="CTA-1"
    )
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        identity.external_identifier_record(actor=f.SYSTEM, person=ri, scheme="icrc", value="CTA-1")
    assert "already" in str(error.value)
    assert ExternalIdentifier.objects.count() == 1
    with timeline.assert_one_event(kind="external_identifier.recorded", case=None):
        identity.external_identifier_record(actor=f.SYSTEM, person=ri, scheme="nib", value="CTA-1")
    # Ri has no case: the event joins his own chain.
    event = TimelineEvent.objects.latest("id")
    assert event.person_id == ri.pk


def test_identifier_update_to_a_held_value_is_refused(baek):
    """Renumbering onto a value another row holds in the scheme is refused, row unchanged."""
    identity.external_identifier_record(
        actor=f.SYSTEM, person=baek.person, scheme="icrc", value="CTA-1"
    )
    other = identity.external_identifier_record(
        actor=f.SYSTEM, person=baek.person, scheme="icrc", value="CTA-2"
    )
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        identity.external_identifier_update(
            actor=f.SYSTEM, externalidentifier=other, expected_version=1, value="CTA-1"
        )
    other.refresh_from_db()
    assert (other.value, other.version) == ("CTA-2", 1)


def test_nationality_claim_keeps_the_nationalities_field_as_it_is(baek):
    """A claim is a row of its own; the person's ``nationalities`` (what filters read) is
    not changed by it."""
    korea = f.party("Republic of Korea", country="KR")
    with timeline.assert_one_event(kind="nationality_claim.recorded", case=baek) as new:
        claim = identity.nationality_claim_record(
            actor=f.SYSTEM,
            person=baek.person,
            country="KR",
            claimed_by=korea,
            basis="Constitution, Art. 3",
        )
    assert new.event.changes == {
        "country": [None, "KR"],
        "claimed_by": [None, timeline.ref(korea)],
        "basis": [None, "Constitution, Art. 3"],
    }
    assert list(NationalityClaim.objects.all()) == [claim]
    baek.person.refresh_from_db()
    assert [c.code for c in baek.person.nationalities] == ["KP"]


def test_unknown_field_is_refused(baek):
    """A field the service does not take is refused, naming it."""
    with pytest.raises(ValidationError) as error:
        identity.nationality_claim_record(
            actor=f.SYSTEM, person=baek.person, country="KR", claimed_by=None, colour="red"
        )
    assert "colour" in error.value.message_dict


def test_person_update_records_the_new_identity_fields(baek):
    """The Art. 17 and 122 fields and the command he served under change through
    ``person_update`` with one ``person.updated`` event."""
    russia = f.party("Russian Federation", country="RU")
    with timeline.assert_one_event(
        kind="person.updated",
        changed_fields={"family_name", "father_first_name", "serving_under", "internment_number"},
    ):
        services.person_update(
            actor=f.SYSTEM,
            person=baek.person,
            family_name="Baek",
            father_first_name="X",
            serving_under=russia,
            internment_number="UA-INT-1",
        )
