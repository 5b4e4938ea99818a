"""Imports in the admin: upload with a mapping saved by name, the report as a table, commit."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.imports.models import ImportMapping, ImportRun, ImportStatus
from cases.models import Person, TimelineEvent
from tests.imports.conftest import case_data_counts, csv_bytes
from tests.support.clients import session_client
from tests.support.roles import ANALYST, user_in_role

pytestmark = pytest.mark.django_db

CONTENT = csv_bytes(
    [["ICRC", "Name", "Born"], ["CTA-5", "Baek", "2001-02-03"], ["CTA-6", "Kim", "31.02.1999"]]
)
COLUMNS = {"ICRC": "icrc_number", "Name": "working_name", "Born": "birth_date"}


@pytest.fixture
def admin_client(officer):
    officer.is_staff = True
    officer.save()
    return session_client(officer)


def test_upload_save_the_mapping_read_the_report_and_commit(admin_client, officer):
    """The upload runs the dry run; the page shows each row with its line; the commit
    button applies the rows; the report stays on the page afterwards."""
    before = case_data_counts()
    response = admin_client.post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("exchange.csv", CONTENT),
            "kind": "exchange",
            "columns": json.dumps(COLUMNS),
            "save_mapping_as": "Exchange list",
        },
    )
    run = ImportRun.objects.get()
    assert response.status_code == 302, response.content[:2000]
    assert case_data_counts() == before
    assert ImportMapping.objects.get().columns == COLUMNS
    assert run.mapping.name == "Exchange list" and run.status == ImportStatus.DRY_RUN
    page = admin_client.get(reverse("admin:cases_importrun_change", args=[run.pk]))
    text = page.content.decode()
    assert "Creates Baek." in text and "is not a date that exists" in text
    assert 'name="_commit"' in text

    response = admin_client.post(
        reverse("admin:cases_importrun_change", args=[run.pk]),
        {"_commit": "Commit", "skip_rejected": "1"},
    )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == ImportStatus.COMMITTED
    baek = Person.objects.get(working_name="Baek")
    event = TimelineEvent.objects.get(kind="person.created", person=baek)
    assert event.channel == "admin" and event.actor_id == officer.pk
    page = admin_client.get(reverse("admin:cases_importrun_change", args=[run.pk]))
    text = page.content.decode()
    assert "Creates Baek." in text and "created" in text and 'name="_commit"' not in text


def test_a_commit_refused_shows_why_and_writes_nothing(admin_client):
    admin_client.post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("l.csv", CONTENT),
            "kind": "other",
            "columns": json.dumps(COLUMNS),
        },
    )
    run = ImportRun.objects.get()
    before = case_data_counts()
    response = admin_client.post(
        reverse("admin:cases_importrun_change", args=[run.pk]), {"_commit": "Commit"}, follow=True
    )
    assert "in conflict or in error (lines 3)" in response.content.decode()
    assert case_data_counts() == before


def test_a_bad_file_is_shown_on_the_form(admin_client):
    response = admin_client.post(
        reverse("admin:cases_importrun_add"),
        {"file": SimpleUploadedFile("l.xlsx", b"not a zip"), "kind": "other"},
    )
    assert response.status_code == 200
    assert "not a readable XLSX workbook" in response.content.decode()
    assert ImportRun.objects.count() == 0


def test_analysts_cannot_open_imports(db):
    analyst = user_in_role(ANALYST, is_staff=True)
    client = session_client(analyst)
    assert client.get(reverse("admin:cases_importrun_changelist")).status_code == 403
    assert client.get(reverse("admin:cases_importrun_add")).status_code == 403


def test_a_create_held_for_its_likely_duplicate_is_committed_once_confirmed(admin_client):
    import datetime as dt

    from tests import factories as f

    f.person("Baek", birth_date=dt.date(2001, 2, 3))
    content = csv_bytes([["ICRC", "Name", "Born"], ["", "Baek", "2001-02-03"]])
    admin_client.post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("l.csv", content),
            "kind": "other",
            "columns": json.dumps(COLUMNS),
        },
    )
    run = ImportRun.objects.get()
    assert run.report["rows"][0]["outcome"] == "conflict"
    page = admin_client.get(reverse("admin:cases_importrun_change", args=[run.pk])).content
    assert b'name="confirm"' in page
    url = reverse("admin:cases_importrun_change", args=[run.pk])
    admin_client.post(url, {"_commit": "Commit"}, follow=True)
    assert Person.objects.filter(working_name="Baek").count() == 1
    admin_client.post(url, {"_commit": "Commit", "confirm": "2"}, follow=True)
    assert ImportRun.objects.get().status == ImportStatus.COMMITTED
    assert Person.objects.filter(working_name="Baek").count() == 2


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_a_stored_report_words_its_duplicates_reasons_in_english(language):
    """The report is stored and read by everyone: an officer importing in Ukrainian or
    Korean stores the reasons in English, as the timeline's summaries are."""
    import datetime as dt

    from cases.preferences import account_language_set
    from tests import factories as f

    officer = f.user(f"importer-{language}", is_staff=True, is_superuser=True)
    account_language_set(user=officer, language=language)
    f.person("Baek", birth_date=dt.date(2001, 2, 3))
    content = csv_bytes([["ICRC", "Name", "Born"], ["", "Baek", "2001-02-03"]])
    session_client(officer).post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("l.csv", content),
            "kind": "other",
            "columns": json.dumps(COLUMNS),
        },
    )
    (duplicate,) = ImportRun.objects.get().report["rows"][0]["duplicates"]
    details = [reason["detail"] for reason in duplicate["reasons"]]
    assert "Same birth date: 2001-02-03" in details, details
