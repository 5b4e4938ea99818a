"""Places of detention, movements, capture cards and occurrences in the case officers' admin.

Places are reference data with their own pages. Movements, capture cards and occurrences are
added on the case page (inlines whose new rows go to their services); a capture card is
changed on its own page, against its version, when it is sent. Occurrences also have their
own list, filtered by kind, date and case, where an officer may record one for any case;
once recorded, an occurrence is never changed.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.utils.translation import gettext_lazy

from cases import clocks, services
from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    DeclaredLookupsMixin,
    FilterSetListFilter,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.filters import CaseFilterSet, OccurrenceFilterSet
from cases.models import Occurrence, TimelineEvent
from cases.places import services as place_services
from cases.places.models import CaptureCard, Movement, Place
from cases.security import sensitive
from cases.services import StaleObjectError

# --------------------------------------------------------------------------------------------
# Places
# --------------------------------------------------------------------------------------------


class PlaceForm(forms.ServiceErrorsMixin, ModelForm):
    """A place form with the optional reason for a change."""

    reason = forms.ReasonField()


@admin.register(Place)
class PlaceAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Places of detention: camps, hospitals, transit centres, prisons."""

    form = PlaceForm
    list_display = ("name", "kind", "detaining_party", "country", "subdivision_code")
    list_filter = ("kind", "detaining_party")
    list_select_related = ("detaining_party",)
    search_fields = ("name", "address")
    autocomplete_fields = ("detaining_party",)
    fields = (*place_services.PLACE_FIELDS, "reason")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                changed = {
                    n: data[n] for n in place_services.PLACE_FIELDS if n in form.changed_data
                }
                place = place_services.place_update(
                    actor=admin_actor(request), place=obj, reason=data.get("reason", ""), **changed
                )
            else:
                fields = {n: data[n] for n in place_services.PLACE_FIELDS if n in data}
                place = place_services.place_create(
                    actor=admin_actor(request), reason=data.get("reason", ""), **fields
                )
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, place)


# --------------------------------------------------------------------------------------------
# On the case page
# --------------------------------------------------------------------------------------------


class MovementInline(AddOnlyInline, admin.TabularInline):
    """Moves between places: recorded, never edited; the newest decides the current place."""

    model = Movement
    fk_name = "case"
    form = forms.InlineAddForm
    verbose_name = gettext_lazy("movement")
    verbose_name_plural = gettext_lazy("movements (the newest by date decides where he is held)")
    fields = ("kind", "from_place", "to_place", "moved_on", "moved_on_precision", "notes", "source")
    autocomplete_fields = ("from_place", "to_place", "source")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("from_place", "to_place", "source")


class CaptureCardInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Capture cards (GC III Art. 70): one per capture or move; change one on its own page."""

    model = CaptureCard
    fk_name = "case"
    form = forms.InlineAddForm
    verbose_name = gettext_lazy("capture card")
    verbose_name_plural = gettext_lazy(
        "capture cards (GC III Art. 70: within a week of each capture or move)"
    )
    sensitive_form_fields = sensitive.CAPTURE_CARD_FIELDS
    show_change_link = True
    autocomplete_fields = ("source",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "movement",
                    ("filled_in_on", "sent_to_family_on", "sent_to_agency_on"),
                    ("health", "address_given"),
                    ("declined", "declined_on"),
                    "notes",
                    "source",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("movement__to_place", "source")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "movement":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                Movement.objects.filter(case=parent).select_related("to_place")
                if parent is not None and parent.pk
                else Movement.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class OccurrenceInline(AddOnlyInline, admin.TabularInline):
    """Things that happened in the world (an ICRC visit, a publication): never edited."""

    model = Occurrence
    form = forms.InlineAddForm
    verbose_name_plural = gettext_lazy("occurrences (things that happened in the world)")
    fields = ("kind", "occurred_on", "occurred_on_precision", "description", "place", "source")
    autocomplete_fields = ("source",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("source")


class OverdueListFilter(FilterSetListFilter):
    """Cases that have missed a deadline today (``CaseFilterSet.overdue``, ``cases.clocks``)."""

    title = gettext_lazy("overdue")
    parameter_name = "overdue"
    filterset_class = CaseFilterSet

    def lookups(self, request, model_admin):
        return [(name, f"Overdue: {name.replace('_', ' ')}") for name in clocks.OVERDUE]


class CasePlacesAdminMixin:
    """What the case page adds for places: the inlines' savers (``add_<model>``)."""

    places_inlines = (MovementInline, CaptureCardInline, OccurrenceInline)

    def add_movement(self, request, form, data):
        """Record a movement of the case's person."""
        fields = {
            n: data[n]
            for n in place_services.MOVEMENT_FIELDS
            if n in data and data[n] not in (None, "")
        }
        return place_services.movement_record(
            actor=admin_actor(request),
            case=form.instance,
            source=data.get("source"),
            **fields,
        )

    def add_capturecard(self, request, form, data):
        """Record the capture card of one of the case's movements."""
        fields = {
            n: data[n]
            for n in place_services.CAPTURE_CARD_FIELDS
            if n in data and data[n] not in (None, "")
        }
        movement = data.get("movement")
        if movement is None:
            raise ValidationError(
                {"movement": gettext_lazy("Choose the capture or move the card answers.")}
            )
        return place_services.capture_card_record(
            actor=admin_actor(request), movement=movement, source=data.get("source"), **fields
        )

    def add_occurrence(self, request, form, data):
        """Record something that happened in the world."""
        return services.occurrence_record(
            actor=admin_actor(request),
            case=form.instance,
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            occurred_on_precision=data.get("occurred_on_precision") or "day",
            description=data["description"],
            place=data.get("place") or "",
            source=data.get("source"),
        )


