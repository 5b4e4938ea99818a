"""The form renderer writes plain inputs, selects, text areas, labels and the related-object
links around a select as Django's templates do."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from django import forms
from django.conf import settings
from django.contrib.admin import widgets as admin_widgets
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from cases.admin.forms import QuickSelect
from tracker.renderers import QuickInputRenderer

CHOICES = [
    ("", "---------"),
    (1, "One & <one>"),
    ("Group <g>", [("a", "A"), ("b", gettext_lazy("Reason"))]),
    (None, "none"),
    (3, 3),
]

WIDGETS = [
    (forms.HiddenInput(), 5),
    (forms.HiddenInput(), None),
    (
        forms.TextInput(
            attrs={
                "size": 40,
                "placeholder": gettext_lazy("Why (required to archive)"),
                "required": True,
                "disabled": False,
            }
        ),
        'a "b" <c> & d',
    ),
    (forms.NumberInput(attrs={"min": 1}), 3),
    (admin_widgets.AdminTextInputWidget(), mark_safe("<b>")),
    (admin_widgets.AdminIntegerFieldWidget(), 10**6),
    (forms.EmailInput(), "x@example.org"),
    (admin_widgets.AdminURLFieldWidget(), "https://example.org/?b=1&c=2"),
    (forms.PasswordInput(render_value=True), "secret"),
    (forms.PasswordInput(), "secret"),
    (forms.CheckboxInput(), True),
    (forms.CheckboxInput(), False),
    (forms.DateInput(), dt.date(2025, 1, 2)),
    (admin_widgets.AdminDateWidget(), dt.date(2025, 1, 2)),
    (forms.SplitDateTimeWidget(), dt.datetime(2025, 1, 2, 3, 4)),
    (forms.FileInput(), None),
    (forms.ClearableFileInput(), None),
    (forms.Select(choices=CHOICES), 1),
    (forms.Select(choices=CHOICES), "b"),
    (forms.Select(choices=CHOICES), None),
    (forms.SelectMultiple(choices=CHOICES), ["a", "1"]),
    (forms.NullBooleanSelect(), True),
    (forms.RadioSelect(choices=CHOICES), "a"),
    (forms.CheckboxSelectMultiple(choices=CHOICES), ["a"]),
    (forms.Textarea(), "x <y>\nz"),
    (forms.Textarea(), ""),
    (forms.Textarea(), None),
    (admin_widgets.AdminTextareaWidget(), mark_safe("<b>")),
]


def test_it_is_the_projects_renderer():
    """Every form renders through it (``FORM_RENDERER``)."""
    assert settings.FORM_RENDERER == "tracker.renderers.QuickInputRenderer"
    assert isinstance(get_default_renderer(), QuickInputRenderer)


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
@pytest.mark.parametrize(("widget", "value"), WIDGETS, ids=lambda item: type(item).__name__)
def test_the_html_is_djangos(widget, value, language):
    """Each widget's HTML is byte for byte what Django's templates write, in each language."""
    with translation.override(language):
        written = widget.render("name<&>", value, {"id": "id_x"}, renderer=QuickInputRenderer())
        expected = widget.render("name<&>", value, {"id": "id_x"}, renderer=DjangoTemplates())
    assert written == expected


class LabelledForm(forms.Form):
    name = forms.CharField(label="Name & <alias>")
    code = forms.CharField(label=mark_safe("<em>Code</em> "), required=False)
    hidden = forms.CharField(widget=forms.HiddenInput, required=False)
    # A label with no element to point at: Django passes its attributes as None.
    keep = forms.ChoiceField(
        choices=[("1", "Ri"), ("2", "Lee")], widget=forms.RadioSelect, required=False
    )


@pytest.mark.parametrize("bound", [False, True])
@pytest.mark.parametrize("auto_id", ["id_%s", False])
def test_labels_and_error_lists_are_djangos(bound, auto_id):
    """Labels (with and without a tag, with a suffix and classes) and error lists, empty or
    not, are what Django's templates write."""
    data = {"code": "x"} if bound else None
    written, expected = (
        LabelledForm(data, auto_id=auto_id, renderer=renderer)
        for renderer in (QuickInputRenderer(), DjangoTemplates())
    )
    for name in ("name", "code", "hidden", "keep"):
        for label in (
            lambda field: field.label_tag(),
            lambda field: field.label_tag(label_suffix=" :", attrs={"class": "required"}),
            lambda field: field.legend_tag(),
            lambda field: field.errors.as_ul(),
            lambda field: str(field.errors),
        ):
            assert label(written[name]) == label(expected[name])
    assert str(written.non_field_errors()) == str(expected.non_field_errors())
    assert written.as_div() == expected.as_div()


RELATED_CONTEXT = {
    "rendered_widget": mark_safe('<select name="requests-0-addressed_to">\n</select>'),
    "name": "requests-0-addressed_to",
    "url_params": "_to_field=id&_popup=1",
    "model": "party & <co>",
    "model_name": "party",
    "add_related_url": "/admin/cases/party/add/",
    "delete_related_template_url": "/admin/cases/party/__fk__/delete/",
    "view_related_url_params": "_to_field=id",
    "change_related_template_url": "/admin/cases/party/__fk__/change/",
}


@pytest.mark.parametrize("language", ["en", "uk", "ko"])
@pytest.mark.parametrize("flags", list(itertools.product([True, False], repeat=6)))
def test_the_related_links_around_a_select_are_djangos(flags, language):
    """The admin's wrapper of a select (its change, add, delete and view links) is what its
    template writes, for every combination of links, hidden or not, limited or not."""
    hidden, add, change, delete, view, limited = flags
    context = {
        **RELATED_CONTEXT,
        "is_hidden": hidden,
        "can_add_related": add,
        "can_change_related": change,
        "can_delete_related": delete,
        "can_view_related": view,
        "model_has_limit_choices_to": {"kind": "state"} if limited else None,
    }
    template = "admin/widgets/related_widget_wrapper.html"
    with translation.override(language):
        written = QuickInputRenderer().render(template, context)
        assert written == DjangoTemplates().render(template, context)


@pytest.mark.parametrize("value", ["KR", "", None, "ZZ"])
def test_a_quick_country_select_is_djangos_select(value):
    """The country select writes its options once and marks the chosen one as Django does
    (without the line breaks between options)."""
    quick = QuickSelect(attrs={"id": "id_c"})
    quick.choices = [("", "---------"), ("KP", "North Korea"), ("KR", "South Korea")]
    plain = forms.Select(attrs={"id": "id_c"}, choices=quick.choices)
    for _ in range(2):  # written, then from what was written
        written = quick.render("country", value)
        expected = plain.render("country", value, renderer=DjangoTemplates())
        assert written == re.sub(r">\s+<", "><", expected)
    assert written.count(" selected") == (0 if value == "ZZ" else 1)
