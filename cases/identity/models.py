"""Identity documents, external identifiers and nationality claims of a person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django_countries.fields import CountryField

# Imported at the end of cases/models.py, once the base classes exist.
from cases.models import PublicModel


class DocumentKind(models.TextChoices):
    """What sort of identity document a person carried."""

    MILITARY_ID = "military_id", "Military ID"
    PASSPORT = "passport", "Passport"
    NATIONAL_ID = "national_id", "National ID card"
    IDENTITY_DISC = "identity_disc", "Identity disc or tag"
    OTHER = "other", "Other"


class DocumentGenuineness(models.TextChoices):
    """Whether a document is genuine and his own, as far as is known."""

    GENUINE = "genuine", "Genuine, his own"
    NOT_HIS_OWN = "not_his_own", "Genuine, but not his own"
    FORGED = "forged", "Forged"
    UNKNOWN = "unknown", "Unknown"


class IdentifierScheme(models.TextChoices):
    """Who issued an external identifier."""

    ICRC = "icrc", "ICRC / Central Tracing Agency"
    NATIONAL_INFORMATION_BUREAU = "nib", "National information bureau"
    OTHER = "other", "Other"


class IdentityDocument(PublicModel):
    """A document a person carried when captured: kind, issuer, number, name on it."""

    person = models.ForeignKey(
        "cases.Person", on_delete=models.CASCADE, related_name="identity_documents"
    )
    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    issuer = models.ForeignKey(
        "cases.Party",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The party that issued it, when known as a party.",
    )
    issuer_country = CountryField(blank=True, help_text="The issuing country.")
    number = models.CharField(max_length=100, blank=True, help_text="Sensitive.")
    name_on_document = models.CharField(
        max_length=200, blank=True, help_text="The name as written on it. Sensitive."
    )
    genuineness = models.CharField(
        max_length=16,
        choices=DocumentGenuineness.choices,
        default=DocumentGenuineness.UNKNOWN,
        help_text="Whether it is genuine and his own, as far as is known.",
    )
    notes = models.TextField(blank=True, help_text="Sensitive.")
    source = models.ForeignKey(
        "cases.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "id"]

    def __str__(self):
        issuer = self.issuer.name if self.issuer_id else (self.issuer_country.name or "")
        kind = DocumentKind(self.kind).label if self.kind else "Document"
        return f"{kind} ({issuer})" if issuer else kind

    def clean(self):
        if self.issuer_id is None and not self.issuer_country:
            raise ValidationError(
                {"issuer": "Name the issuer: a party, or the issuing country (or both)."}
            )


class ExternalIdentifier(PublicModel):
    """A number another system knows the person by (ICRC, a national information bureau)."""

    person = models.ForeignKey(
        "cases.Person", on_delete=models.CASCADE, related_name="external_identifiers"
    )
    scheme = models.CharField(max_length=16, choices=IdentifierScheme.choices)
    value = models.CharField(max_length=100)
    issued_by = models.ForeignKey(
        "cases.Party",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The bureau or body that issued it, when known.",
    )
    source = models.ForeignKey(
        "cases.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "scheme", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "value"],
                name="externalidentifier_unique_per_scheme",
                violation_error_message="Another person already has this number in this scheme.",
            )
        ]

    def __str__(self):
        return f"{IdentifierScheme(self.scheme).label} {self.value}"

    def clean(self):
        self.value = (self.value or "").strip()
        if not self.value:
            raise ValidationError({"value": "Give the identifier's value."})


class NationalityClaim(PublicModel):
    """A party's claim that the person is its national, and what the claim rests on."""

    person = models.ForeignKey(
        "cases.Person", on_delete=models.CASCADE, related_name="nationality_claims"
    )
    country = CountryField(help_text="The nationality claimed.")
    claimed_by = models.ForeignKey(
        "cases.Party",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who claims it (a state, or the person himself through his words).",
    )
    basis = models.TextField(blank=True, help_text="What the claim rests on (a law, a statement).")
    source = models.ForeignKey(
        "cases.Source", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "country", "id"]

    def __str__(self):
        return f"{self.country.name or self.country} claimed by {self.claimed_by}"
