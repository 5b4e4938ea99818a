"""``/api/v1/webhooks/``: create, list, read, edit, pause, resume, rotate, replay, redeliver,
attempts, changes.

Reading needs ``cases.view_webhooksubscription``, creating ``cases.add_webhooksubscription``,
every other write ``cases.change_webhooksubscription`` (an edit also needs the subscription's
``version``, as every edit of a row does), the log of changes ``view_webhooksubscription``
and the attempt log
``cases.view_webhookattempt`` (case officers hold them). A secret is in the answer to the
create and the rotate only; nothing ever shows it again.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.api.idempotency import IdempotentWritesMixin
from cases.api.mixins import expected_version
from cases.api.schema import ERRORS, IF_MATCH, LOCKING, NOT_FOUND, READ_ERRORS
from cases.api.serializers import RowSerializer
from cases.api.views import PageNumberPages
from cases.choices import EventKind
from cases.feed import cursor as feed
from cases.webhooks import services
from cases.webhooks.models import (
    WebhookAttempt,
    WebhookSubscription,
    WebhookSubscriptionChange,
)


def _help_text(name: str):
    """Return the (translated) help text of a subscription's column."""
    return WebhookSubscription._meta.get_field(name).help_text


@extend_schema_field(
    {
        "type": "object",
        "description": (
            "Each setting changed, as [old, new]; a replay lists `position` (feed cursors) "
            "and what it was asked for (`since` or `after`, old null)."
        ),
        "additionalProperties": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {
                "oneOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"type": "string"}},
                    {"type": "null"},
                ]
            },
        },
    }
)
class SettingChangesField(serializers.JSONField):
    """``{setting: [old, new]}`` of one recorded edit or replay."""


class WebhookSubscriptionSerializer(RowSerializer):
    """A subscription as the API shows it: never its secret."""

    account = serializers.CharField(source="account.username", read_only=True)
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        read_only=True,
        help_text=_help_text("event_kinds"),
    )
    subject_types = serializers.ListField(
        child=serializers.CharField(min_length=1, max_length=32),
        read_only=True,
        help_text=_help_text("subject_types"),
    )
    created_by = serializers.SerializerMethodField()
    cursor = serializers.SerializerMethodField(
        help_text="The feed cursor of the last event delivered (or skipped as filtered out)."
    )

    class Meta:
        model = WebhookSubscription
        fields = [
            "uuid",
            "name",
            "target_url",
            "event_kinds",
            "subject_types",
            "case_filter",
            "account",
            "active",
            "paused_reason",
            "paused_at",
            "cursor",
            "failures",
            "next_attempt_at",
            "previous_secret_expires_at",
            "created_at",
            "created_by",
            "version",
        ]
        read_only_fields = fields

    def get_created_by(self, subscription) -> str | None:
        """Return the creator's username."""
        return subscription.created_by.username if subscription.created_by_id else None

    def get_cursor(self, subscription) -> str:
        """Return the subscription's position as an opaque feed cursor."""
        state = self.context.get("feed_state") or feed.read_state()
        position = feed.Position(subscription.position_xact_id, subscription.position_event_id)
        return feed.encode_cursor(state, position)


class WebhookCreateSerializer(serializers.Serializer):
    """What a new subscription needs."""

    name = serializers.CharField(max_length=100)
    target_url = serializers.URLField(max_length=1000)
    account = serializers.CharField(
        required=False, help_text="Username whose permissions it carries; default: yours."
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False, default=list
    )
    subject_types = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False, default=list
    )
    case_filter = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, default=""
    )
    start = serializers.ChoiceField(choices=["now", "beginning"], default="now")


class WebhookUpdateSerializer(serializers.Serializer):
    """What an edit may change; every field is optional, the position is kept."""

    name = serializers.CharField(max_length=100, required=False)
    target_url = serializers.URLField(max_length=1000, required=False)
    account = serializers.CharField(
        required=False, help_text="Username whose permissions it carries."
    )
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices), required=False
    )
    subject_types = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False
    )
    case_filter = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The version being changed (or If-Match)."
    )


