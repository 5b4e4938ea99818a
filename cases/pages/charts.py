"""Counts for the analysts' pages, and bar charts drawn as inline SVG on the server.

The counts are aggregate queries over the filtered cases, a fixed few whatever the number of
rows: one grouped count of the cases feeds the four case charts and the number of cases, and
the events chart counts the timeline per month. The charts need no script and no external
library: each bar is an SVG rectangle with its number written beside it and repeated in a
``<title>`` (shown on hover and read by screen readers); the page also offers every chart as
a table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, IntegerField, Max, Min, QuerySet, Value
from django.db.models.functions import TruncMonth
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django_countries import countries

from cases import choices, clocks
from cases.models import Case, Party, TimelineEvent

#: Months of events shown in the events chart, counting back from the latest.
EVENT_MONTHS = 24
#: Title of the events chart.
EVENTS_TITLE = gettext_lazy("Events per month (by when they happened)")


@dataclass
class Bar:
    """One bar: a label, a count, an optional note and the filter link it stands for."""

    label: str
    count: int
    note: str = ""
    query: dict[str, str] = field(default_factory=dict)
    href: str = ""


@dataclass
class Chart:
    """A titled list of bars; ``slug`` makes element ids unique on the page."""

    slug: str
    title: str
    bars: list[Bar]
    #: What a bar stands for, the heading of the table's first column ("Status").
    axis: str = ""

    @property
    def total(self) -> int:
        """Return the sum of the bars."""
        return sum(bar.count for bar in self.bars)

    def svg(self) -> SafeString:
        """Return the chart as inline SVG markup."""
        return bar_chart_svg(self)


def _country_name(code: str) -> str:
    return dict(countries).get(code, code) if code else ""


#: One row of the grouped count of cases (see ``case_rows``).
CaseRow = tuple[str, str, str, bool, Any, str, str, int]

#: Columns the case charts group by, in ``CaseRow`` order (the count comes last).
_CASE_ROW_FIELDS = (
    "status",
    "current_intention_option",
    "current_intention_destination",
    "current_intention_verified",
    "detaining_party__uuid",
    "detaining_party__name",
    "person__nationalities",
)


def case_rows(cases: QuerySet[Case]) -> list[CaseRow]:
    """Return the filtered cases counted per combination of everything the case charts show.

    One aggregate query groups the cases by status, current intention (option, destination,
    verified), detaining party and the person's stored nationalities, and a second reads the
    parties' uuids and names. The combinations are few (about a hundred at 100,000 cases),
    and each chart sums the rows it needs, so four charts and the number of cases cost one
    pass over the cases.
    """
    fields = [
        "detaining_party_id" if name.startswith("detaining_party__") else name
        for name in _CASE_ROW_FIELDS
        if name != "detaining_party__name"
    ]
    grouped = list(cases.order_by().values_list(*fields).annotate(n=Count("*")))
    # Grouping by the party's id rather than its uuid and name keeps the join to the parties
    # out of the aggregate, and PostgreSQL's estimate of the groups small enough to hash.
    parties = {
        pk: (uuid, name)
        for pk, uuid, name in Party.objects.filter(pk__in={row[4] for row in grouped}).values_list(
            "pk", "uuid", "name"
        )
    }
    return [(*row[:4], *parties[row[4]], *row[5:]) for row in grouped]


def _rows(cases: QuerySet[Case], rows: list[CaseRow] | None) -> list[CaseRow]:
    return case_rows(cases) if rows is None else rows


def cases_by_status(cases: QuerySet[Case], rows: list[CaseRow] | None = None) -> Chart:
    """Return the filtered cases counted by status, in the order of the state machine."""
    counts: Counter[str] = Counter()
    for status, *_rest, n in _rows(cases, rows):
        counts[status] += n
    bars = [
        Bar(label, counts[value], query={"status": value})
        for value, label in choices.CaseStatus.choices
        if counts.get(value)
    ]
    return Chart("status", _("Cases by status"), bars, _("Status"))


def cases_by_intention(cases: QuerySet[Case], rows: list[CaseRow] | None = None) -> Chart:
    """Return the filtered cases counted by current intention and destination.

    Each bar notes how many of its cases have an unverified current intention.
    """
    totals: Counter[tuple[str, str]] = Counter()
    unverified: Counter[tuple[str, str]] = Counter()
    for _status, option, destination, verified, *_rest, n in _rows(cases, rows):
        totals[(option, destination or "")] += n
        if option and not verified:
            unverified[(option, destination or "")] += n
    labels = dict(choices.IntentionOption.choices)
    order = {value: rank for rank, value in enumerate(choices.IntentionOption.values)}
    bars = []
    for key in sorted(totals, key=lambda k: (order.get(k[0], len(order)), k[1])):
        option, destination = key
        if not option:
            bars.append(Bar(_("No statement recorded"), totals[key]))
            continue
        label = labels.get(option, option)
        query = {"current_intention": option}
        if destination:
            # "Transfer to South Korea" fits a chart label; the option is in the filter link.
            country = _country_name(destination)
            if option == choices.IntentionOption.THIRD_STATE:
                label = _("Transfer to %(country)s") % {"country": country}
            else:
                label = _("%(option)s: %(country)s") % {"option": label, "country": country}
            query["destination_country"] = destination
        note = (
            _("%(count)d unverified") % {"count": unverified[key]}
            if unverified[key]
            else _("all verified")
        )
        bars.append(Bar(label, totals[key], note=note, query=query))
    return Chart("intention", _("Cases by current intention"), bars, _("Current intention"))


def cases_by_detaining_party(cases: QuerySet[Case], rows: list[CaseRow] | None = None) -> Chart:
    """Return the filtered cases counted by detaining party, largest first (then by name)."""
    counts: Counter[tuple[Any, str]] = Counter()
    for *_first, party_uuid, party_name, _nationalities, n in _rows(cases, rows):
        counts[(party_uuid, party_name)] += n
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][1], str(item[0][0])))
    bars = [Bar(name, n, query={"detaining_party": str(uuid)}) for (uuid, name), n in ordered]
    return Chart("party", _("Cases by detaining party"), bars, _("Detaining party"))


def cases_by_nationality(cases: QuerySet[Case], rows: list[CaseRow] | None = None) -> Chart:
    """Return the filtered cases counted per nationality, largest first.

    A person may hold several nationalities, stored as one comma-separated value ("KP,RU").
    The query groups by that stored value (a handful of distinct combinations), and the rows
    are split here: a case counts once for each of its countries, so the bars may add up to
    more than the number of cases.
    """
    counts: Counter[str] = Counter()
    for *_first, stored, n in _rows(cases, rows):
        codes = [code for code in (stored or "").split(",") if code]
        if not codes:
            counts[""] += n
        for code in codes:
            counts[code] += n
    bars = []
    for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        if code:
            bars.append(Bar(_country_name(code), n, query={"nationality": code}))
        else:
            bars.append(Bar(_("Not recorded"), n))
    return Chart("nationality", _("Cases by nationality"), bars, _("Nationality"))


def _month_starts(latest: dt.datetime, months: int) -> list[dt.datetime]:
    """Return the starts of the ``months`` months up to ``latest``'s, newest first.

    Months are those of the current time zone, as ``TruncMonth`` counts them.
    """
    zone = timezone.get_current_timezone()
    local = timezone.localtime(latest, zone)
    year, month = local.year, local.month
    starts = []
    for _month in range(months):
        starts.append(timezone.make_aware(dt.datetime(year, month, 1), zone))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts


def _next_month(start: dt.datetime) -> dt.datetime:
    zone = timezone.get_current_timezone()
    local = timezone.localtime(start, zone)
    year, month = (local.year, local.month + 1) if local.month < 12 else (local.year + 1, 1)
    return timezone.make_aware(dt.datetime(year, month, 1), zone)


def _grouped_months(events: QuerySet[TimelineEvent], limit: int) -> list[tuple[dt.datetime, int]]:
    """Return the latest ``limit`` months of ``events`` that have events, newest first."""
    rows = (
        events.annotate(month=TruncMonth("occurred_at"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("*"))
        .order_by("-month")[:limit]
    )
    return list(rows)


def _ranged_months(
    events: QuerySet[TimelineEvent], starts: list[dt.datetime]
) -> dict[dt.datetime, int]:
    """Return ``{month start: events}`` for each month in ``starts``.

    One query of one count per month, each a range read of the ``(occurred_at, case_id)``
    index that never visits the table: cheaper than computing every event's month when most
    of the timeline is counted.
    """
    ends = [_next_month(starts[0]), *starts[:-1]]
    parts = [
        events.filter(occurred_at__gte=start, occurred_at__lt=end)
        .annotate(bucket=Value(index, output_field=IntegerField()))
        .order_by()
        .values("bucket")
        .annotate(n=Count("*"))
        .values_list("bucket", "n")
        for index, (start, end) in enumerate(zip(starts, ends, strict=True))
    ]
    counts = dict(parts[0].union(*parts[1:], all=True)) if len(parts) > 1 else dict(parts[0])
    return {starts[index]: n for index, n in counts.items()}


def events_by_month(cases: QuerySet[Case], *, every_case: str | None = None) -> Chart:
    """Return the timeline events of the filtered cases counted by month they happened in.

    Only the latest ``EVENT_MONTHS`` months that have events are shown. The months are
    counted in the ``EVENT_MONTHS`` calendar months up to the month of the latest event of
    the whole timeline (the first and last event dates are one index lookup each); only
    when fewer of them have events, and older events exist, are older months counted too, so
    the result is the same as grouping every event by month.

    ``every_case`` says that ``cases`` is every case (``"include"``) or every case not
    archived (``"exclude"``), the list without filters: the events of any case are then
    counted month by month from the ``(occurred_at, case_id)`` index with no join to the
    cases, and for ``"exclude"`` the events of archived cases (a second, small query from
    the archived cases' index) are taken off.
    """
    bounds = TimelineEvent.objects.aggregate(earliest=Min("occurred_at"), latest=Max("occurred_at"))
    earliest, latest = bounds["earliest"], bounds["latest"]
    if latest is None:
        return Chart("events", str(EVENTS_TITLE), [], _("Month"))
    starts = _month_starts(latest, EVENT_MONTHS)
    if every_case in {"include", "exclude"}:
        events = TimelineEvent.objects.filter(case__isnull=False)
        counts = _ranged_months(events, starts)
        if every_case == "exclude":
            # Less the events of archived cases: few, found from the archived cases' index.
            archived = events.filter(case__archived_at__isnull=False)
            window = archived.filter(occurred_at__gte=starts[-1])
            for month, n in _grouped_months(window, EVENT_MONTHS):
                counts[month] = counts.get(month, 0) - n
            events = events.filter(case__archived_at__isnull=True)
        months = [(month, counts[month]) for month in starts if counts.get(month)]
    else:
        events = TimelineEvent.objects.filter(case__in=cases.order_by().values("pk"))
        months = _grouped_months(events.filter(occurred_at__gte=starts[-1]), EVENT_MONTHS)
    if len(months) < EVENT_MONTHS and earliest < starts[-1]:
        # Months without events inside the window: older months fill the chart.
        older = events.filter(occurred_at__lt=starts[-1])
        months += _grouped_months(older, EVENT_MONTHS - len(months))
    # The month as the reader's language names it: "March 2025", "березень 2025", "2025년 3월".
    bars = [
        Bar(formats.date_format(month, "YEAR_MONTH_FORMAT"), n) for month, n in reversed(months)
    ]
    return Chart("events", str(EVENTS_TITLE), bars, _("Month"))


def case_charts(
    cases: QuerySet[Case], *, rows: list[CaseRow] | None = None, every_case: str | None = None
) -> list[Chart]:
    """Return every chart of the list page for the filtered cases.

    Three queries whatever the number of cases: the grouped count of the cases
    (``case_rows``, unless given as ``rows``), the latest event's date, and the events per
    month (a fourth only when the latest months have gaps).
    """
    rows = _rows(cases, rows)
    return [
        cases_by_status(cases, rows),
        cases_by_intention(cases, rows),
        cases_by_detaining_party(cases, rows),
        cases_by_nationality(cases, rows),
        events_by_month(cases, every_case=every_case),
    ]


@dataclass
class CaseCounts:
    """The number of filtered cases and their charts, as the list page shows them, and how
    many of them have missed each deadline today (``cases.clocks.OVERDUE``)."""

    total: int
    charts: list[Chart]
    overdue: dict[str, int] = field(default_factory=dict)


def overdue_counts(cases: QuerySet[Case], today: dt.date) -> dict[str, int]:
    """Return ``{deadline: number of the filtered cases that missed it}``, in one query."""
    return cases.order_by().aggregate(
        **{name: Count("pk", filter=condition(today)) for name, condition in clocks.OVERDUE.items()}
    )


#: Seconds a computed ``CaseCounts`` may be served from the cache (see ``case_counts``).
CACHE_SECONDS = 60


def timeline_head() -> tuple[Any, ...] | None:
    """Return the id and uuid of the newest timeline event, or None when there is none."""
    return TimelineEvent.objects.order_by("-pk").values_list("pk", "uuid").first()


def _cache_key(cases: QuerySet[Case], every_case: str | None, head: tuple | None) -> str:
    sql, params = cases.order_by().values("pk").query.sql_with_params()
    # The day is part of the key: a deadline passes without a write.
    # So is the language: the charts' titles and labels are in the reader's.
    text = repr((cases.db, sql, params, every_case, head, clocks.today(), get_language()))
    return "cases:counts:" + hashlib.sha256(text.encode()).hexdigest()


def case_counts(
    cases: QuerySet[Case], *, every_case: str | None = None, use_cache: bool = True
) -> CaseCounts:
    """Return the number of filtered cases and the page's charts, from the cache if fresh.

    Every change to a case, a person, an intention, a request or a party appends a timeline
    event in the same transaction, so the newest event's id and uuid name a state of the data:
    the counts are cached under the filtered query's SQL and parameters and that event, and
    any committed change makes a new key. Ids are handed out before commit, so a transaction
    can commit an event older than the newest one already seen; ``CACHE_SECONDS`` bounds how
    long such a change can be missing from the counts. The table below the charts is always
    read afresh. Without the cache (``use_cache=False``) this is ``case_charts`` plus the
    total, in three queries, and one more for the overdue counts.
    """
    head = timeline_head() if use_cache else None
    key = _cache_key(cases, every_case, head) if use_cache else ""
    if use_cache:
        found = cache.get(key)
        if found is not None:
            return found
    rows = case_rows(cases)
    total = sum(row[-1] for row in rows)
    found_charts = case_charts(cases, rows=rows, every_case=every_case) if total else []
    overdue = overdue_counts(cases, clocks.today()) if total else dict.fromkeys(clocks.OVERDUE, 0)
    counts = CaseCounts(total, found_charts, overdue)
    if use_cache:
        cache.set(key, counts, CACHE_SECONDS)
    return counts


# Layout of a horizontal bar chart. Horizontal positions are percentages of the chart's
# width, so the SVG fills its container while its text keeps the page's font size.
_LABEL_END = 40  # labels are right-aligned at 40% of the width
_BAR_START = 41
_BAR_SPAN = 32  # the longest bar ends at 73%, leaving room for its number and note
_ROW = 24
_BAR = 16
_PAD = 4
_LABEL_CHARS = 26


def _number(count: int) -> str:
    """Return ``count`` grouped as the reader's language groups thousands."""
    return formats.number_format(count, use_l10n=True, force_grouping=True)


def bar_chart_svg(chart: Chart) -> SafeString:
    """Return ``chart`` as an accessible horizontal bar chart in SVG.

    The SVG has ``role="img"`` and an ``aria-label`` that states the chart's title and
    every value, so a screen reader gets the numbers without reading the drawing; each bar
    has a ``<title>`` for the tooltip on hover, and its number written beside it.
    """
    if not chart.bars:
        return format_html('<p class="chart-empty">{}</p>', _("No cases to count."))
    largest = max(bar.count for bar in chart.bars) or 1
    height = len(chart.bars) * _ROW + 2 * _PAD
    summary = "; ".join(f"{bar.label}: {_number(bar.count)}" for bar in chart.bars)
    parts = [
        format_html(
            '<svg class="chart" width="100%" height="{}" role="img" aria-label="{}" '
            'xmlns="http://www.w3.org/2000/svg">',
            height,
            f"{chart.title}. {summary}.",
        )
    ]
    for index, bar in enumerate(chart.bars):
        y = _PAD + index * _ROW
        width = _BAR_SPAN * bar.count / largest
        value = _number(bar.count) + (f" ({bar.note})" if bar.note else "")
        label = bar.label if len(bar.label) <= _LABEL_CHARS else bar.label[: _LABEL_CHARS - 1] + "…"
        parts.append(
            format_html(
                '<g class="bar"><title>{}: {}</title>'
                '<text x="{}%" y="{}" class="bar-label" text-anchor="end">{}</text>'
                '<rect x="{}%" y="{}" width="{}%" height="{}" rx="2"></rect>'
                '<text x="{}%" y="{}" class="bar-value">{}</text></g>',
                bar.label,
                value,
                _LABEL_END,
                y + _BAR - 3,
                label,
                _BAR_START,
                y,
                f"{max(width, 0.5) if bar.count else 0:.2f}",
                _BAR,
                f"{_BAR_START + width + 1:.2f}",
                y + _BAR - 3,
                value,
            )
        )
    parts.append("</svg>")
    # Every part above came from format_html, which escaped the labels.
    return mark_safe("".join(parts))
