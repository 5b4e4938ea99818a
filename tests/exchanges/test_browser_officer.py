"""A case officer's day in the admin, in a real headless Chromium: a new statement on the
case page (its level earned from how it was heard, a refusal showing why) and an exchange
planned with the case on its list, proposed and then accepted.

Driven as tests/pages/test_browser.py drives the pages: Debian's ``/usr/bin/chromium``
through Playwright, data written before the browser starts, screenshots in its artifacts.
"""

from __future__ import annotations

import os

import pytest

from cases.exchanges.models import Exchange, ExchangeListEntry
from cases.models import StatedIntention
from tests import factories
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PASSWORD
from tests.support.browser import SUBMIT_TIMEOUT_MS, where

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


@pytest.fixture
def baek(transactional_db):
    """Baek, held by Ukraine; Russia, the other side; an officer's login."""
    ukraine = factories.party("Ukraine", country="UA")
    russia = factories.party("Russia", country="RU")
    case = factories.case(
        reference="UA-2025-0002",
        person_obj=factories.person("Baek", names=[]),
        detaining_party=ukraine,
    )
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    return {"case": case, "ukraine": ukraine, "russia": russia}


@pytest.fixture
def page(live_server, monkeypatch):
    """Yield a signed-in officer's page in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    # Playwright's synchronous API runs an event loop in this thread; the tests read the
    # database from it between the browser's steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        tab.set_default_timeout(20_000)
        try:
            tab.goto(f"{live_server.url}/admin/login/?next=/admin/")
            tab.fill("#id_username", "officer")
            tab.fill("#id_password", PASSWORD)
            tab.click("input[type=submit]")
            tab.wait_for_url(f"{live_server.url}/admin/")
            yield tab
        finally:
            browser.close()


def _choose(page, select_id: str, text: str) -> None:
    """Pick ``text`` in an autocomplete field as an officer does: open it, type, click."""
    page.click(f"#{select_id} + .select2 .select2-selection")
    page.keyboard.type(text)
    page.click(f".select2-results__option:has-text('{text}')")


def _saved(page) -> None:
    """Wait for the page saved; on a refusal, fail with the form's errors."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector(
            ".messagelist .success, .errorlist, .errornote", timeout=SUBMIT_TIMEOUT_MS
        )
    except PlaywrightTimeout as timeout:
        raise AssertionError(f"no answer to the save: {where(page)}") from timeout
    errors = page.locator(".errors, td:has(.errorlist), .errornote")
    assert not errors.count(), errors.evaluate_all(
        "rows => rows.map(row => row.className + ': ' + row.innerText)"
    )


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_an_officer_records_a_statement_whose_level_must_be_earned(baek, live_server, page):
    """A media interview claimed as verified is refused with the reason on the form; at
    'stated', the level such an interview earns, it is recorded and becomes current."""
    case = baek["case"]
    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    page.click("#intentions-group .add-row a")
    page.select_option("#id_intentions-0-option", "third_state")
    page.select_option("#id_intentions-0-destination_country", "KR")
    page.fill("#id_intentions-0-stated_on", "25/02/2025")
    page.fill("#id_intentions-0-certainty", "still deciding")
    page.select_option("#id_intentions-0-setting", "media_interview")
    page.select_option("#id_intentions-0-verification", "verified")
    page.fill("#id_reason", "Interview published by a newspaper")
    page.click("input[name=_continue]")
    error = page.locator("#intentions-group .errorlist").first
    error.wait_for()
    assert "a media interview is at most 'stated'" in error.inner_text()
    _shot(page, "admin-statement-refused.png")
    assert not StatedIntention.objects.filter(case=case).exists()

    page.select_option("#id_intentions-0-verification", "stated")
    page.click("input[name=_continue]")
    _saved(page)
    _shot(page, "admin-statement-recorded.png")
    statement = StatedIntention.objects.get(case=case)
    assert (statement.option, statement.destination_country.code) == ("third_state", "KR")
    assert (statement.setting, statement.verification) == ("media_interview", "stated")
    case.refresh_from_db()
    assert case.current_intention_id == statement.pk


def test_an_officer_plans_an_exchange_and_accepts_a_case_on_its_list(baek, live_server, page):
    """Add the exchange with its two sides and date; put Baek on its list as proposed; then
    accept him. Each step is a service write with its event."""
    case = baek["case"]
    page.goto(f"{live_server.url}/admin/cases/exchange/add/")
    page.fill("#id_name", "Exchange of 5 March")
    _choose(page, "id_parties", "Ukraine")
    _choose(page, "id_parties", "Russia")
    page.fill("#id_planned_on", "05/03/2026")
    # The list opens with one blank row.
    _choose(page, "id_entries-0-case", "UA-2025-0002")
    page.select_option("#id_entries-0-state", "proposed")
    _shot(page, "admin-exchange-add.png")
    page.click("input[name=_continue]")
    _saved(page)
    exchange = Exchange.objects.get(name="Exchange of 5 March")
    assert {p.name for p in exchange.parties.all()} == {"Ukraine", "Russia"}
    assert str(exchange.planned_on) == "2026-03-05"
    entry = ExchangeListEntry.objects.get(exchange=exchange, case=case)
    assert entry.state == "proposed"

    page.select_option("#id_entries-0-state", "accepted")
    page.click("input[name=_continue]")
    _saved(page)
    _shot(page, "admin-exchange-accepted.png")
    entry.refresh_from_db()
    assert entry.state == "accepted"
    events = case.events.filter(kind="exchange.entry_set").order_by("case_seq")
    assert [event.changes["state"] for event in events] == [
        [None, "proposed"],
        ["proposed", "accepted"],
    ]
