"""The admin's case page in a real headless Chromium: short enough to read, tables that fit.

Driven as tests/pages/test_browser.py drives the analysts' pages (Debian's Chromium, never
Playwright's downloads); screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import pytest

from cases.models import Case, Request
from cases.seed import load_seed
from tests import factories
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, browser_page  # noqa: F401

PASSWORD = "admin-browser-password-1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not __import__("os").path.exists(CHROMIUM),
        reason=f"{CHROMIUM} is absent (apt-get install chromium)",
    ),
]

#: How much of a container's width a table may take; more is an overflow.
OVERFLOW = """(selector) => Array.from(document.querySelectorAll(selector)).map(
    (box) => [box.scrollWidth, box.clientWidth])"""


@pytest.fixture
def seeded(transactional_db):
    """Load the seed (Ri and Baek) and an officer's login before the browser starts."""
    load_seed()
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    ri = Case.objects.get(reference="UA-2025-0001")
    request = Request.objects.filter(case=ri, positions__isnull=False).distinct().first()
    return ri, request


def test_case_page_is_short_and_its_tables_fit(seeded, live_server, browser_page):  # noqa: F811
    """Ri's case page is under 6,000 px (it was about 10,000 with the whole timeline; it now
    holds ten events, and the open tasks the clocks opened for him, his documents and the
    handover section); the positions and notes tables fit their column."""
    ri, request = seeded
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    page.goto(f"{live_server.url}/admin/cases/case/{ri.pk}/change/")
    height = page.evaluate("document.documentElement.scrollHeight")
    page.screenshot(path=str(ARTIFACTS / "admin-case-short.png"), full_page=True)
    assert height < 6000, f"the case page is {height} px tall"
    assert page.locator("[data-testid=full-timeline]").is_visible()
    for scroll, client in page.evaluate(OVERFLOW, ".inline-group .tabular fieldset.module"):
        assert scroll <= client

    page.goto(f"{live_server.url}/admin/cases/request/{request.pk}/change/")
    boxes = page.evaluate(OVERFLOW, "#positions-group fieldset.module")
    assert boxes
    for scroll, client in boxes:
        assert scroll <= client, "the positions table overflows its column"
    page.screenshot(path=str(ARTIFACTS / "admin-request-positions.png"), full_page=True)

    # The whole timeline, newest first, filtered by kind.
    page.goto(f"{live_server.url}/admin/cases/case/{ri.pk}/history/")
    page.select_option("#timeline-kind", "intention.recorded")
    page.click(".timeline-filter input[type=submit]")
    page.wait_for_url("**/history/?kind=intention.recorded")
    kinds = page.locator("tr.timeline-event").evaluate_all(
        "(rows) => rows.map(r => r.dataset.kind)"
    )
    assert kinds and set(kinds) == {"intention.recorded"}
