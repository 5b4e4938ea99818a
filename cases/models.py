"""The tracker's data: parties, persons, cases, intentions, requests, sources and the timeline."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django_countries.fields import CountryField

from cases import choices, consent
from cases.names import normalise_name

iso_3166_2 = RegexValidator(
    r"^[A-Z]{2}-[A-Z0-9]{1,3}$",
    "Enter an ISO 3166-2 subdivision code such as RU-KRS.",
)


class PublicModel(models.Model):
    """Abstract base: an internal integer key and a public UUID that cannot be enumerated."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class Source(PublicModel):
    """Where a fact comes from: a report, an interview, a statement."""

    title = models.CharField(max_length=500)
    publisher = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    published_on = models.DateField(null=True, blank=True)
    language = models.CharField(
        max_length=16, blank=True, help_text="BCP 47 code, e.g. ko, en, uk."
    )
    reliability = models.CharField(
        max_length=1, choices=choices.Reliability.choices, default=choices.Reliability.F
    )
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_on", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["title", "publisher", "published_on"], name="source_unique_title"
            )
        ]

    def __str__(self):
        parts = [self.publisher, str(self.published_on or "")]
        suffix = ", ".join(p for p in parts if p)
        return f"{self.title} ({suffix})" if suffix else self.title


class Party(PublicModel):
    """A state, force, agency, organisation, legislator or outlet involved in cases."""

    name = models.CharField(max_length=200, unique=True)
    short_name = models.CharField(max_length=50, blank=True)
    kind = models.CharField(max_length=32, choices=choices.PartyKind.choices)
    country = CountryField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    is_neutral = models.BooleanField(
        default=False,
        help_text="A neutral or humanitarian body (the ICRC, a protecting power) whose private "
        "interviews can verify a statement.",
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self):
        return self.name

    def root_id(self) -> int:
        """Return the id of the topmost party above this one (itself when it has no parent)."""
        party, seen = self, set()
        while party.parent_id is not None and party.parent_id not in seen:
            seen.add(party.pk)
            party = party.parent
        return party.pk


class Person(PublicModel):
    """A detained person: identity as far as it is known, service details, life status."""

    working_name = models.CharField(
        max_length=200, help_text="Name used in daily work; often a pseudonym."
    )
    sex = models.CharField(max_length=8, choices=choices.Sex.choices, default=choices.Sex.UNKNOWN)
    birth_date = models.DateField(null=True, blank=True)
    birth_date_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.DAY
    )
    birth_place = models.CharField(max_length=200, blank=True)
    nationalities = CountryField(multiple=True, blank=True)
    identity_confidence = models.CharField(
        max_length=16,
        choices=choices.IdentityConfidence.choices,
        default=choices.IdentityConfidence.UNKNOWN,
    )
    armed_force = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    power_depends_on = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The Power on which the person depends (GC III Art. 17, 122).",
    )
    rank = models.CharField(max_length=100, blank=True)
    unit = models.CharField(max_length=200, blank=True)
    service_number = models.CharField(max_length=100, blank=True)
    is_deceased = models.BooleanField(default=False)
    date_of_death = models.DateField(null=True, blank=True)
    family_links = models.TextField(blank=True, help_text="Sensitive.")
    # GC III Art. 17 and 122: the name as the detaining power must record it, the parents'
    # names, whom to inform and where to write. Sensitive ones: cases/security/sensitive.py.
    family_name = models.CharField(max_length=200, blank=True, help_text="Surname. Sensitive.")
    given_names = models.CharField(max_length=200, blank=True, help_text="Sensitive.")
    father_first_name = models.CharField(max_length=200, blank=True, help_text="Sensitive.")
    mother_maiden_name = models.CharField(max_length=200, blank=True, help_text="Sensitive.")
    person_to_inform = models.CharField(
        max_length=200, blank=True, help_text="Name of the person to be informed. Sensitive."
    )
    correspondence_address = models.TextField(
        blank=True, help_text="Address for correspondence. Sensitive."
    )
    internment_number = models.CharField(
        db_index=True,
        max_length=100,
        blank=True,
        help_text="The detaining power's capture or internment serial number.",
    )
    serving_under = models.ForeignKey(
        Party,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The party under whose command he served, when not his own force's.",
    )
    service_notes = models.TextField(
        blank=True,
        help_text='How he served, e.g. "under Russian command with Russian documents".',
    )
    medical_notes = models.TextField(blank=True, help_text="Sensitive.")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # A merged duplicate is a tombstone: kept (its events point at it) but hidden, pointing at
    # the person it was merged into (cases/duplicates/).
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        editable=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["working_name", "id"]
        verbose_name_plural = "persons"

    def __str__(self):
        return self.working_name

    def clean(self):
        if self.date_of_death and not self.is_deceased:
            raise ValidationError({"date_of_death": "A date of death needs 'deceased' ticked."})


