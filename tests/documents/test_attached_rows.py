"""Documents attached to a handover, and the statement's and request's admin pages that list
and take the documents attached to them, as the case page does."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases.documents import services
from cases.documents.models import Document
from cases.models import AccessLogEntry, StatedIntention, TimelineEvent
from tests import factories as f
from tests.documents import conftest as files
from tests.support import clients
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/documents/"


@pytest.fixture
def handed_over():
    """Ri, handed over to South Korea on his verified wish."""
    ukraine = f.party("Ukraine", country="UA")
    dprk = f.party("DPRK", country="KP")
    korea = f.party("South Korea", country="KR")
    person = f.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    case = f.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    case = f.advance_case(case, "release_approved")
    f.verified_wish(case, "third_state", "KR")
    request = f.request(case, kind="third_state_transfer", destination_country="KR")
    return f.handover(f.advance_request(request, "scheduled"), receiving_authority=korea)


@pytest.fixture
def officer():
    return clients.session_client(user_in_role(CASE_OFFICER, "rows-officer", is_staff=True))


def _attach(case, name="receipt.pdf", content=None, **targets):
    return services.document_attach(
        actor=f.SYSTEM,
        case=case,
        upload=files.upload(name, files.pdf() if content is None else content),
        title="Signed receipt",
        kind="decision",
        **targets,
    )


# --------------------------------------------------------------------------------------------
# A handover's documents
# --------------------------------------------------------------------------------------------


def test_a_document_attaches_to_a_handover_of_its_case(handed_over):
    document = _attach(handed_over.case, handover=handed_over)
    assert document.handover == handed_over and document.attached_to == ("handover", handed_over)
    event = TimelineEvent.objects.filter(kind="document.attached").get()
    assert event.changes["handover"][1]["uuid"] == str(handed_over.uuid)
    assert event.summary.startswith(
        f"Document attached to the handover of {handed_over.occurred_on.isoformat()}:"
    )


def test_a_document_is_not_attached_to_another_cases_handover(handed_over):
    other = f.case(reference="UA-2025-0002")
    with pytest.raises(ValidationError) as refused:
        _attach(other, handover=handed_over)
    assert "handover" in refused.value.message_dict
    assert not Document.objects.exists()


def test_a_document_names_one_row_at_most(handed_over):
    with pytest.raises(ValidationError):
        _attach(handed_over.case, handover=handed_over, request=handed_over.request)
    assert not Document.objects.exists()


def test_the_api_uploads_to_a_handover_and_filters_by_it(handed_over):
    client, _token = clients.token_client(user_in_role(CASE_OFFICER, "rows-api"))
    response = client.post(
        DOCUMENTS,
        {
            "file": files.multipart_file("receipt.pdf", files.pdf()),
            "case": str(handed_over.case.uuid),
            "handover": str(handed_over.uuid),
            "title": "Signed receipt",
            "kind": "decision",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["handover"] == str(handed_over.uuid)
    _attach(handed_over.case, name="other.txt", content=files.text())
    listed = clients.results(client.get(DOCUMENTS, {"handover": str(handed_over.uuid)}))
    assert [row["title"] for row in listed] == ["Signed receipt"]


def test_the_case_page_offers_the_cases_handovers_only(handed_over, officer):
    other_case = f.case(reference="UA-2025-0002")
    response = officer.get(change_url(handed_over.case))
    assert response.status_code == 200
    field = next(
        inline.formset.empty_form.fields["handover"]
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is Document
    )
    assert list(field.queryset) == [handed_over]
    assert officer.get(change_url(other_case)).status_code == 200


# --------------------------------------------------------------------------------------------
# The request's and the statement's pages
# --------------------------------------------------------------------------------------------


def _upload_on(client, row, name="scan.pdf", content=None, **extra):
    url = change_url(row)
    page = client.get(url)
    assert page.status_code == 200
    data = form_data(page)
    data.update(extra)
    new_row(page, Document, data, title="Scan", kind="statement_scan", language="ko")
    data[_upload_field(page)] = files.multipart_file(
        name, files.pdf() if content is None else content
    )
    return client.post(url, data)


def _upload_field(page) -> str:
    for inline in page.context["inline_admin_formsets"]:
        if inline.formset.model is Document:
            return f"{inline.formset.prefix}-{inline.formset.initial_form_count()}-upload"
    raise AssertionError("No documents on the page.")


def test_a_document_uploaded_on_the_request_page_is_attached_to_the_request(handed_over, officer):
    request = f.request(handed_over.case, kind="family_contact")
    response = _upload_on(officer, request)
    assert response.status_code == 302, errors_text(response)
    document = Document.objects.get()
    assert (document.case, document.request, document.title) == (
        request.case,
        request,
        "Scan",
    )
    event = TimelineEvent.objects.filter(kind="document.attached").get()
    assert event.actor.username == "rows-officer" and event.channel == "admin"
    page = officer.get(change_url(request))
    assert f"/documents/{document.uuid}/download".encode() in page.content


def test_the_statement_page_takes_documents_and_changes_nothing_else(handed_over, officer):
    statement = StatedIntention.objects.filter(case=handed_over.case).order_by("id").first()
    before = (statement.quote, statement.verification, statement.state, statement.version)
    events = TimelineEvent.objects.filter(subject_uuid=statement.uuid).count()
    response = _upload_on(officer, statement, quote="Something he never said", state="withdrawn")
    assert response.status_code == 302, errors_text(response)
    document = Document.objects.get()
    assert (document.statement, document.case) == (statement, handed_over.case)
    statement.refresh_from_db()
    assert (statement.quote, statement.verification, statement.state, statement.version) == before
    assert TimelineEvent.objects.filter(subject_uuid=statement.uuid).count() == events
    assert TimelineEvent.objects.filter(kind="document.attached").count() == 1


def test_a_rows_page_lists_its_own_documents_only(handed_over, officer):
    statements = list(StatedIntention.objects.filter(case=handed_over.case).order_by("id"))
    mine = _attach(handed_over.case, name="mine.pdf", statement=statements[0])
    _attach(handed_over.case, name="case.txt", content=files.text())
    _attach(handed_over.case, name="request.png", content=files.png(), request=handed_over.request)
    page = officer.get(change_url(statements[0]))
    shown = [
        form.instance
        for inline in page.context["inline_admin_formsets"]
        if inline.formset.model is Document
        for form in inline.formset.initial_forms
    ]
    assert shown == [mine]


def test_the_download_from_a_rows_page_is_logged_as_from_the_case_page(handed_over, officer):
    document = _attach(handed_over.case, request=handed_over.request)
    officer.get(change_url(handed_over.request))
    response = officer.get(f"/documents/{document.uuid}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files.pdf()
    entry = AccessLogEntry.objects.get(object_uuid=document.uuid, channel="page")
    assert entry.username == "rows-officer"
    assert entry.fields == ["content", "original_filename"]


def test_an_analyst_on_a_rows_page_sees_titles_but_neither_contents_nor_upload(handed_over):
    """Need to know: a staff analyst may read the statement's page; the documents are listed,
    but he may not attach one, the page takes no save, and the download is 403 with nothing
    of the file, and nothing logged."""
    statement = StatedIntention.objects.filter(case=handed_over.case).order_by("id").first()
    document = _attach(handed_over.case, name="Kim family letter.pdf", statement=statement)
    analyst = clients.session_client(user_in_role(ANALYST, "rows-analyst", is_staff=True))
    page = analyst.get(change_url(statement))
    assert page.status_code == 200
    assert b"Signed receipt" in page.content
    assert b"Kim family letter" not in page.content
    assert b'type="file"' not in page.content and b'name="_save"' not in page.content
    refused = analyst.post(change_url(statement), {"documents-TOTAL_FORMS": "1"})
    assert refused.status_code == 403
    download = analyst.get(f"/documents/{document.uuid}/download")
    assert download.status_code == 403 and files.pdf() not in download.content
    assert not AccessLogEntry.objects.filter(object_uuid=document.uuid, channel="page").exists()
    assert Document.objects.count() == 1
