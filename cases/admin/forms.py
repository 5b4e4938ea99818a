"""Forms for the case officers' admin: version checks, reasons, status choices, service errors.

The admin never saves these forms itself; the model admins in ``cases.admin`` pass their
cleaned data to the services. The forms only validate, so that a stale or illegal edit is
shown back to the officer with the error beside the field instead of reaching the database.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin import helpers
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from cases import choices
from cases.consent import GATED_CASE_STATUSES
from cases.models import Case, Person, Request, TimelineEvent
from cases.services import CASE_FIELDS, PERSON_FIELDS, REQUEST_FIELDS
from cases.transitions import (
    CASE_CLOSED_STATUSES,
    allowed_case_statuses,
    allowed_request_statuses,
)


def field_label(form: forms.BaseForm, name: str) -> str:
    """Return the reader's name of the model field ``name`` of ``form``, else ``name`` spelt out."""
    model = getattr(getattr(form, "_meta", None), "model", None)
    try:
        return capfirst(model._meta.get_field(name).verbose_name)
    except (AttributeError, FieldDoesNotExist):
        return name.replace("_", " ").capitalize()


def attach_error(form: forms.BaseForm, error: Exception) -> None:
    """Add ``error`` (a ValidationError or any exception) to ``form``.

    Errors keyed by a field the form does not show become errors of the whole form, so a
    service's message is never lost for want of a matching input.
    """
    if not isinstance(error, ValidationError):
        error = ValidationError(str(error))
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            if target is None and field != NON_FIELD_ERRORS:
                label = field_label(form, field)
                errors = [
                    ValidationError(
                        gettext("%(record)s: %(problem)s") % {"record": label, "problem": message}
                    )
                    for item in errors
                    for message in item.messages
                ]
            form.add_error(target, errors)
    else:
        form.add_error(None, error)


class ServiceErrorsMixin:
    """Show errors that a service raised on an earlier attempt to save this same input.

    The admin view sets ``service_errors`` (form prefix -> error) on the form class when a
    service refused the save; the view then validates the input again and these errors make
    the form invalid, so the admin shows the page again with the message.
    """

    service_errors: dict[str | None, Exception] = {}

    def full_clean(self):
        super().full_clean()
        error = self.service_errors.get(self.prefix)
        if error is not None and self.is_bound:
            attach_error(self, error)


