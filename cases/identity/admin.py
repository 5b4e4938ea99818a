"""The person page's inlines: identity documents, external identifiers, nationality claims.

Rows are added and corrected on the person's change page; each new row goes to its
``*_record`` service and each changed row to its ``*_update`` service with the version the
officer loaded, so each appends one event. Nothing is deleted here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from cases.admin.forms import VersionedAdminForm
from cases.admin.mixins import (
    SensitiveInlineMixin,
    admin_actor,
    refuse,
    with_service_errors,
)
from cases.identity import services
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.security import sensitive
from cases.services import StaleObjectError


class IdentityInlineForm(VersionedAdminForm):
    """An inline row that carries the version it was loaded at; the page's reason is shared."""

    reason = None

    def clean(self):
        # A new row has no version yet; an existing one must come back with the one loaded.
        if self.instance.pk is None:
            return forms.ModelForm.clean(self)
        return super().clean()


class _IdentityInline(admin.StackedInline):
    """Shared behaviour: service errors shown on the row, nothing deleted, rows editable."""

    form = IdentityInlineForm
    extra = 0
    can_delete = False
    show_change_link = False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = with_service_errors(formset.form, request)
        return formset


class IdentityDocumentInline(SensitiveInlineMixin, _IdentityInline):
    """Documents he carried; the number, the name on it and notes are sensitive."""

    model = IdentityDocument
    verbose_name = "identity document"
    verbose_name_plural = "identity documents carried"
    sensitive_form_fields = sensitive.DOCUMENT_FIELDS
    autocomplete_fields = ("issuer", "source")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("kind", "genuineness"),
                    ("issuer", "issuer_country"),
                    ("number", "name_on_document"),
                    "notes",
                    ("source", "version"),
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuer", "source")


class ExternalIdentifierInline(_IdentityInline):
    """Numbers other systems know him by (ICRC, national information bureau)."""

    model = ExternalIdentifier
    verbose_name = "external identifier"
    verbose_name_plural = "external identifiers (one value per scheme)"
    autocomplete_fields = ("issued_by", "source")
    fieldsets = ((None, {"fields": (("scheme", "value"), ("issued_by", "source"), "version")}),)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issued_by", "source")


class NationalityClaimInline(_IdentityInline):
    """Parties that claim him as a national, and on what basis."""

    model = NationalityClaim
    verbose_name = "nationality claim"
    verbose_name_plural = "nationality claims (who claims him as a national)"
    autocomplete_fields = ("claimed_by", "source")
    fieldsets = ((None, {"fields": (("country", "claimed_by"), "basis", ("source", "version"))}),)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("claimed_by", "source")


INLINES = (IdentityDocumentInline, ExternalIdentifierInline, NationalityClaimInline)

#: Model -> (fields its services take, record service, update service, keyword of the row).
_SERVICES = {
    IdentityDocument: (
        services.DOCUMENT_FIELDS,
        services.identity_document_record,
        services.identity_document_update,
        "identitydocument",
    ),
    ExternalIdentifier: (
        services.IDENTIFIER_FIELDS,
        services.external_identifier_record,
        services.external_identifier_update,
        "externalidentifier",
    ),
    NationalityClaim: (
        services.CLAIM_FIELDS,
        services.nationality_claim_record,
        services.nationality_claim_update,
        "nationalityclaim",
    ),
}


def save_identity_formsets(request, person, formsets, *, reason: str = "") -> None:
    """Hand each new or changed row of the identity inlines to its service.

    The admin's own ``formset.save()`` never runs; a refusal becomes the row's error.
    """
    actor = admin_actor(request)
    for formset in formsets:
        spec = _SERVICES.get(formset.model)
        if spec is None:
            continue
        fields, record, update, keyword = spec
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            try:
                if inline_form.instance.pk is None:
                    given = {n: data[n] for n in fields if n in data}
                    row = record(actor=actor, person=person, reason=reason, **given)
                    formset.new_objects.append(row)
                else:
                    changed = {n: data[n] for n in fields if n in inline_form.changed_data}
                    if not changed:
                        continue
                    row = update(
                        actor=actor,
                        expected_version=data.get("version"),
                        reason=reason,
                        **{keyword: inline_form.instance},
                        **changed,
                    )
                    formset.changed_objects.append((row, list(changed)))
            except (ValidationError, StaleObjectError) as exc:
                raise refuse(exc, inline_form) from exc
