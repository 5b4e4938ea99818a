"""The API of places, movements and capture cards: serializers and viewsets.

Places are reference data, versioned like parties; movements are never edited (a wrong one
is answered by a correcting one); capture cards are versioned, because they are filled in,
then sent, on different days.
"""

from __future__ import annotations

from django_countries.serializer_fields import CountryField
from rest_framework import serializers, status
from rest_framework.response import Response

from cases import choices
from cases.api import serializers as s
from cases.api.mixins import VersionedUpdateMixin, actor_for, without_common
from cases.api.schema import resource_schema
from cases.api.views import ResourceViewSet, _ReferenceDataViewSet
from cases.models import Case, Party, Source
from cases.places import services
from cases.places.filters import CaptureCardFilterSet, MovementFilterSet, PlaceFilterSet
from cases.places.models import CaptureCard, CardHealth, Movement, MovementKind, Place, PlaceKind

# --------------------------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------------------------


def places():
    """Return places with their detaining party."""
    return Place.objects.select_related("detaining_party")


def movements():
    """Return movements with their case, places and source."""
    return Movement.objects.select_related("case", "from_place", "to_place", "source")


def capture_cards():
    """Return capture cards with their case, movement and source."""
    return CaptureCard.objects.select_related("case", "movement", "source")


# --------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------


class PlaceSerializer(s.RowSerializer):
    """A place of detention; ``version`` counts the changes made to it."""

    url = s.DetailUrlField("api:place-detail")
    detaining_party = s.PartyRefSerializer(read_only=True)
    country = CountryField(allow_blank=True)
    version = serializers.IntegerField(read_only=True)

    class Meta:
        model = Place
        fields = [
            "url",
            "uuid",
            "name",
            "kind",
            "detaining_party",
            "country",
            "subdivision_code",
            "address",
            "notes",
            "created_at",
            "version",
        ]


