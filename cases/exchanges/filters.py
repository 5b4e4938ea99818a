"""FilterSets of exchanges and handovers, shared by the API and the admin."""

from __future__ import annotations

from uuid import UUID

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cases import choices
from cases.exchanges.models import (
    Exchange,
    ExchangeListEntry,
    ExchangeStatus,
    Handover,
    ListEntryState,
)
from cases.filters import (
    BooleanFilter,
    ChoiceListFilter,
    CountryFilter,
    PublicIdFilter,
    _date,
    _ordering,
)
from cases.models import Case, Party, Place, Request


class ExchangeFilterSet(django_filters.FilterSet):
    """Filters for exchanges: status, sides, mediator, date, name, a case on the list."""

    q = django_filters.CharFilter(method="filter_q", label="Search", help_text="Part of the name.")
    status = ChoiceListFilter(choices=ExchangeStatus.choices)
    party = PublicIdFilter(
        field_name="parties",
        queryset=Party.objects.all(),
        distinct=True,
        help_text="A side's id.",
    )
    mediator = PublicIdFilter(queryset=Party.objects.all(), help_text="Mediator's id.")
    planned_after = _date("planned_on", "gte")
    planned_before = _date("planned_on", "lte")
    planned_on_precision = ChoiceListFilter(choices=choices.DatePrecision.choices)
    case = PublicIdFilter(
        method="filter_case", queryset=Case.objects.all(), help_text="A case on its list."
    )
    entry_state = ChoiceListFilter(
        method="filter_entry_state",
        choices=ListEntryState.choices,
        help_text="Exchanges with a list entry in this state.",
    )
    ordering = _ordering("planned_on", "name", "status", "created_at")

    class Meta:
        model = Exchange
        fields: list[str] = []

    def filter_case(self, queryset: QuerySet, name: str, value: list[UUID]) -> QuerySet:
        """Match exchanges with any of the cases on their list."""
        if not value:
            return queryset
        return queryset.filter(
            Exists(ExchangeListEntry.objects.filter(exchange=OuterRef("pk"), case__in=value))
        )

    def filter_entry_state(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Match exchanges with a list entry in any of the states."""
        if not value:
            return queryset
        return queryset.filter(
            Exists(ExchangeListEntry.objects.filter(exchange=OuterRef("pk"), state__in=value))
        )

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match part of the name or the notes."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(notes__icontains=value))


class HandoverFilterSet(django_filters.FilterSet):
    """Filters for handovers: case, request, exchange, place, receiving authority, date."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    request = PublicIdFilter(queryset=Request.objects.all(), help_text="Request id.")
    exchange = PublicIdFilter(queryset=Exchange.objects.all(), help_text="Exchange id.")
    place = PublicIdFilter(queryset=Place.objects.all(), help_text="Place id.")
    receiving_authority = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Receiving authority's id."
    )
    receiving_state = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Id of the state he was handed over to."
    )
    present_party = PublicIdFilter(
        field_name="present_parties",
        queryset=Party.objects.all(),
        distinct=True,
        help_text="A party present.",
    )
    destination_country = CountryFilter(help_text="ISO 3166-1 alpha-2 code.")
    occurred_after = _date("occurred_on", "gte")
    occurred_before = _date("occurred_on", "lte")
    reconfirmed = BooleanFilter(
        method="filter_reconfirmed", help_text="Whether a reconfirmation was taken there."
    )
    ordering = _ordering("occurred_on", "recorded_at")

    class Meta:
        model = Handover
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_reconfirmed(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Match handovers with (true) or without (false) a reconfirmation taken there."""
        if value is None:
            return queryset
        return queryset.filter(reconfirmation__isnull=not value)
