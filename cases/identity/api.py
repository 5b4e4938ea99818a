"""``/api/v1/identity-documents/``, ``/external-identifiers/``, ``/nationality-claims/``.

Each is a person's child rows as a resource of its own, as risk assessments are a case's:
listed and filtered (``?person=``; ``?scheme=icrc&value=X`` answers "who has ICRC number
X"), created with ``person`` in the body (``Idempotency-Key`` honoured), changed with
``PUT``/``PATCH`` and the row's ``version`` (``If-Match``; 412 stale, 428 missing), never
deleted. Reading needs ``cases.view_<model>``, writing ``add_`` or ``change_``; a document's
number, name on it and notes need ``cases.view_sensitive`` to read or write.
"""

from __future__ import annotations

from rest_framework import status

from cases.api.mixins import VersionedUpdateMixin, actor_for, without_common
from cases.api.schema import resource_schema
from cases.api.views import ResourceViewSet
from cases.identity import filters, services
from cases.identity import serializers as s
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim


def identity_documents():
    """Return documents with their person, issuer and source."""
    return IdentityDocument.objects.select_related("person", "issuer", "source")


def external_identifiers():
    """Return identifiers with their person, issuing body and source."""
    return ExternalIdentifier.objects.select_related("person", "issued_by", "source")


def nationality_claims():
    """Return claims with their person, claiming party and source."""
    return NationalityClaim.objects.select_related("person", "claimed_by", "source")


class _PersonChildViewSet(VersionedUpdateMixin, ResourceViewSet):
    """A person's child rows: created for a person named in the body, edited by version."""

    create_service = None
    input_serializer_class = None

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(self.input_serializer_class))
        row = self.create_service(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)


@resource_schema(
    serializer=s.IdentityDocumentSerializer,
    list_summary="List identity documents",
    retrieve_summary="Read an identity document",
    create_summary="Record a document a person carried",
    create_request=s.IdentityDocumentInputSerializer,
    update_request=s.IdentityDocumentUpdateSerializer,
    replace_summary="Replace what is known of a document",
    change_summary="Change what is known of a document",
)
class IdentityDocumentViewSet(_PersonChildViewSet):
    """Documents persons carried: kind, issuer, number, name on it, whether genuine."""

    queryset = identity_documents()
    serializer_class = s.IdentityDocumentSerializer
    filterset_class = filters.IdentityDocumentFilterSet
    input_serializer_class = s.IdentityDocumentInputSerializer
    update_serializer_class = s.IdentityDocumentUpdateSerializer
    create_service = staticmethod(services.identity_document_record)
    update_service = staticmethod(services.identity_document_update)

    def get_queryset(self):
        return identity_documents()


@resource_schema(
    serializer=s.ExternalIdentifierSerializer,
    list_summary="List external identifiers (?scheme=&value= finds who holds a number)",
    retrieve_summary="Read an external identifier",
    create_summary="Record a number another system knows a person by",
    create_description="A value is unique within its scheme: one held already is a 400.",
    create_request=s.ExternalIdentifierInputSerializer,
    update_request=s.ExternalIdentifierUpdateSerializer,
    replace_summary="Replace an external identifier",
    change_summary="Change an external identifier",
)
class ExternalIdentifierViewSet(_PersonChildViewSet):
    """ICRC / Central Tracing Agency and national information bureau numbers of persons."""

    queryset = external_identifiers()
    serializer_class = s.ExternalIdentifierSerializer
    filterset_class = filters.ExternalIdentifierFilterSet
    input_serializer_class = s.ExternalIdentifierInputSerializer
    update_serializer_class = s.ExternalIdentifierUpdateSerializer
    create_service = staticmethod(services.external_identifier_record)
    update_service = staticmethod(services.external_identifier_update)

    def get_queryset(self):
        return external_identifiers()


@resource_schema(
    serializer=s.NationalityClaimSerializer,
    list_summary="List nationality claims",
    retrieve_summary="Read a nationality claim",
    create_summary="Record a party's claim that a person is its national",
    create_request=s.NationalityClaimInputSerializer,
    update_request=s.NationalityClaimUpdateSerializer,
    replace_summary="Replace a nationality claim",
    change_summary="Change a nationality claim",
)
class NationalityClaimViewSet(_PersonChildViewSet):
    """Who claims each person as a national, and on what basis."""

    queryset = nationality_claims()
    serializer_class = s.NationalityClaimSerializer
    filterset_class = filters.NationalityClaimFilterSet
    input_serializer_class = s.NationalityClaimInputSerializer
    update_serializer_class = s.NationalityClaimUpdateSerializer
    create_service = staticmethod(services.nationality_claim_record)
    update_service = staticmethod(services.nationality_claim_update)

    def get_queryset(self):
        return nationality_claims()
