"""Serializers of identity documents, external identifiers and nationality claims.

Output shapes follow ``cases.api.serializers`` (rows carry ``version``; sensitive fields of
a document are withheld as a person's are); input shapes only validate what a client sends
and hand it to ``cases.identity.services``.
"""

from __future__ import annotations

from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from cases.api.serializers import (
    DetailUrlField,
    InputSerializer,
    PartyRefSerializer,
    PublicIdField,
    RowSerializer,
    SensitiveFieldsMixin,
    SourceRefSerializer,
    redacted_field,
)
from cases.identity.models import (
    DocumentGenuineness,
    DocumentKind,
    ExternalIdentifier,
    IdentifierScheme,
    IdentityDocument,
    NationalityClaim,
)
from cases.models import Party, Person, Source


class IdentityDocumentSerializer(SensitiveFieldsMixin, RowSerializer):
    """A document the person carried; its number, the name on it and notes need the
    permission to view sensitive values."""

    redacted = redacted_field()
    url = DetailUrlField("api:identity-document-detail")
    person = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    issuer = PartyRefSerializer(read_only=True)
    issuer_country = CountryField(allow_blank=True, read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = IdentityDocument
        fields = [
            "url",
            "uuid",
            "person",
            "kind",
            "issuer",
            "issuer_country",
            "number",
            "name_on_document",
            "genuineness",
            "notes",
            "source",
            "redacted",
            "version",
            "recorded_at",
            "updated_at",
        ]


class ExternalIdentifierSerializer(RowSerializer):
    """A number another system knows the person by; unique within its scheme."""

    url = DetailUrlField("api:external-identifier-detail")
    person = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    issued_by = PartyRefSerializer(read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = ExternalIdentifier
        fields = [
            "url",
            "uuid",
            "person",
            "scheme",
            "value",
            "issued_by",
            "source",
            "version",
            "recorded_at",
            "updated_at",
        ]


class NationalityClaimSerializer(RowSerializer):
    """A party's claim that the person is its national, with what it rests on."""

    url = DetailUrlField("api:nationality-claim-detail")
    person = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    country = CountryField(read_only=True)
    claimed_by = PartyRefSerializer(read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = NationalityClaim
        fields = [
            "url",
            "uuid",
            "person",
            "country",
            "claimed_by",
            "basis",
            "source",
            "version",
            "recorded_at",
            "updated_at",
        ]


def _party(**kwargs) -> PublicIdField:
    return PublicIdField(queryset=Party.objects.all(), **kwargs)


def _source() -> PublicIdField:
    return PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class IdentityDocumentUpdateSerializer(InputSerializer):
    """Input for ``identity_document_update``: the person is not changed here."""

    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    issuer = _party(required=False, allow_null=True)
    issuer_country = CountryField(required=False, allow_blank=True)
    number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    name_on_document = serializers.CharField(max_length=200, required=False, allow_blank=True)
    genuineness = serializers.ChoiceField(choices=DocumentGenuineness.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    source = _source()


class IdentityDocumentInputSerializer(IdentityDocumentUpdateSerializer):
    """Input for ``identity_document_record``: a party or a country (or both) as issuer."""

    person = PublicIdField(queryset=Person.objects.all())


class ExternalIdentifierUpdateSerializer(InputSerializer):
    """Input for ``external_identifier_update``: the person is not changed here."""

    scheme = serializers.ChoiceField(choices=IdentifierScheme.choices)
    value = serializers.CharField(max_length=100)
    issued_by = _party(required=False, allow_null=True)
    source = _source()


class ExternalIdentifierInputSerializer(ExternalIdentifierUpdateSerializer):
    """Input for ``external_identifier_record``; a value held in the scheme already is a 400."""

    person = PublicIdField(queryset=Person.objects.all())


class NationalityClaimUpdateSerializer(InputSerializer):
    """Input for ``nationality_claim_update``: the person is not changed here."""

    country = CountryField()
    claimed_by = _party()
    basis = serializers.CharField(required=False, allow_blank=True)
    source = _source()


class NationalityClaimInputSerializer(NationalityClaimUpdateSerializer):
    """Input for ``nationality_claim_record``."""

    person = PublicIdField(queryset=Person.objects.all())
