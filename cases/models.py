"""The tracker's data: parties, persons, cases, intentions, requests, sources and the timeline."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from cases import choices, consent
from cases.names import normalise_name

iso_3166_2 = RegexValidator(
    r"^[A-Z]{2}-[A-Z0-9]{1,3}$",
    "Enter an ISO 3166-2 subdivision code such as RU-KRS.",
)


class PublicModel(models.Model):
    """Abstract base: an internal integer key and a public UUID that cannot be enumerated."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)

    class Meta:
        abstract = True


class Source(PublicModel):
    """Where a fact comes from: a report, an interview, a statement."""

    title = models.CharField(verbose_name=_("title"), max_length=500)
    publisher = models.CharField(verbose_name=_("publisher"), max_length=200, blank=True)
    url = models.URLField(verbose_name=_("url"), max_length=1000, blank=True)
    published_on = models.DateField(verbose_name=_("published on"), null=True, blank=True)
    language = models.CharField(
        verbose_name=_("language"),
        max_length=16,
        blank=True,
        help_text=_("BCP 47 code, e.g. ko, en, uk."),
    )
    reliability = models.CharField(
        verbose_name=_("reliability"),
        max_length=1,
        choices=choices.Reliability.choices,
        default=choices.Reliability.F,
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-published_on", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["title", "publisher", "published_on"], name="source_unique_title"
            )
        ]
        verbose_name = _("source")
        verbose_name_plural = _("sources")

    def __str__(self):
        parts = [self.publisher, str(self.published_on or "")]
        suffix = ", ".join(p for p in parts if p)
        return f"{self.title} ({suffix})" if suffix else self.title


