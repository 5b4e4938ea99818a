"""Requests: on the case page, and on their own page with the parties' positions."""

from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, gettext_lazy

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
from cases.documents.admin import RequestDocumentInline, TargetDocumentsAdminMixin
from cases.models import (
    Position,
    Request,
    StatedIntention,
)
from cases.services import StaleObjectError
from cases.timeline.presenter import date_at_precision


def newer_statement_hint(req: Request, current: StatedIntention | None) -> str:
    """Return a warning when ``current`` (the case's current intention) is newer than the
    statement ``req`` rests on, else "".

    The request is not changed: which statement it rests on is the officer's decision.
    """
    rests_on = req.intention
    if current is None or rests_on is None or current.pk == rests_on.pk:
        return ""
    if (current.stated_on, current.recorded_at) <= (rests_on.stated_on, rests_on.recorded_at):
        return ""
    return gettext(
        "A newer statement (%(date)s, %(level)s) exists; the request rests on an older one "
        "(%(old_date)s, %(old_level)s)."
    ) % {
        "date": date_at_precision(current.stated_on, current.stated_on_precision),
        "level": current.get_verification_display(),
        "old_date": date_at_precision(rests_on.stated_on, rests_on.stated_on_precision),
        "old_level": rests_on.get_verification_display(),
    }


def rests_on_display(req: Request, current: StatedIntention | None):
    """Return the statement a request rests on, with the newer-statement warning if any."""
    if req is None or req.pk is None or req.intention is None:
        return gettext("No statement named.")
    rests_on = req.intention
    text = format_html(
        "{}, {} ({})",
        rests_on.get_option_display(),
        date_at_precision(rests_on.stated_on, rests_on.stated_on_precision),
        rests_on.get_verification_display(),
    )
    hint = newer_statement_hint(req, current)
    if hint:
        return format_html('{}<br><strong class="case-unverified">{}</strong>', text, hint)
    return text


class RequestInline(AddOnlyInline, admin.StackedInline):
    """Requests on the case page with their parties' positions; edited on the request page."""

    model = Request
    form = forms.RequestInlineForm
    # Recorded requests fold to one line with a link to their own page.
    template = "admin/cases/case/stacked_folded.html"
    show_change_link = True
    fold_link_label = gettext_lazy("Open the request: status, dates, positions")
    autocomplete_fields = ("requested_by", "addressed_to", "source")
    readonly_fields = ("status", "rests_on", "positions_summary")
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
                    "rests_on",
                    "positions_summary",
                )
            },
        ),
    )

    @admin.display(description=gettext_lazy("rests on"))
    def rests_on(self, obj):
        parent = getattr(self, "parent_object", None)
        current = parent.current_intention if parent is not None else None
        return rests_on_display(obj, current)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(
                "requested_by", "addressed_to", "source", "intention", "case__current_intention"
            )
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

    @admin.display(description=gettext_lazy("parties' positions"))
    def positions_summary(self, obj):
        if obj is None or obj.pk is None:
            return gettext_lazy(
                "Positions are recorded on the request's own page once it is saved."
            )
        positions = list(obj.positions.all())
        if not positions:
            return gettext_lazy("No position recorded.")
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
class RequestAdmin(
    TargetDocumentsAdminMixin, DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin
):
    """A request on its own page: details, status transitions, parties' positions and the
    documents attached to it."""

    documents_inline = RequestDocumentInline

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
                (gettext_lazy("This change"), {"fields": ("reason",)}),
            ]
        archived = (
            [(gettext_lazy("Archived"), {"fields": ("archived_at",)})] if obj.archived_at else []
        )
        return [
            *archived,
            (None, {"fields": ("case", "kind", *details, "rests_on", "source")}),
            (gettext_lazy("Status"), {"fields": ("status", "decided_on", "decision_reason")}),
            (gettext_lazy("This change"), {"fields": ("reason", "version")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("case", "kind", "source", "rests_on", "archived_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("intention", "case__current_intention")

    @admin.display(description=gettext_lazy("rests on"))
    def rests_on(self, obj):
        return rests_on_display(obj, obj.case.current_intention if obj is not None else None)

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
                        decided_on=data.get("decided_on"),
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
