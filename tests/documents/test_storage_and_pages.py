"""Where documents are kept (outside the web root, no URL), the pages' download, the feed and
the purge."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client
from django.urls import Resolver404, resolve

from cases import services as case_services
from cases.documents import services
from cases.documents.models import Document
from cases.documents.storage import (
    PrivateFileSystemStorage,
    documents_storage,
    storage_setting,
)
from cases.models import AccessLogEntry, TimelineEvent
from cases.services import Actor
from tests import factories as f
from tests.documents import conftest as files
from tests.support import clients
from tests.support.roles import ANALYST, CASE_OFFICER, superuser, user_in_role

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)


def _attached(case, name="letter.txt", content=None):
    return services.document_attach(
        actor=f.SYSTEM,
        case=case,
        upload=files.upload(name, files.text() if content is None else content),
        title="Letter from his mother",
        kind="letter",
    )


# --------------------------------------------------------------------------------------------
# The storage's configuration
# --------------------------------------------------------------------------------------------


def test_default_storage_is_a_folder_beside_the_checkout_with_no_url():
    """Without settings, documents go to var/documents beside the checkout: outside the
    static and media roots, owner-only, through a storage that has no URL."""
    setting = storage_setting({}, BASE)
    assert setting["BACKEND"] == "cases.documents.storage.PrivateFileSystemStorage"
    location = Path(setting["OPTIONS"]["location"])
    assert location == BASE.parent / "var" / "documents"
    assert not location.is_relative_to(BASE)
    assert not location.is_relative_to(Path(settings.STATIC_ROOT))
    assert setting["OPTIONS"]["file_permissions_mode"] == 0o600
    assert (
        storage_setting({"DJANGO_DOCUMENTS_ROOT": "/srv/docs"}, BASE)["OPTIONS"]["location"]
        == "/srv/docs"
    )


def test_s3_is_chosen_by_its_bucket_and_imported_only_then():
    """A bucket chooses django-storages' S3 backend, private and never overwriting; the
    setting names the backend by path, so neither django-storages nor boto3 is imported
    unless it is used."""
    setting = storage_setting(
        {
            "DJANGO_DOCUMENTS_S3_BUCKET": "tracker-documents",
            "DJANGO_DOCUMENTS_S3_REGION": "eu-central-1",
            "DJANGO_DOCUMENTS_S3_ENDPOINT_URL": "https://s3.example.org",
        },
        BASE,
    )
    assert setting["BACKEND"] == "cases.documents.s3.PrivateS3Storage"
    options = setting["OPTIONS"]
    assert options["bucket_name"] == "tracker-documents"
    assert options["default_acl"] == "private" and options["file_overwrite"] is False
    assert options["location"] == "documents"
    assert options["region_name"] == "eu-central-1"
    assert options["endpoint_url"] == "https://s3.example.org"
    import sys

    assert "cases.documents.s3" not in sys.modules


def test_the_storage_has_no_public_url():
    """No address of the storage is ever handed out: url() refuses."""
    assert isinstance(storages["documents"], PrivateFileSystemStorage)
    with pytest.raises(NotImplementedError):
        documents_storage().url("ab/abcdef")
    with pytest.raises(NotImplementedError):
        PrivateFileSystemStorage(location="/tmp").url("x")


def test_no_route_serves_the_storage_folder(case):
    """No URL pattern reaches a stored file by its name, and the static files do not hold
    the folder (WhiteNoise serves STATIC_ROOT only)."""
    document = _attached(case)
    for path in (
        f"/{document.file.name}",
        f"/documents/{document.file.name}",
        f"/media/{document.file.name}",
        f"/static/{document.file.name}",
        f"/var/documents/{document.file.name}",
    ):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        assert match.url_name in ("catch_all", None) or match.app_name == "admin", path
    location = Path(storages["documents"].location)
    assert not location.is_relative_to(Path(settings.STATIC_ROOT))
    root = Path(settings.STATIC_ROOT)
    assert not (root / "documents").exists()
    anonymous = Client()
    for path in (f"/static/{document.file.name}", f"/documents/{document.file.name}"):
        response = anonymous.get(path)
        assert response.status_code in (302, 404), path
        assert files.text() not in getattr(response, "content", b"")


# --------------------------------------------------------------------------------------------
# The pages' download
# --------------------------------------------------------------------------------------------


def test_page_download_by_an_analyst_is_403_with_nothing_of_the_file(case):
    document = _attached(case)
    client = clients.session_client(user_in_role(ANALYST, "page-analyst"))
    response = client.get(f"/documents/{document.uuid}/download")
    assert response.status_code == 403
    assert b"mother" not in response.content and "Content-Disposition" not in response
    assert not AccessLogEntry.objects.filter(object_uuid=document.uuid).exists()


def test_page_download_by_an_officer_is_the_file_and_logged_each_time(case):
    officer = user_in_role(CASE_OFFICER, "page-officer")
    document = _attached(case)
    client = clients.session_client(officer)
    for expected in (1, 2):
        response = client.get(f"/documents/{document.uuid}/download")
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == files.text()
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"].startswith("attachment;")
        entries = AccessLogEntry.objects.filter(object_uuid=document.uuid)
        assert entries.count() == expected
    entry = entries.first()
    assert entry.user == officer and entry.channel == "page"


def test_page_download_asks_an_anonymous_reader_to_sign_in(case):
    document = _attached(case)
    response = Client().get(f"/documents/{document.uuid}/download")
    assert response.status_code == 302 and "/login/" in response["Location"]


# --------------------------------------------------------------------------------------------
# The feed and the purge
# --------------------------------------------------------------------------------------------


def test_feed_serves_the_document_subject_without_the_uploaded_name_for_analysts(case, monkeypatch):
    """``document`` is a subject type of the feed; its events carry the metadata (schema
    checked), and the name it was uploaded under is withheld from an analyst."""
    from cases.feed import cursor as feed

    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")
    document = _attached(case, name="Kim letter.txt")
    client = clients.api_client(user_in_role(ANALYST, "feed-analyst"))
    response = client.get("/api/v1/events/", {"subject_type": "document", "limit": 50})
    assert response.status_code == 200, response.content
    (event,) = response.json()["results"]
    assert event["kind"] == "document.attached"
    assert event["subject_uuid"] == str(document.uuid)
    assert "Kim" not in response.content.decode()


def test_purge_deletes_the_rows_and_the_files(case, django_capture_on_commit_callbacks):
    """A purge deletes the case's documents and, once it commits, their stored files."""
    document = _attached(case)
    name = document.file.name
    assert documents_storage().exists(name)
    root = superuser("purge-root")
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_purge(
            actor=Actor(user=root, channel="admin"), case=case, reason="entered in error"
        )
    assert not Document.objects.filter(pk=document.pk).exists()
    assert not documents_storage().exists(name)
    assert not TimelineEvent.objects.filter(subject_uuid=document.uuid).exists()
