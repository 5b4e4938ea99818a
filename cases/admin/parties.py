"""Reference data: parties and the sources facts are drawn from."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import ModelForm

from cases import services
from cases.admin import forms
from cases.admin.mixins import (
    DeclaredLookupsMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.models import (
    Party,
    Source,
)


class ReferenceForm(forms.ServiceErrorsMixin, ModelForm):
    """A party or source form with the optional reason for a change."""

    reason = forms.ReasonField()


@admin.register(Party)
class PartyAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """States, forces, agencies, organisations, legislators and outlets."""

    form = ReferenceForm
    list_display = ("name", "short_name", "kind", "country", "parent")
    list_filter = ("kind",)
    list_select_related = ("parent",)
    search_fields = ("name", "short_name")
    autocomplete_fields = ("parent",)
    fields = ("name", "short_name", "kind", "country", "parent", "is_neutral", "reason")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                changed = {n: data[n] for n in services.PARTY_FIELDS if n in form.changed_data}
                party = services.party_update(
                    actor=admin_actor(request), party=obj, reason=data.get("reason", ""), **changed
                )
            else:
                party = services.party_create(
                    actor=admin_actor(request),
                    name=data["name"],
                    kind=data["kind"],
                    country=data.get("country") or "",
                    parent=data.get("parent"),
                    short_name=data.get("short_name", ""),
                )
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, party)


@admin.register(Source)
class SourceAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """Reports, interviews and statements that facts are drawn from."""

    form = ReferenceForm
    list_display = ("title", "publisher", "published_on", "language", "reliability")
    list_filter = ("reliability",)
    search_fields = ("title", "publisher", "url")
    fields = (*services.SOURCE_FIELDS, "reason")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if change:
                changed = {n: data[n] for n in services.SOURCE_FIELDS if n in form.changed_data}
                source = services.source_update(
                    actor=admin_actor(request),
                    source=obj,
                    reason=data.get("reason", ""),
                    **changed,
                )
            else:
                fields = {n: data[n] for n in services.SOURCE_FIELDS if n in data}
                source = services.source_create(actor=admin_actor(request), **fields)
        except ValidationError as exc:
            raise refuse(exc, form) from exc
        adopt(obj, source)
