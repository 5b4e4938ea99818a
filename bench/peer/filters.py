"""The peer's filters: plain django-filter over the models, a naive name search by join."""

import django_filters
from django.db.models import Q

from cases import choices
from cases.models import Case
from cases.security import sensitive


class PeerCaseFilterSet(django_filters.FilterSet):
    """Filter cases by status, a nationality code and a name (``icontains`` on the names)."""

    status = django_filters.ChoiceFilter(choices=choices.CaseStatus.choices)
    nationality = django_filters.CharFilter(
        field_name="person__nationalities", lookup_expr="icontains"
    )
    q = django_filters.CharFilter(method="filter_q")
    legal_status = django_filters.ChoiceFilter(choices=choices.LegalStatus.choices)
    detaining_party = django_filters.UUIDFilter(field_name="detaining_party__uuid")
    current_intention = django_filters.CharFilter(field_name="current_intention_option")
    intention_verified = django_filters.BooleanFilter(field_name="current_intention_verified")
    destination_country = django_filters.CharFilter(field_name="current_intention_destination")
    request_kind = django_filters.CharFilter(method="filter_request")
    request_status = django_filters.CharFilter(method="filter_request")
    captured_after = django_filters.DateFilter(field_name="capture_date", lookup_expr="gte")
    captured_before = django_filters.DateFilter(field_name="capture_date", lookup_expr="lte")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(fields=["reference", "updated_at"])

    class Meta:
        model = Case
        fields = ["status", "nationality", "q"]

    def filter_request(self, queryset, name, value):
        """Match cases with a request of this kind (or in this status)."""
        field = {"request_kind": "kind", "request_status": "status"}[name]
        return queryset.filter(**{f"requests__{field}": value}).distinct()

    def filter_q(self, queryset, name, value):
        """Match the working name or a name variant the reader may see, anywhere in it."""
        user = getattr(self.request, "user", None)
        names = Q(person__names__value__icontains=value)
        if not sensitive.can_view_sensitive(user):
            names &= Q(person__names__is_pseudonym=True)
        return queryset.filter(Q(person__working_name__icontains=value) | names).distinct()