class WebhookChangeSerializer(RowSerializer):
    """One recorded edit or replay of a subscription."""

    changed_by = serializers.SerializerMethodField()
    changes = SettingChangesField(read_only=True)

    class Meta:
        model = WebhookSubscriptionChange
        fields = ["changed_at", "changed_by", "action", "summary", "changes"]
        read_only_fields = fields

    def get_changed_by(self, change) -> str | None:
        """Return the editor's username."""
        return change.changed_by.username if change.changed_by_id else None


class WebhookCreatedSerializer(WebhookSubscriptionSerializer):
    """A new (or rotated) subscription with its secret, shown this once."""

    secret = serializers.SerializerMethodField()

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    def get_secret(self, subscription) -> str:
        """Return the secret handed to the serializer (never read from the row)."""
        return self.context["secret"]


class WebhookAttemptSerializer(RowSerializer):
    """One delivery attempt: no payload."""

    class Meta:
        model = WebhookAttempt
        fields = [
            "event_uuid",
            "event_kind",
            "attempted_at",
            "attempt",
            "redelivery",
            "outcome",
            "status_code",
            "latency_ms",
            "error",
        ]
        read_only_fields = fields


_ATTEMPT_PAGE = inline_serializer(
    "WebhookAttemptPage",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": WebhookAttemptSerializer(many=True),
    },
)
_CHANGE_PAGE = inline_serializer(
    "WebhookChangePage",
    {
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": WebhookChangeSerializer(many=True),
    },
)
_PAUSE = inline_serializer("WebhookPause", {"reason": serializers.CharField(required=False)})
_ROTATE = inline_serializer(
    "WebhookRotate", {"grace_seconds": serializers.FloatField(required=False, min_value=0)}
)
_REPLAY = inline_serializer(
    "WebhookReplay",
    {
        "after": serializers.CharField(required=False, allow_blank=True),
        "since": serializers.DateTimeField(required=False),
    },
)
_REDELIVER = inline_serializer("WebhookRedeliver", {"event": serializers.UUIDField()})
CHANGE = "cases.change_webhooksubscription"


