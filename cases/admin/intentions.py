"""Stated intentions: on the case page, and across cases to mark them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from cases import services
from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    ArchivedListFilter,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    TimelineChangeLogMixin,
    admin_actor,
    archive_action,
)
from cases.choices import IntentionState
from cases.models import (
    StatedIntention,
)
from cases.security import sensitive


class StatedIntentionInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Statements on the case page: read-only once recorded; new ones may supersede one."""

    model = StatedIntention
    form = forms.InlineAddForm
    extra = 1
    verbose_name = "stated intention"
    verbose_name_plural = "stated intentions (a statement is never edited: record a new one)"
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    autocomplete_fields = ("heard_by", "interpreter_supplied_by", "present_parties", "source")
    readonly_fields = ("state",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("option", "destination_country"),
                    ("stated_on", "stated_on_precision"),
                    ("certainty", "state"),
                    "conditions",
                    ("quote", "quote_language"),
                    ("heard_by", "heard_by_role"),
                    ("setting", "interpreter_supplied_by"),
                    "present_parties",
                    ("detaining_power_present", "options_explained"),
                    "duress_signs",
                    ("verification", "source"),
                    "supersedes",
                ),
                "description": "The level must be earned by how the statement was heard: "
                "hearsay is at most reported; letters and media interviews at most stated; "
                "witnessed needs an independent party present; verified a private interview "
                "by a neutral body with no detaining-power staff present, after he was told "
                "his options; reconfirmed an earlier verified statement of the same wish.",
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("heard_by", "interpreter_supplied_by", "source", "supersedes")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "supersedes":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                StatedIntention.objects.filter(case=parent, state=IntentionState.ACTIVE)
                if parent is not None and parent.pk
                else StatedIntention.objects.none()
            )
            kwargs["help_text"] = (
                "For a change of mind: the active statement this one replaces. It stays on "
                "record, marked superseded."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --------------------------------------------------------------------------------------------
# Statements, requests and the timeline on their own pages
# --------------------------------------------------------------------------------------------


def _mark_action(state: str, description: str):
    def action(modeladmin, request, queryset):
        reason = request.POST.get("reason", "").strip()
        done = 0
        for intention in queryset.select_related("case"):
            try:
                services.intention_set_state(
                    actor=admin_actor(request), intention=intention, state=state, reason=reason
                )
            except ValidationError as exc:
                modeladmin.message_user(
                    request,
                    f"{intention.case.reference}, {intention}: {' '.join(exc.messages)}",
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request, f"{done} statement(s) marked {state}.", messages.SUCCESS
            )

    action.__name__ = f"mark_{state}"
    return admin.action(description=description, permissions=("mark",))(action)


@admin.register(StatedIntention)
class StatedIntentionAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, admin.ModelAdmin
):
    """Statements across cases; select some to withdraw, contest, invalidate or reinstate."""

    list_display = ("case", "option", "destination_country", "verification", "state", "stated_on")
    list_filter = (ArchivedListFilter, "state", "verification", "option", "setting")
    list_select_related = ("case",)
    search_fields = ("case__reference", "case__person__working_name")
    action_form = forms.IntentionActionForm
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    actions = (
        archive_action("intention", archive=True, permission="mark"),
        archive_action("intention", archive=False, permission="mark"),
        _mark_action(IntentionState.WITHDRAWN, "Mark withdrawn by the person (give a reason)"),
        _mark_action(IntentionState.CONTESTED, "Mark contested (give a reason)"),
        _mark_action(IntentionState.INVALIDATED, "Mark invalidated (give a reason)"),
        _mark_action(IntentionState.ACTIVE, "Reinstate as active"),
    )

    def has_mark_permission(self, request):
        return request.user.has_perm("cases.change_statedintention")

    def has_add_permission(self, request):
        return False  # statements are recorded on the case page

    def has_change_permission(self, request, obj=None):
        return False  # statements are never edited

    def has_delete_permission(self, request, obj=None):
        return False
