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

    class Meta:
        model = Case
        fields = ["status", "nationality", "q"]

    def filter_q(self, queryset, name, value):
        """Match the working name or a name variant the reader may see, anywhere in it."""
        user = getattr(self.request, "user", None)
        names = Q(person__names__value__icontains=value)
        if not sensitive.can_view_sensitive(user):
            names &= Q(person__names__is_pseudonym=True)
        return queryset.filter(Q(person__working_name__icontains=value) | names).distinct()
