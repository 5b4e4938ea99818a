"""Attack probes on imports: each asserts the safe behaviour; a failure is a finding."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse

from cases.identity import services as identity
from cases.imports import parsing, services
from cases.imports.models import ImportRun, ImportStatus
from cases.models import Person
from cases.services import Actor, NameSpec, person_update
from tests import factories as f
from tests.imports.conftest import case_data_counts, csv_bytes
from tests.support.clients import session_client, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db
IMPORTS = "/api/v1/imports/"


@pytest.fixture
def officer(db):
    return user_in_role(CASE_OFFICER, "atk-officer")


def _run(officer, content, name="l.csv", columns=None):
    run = services.import_upload(user=officer, file_name=name, content=content, columns=columns)
    return services.import_dry_run(user=officer, run=run)


def test_multipart_upload_with_idempotency_key(officer):
    client, _ = token_client(officer, name="desk")
    content = csv_bytes([["working_name"], ["Kim"]])
    r = client.post(
        IMPORTS,
        {"file": SimpleUploadedFile("l.csv", content)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert r.status_code == 201, r.content
    assert ImportRun.objects.get(uuid=r.json()["uuid"]).content == content
    again = client.post(
        IMPORTS,
        {"file": SimpleUploadedFile("l.csv", content)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert again.status_code == 201 and again.json()["uuid"] == r.json()["uuid"]
    other = client.post(
        IMPORTS,
        {"file": SimpleUploadedFile("l.csv", content + b"Pak\n")},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert other.status_code == 422
    assert ImportRun.objects.count() == 1


def test_non_sensitive_reader_sees_true_name_through_working_name(officer):
    """A reader without view_sensitive gets name_hangul null, but working_name/message?"""
    reader = user_in_role(ANALYST, "atk-reader", extra_permissions=["import_lists"])
    client, _ = token_client(reader, name="r")
    content = csv_bytes(
        [["icrc_number", "name_hangul", "service_number"], ["CTA-77", "김철", "SN-123"]]
    )
    up = client.post(IMPORTS, {"file": SimpleUploadedFile("l.csv", content)}, format="multipart")
    assert up.status_code == 201, up.content
    dry = client.post(f"{IMPORTS}{up.json()['uuid']}/dry-run/", {}, format="json")
    row = dry.json()["report"]["rows"][0]
    assert row["outcome"] == "error"
    assert "pseudonym" in row["message"]
    assert row["values"]["name_hangul"] is None
    assert "김철" not in json.dumps(row, ensure_ascii=False)


def test_a_true_name_never_becomes_the_working_name(officer):
    """A new person without a working_name column is a row error; with one, the true name
    stays a name variant and the analyst never reads it."""
    run = _run(officer, csv_bytes([["icrc_number", "name_hangul"], ["CTA-78", "김철"]]))
    assert run.report["rows"][0]["outcome"] == "error"
    assert "working name (a pseudonym)" in run.report["rows"][0]["message"]
    actor = Actor(user=officer, channel="api", label="t")
    run = services.import_commit(actor=actor, run=run, skip_rejected=True)
    assert not Person.objects.filter(external_identifiers__value="CTA-78").exists()
    run = _run(
        officer,
        csv_bytes([["icrc_number", "working_name", "name_hangul"], ["CTA-78", "P-78", "김철"]]),
        name="m.csv",
    )
    services.import_commit(actor=actor, run=run)
    person = Person.objects.get(external_identifiers__value="CTA-78")
    assert person.working_name == "P-78"
    analyst = user_in_role(ANALYST, "atk-analyst")
    client, _ = token_client(analyst, name="a")
    body = client.get(f"/api/v1/persons/{person.uuid}/").content.decode()
    assert "김철" not in body


def test_duplicate_reason_codes_leak_sensitive_matches_to_a_non_sensitive_reader(officer):
    """The report's duplicates were found as the officer; another reader sees their codes."""
    f.person("Zed", service_number="SN-999")
    run = _run(officer, csv_bytes([["working_name", "service_number"], ["Quux", "SN-999"]]))
    reader = user_in_role(ANALYST, "atk-reader2", extra_permissions=["import_lists"])
    client, _ = token_client(reader, name="r2")
    body = client.get(f"{IMPORTS}{run.uuid}/").json()
    assert body["report"]["rows"][0]["duplicates"] == []


def _report_read_by(user, run, name):
    client, _ = token_client(user, name=name)
    return client.get(f"{IMPORTS}{run.uuid}/").json()["report"]