class Party(PublicModel):
    """A state, force, agency, organisation, legislator or outlet involved in cases."""

    name = models.CharField(verbose_name=_("name"), max_length=200, unique=True)
    short_name = models.CharField(verbose_name=_("short name"), max_length=50, blank=True)
    kind = models.CharField(
        verbose_name=_("kind"), max_length=32, choices=choices.PartyKind.choices
    )
    country = CountryField(verbose_name=_("country"), blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    is_neutral = models.BooleanField(
        verbose_name=_("is neutral"),
        default=False,
        help_text=_(
            "A neutral or humanitarian body (the ICRC, a protecting power) whose private "
            "interviews can verify a statement."
        ),
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("parties")
        verbose_name = _("party")

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
        verbose_name=_("working name"),
        max_length=200,
        help_text=_("Name used in daily work; often a pseudonym."),
    )
    sex = models.CharField(
        verbose_name=_("sex"),
        max_length=8,
        choices=choices.Sex.choices,
        default=choices.Sex.UNKNOWN,
    )
    birth_date = models.DateField(verbose_name=_("birth date"), null=True, blank=True)
    birth_date_precision = models.CharField(
        verbose_name=_("birth date precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    birth_place = models.CharField(verbose_name=_("birth place"), max_length=200, blank=True)
    nationalities = CountryField(verbose_name=_("nationalities"), multiple=True, blank=True)
    identity_confidence = models.CharField(
        verbose_name=_("identity confidence"),
        max_length=16,
        choices=choices.IdentityConfidence.choices,
        default=choices.IdentityConfidence.UNKNOWN,
    )
    armed_force = models.ForeignKey(
        Party,
        verbose_name=_("armed force"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    power_depends_on = models.ForeignKey(
        Party,
        verbose_name=_("power depends on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The Power on which the person depends (GC III Art. 17, 122)."),
    )
    rank = models.CharField(verbose_name=_("rank"), max_length=100, blank=True)
    unit = models.CharField(verbose_name=_("unit"), max_length=200, blank=True)
    service_number = models.CharField(verbose_name=_("service number"), max_length=100, blank=True)
    is_deceased = models.BooleanField(verbose_name=_("is deceased"), default=False)
    date_of_death = models.DateField(verbose_name=_("date of death"), null=True, blank=True)
    family_links = models.TextField(
        verbose_name=_("family links"), blank=True, help_text=_("Sensitive.")
    )
    # GC III Art. 17 and 122: the name as the detaining power must record it, the parents'
    # names, whom to inform and where to write. Sensitive ones: cases/security/sensitive.py.
    family_name = models.CharField(
        verbose_name=_("family name"),
        max_length=200,
        blank=True,
        help_text=_("Surname. Sensitive."),
    )
    given_names = models.CharField(
        verbose_name=_("given names"), max_length=200, blank=True, help_text=_("Sensitive.")
    )
    father_first_name = models.CharField(
        verbose_name=_("father first name"), max_length=200, blank=True, help_text=_("Sensitive.")
    )
    mother_maiden_name = models.CharField(
        verbose_name=_("mother maiden name"), max_length=200, blank=True, help_text=_("Sensitive.")
    )
    person_to_inform = models.CharField(
        verbose_name=_("person to inform"),
        max_length=200,
        blank=True,
        help_text=_("Name of the person to be informed. Sensitive."),
    )
    correspondence_address = models.TextField(
        verbose_name=_("correspondence address"),
        blank=True,
        help_text=_("Address for correspondence. Sensitive."),
    )
    internment_number = models.CharField(
        verbose_name=_("internment number"),
        db_index=True,
        max_length=100,
        blank=True,
        help_text=_("The detaining power's capture or internment serial number."),
    )
    serving_under = models.ForeignKey(
        Party,
        verbose_name=_("serving under"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The party under whose command he served, when not his own force's."),
    )
    service_notes = models.TextField(
        verbose_name=_("service notes"),
        blank=True,
        help_text=_('How he served, e.g. "under Russian command with Russian documents".'),
    )
    medical_notes = models.TextField(
        verbose_name=_("medical notes"), blank=True, help_text=_("Sensitive.")
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True)
    # A merged duplicate is a tombstone: kept (its events point at it) but hidden, pointing at
    # the person it was merged into (cases/duplicates/).
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
        editable=False,
    )
    merged_at = models.DateTimeField(
        verbose_name=_("merged at"), null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["working_name", "id"]
        verbose_name_plural = _("persons")
        verbose_name = _("person")

    def __str__(self):
        return self.working_name

    def clean(self):
        if self.date_of_death and not self.is_deceased:
            raise ValidationError({"date_of_death": _("A date of death needs 'deceased' ticked.")})


class PersonName(models.Model):
    """One way of writing a person's name: value, script, romanisation, pseudonym or not."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="names"
    )
    value = models.CharField(verbose_name=_("value"), max_length=200)
    script = models.CharField(
        verbose_name=_("script"), max_length=16, choices=choices.Script.choices
    )
    romanisation = models.CharField(
        verbose_name=_("romanisation"),
        max_length=32,
        choices=choices.Romanisation.choices,
        blank=True,
        default="",
    )
    is_pseudonym = models.BooleanField(verbose_name=_("is pseudonym"), default=False)
    search_key = models.CharField(
        verbose_name=_("search key"), max_length=200, editable=False, db_index=True
    )

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
        verbose_name = _("person name")
        verbose_name_plural = _("person names")

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
        verbose_name=_("reference"),
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{2}-\d{4}-\d{4,}$", "Use the form UA-2025-0001.")],
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="cases"
    )
    detaining_party = models.ForeignKey(
        Party,
        verbose_name=_("detaining party"),
        on_delete=models.PROTECT,
        related_name="cases_held",
    )
    legal_status = models.CharField(
        verbose_name=_("legal status"),
        max_length=32,
        choices=choices.LegalStatus.choices,
        default=choices.LegalStatus.UNKNOWN,
    )
    capture_date = models.DateField(verbose_name=_("capture date"), null=True, blank=True)
    capture_date_precision = models.CharField(
        verbose_name=_("capture date precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    capture_place = models.CharField(verbose_name=_("capture place"), max_length=200, blank=True)
    capture_place_code = models.CharField(
        verbose_name=_("capture place code"),
        max_length=6,
        blank=True,
        validators=[iso_3166_2],
        help_text=_("ISO 3166-2, e.g. RU-KRS."),
    )
    detention_place = models.CharField(
        verbose_name=_("detention place"), max_length=200, blank=True
    )
    status = models.CharField(
        verbose_name=_("status"),
        max_length=32,
        choices=choices.CaseStatus.choices,
        default=choices.CaseStatus.CAPTURED,
    )
    assigned_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    priority = models.CharField(
        verbose_name=_("priority"),
        max_length=8,
        choices=choices.Priority.choices,
        default=choices.Priority.NORMAL,
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    opened_at = models.DateTimeField(verbose_name=_("opened at"), auto_now_add=True)
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)
    released_to = CountryField(
        verbose_name=_("released to"),
        blank=True,
        help_text=_("For a released case: the country he was released to."),
    )
    released_to_place = models.CharField(
        verbose_name=_("released to (place)"),
        max_length=200,
        blank=True,
        help_text=_("For a released case: where, as far as known."),
    )
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    # The timeline's per-case sequence; the services bump it under the case's row lock.
    last_event_seq = models.PositiveIntegerField(
        verbose_name=_("last event seq"), default=0, editable=False
    )

    # Current intention, denormalised by the services for cheap filtering.
    current_intention = models.ForeignKey(
        "StatedIntention",
        verbose_name=_("current intention"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    current_intention_option = models.CharField(
        verbose_name=_("current intention option"),
        max_length=16,
        choices=choices.IntentionOption.choices,
        blank=True,
        editable=False,
    )
    current_intention_destination = CountryField(
        verbose_name=_("current intention destination"), blank=True, editable=False
    )
    current_intention_verification = models.CharField(
        verbose_name=_("current intention verification"),
        max_length=16,
        choices=choices.Verification.choices,
        blank=True,
        editable=False,
    )
    current_intention_verified = models.BooleanField(
        verbose_name=_("current intention verified"), default=False, editable=False
    )
    # Where he is held and when the next capture card is due, denormalised from his movements
    # and cards by their services (cases/places/services.py, cases/clocks.py).
    current_place = models.ForeignKey(
        "Place",
        verbose_name=_("current place"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases_held_here",
        editable=False,
    )
    capture_card_due_on = models.DateField(
        verbose_name=_("capture card due on"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the next capture card (GC III Art. 70) is due; empty when none is."),
    )
    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True)

    objects = GatedStatusQuerySet.as_manager()

    class Meta:
        # Related lookups (``request.case``) and Django's internals use the guarded manager too.
        base_manager_name = "objects"
        ordering = ["reference"]
        permissions = [
            # Stored English; translated where shown (cases/admin/accounts.py).
            ("view_sensitive", gettext_noop("Can view sensitive fields")),
            ("export_cases", gettext_noop("Can export cases")),
        ]
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["current_intention_option"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["capture_date"]),
            models.Index(fields=["capture_card_due_on"], name="case_capture_card_due_on"),
        ]
        verbose_name = _("case")
        verbose_name_plural = _("cases")

    def __str__(self):
        return self.reference

    @property
    def is_closed(self) -> bool:
        from cases.transitions import CASE_CLOSED_STATUSES

        return self.status in CASE_CLOSED_STATUSES


class StatedIntention(PublicModel):
    """What the person said they want, who heard it, how, and whether it still stands."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="intentions"
    )
    option = models.CharField(
        verbose_name=_("option"), max_length=16, choices=choices.IntentionOption.choices
    )
    destination_country = CountryField(verbose_name=_("destination country"), blank=True)
    certainty = models.CharField(
        verbose_name=_("certainty"),
        max_length=200,
        blank=True,
        # xgettext:no-python-format
        help_text=_('e.g. "80% decided".'),
    )
    conditions = models.TextField(
        verbose_name=_("conditions"), blank=True, help_text=_('e.g. "if jaw surgery is possible".')
    )
    quote = models.TextField(
        verbose_name=_("quote"), blank=True, help_text=_("Verbatim words. Sensitive.")
    )
    quote_language = models.CharField(verbose_name=_("quote language"), max_length=16, blank=True)
    stated_on = models.DateField(verbose_name=_("stated on"))
    stated_on_precision = models.CharField(
        verbose_name=_("stated on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    heard_by = models.ForeignKey(
        Party,
        verbose_name=_("heard by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    heard_by_role = models.CharField(verbose_name=_("heard by role"), max_length=200, blank=True)
    setting = models.CharField(
        verbose_name=_("setting"), max_length=32, choices=choices.StatementSetting.choices
    )
    interpreter_supplied_by = models.ForeignKey(
        Party,
        verbose_name=_("interpreter supplied by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    present_parties = models.ManyToManyField(
        Party,
        verbose_name=_("present parties"),
        blank=True,
        related_name="+",
        help_text=_("Everyone else present when the statement was made, besides who heard it."),
    )
    detaining_power_present = models.CharField(
        verbose_name=_("detaining power present"),
        max_length=8,
        choices=choices.Presence.choices,
        default=choices.Presence.UNKNOWN,
        help_text=_("Whether staff of the detaining power were present."),
    )
    options_explained = models.BooleanField(
        verbose_name=_("options explained"),
        default=False,
        help_text=_("The person was told his options and their consequences before he spoke."),
    )
    duress_signs = models.TextField(
        verbose_name=_("duress signs"),
        blank=True,
        help_text=_("Signs of duress observed; empty when none were. Sensitive."),
    )
    verification = models.CharField(
        verbose_name=_("verification"), max_length=16, choices=choices.Verification.choices
    )
    state = models.CharField(
        verbose_name=_("state"),
        max_length=16,
        choices=choices.IntentionState.choices,
        default=choices.IntentionState.ACTIVE,
    )
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    interview = models.ForeignKey(
        "cases.Interview",
        verbose_name=_("private interview"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="statements",
        help_text=_(
            "The private interview during a visit in which the statement was taken; "
            "'verified' needs one."
        ),
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="intentions",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)
    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True)

    class Meta:
        ordering = ["case_id", "stated_on", "id"]
        indexes = [models.Index(fields=["case", "state"])]
        verbose_name = _("stated intention")
        verbose_name_plural = _("stated intentions")

    def __str__(self):
        where = f" ({self.destination_country.name})" if self.destination_country else ""
        return f"{self.get_option_display()}{where}, {self.stated_on}"

    @property
    def is_verified(self) -> bool:
        return self.verification in choices.VERIFIED_LEVELS

    def clean(self):
        if self.option == choices.IntentionOption.THIRD_STATE and not self.destination_country:
            raise ValidationError(
                {"destination_country": _("A transfer to a third state needs a destination.")}
            )
        if (
            self.option in {choices.IntentionOption.UNDECIDED, choices.IntentionOption.DECLINED}
            and self.destination_country
        ):
            raise ValidationError(
                {"destination_country": _("Leave the destination empty for this option.")}
            )


class Request(GatedStatusMixin, PublicModel):
    """Something asked of a party for the person, and where it stands."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="requests"
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=32, choices=choices.RequestKind.choices
    )
    requested_by = models.ForeignKey(
        Party,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests_made",
    )
    addressed_to = models.ForeignKey(
        Party,
        verbose_name=_("addressed to"),
        on_delete=models.PROTECT,
        related_name="requests_received",
    )
    destination_country = CountryField(verbose_name=_("destination country"), blank=True)
    legal_basis = models.CharField(verbose_name=_("legal basis"), max_length=300, blank=True)
    status = models.CharField(
        verbose_name=_("status"),
        max_length=16,
        choices=choices.RequestStatus.choices,
        default=choices.RequestStatus.DRAFT,
    )
    filed_on = models.DateField(verbose_name=_("filed on"), null=True, blank=True)
    decided_on = models.DateField(verbose_name=_("decided on"), null=True, blank=True)
    decision_reason = models.TextField(verbose_name=_("decision reason"), blank=True)
    intention = models.ForeignKey(
        StatedIntention,
        verbose_name=_("intention"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)
    archived_at = models.DateTimeField(verbose_name=_("archived at"), null=True, blank=True)

    objects = GatedStatusQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["case_id", "created_at", "id"]
        indexes = [models.Index(fields=["kind", "status"])]
        verbose_name = _("request")
        verbose_name_plural = _("requests")

    def __str__(self):
        where = f" to {self.destination_country.name}" if self.destination_country else ""
        return f"{self.get_kind_display()}{where} ({self.get_status_display()})"

    def clean(self):
        if self.kind == choices.RequestKind.THIRD_STATE_TRANSFER and not self.destination_country:
            raise ValidationError(
                {"destination_country": _("A transfer to a third state needs a destination.")}
            )


models.signals.pre_save.connect(_guard_raw_save, sender=Case, dispatch_uid="consent_raw_case")
models.signals.pre_save.connect(_guard_raw_save, sender=Request, dispatch_uid="consent_raw_request")


class RiskAssessment(PublicModel):
    """An assessment of the risk of harm to the person or his family should he be returned."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="risk_assessments"
    )
    destination_country = CountryField(
        verbose_name=_("destination country"),
        blank=True,
        help_text=_("The state the return would be to; empty for his own state."),
    )
    level = models.CharField(
        verbose_name=_("level"), max_length=16, choices=choices.RiskLevel.choices
    )
    persecution = models.BooleanField(
        verbose_name=_("persecution"), default=False, help_text=_("Risk of persecution.")
    )
    torture = models.BooleanField(
        verbose_name=_("torture"), default=False, help_text=_("Risk of torture or ill-treatment.")
    )
    reprisal = models.BooleanField(
        verbose_name=_("reprisal"), default=False, help_text=_("Risk of reprisal.")
    )
    family_at_risk = models.BooleanField(
        verbose_name=_("family at risk"),
        default=False,
        help_text=_("The risk extends to his family."),
    )
    basis = models.TextField(
        verbose_name=_("basis"), help_text=_("What the assessment rests on. Sensitive.")
    )
    assessed_by = models.ForeignKey(
        Party,
        verbose_name=_("assessed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assessor = models.CharField(
        verbose_name=_("assessor"), max_length=200, blank=True, help_text=_("Who assessed it.")
    )
    assessed_on = models.DateField(verbose_name=_("assessed on"))
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="risk_assessments",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "assessed_on", "id"]
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")

    def __str__(self):
        where = self.destination_country.name if self.destination_country else gettext("own state")
        return gettext("%(level)s risk on return (%(where)s), %(date)s") % {
            "level": self.get_level_display(),
            "where": where,
            "date": self.assessed_on,
        }

    def clean(self):
        if not (self.basis or "").strip():
            raise ValidationError({"basis": _("Say what the assessment rests on.")})
        if self.assessed_by_id is None and not (self.assessor or "").strip():
            raise ValidationError({"assessor": _("Say who assessed the risk.")})


class Position(PublicModel):
    """A party's stance on a request, as of a date, with its source."""

    request = models.ForeignKey(
        Request, verbose_name=_("request"), on_delete=models.PROTECT, related_name="positions"
    )
    party = models.ForeignKey(
        Party, verbose_name=_("party"), on_delete=models.PROTECT, related_name="positions"
    )
    stance = models.CharField(
        verbose_name=_("stance"), max_length=16, choices=choices.Stance.choices
    )
    conditions = models.TextField(verbose_name=_("conditions"), blank=True)
    stated_on = models.DateField(verbose_name=_("stated on"))
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="positions",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["request_id", "stated_on", "id"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")

    def __str__(self):
        return f"{self.party}: {self.get_stance_display()} ({self.stated_on})"


class Occurrence(PublicModel):
    """Something that happened in the world: a capture, an ICRC visit, an exchange exclusion."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="occurrences"
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=32, choices=choices.OccurrenceKind.choices
    )
    occurred_on = models.DateField(verbose_name=_("occurred on"))
    occurred_on_precision = models.CharField(
        verbose_name=_("occurred on precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.DAY,
    )
    description = models.TextField(verbose_name=_("description"))
    place = models.CharField(verbose_name=_("place"), max_length=200, blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="occurrences",
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "occurred_on", "id"]
        verbose_name = _("occurrence")
        verbose_name_plural = _("occurrences")

    def __str__(self):
        return f"{self.get_kind_display()}, {self.occurred_on}"


class Note(PublicModel):
    """A case officer's note on a case."""

    case = models.ForeignKey(
        Case, verbose_name=_("case"), on_delete=models.PROTECT, related_name="notes"
    )
    body = models.TextField(verbose_name=_("body"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_notes",
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["case_id", "created_at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

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

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    # Gapless per case; consumers apply one case's events in this order.
    case_seq = models.PositiveIntegerField(verbose_name=_("case seq"), null=True, blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    # Writing transaction's id; set by a trigger on PostgreSQL, empty on SQLite.
    xact_id = models.BigIntegerField(
        verbose_name=_("xact id"), null=True, blank=True, editable=False
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=40, choices=choices.EventKind.choices
    )
    occurred_at = models.DateTimeField(
        verbose_name=_("occurred at"), help_text=_("When it happened in the world.")
    )
    occurred_precision = models.CharField(
        verbose_name=_("occurred precision"),
        max_length=16,
        choices=choices.DatePrecision.choices,
        default=choices.DatePrecision.EXACT,
    )
    # Set before the insert, not by the insert: the hash covers it (cases/timeline/chain.py).
    recorded_at = models.DateTimeField(
        verbose_name=_("recorded at"), default=timezone.now, editable=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_label = models.CharField(
        verbose_name=_("actor label"),
        max_length=200,
        blank=True,
        help_text=_("Who acted, as shown: username, token, command."),
    )
    channel = models.CharField(
        verbose_name=_("channel"),
        max_length=16,
        choices=choices.Channel.choices,
        default=choices.Channel.SYSTEM,
    )
    summary = models.CharField(verbose_name=_("summary"), max_length=500)
    changes = models.JSONField(verbose_name=_("changes"), default=dict, blank=True)
    reason = models.TextField(verbose_name=_("reason"), blank=True)
    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
    )
    subject_type = models.CharField(verbose_name=_("subject type"), max_length=32)
    subject_uuid = models.UUIDField(verbose_name=_("subject uuid"))
    subject_version = models.PositiveIntegerField(
        verbose_name=_("subject version"),
        null=True,
        blank=True,
        help_text=_(
            "The subject's version after the change; null for subjects without versions "
            "(positions, occurrences, notes, risk assessments)."
        ),
    )
    # Built by cases/timeline/representations.py from the API's serializers.
    object = models.JSONField(
        verbose_name=_("object"),
        null=True,
        blank=True,
        help_text=_(
            "The subject as its API resource shows it after the change (without 'url'), "
            "sensitive values withheld as there; null before events carried it and on a purge."
        ),
    )
    # Tamper evidence: SHA-256 over the content and the predecessor's hash in the same chain.
    prev_hash = models.CharField(
        verbose_name=_("prev hash"), max_length=64, blank=True, default="", editable=False
    )
    # Hashed with the content and never shown, so a hash is no test of a withheld value.
    hash_salt = models.CharField(
        verbose_name=_("hash salt"), max_length=32, blank=True, default="", editable=False
    )
    hash = models.CharField(
        verbose_name=_("hash"), max_length=64, blank=True, default="", editable=False
    )
    # Which document format the hash is taken over (cases/timeline/chain.py); 1 for events
    # written before the subject's version and representation were hashed. The database has
    # the default too, so a row written in SQL (an import, a repair) is format 1 like the old.
    chain_format = models.PositiveSmallIntegerField(
        verbose_name=_("chain format"), default=1, db_default=1, editable=False
    )

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
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")

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

    API = "api", _("API")
    PAGE = "page", _("Page")
    EXPORT = "export", _("Export")
    ADMIN = "admin", _("Admin")
    WEBHOOK = "webhook", _("Webhook")


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

    response_id = models.UUIDField(verbose_name=_("response id"), db_index=True, editable=False)
    at = models.DateTimeField(verbose_name=_("at"), default=timezone.now, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # Kept as text too: the account may be renamed, the entry must still say who it was.
    username = models.CharField(
        verbose_name=_("username"), max_length=150, blank=True, editable=False
    )
    token_label = models.CharField(
        verbose_name=_("token label"), max_length=100, blank=True, editable=False
    )
    channel = models.CharField(
        verbose_name=_("channel"), max_length=8, choices=AccessChannel.choices, editable=False
    )
    path = models.CharField(
        verbose_name=_("path"),
        max_length=500,
        blank=True,
        editable=False,
        help_text=_("Request path, no query string."),
    )
    object_type = models.CharField(verbose_name=_("object type"), max_length=32, editable=False)
    object_uuid = models.UUIDField(
        verbose_name=_("object uuid"), null=True, blank=True, editable=False
    )
    fields = models.JSONField(
        verbose_name=_("fields"),
        default=list,
        blank=True,
        editable=False,
        help_text=_("Sensitive fields shown."),
    )
    extra = models.JSONField(
        verbose_name=_("extra"),
        default=dict,
        blank=True,
        editable=False,
        help_text=_("Exports: filter and row count."),
    )

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access-log entry")
        verbose_name_plural = _("access log")
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
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
        editable=False,
    )
    key = models.CharField(verbose_name=_("key"), max_length=255)
    #: SHA-256 of the method, path, query, If-Match and canonical JSON body.
    fingerprint = models.CharField(verbose_name=_("fingerprint"), max_length=64)
    method = models.CharField(verbose_name=_("method"), max_length=8)
    path = models.CharField(verbose_name=_("path"), max_length=2000)
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    #: Set while the first request is being processed; a marker past it was abandoned.
    locked_until = models.DateTimeField(verbose_name=_("locked until"), null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(
        verbose_name=_("status code"), null=True, blank=True
    )
    headers = models.JSONField(verbose_name=_("headers"), default=dict, blank=True)
    body = models.BinaryField(verbose_name=_("body"), default=b"", blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
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

    key = models.CharField(verbose_name=_("key"), max_length=255, primary_key=True)
    #: Unix time (whole seconds) at which the counted window ends.
    window_end = models.BigIntegerField(verbose_name=_("window end"))
    count = models.IntegerField(verbose_name=_("count"))

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self):
        return f"{self.key}: {self.count} until {self.window_end}"


from cases.api.replica_reads import WritePosition  # noqa: E402,F401
from cases.documents.models import Document  # noqa: E402,F401
from cases.duplicates.models import PersonMerge  # noqa: E402,F401
from cases.exchanges.models import (  # noqa: E402,F401
    Exchange,
    ExchangeListEntry,
    Handover,
)
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
from cases.tasks.models import Task  # noqa: E402,F401
from cases.visits.models import Interview, Visit  # noqa: E402,F401
from cases.webhooks.models import (  # noqa: E402,F401
    WebhookAttempt,
    WebhookRedelivery,
    WebhookSubscription,
)
