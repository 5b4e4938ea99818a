"""Admin for webhook subscriptions and their attempt log.

Subscriptions are created over the API (``POST /api/v1/webhooks/``), which shows the
secret once in its answer; an admin page could only show it through a message kept in the
session. Here they are listed, read, paused and resumed (through the services).
"""

from django.contrib import admin, messages

from cases.admin.mixins import DeclaredLookupsMixin
from cases.webhooks import services
from cases.webhooks.models import WebhookAttempt, WebhookSubscription


class WebhookAttemptInline(admin.TabularInline):
    """The latest attempts, read-only; the full log is the attempt list."""

    model = WebhookAttempt
    fields = ["attempted_at", "event_uuid", "event_kind", "attempt", "outcome", "status_code"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    ordering = ["-attempted_at", "-id"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-attempted_at", "-id")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """Subscriptions without their secrets; pause and resume are actions."""

    list_display = [
        "name",
        "target_url",
        "account",
        "active",
        "paused_reason",
        "failures",
        "next_attempt_at",
        "lease_owner",
    ]
    list_filter = ["active"]
    search_fields = ["name", "target_url", "account__username"]
    fields = [
        "uuid",
        "name",
        "target_url",
        "account",
        "event_kinds",
        "subject_types",
        "case_filter",
        "active",
        "paused_reason",
        "paused_at",
        "position_xact_id",
        "position_event_id",
        "failures",
        "failing_since",
        "next_attempt_at",
        "previous_secret_expires_at",
        "lease_owner",
        "lease_expires_at",
        "created_at",
        "created_by",
    ]
    readonly_fields = fields
    actions = ["pause", "resume"]
    inlines = [WebhookAttemptInline]

    def has_add_permission(self, request):
        # The secret is shown once, in the API's answer to the create.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Pause the selected subscriptions", permissions=["change"])
    def pause(self, request, queryset):
        """Pause each selected subscription, keeping its position."""
        for subscription in queryset:
            services.webhook_subscription_pause(
                subscription=subscription, reason=f"Paused in the admin by {request.user}."
            )
        self.message_user(request, f"{queryset.count()} paused.", messages.SUCCESS)

    @admin.action(description="Resume the selected subscriptions", permissions=["change"])
    def resume(self, request, queryset):
        """Resume each selected subscription from where it stopped."""
        for subscription in queryset:
            services.webhook_subscription_resume(subscription=subscription)
        self.message_user(request, f"{queryset.count()} resumed.", messages.SUCCESS)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """The delivery attempt log: status, latency, error; never a payload. Read-only."""

    list_display = [
        "attempted_at",
        "subscription",
        "event_uuid",
        "event_kind",
        "attempt",
        "redelivery",
        "outcome",
        "status_code",
        "latency_ms",
        "error",
    ]
    list_filter = ["outcome", "redelivery", "attempted_at"]
    list_select_related = ["subscription"]
    date_hierarchy = "attempted_at"
    show_full_result_count = False
    fields = [*list_display, "worker"]
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
