"""Attaching and withdrawing documents: the rows, the stored bytes and the one event."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files import File

from cases.documents import services, sniffing
from cases.documents.models import Document
from cases.documents.storage import documents_storage
from tests import factories as f
from tests.documents import conftest as files
from tests.support import timeline

pytestmark = pytest.mark.django_db


def _attach(case, name="letter.pdf", content=None, **kwargs):
    content = files.pdf() if content is None else content
    fields = {"title": "Letter from his mother", "kind": "letter", **kwargs}
    return services.document_attach(
        actor=f.SYSTEM, case=case, upload=files.upload(name, content), **fields
    )


def test_attach_stores_the_bytes_the_row_and_one_event_without_the_contents(case):
    """The file is stored under a random name (not the uploaded one), the row records its
    sniffed type, size and SHA-256, and ``document.attached`` lists the metadata only."""
    content = files.pdf()
    with timeline.assert_one_event(kind="document.attached", actor=None, case=case) as new:
        document = _attach(case, name="Ri letter from Kim.pdf", content=content, language="ko")
    assert list(case.documents.all()) == [document]
    assert document.content_type == "application/pdf"
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.original_filename == "Ri letter from Kim.pdf"
    assert "Kim" not in document.file.name and not document.file.name.endswith(".pdf")
    with documents_storage().open(document.file.name, "rb") as handle:
        assert handle.read() == content
    event = new.event
    assert event.subject_type == "document" and event.subject_uuid == document.uuid
    assert event.changes["sha256"] == [None, document.sha256]
    assert event.changes["content_type"] == [None, "application/pdf"]
    assert event.changes["original_filename"] == [None, "Ri letter from Kim.pdf"]
    assert "Kim" not in event.summary
    assert event.object["sha256"] == document.sha256
    assert "content" not in event.object and content.decode("latin-1") not in str(event.changes)


def test_attach_to_a_statement_and_a_request_of_the_case(case):
    """A document may also name one statement or one request of its case."""
    statement = f.intention(case)
    request = f.request(case)
    with timeline.assert_one_event(kind="document.attached", case=case) as new:
        document = _attach(case, statement=statement)
    assert document.statement == statement and document.attached_to == ("statement", statement)
    assert "to the statement" in new.event.summary
    second = _attach(case, content=files.png(), name="scan.png", request=request)
    assert second.request == request
    other = f.case(reference="UA-2025-0009")
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        _attach(other, content=files.jpeg(), name="x.jpg", statement=statement)
    assert "statement" in error.value.message_dict


@pytest.mark.parametrize(
    "name, content",
    [
        ("letter.pdf", files.html()),
        ("decision.pdf", files.exe()),
        ("photo.jpg", files.png()),
        ("recording.mp3", files.pdf()),
        ("letter.txt", files.pdf()),
        ("payload.exe", files.pdf()),
    ],
)
def test_a_forged_extension_is_refused_and_nothing_is_stored(case, name, content):
    """A file whose name says another type than its bytes is refused; no row, no file, no
    event."""
    before = set(_stored())
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        _attach(case, name=name, content=content)
    assert "file" in error.value.message_dict
    assert not Document.objects.exists()
    assert set(_stored()) == before


def test_a_name_without_an_extension_gets_the_sniffed_one(case):
    document = _attach(case, name="scan", content=files.png())
    assert document.original_filename == "scan.png"
    assert document.content_type == "image/png"


def test_the_same_file_twice_on_a_case_is_refused_until_withdrawn(case):
    """The same bytes (by SHA-256) are attached to a case once; withdrawing the first lets
    them be attached again; another case may hold them too."""
    first = _attach(case)
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        _attach(case, name="copy.pdf")
    assert error.value.message_dict["file"] == ["This case already has this file attached."]
    _attach(f.case(reference="UA-2025-0002"))
    services.document_withdraw(actor=f.SYSTEM, document=first, reason="Duplicate scan")
    again = _attach(case, name="again.pdf")
    assert again.sha256 == first.sha256


def test_a_file_over_the_limit_is_refused_while_it_is_read(case, settings, monkeypatch):
    """The size is checked chunk by chunk: reading stops at the first chunk past the limit."""
    settings.DOCUMENT_MAX_BYTES = 100_000
    monkeypatch.setattr(services, "CHUNK_BYTES", 10_000)
    content = files.text() * 10_000
    # A file read from disk in chunks, as Django hands over an upload larger than
    # FILE_UPLOAD_MAX_MEMORY_SIZE (a smaller one is in memory already).
    upload = File(io.BytesIO(content), name="big.txt")
    read = []
    chunks = upload.chunks

    def counting(chunk_size=None):
        for chunk in chunks(chunk_size):
            read.append(len(chunk))
            yield chunk

    upload.chunks = counting
    with timeline.assert_no_event(), pytest.raises(ValidationError) as error:
        services.document_attach(
            actor=f.SYSTEM, case=case, upload=upload, title="Big", kind="other"
        )
    assert error.value.message_dict["file"][0].startswith("The file is larger than")
    assert sum(read) <= 110_000 < len(content)


def test_text_that_is_not_utf8_further_in_is_refused(case):
    content = b"A letter\n" * 2000 + b"\xff\xfe broken"
    with pytest.raises(ValidationError):
        _attach(case, name="letter.txt", content=content)


def test_withdraw_keeps_the_file_and_appends_one_event(case):
    document = _attach(case)
    with timeline.assert_one_event(kind="document.withdrawn", case=case) as new:
        withdrawn = services.document_withdraw(
            actor=f.SYSTEM, document=document, reason="Wrong case", expected_version=1
        )
    assert withdrawn.archived_at is not None and withdrawn.version == 2
    assert new.event.reason == "Wrong case"
    assert documents_storage().exists(document.file.name)
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        services.document_withdraw(actor=f.SYSTEM, document=withdrawn, reason="")


@pytest.mark.parametrize(
    "maker, content_type",
    [
        (files.pdf, "application/pdf"),
        (files.jpeg, "image/jpeg"),
        (files.png, "image/png"),
        (files.tiff, "image/tiff"),
        (files.webp, "image/webp"),
        (files.mp3, "audio/mpeg"),
        (files.ogg, "audio/ogg"),
        (files.wav, "audio/wav"),
        (files.m4a, "audio/mp4"),
        (files.mp4, "video/mp4"),
        (files.text, "text/plain"),
    ],
)
def test_sniffing_accepts_each_type_from_its_bytes(maker, content_type):
    assert sniffing.sniff(maker()).content_type == content_type


@pytest.mark.parametrize(
    "content",
    [files.html(), files.exe(), b"\x00\x01\x02binary", b"<svg onload=alert(1)>", b""],
)
def test_sniffing_refuses_markup_executables_and_unknown_bytes(content):
    with pytest.raises(ValidationError):
        sniffing.sniff(content)


def _stored():
    storage = documents_storage()
    names = []
    folders, _files = storage.listdir("")
    for folder in folders:
        names.extend(f"{folder}/{name}" for name in storage.listdir(folder)[1])
    return names
