"""Exports carry identity, places and notifications; the sensitive identity never reaches an
analyst's file, in either format."""

import csv
import datetime as dt
import io
import zipfile

import openpyxl
import pytest

from cases import clocks
from cases.identity import services as identity
from cases.models import Case
from cases.notifications import services as notifications
from cases.pages import exports
from cases.places import services as place_services
from cases.services import person_update
from tests import factories
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

#: One canary per sensitive value an export could carry.
CANARIES = {
    "family_name": "CanaryFamilyQx1",
    "given_names": "CanaryGivenQx2",
    "father_first_name": "CanaryFatherQx3",
    "mother_maiden_name": "CanaryMotherQx4",
    "person_to_inform": "CanaryInformQx5",
    "correspondence_address": "CanaryAddressQx6",
}
DOCUMENT_CANARY = "CanaryDocumentQx7"
NAME_ON_DOCUMENT_CANARY = "CanaryNameOnDocQx8"


@pytest.fixture
def held(monkeypatch):
    """A case with a place, an overdue capture card, an overdue pending notification, an ICRC
    number, two nationality claims, a commander, and a canary in every sensitive field."""
    monkeypatch.setattr(clocks, "today", lambda: dt.date(2025, 3, 1))
    system = factories.SYSTEM
    russia = factories.party("Russian Federation", country="RU")
    korea = factories.party("Democratic People's Republic of Korea", country="KP")
    ukraine = factories.party("Ukraine", country="UA")
    person = factories.person("Ri")
    person = person_update(actor=system, person=person, serving_under=russia, **CANARIES)
    case = factories.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    camp = place_services.place_create(
        actor=system, name="Camp West", kind="camp", detaining_party=ukraine
    )
    kyiv = place_services.place_create(
        actor=system, name="Kyiv hospital", kind="hospital", detaining_party=ukraine
    )
    place_services.movement_record(
        actor=system, case=case, to_place=camp, moved_on=dt.date(2025, 1, 9), kind="capture"
    )
    place_services.movement_record(
        actor=system,
        case=case,
        from_place=camp,
        to_place=kyiv,
        moved_on=dt.date(2025, 2, 1),
        kind="transfer",
    )
    notifications.notification_recipients_set(actor=system, case=case, recipients=[korea])
    notifications.notifications_open(
        actor=system, case=case, reason="transfer", occurred_on=dt.date(2025, 2, 1)
    )
    identity.identity_document_record(
        actor=system,
        person=person,
        kind="military_id",
        issuer_country="RU",
        number=DOCUMENT_CANARY,
        name_on_document=NAME_ON_DOCUMENT_CANARY,
    )
    identity.external_identifier_record(actor=system, person=person, scheme="icrc", value="CTA-7")
    identity.nationality_claim_record(actor=system, person=person, country="KP", claimed_by=korea)
    identity.nationality_claim_record(actor=system, person=person, country="RU", claimed_by=russia)
    return Case.objects.get(pk=case.pk)


def _csv(client) -> tuple[str, list[dict[str, str]]]:
    response = client.get("/cases/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return text, list(csv.DictReader(io.StringIO(text)))


def _xlsx(client) -> tuple[str, list[dict[str, object]]]:
    response = client.get("/cases/export.xlsx")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        text = "".join(book.read(name).decode() for name in book.namelist())
    rows = list(openpyxl.load_workbook(io.BytesIO(data))["Cases"].iter_rows(values_only=True))
    return text, [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_export_carries_place_deadlines_identifiers_claims_and_commander(client, held):
    client.force_login(user_in_role(ANALYST, "analyst"))
    _text, (row,) = _csv(client)
    assert row["Held now at"] == "Kyiv hospital"
    assert row["Capture card due"] == "2025-02-08"
    assert row["Capture card overdue"] == "yes"
    assert row["Notification due"] == "2025-02-08"
    assert row["Notification overdue"] == "yes"
    assert row["Serving under"] == "Russian Federation"
    assert row["External identifiers"] == "icrc:CTA-7"
    assert row["Nationality claims"] == (
        "KP (claimed by Democratic People's Republic of Korea); RU (claimed by Russian Federation)"
    )
    _text, (sheet_row,) = _xlsx(client)
    assert sheet_row["External identifiers"] == "icrc:CTA-7"
    assert sheet_row["Capture card due"] == dt.datetime(2025, 2, 8)


def test_nothing_is_overdue_before_its_day(client, held, monkeypatch):
    monkeypatch.setattr(clocks, "today", lambda: dt.date(2025, 2, 8))
    client.force_login(user_in_role(ANALYST, "analyst"))
    _text, (row,) = _csv(client)
    assert (row["Capture card overdue"], row["Notification overdue"]) == ("no", "no")


@pytest.mark.parametrize("read", [_csv, _xlsx], ids=["csv", "xlsx"])
def test_sensitive_identity_never_reaches_an_analysts_export(client, held, read):
    """Canary: no sensitive value is in the analyst's file, and its columns are not there."""
    client.force_login(user_in_role(ANALYST, "analyst"))
    text, (row,) = read(client)
    for canary in (*CANARIES.values(), DOCUMENT_CANARY, NAME_ON_DOCUMENT_CANARY):
        assert canary not in text
    assert not set(exports.SENSITIVE_COLUMNS) & set(row)


@pytest.mark.parametrize("read", [_csv, _xlsx], ids=["csv", "xlsx"])
def test_an_officer_who_may_see_them_gets_the_sensitive_columns(client, held, read):
    client.force_login(user_in_role(CASE_OFFICER, "officer"))
    text, (row,) = read(client)
    assert row["Family name"] == CANARIES["family_name"]
    assert row["Address for correspondence"] == CANARIES["correspondence_address"]
    assert row["Identity documents"] == f"military_id RU: {DOCUMENT_CANARY}"
    # The name on the document is not an export column for anyone.
    assert NAME_ON_DOCUMENT_CANARY not in text


def test_export_query_count_is_the_same_for_one_row_and_for_many(
    client, held, django_assert_num_queries, monkeypatch
):
    """Reading the rows costs one query for the cases, then per chunk one each for the
    names, identifiers, claims, pending notifications and (for a reader of sensitive
    values) documents: six for one row, six for thirty-one."""
    monkeypatch.setattr(exports, "CHUNK_SIZE", 50)
    client.force_login(user_in_role(CASE_OFFICER, "officer"))

    def read_rows() -> list[str]:
        response = client.get("/cases/export.csv")
        with django_assert_num_queries(6):
            return b"".join(response.streaming_content).decode("utf-8-sig").splitlines()[1:]

    assert len(read_rows()) == 1
    party = factories.party()
    for _ in range(30):
        case = factories.case(detaining_party=party)
        identity.external_identifier_record(
            actor=factories.SYSTEM, person=case.person, scheme="nib", value=f"N-{case.pk}"
        )
    assert len(read_rows()) == 31


def test_rows_equal_the_rows_read_from_model_instances(held):
    factories.case()  # a case with none of it
    cases = Case.objects.order_by("reference", "pk")
    for show_sensitive in (True, False):
        expected = [
            exports.case_row(case, show_sensitive=show_sensitive)
            for case in exports.export_queryset(cases)
        ]
        assert list(exports.rows(cases, show_sensitive=show_sensitive)) == expected
        assert len(expected[0]) == len(exports.columns(show_sensitive=show_sensitive))
