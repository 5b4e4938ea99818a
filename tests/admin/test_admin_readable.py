"""The admin reads well: the timeline on its own page, dates at their precision, labels for
codes, request dates the officer sets, one history, and the small defects of the case page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from cases import services
from cases.filters import CaseFilterSet
from cases.models import Request, TimelineEvent
from cases.services import NameSpec
from cases.timeline.presenter import change_rows, date_at_precision
from tests import factories
from tests.support.admin import change_url, errors_text, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def ri_case():
    """Ri's case: the person has the variants 리 and Lee."""
    return factories.case(
        reference="UA-2025-0001",
        person_obj=factories.person(
            "Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")]
        ),
    )


def with_notes(case, count: int):
    """Add ``count`` notes to ``case`` (one event each) and return the case."""
    for number in range(count):
        services.note_add(actor=factories.SYSTEM, case=case, body=f"Note {number}")
    return case


def history_url(case) -> str:
    return reverse("admin:cases_case_history", args=[case.pk])


# --------------------------------------------------------------------------------------------
# Dates at their precision
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "expected"),
    [
        ("day", "15 Jan 2025"),
        ("month", "January 2025"),
        ("year", "2025"),
        ("approximate", "about 2025"),
    ],
)
def test_a_date_reads_no_more_precisely_than_it_is_known(precision, expected):
    """A month-only date is "January 2025", never "01/01/2025 (Month only)"."""
    with translation.override("en"):
        assert date_at_precision(dt.date(2025, 1, 15), precision) == expected


def test_a_moment_reads_with_its_time_and_dates_follow_the_language():
    """An exact moment keeps its time; the month is written as the reader's language does."""
    moment = dt.datetime(2025, 1, 15, 9, 30, tzinfo=dt.UTC)
    with translation.override("en"):
        assert date_at_precision(moment, "exact") == "15 Jan 2025 09:30"
        assert date_at_precision(moment, "month") == "January 2025"
        assert date_at_precision(None, "day") == ""
    with translation.override("ko"):
        assert date_at_precision(dt.date(2025, 1, 15), "month") == "2025년 1월"
    with translation.override("uk"):
        uk = date_at_precision(dt.date(2025, 1, 15), "month")
        assert "2025" in uk and "January" not in uk


def test_admin_timeline_and_case_page_show_dates_at_their_precision(admin_client, ri_case):
    """A statement of January 2025 (month only) reads "January 2025" in the admin and pages."""
    factories.intention(ri_case, stated_on=dt.date(2025, 1, 1), stated_on_precision="month")
    admin = admin_client.get(change_url(ri_case)).content.decode()
    assert "January 2025" in admin
    assert "01/01/2025 (Month only)" not in admin
    page = admin_client.get(reverse("cases:detail", args=[ri_case.uuid])).content.decode()
    assert "January 2025" in page
    assert "(month only)" not in page


def test_diffs_show_labels_not_codes():
    """Stored choices and countries read as their labels, also for keys borrowed by a move."""
    rows = change_rows(
        "statedintention",
        {"option": [None, "third_state"], "destination_country": [None, "KR"]},
        (),
    )
    assert [(r["field"], r["new"]) for r in rows] == [
        ("option", "Transfer to a third state"),
        ("destination country", "South Korea"),
    ]
    rows = change_rows(
        "case", {"destination_country": [None, "KR"], "consent_level": [None, "verified"]}, ()
    )
    assert "KR" not in {r["new"] for r in rows}
    assert "verified" not in {r["new"] for r in rows}


# --------------------------------------------------------------------------------------------
# The timeline on its own page, and the latest events on the case page
# --------------------------------------------------------------------------------------------


def test_timeline_page_is_newest_first_fifty_a_page(admin_client, ri_case):
    """60 events: page 1 holds 60..11, page 2 holds 10..1."""
    with_notes(ri_case, 59)
    first = admin_client.get(history_url(ri_case))
    assert first.status_code == 200
    assert [row["seq"] for row in first.context["timeline"]] == list(range(60, 10, -1))
    assert 'rel="next"' in first.content.decode()
    second = admin_client.get(history_url(ri_case), {"page": 2})
    assert [row["seq"] for row in second.context["timeline"]] == list(range(10, 0, -1))


