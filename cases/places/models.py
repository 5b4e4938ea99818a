"""Places of detention, movements between them and capture cards (GC III Art. 70)."""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django_countries.fields import CountryField

from cases import choices


class PlaceKind(models.TextChoices):
    """What kind of place of detention."""

    CAMP = "camp", "Camp"
    HOSPITAL = "hospital", "Hospital"
    TRANSIT = "transit", "Transit camp or centre"
    PRISON = "prison", "Prison or detention facility"
    OTHER = "other", "Other"


class MovementKind(models.TextChoices):
    """Why a person was moved (or, for the first movement, how he arrived)."""

    CAPTURE = "capture", "Capture (arrival after capture)"
    TRANSFER = "transfer", "Transfer"
    HOSPITAL_ADMISSION = "hospital_admission", "Hospital admission"
    DISCHARGE = "discharge", "Discharge from hospital"
    OTHER = "other", "Other"


class CardHealth(models.TextChoices):
    """State of health as a capture card gives it (GC III Annex IV A)."""

    WELL = "well", "Well"
    WOUNDED = "wounded", "Wounded"
    SICK = "sick", "Sick"


class Place(models.Model):
    """A place of detention: reference data, shared by the cases held there."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=16, choices=PlaceKind.choices)
    detaining_party = models.ForeignKey(
        "cases.Party", on_delete=models.PROTECT, related_name="places"
    )
    country = CountryField(blank=True)
    subdivision_code = models.CharField(
        max_length=6,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Z]{2}-[A-Z0-9]{1,3}$", "Enter an ISO 3166-2 subdivision code such as UA-30."
            )
        ],
        help_text="ISO 3166-2, e.g. UA-30 (Kyiv).",
    )
    address = models.TextField(blank=True, help_text="Address or location, as far as known.")
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        code = self.subdivision_code or ""
        country = self.country.code if self.country else ""
        if code and country and not code.startswith(f"{country}-"):
            raise ValidationError(
                {"subdivision_code": f"A subdivision of {country} starts with {country}-."}
            )


class Movement(models.Model):
    """A case's move to a place (from another, or a first arrival after capture)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="movements")
    from_place = models.ForeignKey(
        Place,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for the first arrival after capture.",
    )
    to_place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="arrivals")
    moved_on = models.DateField()
    moved_on_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.DAY
    )
    kind = models.CharField(
        max_length=24,
        choices=MovementKind.choices,
        verbose_name="reason for the move",
        help_text="Capture (first arrival), transfer, hospital admission, discharge or other.",
    )
    notes = models.TextField(blank=True)
    source = models.ForeignKey(
        "cases.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "cases"
        ordering = ["case_id", "moved_on", "id"]
        indexes = [models.Index(fields=["case", "moved_on"], name="movement_case_moved_on")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.to_place}, {self.moved_on}"

    def clean(self):
        if self.from_place_id is not None and self.from_place_id == self.to_place_id:
            raise ValidationError({"to_place": "A movement goes to another place."})


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

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="capture_cards")
    movement = models.ForeignKey(
        Movement,
        on_delete=models.PROTECT,
        related_name="capture_cards",
        help_text="The capture or move the card answers.",
    )
    filled_in_on = models.DateField(null=True, blank=True)
    sent_to_family_on = models.DateField(null=True, blank=True)
    sent_to_agency_on = models.DateField(
        null=True, blank=True, help_text="Sent to the Central Tracing Agency."
    )
    health = models.CharField(max_length=8, choices=CardHealth.choices, blank=True)
    address_given = models.BooleanField(
        default=False, help_text="He gave an address for correspondence on the card."
    )
    declined = models.BooleanField(default=False, help_text="He declined to write a card.")
    declined_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    source = models.ForeignKey(
        "cases.Source",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="capture_cards",
    )
    version = models.PositiveIntegerField(default=1)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["case_id", "movement_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["movement"], name="capture_card_one_per_movement")
        ]

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
                errors["declined_on"] = "Say when he declined: the date discharges the duty."
            for name in ("filled_in_on", "sent_to_family_on", "sent_to_agency_on"):
                if getattr(self, name) is not None:
                    errors[name] = "A declined card is neither filled in nor sent."
        elif self.declined_on is not None:
            errors["declined_on"] = "Only a declined card has a date of refusal."
        else:
            for name in ("sent_to_family_on", "sent_to_agency_on"):
                sent = getattr(self, name)
                if sent is not None and self.filled_in_on is None:
                    errors["filled_in_on"] = "A card sent was filled in first: give the date."
                elif sent is not None and sent < self.filled_in_on:
                    errors[name] = "A card is sent on or after the day it was filled in."
        if self.movement_id is not None and self.case_id is not None:
            if self.movement.case_id != self.case_id:
                errors["movement"] = "The movement belongs to another case."
        if self.movement_id is not None:
            earliest = _earliest_day(self.movement.moved_on, self.movement.moved_on_precision)
            for name in ("filled_in_on", "sent_to_family_on", "sent_to_agency_on", "declined_on"):
                day = getattr(self, name)
                if day is not None and earliest is not None and day < earliest:
                    errors.setdefault(
                        name,
                        f"The card answers the move of {self.movement.moved_on:%Y-%m-%d}: it "
                        "cannot be dated before it.",
                    )
        if errors:
            raise ValidationError(errors)
