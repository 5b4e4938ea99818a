"""FilterSets of identity documents, external identifiers and nationality claims.

Shared by the API and the access policy like those of ``cases.filters``; none reads a
sensitive field (a document's number, the name on it and its notes are withheld, so no
filter may answer questions about them).
"""

from __future__ import annotations

import django_filters

from cases.filters import ChoiceListFilter, CountryFilter, PublicIdFilter, _ordering
from cases.identity.models import (
    DocumentGenuineness,
    DocumentKind,
    ExternalIdentifier,
    IdentifierScheme,
    IdentityDocument,
    NationalityClaim,
)
from cases.models import Party, Person


class PersonIdFilter(PublicIdFilter):
    """Match rows of any of several persons; a merged person's id stands for the person he was
    merged into, who holds his rows now (his own address redirects there too)."""

    def get_filter_predicate(self, v):
        if v.merged_into_id is not None:
            from cases.duplicates.services import final_survivor

            v = final_survivor(v)
        return super().get_filter_predicate(v)


def _person_filter() -> PublicIdFilter:
    return PersonIdFilter(
        queryset=Person.objects.all(),
        help_text="Person id; several allowed. A merged person's id stands for the person he "
        "was merged into.",
    )


class IdentityDocumentFilterSet(django_filters.FilterSet):
    """Filters for identity documents: person, kind, issuer, genuineness."""

    person = _person_filter()
    kind = ChoiceListFilter(choices=DocumentKind.choices)
    issuer = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Issuing party's id; several allowed."
    )
    issuer_country = CountryFilter(help_text="ISO 3166-1 alpha-2 code of the issuing country.")
    genuineness = ChoiceListFilter(choices=DocumentGenuineness.choices)
    ordering = _ordering("recorded_at", "kind")

    class Meta:
        model = IdentityDocument
        fields: list[str] = []


class ExternalIdentifierFilterSet(django_filters.FilterSet):
    """Filters for external identifiers: ``?scheme=icrc&value=X`` finds who holds number X."""

    person = _person_filter()
    scheme = ChoiceListFilter(choices=IdentifierScheme.choices)
    value = django_filters.CharFilter(
        field_name="value", help_text="The identifier, exactly (with scheme: one person at most)."
    )
    issued_by = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Issuing body's id; several allowed."
    )
    ordering = _ordering("recorded_at", "scheme", "value")

    class Meta:
        model = ExternalIdentifier
        fields: list[str] = []


class NationalityClaimFilterSet(django_filters.FilterSet):
    """Filters for nationality claims: person, country claimed, claiming party."""

    person = _person_filter()
    country = CountryFilter(help_text="ISO 3166-1 alpha-2 code of the nationality claimed.")
    claimed_by = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Claiming party's id; several allowed."
    )
    ordering = _ordering("recorded_at", "country")

    class Meta:
        model = NationalityClaim
        fields: list[str] = []