class PersonName(models.Model):
    """One way of writing a person's name: value, script, romanisation, pseudonym or not."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="names")
    value = models.CharField(max_length=200)
    script = models.CharField(max_length=16, choices=choices.Script.choices)
    romanisation = models.CharField(
        max_length=32, choices=choices.Romanisation.choices, blank=True, default=""
    )
    is_pseudonym = models.BooleanField(default=False)
    search_key = models.CharField(max_length=200, editable=False, db_index=True)

    class Meta:
        ordering = ["person_id", "id"]
        constraints = [
            # A spelling may be both a true name and a pseudonym: a writer who may not read
            # true names can give a pseudonym that happens to equal one, and must get the
            # same answer as for any other spelling (else the answer tells him the true name).
            models.UniqueConstraint(
                fields=["person", "value", "is_pseudonym"], name="personname_unique_value_kind"
            )
        ]

    def __str__(self):
        return self.value

    def save(self, *args, **kwargs):
        self.search_key = normalise_name(self.value)
        super().save(*args, **kwargs)


class GatedStatusQuerySet(models.QuerySet):
    """A queryset that stores a gated status only with the consent gate's pass.

    ``update``, ``bulk_update`` and ``bulk_create`` refuse (``consent.ConsentNotAsked``) to
    write a status that moves a person across a border unless ``consent.require`` passed
    that move in the running transaction (see ``cases/consent.py``).
    """

    def update(self, **kwargs):
        if "status" in kwargs:
            consent.guard_update(self, kwargs["status"])
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, batch_size=None):
        objs = list(objs)
        if "status" in fields:
            consent.guard_rows(
                self.model, objs, using=self.db, new=False, how="QuerySet.bulk_update()"
            )
        with consent.rows_checked():
            rows = super().bulk_update(objs, fields, batch_size=batch_size)
        if "status" in fields:
            for obj in objs:
                obj._stored_status = obj.status
        return rows

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        consent.guard_rows(self.model, objs, using=self.db, new=True, how="QuerySet.bulk_create()")
        created = super().bulk_create(objs, *args, **kwargs)
        for obj in objs:
            obj._stored_status = obj.__dict__.get("status", consent.UNKNOWN)
        return created


class GatedStatusMixin:
    """Refuse to save a gated status without the consent gate's pass.

    The status the row has in the database is remembered when it is loaded, so that a save
    that keeps it, or writes a status no gate guards, costs no query.
    """

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._stored_status = instance.__dict__.get("status", consent.UNKNOWN)
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "status" in fields:
            self._stored_status = self.__dict__.get("status", consent.UNKNOWN)

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if "status" in self.__dict__ and (update_fields is None or "status" in update_fields):
            consent.guard_save(self, using=kwargs.get("using"))
        super().save(*args, **kwargs)
        self._stored_status = self.__dict__.get("status", consent.UNKNOWN)


def _guard_raw_save(sender, instance, raw, using, **kwargs):
    """Hold a raw save (``loaddata``), which skips ``save()``, to the same rule."""
    if raw:
        consent.guard_save(instance, using=using, how="a raw save (loaddata)", raw=True)


class Case(GatedStatusMixin, PublicModel):
    """One custody episode of one person."""

    reference = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}-\d{4}-\d{4,}$", "Use the form UA-2025-0001.")],
    )
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="cases")
    detaining_party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="cases_held")
    legal_status = models.CharField(
        max_length=32, choices=choices.LegalStatus.choices, default=choices.LegalStatus.UNKNOWN
    )
    capture_date = models.DateField(null=True, blank=True)
    capture_date_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.DAY
    )
    capture_place = models.CharField(max_length=200, blank=True)
    capture_place_code = models.CharField(
        max_length=6, blank=True, validators=[iso_3166_2], help_text="ISO 3166-2, e.g. RU-KRS."
    )
    detention_place = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        max_length=32, choices=choices.CaseStatus.choices, default=choices.CaseStatus.CAPTURED
    )
    assigned_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    priority = models.CharField(
        max_length=8, choices=choices.Priority.choices, default=choices.Priority.NORMAL
    )
    version = models.PositiveIntegerField(default=1)
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The timeline's per-case sequence; the services bump it under the case's row lock.
    last_event_seq = models.PositiveIntegerField(default=0, editable=False)

    # Current intention, denormalised by the services for cheap filtering.
    current_intention = models.ForeignKey(
        "StatedIntention",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    current_intention_option = models.CharField(
        max_length=16, choices=choices.IntentionOption.choices, blank=True, editable=False
    )
    current_intention_destination = CountryField(blank=True, editable=False)
    current_intention_verification = models.CharField(
        max_length=16, choices=choices.Verification.choices, blank=True, editable=False
    )
    current_intention_verified = models.BooleanField(default=False, editable=False)
    # Where he is held and when the next capture card is due, denormalised from his movements
    # and cards by their services (cases/places/services.py, cases/clocks.py).
    current_place = models.ForeignKey(
        "Place",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_held_here",
        editable=False,
    )
    capture_card_due_on = models.DateField(
        null=True,
        blank=True,
        editable=False,
        help_text="When the next capture card (GC III Art. 70) is due; empty when none is.",
    )
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = GatedStatusQuerySet.as_manager()

    class Meta:
        # Related lookups (``request.case``) and Django's internals use the guarded manager too.
        base_manager_name = "objects"
        ordering = ["reference"]
        permissions = [
            ("view_sensitive", "Can view sensitive fields"),
            ("export_cases", "Can export cases"),
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["current_intention_option"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["capture_date"]),
            models.Index(fields=["capture_card_due_on"], name="case_capture_card_due_on"),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_closed(self) -> bool:
        from cases.transitions import CASE_CLOSED_STATUSES

        return self.status in CASE_CLOSED_STATUSES


class StatedIntention(PublicModel):
    """What the person said they want, who heard it, how, and whether it still stands."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="intentions")
    option = models.CharField(max_length=16, choices=choices.IntentionOption.choices)
    destination_country = CountryField(blank=True)
    certainty = models.CharField(max_length=200, blank=True, help_text='e.g. "80% decided".')
    conditions = models.TextField(blank=True, help_text='e.g. "if jaw surgery is possible".')
    quote = models.TextField(blank=True, help_text="Verbatim words. Sensitive.")
    quote_language = models.CharField(max_length=16, blank=True)
    stated_on = models.DateField()
    stated_on_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.DAY
    )
    heard_by = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    heard_by_role = models.CharField(max_length=200, blank=True)
    setting = models.CharField(max_length=32, choices=choices.StatementSetting.choices)
    interpreter_supplied_by = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    present_parties = models.ManyToManyField(
        Party,
        blank=True,
        related_name="+",
        help_text="Everyone else present when the statement was made, besides who heard it.",
    )
    detaining_power_present = models.CharField(
        max_length=8,
        choices=choices.Presence.choices,
        default=choices.Presence.UNKNOWN,
        help_text="Whether staff of the detaining power were present.",
    )
    options_explained = models.BooleanField(
        default=False,
        help_text="The person was told his options and their consequences before he spoke.",
    )
    duress_signs = models.TextField(
        blank=True, help_text="Signs of duress observed; empty when none were. Sensitive."
    )
    verification = models.CharField(max_length=16, choices=choices.Verification.choices)
    state = models.CharField(
        max_length=16,
        choices=choices.IntentionState.choices,
        default=choices.IntentionState.ACTIVE,
    )
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="intentions"
    )
    version = models.PositiveIntegerField(default=1)
    recorded_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case_id", "stated_on", "id"]
        indexes = [models.Index(fields=["case", "state"])]

    def __str__(self):
        where = f" ({self.destination_country.name})" if self.destination_country else ""
        return f"{self.get_option_display()}{where}, {self.stated_on}"

    @property
    def is_verified(self) -> bool:
        return self.verification in choices.VERIFIED_LEVELS

    def clean(self):
        if self.option == choices.IntentionOption.THIRD_STATE and not self.destination_country:
            raise ValidationError(
                {"destination_country": "A transfer to a third state needs a destination."}
            )
        if (
            self.option in {choices.IntentionOption.UNDECIDED, choices.IntentionOption.DECLINED}
            and self.destination_country
        ):
            raise ValidationError(
                {"destination_country": "Leave the destination empty for this option."}
            )


