"""Cases: custody, statements, requests, notes, the consent gate and the timeline."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, prefetch_related_objects
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django_countries import countries

from cases import choices, consent, services
from cases.admin import forms
from cases.admin.intentions import StatedIntentionInline
from cases.admin.mixins import (
    LATEST_EVENTS,
    AddOnlyInline,
    ArchivedListFilter,
    DeclaredLookupsMixin,
    FilterSetListFilter,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    archive_action,
    intention_label,
    refuse,
    timeline_rows,
    update_then_transition,
)
from cases.admin.requests import RequestInline
from cases.admin.risk import RiskAssessmentInline
from cases.documents.admin import CaseDocumentsAdminMixin
from cases.filters import CaseFilterSet
from cases.models import (
    Case,
    Handover,
    Note,
    Party,
    Person,
    StatedIntention,
    TimelineEvent,
)
from cases.names import names_for_reader
from cases.pages.charts import CACHE_SECONDS, timeline_head
from cases.places.admin import CasePlacesAdminMixin, OverdueListFilter
from cases.security import sensitive
from cases.services import StaleObjectError
from cases.tasks.admin import CaseTasksAdminMixin
from cases.visits.admin import CaseVisitsAdminMixin


@admin.action(
    description=gettext_lazy("Purge the case for good (superusers)"), permissions=("purge",)
)
def purge_case(modeladmin, request, queryset):
    """Ask for a reason and the reference, then purge the one selected case."""
    cases = list(queryset[:2])
    if len(cases) != 1:
        modeladmin.message_user(request, _("Select exactly one case to purge."), messages.ERROR)
        return None
    case = cases[0]
    form = forms.PurgeConfirmForm(
        request.POST if "confirm_purge" in request.POST else None, reference=case.reference
    )
    if form.is_bound and form.is_valid():
        try:
            services.case_purge(
                actor=admin_actor(request), case=case, reason=form.cleaned_data["reason"]
            )
        except services.PurgeRefused as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        modeladmin.message_user(
            request,
            _("Case %(reference)s purged; a tombstone is in the feed.")
            % {"reference": form.reference},
            messages.SUCCESS,
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Purge %(reference)s?") % {"reference": case.reference},
        "case": case,
        "form": form,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "counts": {
            _("statements"): case.intentions.count(),
            _("requests"): case.requests.count(),
            _("notes"): case.notes.count(),
            _("occurrences"): case.occurrences.count(),
            _("events"): case.events.count(),
            _("other cases of the person"): case.person.cases.exclude(pk=case.pk).count(),
        },
    }
    return TemplateResponse(request, "admin/cases/case/purge_confirmation.html", context)


class NationalityFilter(FilterSetListFilter):
    """Filter cases by one of the person's nationalities (``CaseFilterSet.nationality``).

    The FilterSet reads the persons of that nationality through the index on their codes,
    then their cases, as the API and the analysts' pages do.
    """

    title = gettext_lazy("nationality")
    parameter_name = "nationality"
    filterset_class = CaseFilterSet

    def lookups(self, request, model_admin):
        """Return the nationalities held by someone, cached per state of the timeline.

        Reading them scans every person; a change to a person appends a timeline event, so
        the newest event names the state they were read in (as for the list page's counts,
        ``cases.pages.charts.case_counts``) and the scan runs again only after a change.
        """
        head = timeline_head() or (0, "")
        key = f"admin:nationalities:{head[0]}:{head[1]}"
        found = cache.get(key)
        if found is None:
            codes = set()
            stored = (
                Person.objects.exclude(nationalities="")
                .order_by()
                .values_list("nationalities", flat=True)
                .distinct()
            )
            for value in stored:
                items = value.split(",") if isinstance(value, str) else value
                codes.update(str(getattr(item, "code", item)) for item in items if item)
            found = sorted(codes)
            cache.set(key, found, CACHE_SECONDS)
        return sorted(((code, countries.name(code) or code) for code in found), key=lambda c: c[1])


def read_for_page(case: Case) -> None:
    """Read at once what the case page shows beside its inlines, and keep it on ``case``.

    The person with his names and the Power he depends on, the detaining party, and the
    case's statements (with who heard them and the parties present), requests, risk
    assessments, notes and interviews. The summaries, the consent gate's answer and the
    access log read these lists, so the page's queries do not grow with its rows. Called
    when the page is shown, after any save was tried, so the lists are what is on record;
    a second call reads nothing.
    """
    parties = Party.objects.select_related("parent")
    prefetch_related_objects(
        [case],
        "person__names",
        Prefetch("person__power_depends_on", queryset=parties),
        Prefetch("detaining_party", queryset=parties),
        Prefetch(
            "intentions",
            queryset=StatedIntention.objects.select_related("heard_by__parent").prefetch_related(
                Prefetch("present_parties", queryset=parties)
            ),
        ),
        "requests",
        "risk_assessments",
        "notes",
        "interviews",
    )
    current_field = Case._meta.get_field("current_intention")
    if case.current_intention_id is not None and not current_field.is_cached(case):
        current = next(
            (row for row in case.intentions.all() if row.pk == case.current_intention_id), None
        )
        if current is not None:
            current_field.set_cached_value(case, current)


class NoteInline(SensitiveInlineMixin, AddOnlyInline, admin.TabularInline):
    """Officers' notes: added, never edited or deleted."""

    model = Note
    sensitive_form_fields = sensitive.NOTE_FIELDS
    # A note's str is its text; this template shows it only with the permission.
    template = "admin/cases/case/note_inline.html"
    form = forms.InlineAddForm
    extra = 1
    fields = ("body", "source", "author", "created_at")
    readonly_fields = ("author", "created_at")
    autocomplete_fields = ("source",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "source")


