"""A document attached to a case, and what it may also be attached to within the case."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.documents.storage import documents_storage, stored_name


class DocumentKind(models.TextChoices):
    """What a document is."""

    LETTER = "letter", _("Letter")
    STATEMENT_SCAN = "statement_scan", _("Scan of a statement")
    INTERVIEW_RECORDING = "interview_recording", _("Interview recording")
    DECISION = "decision", _("Decision")
    OTHER = "other", _("Other")


#: The rows of a case a document may also be attached to: the field of the document and the
#: name of the row's case field. A new target is one entry here and its foreign key below.
ATTACHMENT_TARGETS: dict[str, str] = {
    "statement": "case",
    "request": "case",
    "handover": "case",
}


class Document(models.Model):
    """A file of a case (a letter, a scan, a recording, a decision): metadata here, bytes in
    ``STORAGES["documents"]``; withdrawn, never deleted but by a purge."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="documents"
    )
    statement = models.ForeignKey(
        "cases.StatedIntention",
        verbose_name=_("statement"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
        help_text=_("The statement the document records or concerns, if any."),
    )
    request = models.ForeignKey(
        "cases.Request",
        verbose_name=_("request"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
        help_text=_("The request the document belongs to (a filing, a decision), if any."),
    )
    handover = models.ForeignKey(
        "cases.Handover",
        verbose_name=_("handover"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
        help_text=_("The handover the document records (a signed receipt, a list), if any."),
    )
    title = models.CharField(verbose_name=_("title"), max_length=300)
    kind = models.CharField(verbose_name=_("kind"), max_length=24, choices=DocumentKind.choices)
    language = models.CharField(
        verbose_name=_("language"),
        max_length=16,
        blank=True,
        help_text=_("BCP 47 code of its language, e.g. ko, en, uk."),
    )
    file = models.FileField(
        verbose_name=_("file"),
        storage=documents_storage,
        upload_to=stored_name,
        max_length=200,
        editable=False,
    )
    original_filename = models.CharField(
        verbose_name=_("original filename"),
        max_length=255,
        blank=True,
        help_text=_("The name it was uploaded under. Sensitive."),
    )
    content_type = models.CharField(
        verbose_name=_("content type"),
        max_length=100,
        editable=False,
        help_text=_("Told from its bytes, not its name."),
    )
    size = models.PositiveBigIntegerField(
        verbose_name=_("size"), editable=False, help_text=_("Bytes.")
    )
    sha256 = models.CharField(
        verbose_name=_("sha256"), max_length=64, editable=False, db_index=True
    )
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="documents",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    uploaded_at = models.DateTimeField(
        verbose_name=_("uploaded at"), default=timezone.now, editable=False
    )
    archived_at = models.DateTimeField(
        verbose_name=_("archived at"),
        null=True,
        blank=True,
        help_text=_("When it was withdrawn; its file is kept."),
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)

    class Meta:
        app_label = "cases"
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["case_id", "-uploaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "sha256"],
                condition=models.Q(archived_at__isnull=True),
                name="document_once_per_case",
                violation_error_message=_("This case already has this file attached."),
            )
        ]

    def __str__(self):
        return self.title

    @property
    def attached_to(self) -> tuple[str, models.Model] | None:
        """Return ``(target, row)`` of the statement, request or handover it is attached to,
        or None."""
        for name in ATTACHMENT_TARGETS:
            if getattr(self, f"{name}_id") is not None:
                return name, getattr(self, name)
        return None

    def clean(self):
        errors = {}
        named = [name for name in ATTACHMENT_TARGETS if getattr(self, f"{name}_id") is not None]
        if len(named) > 1:
            errors[named[1]] = gettext("Attach a document to one of the case's records at most.")
        for name in named:
            row = getattr(self, name)
            if self.case_id is not None and getattr(row, f"{ATTACHMENT_TARGETS[name]}_id") != (
                self.case_id
            ):
                errors[name] = gettext("The %(record)s belongs to another case.") % {
                    "record": self._meta.get_field(name).verbose_name
                }
        if errors:
            raise ValidationError(errors)
