"""Stated intentions: on the case page, and across cases to mark them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext, gettext_lazy, ngettext

from cases import services
from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    ArchivedListFilter,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    archive_action,
)
from cases.choices import IntentionState
from cases.documents.admin import StatementDocumentInline, TargetDocumentsAdminMixin
from cases.models import (
    Interview,
    StatedIntention,
)
from cases.security import sensitive


class StatedIntentionInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Statements on the case page: read-only once recorded; new ones may supersede one."""

    model = StatedIntention
    form = forms.InlineAddForm
    # The form of a new statement opens with "Add another": closed, it keeps the page short.
    extra = 0
    verbose_name = gettext_lazy("stated intention")
    verbose_name_plural = gettext_lazy(
        "stated intentions (a statement is never edited: record a new one)"
    )
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    # Recorded statements fold to one line (option, date at its precision, level, state).
    template = "admin/cases/case/stacked_folded.html"
    fold_summary = "statement"
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
                    ("verification", "interview"),
                    ("source", "supersedes"),
                ),
                "description": gettext_lazy(
                    "The level must be earned by how the statement was heard: "
                    "hearsay is at most reported; letters and media interviews at most stated; "
                    "witnessed needs an independent party present; verified a private interview "
                    "by a neutral body with no detaining-power staff present, after he was told "
                    "his options, taken in a private interview recorded with the visit (name it "
                    "under interview: same day, heard by the visiting body); reconfirmed an "
                    "earlier verified statement of the same wish, and the interview too unless "
                    "taken at a handover."
                ),
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "heard_by",
                "interpreter_supplied_by",
                "source",
                "supersedes",
                "interview__visit__visiting_body",
                "interview__visit__place",
            )
            # The parties present, shown on each recorded statement, in one query.
            .prefetch_related("present_parties")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "supersedes":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                StatedIntention.objects.filter(case=parent, state=IntentionState.ACTIVE)
                if parent is not None and parent.pk
                else StatedIntention.objects.none()
            )
            kwargs["help_text"] = gettext_lazy(
                "For a change of mind: the active statement this one replaces. It stays on "
                "record, marked superseded."
            )
        elif db_field.name == "interview":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                Interview.objects.filter(case=parent).select_related(
                    "visit__visiting_body", "visit__place"
                )
                if parent is not None and parent.pk
                else Interview.objects.none()
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
                    gettext("%(record)s: %(problem)s")
                    % {
                        "record": f"{intention.case.reference}, {intention}",
                        "problem": " ".join(exc.messages),
                    },
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request,
                ngettext(
                    "%(count)d statement marked %(state)s.",
                    "%(count)d statements marked %(state)s.",
                    done,
                )
                % {"count": done, "state": str(IntentionState(state).label).lower()},
                messages.SUCCESS,
            )

    action.__name__ = f"mark_{state}"
    return admin.action(description=description, permissions=("mark",))(action)


@admin.register(StatedIntention)
class StatedIntentionAdmin(
    TargetDocumentsAdminMixin,
    DeclaredLookupsMixin,
    TimelineChangeLogMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
):
    """Statements across cases; select some to withdraw, contest, invalidate or reinstate.

    A statement's page shows it read-only with the documents attached to it; its save
    attaches new documents and changes nothing else.
    """

    documents_inline = StatementDocumentInline

    list_display = ("case", "option", "destination_country", "verification", "state", "stated_on")
    list_filter = (ArchivedListFilter, "state", "verification", "option", "setting")
    list_select_related = ("case",)
    search_fields = ("case__reference", "case__person__working_name")
    action_form = forms.IntentionActionForm
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    actions = (
        archive_action("intention", archive=True, permission="mark"),
        archive_action("intention", archive=False, permission="mark"),
        _mark_action(
            IntentionState.WITHDRAWN, gettext_lazy("Mark withdrawn by the person (give a reason)")
        ),
        _mark_action(IntentionState.CONTESTED, gettext_lazy("Mark contested (give a reason)")),
        _mark_action(IntentionState.INVALIDATED, gettext_lazy("Mark invalidated (give a reason)")),
        _mark_action(IntentionState.ACTIVE, gettext_lazy("Reinstate as active")),
    )

    def has_mark_permission(self, request):
        return request.user.has_perm("cases.change_statedintention")

    def has_add_permission(self, request):
        return False  # statements are recorded on the case page

    def has_change_permission(self, request, obj=None):
        # Statements are never edited: a statement's page saves only documents attached to it.
        return obj is not None and request.user.has_perm("cases.add_document")

    def get_readonly_fields(self, request, obj=None):
        opts = self.model._meta
        return [f.name for f in [*opts.fields, *opts.many_to_many] if f.editable and f.name != "id"]

    def save_model(self, request, obj, form, change):
        """Change nothing: every field is read-only; new documents are saved with the inline."""

    def has_delete_permission(self, request, obj=None):
        return False