class Request(GatedStatusMixin, PublicModel):
    """Something asked of a party for the person, and where it stands."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=32, choices=choices.RequestKind.choices)
    requested_by = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="requests_made"
    )
    addressed_to = models.ForeignKey(
        Party, on_delete=models.PROTECT, related_name="requests_received"
    )
    destination_country = CountryField(blank=True)
    legal_basis = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=choices.RequestStatus.choices, default=choices.RequestStatus.DRAFT
    )
    filed_on = models.DateField(null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    intention = models.ForeignKey(
        StatedIntention, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="requests"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = GatedStatusQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["case_id", "created_at", "id"]
        indexes = [models.Index(fields=["kind", "status"])]

    def __str__(self):
        where = f" to {self.destination_country.name}" if self.destination_country else ""
        return f"{self.get_kind_display()}{where} ({self.get_status_display()})"

    def clean(self):
        if self.kind == choices.RequestKind.THIRD_STATE_TRANSFER and not self.destination_country:
            raise ValidationError(
                {"destination_country": "A transfer to a third state needs a destination."}
            )


models.signals.pre_save.connect(_guard_raw_save, sender=Case, dispatch_uid="consent_raw_case")
models.signals.pre_save.connect(_guard_raw_save, sender=Request, dispatch_uid="consent_raw_request")


class RiskAssessment(PublicModel):
    """An assessment of the risk of harm to the person or his family should he be returned."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="risk_assessments")
    destination_country = CountryField(
        blank=True, help_text="The state the return would be to; empty for his own state."
    )
    level = models.CharField(max_length=16, choices=choices.RiskLevel.choices)
    persecution = models.BooleanField(default=False, help_text="Risk of persecution.")
    torture = models.BooleanField(default=False, help_text="Risk of torture or ill-treatment.")
    reprisal = models.BooleanField(default=False, help_text="Risk of reprisal.")
    family_at_risk = models.BooleanField(default=False, help_text="The risk extends to his family.")
    basis = models.TextField(help_text="What the assessment rests on. Sensitive.")
    assessed_by = models.ForeignKey(
        Party, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assessor = models.CharField(max_length=200, blank=True, help_text="Who assessed it.")
    assessed_on = models.DateField()
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="risk_assessments"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "assessed_on", "id"]

    def __str__(self):
        where = self.destination_country.name if self.destination_country else "own state"
        return f"{self.get_level_display()} risk on return ({where}), {self.assessed_on}"

    def clean(self):
        if not (self.basis or "").strip():
            raise ValidationError({"basis": "Say what the assessment rests on."})
        if self.assessed_by_id is None and not (self.assessor or "").strip():
            raise ValidationError({"assessor": "Say who assessed the risk."})


