"""Serializers of the API: output shapes for rows, input shapes for the services' arguments.

Output serializers render rows read through ``cases.api.selectors``; input serializers only
validate what a client sends and hand it to a service (they never save). Every row carries
its ``version``; inputs may carry ``version`` (or an ``If-Match`` header) and a ``reason``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model
from django.db.backends.base.operations import BaseDatabaseOperations
from django.urls import reverse as django_reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries.serializer_fields import CountryField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from cases import choices
from cases.api.resources import (
    CASE_LIST,
    INTENTION_ROW,
    POSITION_ROW,
    REQUEST_ROW,
    Rendering,
    represent_row,
)
from cases.models import (
    Case,
    Interview,
    Note,
    Occurrence,
    Party,
    Person,
    PersonName,
    Place,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
)
from cases.security import sensitive
from cases.security.policy import policy_for


def sensitive_allowed(context) -> bool:
    """Return whether the request's user may see sensitive values, asked once per response."""
    if "sensitive_allowed" not in context:
        request = context.get("request")
        context["sensitive_allowed"] = policy_for(getattr(request, "user", None)).sees_sensitive
    return context["sensitive_allowed"]


class RowSerializer(serializers.ModelSerializer):
    """A model serializer whose declared fields may be null exactly where the model's may.

    Fields DRF builds from the model already allow null where the column does; fields
    declared by hand (a nested reference, a uuid slug) do not unless told, and the schema
    then promises a value where the API answers null. Here a declared field whose source is
    a nullable column allows null as well, so the schema says what the answers hold.
    """

    def build_standard_field(self, field_name, model_field):
        """Bound whole numbers by the portable column range, whatever the database.

        Django bounds an integer field by the connected database's column (64 bits on
        SQLite, 32 on PostgreSQL), which made the schema differ between the two; the
        narrower range, PostgreSQL's, is what every database can hold.
        """
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        portable = BaseDatabaseOperations.integer_field_ranges.get(model_field.get_internal_type())
        if portable is not None:
            low, high = portable
            if kwargs.get("min_value") is not None:
                kwargs["min_value"] = max(kwargs["min_value"], low)
            if kwargs.get("max_value") is not None:
                kwargs["max_value"] = min(kwargs["max_value"], high)
        return field_class, kwargs

    def get_fields(self):
        fields = super().get_fields()
        model = self.Meta.model
        for name, field in fields.items():
            # Before binding, ``source`` is what was declared (None: the field's own name).
            source = (field.source or name).split(".")[0] if field.source != "*" else ""
            try:
                column = model._meta.get_field(source) if source else None
            except Exception:  # noqa: BLE001 - a property or an annotation: not a column
                column = None
            if column is not None and getattr(column, "null", False) and not field.allow_null:
                if not isinstance(field, serializers.ListSerializer):
                    field.allow_null = True
        return fields


class SensitiveFieldsMixin:
    """Withhold the model's sensitive fields (see ``cases.security.sensitive``) from users without
    ``cases.view_sensitive``: ``null`` values, the fields named in ``redacted``.

    For users who may see them, each object whose non-empty sensitive values the output shows
    is noted in the context's ``sensitive_reads`` (``{(model name, uuid): fields}``), which
    the view writes to the access log once per response.
    """

    def get_fields(self):
        # A withheld value is answered as null, so each sensitive field may be null.
        fields = super().get_fields()
        model_name = self.Meta.model._meta.model_name
        for name in sensitive.SENSITIVE_FIELDS.get(model_name, ()):
            field = fields.get(name)
            if field is not None and not isinstance(field, serializers.ListSerializer):
                field.allow_null = True
        return fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        model_name = instance._meta.model_name
        _redacted, shown = sensitive.redact_fields(
            data, model_name, None, allowed=sensitive_allowed(self.context)
        )
        reads = self.context.get("sensitive_reads")
        if shown and reads is not None:
            reads.setdefault((model_name, instance.uuid), set()).update(shown)
        return data


def redacted_field() -> serializers.ListField:
    """Return the ``redacted`` field as the schema shows it (``SensitiveFieldsMixin`` fills it)."""
    return serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Sensitive fields withheld from you (their values are null or left out).",
    )


# --------------------------------------------------------------------------------------------
# References to other rows
# --------------------------------------------------------------------------------------------

#: A uuid that stands for the row's in a detail address reversed once per response.
_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"


