"""The list page's counts and the exports stay equal to the straightforward queries they replace.

The charts are computed from one grouped count of the cases and month-by-month counts of the
timeline, and cached per state of the timeline; the CSV export reads plain values through a
server-side cursor. Each test here compares the fast path with the plain ORM reading it
replaced (kept below as the reference), on data built to hit the edge cases: archived cases,
events with no case, parties tied on counts, persons of several nationalities, and a timeline
longer than the chart's window with months missing.
"""

import datetime as dt
from collections import Counter

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.test.utils import CaptureQueriesContext
from django.utils import formats

from cases import choices, services
from cases.models import Case, TimelineEvent
from cases.pages import charts, exports
from cases.services import NameSpec
from tests import factories
from tests.support.worlds import build_public_case

# ------------------------------------------------------------------------------------------
# The reference: the charts as five separate queries, as the page computed them before
# ------------------------------------------------------------------------------------------


def reference_status(cases):
    rows = dict(cases.order_by().values_list("status").annotate(n=Count("pk")))
    return [(label, rows[value]) for value, label in choices.CaseStatus.choices if rows.get(value)]


def reference_parties(cases):
    rows = (
        cases.order_by()
        .values_list("detaining_party__uuid", "detaining_party__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "detaining_party__name")
    )
    return [(name, n, {"detaining_party": str(uuid)}) for uuid, name, n in rows]


def reference_nationalities(cases):
    counts: Counter[str] = Counter()
    for stored, n in cases.order_by().values_list("person__nationalities").annotate(n=Count("pk")):
        codes = [code for code in (stored or "").split(",") if code]
        if not codes:
            counts[""] += n
        for code in codes:
            counts[code] += n
    return dict(counts)


def reference_intentions(cases):
    rows = (
        cases.order_by()
        .values_list(
            "current_intention_option",
            "current_intention_destination",
            "current_intention_verified",
        )
        .annotate(n=Count("pk"))
    )
    totals: Counter = Counter()
    unverified: Counter = Counter()
    for option, destination, verified, n in rows:
        totals[(option, destination or "")] += n
        if option and not verified:
            unverified[(option, destination or "")] += n
    return dict(totals), dict(unverified)


def reference_months(cases):
    """Return (month, number of events) of the latest months that have events, oldest first."""
    rows = (
        TimelineEvent.objects.filter(case__in=cases.order_by().values("pk"))
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by("-month")[: charts.EVENT_MONTHS]
    )
    return list(reversed(list(rows)))


def reference_events(cases):
    """Return the chart's bars as the reader sees them: months named in his language."""
    return [
        (formats.date_format(month, "YEAR_MONTH_FORMAT"), n) for month, n in reference_months(cases)
    ]


def bars(chart):
    return [(bar.label, bar.count) for bar in chart.bars]


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------


def _occurrence(case, day: dt.date):
    services.occurrence_record(
        actor=factories.SYSTEM,
        case=case,
        kind="icrc_visit",
        occurred_on=day,
        description=f"Visit on {day}",
    )


@pytest.fixture
def world(db):
    """The public case plus: an archived case, a tie between two parties, a long timeline.

    The long timeline has events in 30 months over four years with gaps, so the latest 24
    months that have events reach back beyond the latest 24 calendar months.
    """
    public = build_public_case()
    poland = factories.party("Poland", country="PL")
    # Russia holds one case; Poland gets one too, so the two tie and order by name.
    polish = factories.case(
        reference="PL-2023-0001",
        person_obj=factories.person(
            "Kim", names=[NameSpec("김", "hangul")], nationalities=["KP", "RU"]
        ),
        detaining_party=poland,
    )
    factories.intention(polish, option="return_home", destination_country="KP")
    archived = factories.case(reference="UA-2022-0009", detaining_party=public.ukraine)
    start = dt.date(2021, 1, 15)
    for index in range(48):
        if index % 3 == 1:  # a gap every third month
            continue
        month = dt.date(start.year + (start.month - 1 + index) // 12, (index % 12) + 1, 15)
        _occurrence(public.baek if index % 2 else polish, month)
        _occurrence(archived, month)
    services.case_archive(actor=factories.SYSTEM, case=archived, reason="duplicate")
    factories.party("Red Cross", kind="international_organisation", country="CH")
    assert TimelineEvent.objects.filter(case__isnull=True).exists()  # events of no case
    return public


def _querysets(world):
    unarchived = Case.objects.filter(archived_at__isnull=True)
    return {
        "unarchived": unarchived,
        "every case": Case.objects.all(),
        "ukraine": unarchived.filter(detaining_party=world.ukraine),
        "one case": unarchived.filter(pk=world.ri.pk),
        "none": unarchived.filter(reference="nothing"),
    }


# ------------------------------------------------------------------------------------------
# Charts
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["unarchived", "every case", "ukraine", "one case", "none"])
def test_case_charts_equal_the_separate_queries(world, name):
    """The four case charts from one grouped count equal the four queries they replace."""
    cases = _querysets(world)[name]
    rows = charts.case_rows(cases)
    assert sum(row[-1] for row in rows) == cases.count()
    assert bars(charts.cases_by_status(cases, rows)) == reference_status(cases)
    parties = charts.cases_by_detaining_party(cases, rows)
    assert [(b.label, b.count, b.query) for b in parties.bars] == reference_parties(cases)
    nationality = charts.cases_by_nationality(cases, rows)
    expected = reference_nationalities(cases)
    assert {bar.query.get("nationality", ""): bar.count for bar in nationality.bars} == expected
    totals, unverified = reference_intentions(cases)
    intention = charts.cases_by_intention(cases, rows)
    assert sum(bar.count for bar in intention.bars) == sum(totals.values())
    assert sum(int(bar.note.split()[0]) for bar in intention.bars if "unverified" in bar.note) == (
        sum(unverified.values())
    )


def test_tied_parties_are_ordered_by_name(world):
    chart = charts.cases_by_detaining_party(Case.objects.filter(archived_at__isnull=True))
    assert bars(chart) == [("Ukraine", 2), ("Poland", 1), ("Russian Federation", 1)]


@pytest.mark.parametrize("name", ["unarchived", "every case", "ukraine", "one case", "none"])
def test_events_per_month_equal_grouping_every_event(world, name):
    """The windowed count gives the latest 24 months that have events, as before."""
    cases = _querysets(world)[name]
    assert bars(charts.events_by_month(cases)) == reference_events(cases)


@pytest.mark.parametrize(
    ("name", "every_case"), [("unarchived", "exclude"), ("every case", "include")]
)
def test_events_of_every_case_without_the_join_are_the_same(world, name, every_case):
    """The unfiltered list's shortcut (no join; archived cases' events taken off) agrees."""
    cases = _querysets(world)[name]
    expected = reference_events(cases)
    assert len(expected) == charts.EVENT_MONTHS
    # The gaps push the 24 months with events back beyond the 24 calendar months.
    assert reference_months(cases)[0][0].strftime("%Y-%m") < charts._month_starts(
        TimelineEvent.objects.latest("occurred_at").occurred_at, charts.EVENT_MONTHS
    )[-1].strftime("%Y-%m")
    assert bars(charts.events_by_month(cases, every_case=every_case)) == expected


def test_events_chart_of_an_empty_timeline_is_empty(db):
    assert charts.events_by_month(Case.objects.all(), every_case="exclude").bars == []


def test_case_counts_are_cached_until_the_timeline_moves(world, django_assert_num_queries):
    """A second reading costs one query (the newest event); any change makes a new key."""
    cache.clear()
    cases = Case.objects.filter(archived_at__isnull=True)
    first = charts.case_counts(cases, every_case="exclude")
    with django_assert_num_queries(1):
        again = charts.case_counts(cases, every_case="exclude")
    assert again == first
    assert again.total == cases.count()
    factories.advance_case(Case.objects.get(pk=world.baek.pk), "interned")
    with CaptureQueriesContext(connection) as recount:
        changed = charts.case_counts(cases, every_case="exclude")
    assert len(recount.captured_queries) > 1
    assert {b.label: b.count for b in changed.charts[0].bars}.get("Interned") == 1
    assert {b.label: b.count for b in first.charts[0].bars}.get("Interned") is None


def test_case_counts_without_the_cache_equal_the_cached(world):
    cache.clear()
    cases = Case.objects.filter(detaining_party=world.ukraine, archived_at__isnull=True)
    cached = charts.case_counts(cases)
    assert charts.case_counts(cases, use_cache=False) == cached
    assert cached.total == cases.count() == 2


# ------------------------------------------------------------------------------------------
# Exports
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("show_sensitive", [True, False])
def test_export_rows_equal_the_rows_read_from_model_instances(world, monkeypatch, show_sensitive):
    """Plain-value rows, read in chunks, equal ``case_row`` over the model instances.

    The data has a case with no statement, a statement with no source and one with a source,
    persons of one and of two nationalities, pseudonymous and true name variants; chunks of 2
    make the names of each chunk come from their own query.
    """
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    cases = Case.objects.order_by("reference", "pk")
    expected = [
        exports.case_row(case, show_sensitive=show_sensitive)
        for case in exports.export_queryset(cases)
    ]
    assert len(expected) == 5
    assert list(exports.rows(cases, show_sensitive=show_sensitive)) == expected


def test_export_rows_withhold_true_names_without_the_permission(world):
    cases = Case.objects.filter(pk=world.ri.pk)
    (shown,) = exports.rows(cases, show_sensitive=True)
    (withheld,) = exports.rows(cases, show_sensitive=False)
    assert shown[2] == "리; Lee; Ri"
    assert withheld[2] == ""


def test_csv_is_sent_in_pieces_heading_first(world, monkeypatch):
    """The heading leaves before any row is read; rows follow in buffered pieces."""
    monkeypatch.setattr(exports, "CSV_BUFFER", 10)
    pieces = exports.csv_chunks(Case.objects.order_by("reference"), show_sensitive=True)
    first = next(pieces)
    assert first == "\ufeff" + ",".join(exports.columns(show_sensitive=True)) + "\r\n"
    rest = list(pieces)
    assert len(rest) == Case.objects.count()  # each row passes the 10-character buffer
    assert all(piece.endswith("\r\n") for piece in rest)
