"""The record of one merge of a duplicate person into another, and what it moved."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonMerge(models.Model):
    """One merge: which person was merged into which, why, what moved, and its undo."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    survivor = models.ForeignKey(
        "cases.Person",
        verbose_name=_("survivor"),
        on_delete=models.PROTECT,
        related_name="merges_received",
    )
    merged = models.ForeignKey(
        "cases.Person",
        verbose_name=_("merged"),
        on_delete=models.PROTECT,
        related_name="merges_as_duplicate",
    )
    merged_at = models.DateTimeField(verbose_name=_("merged at"))
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("merged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    merged_by_label = models.CharField(
        verbose_name=_("merged by label"), max_length=200, blank=True
    )
    reason = models.TextField(verbose_name=_("reason"))
    #: ``{"app_label.model.field": [primary keys]}``: the rows moved from the duplicate to the
    #: survivor, so that an undo moves back exactly these.
    moved = models.JSONField(verbose_name=_("moved"), default=dict, blank=True)
    #: Name variants of the duplicate that the survivor already had (same value): removed by
    #: the merge, written back by its undo.
    dropped_names = models.JSONField(verbose_name=_("dropped names"), default=list, blank=True)
    undone_at = models.DateTimeField(verbose_name=_("undone at"), null=True, blank=True)
    undone_by_label = models.CharField(
        verbose_name=_("undone by label"), max_length=200, blank=True
    )
    undo_reason = models.TextField(verbose_name=_("undo reason"), blank=True)
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)

    class Meta:
        ordering = ["-merged_at", "-id"]
        indexes = [models.Index(fields=["merged", "undone_at"], name="personmerge_open")]
        verbose_name = _("person merge")
        verbose_name_plural = _("person merges")

    def __str__(self):
        return f"{self.merged} merged into {self.survivor}"

    def moved_count(self) -> int:
        """Return how many rows the merge moved."""
        return sum(len(pks) for pks in self.moved.values())