@extend_schema_view(
    list=extend_schema(responses={200: WebhookSubscriptionSerializer(many=True), **READ_ERRORS}),
    retrieve=extend_schema(
        responses={200: WebhookSubscriptionSerializer, **READ_ERRORS, **NOT_FOUND}
    ),
)
class WebhookSubscriptionViewSet(
    IdempotentWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Webhook subscriptions of the change feed (docs/webhooks.md)."""

    http_method_names = ["get", "post", "patch", "head", "options"]

    queryset = WebhookSubscription.objects.select_related("account", "created_by").order_by("id")
    serializer_class = WebhookSubscriptionSerializer
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPages
    filter_backends = []
    write_permission: str | None = None
    read_permission: str | None = None

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["feed_state"] = feed.read_state()
        return context

    def _validated(self, serializer) -> dict:
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _row(self, subscription, secret: str | None = None, code=status.HTTP_200_OK):
        context = self.get_serializer_context()
        if secret is None:
            return Response(WebhookSubscriptionSerializer(subscription, context=context).data, code)
        context["secret"] = secret
        return Response(WebhookCreatedSerializer(subscription, context=context).data, code)

    @extend_schema(
        request=WebhookCreateSerializer, responses={201: WebhookCreatedSerializer, **ERRORS}
    )
    def create(self, request, *args, **kwargs):
        """Create a subscription; the answer holds its secret, shown this once."""
        data = self._validated(WebhookCreateSerializer(data=request.data))
        account = request.user
        if data.get("account"):
            account = get_user_model().objects.filter(username=data["account"]).first()
            if account is None:
                raise exceptions.ValidationError({"account": [_("No account has this username.")]})
        subscription, secret = services.webhook_subscription_create(
            created_by=request.user,
            name=data["name"],
            target_url=data["target_url"],
            account=account,
            event_kinds=data["event_kinds"],
            subject_types=data["subject_types"],
            case_filter=data["case_filter"],
            start=data["start"],
        )
        return self._row(subscription, secret, status.HTTP_201_CREATED)

    @extend_schema(
        request=WebhookUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: WebhookSubscriptionSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    )
    def partial_update(self, request, *args, **kwargs):
        """Change the URL, the event filters, the account or the name; the position stays."""
        subscription = self.get_object()
        version = expected_version(request)
        data = dict(self._validated(WebhookUpdateSerializer(data=request.data)))
        data.pop("version", None)
        if "account" in data:
            account = get_user_model().objects.filter(username=data["account"]).first()
            if account is None:
                raise exceptions.ValidationError({"account": [_("No account has this username.")]})
            data["account"] = account
        subscription = services.webhook_subscription_update(
            subscription=subscription,
            changed_by=request.user,
            expected_version=version,
            **data,
        )
        return self._row(subscription)

    @extend_schema(
        request=_PAUSE, responses={200: WebhookSubscriptionSerializer, **ERRORS, **NOT_FOUND}
    )
    @action(detail=True, methods=["post"], write_permission=CHANGE)
    def pause(self, request, uuid=None, **kwargs):
        """Stop deliveries, keeping the position."""
        reason = str(request.data.get("reason", "") or "Paused through the API.")[:1000]
        subscription = services.webhook_subscription_pause(
            subscription=self.get_object(), reason=reason
        )
        return self._row(subscription)

    @extend_schema(
        request=None, responses={200: WebhookSubscriptionSerializer, **ERRORS, **NOT_FOUND}
    )
    @action(detail=True, methods=["post"], write_permission=CHANGE)
    def resume(self, request, uuid=None, **kwargs):
        """Resume deliveries from where they stopped."""
        return self._row(services.webhook_subscription_resume(subscription=self.get_object()))

    @extend_schema(
        request=_ROTATE, responses={200: WebhookCreatedSerializer, **ERRORS, **NOT_FOUND}
    )
    @action(detail=True, methods=["post"], write_permission=CHANGE)
    def rotate(self, request, uuid=None, **kwargs):
        """Issue a new secret; the old one keeps signing for the grace period."""
        body = self._validated(_ROTATE.__class__(data=request.data))
        subscription, secret = services.webhook_subscription_rotate(
            subscription=self.get_object(), grace_seconds=body.get("grace_seconds")
        )
        return self._row(subscription, secret)

    @extend_schema(
        request=_REPLAY, responses={200: WebhookSubscriptionSerializer, **ERRORS, **NOT_FOUND}
    )
    @action(detail=True, methods=["post"], write_permission=CHANGE)
    def replay(self, request, uuid=None, **kwargs):
        """Send again every event after a feed cursor (``after``) or since a time (``since``).

        ``since`` moves the position to just before the first event (in feed order)
        recorded at or after that time. The move is recorded among the changes.
        """
        body = self._validated(_REPLAY.__class__(data=request.data))
        subscription = services.webhook_subscription_replay(
            subscription=self.get_object(),
            after=body.get("after"),
            since=body.get("since"),
            requested_by=request.user,
        )
        return self._row(subscription)

    @extend_schema(request=_REDELIVER, responses={202: None, **ERRORS, **NOT_FOUND})
    @action(detail=True, methods=["post"], write_permission=CHANGE)
    def redeliver(self, request, uuid=None, **kwargs):
        """Queue one event the subscription already passed to be sent again."""
        body = self._validated(_REDELIVER.__class__(data=request.data))
        services.webhook_redeliver(
            subscription=self.get_object(), event_uuid=body["event"], requested_by=request.user
        )
        return Response({"detail": "Queued."}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: _ATTEMPT_PAGE, **READ_ERRORS, **NOT_FOUND})
    @action(
        detail=True,
        methods=["get"],
        read_permission="cases.view_webhookattempt",
        serializer_class=WebhookAttemptSerializer,
    )
    def attempts(self, request, uuid=None, **kwargs):
        """The subscription's delivery attempts, newest first (status, latency, error)."""
        subscription = self.get_object()
        queryset = WebhookAttempt.objects.filter(subscription=subscription).order_by(
            "-attempted_at", "-id"
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookAttemptSerializer(page, many=True).data)

    @extend_schema(responses={200: _CHANGE_PAGE, **READ_ERRORS, **NOT_FOUND})
    @action(detail=True, methods=["get"], serializer_class=WebhookChangeSerializer)
    def changes(self, request, uuid=None, **kwargs):
        """The subscription's recorded edits and replays, newest first."""
        subscription = self.get_object()
        queryset = WebhookSubscriptionChange.objects.filter(
            subscription=subscription
        ).select_related("changed_by")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookChangeSerializer(page, many=True).data)
