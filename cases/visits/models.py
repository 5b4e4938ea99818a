"""Visits by a visiting body to a place of detention, and whom it saw in private there."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from cases import choices


class Visit(models.Model):
    """A visit to a place of detention by a visiting body (GC III Art. 126)."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    visiting_body = models.ForeignKey(
        "cases.Party",
        verbose_name=_("visiting body"),
        on_delete=models.PROTECT,
        related_name="visits_made",
        help_text=_("Who visited: the ICRC, a protecting power, another party."),
    )
    visited_on = models.DateField(verbose_name=_("visited on"))
    visited_on_precision = models.CharField(
        verbose_name=_("visited on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    detaining_party = models.ForeignKey(
        "cases.Party",
        verbose_name=_("detaining party"),
        on_delete=models.PROTECT,
        related_name="visits_received",
    )
    place = models.ForeignKey(
        "cases.Place",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    place_text = models.CharField(
        verbose_name=_("place (text)"),
        max_length=200,
        blank=True,
        help_text=_("Where, in words, when the place is not on record."),
    )
    topics = models.TextField(
        verbose_name=_("topics raised"),
        blank=True,
        help_text=_("What was raised with the detaining power. Sensitive."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True, help_text=_("Sensitive."))
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["-visited_on", "id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")

    def __str__(self):
        where = self.place_text or (self.place.name if self.place_id else "")
        where = f" to {where}" if where else ""
        return f"{self.visiting_body.name}{where}, {self.visited_on.isoformat()}"

    def clean(self):
        if self.visiting_body_id and self.visiting_body_id == self.detaining_party_id:
            raise ValidationError(
                {"visiting_body": _("The detaining party does not visit its own places.")}
            )
        if (
            self.place_id
            and self.detaining_party_id
            and self.place.detaining_party_id != self.detaining_party_id
        ):
            raise ValidationError(
                {"place": _("The place is held by another party than the detaining party named.")}
            )


class Interview(models.Model):
    """One person seen during a visit, and whether in private (no detaining-power staff)."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="interviews"
    )
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="interviews"
    )
    in_private = models.BooleanField(
        verbose_name=_("in private"),
        default=False,
        help_text=_("No staff of the detaining power were present (GC III Art. 126)."),
    )
    interpreter_supplied_by = models.ForeignKey(
        "cases.Party",
        verbose_name=_("interpreter supplied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    topics = models.TextField(
        verbose_name=_("topics raised"),
        blank=True,
        help_text=_("What the person raised. Sensitive."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True, help_text=_("Sensitive."))
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["visit_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "case"], name="interview_one_per_case_visit")
        ]
        verbose_name = _("private interview")
        verbose_name_plural = _("private interviews")

    def __str__(self):
        how = "in private" if self.in_private else "not in private"
        return f"Seen {how}: visit by {self.visit}"