CASE_CUSTODY_FIELDS = (
    "reference",
    "detaining_party",
    "legal_status",
    "status",
    "priority",
    "assigned_officer",
)
CASE_CAPTURE_FIELDS = (
    ("capture_date", "capture_date_precision"),
    ("capture_place", "capture_place_code"),
    "detention_place",
)


@admin.register(Case)
class CaseAdmin(
    CasePlacesAdminMixin,
    CaseTasksAdminMixin,
    CaseVisitsAdminMixin,
    CaseDocumentsAdminMixin,
    DeclaredLookupsMixin,
    TimelineChangeLogMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
):
    """One custody episode: the person, custody, statements, requests, notes and timeline."""

    form = forms.CaseAdminForm

    class Media:
        css = {"all": ["cases/admin.css"]}

    inlines = (
        StatedIntentionInline,
        RiskAssessmentInline,
        RequestInline,
        *CasePlacesAdminMixin.places_inlines,
        *CaseTasksAdminMixin.tasks_inlines,
        *CaseVisitsAdminMixin.visits_inlines,
        *CaseDocumentsAdminMixin.documents_inlines,
        NoteInline,
    )
    list_display = (
        "reference",
        "person",
        "detaining_party",
        "status",
        "current_intention_column",
        "updated_at",
    )
    list_filter = (
        ArchivedListFilter,
        "status",
        "detaining_party",
        "current_intention_option",
        "current_intention_verified",
        NationalityFilter,
        "legal_status",
        OverdueListFilter,
    )
    list_select_related = ("person", "detaining_party")
    # One count of the listed cases per page, not a second one of every case.
    show_full_result_count = False
    search_fields = ("reference", "person__working_name")
    search_help_text = gettext_lazy(
        "Reference, or any spelling of the person's name (Ri, Lee, 리 ...)."
    )
    autocomplete_fields = ("person", "detaining_party")
    action_form = forms.ReasonActionForm
    actions = (
        archive_action("case", archive=True),
        archive_action("case", archive=False),
        purge_case,
    )

    def has_purge_permission(self, request):
        return bool(request.user.is_active and request.user.is_superuser)

    def sensitive_reads(self, request, obj):
        reads: dict[tuple[str, Any], list[str]] = {}
        read_for_page(obj)
        person = obj.person
        values = sensitive.sensitive_values(person)
        if values:
            reads[("person", person.uuid)] = sorted(values)
        for row in (*obj.intentions.all(), *obj.notes.all(), *obj.interviews.all()):
            values = sensitive.sensitive_values(row)
            if values:
                reads[(row._meta.model_name, row.uuid)] = sorted(values)
        for subject_type, subject_uuid, keys in getattr(request, "_timeline_shown", ()):
            key = (subject_type, subject_uuid)
            reads[key] = sorted(set(reads.get(key, ())) | set(keys))
        return reads

    # The case's own order, newest first, read through its (case, case_seq) index.
    history_ordering = ("-case_seq",)

    def history_events(self, obj):
        return TimelineEvent.objects.filter(case=obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The links beside a related field come from the wrapper Django puts around the
        # widget after formfield_for_foreignkey, so they are switched off here.
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "assigned_officer" and formfield is not None:
            # Logins are managed elsewhere; no shortcuts to add, change, view or delete one.
            for flag in (
                "can_add_related",
                "can_change_related",
                "can_delete_related",
                "can_view_related",
            ):
                setattr(formfield.widget, flag, False)
        return formfield

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("person", *CASE_CUSTODY_FIELDS)}),
                (_("Capture and detention"), {"fields": CASE_CAPTURE_FIELDS}),
                (_("This change"), {"fields": ("reason",)}),
            ]
        archived = [(_("Archived"), {"fields": ("archived_at",)})] if obj.archived_at else []
        return [
            *archived,
            (_("Person"), {"fields": ("person_summary",)}),
            (_("Current intention"), {"fields": ("current_intention_summary",)}),
            (_("Consent gate"), {"fields": ("consent_summary",)}),
            (
                _("Custody"),
                {"fields": (*CASE_CUSTODY_FIELDS, ("released_to", "released_to_place"))},
            ),
            (_("Handover"), {"fields": ("handover_summary",)}),
            (_("Capture and detention"), {"fields": CASE_CAPTURE_FIELDS}),
            (_("Record"), {"fields": (("opened_at", "updated_at", "closed_at"),)}),
            (_("This change"), {"fields": ("reason", "version")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "archived_at",
            "person_summary",
            "current_intention_summary",
            "consent_summary",
            "handover_summary",
            "opened_at",
            "updated_at",
            "closed_at",
        )

    def search_rows(self, request, queryset, search_term):
        """Search as the analysts' pages and the API do (``CaseFilterSet.filter_q``).

        The reference, the working name, or a name variant the user may see, in any
        spelling; the matching case ids are a union of index reads, so the page's count of
        matches does not scan every case. Each case is listed once.
        """
        if not search_term.strip():
            return queryset, False
        search = CaseFilterSet(queryset=queryset, request=request)
        return search.filter_q(queryset, "q", search_term), False

    @admin.display(
        description=gettext_lazy("current intention"), ordering="current_intention_option"
    )
    def current_intention_column(self, obj):
        if not obj.current_intention_option:
            return "—"
        label = intention_label(obj.current_intention_option, obj.current_intention_destination)
        level = obj.get_current_intention_verification_display().split(" (")[0].lower()
        if obj.current_intention_verified:
            return format_html("{} <strong>({})</strong>", label, level)
        return format_html(
            '{} ({}) <strong class="case-unverified">{}</strong>', label, level, _("UNVERIFIED")
        )

    @admin.display(description=gettext_lazy("person"))
    def person_summary(self, obj):
        read_for_page(obj)
        person = obj.person
        allowed = getattr(obj, "_sensitive_allowed", False)
        names = format_html_join(
            ", ",
            "{} <small>({}{})</small>",
            (
                (
                    name.value,
                    name.get_script_display(),
                    f", {name.get_romanisation_display()}" if name.romanisation else "",
                )
                for name in sensitive.visible_names(person.names.all(), None, allowed=allowed)
            ),
        )
        # The name in the reader's script first (cases.names.names_for_reader), from the
        # variants he may see; the working name beside it when it differs.
        visible = sensitive.visible_names(person.names.all(), None, allowed=allowed)
        first = names_for_reader(person.working_name, visible, get_language())[0].value
        beside = (
            format_html(" ({} {})", _("working name:"), person.working_name)
            if first != person.working_name
            else ""
        )
        return format_html(
            '<a href="{}"><strong>{}</strong></a>{}<br>{} {}',
            reverse("admin:cases_person_change", args=[person.pk]),
            first,
            beside,
            _("Name variants:"),
            names or _("none recorded"),
        )

    @admin.display(description=gettext_lazy("current intention"))
    def current_intention_summary(self, obj):
        read_for_page(obj)
        current = obj.current_intention
        statements_url = (
            reverse("admin:cases_statedintention_changelist") + f"?case__id__exact={obj.pk}"
        )
        manage = format_html(
            '<br><a href="{}">{}</a>',
            statements_url,
            _("Withdraw, contest or invalidate a statement"),
        )
        if current is None:
            return format_html("{}{}", _("No active statement recorded."), manage)
        label = intention_label(current.option, current.destination_country)
        details = _("%(verification)s, stated %(date)s") % {
            "verification": current.get_verification_display(),
            "date": formats.date_format(current.stated_on),
        }
        if current.is_verified:
            flag = format_html("<strong>{}</strong>", _("VERIFIED"))
        else:
            flag = format_html(
                '<strong class="case-unverified">{}</strong> — {}',
                _("UNVERIFIED"),
                _("not heard in a private interview by a neutral body"),
            )
        return format_html("<strong>{}</strong> ({})<br>{}{}", label, details, flag, manage)

    @admin.display(description=gettext_lazy("handover"))
    def handover_summary(self, obj):
        """Link to the case's handover, or to the form that records one."""
        handover = Handover.objects.filter(case=obj).select_related("case").first()
        if handover is not None:
            url = reverse("admin:cases_handover_change", args=[handover.pk])
            return format_html('<a href="{}">{}</a>', url, str(handover))
        if obj.status != choices.CaseStatus.RELEASE_APPROVED:
            return _(
                "A handover executes a scheduled request once his release is approved; it "
                "is the only way to repatriated or transferred to a third state."
            )
        url = reverse("admin:cases_handover_add") + f"?case={obj.pk}"
        return format_html(
            '<a class="addlink" href="{}" id="add-handover">{}</a>', url, _("Add handover")
        )

    @admin.display(description=gettext_lazy("consent gate today"))
    def consent_summary(self, obj):
        """Show the gate's answer for each move the case's open requests would make."""
        read_for_page(obj)
        intentions = list(obj.intentions.all())
        requests = list(obj.requests.all())
        risks = list(obj.risk_assessments.all())
        elsewhere = consent.elsewhere(obj)
        rows = []
        for move in consent.moves_in_view(requests):
            decision = consent.check_loaded(
                obj,
                move,
                intentions=intentions,
                requests=requests,
                risks=risks,
                elsewhere=elsewhere,
            )
            if decision.passed:
                rows.append(format_html("<strong>{}</strong>: {}", move.label, _("open")))
            else:
                problems = format_html_join(
                    "", "<li>{}</li>", ((p.message,) for p in decision.problems)
                )
                rows.append(
                    format_html(
                        "<strong>{}</strong>: {}<ul>{}</ul>", move.label, _("refused"), problems
                    )
                )
        risk = consent.latest_risk(obj.person, risks, consent.own_states(obj.person))
        if risk is not None:
            rows.append(format_html("{} {}", _("Risk on return:"), str(risk)))
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            read_for_page(obj)
            request._timeline_shown = []
            context["timeline"] = timeline_rows(
                obj, request.user, shown=request._timeline_shown, limit=LATEST_EVENTS
            )
            # case_seq is gapless from 1, so the newest event's number is the count.
            context["timeline_total"] = context["timeline"][0]["seq"] if context["timeline"] else 0
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request)
        reason = data.get("reason", "")
        try:
            if change:
                case = update_then_transition(
                    form,
                    update=partial(services.case_update, actor=actor, case=obj),
                    fields=services.CASE_FIELDS,
                    transition=lambda case, **status: services.case_change_status(
                        actor=actor,
                        case=case,
                        released_to=data.get("released_to") or "",
                        released_to_place=data.get("released_to_place") or "",
                        **status,
                    ),
                )
            else:
                fields = {
                    n: data[n]
                    for n in services.CASE_FIELDS
                    if n in data and n not in {"reference", "detaining_party"}
                }
                case = services.case_open(
                    actor=actor,
                    reference=data["reference"],
                    person=data["person"],
                    detaining_party=data["detaining_party"],
                    status=data["status"],
                    reason=reason,
                    **fields,
                )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, case)

    def add_statedintention(self, request, form, data):
        """Record a new statement, superseding the chosen one if any."""
        fields = {n: data[n] for n in services.INTENTION_FIELDS if n in data}
        common = {
            "actor": admin_actor(request),
            "reason": form.cleaned_data.get("reason", ""),
            "source": data.get("source"),
            "present_parties": list(data.get("present_parties") or ()),
        }
        if data.get("supersedes") is not None:
            return services.intention_supersede(intention=data["supersedes"], **common, **fields)
        return services.intention_record(case=form.instance, **common, **fields)

    def add_request(self, request, form, data):
        """File a new request (or keep it as a draft)."""
        fields = {
            n: data[n]
            for n in services.REQUEST_FIELDS
            if n in data and n != "addressed_to" and data[n] not in (None, "")
        }
        return services.request_file(
            actor=admin_actor(request),
            case=form.instance,
            kind=data["kind"],
            addressed_to=data["addressed_to"],
            draft=bool(data.get("draft")),
            reason=form.cleaned_data.get("reason", ""),
            source=data.get("source"),
            **fields,
        )

    def add_riskassessment(self, request, form, data):
        """Record a risk assessment."""
        fields = {n: data[n] for n in services.RISK_FIELDS if n in data and data[n] is not None}
        return services.risk_assessment_record(
            actor=admin_actor(request),
            case=form.instance,
            source=data.get("source"),
            **fields,
        )

    def add_note(self, request, form, data):
        """Add an officer's note."""
        return services.note_add(
            actor=admin_actor(request),
            case=form.instance,
            body=data["body"],
            source=data.get("source"),
        )