def test_timeline_page_filters_by_kind(admin_client, ri_case):
    """?kind= keeps one kind; only the case's kinds are offered; an unknown kind is a 400."""
    with_notes(ri_case, 3)
    response = admin_client.get(history_url(ri_case), {"kind": "case.opened"})
    assert [row["kind"] for row in response.context["timeline"]] == ["case.opened"]
    assert {value for value, _label in response.context["kinds"]} == {"case.opened", "note.added"}
    assert admin_client.get(history_url(ri_case), {"kind": "nonsense"}).status_code == 400


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_timeline_page_queries_do_not_grow_with_events(admin_client, ri_case):
    """The same number of queries for a case with 2 events and one with 60."""
    small = with_notes(factories.case(reference="UA-2025-0099"), 1)
    with_notes(ri_case, 59)
    assert _queries(admin_client, history_url(small)) == _queries(
        admin_client, history_url(ri_case)
    )


def test_case_page_shows_the_ten_latest_events_and_links_the_rest(admin_client, ri_case):
    """The change page lists events 60..51 and links the whole timeline by its count."""
    with_notes(ri_case, 59)
    response = admin_client.get(change_url(ri_case))
    assert [row["seq"] for row in response.context["timeline"]] == list(range(60, 50, -1))
    page = response.content.decode()
    assert f'href="{history_url(ri_case)}" data-testid="full-timeline"' in page
    assert "60 events" in page


def test_case_page_queries_do_not_grow_with_events(admin_client, ri_case):
    """The case page costs as many queries with 2 events as with 60."""
    small = with_notes(factories.case(reference="UA-2025-0099"), 1)
    with_notes(ri_case, 59)
    admin_client.get(change_url(small))  # the session's and content types' first reads
    assert _queries(admin_client, change_url(small)) == _queries(admin_client, change_url(ri_case))


def with_history(case, rows: int):
    """Give ``case`` ``rows`` of each kind the case page lists, and return it.

    Statements at every level of the gate's reading (stated, witnessed with parties present,
    verified by the ICRC in a private interview), requests with several parties' positions,
    risk assessments, notes and the events they append: each is a row that a page reading
    its neighbours one at a time would pay for.
    """
    for number in range(rows):
        day = dt.date(2025, 2, 1) + dt.timedelta(days=number)
        factories.intention(case, stated_on=day, verification="witnessed")
        factories.intention(case, stated_on=day, verification="verified")
        request = factories.request(case, kind="third_state_transfer")
        for stance in ("supports", "accepts"):
            services.position_record(
                actor=factories.SYSTEM,
                request=request,
                party=factories.party(),
                stance=stance,
                stated_on=day,
            )
        services.risk_assessment_record(
            actor=factories.SYSTEM,
            case=case,
            destination_country="KP",
            level="high",
            basis="Reports of reprisals",
            assessor="UNHCR desk",
            assessed_on=day,
        )
    return with_notes(case, rows)


#: The case page's queries for a superuser, whatever the case holds: session and user; the
#: case; each inline's rows (statements with their parties present, risks, requests with their
#: positions, movements, capture cards, occurrences, tasks, interviews, documents, notes); the
#: person with his names, the detaining party, the statements with their parties, requests,
#: risks, notes and interviews, read once for the summaries, the gate and the access log
#: (``cases.admin.cases.read_for_page``); the ten latest events; the access log's entry; the
#: person's other cases for the gate; the handover; the choices of the new rows' selects.
CASE_PAGE_QUERIES = 40


@pytest.mark.parametrize("rows", [1, 6])
def test_case_page_queries_do_not_grow_with_statements_requests_or_events(
    admin_client, django_assert_num_queries, ri_case, rows
):
    """The case page costs as many queries with one statement, request and note as with six
    of each (and their positions, parties present and events)."""
    with_history(ri_case, rows)
    admin_client.get(change_url(ri_case))  # the session's first read
    with django_assert_num_queries(CASE_PAGE_QUERIES):
        response = admin_client.get(change_url(ri_case))
    assert response.status_code == 200
    page = response.content.decode()
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 2 * rows
    assert page.count("Witnessed") >= rows and "Independent Observers" in page


def test_one_history_named_timeline(admin_client, ri_case):
    """The object tools hold one history link, "Timeline", to our timeline page."""
    page = admin_client.get(change_url(ri_case)).content.decode()
    assert page.count('class="historylink"') == 1
    assert f'{history_url(ri_case)}" class="historylink">Timeline</a>' in page
    assert ">History</a>" not in page
    history = admin_client.get(history_url(ri_case))
    assert history.templates[0].name == "admin/cases/timeline_history.html"