class ReasonField(forms.CharField):
    """The optional reason an officer gives for a change; it goes on the timeline."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", gettext_lazy("Reason for this change"))
        kwargs.setdefault(
            "help_text",
            gettext_lazy("Optional. Recorded on the case's timeline with every change saved."),
        )
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 60}))
        super().__init__(**kwargs)


class VersionedAdminForm(ServiceErrorsMixin, forms.ModelForm):
    """A change form that refuses to save over a newer version of its row.

    The hidden ``version`` field carries the version the officer loaded. If the row has a
    newer one when the form is posted, the form is invalid and says who changed it, so the
    officer reloads instead of overwriting a colleague's edit.
    """

    version = forms.IntegerField(
        label=gettext_lazy("version"), required=False, widget=forms.HiddenInput, min_value=1
    )
    reason = ReasonField()

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None:
            return cleaned
        loaded = cleaned.get("version")
        if loaded is None:
            raise ValidationError(
                gettext_lazy(
                    "This form was sent without the version you loaded. Reload the page and "
                    "save again."
                ),
                code="version_missing",
            )
        current = type(instance).objects.filter(pk=instance.pk).values_list("version", flat=True)
        current = current.first()
        if current is not None and current != loaded:
            raise ValidationError(stale_message(instance, loaded, current), code="stale")
        return cleaned


def stale_message(instance, loaded: int, current: int) -> str:
    """Return the message for a save refused because ``instance`` changed since it was loaded."""
    event = TimelineEvent.objects.filter(subject_uuid=instance.uuid).order_by("-id").first()
    label = instance._meta.verbose_name
    if event is not None:
        who = event.actor_label or "someone else"
        when = event.recorded_at.strftime("%Y-%m-%d %H:%M UTC")
        changed = f"{who} changed this {label} at {when} ({event.summary})"
    else:
        changed = f"Someone else changed this {label}"
    return (
        f"{changed} after you opened it: you loaded version {loaded}, it is now version "
        f"{current}. Nothing was saved. Reload the page to see the current record, reapply "
        "your change and save again."
    )


#: Options of :class:`QuickSelect` lists already written, by language and choices.
_WRITTEN_OPTIONS: dict[tuple, str] = {}


class QuickSelect(forms.Select):
    """A select whose options are written in Python, once per language, not one template each.

    A country list is 250 options; Django renders each through a template, which on a case
    page with four of them was most of the page's time. The options are the same for every
    select of the same choices, so they are written once per language and choices and the
    chosen one is marked in the copy. The HTML is the same as Django's.
    """

    def render(self, name, value, attrs=None, renderer=None):
        # The widget's name and attributes only; the options are written once below.
        context = forms.Widget.get_context(self, name, None, attrs)
        key = (get_language(), tuple(self.choices))
        options = _WRITTEN_OPTIONS.get(key)
        if options is None:
            options = self._write_options(self.optgroups(name, [], attrs))
            if len(_WRITTEN_OPTIONS) > 64:  # languages times distinct lists: a handful
                _WRITTEN_OPTIONS.clear()
            _WRITTEN_OPTIONS[key] = options
        # Django marks the first option whose value matches; so does this.
        for chosen in self.format_value(value)[:1]:
            plain = format_html('<option value="{}">', chosen)
            options = options.replace(plain, plain[:-1] + " selected>", 1)
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(context["widget"]["attrs"]),
            mark_safe(options),
        )

    @staticmethod
    def _write_options(optgroups) -> str:
        written = []
        for group, choices_, _index in optgroups:
            rows = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((o["value"], flatatt(o["attrs"]), o["label"]) for o in choices_),
            )
            written.append(
                format_html('<optgroup label="{}">{}</optgroup>', group, rows) if group else rows
            )
        return "".join(written)


class _NothingChosenMixin:
    """An autocomplete that reads no rows when nothing is chosen.

    Django's builds and compiles a query for the chosen rows even when there are none, which
    the empty form of every inline on a case page paid for each of its autocompletes. The
    options are the same: the blank one alone, where Django offers it.
    """

    def optgroups(self, name, value, attr=None):
        empty = self.choices.field.empty_values
        if any(str(v) not in empty for v in value):
            return super().optgroups(name, value, attr)
        blank = not self.is_required and not self.allow_multiple_selected
        return [(None, [self.create_option(name, "", "", False, 0)] if blank else [], 0)]


class QuickAutocompleteSelect(_NothingChosenMixin, AutocompleteSelect):
    """Django's autocomplete select, reading no rows when nothing is chosen."""


class QuickAutocompleteSelectMultiple(_NothingChosenMixin, AutocompleteSelectMultiple):
    """Django's autocomplete multiple select, reading no rows when nothing is chosen."""


def quick_country_field(db_field, formfield):
    """Give a single-country form field of ``db_field`` the :class:`QuickSelect` widget."""
    if (
        isinstance(db_field, CountryField)
        and not db_field.multiple
        and formfield is not None
        and type(formfield.widget).__name__ == "LazySelect"
    ):
        widget = QuickSelect(attrs=formfield.widget.attrs)
        widget.choices = formfield.widget.choices
        widget.is_required = formfield.widget.is_required
        formfield.widget = widget
    return formfield


class CaseAdminForm(VersionedAdminForm):
    """The case form: status limited to the allowed transitions, plus version and reason."""

    released_to = CountryField(blank=True).formfield(
        required=False,
        widget=QuickSelect,
        label=_("Released to (country)"),
        help_text=_("When the status becomes 'Released': the country he was released to."),
    )
    released_to_place = forms.CharField(
        required=False,
        max_length=200,
        label=_("Released to (place)"),
        help_text=_("Where, as far as known (optional)."),
    )

    class Meta:
        model = Case
        fields = ("person", *CASE_FIELDS, "status", "version")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        status = self.fields.get("status")
        if status is None:
            return
        if self.instance.pk is None:
            offered = [
                value for value in choices.CaseStatus.values if value not in CASE_CLOSED_STATUSES
            ]
        else:
            current = self.instance.status
            # Repatriated and transferred come only from a handover, recorded on its own form.
            offered = [
                current,
                *(s for s in allowed_case_statuses(current) if s not in GATED_CASE_STATUSES),
            ]
            status.help_text = _(
                "Only the statuses this case may move to are offered. Repatriated and "
                "transferred to a third state are reached by recording the handover."
            )
        status.choices = [(value, choices.CaseStatus(value).label) for value in offered]


