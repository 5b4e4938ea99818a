"""Saved column mappings and import runs (the file, its dry run and its committed report)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# Imported at the end of cases/models.py, once the base classes exist.
from cases.models import PublicModel


class ListKind(models.TextChoices):
    """What sort of list a file is."""

    CAPTURE = "capture", _("Capture list")
    EXCHANGE = "exchange", _("Exchange list from the other side")
    ICRC = "icrc", _("ICRC list")
    OTHER = "other", _("Other list")


class ImportStatus(models.TextChoices):
    """Where an import run stands."""

    UPLOADED = "uploaded", _("Uploaded")
    DRY_RUN = "dry_run", _("Dry run done")
    COMMITTED = "committed", _("Committed")
    FAILED = "failed", _("Failed")


class ImportMapping(PublicModel):
    """A saved mapping of a list's column headers to the fields an import reads."""

    name = models.CharField(verbose_name=_("name"), max_length=200, unique=True)
    kind = models.CharField(
        verbose_name=_("kind"), max_length=16, choices=ListKind.choices, default=ListKind.OTHER
    )
    #: ``{"column header": "field"}``; a field of ``cases.imports.parsing.FIELDS``, or ""
    #: for a column read and ignored.
    columns = models.JSONField(verbose_name=_("columns"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["name"]
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")

    def __str__(self):
        return self.name


class ImportRun(PublicModel):
    """One uploaded file: its bytes, the mapping it is read with, and its report."""

    file_name = models.CharField(verbose_name=_("file name"), max_length=255)
    content = models.BinaryField(verbose_name=_("content"))
    sha256 = models.CharField(verbose_name=_("sha256"), max_length=64, db_index=True)
    kind = models.CharField(
        verbose_name=_("kind"), max_length=16, choices=ListKind.choices, default=ListKind.OTHER
    )
    mapping = models.ForeignKey(
        ImportMapping,
        verbose_name=_("mapping"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="runs",
    )
    #: The mapping as it was used (a saved mapping may be replaced later).
    columns = models.JSONField(verbose_name=_("columns"), default=dict, blank=True)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=ImportStatus.choices,
        default=ImportStatus.UPLOADED,
    )
    #: The dry run's report, then the commit's: counts and one entry per row.
    report = models.JSONField(verbose_name=_("report"), default=dict, blank=True)
    #: The source every event of the commit cites: this file.
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    dry_run_at = models.DateTimeField(verbose_name=_("dry run at"), null=True, blank=True)
    committed_at = models.DateTimeField(verbose_name=_("committed at"), null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("committed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        app_label = "cases"
        ordering = ["-created_at", "-id"]
        # Stored English; translated where shown (cases/admin/accounts.py).
        permissions = [
            ("import_lists", gettext_noop("Can upload, dry-run and commit imports of lists"))
        ]
        constraints = [
            # One committed run per file: committing the same bytes twice is refused.
            models.UniqueConstraint(
                fields=["sha256"],
                condition=models.Q(status="committed"),
                name="importrun_one_commit_per_file",
            ),
            # A committed run stays committed: a later write that changes its status (a
            # dry run that finishes after the commit) is refused by the database.
            models.CheckConstraint(
                condition=models.Q(committed_at__isnull=True) | models.Q(status="committed"),
                name="importrun_committed_stays_committed",
            ),
        ]
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")

    def __str__(self):
        return f"Import {self.file_name} ({self.get_status_display().lower()})"
