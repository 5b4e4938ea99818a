"""Documents in the API: ``/api/v1/documents/`` (metadata), their contents and their upload.

The upload is the API's only body that is not JSON: a ``multipart/form-data`` POST with the
file in ``file``; its size is checked while it streams in, before anything is stored. The
contents are read at ``/api/v1/documents/<uuid>/content/`` by readers who may see sensitive
values; each read is one access-log entry. ``withdraw`` (a reason, the version read) takes a
document out of the lists; nothing deletes one but a purge of its case.
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, renderers, serializers, status
from rest_framework.decorators import action
from rest_framework.settings import api_settings

from cases.api import serializers as s
from cases.api.mixins import actor_for, expected_version
from cases.api.parsers import JSONParser
from cases.api.schema import ERRORS, IF_MATCH, LOCKING, NOT_FOUND, READ_ERRORS, resource_schema
from cases.api.views import ResourceViewSet
from cases.documents import services
from cases.documents.downloads import refuse_unless_allowed, serve
from cases.documents.filters import DocumentFilterSet
from cases.documents.models import ATTACHMENT_TARGETS, Document, DocumentKind
from cases.exchanges.models import Handover
from cases.models import Case, Request, Source, StatedIntention
from cases.security import access


def documents():
    """Return documents with what their representation reads."""
    return Document.objects.select_related(
        "case", "statement", "request", "handover", "source", "uploaded_by"
    )


class DocumentSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """A document's metadata; its contents are at ``content``, for readers who may see them.
    The name it was uploaded under needs the permission to view sensitive values."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:document-detail")
    content = s.DetailUrlField(
        "api:document-content", help_text="Where its bytes are read (checked and logged)."
    )
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    statement = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    request = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    handover = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    source = serializers.SlugRelatedField(slug_field="uuid", read_only=True, allow_null=True)
    uploaded_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = Document
        fields = [
            "url",
            "uuid",
            "case",
            "statement",
            "request",
            "handover",
            "title",
            "kind",
            "language",
            "original_filename",
            "content_type",
            "size",
            "sha256",
            "source",
            "uploaded_by",
            "uploaded_at",
            "archived_at",
            "content",
            "redacted",
            "version",
        ]


class DocumentUploadSerializer(s.InputSerializer):
    """Input for ``document_attach``: the file and what it is (a multipart form)."""

    file = serializers.FileField(
        help_text="The file: PDF, JPEG, PNG, TIFF, WebP, MP3, Ogg, WAV, M4A, MP4 or UTF-8 text. "
        "Its type is told from its bytes; an extension that says otherwise is refused."
    )
    case = s.PublicIdField(queryset=Case.objects.all())
    statement = s.PublicIdField(
        queryset=StatedIntention.objects.all(), required=False, allow_null=True
    )
    request = s.PublicIdField(queryset=Request.objects.all(), required=False, allow_null=True)
    handover = s.PublicIdField(queryset=Handover.objects.all(), required=False, allow_null=True)
    title = serializers.CharField(max_length=300)
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class DocumentWithdrawSerializer(s.InputSerializer):
    """Input for ``document_withdraw``: why (required); the version read goes in If-Match."""

    reason = serializers.CharField(help_text="Why the document is withdrawn.")


class _Passthrough(renderers.BaseRenderer):
    """Let a download be asked for with any ``Accept``: the answer is the file itself."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class LimitedUploadHandler(FileUploadHandler):
    """Stop reading an upload as soon as its file passes the documents' size limit.

    Django's own handlers would first write the whole body to a temporary file; this one
    counts the bytes as they come and ends the upload at the limit.
    """

    def __init__(self, request=None, limit: int | None = None):
        super().__init__(request)
        self.limit = services.max_bytes() if limit is None else limit
        self.received = 0
        self.exceeded = False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def _too_large() -> exceptions.ValidationError:
    limit = services.max_bytes()
    return exceptions.ValidationError(
        {
            "file": [
                exceptions.ErrorDetail(
                    _("The file is larger than %(limit)s MiB, the most a document may be.")
                    % {"limit": f"{limit / 1048576:g}"},
                    code="too_large",
                )
            ]
        }
    )


@resource_schema(
    serializer=DocumentSerializer,
    list_summary="List documents",
    retrieve_summary="Read a document's metadata",
    create_summary="Attach a document (multipart upload)",
    create_request={"multipart/form-data": DocumentUploadSerializer},
    create_description="Send the file as multipart/form-data in `file`, with `case`, "
    "`title` and `kind` (and optionally one of `statement`, `request` or `handover`, "
    "`language`, `source`, "
    "`reason`) as form fields. Its type is told from its bytes; a file of a type not "
    "accepted, one whose extension says another type, one larger than "
    "DJANGO_DOCUMENT_MAX_BYTES or one the case has already is a 400 saying why.",
)
class DocumentViewSet(ResourceViewSet):
    """Files attached to cases: letters, scanned statements, recordings, decisions."""

    queryset = documents()
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilterSet
    parser_classes = [JSONParser, parsers.MultiPartParser]

    def get_queryset(self):
        return documents()

    def get_parsers(self):
        # The upload alone takes a form; every other body is JSON, as everywhere else.
        if getattr(self, "action", None) == "create" or (
            self.request is not None and self.request.method == "POST" and self.detail is False
        ):
            return [parsers.MultiPartParser()]
        return [JSONParser()]

    def initial(self, request, *args, **kwargs):
        if request.method == "POST" and not self.detail:
            self._limit = LimitedUploadHandler(request)
            request._request.upload_handlers.insert(0, self._limit)
        super().initial(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        _parsed = request.data  # the form, read through the handler that stops at the limit
        limit = getattr(self, "_limit", None)
        if limit is not None and limit.exceeded:
            raise _too_large()
        data = self.validated(DocumentUploadSerializer)
        upload = data.pop("file")
        reason = data.pop("reason", "")
        data.pop("version", None)
        targets = {name: data.pop(name) for name in ATTACHMENT_TARGETS if name in data}
        document = services.document_attach(
            actor=actor_for(request),
            upload=upload,
            filename=upload.name,
            reason=reason,
            **data,
            **{k: v for k, v in targets.items() if v is not None},
        )
        return self.row_response(document.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Read a document's contents",
        description="The file itself, as an attachment with the type told from its bytes. "
        "Needs the permission to view sensitive values; each read is logged.",
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file (its Content-Type is its own)."
            ),
            **READ_ERRORS,
            **NOT_FOUND,
        },
    )
    @action(
        detail=True,
        methods=["get"],
        renderer_classes=[*api_settings.DEFAULT_RENDERER_CLASSES, _Passthrough],
    )
    def content(self, request, uuid=None, **kwargs):
        document = self.get_object()
        refuse_unless_allowed(request.user, exceptions.PermissionDenied)
        return serve(
            document,
            user=request.user,
            channel=access.API,
            path=request.path,
            token_label=access.token_label_of(request),
        )

    @extend_schema(
        summary="Withdraw a document",
        description="Take it out of the lists, saying why; its file is kept (only a purge "
        "of the case deletes it).",
        request=DocumentWithdrawSerializer,
        parameters=[IF_MATCH],
        responses={200: DocumentSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_document")
    def withdraw(self, request, uuid=None, **kwargs):
        document = self.get_object()
        version = expected_version(request)
        data = self.validated(DocumentWithdrawSerializer)
        services.document_withdraw(
            actor=actor_for(request),
            document=document,
            reason=data["reason"],
            expected_version=version,
        )
        return self.row_response(document.pk)
