"""Exchanges and handovers in the case officers' admin.

An exchange has its own page with its list as an inline: a new row puts a case on the list,
a changed state goes to ``exchange_entry_set`` (``handed_over`` is not offered: a handover
sets it). A handover is added on its own form, opened from the case page ("Add handover"),
and never changed: its save is ``handover_record``, which executes the request, closes the
case and takes the reconfirmation in one transaction, or shows the consent gate's refusal
on the form.
"""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases import choices, consent
from cases.admin import forms
from cases.admin.mixins import (
    DeclaredLookupsMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.exchanges import services
from cases.exchanges.models import (
    Exchange,
    ExchangeListEntry,
    ExchangeStatus,
    Handover,
    ListEntryState,
)
from cases.models import Party, Request
from cases.timeline.sinks import RowSink

# --------------------------------------------------------------------------------------------
# Exchanges and their lists
# --------------------------------------------------------------------------------------------


class ExchangeForm(forms.ServiceErrorsMixin, ModelForm):
    """An exchange's details, its status (a transition of its own) and the reason."""

    reason = forms.ReasonField()

    class Meta:
        model = Exchange
        fields = ("name", "parties", "mediator", "planned_on", "planned_on_precision", "notes")


class ExchangeEntryForm(forms.ServiceErrorsMixin, ModelForm):
    """One case on the list; ``handed_over`` is set by recording the handover."""

    # The blank row's select shows "proposed"; with that as its initial value an untouched
    # blank row is unchanged, so saving the exchange page does not ask it for a case.
    state = django_forms.ChoiceField(
        choices=[c for c in ListEntryState.choices if c[0] != ListEntryState.HANDED_OVER],
        initial=ListEntryState.PROPOSED,
    )

    class Meta:
        model = ExchangeListEntry
        fields = ("case", "state", "reason", "source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["case"].disabled = True
            if self.instance.state == ListEntryState.HANDED_OVER:
                self.fields["state"].choices = ListEntryState.choices
                self.fields["state"].disabled = True


class ExchangeEntryInline(admin.TabularInline):
    """The exchange's list: proposed, accepted, excluded (with a reason), handed over."""

    model = ExchangeListEntry
    form = ExchangeEntryForm
    extra = 1
    can_delete = False
    autocomplete_fields = ("case", "source")
    verbose_name = _("list entry")
    verbose_name_plural = _("list (handed over is set by recording the handover)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "source")


@admin.register(Exchange)
class ExchangeAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Exchanges of prisoners: two sides, a mediator, a date, a status and a list."""

    form = ExchangeForm
    inlines = (ExchangeEntryInline,)
    list_display = ("name", "planned_on", "status", "mediator")
    list_filter = ("status",)
    list_select_related = ("mediator",)
    search_fields = ("name",)
    autocomplete_fields = ("parties", "mediator")
    actions = ("mark_agreed", "mark_in_progress", "mark_completed", "mark_cancelled")

    def get_fields(self, request, obj=None):
        return (
            (*ExchangeForm.Meta.fields, "status", "reason")
            if obj
            else (
                *ExchangeForm.Meta.fields,
                "reason",
            )
        )

    def get_readonly_fields(self, request, obj=None):
        return ("status",) if obj else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        names = services.EXCHANGE_FIELDS
        try:
            if change:
                changed = {n: data[n] for n in names if n in form.changed_data}
                parties = data["parties"] if "parties" in form.changed_data else None
                exchange = services.exchange_update(
                    actor=admin_actor(request),
                    exchange=obj,
                    parties=parties,
                    reason=data.get("reason", ""),
                    **changed,
                )
            else:
                exchange = services.exchange_create(
                    actor=admin_actor(request),
                    parties=data["parties"],
                    reason=data.get("reason", ""),
                    **{n: data[n] for n in names if n in data},
                )
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, exchange)

    def save_related(self, request, form, formsets, change):
        # The parties were set by the service; the list goes entry by entry to its service.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        exchange = Exchange.objects.get(pk=form.instance.pk)
        for entry_form in formset.forms:
            if not entry_form.has_changed() or "state" not in entry_form.cleaned_data:
                continue
            data = entry_form.cleaned_data
            try:
                services.exchange_entry_set(
                    actor=admin_actor(request),
                    exchange=exchange,
                    case=data.get("case") or entry_form.instance.case,
                    state=data["state"],
                    reason=data.get("reason", ""),
                    source=data.get("source"),
                )
            except ValidationError as exc:
                raise refuse(exc, entry_form) from exc
            exchange.refresh_from_db()

    def _transition(self, request, queryset, status):
        for exchange in queryset:
            try:
                services.exchange_transition(
                    actor=admin_actor(request), exchange=exchange, status=status
                )
            except ValidationError as exc:
                self.message_user(
                    request,
                    gettext("%(record)s: %(problem)s")
                    % {"record": exchange, "problem": "; ".join(exc.messages)},
                    "error",
                )

    @admin.action(description=_("Mark as agreed"), permissions=["change"])
    def mark_agreed(self, request, queryset):
        self._transition(request, queryset, ExchangeStatus.AGREED)

    @admin.action(description=_("Mark as in progress"), permissions=["change"])
    def mark_in_progress(self, request, queryset):
        self._transition(request, queryset, ExchangeStatus.IN_PROGRESS)

    @admin.action(description=_("Mark as completed"), permissions=["change"])
    def mark_completed(self, request, queryset):
        self._transition(request, queryset, ExchangeStatus.COMPLETED)

    @admin.action(description=_("Mark as cancelled"), permissions=["change"])
    def mark_cancelled(self, request, queryset):
        self._transition(request, queryset, ExchangeStatus.CANCELLED)


# --------------------------------------------------------------------------------------------
# Handovers
# --------------------------------------------------------------------------------------------


class HandoverForm(forms.ServiceErrorsMixin, ModelForm):
    """A handover, and the reconfirmation the neutral body took there in private."""

    reconfirmed = django_forms.BooleanField(
        required=False,
        label=_("Reconfirmation taken at the handover"),
        help_text=_(
            "Asked again in private by a neutral body; needs an earlier verified statement of "
            "the same option and destination."
        ),
    )
    heard_by = django_forms.ModelChoiceField(
        queryset=Party.objects.filter(is_neutral=True),
        required=False,
        label=_("Reconfirmation heard by"),
    )
    detaining_power_present = django_forms.ChoiceField(
        choices=choices.Presence.choices,
        initial=choices.Presence.UNKNOWN,
        label=_("Detaining power's staff present at the reconfirmation"),
    )
    options_explained = django_forms.BooleanField(
        required=False, label=_("He was told his options and their consequences")
    )
    duress_signs = django_forms.CharField(
        required=False, widget=django_forms.Textarea(attrs={"rows": 2}), label=_("Signs of duress")
    )
    quote = django_forms.CharField(
        required=False, widget=django_forms.Textarea(attrs={"rows": 2}), label=_("What he said")
    )
    quote_language = django_forms.CharField(required=False, max_length=10, label=_("Language"))
    reason = forms.ReasonField()

    class Meta:
        model = Handover
        fields = (
            "request",
            "exchange",
            "occurred_on",
            "occurred_on_precision",
            "place_text",
            "place",
            "receiving_authority",
            "receiving_state",
            "present_parties",
            "notes",
            "source",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "request" in self.fields:
            self.fields["request"].queryset = Request.objects.filter(
                status=choices.RequestStatus.SCHEDULED
            ).select_related("case")

    def reconfirmation(self) -> dict | None:
        """Return what was said at the handover, for the service, or None."""
        data = self.cleaned_data
        if not data.get("reconfirmed"):
            return None
        return {
            "heard_by": data.get("heard_by"),
            "detaining_power_present": data.get("detaining_power_present"),
            "options_explained": bool(data.get("options_explained")),
            "duress_signs": data.get("duress_signs", ""),
            "quote": data.get("quote", ""),
            "quote_language": data.get("quote_language", ""),
        }


@admin.register(Handover)
class HandoverAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Handovers: recorded once through the consent gate, never changed."""

    form = HandoverForm
    list_display = (
        "case",
        "occurred_on",
        "receiving_authority",
        "receiving_state",
        "destination_country",
        "exchange",
    )
    list_select_related = ("case", "receiving_authority", "receiving_state", "exchange")
    list_filter = ("occurred_on",)
    search_fields = ("case__reference", "place_text")
    autocomplete_fields = (
        "exchange",
        "place",
        "receiving_authority",
        "receiving_state",
        "present_parties",
        "source",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "request",
                    "exchange",
                    ("occurred_on", "occurred_on_precision"),
                    ("place_text", "place"),
                    ("receiving_authority", "receiving_state"),
                    "present_parties",
                    "notes",
                    "source",
                )
            },
        ),
        (
            _("Reconfirmation"),
            {
                "fields": (
                    "reconfirmed",
                    "heard_by",
                    "detaining_power_present",
                    "options_explained",
                    "duress_signs",
                    ("quote", "quote_language"),
                )
            },
        ),
        (None, {"fields": ("reason",)}),
    )
    readonly_view_fields = (
        "case",
        "request",
        "exchange",
        "occurred_on",
        "occurred_on_precision",
        "place_text",
        "place",
        "receiving_authority",
        "receiving_state",
        "present_parties",
        "reconfirmation",
        "consent_statement",
        "destination_country",
        "notes",
        "source",
        "recorded_at",
    )

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return ((None, {"fields": self.readonly_view_fields}),)
        return self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_view_fields if obj is not None else ()

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        case = request.GET.get("case")
        if case and "request" not in initial:
            scheduled = (
                Request.objects.filter(case__pk=case, status=choices.RequestStatus.SCHEDULED)
                .order_by("-updated_at")
                .first()
            )
            if scheduled is not None:
                initial["request"] = scheduled.pk
                # The addressee is proposed only when it is of the state he goes to: a
                # transfer is often asked of the detaining state, which does not receive him.
                move = consent.move_for_request(scheduled)
                if move is not None and scheduled.addressed_to_id is not None:
                    wanted = services.handover_destinations(RowSink(), scheduled.case, move)
                    if services.state_country(scheduled.addressed_to) in wanted:
                        initial["receiving_authority"] = scheduled.addressed_to_id
        return initial

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            handover = services.handover_record(
                actor=admin_actor(request),
                request=data["request"],
                exchange=data.get("exchange"),
                occurred_on=data["occurred_on"],
                occurred_on_precision=data.get("occurred_on_precision")
                or choices.DatePrecision.DAY,
                place_text=data.get("place_text", ""),
                place=data.get("place"),
                receiving_authority=data["receiving_authority"],
                receiving_state=data.get("receiving_state"),
                present_parties=list(data.get("present_parties") or ()),
                reconfirmation=form.reconfirmation(),
                notes=data.get("notes", ""),
                source=data.get("source"),
                reason=data.get("reason", ""),
            )
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, handover)

    def save_related(self, request, form, formsets, change):
        """The service stored who was present; nothing else to save."""
