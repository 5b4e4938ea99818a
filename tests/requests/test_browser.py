"""A case officer's request in the admin, in a real headless Chromium: a transfer to South
Korea filed from the case page, moved on its own page, and its execution by a handover
refused by the consent gate with the reason on the page.

Driven as tests/exchanges/test_browser_officer.py drives the admin: Debian's
``/usr/bin/chromium`` through Playwright, data written before the browser starts and read
between its steps, screenshots in the artifacts.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from cases import consent
from cases.exchanges.models import Handover
from cases.models import Case, Request, TimelineEvent
from tests import factories
from tests.exchanges.test_browser_officer import _choose, _saved, _shot, page  # noqa: F401
from tests.pages.test_browser import CHROMIUM, PASSWORD

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]


@pytest.fixture
def ri(transactional_db):
    """Ri, held by Ukraine, who told a lawmaker he wants to go to South Korea (a statement
    only 'stated': no neutral body heard him in private); South Korea; an officer's login."""
    ukraine = factories.party("Ukraine", country="UA")
    korea = factories.party("Republic of Korea", country="KR")
    case = factories.case(
        reference="UA-2025-0001",
        person_obj=factories.person("Ri", names=[], nationalities=["KP"]),
        detaining_party=ukraine,
    )
    factories.intention(case, option="third_state", destination_country="KR")
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    return {"case": case, "korea": korea}


def _day(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def test_an_officer_files_a_transfer_request_and_moves_it(ri, live_server, page):  # noqa: F811
    """File a transfer to South Korea from the case page: it is filed with its event and the
    gate's answer for the move it would make is shown with what is missing. On the request's
    own page, move it to acknowledged: the status and its event follow."""
    case = ri["case"]
    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    page.click("#requests-group .add-row a")
    page.select_option("#id_requests-0-kind", "third_state_transfer")
    _choose(page, "id_requests-0-addressed_to", "Republic of Korea")
    page.select_option("#id_requests-0-destination_country", "KR")
    page.fill("#id_requests-0-legal_basis", "GC III Art. 118; non-refoulement")
    page.fill("#id_reason", "He asked the lawmaker to be sent to South Korea")
    page.click("input[name=_continue]")
    _saved(page)
    _shot(page, "admin-request-filed.png")

    request = Request.objects.get(case=case)
    assert (request.kind, request.status) == ("third_state_transfer", "filed")
    assert (request.addressed_to, request.destination_country.code) == (ri["korea"], "KR")
    filed = TimelineEvent.objects.get(case=case, kind="request.filed")
    assert filed.subject_uuid == request.uuid
    assert filed.reason == "He asked the lawmaker to be sent to South Korea"
    # The case page answers for the move the request would make: refused, and why.
    decision = consent.check(Case.objects.get(pk=case.pk), consent.move_for_request(request))
    assert not decision.passed
    gate = page.locator(".field-consent_summary").inner_text()
    assert "refused" in gate and "is only 'stated'" in gate
    for problem in decision.problems:
        assert problem.message in gate

    page.click("#requests-group .folded-link")
    page.wait_for_url(f"**/admin/cases/request/{request.pk}/change/")
    page.select_option("#id_status", "acknowledged")
    page.fill("#id_reason", "South Korea's embassy confirmed receipt")
    page.click("input[name=_continue]")
    _saved(page)
    _shot(page, "admin-request-acknowledged.png")
    request.refresh_from_db()
    assert request.status == "acknowledged"
    moved = TimelineEvent.objects.get(case=case, kind="request.status_changed")
    assert moved.subject_uuid == request.uuid
    assert moved.changes["status"] == ["filed", "acknowledged"]
    assert moved.reason == "South Korea's embassy confirmed receipt"


def test_the_gate_refuses_to_execute_the_transfer_and_says_why(ri, live_server, page):  # noqa: F811
    """With the transfer scheduled and his release approved, the handover that would execute
    it is refused on its form with the gate's reason (his wish was never verified in
    private); nothing is written and the request stays scheduled."""
    case = ri["case"]
    request = factories.request(case, kind="third_state_transfer", addressed_to=ri["korea"])
    request = factories.advance_request(request, "scheduled")
    factories.advance_case(case, "release_approved")
    events = TimelineEvent.objects.filter(case=case).count()

    page.goto(f"{live_server.url}/admin/cases/case/{case.pk}/change/")
    page.click("#add-handover")
    page.wait_for_url("**/admin/cases/handover/add/**")
    assert page.locator("#id_request").input_value() == str(request.pk)
    page.fill("#id_occurred_on", _day(timezone.localdate()))
    if not page.locator("#id_receiving_authority").input_value():
        _choose(page, "id_receiving_authority", "Republic of Korea")
    page.click("input[name=_save]")
    error = page.locator(".errornote, .errorlist").first
    error.wait_for()
    _shot(page, "admin-handover-refused.png")

    page_text = page.locator("#content").inner_text()
    decision = consent.check(Case.objects.get(pk=case.pk), consent.move_for_request(request))
    assert not decision.passed and decision.problems
    assert "Consent gate: transfer to a third state (KR) is refused" in page_text
    assert "is only 'stated'" in page_text
    for problem in decision.problems:
        assert problem.message in page_text
    assert not Handover.objects.filter(request=request).exists()
    request.refresh_from_db()
    assert request.status == "scheduled"
    assert TimelineEvent.objects.filter(case=case).count() == events
