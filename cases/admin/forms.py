"""Forms for the case officers' admin: version checks, reasons, status choices, service errors.

The admin never saves these forms itself; the model admins in ``cases.admin`` pass their
cleaned data to the services. The forms only validate, so that a stale or illegal edit is
shown back to the officer with the error beside the field instead of reaching the database.
"""

from __future__ import annotations

from django import forms
from django.contrib.admin import helpers
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django_countries.fields import CountryField

from cases import choices
from cases.models import Case, Person, Request, TimelineEvent
from cases.services import CASE_FIELDS, PERSON_FIELDS, REQUEST_FIELDS
from cases.transitions import (
    CASE_CLOSED_STATUSES,
    allowed_case_statuses,
    allowed_request_statuses,
)


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
                errors = [
                    ValidationError(f"{field.replace('_', ' ').capitalize()}: {message}")
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
        kwargs.setdefault("label", "Reason for this change")
        kwargs.setdefault(
            "help_text", "Optional. Recorded on the case's timeline with every change saved."
        )
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 60}))
        super().__init__(**kwargs)


class VersionedAdminForm(ServiceErrorsMixin, forms.ModelForm):
    """A change form that refuses to save over a newer version of its row.

    The hidden ``version`` field carries the version the officer loaded. If the row has a
    newer one when the form is posted, the form is invalid and says who changed it, so the
    officer reloads instead of overwriting a colleague's edit.
    """

    version = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    reason = ReasonField()

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if instance.pk is None:
            return cleaned
        loaded = cleaned.get("version")
        if loaded is None:
            raise ValidationError(
                "This form was sent without the version you loaded. Reload the page and "
                "save again.",
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


class CaseAdminForm(VersionedAdminForm):
    """The case form: status limited to the allowed transitions, plus version and reason."""

    destination_country = CountryField(blank=True).formfield(
        required=False,
        label="Destination of a transfer",
        help_text="When the status becomes 'Transferred to a third state': where to (default: "
        "the destination of the scheduled transfer request). The consent gate checks it.",
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
            offered = [current, *allowed_case_statuses(current)]
            status.help_text = "Only the statuses this case may move to are offered."
        status.choices = [(value, choices.CaseStatus(value).label) for value in offered]


class PersonAdminForm(VersionedAdminForm):
    """The person form, with version and reason; name variants come from the inline."""

    class Meta:
        model = Person
        fields = (*PERSON_FIELDS, "version")


class RequestAdminForm(VersionedAdminForm):
    """The request form: status limited to the allowed transitions, plus version and reason."""

    class Meta:
        model = Request
        fields = ("case", "kind", *REQUEST_FIELDS, "source", "status", "decision_reason", "version")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        status = self.fields.get("status")
        if status is not None:
            if self.instance.pk is None:
                offered = [choices.RequestStatus.FILED, choices.RequestStatus.DRAFT]
                status.help_text = "File the request now, or keep it as a draft."
            else:
                current = self.instance.status
                offered = [current, *allowed_request_statuses(current)]
                status.help_text = "Only the statuses this request may move to are offered."
            status.choices = [(value, choices.RequestStatus(value).label) for value in offered]
        if self.instance.pk is not None and "intention" in self.fields:
            self.fields["intention"].queryset = self.instance.case.intentions.all()
        if "decision_reason" in self.fields and self.instance.pk is not None:
            self.fields["decision_reason"].help_text = "Saved together with a change of status."

    def clean(self):
        cleaned = super().clean()
        if (
            self.instance.pk is not None
            and "decision_reason" in self.changed_data
            and "status" not in self.changed_data
        ):
            self.add_error(
                "decision_reason", "A decision reason is recorded with a change of status."
            )
        return cleaned


class InlineAddForm(ServiceErrorsMixin, forms.ModelForm):
    """An inline row: existing rows are shown read-only, new rows go to a service."""


class RequestInlineForm(InlineAddForm):
    """A new request on the case page: filed at once or kept as a draft."""

    draft = forms.BooleanField(
        required=False, label="Save as draft", help_text="Leave unticked to file it now."
    )


class IntentionActionForm(helpers.ActionForm):
    """The change list's action bar for statements, with the reason the timeline needs."""

    reason = forms.CharField(
        required=False,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "Why (required to contest)"}),
    )


class ReasonActionForm(helpers.ActionForm):
    """A change list's action bar with the reason an archive (or unarchive) needs."""

    reason = forms.CharField(
        required=False,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "Why (required to archive)"}),
    )


class PurgeConfirmForm(forms.Form):
    """The purge confirmation: why, and the case's reference typed again."""

    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Kept in the tombstone event; do not repeat names or other sensitive values.",
    )
    confirm_reference = forms.CharField(label="Type the case's reference to confirm", max_length=32)

    def __init__(self, *args, reference: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.reference = reference

    def clean_confirm_reference(self):
        value = self.cleaned_data["confirm_reference"].strip()
        if value != self.reference:
            raise forms.ValidationError(f"Type {self.reference} exactly to confirm.")
        return value