# --------------------------------------------------------------------------------------------
# A capture card on its own page: filled in, then sent
# --------------------------------------------------------------------------------------------


class CaptureCardForm(forms.VersionedAdminForm):
    """A capture card's change form: version-checked, with the reason for the change."""

    class Meta:
        model = CaptureCard
        fields = list(place_services.CAPTURE_CARD_FIELDS)


@admin.register(CaptureCard)
class CaptureCardAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Capture cards: added on the case page, changed here (sent to the family, the Agency)."""

    form = CaptureCardForm
    sensitive_form_fields = sensitive.CAPTURE_CARD_FIELDS
    list_display = ("case", "movement", "filled_in_on", "sent_to_agency_on", "declined")
    list_filter = ("declined",)
    list_select_related = ("case", "movement__to_place")
    search_fields = ("case__reference",)
    readonly_fields = ("case", "movement")
    fieldsets = (
        (None, {"fields": ("case", "movement")}),
        (
            gettext_lazy("The card"),
            {
                "fields": (
                    ("filled_in_on", "sent_to_family_on", "sent_to_agency_on"),
                    ("health", "address_given"),
                    ("declined", "declined_on"),
                    "notes",
                )
            },
        ),
        (gettext_lazy("This change"), {"fields": ("reason", "version")}),
    )

    def has_add_permission(self, request):
        # A card answers a movement: it is added on the case page, beside the movements.
        return False

    def history_events(self, obj):
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        changed = {n: data[n] for n in place_services.CAPTURE_CARD_FIELDS if n in form.changed_data}
        try:
            card = place_services.capture_card_update(
                actor=admin_actor(request),
                card=obj,
                expected_version=data.get("version"),
                reason=data.get("reason", ""),
                **changed,
            )
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, card)


# --------------------------------------------------------------------------------------------
# Occurrences on their own list
# --------------------------------------------------------------------------------------------


class OccurrenceCaseFilter(FilterSetListFilter):
    """The occurrences of one case, by its id (``OccurrenceFilterSet.case``).

    Listing every case as a choice would read them all on each page; the filter offers the
    case asked for (a link from elsewhere, or the address bar), which it then applies.
    """

    title = gettext_lazy("case")
    parameter_name = "case"
    filterset_class = OccurrenceFilterSet

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return []
        filterset = OccurrenceFilterSet({"case": value}, queryset=Occurrence.objects.none())
        if not filterset.is_valid():
            # Shown so that the change list applies it and reports the bad value.
            return [(value, value)]
        cases = filterset.form.cleaned_data["case"]
        return [(value, ", ".join(case.reference for case in cases) or value)]


class OccurrenceForm(forms.ServiceErrorsMixin, ModelForm):
    """An occurrence's form, with the optional reason; only a new one is ever saved."""

    reason = forms.ReasonField()

    class Meta:
        model = Occurrence
        fields = (
            "case",
            "kind",
            "occurred_on",
            "occurred_on_precision",
            "description",
            "place",
            "source",
        )


@admin.register(Occurrence)
class OccurrenceAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Things that happened in the world, across cases: recorded once, never changed."""

    form = OccurrenceForm
    list_display = ("case", "kind", "occurred_on", "place", "source")
    list_filter = ("kind", "occurred_on", OccurrenceCaseFilter)
    list_select_related = ("case", "source")
    search_fields = ("case__reference", "description", "place")
    search_help_text = gettext_lazy("The case's reference, or words of the description or place.")
    autocomplete_fields = ("case", "source")
    ordering = ("-occurred_on", "-id")
    fields = (*OccurrenceForm.Meta.fields, "reason")
    # Counting every occurrence again for "N total" is a second full count per page.
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        # Occurrences are never edited: a wrong one is answered by a correcting one.
        return False

    def history_events(self, obj):
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            occurrence = services.occurrence_record(
                actor=admin_actor(request),
                case=data["case"],
                kind=data["kind"],
                occurred_on=data["occurred_on"],
                occurred_on_precision=data.get("occurred_on_precision") or "day",
                description=data["description"],
                place=data.get("place") or "",
                source=data.get("source"),
                reason=data.get("reason", ""),
            )
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, occurrence)
