"""FilterSets of visits and private interviews, shared by the API and the admin.

None reads a sensitive field (topics, notes): a reader who may not see them cannot probe
them through a filter.
"""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from cases import choices
from cases.filters import BooleanFilter, ChoiceListFilter, PublicIdFilter, _date, _ordering
from cases.models import Case, Party, Place
from cases.visits.models import Interview, Visit


class VisitFilterSet(django_filters.FilterSet):
    """Filters for visits: visiting body, detaining party, place, date, a case seen."""

    visiting_body = PublicIdFilter(queryset=Party.objects.all(), help_text="Visiting body's id.")
    detaining_party = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Detaining party's id."
    )
    place = PublicIdFilter(queryset=Place.objects.all(), help_text="Place of detention's id.")
    visited_after = _date("visited_on", "gte")
    visited_before = _date("visited_on", "lte")
    visited_on_precision = ChoiceListFilter(choices=choices.DatePrecision.choices)
    case = PublicIdFilter(
        method="filter_case", queryset=Case.objects.all(), help_text="A case seen during it."
    )
    ordering = _ordering("visited_on", "created_at", "updated_at")

    class Meta:
        model = Visit
        fields: list[str] = []

    def filter_case(self, queryset: QuerySet, name: str, value: list) -> QuerySet:
        """Match visits during which any of the cases named was seen."""
        if not value:
            return queryset
        seen = Interview.objects.filter(visit=OuterRef("pk"), case__in=value)
        return queryset.filter(Exists(seen))


class InterviewFilterSet(django_filters.FilterSet):
    """Filters for private interviews: visit, case, whether in private, visiting body, date."""

    visit = PublicIdFilter(queryset=Visit.objects.all(), help_text="Visit's id.")
    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    in_private = BooleanFilter(help_text="true: held without the detaining power's staff.")
    visiting_body = PublicIdFilter(
        field_name="visit__visiting_body",
        queryset=Party.objects.all(),
        help_text="Visiting body's id.",
    )
    visited_after = _date("visit__visited_on", "gte")
    visited_before = _date("visit__visited_on", "lte")
    ordering = _ordering("recorded_at")

    class Meta:
        model = Interview
        fields: list[str] = []


__all__ = ["InterviewFilterSet", "VisitFilterSet"]
