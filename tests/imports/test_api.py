"""``/api/v1/imports/`` and ``/api/v1/import-mappings/``: every answer checked against the
schema (the suite's autouse fixture), bad files answered 400, officers only."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cases.imports import parsing
from cases.imports.models import ImportRun, ImportStatus
from cases.models import Person
from tests.imports.conftest import case_data_counts, csv_bytes
from tests.support.clients import api_client, field_errors, token_client
from tests.support.roles import ANALYST, INTEGRATION, read_write_integration, user_in_role

pytestmark = pytest.mark.django_db

IMPORTS = "/api/v1/imports/"
MAPPINGS = "/api/v1/import-mappings/"
LIST = csv_bytes(
    [
        ["No.", "ICRC", "Name", "Name (Hangul)", "Born"],
        ["1", "CTA-9", "Kim Chol", "김철", "2001"],
        ["2", "CTA-8", "Pak", "", "19xx"],
    ],
    bom=True,
)
COLUMNS = {
    "No.": "",
    "ICRC": "icrc_number",
    "Name": "working_name",
    "Name (Hangul)": "name_hangul",
    "Born": "birth_date",
}


@pytest.fixture
def client(officer):
    client, _token = token_client(officer, name="import desk")
    return client


def _upload(client, content=LIST, name="exchange.csv", **fields):
    return client.post(
        IMPORTS,
        {"file": SimpleUploadedFile(name, content), **fields},
        format="multipart",
    )


def test_upload_with_a_saved_mapping_dry_run_commit_and_read_the_report(client):
    """The officer's path end to end; the report stays readable after the commit."""
    mapping = client.post(
        MAPPINGS, {"name": "Exchange list", "kind": "exchange", "columns": COLUMNS}
    )
    assert mapping.status_code == 201, mapping.content
    uploaded = _upload(client, mapping=mapping.json()["uuid"])
    assert uploaded.status_code == 201, uploaded.content
    body = uploaded.json()
    assert body["status"] == "uploaded" and body["report"] is None
    assert body["columns"] == COLUMNS and body["mapping"] == mapping.json()["uuid"]
    assert body["kind"] == "exchange"

    dry = client.post(f"{IMPORTS}{body['uuid']}/dry-run/", {}, format="json")
    assert dry.status_code == 200, dry.content
    report = dry.json()["report"]
    assert [(r["line"], r["outcome"]) for r in report["rows"]] == [(2, "create"), (3, "error")]
    assert report["rows"][0]["values"]["name_hangul"] == "김철"

    refused = client.post(f"{IMPORTS}{body['uuid']}/commit/", {}, format="json")
    assert field_errors(refused) == {
        "rows": [
            "1 rows are in conflict or in error (lines 3). Correct the file, or commit with "
            "skip_rejected to leave them out."
        ]
    }
    committed = client.post(
        f"{IMPORTS}{body['uuid']}/commit/", {"skip_rejected": True}, format="json"
    )
    assert committed.status_code == 200, committed.content
    assert committed.json()["status"] == "committed"
    assert committed.json()["report"]["committed"]["created"] == 1
    assert Person.objects.filter(working_name="Kim Chol").count() == 1

    again = client.get(f"{IMPORTS}{body['uuid']}/")
    assert again.json()["report"] == committed.json()["report"]
    listed = client.get(IMPORTS)
    assert [row["uuid"] for row in listed.json()["results"]] == [body["uuid"]]


def test_the_upload_takes_json_with_the_file_in_base64(client):
    response = client.post(
        IMPORTS,
        {
            "file_name": "list.csv",
            "content_base64": base64.b64encode(LIST).decode(),
            "columns": COLUMNS,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert ImportRun.objects.get().sha256 == response.json()["sha256"]


def _xlsx_not_a_zip() -> bytes:
    return b"this is not a workbook"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "list.csv", "The submitted file is empty."),
        ("Name\nRené\n".encode("cp1252"), "list.csv", "not UTF-8"),
        (_xlsx_not_a_zip(), "list.xlsx", "not a readable XLSX workbook"),
        (b"Name,Colour\nRi,red\n", "list.csv", "Unknown columns: Colour"),
    ],
)
def test_a_bad_file_is_a_400_saying_why_and_nothing_is_stored(client, content, name, message):
    """Wrong encoding, empty, an XLSX that is not a zip, unknown columns: 400, never 500."""
    response = _upload(client, content, name, columns='{"Name": "working_name"}')
    errors = field_errors(response)
    assert any(message in text for texts in errors.values() for text in texts), errors
    assert ImportRun.objects.count() == 0


