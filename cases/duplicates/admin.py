"""Duplicates in the admin: a warning before saving, "merge into…", the merges and their undo.

* The person form checks for likely duplicates when a person is created or renamed (or his
  birth date, unit or service number changes). When it finds some, the save is refused once
  with the list (score, reasons, a link to each); the officer looks, then either merges
  instead or ticks "save anyway" and saves again.
* "Merge into…" on the person list: select the persons that are one man, choose the one to
  keep, give a reason; the others are merged into him (``person_merge``).
* Merges are listed (read-only) with an "Undo the merge" action (``person_unmerge``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, ngettext

from cases.admin import forms as admin_forms
from cases.admin.mixins import DeclaredLookupsMixin, admin_actor, refuse
from cases.duplicates import detection
from cases.duplicates.models import PersonMerge
from cases.duplicates.services import person_merge, person_unmerge
from cases.models import Person
from cases.security import sensitive
from cases.services import StaleObjectError

#: Fields whose change asks for a duplicate check (with the name variants).
CHECKED_FIELDS = frozenset(
    {"working_name", "birth_date", "birth_date_precision", "unit", "service_number"}
)
CONFIRM_FIELD = "save_despite_duplicates"


class PersonDuplicatesForm(admin_forms.PersonAdminForm):
    """The person form, with the officer's confirmation that a likely duplicate is not one."""

    save_despite_duplicates = forms.BooleanField(
        required=False,
        label=gettext_lazy("Save anyway"),
        help_text=gettext_lazy(
            "Tick after checking the likely duplicates listed: they are other persons."
        ),
    )


def duplicate_lines(matches) -> list[str]:
    """Return one line per likely duplicate: name, score, reasons, admin address."""
    lines = []
    for match in matches:
        url = reverse("admin:cases_person_change", args=[match.person.pk])
        reasons = "; ".join(r.detail for r in match.reasons)
        lines.append(
            gettext("Likely duplicate: %(name)s (score %(score)s: %(reasons)s) at %(url)s")
            % {
                "name": match.person.working_name,
                "score": f"{match.score:.2f}",
                "reasons": reasons,
                "url": url,
            }
        )
    return lines


def check_before_saving(request, form, names, *, change: bool) -> None:
    """Refuse the save once when the person looks like someone already recorded.

    ``names`` are the variants about to be stored (None: unchanged). The check runs when a
    person is created, or when his names or the checked fields change; it reports only what
    the officer may see. Ticking "save anyway" lets the save through.
    """
    data = form.cleaned_data
    if data.get(CONFIRM_FIELD):
        return
    if change and names is None and not CHECKED_FIELDS & set(form.changed_data):
        return
    person = form.instance
    if names is None:
        shown = sensitive.visible_names(person.names.all(), request.user)
        values = [n.value for n in shown]
    else:
        values = [
            n.value
            for n in names
            if sensitive.can_view_sensitive(request.user) or not sensitive.is_hidden_name(n)
        ]

    def value(name):
        return data[name] if name in data else getattr(person, name)

    candidate = detection.Candidate(
        working_name=value("working_name") or "",
        names=values,
        birth_date=value("birth_date"),
        birth_date_precision=value("birth_date_precision"),
        unit=value("unit") or "",
        service_number=value("service_number") or "",
        exclude_pk=person.pk if change else None,
    )
    matches = detection.find_duplicates(candidate, user=request.user)
    if matches:
        lines = duplicate_lines(matches)
        lines.append(
            gettext(
                "Merge instead (select both on the person list, then 'Merge into…'), or tick "
                "'Save anyway' if these are other persons."
            )
        )
        raise refuse(ValidationError({CONFIRM_FIELD: lines}), form)


class MergedListFilter(admin.SimpleListFilter):
    """Leave merged persons (tombstones) out of the person list unless asked."""

    title = gettext_lazy("merged")
    parameter_name = "merged"

    def lookups(self, request, model_admin):
        return [("only", gettext_lazy("Merged into another person"))]

    def queryset(self, request, queryset):
        if self.value() == "only":
            return queryset.filter(merged_into__isnull=False)
        return queryset.filter(merged_into__isnull=True)


# --------------------------------------------------------------------------------------------
# "Merge into…"
# --------------------------------------------------------------------------------------------