class Position(PublicModel):
    """A party's stance on a request, as of a date, with its source."""

    request = models.ForeignKey(Request, on_delete=models.PROTECT, related_name="positions")
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="positions")
    stance = models.CharField(max_length=16, choices=choices.Stance.choices)
    conditions = models.TextField(blank=True)
    stated_on = models.DateField()
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="positions"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "stated_on", "id"]

    def __str__(self):
        return f"{self.party}: {self.get_stance_display()} ({self.stated_on})"


class Occurrence(PublicModel):
    """Something that happened in the world: a capture, an ICRC visit, an exchange exclusion."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="occurrences")
    kind = models.CharField(max_length=32, choices=choices.OccurrenceKind.choices)
    occurred_on = models.DateField()
    occurred_on_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.DAY
    )
    description = models.TextField()
    place = models.CharField(max_length=200, blank=True)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="occurrences"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "occurred_on", "id"]

    def __str__(self):
        return f"{self.get_kind_display()}, {self.occurred_on}"


class Note(PublicModel):
    """A case officer's note on a case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="case_notes"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case_id", "created_at", "id"]

    def __str__(self):
        return self.body[:60]


class AppendOnlyQuerySet(models.QuerySet):
    """A queryset that refuses bulk updates and deletes."""

    def update(self, **kwargs):
        raise TypeError("Timeline events are append-only; they cannot be updated.")

    def delete(self):
        raise TypeError("Timeline events are append-only; they cannot be deleted.")


