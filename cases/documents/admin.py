"""Documents in the case officers' admin: attached on the case page, withdrawn on their own.

The case page lists a case's documents with a link to each one's download (the checked,
logged view, never a storage address) and takes new ones: the file and what it is, handed
to ``document_attach``. A statement's and a request's pages do the same for the documents
attached to them (``TargetDocumentsAdminMixin``). A document's own page shows its metadata
and withdraws it, with a reason, against the version loaded.
"""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.documents import services
from cases.documents.models import ATTACHMENT_TARGETS, Document
from cases.exchanges.models import Handover
from cases.models import Request, StatedIntention, TimelineEvent
from cases.security import sensitive
from cases.services import StaleObjectError


def download_link(document: Document) -> str:
    """Return the link to a document's checked download, or "-" for a row not saved yet."""
    if document is None or document.pk is None:
        return "-"
    url = reverse("documents:download", kwargs={"uuid": document.uuid})
    return format_html('<a href="{}">{}</a>', url, _("Download"))


class DocumentInlineForm(forms.InlineAddForm):
    """A new document on the case page: the file and what it is."""

    upload = django_forms.FileField(
        label=_("File"),
        help_text=_(
            "PDF, image (JPEG, PNG, TIFF, WebP), recording (MP3, Ogg, WAV, M4A, MP4) or plain "
            "text. Its type is told from its contents."
        ),
    )


class DocumentInline(AddOnlyInline, admin.TabularInline):
    """A case's documents: attached here, read through the checked download, withdrawn on
    their own page."""

    model = Document
    fk_name = "case"
    form = DocumentInlineForm
    verbose_name = _("document")
    verbose_name_plural = _("documents (letters, scans, recordings, decisions)")
    show_change_link = True
    fields = (
        "title",
        "kind",
        "language",
        *ATTACHMENT_TARGETS,
        "source",
        "upload",
        "download",
        "content_type",
        "size",
        "archived_at",
    )
    readonly_fields = ("download", "content_type", "size", "archived_at")
    autocomplete_fields = ("source",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*ATTACHMENT_TARGETS, "source")

    @admin.display(description=_("file"))
    def download(self, obj):
        return download_link(obj)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A document may name a statement, request or handover of its own case only.
        targets = {"statement": StatedIntention, "request": Request, "handover": Handover}
        if db_field.name in targets:
            parent = getattr(self, "parent_object", None)
            model = targets[db_field.name]
            # A handover's name holds its case's: read with it, not once per choice.
            related = ("case",) if model is Handover else ()
            kwargs["queryset"] = (
                model.objects.filter(case=parent).select_related(*related)
                if parent is not None and parent.pk
                else model.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CaseDocumentsAdminMixin:
    """What the case page adds for documents: the inline and its saver."""

    documents_inlines = (DocumentInline,)

    def add_document(self, request, form, data):
        """Attach the uploaded file to the case."""
        upload = data["upload"]
        targets = {name: data.get(name) for name in ATTACHMENT_TARGETS if data.get(name)}
        return services.document_attach(
            actor=admin_actor(request),
            case=form.instance,
            upload=upload,
            filename=upload.name,
            title=data["title"],
            kind=data["kind"],
            language=data.get("language") or "",
            source=data.get("source"),
            **targets,
        )


class TargetDocumentInline(DocumentInline):
    """The documents attached to one statement or request, on its own page."""

    target: str = ""


class StatementDocumentInline(TargetDocumentInline):
    """A statement's documents: its scan, the recording of the interview."""

    fk_name = target = "statement"
    fields = ("title", "kind", "language", "source", "upload", "download", "content_type", "size")


class RequestDocumentInline(TargetDocumentInline):
    """A request's documents: the filing, the decision."""

    fk_name = target = "request"
    fields = StatementDocumentInline.fields


class TargetDocumentsAdminMixin:
    """What a statement's or a request's page adds for documents: the inline on its change
    page, and the saver that attaches an upload to the case and to the row."""

    documents_inline: type[TargetDocumentInline]

    def get_inlines(self, request, obj):
        inlines = tuple(super().get_inlines(request, obj))
        return (*inlines, self.documents_inline) if obj is not None else inlines

    def add_document(self, request, form, data):
        """Attach the uploaded file to the row's case and to the row."""
        row = form.instance
        upload = data["upload"]
        return services.document_attach(
            actor=admin_actor(request),
            case=row.case,
            upload=upload,
            filename=upload.name,
            title=data["title"],
            kind=data["kind"],
            language=data.get("language") or "",
            source=data.get("source"),
            **{self.documents_inline.target: row},
        )


class DocumentWithdrawForm(forms.VersionedAdminForm):
    """A document's page: its metadata read-only; a reason withdraws it."""

    withdraw = django_forms.BooleanField(
        required=False,
        label=_("Withdraw this document"),
        help_text=_("It leaves the lists; its file is kept. Say why below."),
    )

    class Meta:
        model = Document
        fields: list[str] = []


@admin.register(Document)
class DocumentAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Documents across cases: read here, withdrawn here, attached on the case page."""

    form = DocumentWithdrawForm
    sensitive_form_fields = sensitive.FILE_FIELDS
    list_display = ("title", "case", "kind", "content_type", "size", "uploaded_at", "archived_at")
    list_filter = ("kind", "content_type")
    list_select_related = ("case",)
    search_fields = ("case__reference", "title")
    ordering = ("-uploaded_at", "-id")
    readonly_fields = (
        "case",
        "title",
        "kind",
        "language",
        *ATTACHMENT_TARGETS,
        "original_filename",
        "content_type",
        "size",
        "sha256",
        "source",
        "uploaded_by",
        "uploaded_at",
        "archived_at",
        "download",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("case", "title"),
                    ("kind", "language"),
                    tuple(ATTACHMENT_TARGETS),
                    "original_filename",
                    ("content_type", "size"),
                    "sha256",
                    "source",
                    ("uploaded_by", "uploaded_at"),
                    "archived_at",
                    "download",
                )
            },
        ),
        (_("Withdraw"), {"fields": ("withdraw", "reason", "version")}),
    )

    @admin.display(description=_("file"))
    def download(self, obj):
        return download_link(obj)

    def has_add_permission(self, request):
        # A document belongs to a case: it is attached on the case page.
        return False

    def history_events(self, obj):
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not data.get("withdraw"):
            return
        try:
            document = services.document_withdraw(
                actor=admin_actor(request),
                document=obj,
                reason=data.get("reason", ""),
                expected_version=data.get("version"),
            )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, document)
