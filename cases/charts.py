"""Counts for the analysts' pages, and bar charts drawn as inline SVG on the server.

The counts are aggregate queries over the filtered cases: one query per chart, whatever the
number of rows. The charts need no script and no external library: each bar is an SVG
rectangle with its number written beside it and repeated in a ``<title>`` (shown on hover
and read by screen readers); the page also offers every chart as a table.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_countries import countries

from cases import choices
from cases.models import Case, TimelineEvent

#: Months of events shown in the events chart, counting back from the latest.
EVENT_MONTHS = 24


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

    @property
    def total(self) -> int:
        """Return the sum of the bars."""
        return sum(bar.count for bar in self.bars)

    def svg(self) -> SafeString:
        """Return the chart as inline SVG markup."""
        return bar_chart_svg(self)


def _country_name(code: str) -> str:
    return dict(countries).get(code, code) if code else ""


def cases_by_status(cases: QuerySet[Case]) -> Chart:
    """Return the filtered cases counted by status, in the order of the state machine."""
    rows = dict(cases.order_by().values_list("status").annotate(n=Count("pk")))
    bars = [
        Bar(label, rows[value], query={"status": value})
        for value, label in choices.CaseStatus.choices
        if rows.get(value)
    ]
    return Chart("status", "Cases by status", bars)


def cases_by_intention(cases: QuerySet[Case]) -> Chart:
    """Return the filtered cases counted by current intention and destination.

    Each bar notes how many of its cases have an unverified current intention.
    """
    rows = (
        cases.order_by()
        .values_list(
            "current_intention_option",
            "current_intention_destination",
            "current_intention_verified",
        )
        .annotate(n=Count("pk"))
    )
    totals: Counter[tuple[str, str]] = Counter()
    unverified: Counter[tuple[str, str]] = Counter()
    for option, destination, verified, n in rows:
        totals[(option, destination or "")] += n
        if option and not verified:
            unverified[(option, destination or "")] += n
    labels = dict(choices.IntentionOption.choices)
    order = {value: rank for rank, value in enumerate(choices.IntentionOption.values)}
    bars = []
    for key in sorted(totals, key=lambda k: (order.get(k[0], len(order)), k[1])):
        option, destination = key
        if not option:
            bars.append(Bar("No statement recorded", totals[key]))
            continue
        label = labels.get(option, option)
        query = {"current_intention": option}
        if destination:
            # "Transfer to South Korea" fits a chart label; the option is in the filter link.
            verb = "Transfer to" if option == choices.IntentionOption.THIRD_STATE else f"{label}:"
            label = f"{verb} {_country_name(destination)}"
            query["destination_country"] = destination
        note = f"{unverified[key]} unverified" if unverified[key] else "all verified"
        bars.append(Bar(label, totals[key], note=note, query=query))
    return Chart("intention", "Cases by current intention", bars)


def cases_by_detaining_party(cases: QuerySet[Case]) -> Chart:
    """Return the filtered cases counted by detaining party, largest first."""
    rows = (
        cases.order_by()
        .values_list("detaining_party__uuid", "detaining_party__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "detaining_party__name")
    )
    bars = [Bar(name, n, query={"detaining_party": str(uuid)}) for uuid, name, n in rows]
    return Chart("party", "Cases by detaining party", bars)


def cases_by_nationality(cases: QuerySet[Case]) -> Chart:
    """Return the filtered cases counted per nationality, largest first.

    A person may hold several nationalities, stored as one comma-separated value ("KP,RU").
    The query groups by that stored value, so it returns one row per distinct combination
    (a handful), and the rows are split here: a case counts once for each of its countries,
    so the bars may add up to more than the number of cases.
    """
    rows = cases.order_by().values_list("person__nationalities").annotate(n=Count("pk"))
    counts: Counter[str] = Counter()
    for stored, n in rows:
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
            bars.append(Bar("Not recorded", n))
    return Chart("nationality", "Cases by nationality", bars)


def events_by_month(cases: QuerySet[Case]) -> Chart:
    """Return the timeline events of the filtered cases counted by month they happened in.

    Only the latest ``EVENT_MONTHS`` months that have events are shown.
    """
    rows = (
        TimelineEvent.objects.filter(case__in=cases.order_by().values("pk"))
        .annotate(month=TruncMonth("occurred_at"))
        .values_list("month")
        .annotate(n=Count("pk"))
        .order_by("-month")[:EVENT_MONTHS]
    )
    bars = [Bar(month.strftime("%Y-%m"), n) for month, n in reversed(list(rows))]
    return Chart("events", "Events per month (by when they happened)", bars)


def case_charts(cases: QuerySet[Case]) -> list[Chart]:
    """Return every chart of the list page for the filtered cases: five aggregate queries."""
    return [
        cases_by_status(cases),
        cases_by_intention(cases),
        cases_by_detaining_party(cases),
        cases_by_nationality(cases),
        events_by_month(cases),
    ]


# Layout of a horizontal bar chart. Horizontal positions are percentages of the chart's
# width, so the SVG fills its container while its text keeps the page's font size.
_LABEL_END = 40  # labels are right-aligned at 40% of the width
_BAR_START = 41
_BAR_SPAN = 32  # the longest bar ends at 73%, leaving room for its number and note
_ROW = 24
_BAR = 16
_PAD = 4
_LABEL_CHARS = 26


def bar_chart_svg(chart: Chart) -> SafeString:
    """Return ``chart`` as an accessible horizontal bar chart in SVG.

    The SVG has ``role="img"`` and an ``aria-label`` that states the chart's title and
    every value, so a screen reader gets the numbers without reading the drawing; each bar
    has a ``<title>`` for the tooltip on hover, and its number written beside it.
    """
    if not chart.bars:
        return format_html('<p class="chart-empty">No cases to count.</p>')
    largest = max(bar.count for bar in chart.bars) or 1
    height = len(chart.bars) * _ROW + 2 * _PAD
    summary = "; ".join(f"{bar.label}: {bar.count}" for bar in chart.bars)
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
        value = f"{bar.count}" + (f" ({bar.note})" if bar.note else "")
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