def test_a_name_duplicate_resting_on_a_hidden_name_is_not_told(officer):
    """The dry run matched the row's working name to a stored man's true name (a hidden
    variant); a reader of the report without sensitive access is not told of that match,
    while a match on the stored man's pseudonym stays listed to him."""
    hidden = f.person(
        "P-101", names=[NameSpec("Hwang Song Chol", "latin")], birth_date=dt.date(1999, 3, 4)
    )
    told = f.person("P-102", names=[NameSpec("Mun Yong Ho", "latin", is_pseudonym=True)])
    run = _run(
        officer,
        csv_bytes(
            [
                ["working_name", "birth_date"],
                ["Hwang Song Chol", "1999-03-04"],
                ["Mun Yong Ho", ""],
            ]
        ),
    )
    found = {
        row["working_name"]: {d["person"]["uuid"]: d for d in row["duplicates"]}
        for row in run.report["rows"]
    }
    assert [r["code"] for r in found["Hwang Song Chol"][str(hidden.uuid)]["reasons"]] == [
        "name",
        "birth_date",
    ]
    assert str(told.uuid) in found["Mun Yong Ho"]

    reader = user_in_role(ANALYST, "atk-reader3", extra_permissions=["import_lists"])
    rows = {row["working_name"]: row for row in _report_read_by(reader, run, "r3")["rows"]}
    # Without the name, the birth date alone (0.25) is under the threshold: not offered.
    assert rows["Hwang Song Chol"]["duplicates"] == []
    assert "Hwang" not in json.dumps(rows["Hwang Song Chol"]["duplicates"])
    [offered] = rows["Mun Yong Ho"]["duplicates"]
    assert offered["person"]["uuid"] == str(told.uuid)
    assert [(r["code"], r["detail"]) for r in offered["reasons"]] == [("name", None)]

    # The officer who may read true names is still told of both, with the sentences.
    rows = {row["working_name"]: row for row in _report_read_by(officer, run, "o3")["rows"]}
    [dup] = rows["Hwang Song Chol"]["duplicates"]
    assert dup["person"]["uuid"] == str(hidden.uuid)
    assert "Hwang Song Chol" in dup["reasons"][0]["detail"]


def test_commit_overwrites_an_edit_made_after_the_dry_run(officer):
    person = f.person("Ri", rank="")
    identity.external_identifier_record(actor=f.SYSTEM, person=person, scheme="icrc", value="CTA-1")
    run = _run(
        officer, csv_bytes([["icrc_number", "working_name", "rank"], ["CTA-1", "Ri", "Private"]])
    )
    assert run.report["rows"][0]["changes"] == {"rank": ["", "Private"]}
    # A colleague corrects the rank after the dry run, through the service, with its version.
    person.refresh_from_db()
    assert run.report["rows"][0]["version"] == person.version
    person_update(actor=f.SYSTEM, person=person, expected_version=person.version, rank="Colonel")
    actor = Actor(user=officer, channel="api", label="t")
    with pytest.raises(ValidationError, match="conflict"):
        services.import_commit(actor=actor, run=run)
    run = services.import_commit(actor=actor, run=run, skip_rejected=True)
    row = run.report["rows"][0]
    assert row["outcome"] == "conflict" and row["committed"] == "skipped"
    assert "changed since the dry run; run the dry run again" in row["message"]
    person.refresh_from_db()
    assert person.rank == "Colonel"


def test_same_rows_in_another_order_without_numbers_are_created_twice(officer):
    a = csv_bytes(
        [["working_name", "birth_date"], ["Kim Chol", "2001-01-01"], ["Pak Song", "2002-02-02"]]
    )
    b = csv_bytes(
        [["working_name", "birth_date"], ["Pak Song", "2002-02-02"], ["Kim Chol", "2001-01-01"]]
    )
    actor = Actor(user=officer, channel="api", label="t")
    services.import_commit(actor=actor, run=_run(officer, a))
    run_b = _run(officer, b)
    rows = run_b.report["rows"]
    assert [r["outcome"] for r in rows] == ["conflict", "conflict"]
    assert all("confirm line" in r["message"] for r in rows)
    assert all(r["duplicates"][0]["imported"] for r in rows)
    with pytest.raises(ValidationError, match="conflict"):
        services.import_commit(actor=actor, run=run_b)
    run_b = services.import_commit(actor=actor, run=run_b, skip_rejected=True)
    assert run_b.report["committed"]["skipped"] == 2
    assert Person.objects.filter(working_name="Kim Chol").count() == 1


