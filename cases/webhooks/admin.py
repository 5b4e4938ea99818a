"""Admin for webhook subscriptions, their changes and their attempt log.

Subscriptions are created over the API (``POST /api/v1/webhooks/``), which shows the
secret once in its answer; an admin page could only show it through a message kept in the
session. Here they are listed, read, edited (URL, filters, account), replayed from a time
or a cursor, paused and resumed, all through the services.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy, ngettext

from cases.admin.mixins import DeclaredLookupsMixin
from cases.choices import EventKind
from cases.feed import cursor as feed
from cases.webhooks import services
from cases.webhooks.models import (
    WebhookAttempt,
    WebhookSubscription,
    WebhookSubscriptionChange,
)


class WebhookSubscriptionForm(forms.ModelForm):
    """The editable settings, checked by the service's rules, and an optional replay."""

    event_kinds = forms.MultipleChoiceField(
        choices=EventKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )
    subject_types = forms.CharField(
        required=False,
        help_text="Comma-separated, e.g. case, statedintention; empty: every type.",
    )
    # Not "version": the model's field of that name is not editable.
    expected_version = forms.IntegerField(widget=forms.HiddenInput)
    replay_since = forms.SplitDateTimeField(
        required=False,
        widget=widgets.AdminSplitDateTime,
        label=gettext_lazy("Replay from"),
        help_text=gettext_lazy(
            "Send again every event recorded at or after this time (and resume)."
        ),
    )
    replay_after = forms.CharField(
        required=False,
        label=gettext_lazy("Replay after cursor"),
        help_text=gettext_lazy(
            "Or a feed cursor (next_cursor of /api/v1/events/); 'start' for the "
            "beginning of the feed."
        ),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "target_url", "account", "event_kinds", "subject_types", "case_filter"]

    user = None  # set by the admin: whose edit this is

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["subject_types"] = ", ".join(self.instance.subject_types)
            self.initial["expected_version"] = self.instance.version

    def clean_subject_types(self) -> list[str]:
        value = self.cleaned_data.get("subject_types") or ""
        return [part.strip() for part in value.split(",") if part.strip()]

    def changes(self) -> dict:
        """Return the settings the service is asked to change."""
        return {name: self.cleaned_data[name] for name in services.EDITABLE}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        services.webhook_subscription_check_update(
            subscription=self.instance,
            changed_by=self.user,
            expected_version=data.get("expected_version"),
            **self.changes(),
        )
        since, after = data.get("replay_since"), (data.get("replay_after") or "").strip()
        if since and after:
            raise ValidationError(
                {"replay_after": [gettext("Replay from a time or a cursor, not both.")]}
            )
        if after and after != "start":
            try:
                feed.decode_cursor(after, feed.read_state())
            except (feed.CursorError, feed.CursorGone) as exc:
                raise ValidationError({"replay_after": [str(exc)]}) from None
        return data

    def _post_clean(self):
        # The service writes the row; the model form must not copy the cleaned values into
        # the instance (that would be a second write path).
        pass


class WebhookChangeInline(admin.TabularInline):
    """Who edited or replayed the subscription, when, and what changed."""

    model = WebhookSubscriptionChange
    fields = ["changed_at", "changed_by", "action", "summary", "changes"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name_plural = "changes (edits and replays)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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
    form = WebhookSubscriptionForm
    editable = ["name", "target_url", "account", "event_kinds", "subject_types", "case_filter"]
    fieldsets = [
        (None, {"fields": ["uuid", *editable, "expected_version"]}),
        ("Replay", {"fields": ["replay_since", "replay_after"], "classes": ["collapse"]}),
        (
            "Deliveries",
            {
                "fields": [
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
            },
        ),
    ]
    readonly_fields = [
        "uuid",
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
    actions = ["pause", "resume"]
    inlines = [WebhookChangeInline, WebhookAttemptInline]

    def get_readonly_fields(self, request, obj=None):
        if obj is None or not self.has_change_permission(request, obj):
            return [*self.editable, *self.readonly_fields]
        return self.readonly_fields

    def get_fieldsets(self, request, obj=None):
        if obj is None or not self.has_change_permission(request, obj):
            return [
                (None, {"fields": ["uuid", *self.editable]}),
                self.fieldsets[2],
            ]
        return self.fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.user = request.user
        return form

    def save_model(self, request, obj, form, change):
        """Write the edit, then the replay asked for, each through its service."""
        services.webhook_subscription_update(
            subscription=obj,
            changed_by=request.user,
            expected_version=form.cleaned_data["expected_version"],
            **form.changes(),
        )
        since = form.cleaned_data.get("replay_since")
        after = (form.cleaned_data.get("replay_after") or "").strip()
        if since or after:
            services.webhook_subscription_replay(
                subscription=obj,
                since=since or None,
                after=None if since else ("" if after == "start" else after),
                requested_by=request.user,
            )
            self.message_user(request, gettext("Replay requested."), messages.SUCCESS)

    def has_add_permission(self, request):
        # The secret is shown once, in the API's answer to the create.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(
        description=gettext_lazy("Pause the selected subscriptions"), permissions=["change"]
    )
    def pause(self, request, queryset):
        """Pause each selected subscription, keeping its position."""
        for subscription in queryset:
            services.webhook_subscription_pause(
                subscription=subscription, reason=f"Paused in the admin by {request.user}."
            )
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d paused.", "%(count)d paused.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(
        description=gettext_lazy("Resume the selected subscriptions"), permissions=["change"]
    )
    def resume(self, request, queryset):
        """Resume each selected subscription from where it stopped."""
        for subscription in queryset:
            services.webhook_subscription_resume(subscription=subscription)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)d resumed.", "%(count)d resumed.", count) % {"count": count},
            messages.SUCCESS,
        )


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
