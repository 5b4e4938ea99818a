"""Risk of harm on return, recorded on the case page."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy

from cases.admin import forms
from cases.admin.mixins import (
    AddOnlyInline,
    SensitiveInlineMixin,
)
from cases.models import (
    RiskAssessment,
)
from cases.security import sensitive


class RiskAssessmentInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Risk of harm on return: assessments are kept side by side, the newest counts."""

    model = RiskAssessment
    form = forms.InlineAddForm
    extra = 0
    # Recorded assessments fold to one line; open one to read it.
    template = "admin/cases/case/stacked_folded.html"
    verbose_name = gettext_lazy("risk assessment")
    verbose_name_plural = gettext_lazy("risk on return (a high risk refuses a return)")
    sensitive_form_fields = sensitive.RISK_FIELDS
    autocomplete_fields = ("assessed_by", "source")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("level", "destination_country"),
                    ("persecution", "torture", "reprisal", "family_at_risk"),
                    "basis",
                    ("assessed_by", "assessor"),
                    ("assessed_on", "source"),
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("assessed_by", "source")
