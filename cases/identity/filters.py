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


def _person_filter() -> PublicIdFilter:
    return PublicIdFilter(queryset=Person.objects.all(), help_text="Person id; several allowed.")


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
