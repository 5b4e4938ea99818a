"""The API of exchanges, their lists and handovers: serializers and viewsets.

An exchange is versioned like other reference rows; its list entries are set through the
exchange (``POST /exchanges/{uuid}/entries/``). A handover is recorded once and never
edited: ``POST /handovers/`` executes the request, closes the case and takes the
reconfirmation, or answers 409 naming what the consent gate misses (nothing is written).
"""

from __future__ import annotations

from django.db.models import Prefetch
from django_countries.serializer_fields import CountryField
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action

from cases import choices
from cases.api import serializers as s
from cases.api.mixins import VersionedUpdateMixin, actor_for, expected_version, without_common
from cases.api.schema import CONSENT_REFUSED, ERRORS, IF_MATCH, LOCKING, NOT_FOUND, resource_schema
from cases.api.views import ResourceViewSet
from cases.exchanges import services
from cases.exchanges.filters import ExchangeFilterSet, HandoverFilterSet
from cases.exchanges.models import (
    Exchange,
    ExchangeListEntry,
    ExchangeStatus,
    Handover,
    ListEntryState,
)
from cases.models import Case, Party, Place, Request, Source

# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def exchanges():
    """Return exchanges with their sides, mediator, source and list (with each case)."""
    return Exchange.objects.select_related("mediator", "source").prefetch_related(
        "parties",
        Prefetch("entries", queryset=ExchangeListEntry.objects.select_related("case", "source")),
    )


def handovers():
    """Return handovers with what they point at and who was present."""
    return Handover.objects.select_related(
        "case",
        "request",
        "exchange",
        "place",
        "receiving_authority",
        "receiving_state",
        "reconfirmation",
        "consent_statement",
        "source",
    ).prefetch_related("present_parties")


# --------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------


class ExchangeListEntrySerializer(s.RowSerializer):
    """One case on an exchange's list and where he stands on it."""

    exchange = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    case_reference = serializers.CharField(source="case.reference", read_only=True)
    source = s.SourceRefSerializer(read_only=True)

    class Meta:
        model = ExchangeListEntry
        fields = [
            "uuid",
            "exchange",
            "case",
            "case_reference",
            "state",
            "reason",
            "source",
            "version",
            "updated_at",
        ]


class ExchangeSerializer(s.RowSerializer):
    """An exchange between two sides, its mediator, date, status and list."""

    url = s.DetailUrlField("api:exchange-detail")
    parties = s.PartyRefSerializer(many=True, read_only=True)
    mediator = s.PartyRefSerializer(read_only=True)
    source = s.SourceRefSerializer(read_only=True)
    entries = ExchangeListEntrySerializer(many=True, read_only=True)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Exchange
        fields = [
            "url",
            "uuid",
            "name",
            "parties",
            "mediator",
            "planned_on",
            "planned_on_precision",
            "status",
            "notes",
            "source",
            "entries",
            "version",
            "created_at",
            "updated_at",
        ]


