"""Detained persons and their name variants."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy, pgettext_lazy

from cases import services
from cases.admin import forms
from cases.admin.mixins import (
    ArchivedListFilter,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    archive_action,
    refuse,
    with_service_errors,
)
from cases.duplicates import admin as duplicates
from cases.identity.admin import INLINES as IDENTITY_INLINES
from cases.identity.admin import save_identity_formsets
from cases.models import (
    Person,
    PersonName,
    TimelineEvent,
)
from cases.security import sensitive
from cases.services import NameSpec, StaleObjectError


class PersonNameInline(admin.TabularInline):
    """A person's name variants; the whole list is handed to the person service."""

    model = PersonName
    fields = ("value", "script", "romanisation", "is_pseudonym")
    extra = 1

    def get_queryset(self, request):
        condition = sensitive.visible_name_condition(request.user)
        return super().get_queryset(request).filter(condition)

    # Without the permission the list is partial, so it must not be saved back as a whole.
    def has_add_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = with_service_errors(formset.form, request)
        return formset


@admin.register(Person)
class PersonAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Detained persons: identity, service details, life status and name variants."""

    form = duplicates.PersonDuplicatesForm
    inlines = (PersonNameInline, *IDENTITY_INLINES)
    list_display = ("working_name", "name_variants", "identity_confidence", "nationalities")
    list_filter = (
        ArchivedListFilter,
        duplicates.MergedListFilter,
        "identity_confidence",
        "is_deceased",
        "sex",
    )
    sensitive_form_fields = sensitive.PERSON_FIELDS
    action_form = forms.ReasonActionForm
    actions = (
        archive_action("person", archive=True),
        archive_action("person", archive=False),
        duplicates.merge_into,
    )
    search_fields = ("working_name", "service_number", "internment_number")
    autocomplete_fields = ("armed_force", "power_depends_on", "serving_under")
    readonly_fields = ("case_links",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                pgettext_lazy("section", "Identity"),
                {
                    "fields": (
                        "working_name",
                        ("family_name", "given_names"),
                        "sex",
                        ("birth_date", "birth_date_precision"),
                        "birth_place",
                        "nationalities",
                        "identity_confidence",
                    )
                },
            ),
            (
                gettext_lazy("Service (GC III Art. 17)"),
                {
                    "fields": (
                        "armed_force",
                        "serving_under",
                        "service_notes",
                        "power_depends_on",
                        "rank",
                        "unit",
                        "service_number",
                        "internment_number",
                    )
                },
            ),
            (
                gettext_lazy("Family and correspondence (GC III Art. 17, 122)"),
                {
                    "fields": (
                        ("father_first_name", "mother_maiden_name"),
                        "person_to_inform",
                        "correspondence_address",
                    )
                },
            ),
            (gettext_lazy("Life"), {"fields": ("is_deceased", "date_of_death")}),
            (
                gettext_lazy("Sensitive"),
                {"classes": ("collapse",), "fields": ("family_links", "medical_notes")},
            ),
        ]
        if obj is not None:
            fieldsets.insert(1, (gettext_lazy("Cases"), {"fields": ("case_links",)}))
            if obj.archived_at is not None:
                fieldsets.insert(0, (gettext_lazy("Archived"), {"fields": ("archived_at",)}))
        fieldsets.append(
            (
                gettext_lazy("This change"),
                {"fields": ("reason", "version", duplicates.CONFIRM_FIELD)},
            )
        )
        return self.redact_fieldsets(request, fieldsets)

    def get_readonly_fields(self, request, obj=None):
        return ("case_links", "archived_at")

    def get_queryset(self, request):
        visible = PersonName.objects.filter(sensitive.visible_name_condition(request.user))
        return (
            super()
            .get_queryset(request)
            .prefetch_related("names", Prefetch("names", queryset=visible, to_attr="shown_names"))
        )

    def get_search_fields(self, request):
        if sensitive.can_view_sensitive(request.user):
            return self.search_fields
        return ("working_name", "internment_number")

    def search_rows(self, request, queryset, search_term):
        results, may_have_duplicates = super().search_rows(request, queryset, search_term)
        if search_term.strip():
            # The name variants the user may see, in any spelling, by the rules of the
            # shared name search (short spellings match whole words).
            match = sensitive.visible_name_match(search_term, "pk", request.user)
            if match is not None:
                results = results | queryset.filter(match)
        return results, may_have_duplicates

    def history_events(self, obj):
        return TimelineEvent.objects.filter(Q(person=obj) | Q(subject_uuid=obj.uuid))

    def sensitive_reads(self, request, obj):
        # The documents inline shows their numbers and names to a user who may see them.
        reads = super().sensitive_reads(request, obj)
        for document in obj.identity_documents.all():
            values = sensitive.sensitive_values(document)
            if values:
                reads[("identitydocument", document.uuid)] = sorted(values)
        return reads

    def changelist_reads(self, request, rows):
        # The list shows the variants in ``shown_names``: true names to a user who may see them.
        return {
            ("person", person.uuid): [sensitive.NAMES]
            for person in rows
            if any(sensitive.is_hidden_name(n) for n in getattr(person, "shown_names", ()))
        }

    @admin.display(description=gettext_lazy("name variants"))
    def name_variants(self, obj):
        # ``shown_names`` holds only the variants the user may see (see get_queryset).
        return ", ".join(name.value for name in getattr(obj, "shown_names", ()))

    @admin.display(description=gettext_lazy("cases"))
    def case_links(self, obj):
        cases = obj.cases.select_related("detaining_party").order_by("-opened_at")
        if not cases:
            return "No case opened."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({}, {})',
            (
                (
                    reverse("admin:cases_case_change", args=[case.pk]),
                    case.reference,
                    case.get_status_display(),
                    case.detaining_party,
                )
                for case in cases
            ),
        )

    def save_model(self, request, obj, form, change):
        # Fields and name variants are saved together in save_related: one service, one event.
        pass

    def save_related(self, request, form, formsets, change):
        names_formset = next(fs for fs in formsets if fs.model is PersonName)
        allowed = sensitive.can_view_sensitive(request.user)
        names = [
            NameSpec(
                value=row.cleaned_data["value"],
                script=row.cleaned_data["script"],
                romanisation=row.cleaned_data.get("romanisation") or "",
                is_pseudonym=bool(row.cleaned_data.get("is_pseudonym")),
            )
            for index, row in enumerate(names_formset.forms)
            if row not in names_formset.deleted_forms
            and (index < names_formset.initial_form_count() or row.has_changed())
            and row.cleaned_data.get("value")
        ]
        names_formset.new_objects, names_formset.changed_objects = [], []
        names_formset.deleted_objects = []
        if change and not allowed:
            names = None  # the user saw only some variants; leave them all as they are
        data = form.cleaned_data
        duplicates.check_before_saving(request, form, names, change=change)
        try:
            if change:
                person = services.person_update(
                    actor=admin_actor(request),
                    person=form.instance,
                    expected_version=data.get("version"),
                    names=names,
                    reason=data.get("reason", ""),
                    **{n: data[n] for n in services.PERSON_FIELDS if n in form.changed_data},
                )
            else:
                person = services.person_create(
                    actor=admin_actor(request),
                    names=names,
                    reason=data.get("reason", ""),
                    **{n: data[n] for n in services.PERSON_FIELDS if n in data},
                )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(form.instance, person)
        save_identity_formsets(request, person, formsets, reason=data.get("reason", ""))
