"""Places of detention, movements between them and capture cards (GC III Art. 70)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from cases import choices


class PlaceKind(models.TextChoices):
    """What kind of place of detention."""

    CAMP = "camp", _("Camp")
    HOSPITAL = "hospital", _("Hospital")
    TRANSIT = "transit", _("Transit camp or centre")
    PRISON = "prison", _("Prison or detention facility")
    OTHER = "other", _("Other")


class MovementKind(models.TextChoices):
    """Why a person was moved (or, for the first movement, how he arrived)."""

    CAPTURE = "capture", _("Capture (arrival after capture)")
    TRANSFER = "transfer", _("Transfer")
    HOSPITAL_ADMISSION = "hospital_admission", _("Hospital admission")
    DISCHARGE = "discharge", _("Discharge from hospital")
    OTHER = "other", _("Other")


class CardHealth(models.TextChoices):
    """State of health as a capture card gives it (GC III Annex IV A)."""

    WELL = "well", _("Well")
    WOUNDED = "wounded", _("Wounded")
    SICK = "sick", _("Sick")


class Place(models.Model):
    """A place of detention: reference data, shared by the cases held there."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(verbose_name=_("name"), max_length=200, unique=True)
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=PlaceKind.choices)
    detaining_party = models.ForeignKey(
        "cases.Party",
        verbose_name=_("detaining party"),
        on_delete=models.PROTECT,
        related_name="places",
    )
    country = CountryField(verbose_name=_("country"), blank=True)
    subdivision_code = models.CharField(
        verbose_name=_("subdivision code"),
        max_length=6,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Z]{2}-[A-Z0-9]{1,3}$", "Enter an ISO 3166-2 subdivision code such as UA-30."
            )
        ],
        help_text=_("ISO 3166-2, e.g. UA-30 (Kyiv)."),
    )
    address = models.TextField(
        verbose_name=_("address"), blank=True, help_text=_("Address or location, as far as known.")
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["name"]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self):
        return self.name

    def clean(self):
        code = self.subdivision_code or ""
        country = self.country.code if self.country else ""
        if code and country and not code.startswith(f"{country}-"):
            raise ValidationError(
                {
                    "subdivision_code": _("A subdivision of %(country)s starts with %(country)s-.")
                    % {"country": country}
                }
            )


class Movement(models.Model):
    """A case's move to a place (from another, or a first arrival after capture)."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="movements"
    )
    from_place = models.ForeignKey(
        Place,
        verbose_name=_("from place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the first arrival after capture."),
    )
    to_place = models.ForeignKey(
        Place, verbose_name=_("to place"), on_delete=models.PROTECT, related_name="arrivals"
    )
    moved_on = models.DateField(verbose_name=_("moved on"))
    moved_on_precision = models.CharField(
        verbose_name=_("moved on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    kind = models.CharField(
        max_length=24,
        choices=MovementKind.choices,
        verbose_name=_("reason for the move"),
        help_text=_("Capture (first arrival), transfer, hospital admission, discharge or other."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["case_id", "moved_on", "id"]
        indexes = [models.Index(fields=["case", "moved_on"], name="movement_case_moved_on")]
        verbose_name = _("movement")
        verbose_name_plural = _("movements")

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_place}, {self.moved_on}"

    def clean(self):
        if self.from_place_id is not None and self.from_place_id == self.to_place_id:
            raise ValidationError({"to_place": _("A movement goes to another place.")})


def _earliest_day(day: dt.date | None, precision: str) -> dt.date | None:
    """Return the first day a date known to ``precision`` can be; None when only
    approximate (any day may be it)."""
    if day is None or precision == choices.DatePrecision.APPROXIMATE:
        return None
    if precision == choices.DatePrecision.MONTH:
        return day.replace(day=1)
    if precision == choices.DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    return day


class CaptureCard(models.Model):
    """The capture card (GC III Art. 70) that answers one movement: filled in, sent, or declined.

    The person may decline to write one; recorded with its date, that discharges the duty.
    """

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="capture_cards"
    )
    movement = models.ForeignKey(
        Movement,
        verbose_name=_("movement"),
        on_delete=models.PROTECT,
        related_name="capture_cards",
        help_text=_("The capture or move the card answers."),
    )
    filled_in_on = models.DateField(verbose_name=_("filled in on"), null=True, blank=True)
    sent_to_family_on = models.DateField(verbose_name=_("sent to family on"), null=True, blank=True)
    sent_to_agency_on = models.DateField(
        verbose_name=_("sent to agency on"),
        null=True,
        blank=True,
        help_text=_("Sent to the Central Tracing Agency."),
    )
    health = models.CharField(
        verbose_name=_("health"), max_length=8, choices=CardHealth.choices, blank=True
    )
    address_given = models.BooleanField(
        verbose_name=_("address given"),
        default=False,
        help_text=_("He gave an address for correspondence on the card."),
    )
    declined = models.BooleanField(
        verbose_name=_("declined"), default=False, help_text=_("He declined to write a card.")
    )
    declined_on = models.DateField(verbose_name=_("declined on"), null=True, blank=True)
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="capture_cards",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["case_id", "movement_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["movement"], name="capture_card_one_per_movement")
        ]
        verbose_name = _("capture card")
        verbose_name_plural = _("capture cards")

    def __str__(self):
        if self.declined:
            return f"Capture card declined ({self.declined_on})"
        return f"Capture card filled in {self.filled_in_on or '(date unknown)'}"

    @property
    def discharges_duty(self) -> bool:
        """Return whether the card satisfies Art. 70: sent to the Central Agency or declined."""
        return self.sent_to_agency_on is not None or (
            self.declined and self.declined_on is not None
        )

    def clean(self):
        errors = {}
        if self.declined:
            if self.declined_on is None:
                errors["declined_on"] = _("Say when he declined: the date discharges the duty.")
            for name in ("filled_in_on", "sent_to_family_on", "sent_to_agency_on"):
                if getattr(self, name) is not None:
                    errors[name] = _("A declined card is neither filled in nor sent.")
        elif self.declined_on is not None:
            errors["declined_on"] = _("Only a declined card has a date of refusal.")
        else:
            for name in ("sent_to_family_on", "sent_to_agency_on"):
                sent = getattr(self, name)
                if sent is not None and self.filled_in_on is None:
                    errors["filled_in_on"] = _("A card sent was filled in first: give the date.")
                elif sent is not None and sent < self.filled_in_on:
                    errors[name] = _("A card is sent on or after the day it was filled in.")
        if self.movement_id is not None and self.case_id is not None:
            if self.movement.case_id != self.case_id:
                errors["movement"] = _("The movement belongs to another case.")
        if self.movement_id is not None:
            earliest = _earliest_day(self.movement.moved_on, self.movement.moved_on_precision)
            for name in ("filled_in_on", "sent_to_family_on", "sent_to_agency_on", "declined_on"):
                day = getattr(self, name)
                if day is not None and earliest is not None and day < earliest:
                    errors.setdefault(
                        name,
                        _("The card answers the move of %(date)s: it cannot be dated before it.")
                        % {"date": self.movement.moved_on.isoformat()},
                    )
        if errors:
            raise ValidationError(errors)
