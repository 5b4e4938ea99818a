"""Saved column mappings and import runs (the file, its dry run and its committed report)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# Imported at the end of cases/models.py, once the base classes exist.
from cases.models import PublicModel


class ListKind(models.TextChoices):
    """What sort of list a file is."""

    CAPTURE = "capture", "Capture list"
    EXCHANGE = "exchange", "Exchange list from the other side"
    ICRC = "icrc", "ICRC list"
    OTHER = "other", "Other list"


class ImportStatus(models.TextChoices):
    """Where an import run stands."""

    UPLOADED = "uploaded", "Uploaded"
    DRY_RUN = "dry_run", "Dry run done"
    COMMITTED = "committed", "Committed"
    FAILED = "failed", "Failed"


class ImportMapping(PublicModel):
    """A saved mapping of a list's column headers to the fields an import reads."""

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=ListKind.choices, default=ListKind.OTHER)
    #: ``{"column header": "field"}``; a field of ``cases.imports.parsing.FIELDS``, or ""
    #: for a column read and ignored.
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["name"]

    def __str__(self):
        return self.name


class ImportRun(PublicModel):
    """One uploaded file: its bytes, the mapping it is read with, and its report."""

    file_name = models.CharField(max_length=255)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=16, choices=ListKind.choices, default=ListKind.OTHER)
    mapping = models.ForeignKey(
        ImportMapping, null=True, blank=True, on_delete=models.PROTECT, related_name="runs"
    )
    #: The mapping as it was used (a saved mapping may be replaced later).
    columns = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    #: The dry run's report, then the commit's: counts and one entry per row.
    report = models.JSONField(default=dict, blank=True)
    #: The source every event of the commit cites: this file.
    source = models.ForeignKey(
        "cases.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    dry_run_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        app_label = "cases"
        ordering = ["-created_at", "-id"]
        permissions = [("import_lists", "Can upload, dry-run and commit imports of lists")]
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

    def __str__(self):
        return f"Import {self.file_name} ({self.get_status_display().lower()})"
