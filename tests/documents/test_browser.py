"""A case officer attaches a letter on the admin's case page in a real headless Chromium.

Driven as tests/pages/test_browser.py drives the pages: Debian's ``/usr/bin/chromium``
through Playwright, data written before the browser starts.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cases.documents.models import Document
from cases.models import AccessLogEntry
from tests import factories
from tests.documents import conftest as files
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401
from tests.support.browser import submit

PASSWORD = "browser-test-password-1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


@pytest.fixture
def officer_case(transactional_db):
    """A case and a staff superuser's login (a superuser holds every permission)."""
    case = factories.case(reference="UA-2025-0001")
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    return case


def test_officer_attaches_a_letter_on_the_case_page(
    officer_case,
    live_server,
    browser_page,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    """Sign in to the admin, add a document row on the case page with a PDF, save; the
    letter is listed with a download link, the link serves the file, and the attachment and
    the download are on the timeline and in the access log."""
    # Playwright's synchronous API runs an event loop in this thread; the checks at the end
    # read the database from it, after the browser has done its part.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page = browser_page
    letter = tmp_path / "letter.pdf"
    letter.write_bytes(files.pdf())
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/cases/case/{officer_case.pk}/change/")
    page.click("#documents-group .add-row a")
    page.fill("#id_documents-0-title", "Letter from his mother")
    page.select_option("#id_documents-0-kind", "letter")
    page.fill("#id_documents-0-language", "ko")
    page.set_input_files("#id_documents-0-upload", str(letter))
    submit(page, "input[name=_continue]", lands_on=f"**/cases/case/{officer_case.pk}/change/")
    page.wait_for_selector("#documents-group a:has-text('Download')")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "admin-case-documents.png"), full_page=True)

    with page.expect_download() as download_info:
        page.click("#documents-group a:has-text('Download')")
    download = download_info.value
    assert download.suggested_filename == "letter.pdf"
    assert Path(download.path()).read_bytes() == files.pdf()

    document = Document.objects.get(case=officer_case)
    assert document.title == "Letter from his mother" and document.language == "ko"
    assert document.content_type == "application/pdf"
    assert officer_case.events.filter(kind="document.attached").count() == 1
    entries = AccessLogEntry.objects.filter(object_uuid=document.uuid)
    # The download, and the case page that listed it (as it logs each inline row it reads).
    assert sorted(entries.values_list("channel", "username")) == [
        ("admin", "officer"),
        ("page", "officer"),
    ]
    assert entries.get(channel="page").fields == ["content", "original_filename"]
