"""The FilterSet of documents, shared by the API and the access policy.

No filter reads the name a document was uploaded under (it is sensitive); its SHA-256 is a
filter, so a client holding a file can ask whether a case has it without sending it.
"""

from __future__ import annotations

import django_filters

from cases.documents.models import Document, DocumentKind
from cases.exchanges.models import Handover
from cases.filters import (
    ArchivedFilterSet,
    ChoiceListFilter,
    PublicIdFilter,
    UtcDateTimeFilter,
    _ordering,
)
from cases.models import Case, Request, Source, StatedIntention


class DocumentFilterSet(ArchivedFilterSet):
    """Filters for documents: case, what they are attached to, kind, type, hash, upload time."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    statement = PublicIdFilter(
        queryset=StatedIntention.objects.all(), help_text="Statement id; several allowed."
    )
    request = PublicIdFilter(
        queryset=Request.objects.all(), help_text="Request id; several allowed."
    )
    handover = PublicIdFilter(
        queryset=Handover.objects.all(), help_text="Handover id; several allowed."
    )
    kind = ChoiceListFilter(choices=DocumentKind.choices)
    language = django_filters.CharFilter(
        field_name="language", help_text="BCP 47 code of its language, exactly."
    )
    content_type = django_filters.CharFilter(
        field_name="content_type", help_text="Media type told from its bytes, e.g. application/pdf."
    )
    sha256 = django_filters.CharFilter(
        field_name="sha256", lookup_expr="iexact", help_text="SHA-256 of its bytes, in hex."
    )
    source = PublicIdFilter(queryset=Source.objects.all(), help_text="Source id; several allowed.")
    uploaded_after = UtcDateTimeFilter(
        field_name="uploaded_at", lookup_expr="gte", help_text="Uploaded at or after (ISO 8601)."
    )
    uploaded_before = UtcDateTimeFilter(
        field_name="uploaded_at", lookup_expr="lte", help_text="Uploaded at or before (ISO 8601)."
    )
    ordering = _ordering("uploaded_at", "title", "size")

    class Meta:
        model = Document
        fields: list[str] = []
