"""The analysts' pages: the case list with filters, counts and charts, and the case page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case, TimelineEvent
from cases.pages import charts, views
from cases.services import NameSpec
from tests import factories
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role
from tests.support.worlds import build_public_case


@pytest.fixture
def public(db):
    return build_public_case()


@pytest.fixture
def analyst(client, db):
    """The analyst role, signed in, plus ``cases.view_sensitive``.

    These tests show and search the true name variants (리, Lee), which the role table's
    analyst does not see (cases.security.sensitive); the extra permission lets them through.
    What an analyst without it sees is tested with ``reader`` below.
    """
    user = user_in_role(ANALYST, "analyst", extra_permissions=["view_sensitive"])
    client.force_login(user)
    return user


@pytest.fixture
def officer(client, db):
    """A case officer, signed in."""
    user = user_in_role(CASE_OFFICER, "officer")
    client.force_login(user)
    return user


def reader(username: str):
    """Return an analyst as the role table makes one: the pages, no sensitive values."""
    return user_in_role(ANALYST, username)


def references(response) -> list[str]:
    """Return the case references listed in the page's table, in order."""
    return [case.reference for case in response.context["cases"]]


def count_on_page(response) -> int:
    match = re.search(r'data-testid="case-count">(\d+)<', response.content.decode())
    return int(match.group(1))


# ------------------------------------------------------------------------------------------
# Access
# ------------------------------------------------------------------------------------------


def test_list_requires_login(client, db):
    """An anonymous visitor is sent to the sign-in page, coming back to the list."""
    response = client.get("/cases/?q=Ri")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/cases/%3Fq%3DRi"


