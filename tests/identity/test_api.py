"""The identity routes of the API and the person resource's new fields."""

from __future__ import annotations

import pytest

from cases import services
from cases.feed import cursor as feed_cursor
from cases.identity import services as identity
from cases.identity.models import ExternalIdentifier
from tests import factories as f
from tests.support import timeline
from tests.support.clients import field_errors, results, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def baek():
    person = f.person("Baek", names=[], nationalities=["KP"])
    return f.case(reference="UA-2025-0002", person_obj=person).person


@pytest.fixture
def officer():
    client, _token = token_client(user_in_role(CASE_OFFICER, "identity-officer"))
    return client


@pytest.fixture
def analyst():
    client, _token = token_client(user_in_role(ANALYST, "identity-analyst"))
    return client


def _document(person, **fields):
    return identity.identity_document_record(
        actor=f.SYSTEM,
        person=person,
        kind="military_id",
        issuer_country="RU",
        number="RU-SECRET-1",
        name_on_document="Another Man",
        genuineness="not_his_own",
        **fields,
    )


def test_officer_records_a_document_with_an_idempotency_key(officer, baek):
    """A create answers 201 with the row and its ETag; the same key again answers the same
    row without a second row or event."""
    body = {
        "person": str(baek.uuid),
        "kind": "military_id",
        "issuer_country": "RU",
        "number": "RU-7",
        "genuineness": "not_his_own",
        "reason": "Found on him",
    }
    with timeline.assert_one_event(kind="identity_document.recorded", channel="api"):
        first = officer.post(
            f"{API}/identity-documents/", body, format="json", HTTP_IDEMPOTENCY_KEY="doc-1"
        )
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["person"], data["number"], data["version"]) == (str(baek.uuid), "RU-7", 1)
    assert first["ETag"]
    with timeline.assert_no_event():
        again = officer.post(
            f"{API}/identity-documents/", body, format="json", HTTP_IDEMPOTENCY_KEY="doc-1"
        )
    assert again.json()["uuid"] == data["uuid"]
    assert baek.identity_documents.count() == 1


def test_document_without_an_issuer_is_a_400(officer, baek):
    """No party and no country: a problem naming the issuer, nothing written."""
    with timeline.assert_no_event():
        response = officer.post(
            f"{API}/identity-documents/",
            {"person": str(baek.uuid), "kind": "passport"},
            format="json",
        )
    assert "issuer" in field_errors(response)


def test_duplicate_identifier_is_a_400_not_a_500(officer, baek):
    """A value held already in the scheme is refused with a message a person can act on."""
    identity.external_identifier_record(actor=f.SYSTEM, person=baek, scheme="icrc", value="CTA-42")
    other = f.person("Ri", names=[])
    with timeline.assert_no_event():
        response = officer.post(
            f"{API}/external-identifiers/",
            {"person": str(other.uuid), "scheme": "icrc", "value": "CTA-42"},
            format="json",
        )
    errors = field_errors(response)
    assert any("already" in m for messages in errors.values() for m in messages), errors
    assert ExternalIdentifier.objects.count() == 1


def test_lookup_by_scheme_and_value_finds_the_person(analyst, baek):
    """``?scheme=icrc&value=X`` answers who holds ICRC number X, and only that."""
    identity.external_identifier_record(actor=f.SYSTEM, person=baek, scheme="icrc", value="CTA-42")
    identity.external_identifier_record(actor=f.SYSTEM, person=baek, scheme="nib", value="X-42")
    rows = results(
        analyst.get(f"{API}/external-identifiers/", {"scheme": "icrc", "value": "CTA-42"})
    )
    assert [(r["person"], r["value"]) for r in rows] == [(str(baek.uuid), "CTA-42")]
    assert (
        results(analyst.get(f"{API}/external-identifiers/", {"scheme": "nib", "value": "CTA-42"}))
        == []
    )
    bad = analyst.get(f"{API}/external-identifiers/", {"scheme": "nope"})
    assert bad.status_code == 400


def test_edits_need_the_version(officer, baek):
    """PATCH without a version is a 428, with a stale one a 412, with the current one a 200
    that appends one ``nationality_claim.updated``."""
    claim = identity.nationality_claim_record(
        actor=f.SYSTEM, person=baek, country="KR", claimed_by=f.party("Republic of Korea")
    )
    url = f"{API}/nationality-claims/{claim.uuid}/"
    assert officer.patch(url, {"basis": "Art. 3"}, format="json").status_code == 428
    stale = officer.patch(url, {"basis": "Art. 3"}, format="json", HTTP_IF_MATCH='"9"')
    assert stale.status_code == 412
    with timeline.assert_one_event(
        kind="nationality_claim.updated", changes={"basis": ["", "Art. 3"]}
    ):
        ok = officer.patch(url, {"basis": "Art. 3", "version": 1}, format="json")
    assert ok.status_code == 200, ok.content
    assert ok.json()["version"] == 2