def detail_url_maker(view_name: str, context: Mapping):
    """Return a function ``uuid -> absolute URL of the row`` for one response.

    The address is reversed once, with a placeholder uuid, exactly as
    ``HyperlinkedIdentityField`` reverses it (request host, format suffix, versioning);
    each row then only substitutes its uuid.
    """
    request = context.get("request")
    url = reverse(
        view_name, kwargs={"uuid": _PLACEHOLDER}, request=request, format=context.get("format")
    )
    head, tail = url.split(_PLACEHOLDER)

    def url_of(row_uuid) -> str:
        return f"{head}{row_uuid}{tail}"

    return url_of


class DetailUrlField(serializers.HyperlinkedIdentityField):
    """The row's address in the API, reversed once per response rather than once per row."""

    def __init__(self, view_name: str, **kwargs):
        kwargs.setdefault("lookup_field", "uuid")
        kwargs.setdefault("lookup_url_kwarg", "uuid")
        super().__init__(view_name=view_name, **kwargs)

    def to_representation(self, value):
        makers = self.context.setdefault("detail_url_makers", {})
        maker = makers.get(self.view_name)
        if maker is None:
            maker = makers[self.view_name] = detail_url_maker(self.view_name, self.context)
        return maker(value.uuid)


class PublicIdField(serializers.SlugRelatedField):
    """A related row named by its public UUID; malformed ids are a field error, not a 500."""

    default_error_messages = {
        "does_not_exist": "No record has the id “{value}”.",
        "invalid": "“{value}” is not a valid id (a UUID).",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("slug_field", "uuid")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            uuid.UUID(str(data))
        except (TypeError, ValueError, AttributeError):
            self.fail("invalid", value=data)
        try:
            return self.get_queryset().get(uuid=data)
        except self.get_queryset().model.DoesNotExist:
            self.fail("does_not_exist", value=data)


class PartyRefSerializer(RowSerializer):
    """A party as it appears inside another row."""

    class Meta:
        model = Party
        fields = ["uuid", "name"]


class SourceRefSerializer(RowSerializer):
    """A source as it appears inside another row."""

    class Meta:
        model = Source
        fields = ["uuid", "title"]


class PlaceRefSerializer(RowSerializer):
    """A place of detention as it appears inside another row."""

    class Meta:
        model = Place
        fields = ["uuid", "name"]


class PersonNameSerializer(RowSerializer):
    """One name variant."""

    class Meta:
        model = PersonName
        fields = ["value", "script", "romanisation", "is_pseudonym"]
        extra_kwargs = {"romanisation": {"required": False}, "is_pseudonym": {"required": False}}


# --------------------------------------------------------------------------------------------
# Parties and sources
# --------------------------------------------------------------------------------------------


class PartySerializer(RowSerializer):
    """A party; ``version`` counts the changes made to it."""

    url = DetailUrlField("api:party-detail")
    country = CountryField(allow_blank=True)
    parent = PartyRefSerializer(read_only=True)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Party
        fields = [
            "url",
            "uuid",
            "name",
            "short_name",
            "kind",
            "country",
            "parent",
            "is_neutral",
            "created_at",
            "version",
        ]


class SourceSerializer(RowSerializer):
    """A source; ``link`` is its address on the web, ``url`` its address in the API."""

    url = DetailUrlField("api:source-detail")
    link = serializers.URLField(source="url", read_only=True)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Source
        fields = [
            "url",
            "uuid",
            "title",
            "publisher",
            "link",
            "published_on",
            "language",
            "reliability",
            "notes",
            "created_at",
            "version",
        ]


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------


class PersonSerializer(SensitiveFieldsMixin, RowSerializer):
    """A person with name variants; sensitive details and true names need the permission."""

    redacted = redacted_field()
    url = DetailUrlField("api:person-detail")
    names = PersonNameSerializer(many=True, read_only=True)
    nationalities = serializers.ListField(child=CountryField(), read_only=True)
    armed_force = PartyRefSerializer(read_only=True)
    power_depends_on = PartyRefSerializer(read_only=True)
    serving_under = PartyRefSerializer(read_only=True)

    class Meta:
        model = Person
        fields = [
            "url",
            "uuid",
            "working_name",
            "names",
            "sex",
            "birth_date",
            "birth_date_precision",
            "birth_place",
            "nationalities",
            "identity_confidence",
            "armed_force",
            "power_depends_on",
            "rank",
            "unit",
            "service_number",
            "serving_under",
            "service_notes",
            "internment_number",
            "family_name",
            "given_names",
            "father_first_name",
            "mother_maiden_name",
            "person_to_inform",
            "correspondence_address",
            "is_deceased",
            "date_of_death",
            "family_links",
            "medical_notes",
            "redacted",
            "version",
            "created_at",
            "updated_at",
            "archived_at",
        ]


class PersonBriefSerializer(SensitiveFieldsMixin, RowSerializer):
    """The person as a case list shows them: working name and the name variants one may see."""

    names = PersonNameSerializer(many=True, read_only=True)
    redacted = redacted_field()

    class Meta:
        model = Person
        fields = ["uuid", "working_name", "names", "redacted"]


# --------------------------------------------------------------------------------------------
# Intentions, requests, positions
# --------------------------------------------------------------------------------------------


class IntentionSerializer(SensitiveFieldsMixin, RowSerializer):
    """A stated intention; the verbatim quote needs the permission."""

    redacted = redacted_field()

    url = DetailUrlField("api:intention-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    destination_country = CountryField(allow_blank=True, read_only=True)
    heard_by = PartyRefSerializer(read_only=True)
    interpreter_supplied_by = PartyRefSerializer(read_only=True)
    present_parties = PartyRefSerializer(many=True, read_only=True)
    verified = serializers.BooleanField(source="is_verified", read_only=True)
    supersedes = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    interview = serializers.SlugRelatedField(
        slug_field="uuid",
        read_only=True,
        help_text="The private interview (/interviews/) the statement was taken in.",
    )
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = StatedIntention
        # The keys and their order are described once, with the case detail's rows.
        fields = [column.key for column in INTENTION_ROW]


class RiskAssessmentSerializer(SensitiveFieldsMixin, RowSerializer):
    """An assessment of the risk of harm on return; what it rests on needs the permission."""

    redacted = redacted_field()

    url = DetailUrlField("api:risk-assessment-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    destination_country = CountryField(allow_blank=True, read_only=True)
    assessed_by = PartyRefSerializer(read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = RiskAssessment
        fields = [
            "url",
            "uuid",
            "case",
            "destination_country",
            "level",
            "persecution",
            "torture",
            "reprisal",
            "family_at_risk",
            "basis",
            "assessed_by",
            "assessor",
            "assessed_on",
            "source",
            "redacted",
            "recorded_at",
        ]


class ProblemSerializer(serializers.Serializer):
    """One unmet condition of the consent gate."""

    code = serializers.CharField(help_text="Stable code, e.g. not_verified, stale, high_risk.")
    message = serializers.CharField(help_text="What is missing, in a sentence.")

    class Meta:
        # "Problem" names the RFC 9457 error body of every error answer (cases/api/schema.py).
        ref_name = "ConsentCondition"


class MoveSerializer(serializers.Serializer):
    """A move across a border."""

    option = serializers.ChoiceField(
        choices=[choices.IntentionOption.RETURN_HOME, choices.IntentionOption.THIRD_STATE]
    )
    destination = serializers.CharField(allow_blank=True)


class ConsentDecisionSerializer(serializers.Serializer):
    """The consent gate's answer for one move on one day."""

    move = MoveSerializer()
    on = serializers.DateField()
    passed = serializers.BooleanField()
    statement = serializers.UUIDField(
        allow_null=True, help_text="The current intention the answer rests on."
    )
    level = serializers.CharField(allow_null=True, help_text="Its verification level.")
    problems = ProblemSerializer(many=True)


class ConsentAnswersSerializer(serializers.Serializer):
    """The consent gate's answers for the moves asked about."""

    answers = ConsentDecisionSerializer(many=True)


class ConsentRefusalSerializer(serializers.Serializer):
    """A write refused by the consent gate (409): nothing was written."""

    detail = serializers.CharField()
    problems = ProblemSerializer(many=True)


class PositionSerializer(RowSerializer):
    """A party's stance on a request; positions are never edited, so they have no version."""

    party = PartyRefSerializer(read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Position
        # The keys and their order are described once, with the case detail's rows.
        fields = [column.key for column in POSITION_ROW]


class RequestSerializer(RowSerializer):
    """A request with the parties' positions on it."""

    url = DetailUrlField("api:request-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    requested_by = PartyRefSerializer(read_only=True)
    addressed_to = PartyRefSerializer(read_only=True)
    destination_country = CountryField(allow_blank=True, read_only=True)
    intention = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    source = SourceRefSerializer(read_only=True)
    positions = PositionSerializer(many=True, read_only=True)

    class Meta:
        model = Request
        # The keys and their order are described once, with the case detail's rows.
        fields = [column.key for column in REQUEST_ROW]


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


class CurrentIntentionSerializer(serializers.Serializer):
    """The case's current intention, as denormalised on the case."""

    uuid = serializers.UUIDField(source="current_intention.uuid")
    option = serializers.ChoiceField(
        source="current_intention_option", choices=choices.IntentionOption.choices
    )
    destination_country = CountryField(source="current_intention_destination", allow_blank=True)
    verification = serializers.ChoiceField(
        source="current_intention_verification", choices=choices.Verification.choices
    )
    verified = serializers.BooleanField(source="current_intention_verified")
    stated_on = serializers.DateField(source="current_intention.stated_on")


class CaseSerializer(RowSerializer):
    """A case as lists show it: who, held by whom, since when, what they want, what is open."""

    url = DetailUrlField("api:case-detail")
    person = PersonBriefSerializer(read_only=True)
    detaining_party = PartyRefSerializer(read_only=True)
    current_intention = serializers.SerializerMethodField()
    open_request_count = serializers.IntegerField(read_only=True)
    assigned_officer = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True
    )
    current_place = PlaceRefSerializer(
        read_only=True, help_text="Where he is held: his newest movement's destination."
    )
    capture_card_due_on = serializers.DateField(
        read_only=True,
        allow_null=True,
        help_text="When the next capture card (GC III Art. 70) is due; null when none is.",
    )
    capture_card_overdue = serializers.SerializerMethodField(
        help_text="Whether that day has passed today without a card sent or declined."
    )
    released_to = CountryField(
        allow_blank=True,
        read_only=True,
        help_text="For a released case: the country he was released to (ISO 3166-1).",
    )

    class Meta:
        model = Case
        # The list's keys and their order are described once, with the fast path's rows.
        fields = [column.key for column in CASE_LIST]

    @extend_schema_field(serializers.BooleanField())
    def get_capture_card_overdue(self, case: Case) -> bool:
        """Return whether the case has missed its capture card's deadline today."""
        from cases import clocks

        return clocks.capture_card_overdue(case)

    @extend_schema_field(CurrentIntentionSerializer(allow_null=True))
    def get_current_intention(self, case: Case):
        """Return the current intention, or None when the person has stated none."""
        if case.current_intention_id is None:
            return None
        # Built directly from the denormalised columns: a nested serializer per row copies
        # its field definitions every time and dominated the list's cost.
        intention = case.current_intention
        return {
            "uuid": str(intention.uuid),
            "option": case.current_intention_option,
            "destination_country": case.current_intention_destination.code or "",
            "verification": case.current_intention_verification,
            "verified": case.current_intention_verified,
            "stated_on": intention.stated_on.isoformat(),
        }


def represent_cases(
    rows: Iterable[Mapping], names: Mapping[int, list[dict]], context: dict
) -> list[dict]:
    """Return the list representation of case rows, equal to :class:`CaseSerializer`'s.

    ``rows`` come from ``selectors.api_case_rows``, ``names`` from
    ``selectors.api_case_page_names`` (the variants the reader may see). Both this and
    ``CaseSerializer`` take their keys from :data:`cases.api.resources.CASE_LIST`; this
    builds the dictionaries without per-field machinery, redacts the person's names with
    ``cases.security.sensitive`` as ``PersonBriefSerializer`` does, and notes in the
    context's ``sensitive_reads`` what the reader is shown, for the access log.
    """
    return [represent_row(row, _case_rendering(names, context)) for row in rows]


def _redact(data: dict, model_name: str, row_uuid, context: dict) -> dict:
    """Withhold ``data``'s sensitive values as ``SensitiveFieldsMixin`` does; note what shows."""
    _redacted, shown = sensitive.redact_fields(
        data, model_name, None, allowed=sensitive_allowed(context)
    )
    reads = context.get("sensitive_reads")
    if shown and reads is not None:
        reads.setdefault((model_name, row_uuid), set()).update(shown)
    return data


def _case_rendering(names: Mapping[int, list[dict]], context: dict) -> Rendering:
    """Return how case rows are written: their address, and their person as
    ``PersonBriefSerializer`` writes him (the name variants ``names`` holds, redacted)."""

    def person(row: Mapping) -> dict:
        person_uuid = row["person__uuid"]
        shown_person = {
            "uuid": str(person_uuid),
            "working_name": row["person__working_name"],
            "names": list(names.get(row["person_id"], ())),
        }
        return _redact(shown_person, "person", person_uuid, context)

    return Rendering(url_of=detail_url_maker("api:case-detail", context), person=person)


class CaseDetailSerializer(CaseSerializer):
    """A case with its intentions, requests (with positions) and the sources they cite."""

    intentions = IntentionSerializer(many=True, read_only=True)
    requests = RequestSerializer(many=True, read_only=True)
    sources = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    notification_recipients = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [
            *CaseSerializer.Meta.fields,
            "intentions",
            "requests",
            "sources",
            "timeline",
            "notification_recipients",
        ]

    @extend_schema_field(PartyRefSerializer(many=True))
    def get_notification_recipients(self, case: Case):
        """Return who must be notified of the case's events (GC III Art. 122-123): its own
        list, else the defaults (docs/notifications.md)."""
        from cases.notifications.services import recipients_for

        return PartyRefSerializer(recipients_for(case), many=True).data

    @extend_schema_field(SourceRefSerializer(many=True))
    def get_sources(self, case: Case):
        """Return the sources cited by the case's intentions, requests and positions."""
        seen = {}
        for intention in case.intentions.all():
            if intention.source is not None:
                seen.setdefault(intention.source.pk, intention.source)
        for request in case.requests.all():
            if request.source is not None:
                seen.setdefault(request.source.pk, request.source)
            for position in request.positions.all():
                if position.source is not None:
                    seen.setdefault(position.source.pk, position.source)
        return SourceRefSerializer(list(seen.values()), many=True).data

    @extend_schema_field(serializers.URLField())
    def get_timeline(self, case: Case) -> str:
        """Return the address of the case's timeline."""
        from django.urls import reverse

        path = reverse("api:case-timeline", kwargs={"case_uuid": case.uuid})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def represent_case_detail(rows, context: dict) -> dict:
    """Return a case's detail from its plain rows, equal to :class:`CaseDetailSerializer`'s.

    ``rows`` come from ``selectors.api_case_detail_rows``. The case is written as the list
    writes it (:func:`represent_cases`), its statements, requests and positions from their
    descriptions in :mod:`cases.api.resources`; each statement's sensitive values are
    withheld and noted in the context's ``sensitive_reads`` as ``IntentionSerializer`` does.
    """
    request = context.get("request")
    zone = timezone.get_current_timezone()
    parties = {
        intention_id: [{"uuid": str(p["uuid"]), "name": p["name"]} for p in present]
        for intention_id, present in rows.present_parties.items()
    }
    intention_rendering = Rendering(
        url_of=detail_url_maker("api:intention-detail", context),
        zone=zone,
        today=None,
        related={"present_parties": parties},
    )
    position_rendering = Rendering(url_of=str, zone=zone, today=None)
    positions = {
        request_id: [represent_row(row, position_rendering, POSITION_ROW) for row in found]
        for request_id, found in rows.positions.items()
    }
    request_rendering = Rendering(
        url_of=detail_url_maker("api:request-detail", context),
        zone=zone,
        today=None,
        related={"positions": positions},
    )
    data = represent_row(rows.case, _case_rendering(rows.names, context))
    data["intentions"] = [
        _redact(
            represent_row(row, intention_rendering, INTENTION_ROW),
            "statedintention",
            row["uuid"],
            context,
        )
        for row in rows.intentions
    ]
    data["requests"] = [represent_row(row, request_rendering, REQUEST_ROW) for row in rows.requests]
    # The sources cited, in the order CaseDetailSerializer.get_sources meets them.
    sources: dict[int, dict] = {}
    for row in rows.intentions:
        if row["source_id"] is not None:
            sources.setdefault(
                row["source_id"], {"uuid": str(row["source__uuid"]), "title": row["source__title"]}
            )
    for row in rows.requests:
        for cited in (row, *rows.positions.get(row["id"], ())):
            if cited["source_id"] is not None:
                sources.setdefault(
                    cited["source_id"],
                    {"uuid": str(cited["source__uuid"]), "title": cited["source__title"]},
                )
    data["sources"] = list(sources.values())
    path = django_reverse("api:case-timeline", kwargs={"case_uuid": rows.case["uuid"]})
    data["timeline"] = request.build_absolute_uri(path) if request else path
    data["notification_recipients"] = [
        {"uuid": str(party.uuid), "name": party.name} for party in rows.recipients
    ]
    return data


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """Validate a write: unknown fields are refused; ``version`` and ``reason`` are common."""

    version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The version being changed (alternative to If-Match).",
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, help_text="Why; shown on the timeline."
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": [_("Send a JSON object of field names and values.")]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            writable = ", ".join(name for name, f in self.fields.items() if not f.read_only)
            raise serializers.ValidationError(
                {
                    name: [
                        _("Unknown or read-only field. Writable: %(writable)s.")
                        % {"writable": writable}
                    ]
                    for name in unknown
                }
            )
        return super().to_internal_value(data)


class PartyInputSerializer(InputSerializer):
    """Input for ``party_create`` and ``party_update``."""

    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=choices.PartyKind.choices)
    country = CountryField(required=False, allow_blank=True)
    parent = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    is_neutral = serializers.BooleanField(
        required=False,
        help_text="A neutral or humanitarian body whose private interviews verify statements.",
    )


class SourceInputSerializer(InputSerializer):
    """Input for ``source_create`` and ``source_update``."""

    title = serializers.CharField(max_length=500)
    publisher = serializers.CharField(max_length=200, required=False, allow_blank=True)
    link = serializers.URLField(max_length=1000, required=False, allow_blank=True)
    published_on = serializers.DateField(required=False, allow_null=True)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    reliability = serializers.ChoiceField(choices=choices.Reliability.choices, required=False)
    notes = serializers.CharField(required=False, allow_blank=True)


class PersonInputSerializer(InputSerializer):
    """Input for ``person_create`` and ``person_update``; ``names`` replaces all variants."""

    working_name = serializers.CharField(max_length=200)
    names = PersonNameSerializer(many=True, required=False)
    sex = serializers.ChoiceField(choices=choices.Sex.choices, required=False)
    birth_date = serializers.DateField(required=False, allow_null=True)
    birth_date_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    birth_place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    nationalities = serializers.ListField(child=CountryField(), required=False)
    identity_confidence = serializers.ChoiceField(
        choices=choices.IdentityConfidence.choices, required=False
    )
    armed_force = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    power_depends_on = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    rank = serializers.CharField(max_length=100, required=False, allow_blank=True)
    unit = serializers.CharField(max_length=200, required=False, allow_blank=True)
    service_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_deceased = serializers.BooleanField(required=False)
    date_of_death = serializers.DateField(required=False, allow_null=True)
    family_links = serializers.CharField(required=False, allow_blank=True)
    medical_notes = serializers.CharField(required=False, allow_blank=True)
    family_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    given_names = serializers.CharField(max_length=200, required=False, allow_blank=True)
    father_first_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    mother_maiden_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    person_to_inform = serializers.CharField(max_length=200, required=False, allow_blank=True)
    correspondence_address = serializers.CharField(required=False, allow_blank=True)
    internment_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    serving_under = PublicIdField(
        queryset=Party.objects.all(),
        required=False,
        allow_null=True,
        help_text="The party under whose command he served, when not his own force's.",
    )
    service_notes = serializers.CharField(required=False, allow_blank=True)
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class CaseInputSerializer(InputSerializer):
    """Input for ``case_open`` and ``case_update``; the status changes through transitions."""

    reference = serializers.CharField(max_length=32)
    person = PublicIdField(
        queryset=Person.objects.filter(merged_into__isnull=True),
        help_text="Only when opening; not a merged person (use the one he was merged into).",
    )
    detaining_party = PublicIdField(queryset=Party.objects.all())
    status = serializers.ChoiceField(
        choices=choices.CaseStatus.choices,
        required=False,
        help_text="Only when opening; later use the transition endpoint.",
    )
    legal_status = serializers.ChoiceField(choices=choices.LegalStatus.choices, required=False)
    capture_date = serializers.DateField(required=False, allow_null=True)
    capture_date_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    capture_place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    capture_place_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    detention_place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    priority = serializers.ChoiceField(choices=choices.Priority.choices, required=False)
    assigned_officer = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD,
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class CaseUpdateSerializer(CaseInputSerializer):
    """Input for ``case_update``: the person and the status are not changed here."""

    person = None
    status = None


class CaseTransitionSerializer(InputSerializer):
    """Input for ``case_change_status``."""

    status = serializers.ChoiceField(choices=choices.CaseStatus.choices)
    occurred_on = serializers.DateField(
        required=False, help_text="When it happened in the world; default now."
    )
    occurred_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    destination_country = CountryField(
        required=False,
        allow_blank=True,
        help_text="Unused since repatriated and transferred_third_state are reached only by "
        "a handover (POST /api/v1/handovers/); kept so that older clients get that message.",
    )
    released_to = CountryField(
        required=False,
        allow_blank=True,
        help_text="For released (required then): the country he was released to.",
    )
    released_to_place = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="For released: where."
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class IntentionInputSerializer(InputSerializer):
    """Input for ``intention_record``, or ``intention_supersede`` when ``supersedes`` is given."""

    case = PublicIdField(
        queryset=Case.objects.all(), required=False, help_text="Needed unless superseding."
    )
    supersedes = PublicIdField(
        queryset=StatedIntention.objects.all(),
        required=False,
        help_text="The statement this one replaces (a change of mind).",
    )
    supersedes_version = serializers.IntegerField(
        required=False, min_value=1, help_text="Version of the replaced statement, to lock it."
    )
    option = serializers.ChoiceField(choices=choices.IntentionOption.choices)
    destination_country = CountryField(required=False, allow_blank=True)
    certainty = serializers.CharField(max_length=200, required=False, allow_blank=True)
    conditions = serializers.CharField(required=False, allow_blank=True)
    quote = serializers.CharField(required=False, allow_blank=True)
    quote_language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    stated_on = serializers.DateField()
    stated_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    heard_by = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    heard_by_role = serializers.CharField(max_length=200, required=False, allow_blank=True)
    setting = serializers.ChoiceField(choices=choices.StatementSetting.choices)
    interpreter_supplied_by = PublicIdField(
        queryset=Party.objects.all(), required=False, allow_null=True
    )
    present_parties = serializers.ListField(
        child=PublicIdField(queryset=Party.objects.all()),
        required=False,
        max_length=50,
        help_text="Parties present besides who heard it (their uuids).",
    )
    detaining_power_present = serializers.ChoiceField(
        choices=choices.Presence.choices, required=False
    )
    options_explained = serializers.BooleanField(required=False)
    duress_signs = serializers.CharField(required=False, allow_blank=True)
    verification = serializers.ChoiceField(
        choices=choices.Verification.choices,
        help_text="Must be earned by how it was heard: hearsay is at most reported; letters "
        "and media interviews at most stated; witnessed needs an independent party present; "
        "verified a private interview by a neutral body, named in interview; reconfirmed an "
        "earlier verified statement of the same wish (and the interview, unless taken at a "
        "handover).",
    )
    interview = PublicIdField(
        queryset=Interview.objects.select_related("visit__visiting_body"),
        required=False,
        allow_null=True,
        help_text="The private interview during a visit the statement was taken in "
        "(/interviews/); it must be of the same case and day, held by who heard it.",
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)

    def validate(self, attrs):
        if "case" not in attrs and "supersedes" not in attrs:
            raise serializers.ValidationError(
                {"case": [_("Name the case (or the superseded one).")]}
            )
        old = attrs.get("supersedes")
        if old is not None and "case" in attrs and attrs["case"].pk != old.case_id:
            raise serializers.ValidationError(
                {"supersedes": [_("The superseded statement belongs to another case.")]}
            )
        return attrs


class IntentionStateSerializer(InputSerializer):
    """Input for ``intention_set_state``."""

    state = serializers.ChoiceField(
        choices=[
            (value, label)
            for value, label in choices.IntentionState.choices
            if value != choices.IntentionState.SUPERSEDED
        ]
    )
    occurred_on = serializers.DateField(required=False)
    occurred_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class RequestInputSerializer(InputSerializer):
    """Input for ``request_file`` and ``request_update``."""

    case = PublicIdField(queryset=Case.objects.all(), help_text="Only when filing.")
    kind = serializers.ChoiceField(
        choices=choices.RequestKind.choices, help_text="Only when filing."
    )
    draft = serializers.BooleanField(
        required=False, default=False, help_text="Only when filing: keep it a draft."
    )
    addressed_to = PublicIdField(queryset=Party.objects.all())
    requested_by = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    destination_country = CountryField(required=False, allow_blank=True)
    legal_basis = serializers.CharField(max_length=300, required=False, allow_blank=True)
    filed_on = serializers.DateField(required=False, allow_null=True)
    intention = PublicIdField(
        queryset=StatedIntention.objects.all(), required=False, allow_null=True
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class RequestUpdateSerializer(RequestInputSerializer):
    """Input for ``request_update``: the case, kind and status are not changed here."""

    case = None
    kind = None
    draft = None
    source = None


class RequestTransitionSerializer(InputSerializer):
    """Input for ``request_transition``."""

    status = serializers.ChoiceField(choices=choices.RequestStatus.choices)
    decided_on = serializers.DateField(required=False)
    decision_reason = serializers.CharField(required=False, allow_blank=True)
    occurred_on = serializers.DateField(required=False)
    occurred_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class RiskAssessmentInputSerializer(InputSerializer):
    """Input for ``risk_assessment_record``."""

    case = PublicIdField(queryset=Case.objects.all())
    destination_country = CountryField(
        required=False, allow_blank=True, help_text="Empty for his own state."
    )
    level = serializers.ChoiceField(choices=choices.RiskLevel.choices)
    persecution = serializers.BooleanField(required=False)
    torture = serializers.BooleanField(required=False)
    reprisal = serializers.BooleanField(required=False)
    family_at_risk = serializers.BooleanField(required=False)
    basis = serializers.CharField()
    assessed_by = PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    assessor = serializers.CharField(max_length=200, required=False, allow_blank=True)
    assessed_on = serializers.DateField()
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class OccurrenceInputSerializer(InputSerializer):
    """Input for ``occurrence_record``."""

    case = PublicIdField(queryset=Case.objects.all())
    kind = serializers.ChoiceField(choices=choices.OccurrenceKind.choices)
    occurred_on = serializers.DateField()
    occurred_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    description = serializers.CharField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class ConsentQuerySerializer(serializers.Serializer):
    """Query of the consent gate's answer: which move, and on which day."""

    option = serializers.ChoiceField(
        choices=[choices.IntentionOption.RETURN_HOME, choices.IntentionOption.THIRD_STATE],
        required=False,
        help_text="The move to ask about; without it, every move the open requests would make.",
    )
    destination = CountryField(required=False, allow_blank=True)
    on = serializers.DateField(required=False, help_text="Default today.")


class PositionInputSerializer(InputSerializer):
    """Input for ``position_record``."""

    party = PublicIdField(queryset=Party.objects.all())
    stance = serializers.ChoiceField(choices=choices.Stance.choices)
    stated_on = serializers.DateField()
    conditions = serializers.CharField(required=False, allow_blank=True)
    source = PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class VersionConflictSerializer(serializers.Serializer):
    """The body of a 412: what went wrong and the version to reload."""

    detail = serializers.CharField()
    current_version = serializers.IntegerField()


class ErrorSerializer(serializers.Serializer):
    """The body of most errors: one message."""

    detail = serializers.CharField()


# --------------------------------------------------------------------------------------------
# Positions, occurrences and notes as resources of their own
# --------------------------------------------------------------------------------------------


class PositionResourceSerializer(PositionSerializer):
    """A party's stance on a request, read on its own: with its request and case."""

    url = DetailUrlField("api:position-detail")
    request = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    case = serializers.UUIDField(source="request.case.uuid", read_only=True)

    class Meta(PositionSerializer.Meta):
        fields = [
            "url",
            "uuid",
            "request",
            "case",
            "party",
            "stance",
            "conditions",
            "stated_on",
            "source",
            "recorded_at",
        ]


class OccurrenceSerializer(RowSerializer):
    """Something that happened in the world (a capture, an ICRC visit); never edited."""

    url = DetailUrlField("api:occurrence-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Occurrence
        fields = [
            "url",
            "uuid",
            "case",
            "kind",
            "occurred_on",
            "occurred_on_precision",
            "description",
            "place",
            "source",
            "recorded_at",
        ]


class NoteSerializer(SensitiveFieldsMixin, RowSerializer):
    """A case officer's note; its body needs the permission to view sensitive values."""

    redacted = redacted_field()

    url = DetailUrlField("api:note-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    author = serializers.SlugRelatedField(
        slug_field=get_user_model().USERNAME_FIELD, read_only=True, allow_null=True
    )
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Note
        fields = ["url", "uuid", "case", "body", "author", "source", "redacted", "created_at"]


# --------------------------------------------------------------------------------------------
# Subjects as their events carry them (cases/timeline/representations.py)
# --------------------------------------------------------------------------------------------


class PersonRefSerializer(RowSerializer):
    """A person named by id inside another subject's representation on its events."""

    class Meta:
        model = Person
        fields = ["uuid"]


def event_object_serializer(
    serializer: type[serializers.ModelSerializer],
    *,
    leave_out: Iterable[str] = (),
    **declared: serializers.Field,
) -> type[serializers.ModelSerializer]:
    """Return ``serializer`` as its subject's events carry it: without ``url`` and ``leave_out``.

    ``url`` depends on the host a reader asks; ``leave_out`` names keys that belong to other
    subjects or are computed from them. ``declared`` replaces fields (a nested subject
    named by id only).
    """
    omitted = {"url", *leave_out}
    meta = type(
        "Meta",
        (serializer.Meta,),
        {"fields": [name for name in serializer.Meta.fields if name not in omitted]},
    )
    name = serializer.__name__.removesuffix("Serializer") + "EventObjectSerializer"
    return type(
        name,
        (serializer,),
        {"Meta": meta, "__doc__": f"{serializer.__doc__} As its events carry it.", **declared},
    )