def test_a_create_held_for_its_duplicate_is_created_once_confirmed(officer):
    f.person("Kim Chol", birth_date=dt.date(2001, 1, 1))
    run = _run(officer, csv_bytes([["working_name", "birth_date"], ["Kim Chol", "2001-01-01"]]))
    row = run.report["rows"][0]
    assert row["outcome"] == "conflict" and row["duplicates"][0]["score"] >= 0.85
    client, _ = token_client(officer, name="desk")
    r = client.post(f"{IMPORTS}{run.uuid}/commit/", {"confirm": [2]}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["report"]["rows"][0]["committed"] == "created"
    assert Person.objects.filter(working_name="Kim Chol").count() == 2


def test_a_dry_run_finishing_after_a_commit_reopens_the_run(officer):
    content = csv_bytes([["working_name", "birth_date"], ["Solo Man", "2001-01-01"]])
    run = _run(officer, content)
    stale = ImportRun.objects.get(pk=run.pk)  # a dry run request read it...
    actor = Actor(user=officer, channel="api", label="t")
    services.import_commit(actor=actor, run=run)  # ...a commit finished meanwhile...
    with pytest.raises(ValidationError, match="committed"):
        services.import_dry_run(user=officer, run=stale)  # ...then the dry run saved.
    fresh = ImportRun.objects.get(pk=run.pk)
    assert fresh.status == ImportStatus.COMMITTED
    assert "committed" in fresh.report
    with pytest.raises(ValidationError, match="committed already"):
        services.import_commit(actor=actor, run=fresh)
    assert Person.objects.filter(working_name="Solo Man").count() == 1


def test_the_database_keeps_a_committed_run_committed(officer):
    run = _run(officer, csv_bytes([["working_name"], ["Solo Man"]]))
    services.import_commit(actor=Actor(user=officer, channel="api", label="t"), run=run)
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.DRY_RUN)
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.COMMITTED


def test_zero_width_only_row_and_names(officer):
    content = csv_bytes(
        [["working_name"], ["\u200b"], ["\u200b\u200b "], ["Kim\u200bChol"], ["\ufeff"]]
    )
    run = _run(officer, content)
    assert all(
        r["outcome"] != "create" or r["working_name"].isprintable() for r in run.report["rows"]
    )
    assert run.report["blank_lines"] == [2, 3, 5]
    assert [r["working_name"] for r in run.report["rows"]] == ["KimChol"]


def test_admin_columns_with_a_list_value(officer):
    officer.is_staff = True
    officer.save()
    client = session_client(officer)
    r = client.post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("l.csv", b"Name\nKim\n"),
            "kind": "other",
            "columns": json.dumps({"Name": ["working_name"]}),
        },
    )
    assert r.status_code == 200  # the form again, with its error
    assert "maps to one field name as text" in r.content.decode()
    assert not ImportRun.objects.exists()


def test_admin_mapping_with_a_dict_value(officer):
    officer.is_staff = True
    officer.save()
    client = session_client(officer)
    r = client.post(
        reverse("admin:cases_importmapping_add"),
        {"name": "m", "kind": "other", "columns": json.dumps({"Name": {"a": 1}})},
    )
    assert r.status_code == 200  # the form again, with its error
    assert "maps to one field name as text" in r.content.decode()


def test_api_columns_that_are_not_text_are_a_400(officer):
    client, _ = token_client(officer, name="desk")
    r = client.post(
        "/api/v1/import-mappings/",
        {"name": "m", "columns": {"Name": ["working_name"]}},
        format="json",
    )
    assert r.status_code == 400
    r = client.post(
        IMPORTS,
        {"file": SimpleUploadedFile("l.csv", b"Name\nKim\n"), "columns": '{"Name": 1}'},
        format="multipart",
    )
    assert r.status_code == 400, r.content
    assert "columns" in r.content.decode()
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ('{"Name": ["working_name"]}', "maps to one field name as text"),
        ("{Name: working_name}", "--columns is not valid JSON"),
    ],
)
def test_the_command_refuses_odd_columns_with_a_sentence(officer, tmp_path, columns, message):
    from django.core.management import CommandError, call_command

    path = tmp_path / "l.csv"
    path.write_bytes(b"Name\nKim\n")
    with pytest.raises(CommandError, match=message):
        call_command("import_list", "upload", str(path), "--columns", columns)
    assert not ImportRun.objects.exists()


