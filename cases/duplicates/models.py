"""The record of one merge of a duplicate person into another, and what it moved."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class PersonMerge(models.Model):
    """One merge: which person was merged into which, why, what moved, and its undo."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey(
        "cases.Person", on_delete=models.PROTECT, related_name="merges_received"
    )
    merged = models.ForeignKey(
        "cases.Person", on_delete=models.PROTECT, related_name="merges_as_duplicate"
    )
    merged_at = models.DateTimeField()
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    merged_by_label = models.CharField(max_length=200, blank=True)
    reason = models.TextField()
    #: ``{"app_label.model.field": [primary keys]}``: the rows moved from the duplicate to the
    #: survivor, so that an undo moves back exactly these.
    moved = models.JSONField(default=dict, blank=True)
    #: Name variants of the duplicate that the survivor already had (same value): removed by
    #: the merge, written back by its undo.
    dropped_names = models.JSONField(default=list, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by_label = models.CharField(max_length=200, blank=True)
    undo_reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [models.Index(fields=["merged", "undone_at"], name="personmerge_open")]

    def __str__(self):
        return f"{self.merged} merged into {self.survivor}"

    def moved_count(self) -> int:
        """Return how many rows the merge moved."""
        return sum(len(pks) for pks in self.moved.values())