class MergeIntoForm(forms.Form):
    """Which of the selected persons to keep, and why they are one man."""

    keep = forms.ModelChoiceField(
        queryset=Person.objects.none(), widget=forms.RadioSelect, label="Keep"
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Why these records are the same person; recorded on the timeline.",
    )

    def __init__(self, *args, persons, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["keep"].queryset = Person.objects.filter(pk__in=[p.pk for p in persons])


@admin.action(
    description=gettext_lazy("Merge into… (keep one of the selected persons)"),
    permissions=("change",),
)
def merge_into(modeladmin, request, queryset):
    """Ask which selected person to keep and why, then merge the others into him."""
    persons = list(queryset.filter(merged_into__isnull=True).order_by("pk")[:20])
    if len(persons) < 2:
        modeladmin.message_user(
            request, gettext("Select the two (or more) persons that are one man."), messages.ERROR
        )
        return None
    form = MergeIntoForm(request.POST if "confirm_merge" in request.POST else None, persons=persons)
    if form.is_bound and form.is_valid():
        keep = form.cleaned_data["keep"]
        # The versions the confirmation page showed: a person changed since is refused.
        shown = {
            p.pk: int(v) if (v := request.POST.get(f"version_{p.pk}", "")).isdigit() else None
            for p in persons
        }
        done = 0
        for person in persons:
            if person.pk == keep.pk:
                continue
            try:
                person_merge(
                    actor=admin_actor(request),
                    duplicate=person,
                    survivor=Person.objects.get(pk=keep.pk),
                    reason=form.cleaned_data["reason"],
                    expected_version=shown[person.pk],
                    survivor_version=shown[keep.pk],
                )
            except (ValidationError, StaleObjectError) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                modeladmin.message_user(
                    request,
                    gettext("%(record)s: %(problem)s") % {"record": person, "problem": text},
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request,
                ngettext(
                    "%(count)d person merged into %(kept)s. Undo it from Person merges.",
                    "%(count)d persons merged into %(kept)s. Undo it from Person merges.",
                    done,
                )
                % {"count": done, "kept": keep},
                messages.SUCCESS,
            )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Merge persons"),
        "persons": [
            (p, p.cases.count(), sensitive.visible_names(p.names.all(), request.user))
            for p in persons
        ],
        "form": form,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/cases/person/merge_into.html", context)


# --------------------------------------------------------------------------------------------
# The merges
# --------------------------------------------------------------------------------------------


@admin.action(description=gettext_lazy("Undo the merge (give a reason)"), permissions=("undo",))
def undo_merge(modeladmin, request, queryset):
    """Undo each selected merge that still stands."""
    reason = request.POST.get("reason", "").strip()
    done = 0
    for merge in queryset.select_related("merged"):
        try:
            person_unmerge(actor=admin_actor(request), person=merge.merged, reason=reason)
        except (ValidationError, StaleObjectError) as exc:
            text = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            modeladmin.message_user(
                request,
                gettext("%(record)s: %(problem)s") % {"record": merge, "problem": text},
                messages.ERROR,
            )
        else:
            done += 1
    if done:
        modeladmin.message_user(
            request,
            ngettext("%(count)d merge undone.", "%(count)d merges undone.", done) % {"count": done},
            messages.SUCCESS,
        )


@admin.register(PersonMerge)
class PersonMergeAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """The merges of duplicate persons: read-only, each undone by an action."""

    list_display = ("merged", "survivor", "merged_at", "merged_by_label", "undone_at")
    list_filter = ("undone_at",)
    list_select_related = ("merged", "survivor")
    action_form = admin_forms.ReasonActionForm
    actions = (undo_merge,)
    fields = (
        "merged",
        "survivor",
        "merged_at",
        "merged_by_label",
        "reason",
        "moved_counts",
        "undone_at",
        "undone_by_label",
        "undo_reason",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("rows moved"))
    def moved_counts(self, obj):
        # Name variants are not counted: some may be hidden from the reader.
        moved = sorted((k, v) for k, v in obj.moved.items() if k != "cases.personname.person")
        return ", ".join(f"{key}: {len(keys)}" for key, keys in moved) or "no other rows"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_undo_permission(self, request):
        return request.user.has_perm("cases.change_person")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("cases.view_person")