def test_a_file_over_the_limit_is_a_400(client, monkeypatch):
    monkeypatch.setattr(parsing, "MAX_BYTES", 20)
    response = _upload(client, LIST, columns='{"Name": "working_name"}')
    assert "The largest file taken is" in field_errors(response)["file"][0]


def test_bad_upload_fields_are_400(client):
    assert "columns" in field_errors(_upload(client, LIST, columns="{not json"))
    assert "file" in field_errors(client.post(IMPORTS, {"kind": "icrc"}, format="json"))
    response = client.post(IMPORTS, {"file_name": "l.csv", "content_base64": "***"}, format="json")
    assert field_errors(response) == {"content_base64": ["This is not base64."]}
    response = client.post(MAPPINGS, {"name": "x", "columns": {"A": "colour"}}, format="json")
    assert "unknown fields: colour" in field_errors(response)["columns"][0]


@pytest.mark.parametrize("who", ["analyst", "integration", "read-write integration"])
def test_only_officers_import(who):
    """Analysts and integrations, even one that may write case data, are refused every door."""
    user = {
        "analyst": lambda: user_in_role(ANALYST),
        "integration": lambda: user_in_role(INTEGRATION),
        "read-write integration": read_write_integration,
    }[who]()
    client, _token = token_client(user)
    before = case_data_counts()
    assert _upload(client, columns='{"Name": "working_name"}').status_code == 403
    assert client.get(IMPORTS).status_code == 403
    assert client.get(MAPPINGS).status_code == 403
    assert (
        client.post(MAPPINGS, {"name": "x", "columns": COLUMNS}, format="json").status_code == 403
    )
    assert case_data_counts() == before and ImportRun.objects.count() == 0
    assert APIClient().get(IMPORTS).status_code == 401


def test_a_read_only_token_of_an_officer_cannot_import(officer):
    client, _token = token_client(officer, read_only=True)
    assert _upload(client, columns='{"Name": "working_name"}').status_code == 403


def test_a_committed_import_refuses_a_second_commit_and_a_second_dry_run(client):
    run = _upload(
        client,
        columns='{"No.": "", "ICRC": "icrc_number", "Name": "working_name", '
        '"Name (Hangul)": "", "Born": ""}',
    ).json()
    client.post(f"{IMPORTS}{run['uuid']}/dry-run/", {}, format="json")
    assert client.post(f"{IMPORTS}{run['uuid']}/commit/", {}, format="json").status_code == 200
    again = client.post(f"{IMPORTS}{run['uuid']}/commit/", {}, format="json")
    assert field_errors(again) == {"status": ["This import is committed already."]}
    dry = client.post(f"{IMPORTS}{run['uuid']}/dry-run/", {}, format="json")
    assert "committed" in field_errors(dry)["status"][0]


def test_the_commit_needs_the_dry_run_first(client):
    run = _upload(client, columns=_all_columns()).json()
    response = client.post(f"{IMPORTS}{run['uuid']}/commit/", {}, format="json")
    assert field_errors(response) == {"status": ["Run the dry run first, and read its report."]}
    assert ImportRun.objects.get().status == ImportStatus.UPLOADED


def _all_columns() -> str:
    import json

    return json.dumps(COLUMNS)


@pytest.mark.parametrize("runs", [1, 5])
def test_the_list_reads_the_same_number_of_queries_for_1_and_for_5(
    officer, runs, django_assert_num_queries
):
    """No query per row: the list shows no report and joins what it names."""
    from cases.imports import services

    for number in range(runs):
        services.import_upload(
            user=officer,
            file_name=f"{number}.csv",
            content=LIST + str(number).encode(),
            columns=COLUMNS,
        )
    client = api_client(officer)
    client.get(IMPORTS)  # warm the permission cache of the user
    with django_assert_num_queries(2):  # the count and the page
        response = client.get(IMPORTS)
    assert len(response.json()["results"]) == runs


def test_reading_a_report_that_shows_sensitive_values_is_logged(client, officer):
    from cases.models import AccessLogEntry

    run = _upload(client, columns=_all_columns()).json()
    client.post(f"{IMPORTS}{run['uuid']}/dry-run/", {}, format="json")
    before = AccessLogEntry.objects.count()
    assert (
        client.get(f"{IMPORTS}{run['uuid']}/").json()["report"]["rows"][0]["values"]["name_hangul"]
        == "김철"
    )
    entry = AccessLogEntry.objects.order_by("-id").first()
    assert AccessLogEntry.objects.count() == before + 1
    assert entry.object_uuid == ImportRun.objects.get().uuid
