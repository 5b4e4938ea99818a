"""The peer's serializers: ``ModelSerializer`` per model, nested where the tracker nests.

Sensitive values are withheld with the project's own rule (``cases.security.sensitive``), so
the peer shows an integration what the tracker shows it, under the same keys.
"""

from django.urls import reverse
from django_countries.serializer_fields import CountryField
from rest_framework import serializers

from cases import clocks
from cases.models import (
    Case,
    Party,
    Person,
    PersonName,
    Place,
    Position,
    Request,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.notifications.services import recipients_for
from cases.security import sensitive


def _allowed(context) -> bool:
    """Return whether the request's user may see sensitive values (asked once per answer)."""
    if "allowed" not in context:
        request = context.get("request")
        context["allowed"] = sensitive.can_view_sensitive(getattr(request, "user", None))
    return context["allowed"]


class RedactedMixin:
    """Withhold the model's sensitive fields as the tracker does, and name them in ``redacted``."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["redacted"] = []
        sensitive.redact_fields(
            data, instance._meta.model_name, None, allowed=_allowed(self.context)
        )
        return data


class PartyRefSerializer(serializers.ModelSerializer):
    """A party inside another row."""

    class Meta:
        model = Party
        fields = ["uuid", "name"]


class SourceRefSerializer(serializers.ModelSerializer):
    """A source inside another row."""

    class Meta:
        model = Source
        fields = ["uuid", "title"]


class PlaceRefSerializer(serializers.ModelSerializer):
    """A place inside another row."""

    class Meta:
        model = Place
        fields = ["uuid", "name"]


class NameSerializer(serializers.ModelSerializer):
    """One name variant."""

    class Meta:
        model = PersonName
        fields = ["value", "script", "romanisation", "is_pseudonym"]


class PersonBriefSerializer(RedactedMixin, serializers.ModelSerializer):
    """The person as a case shows him."""

    names = NameSerializer(many=True, read_only=True)

    class Meta:
        model = Person
        fields = ["uuid", "working_name", "names"]


class CaseSerializer(serializers.ModelSerializer):
    """A case as the list shows it."""

    url = serializers.HyperlinkedIdentityField(
        view_name="peer:case-detail", lookup_field="uuid", lookup_url_kwarg="uuid"
    )
    person = PersonBriefSerializer(read_only=True)
    detaining_party = PartyRefSerializer(read_only=True)
    current_place = PlaceRefSerializer(read_only=True)
    capture_card_overdue = serializers.SerializerMethodField()
    assigned_officer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    current_intention = serializers.SerializerMethodField()
    open_request_count = serializers.IntegerField(read_only=True)
    released_to = CountryField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "url",
            "uuid",
            "reference",
            "status",
            "legal_status",
            "person",
            "detaining_party",
            "capture_date",
            "capture_date_precision",
            "capture_place",
            "capture_place_code",
            "detention_place",
            "current_place",
            "capture_card_due_on",
            "capture_card_overdue",
            "priority",
            "assigned_officer",
            "current_intention",
            "open_request_count",
            "version",
            "opened_at",
            "closed_at",
            "updated_at",
            "archived_at",
            "released_to",
            "released_to_place",
        ]

    def get_capture_card_overdue(self, case):
        return clocks.capture_card_overdue(case)

    def get_current_intention(self, case):
        intention = case.current_intention
        if intention is None:
            return None
        return {
            "uuid": str(intention.uuid),
            "option": case.current_intention_option,
            "destination_country": case.current_intention_destination.code or "",
            "verification": case.current_intention_verification,
            "verified": case.current_intention_verified,
            "stated_on": intention.stated_on.isoformat(),
        }


class IntentionSerializer(RedactedMixin, serializers.ModelSerializer):
    """A stated intention."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api:intention-detail", lookup_field="uuid", lookup_url_kwarg="uuid"
    )
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    destination_country = serializers.CharField(source="destination_country.code", default="")
    heard_by = PartyRefSerializer(read_only=True)
    interpreter_supplied_by = PartyRefSerializer(read_only=True)
    present_parties = PartyRefSerializer(many=True, read_only=True)
    verified = serializers.BooleanField(source="is_verified", read_only=True)
    supersedes = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    interview = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = StatedIntention
        fields = [
            "url",
            "uuid",
            "case",
            "option",
            "destination_country",
            "certainty",
            "conditions",
            "quote",
            "quote_language",
            "stated_on",
            "stated_on_precision",
            "heard_by",
            "heard_by_role",
            "setting",
            "interpreter_supplied_by",
            "present_parties",
            "detaining_power_present",
            "options_explained",
            "duress_signs",
            "verification",
            "verified",
            "state",
            "supersedes",
            "interview",
            "source",
            "version",
            "recorded_at",
            "archived_at",
        ]


class PositionSerializer(serializers.ModelSerializer):
    """A party's stance on a request."""

    party = PartyRefSerializer(read_only=True)
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = Position
        fields = ["uuid", "party", "stance", "conditions", "stated_on", "source", "recorded_at"]


class RequestSerializer(serializers.ModelSerializer):
    """A request with the parties' positions on it."""

    url = serializers.HyperlinkedIdentityField(
        view_name="api:request-detail", lookup_field="uuid", lookup_url_kwarg="uuid"
    )
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    requested_by = PartyRefSerializer(read_only=True)
    addressed_to = PartyRefSerializer(read_only=True)
    destination_country = serializers.CharField(source="destination_country.code", default="")
    intention = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    source = SourceRefSerializer(read_only=True)
    positions = PositionSerializer(many=True, read_only=True)

    class Meta:
        model = Request
        fields = [
            "url",
            "uuid",
            "case",
            "kind",
            "requested_by",
            "addressed_to",
            "destination_country",
            "legal_basis",
            "status",
            "filed_on",
            "decided_on",
            "decision_reason",
            "intention",
            "source",
            "positions",
            "version",
            "created_at",
            "updated_at",
            "archived_at",
        ]


class CaseDetailSerializer(CaseSerializer):
    """A case with its intentions, requests, the sources they cite and who is notified."""

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

    def get_sources(self, case):
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

    def get_timeline(self, case):
        path = reverse("api:case-timeline", kwargs={"case_uuid": case.uuid})
        return self.context["request"].build_absolute_uri(path)

    def get_notification_recipients(self, case):
        return PartyRefSerializer(recipients_for(case), many=True).data


class EventCaseSerializer(serializers.ModelSerializer):
    """The case an event belongs to."""

    class Meta:
        model = Case
        fields = ["uuid", "reference"]


class EventSerializer(serializers.ModelSerializer):
    """A timeline event as the feed shows it; sensitive changes withheld with the project's rule."""

    case = EventCaseSerializer(read_only=True)
    actor = serializers.SerializerMethodField()
    source = SourceRefSerializer(read_only=True)

    class Meta:
        model = TimelineEvent
        fields = [
            "uuid",
            "case",
            "case_seq",
            "kind",
            "summary",
            "changes",
            "actor",
            "channel",
            "reason",
            "source",
            "subject_type",
            "subject_uuid",
            "subject_version",
            "object",
            "occurred_at",
            "occurred_precision",
            "recorded_at",
            "prev_hash",
            "hash",
        ]

    def get_actor(self, event):
        return {
            "label": event.actor_label,
            "username": event.actor.username if event.actor_id else None,
        }

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["redacted"] = []
        sensitive.redact_event(data, None, allowed=_allowed(self.context))
        return data
