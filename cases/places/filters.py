"""FilterSets of places, movements and capture cards, shared by the API and the admin."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cases.filters import (
    BooleanFilter,
    ChoiceListFilter,
    CountryFilter,
    PublicIdFilter,
    _date,
    _ordering,
)
from cases.models import Case, Party
from cases.places.models import CaptureCard, Movement, MovementKind, Place, PlaceKind


class PlaceFilterSet(django_filters.FilterSet):
    """Filters for places of detention: kind, detaining party, country, subdivision, name."""

    q = django_filters.CharFilter(
        method="filter_q", label="Search", help_text="Part of the name or the address."
    )
    kind = ChoiceListFilter(choices=PlaceKind.choices)
    detaining_party = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Detaining party's id; several allowed."
    )
    country = CountryFilter(help_text="ISO 3166-1 alpha-2 code.")
    subdivision_code = django_filters.CharFilter(
        lookup_expr="iexact", help_text="ISO 3166-2 code, e.g. UA-30."
    )
    ordering = _ordering("name", "kind", "country")

    class Meta:
        model = Place
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the name or the address."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(address__icontains=value))


class MovementFilterSet(django_filters.FilterSet):
    """Filters for movements: case, places, reason, date."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    from_place = PublicIdFilter(
        queryset=Place.objects.all(), help_text="Place of origin's id; several allowed."
    )
    to_place = PublicIdFilter(
        queryset=Place.objects.all(), help_text="Destination's id; several allowed."
    )
    kind = ChoiceListFilter(choices=MovementKind.choices)
    moved_after = _date("moved_on", "gte")
    moved_before = _date("moved_on", "lte")
    ordering = _ordering("moved_on", "recorded_at")

    class Meta:
        model = Movement
        fields: list[str] = []


class CaptureCardFilterSet(django_filters.FilterSet):
    """Filters for capture cards: case, movement, declined, sent or not, dates."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    movement = PublicIdFilter(
        queryset=Movement.objects.all(), help_text="Movement id; several allowed."
    )
    declined = BooleanFilter(help_text="Whether he declined to write a card.")
    address_given = BooleanFilter(help_text="Whether he gave an address for correspondence.")
    sent_to_agency = BooleanFilter(
        method="filter_sent_to_agency", help_text="Whether it was sent to the Central Agency."
    )
    filled_in_after = _date("filled_in_on", "gte")
    filled_in_before = _date("filled_in_on", "lte")
    sent_to_family_after = _date("sent_to_family_on", "gte")
    sent_to_family_before = _date("sent_to_family_on", "lte")
    sent_to_agency_after = _date("sent_to_agency_on", "gte")
    sent_to_agency_before = _date("sent_to_agency_on", "lte")
    declined_after = _date("declined_on", "gte")
    declined_before = _date("declined_on", "lte")
    ordering = _ordering("filled_in_on", "sent_to_agency_on", "recorded_at")

    class Meta:
        model = CaptureCard
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_sent_to_agency(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Match cards sent (true) or not yet sent (false) to the Central Agency."""
        if value is None:
            return queryset
        return queryset.filter(sent_to_agency_on__isnull=not value)
