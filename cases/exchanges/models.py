"""Exchanges, who is on their lists, and the handovers that move a person to another state."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_countries.fields import CountryField

from cases import choices


class ExchangeStatus(models.TextChoices):
    """Where an exchange stands."""

    PLANNED = "planned", _("Planned")
    AGREED = "agreed", _("Agreed")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


#: Allowed exchange transitions.
EXCHANGE_TRANSITIONS: dict[str, frozenset[str]] = {
    ExchangeStatus.PLANNED: frozenset({ExchangeStatus.AGREED, ExchangeStatus.CANCELLED}),
    ExchangeStatus.AGREED: frozenset({ExchangeStatus.IN_PROGRESS, ExchangeStatus.CANCELLED}),
    ExchangeStatus.IN_PROGRESS: frozenset({ExchangeStatus.COMPLETED, ExchangeStatus.CANCELLED}),
    ExchangeStatus.COMPLETED: frozenset(),
    ExchangeStatus.CANCELLED: frozenset(),
}
#: Exchange statuses in which a person on its list can be handed over.
HANDOVER_STATUSES = frozenset({ExchangeStatus.AGREED, ExchangeStatus.IN_PROGRESS})


class ListEntryState(models.TextChoices):
    """Where a person stands on an exchange's list."""

    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    EXCLUDED = "excluded", _("Excluded")
    HANDED_OVER = "handed_over", _("Handed over")


#: Allowed list-entry changes; ``handed_over`` is reached only by a handover.
LIST_ENTRY_TRANSITIONS: dict[str, frozenset[str]] = {
    ListEntryState.PROPOSED: frozenset({ListEntryState.ACCEPTED, ListEntryState.EXCLUDED}),
    ListEntryState.ACCEPTED: frozenset({ListEntryState.EXCLUDED, ListEntryState.PROPOSED}),
    ListEntryState.EXCLUDED: frozenset({ListEntryState.PROPOSED}),
    ListEntryState.HANDED_OVER: frozenset(),
}


class Exchange(models.Model):
    """An exchange of prisoners between two sides, often through a mediator."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        verbose_name=_("name"), max_length=200, unique=True, help_text=_("Name or reference.")
    )
    parties = models.ManyToManyField(
        "cases.Party",
        verbose_name=_("parties"),
        related_name="exchanges",
        help_text=_("The two sides."),
    )
    mediator = models.ForeignKey(
        "cases.Party",
        verbose_name=_("mediator"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchanges_mediated",
    )
    planned_on = models.DateField(verbose_name=_("planned on"), null=True, blank=True)
    planned_on_precision = models.CharField(
        verbose_name=_("planned on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=ExchangeStatus.choices,
        default=ExchangeStatus.PLANNED,
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchanges",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["-planned_on", "name"]

    def __str__(self):
        return self.name


class ExchangeListEntry(models.Model):
    """One case on an exchange's list: proposed, accepted, excluded or handed over."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    exchange = models.ForeignKey(
        Exchange, verbose_name=_("exchange"), on_delete=models.PROTECT, related_name="entries"
    )
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="exchange_entries",
    )
    state = models.CharField(
        verbose_name=pgettext_lazy("where it stands", "state"),
        max_length=16,
        choices=ListEntryState.choices,
        default=ListEntryState.PROPOSED,
    )
    reason = models.TextField(verbose_name=_("reason"), blank=True)
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchange_entries",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        verbose_name = _("exchange list entry")
        verbose_name_plural = _("exchange list entries")
        ordering = ["exchange_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "case"], name="exchange_entry_one_per_case")
        ]

    def __str__(self):
        return f"{self.case} on {self.exchange}: {self.get_state_display()}"


class Handover(models.Model):
    """A person handed over to another state's authority, executing a gated request.

    The reconfirmation taken there (a private interview at level ``reconfirmed``) and the
    statement that opened the consent gate are kept with it.
    """

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="handovers"
    )
    request = models.OneToOneField(
        "cases.Request",
        verbose_name=_("request"),
        on_delete=models.PROTECT,
        related_name="handover",
        help_text=_("The request the handover executes."),
    )
    exchange = models.ForeignKey(
        Exchange,
        verbose_name=_("exchange"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handovers",
    )
    occurred_on = models.DateField(verbose_name=_("occurred on"))
    occurred_on_precision = models.CharField(
        verbose_name=_("occurred on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    place_text = models.CharField(
        verbose_name=_("place (text)"),
        max_length=200,
        blank=True,
        help_text=_("Where it happened."),
    )
    place = models.ForeignKey(
        "cases.Place",
        verbose_name=_("place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handovers",
    )
    receiving_authority = models.ForeignKey(
        "cases.Party",
        verbose_name=_("receiving authority"),
        on_delete=models.PROTECT,
        related_name="handovers_received",
        help_text=_(
            "Who took him over: the receiving state's authority, or the ICRC or a "
            "mediator receiving him on a state's behalf."
        ),
    )
    receiving_state = models.ForeignKey(
        "cases.Party",
        verbose_name=_("receiving state"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handovers_received_for",
        help_text=_(
            "The state he was handed over to; required when the ICRC, another "
            "neutral body or the exchange's mediator received him on its behalf."
        ),
    )
    present_parties = models.ManyToManyField(
        "cases.Party",
        verbose_name=_("present parties"),
        blank=True,
        related_name="handovers_attended",
    )
    reconfirmation = models.OneToOneField(
        "cases.StatedIntention",
        verbose_name=_("reconfirmation"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handover_reconfirmed",
        help_text=_("The statement reconfirmed at the handover, when one was taken there."),
    )
    consent_statement = models.ForeignKey(
        "cases.StatedIntention",
        verbose_name=_("consent statement"),
        on_delete=models.PROTECT,
        related_name="handovers_opened",
        help_text=_("The statement that opened the consent gate."),
    )
    destination_country = CountryField(verbose_name=_("destination country"), blank=True)
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    source = models.ForeignKey(
        "cases.Source",
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="handovers",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        app_label = "cases"
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-occurred_on", "id"]
        constraints = [models.UniqueConstraint(fields=["case"], name="handover_one_per_case")]

    def __str__(self):
        return f"Handover of {self.case} on {self.occurred_on}"
