"""Identity documents, external identifiers and nationality claims of a person."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

# Imported at the end of cases/models.py, once the base classes exist.
from cases.models import PublicModel


class DocumentKind(models.TextChoices):
    """What sort of identity document a person carried."""

    MILITARY_ID = "military_id", _("Military ID")
    PASSPORT = "passport", _("Passport")
    NATIONAL_ID = "national_id", _("National ID card")
    IDENTITY_DISC = "identity_disc", _("Identity disc or tag")
    OTHER = "other", _("Other")


class DocumentGenuineness(models.TextChoices):
    """Whether a document is genuine and his own, as far as is known."""

    GENUINE = "genuine", _("Genuine, his own")
    NOT_HIS_OWN = "not_his_own", _("Genuine, but not his own")
    FORGED = "forged", _("Forged")
    UNKNOWN = "unknown", _("Unknown")


class IdentifierScheme(models.TextChoices):
    """Who issued an external identifier."""

    ICRC = "icrc", _("ICRC / Central Tracing Agency")
    NATIONAL_INFORMATION_BUREAU = "nib", _("National information bureau")
    OTHER = "other", _("Other")


class IdentityDocument(PublicModel):
    """A document a person carried when captured: kind, issuer, number, name on it."""

    person = models.ForeignKey(
        "cases.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="identity_documents",
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=DocumentKind.choices)
    issuer = models.ForeignKey(
        "cases.Party",
        verbose_name=_("issuer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The party that issued it, when known as a party."),
    )
    issuer_country = CountryField(
        verbose_name=_("issuer country"), blank=True, help_text=_("The issuing country.")
    )
    number = models.CharField(
        verbose_name=_("number"), max_length=100, blank=True, help_text=_("Sensitive.")
    )
    name_on_document = models.CharField(
        verbose_name=_("name on document"),
        max_length=200,
        blank=True,
        help_text=_("The name as written on it. Sensitive."),
    )
    genuineness = models.CharField(
        verbose_name=_("genuineness"),
        max_length=16,
        choices=DocumentGenuineness.choices,
        default=DocumentGenuineness.UNKNOWN,
        help_text=_("Whether it is genuine and his own, as far as is known."),
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True, help_text=_("Sensitive."))
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "id"]
        verbose_name = _("identity document")
        verbose_name_plural = _("identity documents")

    def __str__(self):
        issuer = self.issuer.name if self.issuer_id else (self.issuer_country.name or "")
        kind = DocumentKind(self.kind).label if self.kind else "Document"
        return f"{kind} ({issuer})" if issuer else kind

    def clean(self):
        if self.issuer_id is None and not self.issuer_country:
            raise ValidationError(
                {"issuer": _("Name the issuer: a party, or the issuing country (or both).")}
            )


class ExternalIdentifier(PublicModel):
    """A number another system knows the person by (ICRC, a national information bureau)."""

    person = models.ForeignKey(
        "cases.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="external_identifiers",
    )
    scheme = models.CharField(
        verbose_name=_("scheme"), max_length=16, choices=IdentifierScheme.choices
    )
    value = models.CharField(verbose_name=_("value"), max_length=100)
    issued_by = models.ForeignKey(
        "cases.Party",
        verbose_name=_("issued by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The bureau or body that issued it, when known."),
    )
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "scheme", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scheme", "value"],
                name="externalidentifier_unique_per_scheme",
                violation_error_message=_("Another person already has this number in this scheme."),
            )
        ]
        verbose_name = _("external identifier")
        verbose_name_plural = _("external identifiers")

    def __str__(self):
        return f"{IdentifierScheme(self.scheme).label} {self.value}"

    def clean(self):
        self.value = (self.value or "").strip()
        if not self.value:
            raise ValidationError({"value": _("Give the identifier's value.")})


class NationalityClaim(PublicModel):
    """A party's claim that the person is its national, and what the claim rests on."""

    person = models.ForeignKey(
        "cases.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="nationality_claims",
    )
    country = CountryField(verbose_name=_("country"), help_text=_("The nationality claimed."))
    claimed_by = models.ForeignKey(
        "cases.Party",
        verbose_name=_("claimed by"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Who claims it (a state, or the person himself through his words)."),
    )
    basis = models.TextField(
        verbose_name=_("basis"),
        blank=True,
        help_text=_("What the claim rests on (a law, a statement)."),
    )
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        ordering = ["person_id", "country", "id"]
        verbose_name = _("nationality claim")
        verbose_name_plural = _("nationality claims")

    def __str__(self):
        return f"{self.country.name or self.country} claimed by {self.claimed_by}"