def test_case_page_and_export_require_login(client, public):
    for url in (f"/cases/{public.ri.uuid}/", "/cases/export.csv", "/cases/export.xlsx"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_root_redirects_to_the_list(client):
    assert client.get("/")["Location"] == "/cases/"


# ------------------------------------------------------------------------------------------
# The list and its filters
# ------------------------------------------------------------------------------------------


def test_list_shows_every_case_sorted_by_reference(client, analyst, public):
    response = client.get("/cases/")
    assert response.status_code == 200
    assert references(response) == ["RU-2024-0007", "UA-2025-0001", "UA-2025-0002"]
    assert count_on_page(response) == 3
    html = response.content.decode()
    assert "UNVERIFIED" in html  # Ri's wish is stated, not verified
    assert f'href="/cases/{public.ri.uuid}/"' in html


def test_list_shows_a_name_variant_or_two(client, analyst, public):
    html = client.get("/cases/").content.decode()
    assert "리 · Lee" in html
    assert "백 · Paek" in html


@pytest.mark.parametrize("query", ["리", "Lee", "Yi", "Rhee", "ri"])
def test_search_box_finds_ri_in_any_script(client, analyst, public, query):
    response = client.get("/cases/", {"q": query})
    assert references(response) == ["UA-2025-0001"]
    assert count_on_page(response) == 1


def test_search_by_paek_spelling_finds_baek(client, analyst, public):
    assert references(client.get("/cases/", {"q": "Paik"})) == ["UA-2025-0002"]


def test_analyst_question_combining_filters(client, analyst, public):
    """Held by Ukraine, unverified wish to go to South Korea, open transfer request: Ri."""
    params = {
        "detaining_party": str(public.ukraine.uuid),
        "current_intention": "third_state",
        "destination_country": "KR",
        "intention_verified": "false",
        "request_kind": "third_state_transfer",
        "request_status": "filed,acknowledged,under_review",
    }
    response = client.get("/cases/", params)
    assert references(response) == ["UA-2025-0001"]
    # The same question with a verified wish has no answer.
    params["intention_verified"] = "true"
    assert references(client.get("/cases/", params)) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "captured"}, ["RU-2024-0007", "UA-2025-0001", "UA-2025-0002"]),
        ({"status": "interned"}, []),
        ({"legal_status": "unknown"}, ["RU-2024-0007", "UA-2025-0001", "UA-2025-0002"]),
        ({"nationality": "RU"}, ["RU-2024-0007"]),
        ({"nationality": "KP"}, ["UA-2025-0001", "UA-2025-0002"]),
        ({"current_intention": "undecided"}, ["UA-2025-0002"]),
        ({"captured_before": "2024-12-31"}, ["RU-2024-0007"]),
        ({"captured_after": "2025-01-01"}, ["UA-2025-0001", "UA-2025-0002"]),
        ({"updated_after": "2999-01-01T00:00:00Z"}, []),
        ({"request_kind": "asylum"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, analyst, public, params, expected):
    assert references(client.get("/cases/", params)) == expected


def test_filter_form_keeps_the_query(client, analyst, public):
    """The form shows the current filters, so the URL is the shareable state."""
    html = client.get("/cases/", {"q": "리", "status": "captured"}).content.decode()
    assert 'value="리"' in html
    assert re.search(r'value="captured"[^>]*checked', html)
    assert "/cases/export.csv?q=%EB%A6%AC&amp;status=captured" in html


def test_invalid_filter_is_a_400_with_the_allowed_values(client, analyst, public):
    response = client.get("/cases/", {"status": "lost"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Allowed values" in html and "interned" in html
    assert response.context["charts"] == []


def test_column_headers_sort_and_say_so(client, analyst, public):
    response = client.get("/cases/", {"ordering": "-reference"})
    assert references(response) == ["UA-2025-0002", "UA-2025-0001", "RU-2024-0007"]
    html = response.content.decode()
    assert 'aria-sort="descending"' in html
    assert 'href="?ordering=reference"' in html  # the header flips the direction
    by_capture = client.get("/cases/", {"ordering": "capture_date"})
    assert references(by_capture)[0] == "RU-2024-0007"


def test_pagination_keeps_the_filters(client, analyst, public, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    first = client.get("/cases/", {"q": "Ukraine", "nationality": "KP"})
    assert references(first) == []  # a party name is not a person's name
    response = client.get("/cases/", {"nationality": "KP"})
    assert references(response) == ["UA-2025-0001"]
    html = response.content.decode()
    assert 'href="?nationality=KP&amp;page=2"' in html
    assert references(client.get("/cases/", {"nationality": "KP", "page": 2})) == ["UA-2025-0002"]


def _many_cases(n: int):
    party = factories.party("Ukraine", country="UA")
    for index in range(n):
        person = factories.person(
            f"Person {index}",
            names=[NameSpec(f"이 {index}", "hangul"), NameSpec(f"Lee {index}", "latin")],
            nationalities=["KP", "RU"] if index % 2 else ["KP"],
        )
        case = factories.case(person_obj=person, detaining_party=party)
        factories.intention(case)


#: Session, user, the user's and groups' permissions (for the link to the admin), the
#: newest event (the counts' cache key), the grouped count of the cases and the parties'
#: names (which also give the paginator its count), the timeline's first and last dates,
#: the events per month, the overdue counts (cases.clocks), page rows, name variants,
#: detaining-party and current-place choices, and the access-log entry of the true name
#: variants shown. The list without filters counts its events per month in one query and
#: takes off the archived cases' events in another.
LIST_QUERIES = 15
UNFILTERED_LIST_QUERIES = 16
#: The same page again with nothing changed: the counts come from the cache.
CACHED_LIST_QUERIES = 10


def older_months_query() -> int:
    """Return 1 when the events chart must look before its 24-month window, else 0.

    ``charts.events_by_month`` counts the 24 calendar months up to the latest event and
    only reads older months when some of those are empty and older events exist; the test
    data's dates are fixed while today's date moves, so whether it does depends on the day.
    """
    first = TimelineEvent.objects.order_by("occurred_at").first()
    latest = TimelineEvent.objects.order_by("-occurred_at").first()
    start = charts._month_starts(latest.occurred_at, charts.EVENT_MONTHS)[-1]
    return int(first.occurred_at < start)


@pytest.mark.parametrize("n", [1, 50])
def test_list_query_count_does_not_grow_with_rows(client, analyst, django_assert_num_queries, n):
    _many_cases(n)
    older = older_months_query()
    with django_assert_num_queries(UNFILTERED_LIST_QUERIES + older):
        response = client.get("/cases/")
    assert len(response.context["cases"]) == n
    with django_assert_num_queries(LIST_QUERIES + older):
        response = client.get("/cases/", {"q": "리", "ordering": "-updated_at"})
    assert len(response.context["cases"]) == n
    with django_assert_num_queries(CACHED_LIST_QUERIES):
        response = client.get("/cases/", {"q": "리", "ordering": "-updated_at"})
    assert len(response.context["cases"]) == n


def test_list_counts_the_cases_once(client, analyst, public):
    """The number of cases comes from the charts' grouped count, not a COUNT of its own."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cases/", {"detaining_party": str(public.ukraine.uuid)})
    assert count_on_page(response) == 2
    assert response.context["page"].paginator.count == 2
    assert not [q for q in queries.captured_queries if '"__count"' in q["sql"]]


def test_list_counts_follow_a_change_at_once(client, analyst, public):
    """The cached counts are keyed by the newest event: a change shows on the next page."""
    assert count_on_page(client.get("/cases/", {"status": "registered"})) == 0
    factories.advance_case(public.baek, "registered")
    assert count_on_page(client.get("/cases/", {"status": "registered"})) == 1


def test_list_counts_are_not_shared_between_permissions(client, public):
    """A search by a true name counts for a user who may see it, and not for one who may not."""
    client.force_login(reader("reader"))
    assert count_on_page(client.get("/cases/", {"q": "Lee"})) == 0
    client.force_login(user_in_role(CASE_OFFICER, "permitted"))
    assert count_on_page(client.get("/cases/", {"q": "Lee"})) == 1
    client.force_login(reader("reader2"))
    assert count_on_page(client.get("/cases/", {"q": "Lee"})) == 0


# ------------------------------------------------------------------------------------------
# Counts and charts
# ------------------------------------------------------------------------------------------


def _bars(chart) -> dict[str, int]:
    return {bar.label: bar.count for bar in chart.bars}


def test_counts_follow_the_filters(client, analyst, public):
    response = client.get("/cases/", {"detaining_party": str(public.ukraine.uuid)})
    by_slug = {chart.slug: chart for chart in response.context["charts"]}
    assert _bars(by_slug["status"]) == {"Captured": 2}
    assert _bars(by_slug["party"]) == {"Ukraine": 2}
    assert _bars(by_slug["nationality"]) == {"North Korea": 2}
    intentions = by_slug["intention"].bars
    assert [(b.label, b.count, b.note) for b in intentions] == [
        ("Transfer to South Korea", 1, "1 unverified"),
        ("Undecided", 1, "1 unverified"),
    ]


def test_nationality_counts_each_country_of_a_multi_country_person(public):
    chart = charts.cases_by_nationality(Case.objects.all())
    assert _bars(chart) == {"North Korea": 2, "Russia": 1, "Ukraine": 1}


def test_events_per_month_counts_by_when_things_happened(public):
    chart = charts.events_by_month(Case.objects.filter(pk=public.ri.pk))
    months = _bars(chart)
    # The hearsay (February) and the lawmaker's interview (25 February) and the position.
    assert months["February 2025"] == 2
    assert months["March 2025"] == 1
    assert sum(months.values()) == public.ri.events.count()


def test_chart_queries_are_fixed(public, django_assert_num_queries):
    """The grouped count, the parties, the timeline's bounds, the events per month."""
    with django_assert_num_queries(4 + older_months_query()):
        charts.case_charts(Case.objects.all())


def test_charts_are_accessible_svg(client, analyst, public):
    html = client.get("/cases/").content.decode()
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) == 5
    assert all('role="img"' in svg and "aria-label=" in svg for svg in svgs)
    assert 'aria-label="Cases by detaining party. Ukraine: 2; Russian Federation: 1.' in html
    assert "<title>Ukraine: 2</title>" in html
    assert "Show as a table" in html
    # A bar's table row links to the list filtered to it.
    assert f'href="?detaining_party={public.ukraine.uuid}"' in html


def test_chart_labels_are_escaped():
    chart = charts.Chart("x", "Test", [charts.Bar("<script>alert(1)</script>", 3)])
    svg = chart.svg()
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


# ------------------------------------------------------------------------------------------
# The case page
# ------------------------------------------------------------------------------------------


def test_case_page_shows_person_custody_intentions_requests(client, analyst, public):
    response = client.get(f"/cases/{public.ri.uuid}/")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("리", "Lee", "North Korean official", "Kursk region", "RU-KRS", "Exact day"):
        assert text in html
    # The history: the current statement first, the superseded hearsay linked to it.
    rows = response.context["intentions"]
    assert [row["intention"] for row in rows] == [public.ri_wish, public.hearsay]
    assert rows[0]["is_current"] and not rows[1]["is_current"]
    assert rows[1]["replaced_by"] == public.ri_wish
    assert f'href="#intention-{public.ri_wish.uuid}"' in html
    assert "lawmaker" in html and "Interview by a legislator" in html
    # The request, South Korea's position and its source.
    assert "Transfer to a third state to South Korea" in html
    assert "Republic of Korea</strong>: accepts" in html
    assert "if they choose" in html
    assert 'href="https://example.org/report" rel="noopener noreferrer"' in html


def test_case_page_timeline_newest_first_with_readable_changes(client, analyst, public):
    response = client.get(f"/cases/{public.ri.uuid}/")
    entries = response.context["timeline"]
    seqs = [entry["event"].case_seq for entry in entries]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == public.ri.events.count()
    superseded = next(e for e in entries if e["event"].kind == "intention.superseded")
    changes = {c["field"]: (c["old"], c["new"]) for c in superseded["changes"]}
    assert changes["option"] == ("—", "Transfer to a third state")
    assert changes["destination country"] == ("—", "South Korea")


def test_case_page_timeline_filters_by_kind(client, analyst, public):
    response = client.get(f"/cases/{public.ri.uuid}/", {"kind": "position.recorded"})
    kinds = [entry["event"].kind for entry in response.context["timeline"]]
    assert kinds == ["position.recorded"]
    assert 'value="position.recorded" checked' in response.content.decode()


def test_case_page_withholds_quotes_from_analysts(client, public):
    client.force_login(reader("reader"))
    html = client.get(f"/cases/{public.ri.uuid}/").content.decode()
    assert "I want to go to South Korea" not in html
    assert "withheld" in html
    assert "Edit in the admin" not in html


def test_case_page_links_officers_to_the_admin(client, officer, public):
    html = client.get(f"/cases/{public.ri.uuid}/").content.decode()
    assert reverse("admin:cases_case_change", args=[public.ri.pk]) in html
    assert "I want to go to South Korea" in html


def test_unknown_case_is_404(client, analyst, db):
    assert client.get("/cases/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_case_page_query_count_is_fixed(client, analyst, public, django_assert_num_queries):
    # Session, user, uuid lookup, case, names, intentions, the parties present at them, risk
    # assessments, requests, positions, their parties, their sources, timeline kinds, the
    # user's and groups' permissions, events, and the access-log entries of the sensitive
    # values shown (one insert), and the asylum claims and risks on the person's other cases
    # (two). The consent gate's answers are worked out from these rows.
    with django_assert_num_queries(19):
        client.get(f"/cases/{public.ri.uuid}/")


def test_admin_and_pages_present_the_timeline_alike(admin_client, public):
    """The admin's case page and the analysts' case page show each event with the same
    summary and the same changes, worded once (``cases.timeline.presenter``)."""

    def presented(entries):
        return [(entry["event"].case_seq, entry["summary"], entry["changes"]) for entry in entries]

    page = admin_client.get(f"/cases/{public.ri.uuid}/")
    admin_page = admin_client.get(reverse("admin:cases_case_change", args=[public.ri.pk]))
    assert page.status_code == admin_page.status_code == 200
    assert presented(page.context["timeline"]) == presented(admin_page.context["timeline"])
    superseded = next(
        e for e in admin_page.context["timeline"] if e["kind"] == "intention.superseded"
    )
    changes = {c["field"]: (c["old"], c["new"]) for c in superseded["changes"]}
    assert changes["option"] == ("—", "Transfer to a third state")