class HandoverSerializer(s.RowSerializer):
    """A handover: when, where, to whom, who was present, and the consent it rests on."""

    url = s.DetailUrlField("api:handover-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    request = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    exchange = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    place = s.PlaceRefSerializer(read_only=True)
    receiving_authority = s.PartyRefSerializer(read_only=True)
    receiving_state = s.PartyRefSerializer(read_only=True, allow_null=True)
    present_parties = s.PartyRefSerializer(many=True, read_only=True)
    reconfirmation = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    consent_statement = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    destination_country = CountryField(allow_blank=True, read_only=True)
    source = s.SourceRefSerializer(read_only=True)

    class Meta:
        model = Handover
        fields = [
            "url",
            "uuid",
            "case",
            "request",
            "exchange",
            "occurred_on",
            "occurred_on_precision",
            "place_text",
            "place",
            "receiving_authority",
            "receiving_state",
            "present_parties",
            "reconfirmation",
            "consent_statement",
            "destination_country",
            "notes",
            "source",
            "version",
            "recorded_at",
        ]


class ExchangeInputSerializer(s.InputSerializer):
    """Input for ``exchange_create`` and ``exchange_update``."""

    name = serializers.CharField(max_length=200)
    parties = serializers.ListField(
        child=s.PublicIdField(queryset=Party.objects.all()),
        min_length=2,
        max_length=2,
        help_text="The two sides' ids.",
    )
    mediator = s.PublicIdField(queryset=Party.objects.all(), required=False, allow_null=True)
    planned_on = serializers.DateField(required=False, allow_null=True)
    planned_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class ExchangeUpdateSerializer(ExchangeInputSerializer):
    """Input for ``exchange_update`` (the source stays as recorded)."""

    source = None


class ExchangeTransitionSerializer(s.InputSerializer):
    """Input for ``exchange_transition``."""

    status = serializers.ChoiceField(choices=ExchangeStatus.choices)


class ExchangeEntryInputSerializer(s.InputSerializer):
    """Input for ``exchange_entry_set``: a case and where he stands on the list."""

    case = s.PublicIdField(queryset=Case.objects.all())
    state = serializers.ChoiceField(
        choices=[c for c in ListEntryState.choices if c[0] != ListEntryState.HANDED_OVER],
        help_text="handed_over is set by recording the handover.",
    )
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class ReconfirmationInputSerializer(serializers.Serializer):
    """What the person said in private at the handover, and how it was heard."""

    heard_by = s.PublicIdField(
        queryset=Party.objects.all(), help_text="The neutral body that asked him (the ICRC)."
    )
    heard_by_role = serializers.CharField(max_length=100, required=False, allow_blank=True)
    interpreter_supplied_by = s.PublicIdField(
        queryset=Party.objects.all(), required=False, allow_null=True
    )
    detaining_power_present = serializers.ChoiceField(choices=choices.Presence.choices)
    options_explained = serializers.BooleanField()
    duress_signs = serializers.CharField(required=False, allow_blank=True)
    certainty = serializers.CharField(max_length=200, required=False, allow_blank=True)
    conditions = serializers.CharField(required=False, allow_blank=True)
    quote = serializers.CharField(required=False, allow_blank=True)
    quote_language = serializers.CharField(max_length=10, required=False, allow_blank=True)
    present_parties = serializers.ListField(
        child=s.PublicIdField(queryset=Party.objects.all()), required=False
    )


class HandoverInputSerializer(s.InputSerializer):
    """Input for ``handover_record``."""

    request = s.PublicIdField(
        queryset=Request.objects.all(), help_text="The scheduled request the handover executes."
    )
    occurred_on = serializers.DateField()
    occurred_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    receiving_authority = s.PublicIdField(
        queryset=Party.objects.all(),
        help_text="Who took him over: the destination state's authority, or the ICRC or a "
        "mediator receiving him on that state's behalf.",
    )
    receiving_state = s.PublicIdField(
        queryset=Party.objects.all(),
        required=False,
        allow_null=True,
        help_text="The state he is handed over to; required when the receiving authority is "
        "an intermediary (the ICRC, an NGO, the exchange's mediator).",
    )
    exchange = s.PublicIdField(queryset=Exchange.objects.all(), required=False, allow_null=True)
    place_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    place = s.PublicIdField(queryset=Place.objects.all(), required=False, allow_null=True)
    present_parties = serializers.ListField(
        child=s.PublicIdField(queryset=Party.objects.all()), required=False
    )
    reconfirmation = ReconfirmationInputSerializer(
        required=False,
        allow_null=True,
        help_text="The reconfirmation taken there (level reconfirmed); leave out when none "
        "was taken and his verified wish is fresh.",
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


# --------------------------------------------------------------------------------------------
# Viewsets
# --------------------------------------------------------------------------------------------


@resource_schema(
    serializer=ExchangeSerializer,
    list_summary="List exchanges",
    retrieve_summary="Read an exchange with its list",
    create_summary="Plan an exchange",
    create_request=ExchangeInputSerializer,
    update_request=ExchangeUpdateSerializer,
    replace_summary="Replace an exchange's details",
    change_summary="Change an exchange's details",
)
class ExchangeViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Exchanges of prisoners between two sides, and who is on their lists."""

    queryset = exchanges()
    serializer_class = ExchangeSerializer
    filterset_class = ExchangeFilterSet
    update_serializer_class = ExchangeUpdateSerializer
    update_service = staticmethod(services.exchange_update)

    def get_queryset(self):
        return exchanges()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(ExchangeInputSerializer))
        row = services.exchange_create(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change an exchange's status",
        description="planned -> agreed -> in_progress -> completed, or cancelled. A version "
        "(If-Match or field) is checked when sent.",
        request=ExchangeTransitionSerializer,
        parameters=[IF_MATCH],
        responses={200: ExchangeSerializer, **ERRORS, **NOT_FOUND, 412: LOCKING[412]},
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_exchange")
    def transition(self, request, uuid=None, **kwargs):
        row = self.get_object()
        version = expected_version(request, required=False)
        fields, reason = without_common(self.validated(ExchangeTransitionSerializer))
        services.exchange_transition(
            actor=actor_for(request),
            exchange=row,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(row.pk)

    @extend_schema(
        summary="Put a case on the exchange's list, or change where he stands",
        description="proposed, accepted or excluded (with a reason); handed_over is set by "
        "recording the handover.",
        request=ExchangeEntryInputSerializer,
        responses={200: ExchangeSerializer, **ERRORS, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_exchange")
    def entries(self, request, uuid=None, **kwargs):
        row = self.get_object()
        fields, reason = without_common(self.validated(ExchangeEntryInputSerializer))
        services.exchange_entry_set(actor=actor_for(request), exchange=row, reason=reason, **fields)
        return self.row_response(row.pk)


@resource_schema(
    serializer=HandoverSerializer,
    list_summary="List handovers",
    retrieve_summary="Read a handover",
    create_summary="Record a handover",
    create_description="Executes the scheduled request, closes the case (repatriated, or "
    "transferred_third_state with the destination) and records the reconfirmation taken "
    "there, in one transaction; the consent gate decides (409 naming each problem; nothing "
    "is written). The case must be release_approved. Handovers are never edited.",
    create_request=HandoverInputSerializer,
    create_errors=CONSENT_REFUSED,
)
class HandoverViewSet(ResourceViewSet):
    """Handovers: the one way a person leaves custody for another state."""

    queryset = handovers()
    serializer_class = HandoverSerializer
    filterset_class = HandoverFilterSet

    def get_queryset(self):
        return handovers()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(HandoverInputSerializer))
        reconfirmation = fields.pop("reconfirmation", None)
        row = services.handover_record(
            actor=actor_for(request),
            reason=reason,
            reconfirmation=dict(reconfirmation) if reconfirmation is not None else None,
            **fields,
        )
        return self.row_response(row.pk, status.HTTP_201_CREATED)