class TimelineEvent(models.Model):
    """One entry of the append-only history: what changed, when, who, why, and from where."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    # Gapless per case; consumers apply one case's events in this order.
    case_seq = models.PositiveIntegerField(null=True, blank=True)
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    # Writing transaction's id; set by a trigger on PostgreSQL, empty on SQLite.
    xact_id = models.BigIntegerField(null=True, blank=True, editable=False)
    kind = models.CharField(max_length=40, choices=choices.EventKind.choices)
    occurred_at = models.DateTimeField(help_text="When it happened in the world.")
    occurred_precision = models.CharField(
        max_length=16, choices=choices.DatePrecision.choices, default=choices.DatePrecision.EXACT
    )
    # Set before the insert, not by the insert: the hash covers it (cases/timeline/chain.py).
    recorded_at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="Who acted, as shown: username, token, command."
    )
    channel = models.CharField(
        max_length=16, choices=choices.Channel.choices, default=choices.Channel.SYSTEM
    )
    summary = models.CharField(max_length=500)
    changes = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    subject_type = models.CharField(max_length=32)
    subject_uuid = models.UUIDField()
    subject_version = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The subject's version after the change; null for subjects without versions "
        "(positions, occurrences, notes, risk assessments).",
    )
    # Built by cases/timeline/representations.py from the API's serializers.
    object = models.JSONField(
        null=True,
        blank=True,
        help_text="The subject as its API resource shows it after the change (without 'url'), "
        "sensitive values withheld as there; null before events carried it and on a purge.",
    )
    # Tamper evidence: SHA-256 over the content and the predecessor's hash in the same chain.
    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Hashed with the content and never shown, so a hash is no test of a withheld value.
    hash_salt = models.CharField(max_length=32, blank=True, default="", editable=False)
    hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # Which document format the hash is taken over (cases/timeline/chain.py); 1 for events
    # written before the subject's version and representation were hashed. The database has
    # the default too, so a row written in SQL (an import, a repair) is format 1 like the old.
    chain_format = models.PositiveSmallIntegerField(default=1, db_default=1, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "case_seq"], name="event_unique_case_seq"),
        ]
        indexes = [
            models.Index(fields=["xact_id", "id"], name="event_feed_order"),
            models.Index(fields=["kind"]),
            models.Index(fields=["subject_uuid"]),
            # The head of the global chain (events with neither case nor person).
            models.Index(
                fields=["id"],
                condition=models.Q(case__isnull=True, person__isnull=True),
                name="event_global_chain",
            ),
        ]

    def __str__(self):
        return f"{self.kind}: {self.summary}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Timeline events are append-only; they cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Timeline events are append-only; they cannot be deleted.")


class AccessChannel(models.TextChoices):
    """Where a sensitive value was read."""

    API = "api", "API"
    PAGE = "page", "Page"
    EXPORT = "export", "Export"
    ADMIN = "admin", "Admin"
    WEBHOOK = "webhook", "Webhook"


class AccessLogQuerySet(models.QuerySet):
    """A queryset that refuses bulk updates and deletes of access-log entries."""

    def update(self, **kwargs):
        raise TypeError("The access log is append-only; entries cannot be updated.")

    def delete(self):
        raise TypeError("The access log is append-only; entries cannot be deleted.")


class AccessLogEntry(models.Model):
    """One object whose sensitive fields one response showed: who, what, when, where from.

    A response that shows sensitive values of several objects appends one entry per object,
    all in one insert and sharing ``response_id``.
    """

    response_id = models.UUIDField(db_index=True, editable=False)
    at = models.DateTimeField(default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # Kept as text too: the account may be renamed, the entry must still say who it was.
    username = models.CharField(max_length=150, blank=True, editable=False)
    token_label = models.CharField(max_length=100, blank=True, editable=False)
    channel = models.CharField(max_length=8, choices=AccessChannel.choices, editable=False)
    path = models.CharField(
        max_length=500, blank=True, editable=False, help_text="Request path, no query string."
    )
    object_type = models.CharField(max_length=32, editable=False)
    object_uuid = models.UUIDField(null=True, blank=True, editable=False)
    fields = models.JSONField(
        default=list, blank=True, editable=False, help_text="Sensitive fields shown."
    )
    extra = models.JSONField(
        default=dict, blank=True, editable=False, help_text="Exports: filter and row count."
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access-log entry"
        verbose_name_plural = "access log"
        indexes = [
            models.Index(fields=["object_uuid", "at"], name="accesslog_object_at"),
            models.Index(fields=["user", "at"], name="accesslog_user_at"),
            models.Index(fields=["channel", "at"], name="accesslog_channel_at"),
            models.Index(fields=["at"], name="accesslog_at"),
        ]

    def __str__(self):
        return f"{self.username or '-'} read {self.object_type} {self.object_uuid} ({self.channel})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("The access log is append-only; entries cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The access log is append-only; entries cannot be deleted.")


class IdempotencyKey(models.Model):
    """An API write sent with an ``Idempotency-Key``: what was asked and the answer to replay.

    One row per account and key (cases/api/idempotency.py). While the first request runs,
    ``locked_until`` is set and ``status_code`` empty; once answered, the answer is kept
    until ``expires_at`` to be replayed to a retry. The answer may name people, so the row
    lives no longer than its time to live and is never shown in the admin.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", editable=False
    )
    key = models.CharField(max_length=255)
    #: SHA-256 of the method, path, query, If-Match and canonical JSON body.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=2000)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    #: Set while the first request is being processed; a marker past it was abandoned.
    locked_until = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)

    class Meta:
        verbose_name = "idempotency key"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expires_at")]

    def __str__(self):
        return f"{self.method} {self.path} ({self.key})"