def test_row_with_more_cells_than_headers(officer):
    # An unquoted comma in a name shifts the row: "Kim, Chol" becomes two cells.
    content = b"working_name,birth_date,rank\nKim, Chol,2001-01-01,Private\n"
    run = _run(officer, content)
    assert run.report["rows"][0]["outcome"] == "error"


def test_csv_huge_field(officer):
    content = b"working_name\n" + b"A" * 200_000 + b"\n"
    client, _ = token_client(officer, name="desk")
    r = client.post(IMPORTS, {"file": SimpleUploadedFile("l.csv", content)}, format="multipart")
    assert r.status_code == 400


def test_utf16_bom(officer):
    content = "working_name\nKim\n".encode("utf-16")
    client, _ = token_client(officer, name="desk")
    r = client.post(IMPORTS, {"file": SimpleUploadedFile("l.csv", content)}, format="multipart")
    assert r.status_code == 400


def test_json_upload_of_a_3mb_file(officer):
    content = b"working_name,birth_place\n" + b"".join(
        b"Kim%d,%s\n" % (i, b"x" * 150) for i in range(18000)
    )
    client, _ = token_client(officer, name="desk")
    r = client.post(
        IMPORTS,
        {"file_name": "l.csv", "content_base64": base64.b64encode(content).decode()},
        format="json",
    )
    assert len(content) > 2_621_440  # past Django's body limit once base64
    assert r.status_code == 400
    assert "larger than 2.5 MB" in r.content.decode() and "multipart" in r.content.decode()
    assert not ImportRun.objects.exists()


def test_long_file_name_commit(officer):
    name = "x" * 250 + ".csv"
    run = _run(officer, csv_bytes([["working_name"], ["Kim"]]), name=name)
    run = services.import_commit(actor=Actor(user=officer, channel="api", label="t"), run=run)
    assert run.status == ImportStatus.COMMITTED


def _xlsx(rows):
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_multipart_with_idempotency_key(officer):
    client, _ = token_client(officer, name="desk")
    content = _xlsx([["working_name"], ["Kim"]])
    r = client.post(
        IMPORTS,
        {"file": SimpleUploadedFile("l.xlsx", content)},
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="k-2",
    )
    assert r.status_code == 201


def test_xlsx_numbers_of_more_than_15_digits_are_row_errors(officer):
    """A spreadsheet rounds a number past 15 digits: an ICRC or service number typed as one
    is the row's error, not a wrong number."""
    content = _xlsx(
        [
            ["icrc_number", "working_name", "service_number"],
            [12345678901234567890, "Big", None],
            [123456789012345, "Fits", 1e20],
            [123456789012345, "Fine", 42],
        ]
    )
    run = _run(officer, content, name="l.xlsx")
    rows = run.report["rows"]
    assert [r["outcome"] for r in rows] == ["error", "error", "create"]
    assert "icrc_number: " in rows[0]["message"] and "15 digits" in rows[0]["message"]
    assert "service_number: " in rows[1]["message"]
    assert rows[2]["values"]["icrc_number"] == "123456789012345"


