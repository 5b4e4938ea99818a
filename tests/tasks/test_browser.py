""" "My work" in a real headless Chromium (as tests/pages/test_browser.py drives it)."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.tasks import services as task_services
from tests import factories as f
from tests.pages.test_browser import ARTIFACTS, CHROMIUM, PASSWORD, browser_page  # noqa: F401
from tests.support import roles

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason=f"{CHROMIUM} absent"),
]


@pytest.fixture
def officer_with_tasks(transactional_db):
    """An officer with a late task, one due tomorrow and one next month, and a colleague's.

    Written before the browser starts: Playwright's synchronous API runs an event loop in
    this thread, inside which Django refuses database calls.
    """
    officer = roles.user_in_role(roles.CASE_OFFICER, "officer", password=PASSWORD)
    colleague = roles.user_in_role(roles.CASE_OFFICER, "colleague")
    case = f.case(assigned_officer=officer)
    today = dt.date.today()
    for title, days, assignee in (
        ("Next month", 30, officer),
        ("Tomorrow", 1, officer),
        ("Last week", -7, officer),
        ("Not mine", -1, colleague),
    ):
        task_services.task_open(
            actor=f.SYSTEM,
            case=case,
            title=title,
            due_on=today + dt.timedelta(days=days),
            assignee=assignee,
        )
    return case


def test_officer_opens_my_work_from_the_header(officer_with_tasks, live_server, browser_page):  # noqa: F811
    """Sign in, follow "My work" in the header, read the three groups in order."""
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server.url}/cases/")
    page.fill("#id_username", "officer")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/cases/")
    page.get_by_role("link", name="My work").click()
    page.wait_for_url(f"{live_server.url}/cases/my-work/")
    assert page.locator("h1").inner_text() == "My work"
    groups = {
        key: page.locator(f"#tasks-{key} tbody tr").all_inner_texts()
        for key in ("overdue", "soon", "later")
    }
    assert [len(rows) for rows in groups.values()] == [1, 1, 1]
    assert "Last week" in groups["overdue"][0] and "7 days late" in groups["overdue"][0]
    assert "Tomorrow" in groups["soon"][0] and "Next month" in groups["later"][0]
    assert "Not mine" not in page.content()
    page.get_by_role("link", name=officer_with_tasks.reference).first.click()
    page.wait_for_url(f"**/cases/{officer_with_tasks.uuid}/")
    page.go_back()
    page.screenshot(path=str(ARTIFACTS / "my-work.png"), full_page=True)
