"""The notification log in the API: ``/api/v1/notifications/`` and the recipients of a case.

Notifications are opened by the services (a status change, a transfer); clients list them,
read them and act on them: ``sent``, ``withhold`` (a reason is required) and ``acknowledge``,
each a POST naming the version read (``If-Match`` or ``version``; 412 stale, 428 missing).
A case's own recipient list is ``/api/v1/notification-recipients/``: POST one for a case
that follows the defaults, PATCH or PUT it with its version.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action

from cases.api import serializers as s
from cases.api.mixins import VersionedUpdateMixin, actor_for, expected_version, without_common
from cases.api.schema import ERRORS, IF_MATCH, LOCKING, NOT_FOUND, resource_schema
from cases.api.views import ResourceViewSet
from cases.filters import NotificationFilterSet
from cases.models import Case, Party, Source
from cases.notifications import services
from cases.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationSettings,
)
from cases.security.policy import policy_for


def notifications():
    """Return notifications with what their representation reads."""
    return Notification.objects.select_related("case", "recipient")


def notification_settings():
    """Return the cases' recipient lists with what their representation reads."""
    return NotificationSettings.objects.select_related("case").prefetch_related("recipients")


class NotificationSerializer(s.SensitiveFieldsMixin, s.RowSerializer):
    """A notification owed to one recipient, and what became of it; why one was withheld
    needs the permission to view sensitive values."""

    redacted = s.redacted_field()

    url = s.DetailUrlField("api:notification-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    recipient = s.PartyRefSerializer(read_only=True)
    event = serializers.UUIDField(
        source="event_uuid", read_only=True, help_text="The timeline event that made it due."
    )

    class Meta:
        model = Notification
        fields = [
            "url",
            "uuid",
            "case",
            "recipient",
            "reason",
            "event",
            "occurred_on",
            "due_on",
            "state",
            "sent_on",
            "channel",
            "sent_reference",
            "withheld_reason",
            "acknowledged_on",
            "acknowledgement_reference",
            "redacted",
            "version",
            "created_at",
            "updated_at",
        ]


class NotificationSettingsSerializer(s.RowSerializer):
    """Who must be notified of one case's events, in place of the defaults."""

    url = s.DetailUrlField("api:notification-recipients-detail")
    case = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    recipients = s.PartyRefSerializer(many=True, read_only=True)

    class Meta:
        model = NotificationSettings
        fields = ["url", "uuid", "case", "recipients", "version", "updated_at"]


class NotificationSentSerializer(s.InputSerializer):
    """Input for ``notification_mark_sent``."""

    sent_on = serializers.DateField()
    channel = serializers.ChoiceField(choices=NotificationChannel.choices)
    sent_reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class NotificationWithholdSerializer(s.InputSerializer):
    """Input for ``notification_withhold``: why it is not transmitted (required)."""

    withheld_reason = serializers.CharField(
        help_text="Why (e.g. onward transmission would endanger the family). Sensitive."
    )
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class NotificationAcknowledgeSerializer(s.InputSerializer):
    """Input for ``notification_acknowledge``."""

    acknowledged_on = serializers.DateField()
    acknowledgement_reference = serializers.CharField(
        max_length=200, required=False, allow_blank=True
    )
    source = s.PublicIdField(queryset=Source.objects.all(), required=False, allow_null=True)


class NotificationSettingsInputSerializer(s.InputSerializer):
    """Input for ``notification_recipients_set``: the whole list (empty: notify nobody)."""

    case = s.PublicIdField(queryset=Case.objects.all(), help_text="Only when creating.")
    recipients = serializers.ListField(
        child=s.PublicIdField(queryset=Party.objects.all()), allow_empty=True
    )


class NotificationSettingsUpdateSerializer(NotificationSettingsInputSerializer):
    """Input for a change of a case's list: the case is not changed here."""

    case = None


def _act_schema(summary: str, request):
    return extend_schema(
        summary=summary,
        request=request,
        parameters=[IF_MATCH],
        responses={200: NotificationSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    )


@resource_schema(
    serializer=NotificationSerializer,
    list_summary="List notifications (GC III Art. 122-123)",
    retrieve_summary="Read a notification",
)
class NotificationViewSet(ResourceViewSet):
    """Notifications owed to the Power a person depends on and the tracing agency."""

    queryset = notifications()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilterSet

    def get_queryset(self):
        return notifications()

    def _act(self, request, service, input_serializer):
        notification = self.get_object()
        version = expected_version(request)
        fields, reason = without_common(self.validated(input_serializer))
        service(
            actor=actor_for(request),
            notification=notification,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(notification.pk)

    @_act_schema("Mark a notification sent", NotificationSentSerializer)
    @action(detail=True, methods=["post"], write_permission="cases.change_notification")
    def sent(self, request, uuid=None, **kwargs):
        return self._act(request, services.notification_mark_sent, NotificationSentSerializer)

    @_act_schema("Withhold a notification, saying why", NotificationWithholdSerializer)
    @action(detail=True, methods=["post"], write_permission="cases.change_notification")
    def withhold(self, request, uuid=None, **kwargs):
        if policy_for(request.user).refused_write_fields("notification", request.data):
            # A writer who may not read why one was withheld may not write it either.
            raise exceptions.PermissionDenied(
                _(
                    "Writing withheld_reason needs the permission to view sensitive values, "
                    "which this account does not hold."
                )
            )
        return self._act(request, services.notification_withhold, NotificationWithholdSerializer)

    @_act_schema("Record a notification's acknowledgement", NotificationAcknowledgeSerializer)
    @action(detail=True, methods=["post"], write_permission="cases.change_notification")
    def acknowledge(self, request, uuid=None, **kwargs):
        return self._act(
            request, services.notification_acknowledge, NotificationAcknowledgeSerializer
        )


@resource_schema(
    serializer=NotificationSettingsSerializer,
    list_summary="List the cases' own notification recipients",
    retrieve_summary="Read a case's notification recipients",
    create_summary="Name a case's notification recipients (replacing the defaults)",
    create_request=NotificationSettingsInputSerializer,
    update_request=NotificationSettingsUpdateSerializer,
    replace_summary="Replace a case's notification recipients",
    change_summary="Replace a case's notification recipients",
)
class NotificationSettingsViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Cases' own lists of who must be notified; a case without one follows the defaults."""

    queryset = notification_settings()
    serializer_class = NotificationSettingsSerializer
    update_serializer_class = NotificationSettingsUpdateSerializer

    def get_queryset(self):
        return notification_settings()

    def update(self, request, *args, partial=False, **kwargs):
        row = self.get_object()
        version = expected_version(request)
        fields, reason = without_common(self.validated(NotificationSettingsUpdateSerializer))
        services.notification_recipients_set(
            actor=actor_for(request),
            case=row.case,
            recipients=fields["recipients"],
            expected_version=version,
            reason=reason,
        )
        return self.row_response(row.pk)

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(NotificationSettingsInputSerializer))
        case = fields["case"]
        if NotificationSettings.objects.filter(case=case).exists():
            raise exceptions.ValidationError(
                {"case": [_("This case has its list already: change it with PATCH or PUT.")]}
            )
        row = services.notification_recipients_set(
            actor=actor_for(request), case=case, recipients=fields["recipients"], reason=reason
        )
        return self.row_response(row.pk, status.HTTP_201_CREATED)