# --------------------------------------------------------------------------------------------
# Widgets, links and hints
# --------------------------------------------------------------------------------------------


def test_no_shortcuts_beside_assigned_officer(admin_client, ri_case):
    """Logins are not added or changed from a case; parties still are."""
    for url in (change_url(ri_case), reverse("admin:cases_case_add")):
        page = admin_client.get(url).content.decode()
        for verb in ("add", "change", "view", "delete"):
            assert f'id="{verb}_id_assigned_officer"' not in page
        assert 'id="add_id_detaining_party"' in page


def test_request_is_reached_by_a_link_that_says_where_it_goes(admin_client, ri_case):
    """The case page links a recorded request by words, not by "View"."""
    req = factories.request(ri_case, kind="third_state_transfer")
    page = admin_client.get(change_url(ri_case)).content.decode()
    link = reverse("admin:cases_request_change", args=[req.pk])
    assert f'href="{link}" class="folded-link">Open the request: status, dates, positions' in page
    assert ">View</a>" not in page


def test_request_resting_on_an_older_statement_says_so(admin_client, ri_case):
    """After a newer statement the request's page and the case page warn; nothing changes."""
    old = factories.intention(ri_case, stated_on=dt.date(2025, 2, 25))
    req = factories.request(ri_case, kind="third_state_transfer", intention=old)
    factories.intention(ri_case, stated_on=dt.date(2025, 3, 10))
    for url in (change_url(req), change_url(ri_case)):
        page = admin_client.get(url).content.decode()
        assert "A newer statement (10 Mar 2025, Stated (direct, recorded)) exists" in page
    assert Request.objects.get(pk=req.pk).intention_id == old.pk


def test_analysts_archived_filter_has_a_label(admin_client):
    """The archived filter is labelled, not "[invalid name]"."""
    assert str(CaseFilterSet().form.fields["archived"].label) == "Archived"
    assert "[invalid name]" not in admin_client.get(reverse("cases:list")).content.decode()


# --------------------------------------------------------------------------------------------
# Request dates
# --------------------------------------------------------------------------------------------


def _decide(client, req, **values):
    response = client.get(change_url(req))
    data = form_data(response)
    data.update(values)
    return client.post(change_url(req), data)


def test_officer_sets_the_decision_date(admin_client, ri_case):
    """Accepting with a decision date stores that date, not today, with one event."""
    req = factories.advance_request(
        factories.request(ri_case, filed_on=dt.date(2025, 3, 1)), "under_review"
    )
    before = TimelineEvent.objects.count()
    response = _decide(admin_client, req, status="accepted", decided_on="2025-03-20")
    assert response.status_code == 302, errors_text(response)
    req.refresh_from_db()
    assert (req.status, req.decided_on, req.filed_on) == (
        "accepted",
        dt.date(2025, 3, 20),
        dt.date(2025, 3, 1),
    )
    assert TimelineEvent.objects.count() == before + 1
    event = TimelineEvent.objects.latest("id")
    assert event.changes["decided_on"] == [None, "2025-03-20"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"status": "accepted", "decided_on": "2025-02-01"}, "cannot come before the filing"),
        ({"status": "accepted", "decided_on": "2999-01-01"}, "in the future"),
        ({"decided_on": "2025-03-20"}, "recorded with a move to accepted or refused"),
        ({"filed_on": "2999-01-01"}, "in the future"),
    ],
)
def test_request_dates_are_refused_when_impossible(admin_client, ri_case, values, message):
    """A decision before the filing, a date in the future, or a lone date change: refused."""
    req = factories.advance_request(
        factories.request(ri_case, filed_on=dt.date(2025, 3, 1)), "under_review"
    )
    before = TimelineEvent.objects.count()
    response = _decide(admin_client, req, **values)
    assert response.status_code == 200
    assert message in errors_text(response)
    assert TimelineEvent.objects.count() == before
    req.refresh_from_db()
    assert (req.status, req.decided_on, req.filed_on) == ("under_review", None, dt.date(2025, 3, 1))


def test_filing_date_defaults_to_today_only_when_empty(ri_case):
    """A request filed without a date is dated today; one filed with a date keeps it."""
    dated = factories.request(ri_case, filed_on=dt.date(2025, 3, 1))
    undated = factories.request(ri_case)
    assert dated.filed_on == dt.date(2025, 3, 1)
    assert undated.filed_on == dt.date.today()
