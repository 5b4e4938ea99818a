"""The notification log in the admin: act on notifications, name a case's recipients.

Notifications are opened by the services (a status change, a transfer), never added here. An
officer opens one and records what was done: sent (day, channel, reference), withheld (the
reason is required) or acknowledged. A case's own recipient list replaces the defaults.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy

from cases.admin.forms import VersionedAdminForm
from cases.admin.mixins import (
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.filters import NotificationFilterSet
from cases.notifications import services
from cases.notifications.models import (
    Notification,
    NotificationChannel,
    NotificationSettings,
    NotificationState,
)
from cases.security import sensitive
from cases.services.base import StaleObjectError


class NotificationActForm(VersionedAdminForm):
    """What an officer does with a notification: send, withhold or acknowledge it."""

    ACTS = (
        ("sent", gettext_lazy("Mark sent")),
        ("withhold", gettext_lazy("Withhold (say why)")),
        ("acknowledge", gettext_lazy("Record the acknowledgement")),
    )
    act = forms.ChoiceField(choices=ACTS, label=gettext_lazy("Action"))
    sent_on = forms.DateField(required=False, label=gettext_lazy("sent on"))
    channel = forms.ChoiceField(
        choices=[("", "---------"), *NotificationChannel.choices],
        required=False,
        label=gettext_lazy("channel"),
    )
    sent_reference = forms.CharField(
        max_length=200, required=False, label=gettext_lazy("sent reference")
    )
    withheld_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=gettext_lazy("withheld reason"),
        help_text=gettext_lazy(
            "Required to withhold: why onward transmission would harm (sensitive)."
        ),
    )
    acknowledged_on = forms.DateField(required=False, label=gettext_lazy("acknowledged on"))
    acknowledgement_reference = forms.CharField(
        max_length=200, required=False, label=gettext_lazy("acknowledgement reference")
    )

    class Meta:
        model = Notification
        fields = ("version",)

    def clean(self):
        cleaned = super().clean()
        act = cleaned.get("act")
        if act == "withhold" and not (cleaned.get("withheld_reason") or "").strip():
            self.add_error(
                "withheld_reason",
                gettext("Say why it is withheld (e.g. it would endanger the family)."),
            )
        if act == "sent" and not cleaned.get("channel"):
            self.add_error("channel", gettext("Say how it was sent."))
        return cleaned


class OverdueNotificationFilter(admin.SimpleListFilter):
    """Pending notifications past their due day (``NotificationFilterSet.overdue``)."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("true", gettext("Overdue")), ("false", gettext("Not overdue")))

    def queryset(self, request, queryset):
        value = self.value()
        if value not in ("true", "false"):
            return queryset
        filterset = NotificationFilterSet({"overdue": value}, queryset=queryset, request=request)
        return filterset.qs


@admin.register(Notification)
class NotificationAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Notifications owed under GC III Art. 122-123; each act lands on the case's timeline."""

    form = NotificationActForm
    list_display = ("case", "reason", "recipient", "state", "occurred_on", "due_on", "is_overdue")
    list_filter = (OverdueNotificationFilter, "state", "reason", "channel")
    list_select_related = ("case", "recipient")
    search_fields = ("case__reference",)
    sensitive_form_fields = sensitive.NOTIFICATION_FIELDS
    readonly_fields = (
        "case",
        "recipient",
        "reports",
        "event_uuid",
        "occurred_on",
        "due_on",
        "state",
        "record",
    )
    fieldsets = (
        (
            None,
            {"fields": (("case", "recipient"), ("reports", "state"), ("occurred_on", "due_on"))},
        ),
        (gettext_lazy("So far"), {"fields": ("record", "event_uuid")}),
        (
            gettext_lazy("Act on it"),
            {
                "fields": (
                    "act",
                    ("sent_on", "channel", "sent_reference"),
                    "withheld_reason",
                    ("acknowledged_on", "acknowledgement_reference"),
                    "reason",
                    "version",
                )
            },
        ),
    )

    def has_add_permission(self, request):
        # Opened by the services when what must be notified happens.
        return False

    @admin.display(boolean=True, description=gettext_lazy("overdue"))
    def is_overdue(self, obj):
        return obj.state == NotificationState.PENDING and obj.due_on < timezone.localdate()

    @admin.display(description=gettext_lazy("reports"))
    def reports(self, obj):
        return obj.get_reason_display()

    @admin.display(description=gettext_lazy("record"))
    def record(self, obj):
        parts = []
        if obj.sent_on:
            parts.append(
                gettext("sent %(date)s (%(channel)s) %(reference)s")
                % {
                    "date": formats.date_format(obj.sent_on, "DATE_FORMAT"),
                    "channel": obj.get_channel_display(),
                    "reference": obj.sent_reference,
                }
            )
        if obj.state == NotificationState.WITHHELD:
            shown = getattr(obj, "_sensitive_allowed", False)
            reason = obj.withheld_reason if shown else gettext("(reason withheld)")
            parts.append(gettext("withheld: %(reason)s") % {"reason": reason})
        if obj.acknowledged_on:
            parts.append(
                gettext("acknowledged %(date)s %(reference)s")
                % {
                    "date": formats.date_format(obj.acknowledged_on, "DATE_FORMAT"),
                    "reference": obj.acknowledgement_reference,
                }
            )
        return "; ".join(p.strip() for p in parts) or gettext("nothing yet")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request)
        common = {
            "actor": actor,
            "notification": obj,
            "expected_version": data.get("version"),
            "reason": data.get("reason", ""),
        }
        try:
            if data["act"] == "sent":
                saved = services.notification_mark_sent(
                    sent_on=data.get("sent_on") or timezone.localdate(),
                    channel=data["channel"],
                    sent_reference=data.get("sent_reference", ""),
                    **common,
                )
            elif data["act"] == "withhold":
                saved = services.notification_withhold(
                    withheld_reason=data.get("withheld_reason", ""), **common
                )
            else:
                saved = services.notification_acknowledge(
                    acknowledged_on=data.get("acknowledged_on") or timezone.localdate(),
                    acknowledgement_reference=data.get("acknowledgement_reference", ""),
                    **common,
                )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, saved)


class NotificationSettingsForm(VersionedAdminForm):
    """A case's own recipient list."""

    class Meta:
        model = NotificationSettings
        fields = ("case", "recipients", "version")


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Who must be notified of a case's events, replacing the defaults (docs/notifications.md)."""

    form = NotificationSettingsForm
    list_display = ("case", "recipient_names", "updated_at")
    list_select_related = ("case",)
    autocomplete_fields = ("case", "recipients")
    search_fields = ("case__reference",)

    def get_readonly_fields(self, request, obj=None):
        return ("case",) if obj is not None else ()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("recipients")

    @admin.display(description=gettext_lazy("recipients"))
    def recipient_names(self, obj):
        return ", ".join(str(party) for party in obj.recipients.all()) or "nobody"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        case = obj.case if change else data["case"]
        try:
            saved = services.notification_recipients_set(
                actor=admin_actor(request),
                case=case,
                recipients=list(data.get("recipients") or ()),
                expected_version=data.get("version") if change else None,
                reason=data.get("reason", ""),
            )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, saved)

    def save_related(self, request, form, formsets, change):
        # The service set the recipients; the form's own m2m save must not run.
        return None
