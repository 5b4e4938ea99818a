"""The API of visits and private interviews: ``/api/v1/visits/`` and ``/api/v1/interviews/``.

A visit is versioned like other rows (PATCH or PUT naming the version read). An interview is
recorded once (POST ``/interviews/`` with ``Idempotency-Key``) and never edited; a statement
taken in it names it (``interview`` on ``/intentions/``). Topics and notes of both are
sensitive: readers without the permission get null and the field named in ``redacted``, and
writing them needs the permission.
"""

from __future__ import annotations

from rest_framework import serializers, status

from cases import choices
from cases.api import serializers as s
from cases.api.mixins import VersionedUpdateMixin, actor_for, without_common
from cases.api.schema import resource_schema
from cases.api.views import ResourceViewSet
from cases.models import Case, Party, Place, Source
from cases.visits import services
from cases.visits.filters import InterviewFilterSet, VisitFilterSet
from cases.visits.models import Interview, Visit


def visits():
    """Return visits with who visited, whose place, the place and the source."""
    return Visit.objects.select_related("visiting_body", "detaining_party", "place", "source")


def interviews():
    """Return interviews with their visit, case and interpreter's party."""
    return Interview.objects.select_related("visit", "case", "interpreter_supplied_by")


class VisitSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """A visit to a place of detention; its topics and notes need the permission."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:visit-detail")
    visiting_body = s.PartyRefSerializer(read_only=True)
    detaining_party = s.PartyRefSerializer(read_only=True)
    place = s.PlaceRefSerializer(read_only=True, allow_null=True)
    source = s.SourceRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Visit
        fields = [
            "url",
            "uuid",
            "visiting_body",
            "visited_on",
            "visited_on_precision",
            "detaining_party",
            "place",
            "place_text",
            "topics",
            "notes",
            "source",
            "redacted",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class InterviewSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """A person seen during a visit; what he raised and the notes need the permission."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:interview-detail")
    visit = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    interpreter_supplied_by = s.PartyRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Interview
        fields = [
            "url",
            "uuid",
            "visit",
            "case",
            "in_private",
            "interpreter_supplied_by",
            "topics",
            "notes",
            "redacted",
            "version",
            "recorded_at",
        ]
        read_only_fields = fields


class VisitUpdateSerializer(s.InputSerializer):
    """Input for ``visit_update``."""

    visiting_body = s.PublicIdField(queryset=Party.objects.all(), required=False)
    visited_on = serializers.DateField(required=False)
    visited_on_precision = serializers.ChoiceField(
        choices=choices.DatePrecision.choices, required=False
    )
    detaining_party = s.PublicIdField(queryset=Party.objects.all(), required=False)
    place = s.PublicIdField(queryset=Place.objects.all(), required=False, allow_null=True)
    place_text = serializers.CharField(max_length=200, required=False, allow_blank=True)
    topics = serializers.CharField(required=False, allow_blank=True, help_text="Sensitive.")
    notes = serializers.CharField(required=False, allow_blank=True, help_text="Sensitive.")


class VisitInputSerializer(VisitUpdateSerializer):
    """Input for ``visit_record``; the persons seen are recorded on ``/interviews/``."""

    visiting_body = s.PublicIdField(
        queryset=Party.objects.all(), help_text="Who visited: the ICRC, a protecting power."
    )
    visited_on = serializers.DateField()
    detaining_party = s.PublicIdField(queryset=Party.objects.all())
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class InterviewInputSerializer(s.InputSerializer):
    """Input for ``interview_record``: a person seen during a visit."""

    visit = s.PublicIdField(queryset=Visit.objects.all())
    case = s.PublicIdField(queryset=Case.objects.all())
    in_private = serializers.BooleanField(
        help_text="true: no staff of the detaining power were present."
    )
    interpreter_supplied_by = s.PublicIdField(
        queryset=Party.objects.all(), required=False, allow_null=True
    )
    topics = serializers.CharField(required=False, allow_blank=True, help_text="Sensitive.")
    notes = serializers.CharField(required=False, allow_blank=True, help_text="Sensitive.")


@resource_schema(
    serializer=VisitSerializer,
    list_summary="List visits",
    retrieve_summary="Read a visit",
    create_summary="Record a visit to a place of detention",
    create_description="Record the persons seen on /interviews/. Topics and notes are "
    "sensitive: writing them needs the permission to view sensitive values.",
    create_request=VisitInputSerializer,
    update_request=VisitUpdateSerializer,
    replace_summary="Change a visit",
    change_summary="Change a visit (who visited and when stay once a statement rests on it)",
)
class VisitViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Visits by the ICRC, a protecting power or another body to places of detention."""

    queryset = visits()
    serializer_class = VisitSerializer
    filterset_class = VisitFilterSet
    update_serializer_class = VisitUpdateSerializer
    update_service = staticmethod(services.visit_update)

    def get_queryset(self):
        return visits()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(VisitInputSerializer))
        row = services.visit_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)


@resource_schema(
    serializer=InterviewSerializer,
    list_summary="List private interviews",
    retrieve_summary="Read a private interview",
    create_summary="Record a person seen during a visit",
    create_description="One per person and visit; never edited. A statement taken in it "
    "names it (intentions' interview), which 'verified' needs.",
    create_request=InterviewInputSerializer,
)
class InterviewViewSet(ResourceViewSet):
    """Persons seen during visits, and whether in private."""

    queryset = interviews()
    serializer_class = InterviewSerializer
    filterset_class = InterviewFilterSet

    def get_queryset(self):
        return interviews()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(InterviewInputSerializer))
        row = services.interview_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)
