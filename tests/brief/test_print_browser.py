"""The case page printed from Chromium, and the brief downloaded from it.

Chromium emulates print media on the analysts' case page: no navigation, no forms, no
buttons, outside links written out, and A4 pages. The screenshot goes to test-artifacts/,
and to docs/screenshots/ when TRACKER_UPDATE_SCREENSHOTS=1 is set.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdf
import pytest

from tests import factories
from tests.pages.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.worlds import build_public_case

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("TRACKER_UPDATE_SCREENSHOTS") == "1"
    else ROOT / "test-artifacts"
)
PASSWORD = "browser-test-password-1"
#: An A4 page in PDF points (210 x 297 mm).
A4_POINTS = (595, 842)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


@pytest.fixture
def seeded(transactional_db):
    """The public case and an account that may read it, written before the browser starts."""
    data = build_public_case()
    factories.user("analyst", password=PASSWORD, is_staff=False, is_superuser=True)
    return data


@pytest.fixture
def case_page(seeded, live_server):
    """Yield a signed-in Chromium page on Ri's case page (A4's width at 96 dpi)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 794, "height": 1123}, locale="en-GB"
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{live_server.url}/accounts/login/?next=/cases/{seeded.ri.uuid}/")
        page.fill("#id_username", "analyst")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"**/cases/{seeded.ri.uuid}/")
        yield page
        context.close()
        browser.close()


def test_the_case_page_prints_without_chrome_with_links_written_out(case_page):
    """In print media the header, the footer, the timeline's filter form and the buttons are
    gone, the source's address follows its link, and Chromium lays it out on A4 pages."""
    page = case_page
    assert page.locator(".site-header").is_visible()
    assert page.get_by_role("link", name="Brief (PDF)").is_visible()

    page.emulate_media(media="print")
    for hidden in (".site-header", ".site-footer", "form.timeline-filter", ".page-actions"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert page.get_by_role("heading", name="UA-2025-0001 · Ri").is_visible()
    source_link = page.locator('a[href="https://example.org/report"]').first
    after = source_link.evaluate("link => getComputedStyle(link, '::after').content")
    assert after == '" (https://example.org/report)"'
    internal = page.locator('a[href^="#intention-"]').first
    assert internal.evaluate("link => getComputedStyle(link, '::after').content") == "none"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "case-page-print.png"), full_page=True)

    pdf = pypdf.PdfReader(io.BytesIO(page.pdf(prefer_css_page_size=True)))
    box = pdf.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == A4_POINTS
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "UA-2025-0001" in text and "https://example.org/report" in text
    for chrome in ("Log out", "Show all", "Edit in the admin", "Brief (PDF)", "Read-only pages"):
        assert chrome not in text


def test_the_brief_downloads_from_the_case_page(case_page):
    """The case page's "Brief (PDF)" link downloads the PDF of the case."""
    page = case_page
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Brief (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == "UA-2025-0001-brief.pdf"
    pdf = pypdf.PdfReader(download.path())
    text = " ".join(p.extract_text() for p in pdf.pages)
    assert "UA-2025-0001 · Ri" in text
    assert "Transfer to a third state to South Korea" in text