def _xlsx_with_cell(text: str) -> bytes:
    """Return a workbook whose one data cell holds ``text`` (written into the sheet's XML:
    openpyxl itself would not write a cell past Excel's limit)."""
    import io
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(_xlsx([["working_name"], ["Kim"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<t>Kim</t>", b"<t>" + text.encode() + b"</t>")
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("megabytes", [30, 120])
def test_xlsx_shared_strings_bomb(officer, megabytes):
    """A workbook packed far beyond its weight (30 MB in one cell, at a ratio a sheet never
    has), or unpacking past the cap (120 MB), is refused before openpyxl reads it."""
    bomb = _xlsx_with_cell("A" * megabytes * 1_000_000)
    assert len(bomb) < parsing.MAX_BYTES
    client, _ = token_client(officer, name="desk")
    r = client.post(IMPORTS, {"file": SimpleUploadedFile("b.xlsx", bomb)}, format="multipart")
    assert r.status_code == 400
    assert "unpacks to" in r.content.decode()
    assert not ImportRun.objects.exists()


def test_unnamed_column_data_is_dropped_silently(officer):
    content = b"working_name,,rank\nKim,SECRET-DATA,Private\nPak,,Private\n"
    run = _run(officer, content, columns={"working_name": "working_name", "rank": "rank"})
    first, second = run.report["rows"]
    assert first["outcome"] == "error" and "no header" in first["message"]
    assert second["outcome"] == "create"


def test_extra_cells_shift_free_text(officer):
    content = b"working_name,rank\nKim, Chol,Private\n"
    run = _run(officer, content)
    assert run.report["rows"][0]["outcome"] == "error"
    assert "3 values and the header 2 columns" in run.report["rows"][0]["message"]


def test_same_name_in_two_name_columns(officer):
    run = _run(
        officer,
        csv_bytes(
            [
                ["icrc_number", "working_name", "name_latin", "name_cyrillic"],
                ["CTA-D1", "P-D1", "Kim", "Kim"],
                ["CTA-D2", "P-D2", "Pak", ""],
            ]
        ),
    )
    assert [r["outcome"] for r in run.report["rows"]] == ["create", "create"]
    client, _ = token_client(officer, name="desk")
    r = client.post(f"{IMPORTS}{run.uuid}/commit/", {"skip_rejected": True}, format="json")
    assert r.status_code == 200, r.content
    kim = Person.objects.get(external_identifiers__value="CTA-D1")
    assert [(n.value, n.script) for n in kim.names.all()] == [("Kim", "latin")]


def test_feed_of_a_commit_as_an_integration(officer):
    from tests.support.roles import INTEGRATION

    run = _run(
        officer,
        csv_bytes(
            [
                ["icrc_number", "working_name", "name_hangul", "service_number", "family_name"],
                ["CTA-FE", "P-FE", "김철", "SN-1", "Kim"],
            ]
        ),
    )
    services.import_commit(actor=Actor(user=officer, channel="api", label="t"), run=run)
    integ = user_in_role(INTEGRATION, "atk-integ")
    client, _ = token_client(integ, name="i")
    body = client.get("/api/v1/events/?limit=100").content.decode()
    assert "SN-1" not in body and '"Kim"' not in body
    assert "김철" not in body


def test_report_reads_of_a_matched_persons_values_are_logged_against_him(officer):
    from cases.models import AccessLogEntry as AccessLog

    ri = f.person("Ri", service_number="SN-OLD", names=[NameSpec("리철", "hangul")])
    identity.external_identifier_record(actor=f.SYSTEM, person=ri, scheme="icrc", value="CTA-AL")
    f.person("Zed", names=[NameSpec("김철", "hangul")])
    run = _run(
        officer,
        csv_bytes(
            [
                ["icrc_number", "working_name", "service_number"],
                ["CTA-AL", "Ri", "SN-NEW"],
                ["", "Kim Chol", ""],
            ]
        ),
    )
    client, _ = token_client(officer, name="desk")
    client.get(f"{IMPORTS}{run.uuid}/")
    (entry,) = AccessLog.objects.filter(object_uuid=ri.uuid)
    assert entry.object_type == "person" and "service_number" in entry.fields
    assert AccessLog.objects.filter(object_uuid=run.uuid).exists()


def test_an_icrc_number_taken_during_the_commit_is_a_validation_error(officer, monkeypatch):
    """A number recorded by another write after the plan: COPY's refusal is the 400 the
    commit gives for it, not a 500, and nothing of the import is left."""
    from cases.imports import planning

    run = _run(officer, csv_bytes([["icrc_number", "working_name"], ["CTA-RACE", "P-1"]]))
    other = f.person("Other")
    identity.external_identifier_record(
        actor=f.SYSTEM, person=other, scheme="icrc", value="CTA-RACE"
    )
    # The commit's plan does not see the number yet: the other write landed after it.
    monkeypatch.setattr(planning, "_holders", lambda numbers: {})
    before = case_data_counts()
    with pytest.raises(ValidationError, match="Another write recorded"):
        services.import_commit(actor=Actor(user=officer, channel="api", label="t"), run=run)
    assert case_data_counts() == before
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.DRY_RUN


def test_an_xlsx_cell_longer_than_excel_allows_is_refused(officer):
    client, _ = token_client(officer, name="desk")
    content = _xlsx_with_cell("A" * 40_000)
    r = client.post(IMPORTS, {"file": SimpleUploadedFile("l.xlsx", content)}, format="multipart")
    assert r.status_code == 400
    assert "longer than 32767 characters" in r.content.decode()
    assert not ImportRun.objects.exists()
