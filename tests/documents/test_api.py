"""Documents in the API: the multipart upload, the metadata, the checked and logged contents."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadhandler import StopUpload

from cases.documents import api as documents_api
from cases.documents import services
from cases.models import AccessLogEntry
from tests import factories as f
from tests.documents import conftest as files
from tests.support import timeline
from tests.support.clients import field_errors, results, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/documents/"


@pytest.fixture
def officer_user():
    return user_in_role(CASE_OFFICER, "documents-officer")


@pytest.fixture
def officer(officer_user):
    client, _token = token_client(officer_user, name="officer-laptop")
    return client


@pytest.fixture
def analyst():
    client, _token = token_client(user_in_role(ANALYST, "documents-analyst"))
    return client


def _upload(client, case, name="letter.pdf", content=None, **fields):
    content = files.pdf() if content is None else content
    body = {
        "case": str(case.uuid),
        "title": "Letter from his mother",
        "kind": "letter",
        "file": files.multipart_file(name, content),
        **fields,
    }
    return client.post(DOCUMENTS, body, format="multipart")


def _attached(case, name="letter.pdf", content=None):
    return services.document_attach(
        actor=f.SYSTEM,
        case=case,
        upload=files.upload(name, files.pdf() if content is None else content),
        title="Letter from his mother",
        kind="letter",
    )


def test_upload_is_multipart_and_appends_one_event(officer, officer_user, case):
    """An officer's multipart upload answers 201 with the metadata and appends
    ``document.attached`` by him through the API."""
    with timeline.assert_one_event(
        kind="document.attached", actor=officer_user, channel="api", case=case
    ):
        response = _upload(officer, case, language="ko", reason="Received by post")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "application/pdf"
    assert body["sha256"] == hashlib.sha256(files.pdf()).hexdigest()
    assert body["size"] == len(files.pdf())
    assert body["original_filename"] == "letter.pdf"
    assert body["content"].endswith(f"/api/v1/documents/{body['uuid']}/content/")
    assert body["uploaded_by"] == "documents-officer"
    assert response["ETag"] == '"1"'


def test_upload_with_a_forged_extension_is_a_400_problem(officer, case):
    """An HTML page called letter.pdf is refused with a problem naming the file."""
    with timeline.assert_no_event():
        response = _upload(officer, case, name="letter.pdf", content=files.html())
    errors = field_errors(response)
    assert "HTML" in errors["file"][0]
    with timeline.assert_no_event():
        response = _upload(officer, case, name="decision.pdf", content=files.png())
    assert "does not match" in field_errors(response)["file"][0]


def test_upload_over_the_limit_stops_while_streaming(officer, case, settings, monkeypatch):
    """The upload handler ends the upload at the limit, before the body is read whole."""
    settings.DOCUMENT_MAX_BYTES = 50_000
    seen = []
    original = documents_api.LimitedUploadHandler.receive_data_chunk

    def watched(self, raw_data, start):
        seen.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(documents_api.LimitedUploadHandler, "receive_data_chunk", watched)
    content = files.text() * 20_000  # about 1.5 MB
    with timeline.assert_no_event():
        response = _upload(officer, case, name="big.txt", content=content)
    assert field_errors(response)["file"][0].startswith("The file is larger than")
    assert sum(seen) < len(content)
    assert StopUpload  # the handler's way of ending it


def test_a_json_body_is_refused_on_the_upload(officer, case):
    response = officer.post(DOCUMENTS, {"case": str(case.uuid)}, format="json")
    assert response.status_code == 415


def test_analyst_reads_metadata_without_the_uploaded_name(analyst, case):
    document = _attached(case, name="Ri letter from Kim.pdf")
    rows = results(analyst.get(DOCUMENTS, {"case": str(case.uuid)}))
    assert [row["uuid"] for row in rows] == [str(document.uuid)]
    assert rows[0]["original_filename"] is None
    assert rows[0]["redacted"] == ["original_filename"]


def test_analyst_without_the_right_gets_403_and_no_bytes(analyst, case):
    """An analyst (no cases.view_sensitive) gets a 403 problem and nothing of the file; no
    access-log entry is written."""
    document = _attached(case, name="letter.txt", content=files.text())
    response = analyst.get(f"{DOCUMENTS}{document.uuid}/content/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert b"mother" not in response.content and "Content-Disposition" not in response
    assert not AccessLogEntry.objects.filter(object_uuid=document.uuid).exists()


def test_officer_download_streams_the_file_and_is_logged(officer, officer_user, case):
    """The officer's download is the file as an attachment with its sniffed type, nosniff
    and a CSP that lets nothing run; one access-log entry names him, his token and the
    document; each download writes its own entry."""
    document = _attached(case, name="letter.txt", content=files.text())
    path = f"{DOCUMENTS}{document.uuid}/content/"
    response = officer.get(path, HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files.text()
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "letter.txt" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "sandbox" in response["Content-Security-Policy"]
    entries = AccessLogEntry.objects.filter(object_uuid=document.uuid)
    assert entries.count() == 1
    entry = entries.get()
    assert entry.user == officer_user and entry.channel == "api"
    assert entry.token_label and entry.object_type == "document"
    assert "content" in entry.fields and entry.path == path
    assert entry.extra["sha256"] == document.sha256
    officer.get(path, HTTP_ACCEPT="application/pdf")
    assert entries.count() == 2


def test_withdraw_needs_a_reason_and_the_version(officer, case):
    document = _attached(case)
    path = f"{DOCUMENTS}{document.uuid}/withdraw/"
    assert officer.post(path, {"reason": "Wrong case"}, format="json").status_code == 428
    with timeline.assert_one_event(kind="document.withdrawn", case=case):
        response = officer.post(path, {"reason": "Wrong case"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response.json()["archived_at"] is not None
    assert results(officer.get(DOCUMENTS)) == []
    assert len(results(officer.get(DOCUMENTS, {"archived": "include"}))) == 1


def test_analyst_cannot_upload(analyst, case):
    with timeline.assert_no_event():
        assert _upload(analyst, case).status_code == 403


def test_idempotency_key_replays_the_upload(officer, case):
    """The same upload sent again with the same Idempotency-Key attaches once."""
    first = officer.post(
        DOCUMENTS,
        {
            "case": str(case.uuid),
            "title": "Decision",
            "kind": "decision",
            "file": files.multipart_file("decision.pdf", files.pdf()),
        },
        format="multipart",
        HTTP_IDEMPOTENCY_KEY="upload-1",
    )
    assert first.status_code == 201, first.content
    with timeline.assert_no_event():
        again = officer.post(
            DOCUMENTS,
            {
                "case": str(case.uuid),
                "title": "Decision",
                "kind": "decision",
                "file": files.multipart_file("decision.pdf", files.pdf()),
            },
            format="multipart",
            HTTP_IDEMPOTENCY_KEY="upload-1",
        )
    assert again.status_code == 201
    assert again.json()["uuid"] == first.json()["uuid"]


@pytest.mark.parametrize("rows", [1, 20])
def test_the_list_reads_in_a_fixed_number_of_queries(
    officer, case, rows, django_assert_num_queries
):
    for index in range(rows):
        _attached(case, name=f"scan-{index}.txt", content=files.text() + str(index).encode())
    officer.get(DOCUMENTS)  # warm the token cache
    with django_assert_num_queries(QUERIES):
        assert len(results(officer.get(DOCUMENTS, {"page_size": 50}))) == rows


QUERIES = 4
