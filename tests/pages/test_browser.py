"""The analysts' pages in a real headless Chromium, driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (CI installs it); Playwright's own browser
downloads are never used. Screenshots go to ``test-artifacts/``.
"""

import csv
import io
import os
from pathlib import Path

import pytest

from tests import factories
from tests.support.worlds import build_public_case

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "browser-test-password-1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


@pytest.fixture
def browser_page():
    """Yield a Playwright page in a fresh headless Chromium that accepts downloads."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="en-GB"
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


@pytest.fixture
def seeded(transactional_db):
    """Build the public case and an analyst's login before the browser starts.

    The data is written first because Playwright's synchronous API runs an event loop in
    this thread, inside which Django refuses database calls.
    """
    data = build_public_case()
    # The pages have a sign-in form of their own that admits accounts without staff status.
    # Searching by a true name variant and exporting need view_sensitive and export_cases
    # (cases.security.sensitive); a superuser holds them without permission rows, which a
    # flush by an
    # earlier transactional test can leave pointing at stale content types.
    factories.user("analyst", password=PASSWORD, is_staff=False, is_superuser=True)
    return data


def test_analyst_finds_ri_reads_the_case_and_downloads_csv(seeded, live_server, browser_page):
    """Log in, search for 리, see the counts, open the case and its timeline, get the CSV."""
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    # Anonymous visitors go to the login page and come back to the list.
    page.goto(f"{live_server.url}/cases/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/cases/")
    assert page.locator("[data-testid=case-count]").inner_text() == "3"

    # Type the Hangul surname; the Latin-spelled case is found.
    search = page.get_by_label("Search names and references")
    search.fill("리")
    search.press("Enter")
    page.wait_for_url("**/cases/?q=*")
    assert page.locator("[data-testid=case-count]").inner_text() == "1"
    rows = page.locator("table.cases tbody tr")
    assert rows.count() == 1
    assert "UA-2025-0001" in rows.first.inner_text()
    assert "UNVERIFIED" in rows.first.inner_text()

    # The counts for the filtered set, as charts with their numbers.
    charts = page.locator("svg.chart[role=img]")
    assert charts.count() == 5
    status_chart = page.locator("#chart-status svg")
    assert "Captured: 1" in status_chart.get_attribute("aria-label")
    page.screenshot(path=str(ARTIFACTS / "case-list.png"), full_page=True)

    # The CSV of the filtered set.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(text)))
    assert [row["Reference"] for row in exported] == ["UA-2025-0001"]
    assert exported[0]["Intention source publisher"] == "Yonhap"

    # The case page, by keyboard: focus the case link and press Enter.
    page.get_by_role("link", name="UA-2025-0001").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{seeded.ri.uuid}/")
    assert page.get_by_role("heading", name="UA-2025-0001 · Ri").is_visible()
    timeline = page.locator("[data-testid=timeline] > li")
    # Opened, two statements, the request, the task its filing opened, the position.
    assert timeline.count() == 6
    assert "accepts" in timeline.first.inner_text()  # newest first: South Korea's position
    assert "Case UA-2025-0001 opened" in timeline.last.inner_text()
    page.screenshot(path=str(ARTIFACTS / "case-page.png"), full_page=True)

    # Filter the timeline to statements only.
    page.get_by_label("Intention superseded").check()
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**kind=intention.superseded*")
    assert timeline.count() == 1
    assert "superseded" in timeline.first.inner_text()

    # Sign out from the page header: a same-origin form post, back to the sign-in page.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/cases/")
    assert "/accounts/login/" in page.url


def test_list_is_usable_on_a_phone(seeded, live_server, browser_page):
    """On a narrow screen the table becomes one labelled card per case, without overflow."""
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/?next=/cases/")
    page.fill("#id_username", "analyst")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/cases/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    first_cell = page.locator("table.cases tbody tr").first.locator("td").first
    label = first_cell.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Reference"'
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "case-list-phone.png"), full_page=True)
