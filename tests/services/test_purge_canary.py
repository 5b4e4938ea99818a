"""A purged person's identity survives nowhere in the database.

A person gets a unique canary in every identity field and related row (name variants, Art. 17
fields, documents, identifiers, claims, movements, capture card, notifications, notes), is
edited through the admin (so Django's change log has rows about him and his identity rows)
and through the API with an ``Idempotency-Key`` (so an answer naming him is kept), and his
case is purged. Then every text column of every table, found by the connection's
introspection, is searched for every canary, and the kept API answers are opened and
searched too. None may remain.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from cases import services
from cases.api.idempotency import unseal
from cases.choices import Channel
from cases.identity import services as identity
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import AccessLogEntry, IdempotencyKey
from cases.notifications import services as notifications
from cases.places import services as place_services
from cases.services import Actor, NameSpec
from tests import factories
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.support.clients import api_client, session_client
from tests.support.roles import superuser

pytestmark = pytest.mark.django_db

#: Field -> canary, for every free-text identity field of the person.
PERSON_CANARIES = {
    "working_name": "CnyWorkingZq01",
    "birth_place": "CnyBirthPlaceZq02",
    "service_number": "CnyServiceNoZq03",
    "family_links": "CnyFamilyLinksZq04",
    "medical_notes": "CnyMedicalZq05",
    "family_name": "CnyFamilyNameZq06",
    "given_names": "CnyGivenZq07",
    "father_first_name": "CnyFatherZq08",
    "mother_maiden_name": "CnyMotherZq09",
    "person_to_inform": "CnyInformZq10",
    "correspondence_address": "CnyAddressZq11",
    "internment_number": "CnyInternmentZq12",
    "rank": "CnyRankZq13",
    "unit": "CnyUnitZq14",
    "service_notes": "CnyServiceNotesZq15",
}
NAME_CANARIES = ("CnyNameLatinZq16", "CnyИмяZq17", "Cny이름Zq18")
ROW_CANARIES = {
    "document number": "CnyDocNumberZq19",
    "name on document": "CnyDocNameZq20",
    "document notes": "CnyDocNotesZq21",
    "icrc number": "CnyIcrcZq22",
    "claim basis": "CnyClaimBasisZq23",
    "capture place": "CnyCapturePlaceZq24",
    "detention place": "CnyDetentionZq25",
    "movement notes": "CnyMovementZq26",
    "card notes": "CnyCardNotesZq27",
    "withheld reason": "CnyWithheldZq28",
    "note body": "CnyNoteBodyZq29",
    "admin-edited family name": "CnyAdminFamilyZq30",
    "admin-added document": "CnyAdminDocZq31",
    "api-recorded identifier": "CnyApiIcrcZq32",
    "logged document": "CnyLoggedDocZq33",
}
CANARIES = (*PERSON_CANARIES.values(), *NAME_CANARIES, *ROW_CANARIES.values())

#: Where a canary may stay after a purge, and why (docs/identity.md says the same): none.
ALLOWED: dict[tuple[str, str], str] = {}

_TEXT_TYPES = ("char", "text", "json", "clob", "string")


def text_columns() -> list[tuple[str, str]]:
    """Return ``(table, column)`` for every text-like column of every table in the database."""
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            for column in connection.introspection.get_table_description(cursor, table):
                kind = connection.introspection.get_field_type(column.type_code, column) or ""
                if any(word in kind.lower() for word in _TEXT_TYPES):
                    found.append((table, column.name))
    return found


def where_found(canaries) -> dict[str, list[tuple[str, str]]]:
    """Return ``{canary: [(table, column), ...]}`` for each canary still stored as text."""
    quote = connection.ops.quote_name
    found: dict[str, list[tuple[str, str]]] = {}
    columns = text_columns()
    assert len(columns) > 100, "the introspection found too few text columns to trust"
    with connection.cursor() as cursor:
        for table, column in columns:
            text = f"CAST({quote(column)} AS TEXT)"
            for canary in canaries:
                # JSON columns escape non-ASCII characters; look for that spelling too.
                escaped = (
                    canary.encode("ascii", "backslashreplace").decode().replace("\\u", "\\\\u")
                )
                cursor.execute(
                    f"SELECT 1 FROM {quote(table)} WHERE {text} LIKE %s OR {text} LIKE %s LIMIT 1",
                    [f"%{canary}%", f"%{escaped}%"],
                )
                if cursor.fetchone() is not None:
                    found.setdefault(canary, []).append((table, column))
    return found


def kept_answers_naming(canaries) -> list[str]:
    """Return the canaries found in the kept (sealed) answers of API writes."""
    found = []
    for record in IdempotencyKey.objects.all():
        body = (unseal(bytes(record.body)) or b"").decode("utf-8", "replace")
        found += [canary for canary in canaries if canary in body]
    return found


def _identity_world(root):
    """Write the canaried person and case through the services, the admin and the API."""
    system = factories.SYSTEM
    ukraine = factories.party("Ukraine", country="UA")
    korea = factories.party("Republic of Korea", country="KR")
    person = factories.person(
        PERSON_CANARIES["working_name"],
        names=[
            NameSpec(NAME_CANARIES[0], "latin", "conventional"),
            NameSpec(NAME_CANARIES[1], "cyrillic"),
            NameSpec(NAME_CANARIES[2], "hangul"),
        ],
    )
    fields = {k: v for k, v in PERSON_CANARIES.items() if k != "working_name"}
    person = services.person_update(actor=system, person=person, **fields)
    case = factories.case(
        reference="UA-2025-0777",
        person_obj=person,
        detaining_party=ukraine,
        capture_place=ROW_CANARIES["capture place"],
        detention_place=ROW_CANARIES["detention place"],
    )
    identity.identity_document_record(
        actor=system,
        person=person,
        kind="military_id",
        issuer_country="RU",
        number=ROW_CANARIES["document number"],
        name_on_document=ROW_CANARIES["name on document"],
        notes=ROW_CANARIES["document notes"],
    )
    identity.external_identifier_record(
        actor=system, person=person, scheme="icrc", value=ROW_CANARIES["icrc number"]
    )
    identity.nationality_claim_record(
        actor=system,
        person=person,
        country="KR",
        claimed_by=korea,
        basis=ROW_CANARIES["claim basis"],
    )
    camp = place_services.place_create(
        actor=system, name="Camp North", kind="camp", detaining_party=ukraine
    )
    hospital = place_services.place_create(
        actor=system, name="Hospital East", kind="hospital", detaining_party=ukraine
    )
    capture = place_services.movement_record(
        actor=system,
        case=case,
        to_place=camp,
        moved_on=dt.date(2025, 1, 9),
        kind="capture",
        notes=ROW_CANARIES["movement notes"],
    )
    place_services.capture_card_record(
        actor=system,
        movement=capture,
        filled_in_on=dt.date(2025, 1, 10),
        health="wounded",
        notes=ROW_CANARIES["card notes"],
    )
    notifications.notification_recipients_set(actor=system, case=case, recipients=[korea])
    place_services.movement_record(
        actor=system,
        case=case,
        from_place=camp,
        to_place=hospital,
        moved_on=dt.date(2025, 2, 1),
        kind="transfer",
    )
    (notification,) = case.notifications.all()
    notifications.notification_withhold(
        actor=system, notification=notification, withheld_reason=ROW_CANARIES["withheld reason"]
    )
    services.note_add(actor=system, case=case, body=ROW_CANARIES["note body"])

    # The admin: the person's page, with a changed field and an added document.
    admin = session_client(root)
    page = admin.get(change_url(person))
    data = form_data(page)
    data["family_name"] = ROW_CANARIES["admin-edited family name"]
    new_row(
        page,
        IdentityDocument,
        data,
        kind="passport",
        issuer_country="KP",
        number=ROW_CANARIES["admin-added document"],
        genuineness="unknown",
    )
    saved = admin.post(change_url(person), data)
    assert saved.status_code == 302, errors_text(saved)
    # A change-log row about an identity row itself, with its text in it, as Django's own
    # admin writes them (str() of the row) and as rows from before the log kept text out are.
    document = IdentityDocument.objects.get(number=ROW_CANARIES["document number"])
    LogEntry.objects.create(
        user=root,
        content_type=ContentType.objects.get_for_model(document),
        object_id=str(document.pk),
        object_repr=ROW_CANARIES["logged document"],
        action_flag=CHANGE,
        change_message=f"Changed number: {ROW_CANARIES['document number']}",
    )

    # An export searched by his true name: the access log records the download.
    export = admin.get("/cases/export.csv", {"q": NAME_CANARIES[0]})
    assert export.status_code == 200
    b"".join(export.streaming_content)

    # The API, with an Idempotency-Key: the answer naming him is kept for a retry.
    api = api_client(root)
    answer = api.post(
        "/api/v1/external-identifiers/",
        {
            "person": str(person.uuid),
            "scheme": "nib",
            "value": ROW_CANARIES["api-recorded identifier"],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="purge-canary-1",
    )
    assert answer.status_code == 201, answer.content
    return case


def test_a_purged_persons_identity_survives_in_no_table():
    root = superuser("root")
    case = _identity_world(root)
    person = case.person
    # The world is what the test claims: every canary is stored somewhere before the purge,
    # the admin's change log has rows about the identity rows, and an answer is kept.
    before = where_found(CANARIES)
    assert set(before) == set(CANARIES), sorted(set(CANARIES) - set(before))
    assert kept_answers_naming(CANARIES) == [ROW_CANARIES["api-recorded identifier"]]
    (download,) = AccessLogEntry.objects.filter(channel="export")
    assert download.extra["filter"].startswith("q=sha256%3A")
    documents = list(IdentityDocument.objects.filter(person=person))
    assert len(documents) == 2
    identity_log = LogEntry.objects.filter(
        content_type__model__in=["identitydocument", "externalidentifier", "nationalityclaim"]
    )
    assert identity_log.exists()
    # The admin's own row about the person names the document it added (by uuid, no text).
    naming = LogEntry.objects.filter(change_message__contains=str(documents[-1].uuid))
    assert naming.exists()

    services.case_purge(
        actor=Actor(user=root, channel=Channel.ADMIN), case=case, reason="entered in error"
    )

    after = {
        canary: [place for place in places if place not in ALLOWED]
        for canary, places in where_found(CANARIES).items()
    }
    assert not {c: p for c, p in after.items() if p}, after
    assert kept_answers_naming(CANARIES) == []
    assert not identity_log.exists()
    assert not naming.exists()
    for model in (IdentityDocument, ExternalIdentifier, NationalityClaim):
        assert not model.objects.filter(person_id=person.pk).exists()
