"""Requests: on the case page, and on their own page with the parties' positions."""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html_join

from cases import choices, services
from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    ArchivedListFilter,
    DeclaredLookupsMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    archive_action,
    refuse,
    update_then_transition,
)
from cases.models import (
    Position,
    Request,
    StatedIntention,
)
from cases.services import StaleObjectError


class RequestInline(AddOnlyInline, admin.StackedInline):
    """Requests on the case page with their parties' positions; edited on the request page."""

    model = Request
    form = forms.RequestInlineForm
    show_change_link = True
    autocomplete_fields = ("requested_by", "addressed_to", "source")
    readonly_fields = ("status", "positions_summary")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("kind", "status"),
                    ("requested_by", "addressed_to"),
                    ("destination_country", "legal_basis"),
                    ("filed_on", "draft"),
                    ("intention", "source"),
                    "positions_summary",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("requested_by", "addressed_to", "source", "intention")
            .prefetch_related("positions__party")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "intention":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                StatedIntention.objects.filter(case=parent)
                if parent is not None and parent.pk
                else StatedIntention.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="parties' positions")
    def positions_summary(self, obj):
        if obj is None or obj.pk is None:
            return "Positions are recorded on the request's own page once it is saved."
        positions = list(obj.positions.all())
        if not positions:
            return "No position recorded."
        return format_html_join(
            "",
            "<div>{}: <strong>{}</strong> ({}){}</div>",
            (
                (
                    p.party,
                    p.get_stance_display(),
                    p.stated_on,
                    f" — {p.conditions}" if p.conditions else "",
                )
                for p in positions
            ),
        )


class PositionInline(AddOnlyInline, admin.TabularInline):
    """Parties' positions on the request: recorded, never edited."""

    model = Position
    form = forms.InlineAddForm
    extra = 1
    fields = ("party", "stance", "conditions", "stated_on", "source")
    autocomplete_fields = ("party", "source")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("party", "source")


@admin.register(Request)
class RequestAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """A request on its own page: details, status transitions and parties' positions."""

    form = forms.RequestAdminForm
    inlines = (PositionInline,)
    list_display = ("case", "kind", "destination_country", "addressed_to", "status", "filed_on")
    list_filter = (ArchivedListFilter, "kind", "status")
    action_form = forms.ReasonActionForm
    actions = (
        archive_action("request", archive=True),
        archive_action("request", archive=False),
    )
    list_select_related = ("case", "addressed_to")
    search_fields = ("case__reference", "addressed_to__name")
    autocomplete_fields = ("case", "requested_by", "addressed_to", "source")

    def get_fieldsets(self, request, obj=None):
        details = (
            ("requested_by", "addressed_to"),
            ("destination_country", "legal_basis"),
            "filed_on",
            "intention",
        )
        if obj is None:
            return [
                (None, {"fields": ("case", "kind", "status", *details, "source")}),
                ("This change", {"fields": ("reason",)}),
            ]
        archived = [("Archived", {"fields": ("archived_at",)})] if obj.archived_at else []
        return [
            *archived,
            (None, {"fields": ("case", "kind", *details, "source")}),
            ("Status", {"fields": ("status", "decided_on", "decision_reason")}),
            ("This change", {"fields": ("reason", "version")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("case", "kind", "source", "decided_on", "archived_at")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request)
        reason = data.get("reason", "")
        try:
            if change:
                req = update_then_transition(
                    form,
                    update=partial(services.request_update, actor=actor, request=obj),
                    fields=services.REQUEST_FIELDS,
                    transition=lambda req, **status: services.request_transition(
                        actor=actor,
                        request=req,
                        decision_reason=data.get("decision_reason", ""),
                        **status,
                    ),
                )
            else:
                fields = {
                    n: data[n]
                    for n in services.REQUEST_FIELDS
                    if n in data and n != "addressed_to" and data[n] not in (None, "")
                }
                req = services.request_file(
                    actor=actor,
                    case=data["case"],
                    kind=data["kind"],
                    addressed_to=data["addressed_to"],
                    draft=data["status"] == choices.RequestStatus.DRAFT,
                    reason=reason,
                    source=data.get("source"),
                    **fields,
                )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, req)

    def add_position(self, request, form, data):
        """Record a party's position on this request."""
        return services.position_record(
            actor=admin_actor(request),
            request=form.instance,
            party=data["party"],
            stance=data["stance"],
            stated_on=data["stated_on"],
            conditions=data.get("conditions", ""),
            reason=form.cleaned_data.get("reason", ""),
            source=data.get("source"),
        )
