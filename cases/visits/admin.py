"""Visits and private interviews in the case officers' admin.

A visit has its own page with the persons seen as an inline: a new row records an
interview (``interview_record``); recorded ones are read-only. The case page lists the
person's interviews and can record one on a visit already on record. Topics and notes are
sensitive: they leave the forms of an officer who may not see them, and a page that shows
them to one who may is written to the access log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.security import sensitive
from cases.visits import services
from cases.visits.models import Interview, Visit

#: The fields of a visit's form, in order.
VISIT_FORM_FIELDS = (
    "visiting_body",
    "visited_on",
    "visited_on_precision",
    "detaining_party",
    "place",
    "place_text",
    "topics",
    "notes",
    "source",
)


class VisitForm(forms.VersionedAdminForm):
    """A visit's details, against the version loaded, with the reason for a change."""

    class Meta:
        model = Visit
        fields = VISIT_FORM_FIELDS


class InterviewInline(SensitiveInlineMixin, AddOnlyInline, admin.TabularInline):
    """The persons seen during the visit: recorded, never edited."""

    model = Interview
    form = forms.InlineAddForm
    extra = 1
    verbose_name = _("person seen")
    verbose_name_plural = _("persons seen (a recorded interview is never edited)")
    sensitive_form_fields = sensitive.INTERVIEW_FIELDS
    fields = ("case", "in_private", "interpreter_supplied_by", "topics", "notes")
    autocomplete_fields = ("case", "interpreter_supplied_by")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "interpreter_supplied_by")


@admin.register(Visit)
class VisitAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Visits to places of detention by the ICRC, a protecting power or another body."""

    form = VisitForm
    inlines = (InterviewInline,)
    list_display = ("visiting_body", "visited_on", "detaining_party", "place", "place_text")
    list_filter = ("visited_on_precision",)
    list_select_related = ("visiting_body", "detaining_party", "place")
    search_fields = ("visiting_body__name", "place__name", "place_text")
    autocomplete_fields = ("visiting_body", "detaining_party", "place", "source")
    sensitive_form_fields = sensitive.VISIT_FIELDS
    date_hierarchy = None

    def get_fieldsets(self, request, obj=None):
        fields = (
            (*VISIT_FORM_FIELDS, "reason", "version") if obj else (*VISIT_FORM_FIELDS, "reason")
        )
        return self.redact_fieldsets(request, [(None, {"fields": fields})])

    def sensitive_reads(self, request, obj) -> dict[tuple[str, Any], list[str]]:
        reads = dict(super().sensitive_reads(request, obj))
        for interview in obj.interviews.all():
            values = sensitive.sensitive_values(interview)
            if values:
                reads[("interview", interview.uuid)] = sorted(values)
        return reads

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        reason = data.get("reason", "")
        names = [n for n in VISIT_FORM_FIELDS if n in form.fields]
        try:
            if change:
                changed = {n: data[n] for n in names if n in form.changed_data and n != "source"}
                visit = services.visit_update(
                    actor=admin_actor(request),
                    visit=obj,
                    expected_version=data.get("version"),
                    reason=reason,
                    **changed,
                )
            else:
                fields = {n: data[n] for n in names if n in data}
                visit = services.visit_record(actor=admin_actor(request), reason=reason, **fields)
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, visit)

    def add_interview(self, request, form, data):
        """Record a person seen during this visit."""
        return services.interview_record(
            actor=admin_actor(request),
            visit=Visit.objects.select_related("visiting_body", "detaining_party").get(
                pk=form.instance.pk
            ),
            case=data["case"],
            reason=form.cleaned_data.get("reason", ""),
            **{n: data[n] for n in services.INTERVIEW_FIELDS if n in data},
        )


# --------------------------------------------------------------------------------------------
# On the case page
# --------------------------------------------------------------------------------------------


class CaseInterviewInline(SensitiveInlineMixin, AddOnlyInline, admin.TabularInline):
    """The person's interviews during visits; a new row records one on a visit on record."""

    model = Interview
    fk_name = "case"
    form = forms.InlineAddForm
    verbose_name = _("private interview")
    verbose_name_plural = _("private interviews during visits (a statement taken in one names it)")
    sensitive_form_fields = sensitive.INTERVIEW_FIELDS
    fields = ("visit", "in_private", "interpreter_supplied_by", "topics", "notes", "visit_page")
    readonly_fields = ("visit_page",)
    autocomplete_fields = ("visit", "interpreter_supplied_by")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("visit__visiting_body", "interpreter_supplied_by")
        )

    @admin.display(description=_("the visit"))
    def visit_page(self, obj):
        """Link the visit's own page by words that say what is there."""
        if obj is None or obj.pk is None:
            return ""
        url = reverse("admin:cases_visit_change", args=[obj.visit_id])
        return format_html('<a href="{}">{}</a>', url, _("Open the visit and whom it saw"))


class CaseVisitsAdminMixin:
    """What the case page adds for visits: the interviews inline and its saver."""

    visits_inlines = (CaseInterviewInline,)

    def add_interview(self, request, form, data):
        """Record that the visitors of a visit on record saw this person."""
        return services.interview_record(
            actor=admin_actor(request),
            visit=data["visit"],
            case=form.instance,
            reason=form.cleaned_data.get("reason", ""),
            **{n: data[n] for n in services.INTERVIEW_FIELDS if n in data},
        )