def test_reader_without_view_sensitive_never_sees_document_numbers_or_family(
    analyst, baek, monkeypatch
):
    """An analyst gets null and ``redacted`` for the document's number, name and notes and
    for the person's names and family fields, on the resources and in the feed's objects;
    kind, issuer and genuineness stay visible."""
    _document(baek, notes="Carried in his jacket")
    services.person_update(
        actor=f.SYSTEM,
        person=baek,
        family_name="SECRET-FAMILY",
        father_first_name="SECRET-FATHER",
        person_to_inform="SECRET-MOTHER",
        correspondence_address="SECRET-ADDRESS",
        internment_number="UA-INT-9",
        service_notes="Under Russian command",
    )
    document = results(analyst.get(f"{API}/identity-documents/"))[0]
    assert (document["number"], document["name_on_document"], document["notes"]) == (
        None,
        None,
        None,
    )
    assert set(document["redacted"]) == {"number", "name_on_document", "notes"}
    assert (document["kind"], document["genuineness"]) == ("military_id", "not_his_own")
    person = analyst.get(f"{API}/persons/{baek.uuid}/").json()
    for field in ("family_name", "father_first_name", "person_to_inform", "correspondence_address"):
        assert person[field] is None and field in person["redacted"], field
    assert person["internment_number"] == "UA-INT-9"
    assert person["service_notes"] == "Under Russian command"
    # Serve the test's own uncommitted events (see tests/feed/test_api_feed.py).
    monkeypatch.setattr(
        feed_cursor, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1"
    )
    feed = analyst.get(f"{API}/events/", {"limit": 500})
    assert feed.status_code == 200
    text = feed.content.decode()
    for secret in ("RU-SECRET-1", "Another Man", "Carried in his jacket", "SECRET-"):
        assert secret not in text, secret
    objects = [
        e["object"] for e in feed.json()["results"] if e["subject_type"] == "identitydocument"
    ]
    assert objects and all(o["number"] is None for o in objects)


def test_officer_sees_what_the_analyst_does_not(officer, baek):
    """A case officer holds ``cases.view_sensitive``: the values are shown."""
    _document(baek)
    document = results(officer.get(f"{API}/identity-documents/"))[0]
    assert (document["number"], document["redacted"]) == ("RU-SECRET-1", [])


def test_writer_without_view_sensitive_may_not_write_a_document_number(baek):
    """An integration that may write but not read sensitive values cannot send a number."""
    from tests.support.roles import read_write_integration

    client, _token = token_client(read_write_integration("identity-rw"))
    response = client.post(
        f"{API}/identity-documents/",
        {"person": str(baek.uuid), "kind": "passport", "issuer_country": "KP", "number": "1"},
        format="json",
    )
    assert response.status_code == 403
    assert "number" in response.json()["detail"]


def test_person_resource_takes_the_new_fields(officer, baek):
    """PATCH of a person sets the structured names and the command he served under."""
    russia = f.party("Russian Federation", country="RU")
    response = officer.patch(
        f"{API}/persons/{baek.uuid}/",
        {
            "version": baek.version,
            "family_name": "Baek",
            "serving_under": str(russia.uuid),
            "service_notes": "Korean People's Army, under Russian command",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["family_name"] == "Baek"
    assert data["serving_under"] == {"uuid": str(russia.uuid), "name": russia.name}


@pytest.mark.parametrize("count", [1, 30])
@pytest.mark.parametrize(
    "endpoint", ["identity-documents", "external-identifiers", "nationality-claims"]
)
def test_list_query_count_does_not_grow_with_rows(
    officer, baek, endpoint, count, django_assert_num_queries
):
    """Each list costs the same number of queries for 1 row as for 30."""
    korea = f.party("Republic of Korea", country="KR")
    for n in range(count):
        identity.identity_document_record(
            actor=f.SYSTEM, person=baek, kind="passport", issuer=korea, number=f"P{n}"
        )
        identity.external_identifier_record(
            actor=f.SYSTEM, person=baek, scheme="icrc", value=f"CTA-{n}", issued_by=korea
        )
        identity.nationality_claim_record(
            actor=f.SYSTEM, person=baek, country="KR", claimed_by=korea
        )
    officer.get(f"{API}/{endpoint}/")  # the token's first use is recorded outside the count
    with django_assert_num_queries(QUERIES[endpoint]):
        rows = results(officer.get(f"{API}/{endpoint}/", {"page_size": 500}))
    assert len(rows) == count


#: The count and the page (the token and its permissions were kept at the first request); the
#: documents' list also writes the access-log entries of the numbers it shows (one insert).
# + 1 on each: the state the list's ETag is decided from (cases/api/conditional.py).
QUERIES = {"identity-documents": 4, "external-identifiers": 3, "nationality-claims": 3}


@pytest.mark.parametrize(
    ("language", "words"),
    [("uk", "Інша особа вже має цей номер"), ("ko", "이 번호를 가진 다른 인물이 이미 있습니다")],
)
def test_a_duplicate_identifier_is_refused_in_the_readers_language(officer, baek, language, words):
    """The refusal's words follow Accept-Language; its field and code do not."""
    identity.external_identifier_record(actor=f.SYSTEM, person=baek, scheme="icrc", value="CTA-42")
    other = f.person("Ri", names=[])
    response = officer.post(
        f"{API}/external-identifiers/",
        {"person": str(other.uuid), "scheme": "icrc", "value": "CTA-42"},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    errors = field_errors(response)
    assert any(words in m for messages in errors.values() for m in messages), errors
