"""The analysts' pages and the admin in Ukrainian and Korean, in a real headless Chromium.

The browser asks for the language as a Ukrainian or Korean browser does (Accept-Language from
its locale); the pages' chrome (headings, labels, buttons, the header and the footer) is in
that language with no English left, and the switcher in the header changes it. Screenshots of
each page go to test-artifacts/, and to docs/screenshots/ (linked from the README) when
TRACKER_UPDATE_SCREENSHOTS=1 is set, so that a test run leaves the checkout unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is absent (apt-get install chromium)"
    ),
]

#: Browser locales, as a Ukrainian and a Korean reader's browsers send them.
LOCALES = {"uk": "uk-UA", "ko": "ko-KR"}

#: What the pages say in each language: a few labels of each page's chrome.
EXPECTED = {
    "uk": {
        "login": ["Увійти", "Ім’я користувача", "Пароль"],
        "list": [
            "Справи",
            "Пошук за іменами й номерами справ",
            "Усі фільтри",
            "Завантажити ці справи:",
            "Підрахунки",
            "Справи за статусом",
            "Список справ",
            "Номер справи",
            "Сторона, що тримає в полоні",
            "Поточний намір",
            "Вийти",
            "Облік справ військовополонених",
        ],
        "case": [
            "Особа",
            "Утримання",
            "Висловлені наміри",
            "Перевірка згоди",
            "Ризик у разі повернення",
            "Запити",
            "Хронологія",
            "Робоче ім’я",
            "НЕ ПЕРЕВІРЕНО",
        ],
        "admin": [
            "Облік справ військовополонених",
            "Вийти",
            "Хронологія",
            "Особа",
            "Поточний намір",
            "Перевірка згоди",
            "Утримання",
            "Взяття в полон і утримання",
            "Ця зміна",
            "Причина цієї зміни",
            "Сторона, що тримає в полоні",
            "Правовий статус",
            "Висловлені наміри",
            "Справи",
        ],
    },
    "ko": {
        "login": ["로그인", "사용자 이름", "비밀번호"],
        "list": [
            "사건",
            "이름과 사건 번호 검색",
            "모든 필터",
            "이 사건 내려받기:",
            "집계",
            "상태별 사건",
            "사건 목록",
            "사건 번호",
            "억류 당사자",
            "현재 의사",
            "로그아웃",
            "전쟁포로 사건 관리",
        ],
        "case": [
            "인물",
            "억류",
            "표명된 의사",
            "동의 확인",
            "송환 시 위험",
            "요청",
            "경과 기록",
            "작업용 이름",
            "미검증",
        ],
        "admin": [
            "전쟁포로 사건 관리",
            "로그아웃",
            "경과 기록",
            "인물",
            "현재 의사",
            "동의 확인",
            "억류",
            "포획과 억류",
            "이번 변경",
            "이번 변경의 사유",
            "억류 당사자",
            "법적 지위",
            "표명된 의사",
            "사건",
        ],
    },
}

#: English of the same chrome, which must not be left on a translated page. Data (party
#: names, statuses and other choice labels, sources) stays as recorded and is not listed.
ENGLISH = {
    "login": ["Sign in", "Username", "Password", "admin's login", "Skip to content"],
    "list": [
        "Search names and references",
        "All filters",
        "Apply filters",
        "Download these cases",
        "Counts",
        "Case list",
        "Cases by status",
        "Cases by current intention",
        "Show as a table",
        "Last change",
        "Log out",
        "POW case tracker",
        "Read-only pages for analysts",
        "cases in total",
        "case matches",
    ],
    "case": [
        "All cases",
        "Working name",
        "Stated intentions",
        "Consent gate",
        "Risk on return",
        "Timeline",
        "newest first",
        "Heard by",
        "UNVERIFIED",
        "Log out",
        "Happened",
        " via ",
        # Field names in the timeline's changes, around the stored (English) values.
        "capture date",
        "stated on precision",
        "destination country",
    ],
    "admin": [
        "Log out",
        "View site",
        "POW case tracker",
        "Timeline",
        "newest first",
        "Summary and changes",
        "Occurred",
        "History",
        # The case page's sections, form labels, inlines and breadcrumbs.
        "Home",
        "Cases",
        "Person",
        "Current intention",
        "Consent gate",
        "Custody",
        "Capture and detention",
        "This change",
        "Reason for this change",
        "Detaining party",
        "Legal status",
        "Capture date",
        "Stated intentions",
        "stated intentions",
        "Requests",
        "Risk on return",
        "Name variants",
        "Withdraw, contest or invalidate",
        "UNVERIFIED",
        "Notes",
    ],
}


@pytest.fixture
def seeded(transactional_db):
    """Build the public case, an analyst's login and a case officer's, before the browser."""
    data = build_public_case()
    factories.user("analyst", password=PASSWORD, is_staff=False, is_superuser=True)
    factories.user("officer", password=PASSWORD, is_staff=True, is_superuser=True)
    return data


def _open_browser(playwright, language: str):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=LOCALES[language])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return browser, page


#: The chrome of each surface: the whole page, but for the admin its header, breadcrumbs and
#: object tools, the form's section headings, labels and read-only summaries, the inlines'
#: headings and column names, and the case's timeline. The sidebar is left out: it lists
#: other applications' models too (django-axes, django-otp), which have no Ukrainian or
#: Korean names.
CHROME = {
    "admin": ", ".join(
        [
            "#header",
            ".breadcrumbs",
            ".object-tools",
            "#content h1",
            "fieldset h2",
            ".form-row label",
            ".field-person_summary .readonly",
            ".field-current_intention_summary .readonly",
            ".field-consent_summary .readonly",
            ".inline-group h2",
            ".inline-group thead",
            "#case-timeline h2",
            "#case-timeline thead",
        ]
    )
}


def _text(page, selector: str) -> str:
    """Return the text of ``selector``, hidden parts (closed details, visually hidden) included."""
    return " ".join(page.locator(selector).all_text_contents())


def _check(page, language: str, surface: str) -> None:
    assert page.locator("html").get_attribute("lang") == language
    text = _text(page, CHROME.get(surface, "body"))
    missing = [label for label in EXPECTED[language][surface] if label not in text]
    assert missing == [], f"{surface} in {language} lacks {missing}"
    left = [label for label in ENGLISH[surface] if label in text]
    assert left == [], f"{surface} in {language} still says {left}"


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_the_pages_and_the_admin_in_the_readers_language(seeded, live_server, language):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser, page = _open_browser(playwright, language)
        try:
            page.goto(f"{live_server.url}/cases/")
            assert "/accounts/login/" in page.url
            _check(page, language, "login")
            page.fill("#id_username", "analyst")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url(f"{live_server.url}/cases/")

            _check(page, language, "list")
            assert page.locator("[data-testid=case-count]").inner_text() == "3"
            page.screenshot(path=str(SCREENSHOTS / f"case-list-{language}.png"), full_page=True)

            page.get_by_role("link", name="UA-2025-0001").click()
            page.wait_for_url(f"**/cases/{seeded.ri.uuid}/")
            _check(page, language, "case")
            page.screenshot(path=str(SCREENSHOTS / f"case-page-{language}.png"), full_page=True)

            # The switcher in the header: the other language, on the same page.
            other = "ko" if language == "uk" else "uk"
            page.select_option("#language-select", other)
            page.locator("[data-testid=language-switcher] button").click()
            page.wait_for_url(f"**/cases/{seeded.ri.uuid}/")
            _check(page, other, "case")
        finally:
            browser.close()

        # The admin's case page, for a case officer whose browser speaks the language.
        browser, page = _open_browser(playwright, language)
        try:
            page.goto(f"{live_server.url}/admin/cases/case/")
            page.fill("#id_username", "officer")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/admin/cases/case/")
            page.goto(f"{live_server.url}/admin/cases/case/{seeded.ri.pk}/change/")
            _check(page, language, "admin")
            # Django's own buttons, from Django's catalogs.
            save = page.locator("input[name=_save]").get_attribute("value")
            assert save == {"uk": "Зберегти", "ko": "저장"}[language]
            assert page.locator("[data-testid=language-switcher]").is_visible()
            page.screenshot(path=str(SCREENSHOTS / f"admin-case-{language}.png"), full_page=False)
        finally:
            browser.close()