class RateLimitCounter(models.Model):
    """The API requests one credential made in its current window of one rate-limit scope.

    One row per scope, credential and window length (``ratelimit:read:token-12:60s``), reused
    from window to window: the row carries the end of the window it counts, and the first
    request after that end starts it again at one (cases/api/counters.py). On PostgreSQL the
    table is UNLOGGED (migration 0029): its writes skip the write-ahead log, so counting commits
    without waiting for a disk flush; a crash empties it, which only restarts the windows.
    """

    key = models.CharField(max_length=255, primary_key=True)
    #: Unix time (whole seconds) at which the counted window ends.
    window_end = models.BigIntegerField()
    count = models.IntegerField()

    class Meta:
        verbose_name = "rate-limit counter"

    def __str__(self):
        return f"{self.key}: {self.count} until {self.window_end}"


from cases.duplicates.models import PersonMerge  # noqa: E402,F401
from cases.identity.models import (  # noqa: E402,F401
    ExternalIdentifier,
    IdentityDocument,
    NationalityClaim,
)
from cases.imports.models import ImportMapping, ImportRun  # noqa: E402,F401
from cases.notifications.models import Notification, NotificationSettings  # noqa: E402,F401
from cases.places.models import (  # noqa: E402,F401
    CaptureCard,
    Movement,
    Place,
)
from cases.preferences import AccountPreferences  # noqa: E402,F401
from cases.security.tokens import ApiToken  # noqa: E402,F401
from cases.webhooks.models import (  # noqa: E402,F401
    WebhookAttempt,
    WebhookRedelivery,
    WebhookSubscription,
)
