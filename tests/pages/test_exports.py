"""Exports of the filtered cases: CSV read back with the csv module, XLSX with openpyxl."""

import csv
import io

import openpyxl
import pytest
from django.http import StreamingHttpResponse

from cases.identity import services as identity
from cases.pages import exports
from tests import factories
from tests.support.roles import ANALYST, user_in_role
from tests.support.worlds import build_public_case


@pytest.fixture
def public(db):
    return build_public_case()


@pytest.fixture
def analyst(client, db):
    """The analyst role (it holds export_cases), signed in, plus ``cases.view_sensitive``.

    The exports here are filtered by and show true name variants (리), which the role
    table's analyst does not see; the extra permission lets them through.
    """
    client.force_login(user_in_role(ANALYST, "analyst", extra_permissions=["view_sensitive"]))


def read_csv(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def read_xlsx(response) -> list[dict[str, object]]:
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    sheet = workbook["Cases"]
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_csv_export_has_the_filtered_rows_and_the_intention_source(client, analyst, public):
    response = client.get("/cases/export.csv", {"q": "리"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="cases-')
    rows = read_csv(response)
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == exports.columns(show_sensitive=True)
    assert row["Reference"] == "UA-2025-0001"
    assert row["Name variants"] == "리; Lee; Ri"
    assert row["Detaining party"] == "Ukraine"
    assert row["Current intention"] == "Transfer to a third state"
    assert row["Destination"] == "South Korea"
    assert row["Verified"] == "no"
    assert row["Capture date"] == "2025-01-09"
    assert row["Intention source title"] == "North Korean POWs want to go to South Korea"
    assert row["Intention source publisher"] == "Yonhap"
    assert row["Intention source date"] == "2025-03-01"
    assert row["Case id"] == str(public.ri.uuid)


def test_format_parameter_on_the_list_gives_the_same_export(client, analyst, public):
    via_list = read_csv(client.get("/cases/", {"format": "csv", "nationality": "KP"}))
    via_path = read_csv(client.get("/cases/export.csv", {"nationality": "KP"}))
    strip = [{k: v for k, v in row.items() if k != "Last change (UTC)"} for row in via_list]
    assert strip == [{k: v for k, v in row.items() if k != "Last change (UTC)"} for row in via_path]
    assert [row["Reference"] for row in via_list] == ["UA-2025-0001", "UA-2025-0002"]


def test_export_follows_the_sort_order(client, analyst, public):
    rows = read_csv(client.get("/cases/export.csv", {"ordering": "-reference"}))
    assert [row["Reference"] for row in rows] == ["UA-2025-0002", "UA-2025-0001", "RU-2024-0007"]


def test_xlsx_export_reads_back(client, analyst, public):
    response = client.get("/cases/", {"format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert isinstance(response, StreamingHttpResponse)
    rows = read_xlsx(response)
    assert [row["Reference"] for row in rows] == ["RU-2024-0007", "UA-2025-0001", "UA-2025-0002"]
    ri = rows[1]
    assert ri["Name variants"] == "리; Lee; Ri"
    assert ri["Nationalities"] == "KP"
    assert ri["Intention source publisher"] == "Yonhap"
    assert ri["Capture date"].date().isoformat() == "2025-01-09"


def test_invalid_filter_gives_a_400_not_a_file(client, analyst, public):
    response = client.get("/cases/export.csv", {"nationality": "XX"})
    assert response.status_code == 400
    assert "nationality" in response.content.decode()
    assert client.get("/cases/", {"format": "pdf"}).status_code == 400


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_cells_are_guarded_against_formulas(value):
    assert exports.guard_csv_cell(value) == "'" + value
    assert exports.guard_csv_cell("Ri") == "Ri"


def test_formula_like_names_stay_text_in_both_formats(client, analyst, db):
    person = factories.person("=cmd|' /C calc'!A0", names=[])
    factories.case(person_obj=person)
    rows = read_csv(client.get("/cases/export.csv"))
    assert rows[0]["Person"] == "'=cmd|' /C calc'!A0"
    workbook = openpyxl.load_workbook(
        io.BytesIO(b"".join(client.get("/cases/export.xlsx").streaming_content))
    )
    cell = workbook["Cases"]["B2"]
    assert cell.value == "=cmd|' /C calc'!A0"
    assert cell.data_type == "s"  # text, not a formula


def test_export_reads_in_chunks_with_a_fixed_number_of_queries(
    client, analyst, db, django_assert_num_queries, monkeypatch
):
    """Rows come from ``.iterator(chunk_size)``: one query for the cases, read chunk by
    chunk, and per chunk one query each for the name variants, identifiers, nationality
    claims, pending notifications and (for this reader of sensitive values) documents."""
    monkeypatch.setattr(exports, "CHUNK_SIZE", 5)
    party = factories.party()
    for _ in range(12):
        factories.case(detaining_party=party)
    response = client.get("/cases/export.csv")
    # Three chunks (5, 5, 2): the cases' query, and five queries per chunk.
    with django_assert_num_queries(16):
        rows = read_csv(response)
    assert len(rows) == 12


def test_control_characters_in_a_name_do_not_break_either_format(client, analyst, db):
    """XML holds no C0 controls: the XLSX cell gets U+FFFD for each; CSV keeps the text and
    still guards a formula-like value."""
    person = factories.person("Ri\x0b\x01", names=[])
    factories.case(person_obj=person)
    formula = factories.person("=1+1\x01", names=[])
    factories.case(person_obj=formula)
    rows = read_csv(client.get("/cases/export.csv"))
    assert {row["Person"] for row in rows} == {"Ri\x0b\x01", "'=1+1\x01"}
    response = client.get("/cases/export.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    names = {row[1] for row in workbook["Cases"].iter_rows(min_row=2, values_only=True)}
    assert names == {"Ri\ufffd\ufffd", "=1+1\ufffd"}
    cell = next(c for c in workbook["Cases"]["B"][1:] if c.value == "=1+1\ufffd")
    assert cell.data_type == "s"  # still text, not a formula


def test_xml_safe_keeps_tab_newline_and_carriage_return():
    assert exports.xml_safe("a\tb\nc\rd\x00e\x1f") == "a\tb\nc\rd\ufffde\ufffd"


def _download_xlsx_with_more_cases(client, more: int, total: int, assert_num_queries, expected):
    """Open ``more`` cases, then download the XLSX export of ``total`` to its last byte."""
    party = factories.party()
    for _ in range(more):
        case = factories.case(detaining_party=party)
        identity.external_identifier_record(
            actor=factories.SYSTEM, person=case.person, scheme="nib", value=f"N-{case.pk}"
        )
    with assert_num_queries(expected):
        response = client.get("/cases/export.xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert sheet["Cases"].max_row == total + 1


@pytest.mark.parametrize(("sensitive", "queries"), [(True, 12), (False, 9)])
def test_xlsx_export_costs_the_same_queries_for_1_and_for_50_cases(
    client, db, django_assert_num_queries, sensitive, queries
):
    """The whole download, the view and its streamed body, reads 1 case and 50 cases
    (with their names, identifiers, claims, notifications and documents) in the same
    number of queries: the rows come in one chunk, each related table in one query."""
    extra = ["view_sensitive"] if sensitive else []
    client.force_login(user_in_role(ANALYST, "analyst", extra_permissions=extra))
    _download_xlsx_with_more_cases(client, 1, 1, django_assert_num_queries, queries)
    _download_xlsx_with_more_cases(client, 49, 50, django_assert_num_queries, queries)
