"""A case officer records a handover in the admin, in a real headless Chromium.

From the case page's *Add handover* link, with the reconfirmation the ICRC took there: the
request is executed and the case transferred, as the service's own tests check row by row.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cases.exchanges.models import Handover
from cases.models import Case
from tests import factories
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PASSWORD
from tests.support.browser import submit

pytestmark = pytest.mark.browser


@pytest.fixture
def ready(transactional_db):
    """Write, before the browser starts, a case ready to be handed over and an officer.

    Ri (a North Korean national held by Ukraine) said in private 40 days ago that he wants
    to go to South Korea; his transfer is scheduled and his release approved.
    """
    ukraine = factories.party("Ukraine", country="UA")
    korea = factories.party("South Korea", country="KR")
    dprk = factories.party("DPRK", country="KP")
    person = factories.person("Ri", names=[], nationalities=["KP"], power_depends_on=dprk)
    case = factories.case(reference="UA-2025-0001", person_obj=person, detaining_party=ukraine)
    icrc = factories.neutral_party()
    factories.verified_wish(
        case, "third_state", "KR", stated_on=timezone.localdate() - dt.timedelta(40)
    )
    transfer = factories.request(case, kind="third_state_transfer", addressed_to=korea)
    transfer = factories.advance_request(transfer, "scheduled")
    case = factories.advance_case(Case.objects.get(pk=case.pk), "release_approved")
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    return {"case": case, "icrc": icrc, "transfer": transfer}


def test_an_officer_records_a_handover_from_the_case_page(ready, live_server):
    """Case page -> Add handover -> the reconfirmation -> Save: the case is transferred."""
    import os

    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)")
    case = ready["case"]
    today = timezone.localdate().isoformat()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
            page.fill("#id_username", "officer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"**/admin/cases/case/{case.pk}/change/")
            page.click("#add-handover")
            page.wait_for_url("**/admin/cases/handover/add/**")
            # The case's scheduled request and its addressee are proposed.
            assert page.locator("#id_request").input_value() == str(ready["transfer"].pk)
            page.fill("#id_occurred_on", today)
            page.fill("#id_place_text", "Border crossing point")
            page.check("#id_reconfirmed")
            page.select_option("#id_heard_by", str(ready["icrc"].pk))
            page.select_option("#id_detaining_power_present", "no")
            page.check("#id_options_explained")
            page.fill("#id_quote", "I want to go to South Korea.")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "admin-handover-add.png"), full_page=True)
            submit(page, "input[name=_save]", lands_on="**/admin/cases/handover/")
            assert "was added successfully" in page.locator(".messagelist").inner_text()
        finally:
            browser.close()

    case.refresh_from_db()
    assert case.status == "transferred_third_state"
    handover = Handover.objects.get(case=case)
    assert handover.request_id == ready["transfer"].pk
    assert handover.reconfirmation.verification == "reconfirmed"
    assert handover.place_text == "Border crossing point"