class MovementSerializer(s.RowSerializer):
    """A move of the person to a place (a first arrival has no origin); never edited."""

    url = s.DetailUrlField("api:movement-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    from_place = s.PlaceRefSerializer(read_only=True)
    to_place = s.PlaceRefSerializer(read_only=True)
    source = s.SourceRefSerializer(read_only=True)

    class Meta:
        model = Movement
        fields = [
            "url",
            "uuid",
            "case",
            "from_place",
            "to_place",
            "moved_on",
            "moved_on_precision",
            "kind",
            "notes",
            "source",
            "recorded_at",
        ]


class CaptureCardSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """The capture card (GC III Art. 70) answering one movement; his health needs the
    permission to view sensitive values."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:capture-card-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    movement = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    discharges_duty = serializers.BooleanField(
        read_only=True,
        help_text="Whether it satisfies Art. 70: sent to the Central Agency, or declined.",
    )
    source = s.SourceRefSerializer(read_only=True)

    class Meta:
        model = CaptureCard
        fields = [
            "url",
            "uuid",
            "case",
            "movement",
            "filled_in_on",
            "sent_to_family_on",
            "sent_to_agency_on",
            "health",
            "address_given",
            "declined",
            "declined_on",
            "notes",
            "discharges_duty",
            "source",
            "redacted",
            "version",
            "recorded_at",
            "updated_at",
        ]


class PlaceInputSerializer(s.InputSerializer):
    """Input for ``place_create`` and ``place_update``."""

    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=PlaceKind.choices)
    detaining_party = s.PublicIdField(queryset=Party.objects.all())
    country = CountryField(required=False, allow_blank=True)
    subdivision_code = serializers.CharField(max_length=6, required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class MovementInputSerializer(s.InputSerializer):
    """Input for ``movement_record``."""

    case = s.PublicIdField(queryset=Case.objects.all())
    from_place = s.PublicIdField(
        queryset=Place.objects.all(),
        required=False,
        allow_null=True,
        help_text="Where from; leave out for the first arrival after capture.",
    )
    to_place = s.PublicIdField(queryset=Place.objects.all())
    moved_on = serializers.DateField()
    moved_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    kind = serializers.ChoiceField(
        choices=MovementKind.choices, help_text="Why he was moved (the reason for the move)."
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class CaptureCardUpdateSerializer(s.InputSerializer):
    """Input for ``capture_card_update``."""

    filled_in_on = serializers.DateField(required=False, allow_null=True)
    sent_to_family_on = serializers.DateField(required=False, allow_null=True)
    sent_to_agency_on = serializers.DateField(
        required=False, allow_null=True, help_text="Sent to the Central Tracing Agency."
    )
    health = serializers.ChoiceField(choices=CardHealth.choices, required=False, allow_blank=True)
    address_given = serializers.BooleanField(required=False)
    declined = serializers.BooleanField(required=False, help_text="He declined to write one.")
    declined_on = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class CaptureCardInputSerializer(CaptureCardUpdateSerializer):
    """Input for ``capture_card_record``: the movement (capture or move) it answers."""

    movement = s.PublicIdField(queryset=Movement.objects.all())


# --------------------------------------------------------------------------------------------
# Viewsets
# --------------------------------------------------------------------------------------------


@resource_schema(
    serializer=PlaceSerializer,
    list_summary="List places of detention",
    retrieve_summary="Read a place of detention",
    create_summary="Create a place of detention",
    create_request=PlaceInputSerializer,
    update_request=PlaceInputSerializer,
    replace_summary="Replace a place's details",
    change_summary="Change a place's details",
)
class PlaceViewSet(_ReferenceDataViewSet):
    """Places of detention: camps, hospitals, transit centres, prisons."""

    queryset = places()
    serializer_class = PlaceSerializer
    filterset_class = PlaceFilterSet
    input_serializer_class = update_serializer_class = PlaceInputSerializer
    create_service = staticmethod(services.place_create)
    update_service = staticmethod(services.place_update)

    def get_queryset(self):
        return places()


@resource_schema(
    serializer=MovementSerializer,
    list_summary="List movements between places of detention",
    retrieve_summary="Read a movement",
    create_summary="Record a movement",
    create_description="Movements are never edited. The case's current place becomes the "
    "newest movement's destination (by date, then by the order recorded), and a capture, "
    "transfer, hospital admission or discharge restarts its capture-card clock (GC III "
    "Art. 70: a card is due within seven days).",
    create_request=MovementInputSerializer,
)
class MovementViewSet(ResourceViewSet):
    """A case's moves between places of detention."""

    queryset = movements()
    serializer_class = MovementSerializer
    filterset_class = MovementFilterSet

    def get_queryset(self):
        return movements()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(MovementInputSerializer))
        row = services.movement_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        # A movement is never changed: it has no version, so no ETag.
        return Response(self.get_serializer(row).data, status=status_code)


@resource_schema(
    serializer=CaptureCardSerializer,
    list_summary="List capture cards",
    retrieve_summary="Read a capture card",
    create_summary="Record the capture card of a movement",
    create_description="One card per movement (a capture or a move). Sent to the Central "
    "Agency, or declined with its date, it stops the case's Art. 70 clock.",
    create_request=CaptureCardInputSerializer,
    update_request=CaptureCardUpdateSerializer,
    replace_summary="Replace a capture card's details",
    change_summary="Change a capture card (e.g. record that it was sent)",
)
class CaptureCardViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Capture cards (GC III Art. 70): filled in, sent to the family and the Central Agency."""

    queryset = capture_cards()
    serializer_class = CaptureCardSerializer
    filterset_class = CaptureCardFilterSet
    update_serializer_class = CaptureCardUpdateSerializer
    update_service = staticmethod(services.capture_card_update)
    service_keyword = "card"

    def get_queryset(self):
        return capture_cards()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(CaptureCardInputSerializer))
        row = services.capture_card_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)
