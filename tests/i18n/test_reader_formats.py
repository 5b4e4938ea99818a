"""Dates and numbers on the analysts' pages as the reader's language writes them.

A capture known to the month reads "January 2025", "Січень 2025" or "2025년 1월"; a moment
adds its time; counts group their thousands as the language does (12,345; 12 345). English
keeps the British formats. The exports keep ISO dates (``tests/pages/test_exports.py``).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import formats, timezone, translation

from cases.models import TimelineEvent
from cases.pages import charts
from cases.preferences import account_language_set
from tests import factories as f
from tests.support.clients import session_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

CAPTURED = {"en": "January 2025", "uk": "Січень 2025", "ko": "2025년 1월"}
STATED = {"en": "1 Mar 2025", "uk": "01 березня 2025 р.", "ko": "2025년 3월 1일"}
GROUPED = {"en": "12,345", "uk": "12\xa0345", "ko": "12,345"}


@pytest.fixture
def case():
    case = f.case(capture_date=dt.date(2025, 1, 15), capture_date_precision="month")
    f.intention(case, stated_on=dt.date(2025, 3, 1), stated_on_precision="day")
    return case


def page(path: str, language: str) -> str:
    client = session_client(user_in_role(ANALYST, f"formats-{language}"))
    response = client.get(path, headers={"Accept-Language": language})
    assert response.status_code == 200
    assert response["Content-Language"] == language
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
def test_the_case_list_writes_the_capture_month_in_the_readers_language(case, language):
    body = page("/cases/", language)
    assert f"{CAPTURED[language]}</time>" in body
    # The machine-readable date stays ISO; no ISO date is shown as text.
    assert 'datetime="2025-01-15"' in body
    assert ">2025-01-15<" not in body


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
def test_the_case_page_writes_dates_in_the_readers_language(case, language):
    body = page(f"/cases/{case.uuid}/", language)
    assert f"{CAPTURED[language]}</time>" in body
    assert STATED[language] in body
    assert ">2025-03-01<" not in body


def test_a_korean_case_page_writes_no_iso_dates(case):
    body = page(f"/cases/{case.uuid}/", "ko")
    assert "2025년 1월" in body
    opened = case.opened_at.date().isoformat()
    assert f">{opened}" not in body and f"{opened} " not in body


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
def test_counts_group_their_thousands(case, language, monkeypatch):
    """The number of cases, the overdue counts and the charts' tables and bars."""
    bars = [charts.Bar("Open", 12345)]
    counts = charts.CaseCounts(
        12345, [charts.Chart("status", "Status", bars, "Status")], {"capture_card": 12345}
    )
    monkeypatch.setattr(charts, "case_counts", lambda *args, **kwargs: counts)
    body = page("/cases/", language)
    grouped = GROUPED[language]
    assert f'data-testid="case-count">{grouped}<' in body
    assert f"<strong>{grouped}</strong>" in body
    assert f'<td class="num">{grouped}</td>' in body
    assert f'class="bar-value">{grouped}</text>' in body


@pytest.mark.parametrize(
    ("language", "month"), [("en", "March 2025"), ("uk", "Березень 2025"), ("ko", "2025년 3월")]
)
def test_the_events_chart_names_its_months_in_the_readers_language(case, language, month):
    from django.utils import translation

    from cases.models import Case

    with translation.override(language):
        chart = charts.events_by_month(Case.objects.filter(pk=case.pk))
    assert month in {bar.label for bar in chart.bars}


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
def test_the_admin_timeline_writes_when_each_event_was_recorded_in_the_readers_language(
    case, language
):
    """The admin's full timeline writes the recorded moment with the language's date format."""
    officer = user_in_role(CASE_OFFICER, f"recorded-{language}", is_staff=True)
    account_language_set(user=officer, language=language)
    response = session_client(officer).get(reverse("admin:cases_case_history", args=[case.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    event = TimelineEvent.objects.filter(case=case).order_by("-case_seq").first()
    recorded = timezone.localtime(event.recorded_at)
    with translation.override(language):
        day = formats.date_format(recorded, "DATE_FORMAT")
    moment = f"{day} {recorded:%H:%M:%S}"
    assert f'datetime="{recorded.isoformat()}">{moment}</time> UTC' in body
    assert f"{recorded:%Y-%m-%d %H:%M:%S}" not in body
    if language != "en":
        with translation.override("en"):
            assert formats.date_format(recorded, "DATE_FORMAT") not in body