class PersonAdminForm(VersionedAdminForm):
    """The person form, with version and reason; name variants come from the inline."""

    class Meta:
        model = Person
        fields = (*PERSON_FIELDS, "version")


#: The statuses a decision date goes with.
DECISION_STATUSES = frozenset({choices.RequestStatus.ACCEPTED, choices.RequestStatus.REFUSED})


class RequestAdminForm(VersionedAdminForm):
    """The request form: status limited to the allowed transitions, plus version and reason."""

    class Meta:
        model = Request
        fields = (
            "case",
            "kind",
            *REQUEST_FIELDS,
            "source",
            "status",
            "decided_on",
            "decision_reason",
            "version",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        status = self.fields.get("status")
        if status is not None:
            if self.instance.pk is None:
                offered = [choices.RequestStatus.FILED, choices.RequestStatus.DRAFT]
                status.help_text = gettext_lazy("File the request now, or keep it as a draft.")
            else:
                current = self.instance.status
                offered = [current, *allowed_request_statuses(current)]
                status.help_text = gettext_lazy(
                    "Only the statuses this request may move to are offered."
                )
            status.choices = [(value, choices.RequestStatus(value).label) for value in offered]
        if self.instance.pk is not None and "intention" in self.fields:
            self.fields["intention"].queryset = self.instance.case.intentions.all()
        if "decision_reason" in self.fields and self.instance.pk is not None:
            self.fields["decision_reason"].help_text = gettext_lazy(
                "Saved together with a change of status."
            )
        if "filed_on" in self.fields:
            self.fields["filed_on"].help_text = gettext_lazy(
                "The day it was filed; today when left empty. Not in the future."
            )
        if "decided_on" in self.fields:
            self.fields["decided_on"].help_text = gettext_lazy(
                "The day of the decision, saved with a move to accepted or refused; today when "
                "left empty. Not before the filing, not in the future."
            )

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance.pk is not None
            and "decision_reason" in self.changed_data
            and "status" not in self.changed_data
        ):
            self.add_error(
                "decision_reason", _("A decision reason is recorded with a change of status.")
            )
        if (
            self.instance.pk is not None
            and "decided_on" in self.changed_data
            and not ("status" in self.changed_data and cleaned.get("status") in DECISION_STATUSES)
        ):
            self.add_error(
                "decided_on", _("A decision date is recorded with a move to accepted or refused.")
            )
        return cleaned


class InlineAddForm(ServiceErrorsMixin, forms.ModelForm):
    """An inline row: existing rows are shown read-only, new rows go to a service."""


class RequestInlineForm(InlineAddForm):
    """A new request on the case page: filed at once or kept as a draft."""

    draft = forms.BooleanField(
        required=False,
        label=gettext_lazy("Save as draft"),
        help_text=gettext_lazy("Leave unticked to file it now."),
    )


class IntentionActionForm(helpers.ActionForm):
    """The change list's action bar for statements, with the reason the timeline needs."""

    reason = forms.CharField(
        required=False,
        label=gettext_lazy("Reason"),
        widget=forms.TextInput(
            attrs={"size": 40, "placeholder": gettext_lazy("Why (required to contest)")}
        ),
    )


class ReasonActionForm(helpers.ActionForm):
    """A change list's action bar with the reason an archive (or unarchive) needs."""

    reason = forms.CharField(
        required=False,
        label=gettext_lazy("Reason"),
        widget=forms.TextInput(
            attrs={"size": 40, "placeholder": gettext_lazy("Why (required to archive)")}
        ),
    )


class PurgeConfirmForm(forms.Form):
    """The purge confirmation: why, and the case's reference typed again."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=gettext_lazy(
            "Kept in the tombstone event; do not repeat names or other sensitive values."
        ),
    )
    confirm_reference = forms.CharField(
        label=gettext_lazy("Type the case's reference to confirm"), max_length=32
    )

    def __init__(self, *args, reference: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.reference = reference

    def clean_confirm_reference(self):
        value = self.cleaned_data["confirm_reference"].strip()
        if value != self.reference:
            raise forms.ValidationError(
                gettext_lazy("Type %(reference)s exactly to confirm.")
                % {"reference": self.reference}
            )
        return value
