"""The admin as a browser sees it: a rendered page turned back into the POST it would send."""

from __future__ import annotations

import datetime as dt

from django.forms import CheckboxInput, ModelMultipleChoiceField
from django.urls import reverse


def _add_form(data: dict, form) -> None:
    for name, field in form.fields.items():
        if field.disabled:
            continue
        bound = form[name]
        value = bound.value()
        if isinstance(field.widget, CheckboxInput):
            if value:
                data[bound.html_name] = "on"
            continue
        if value is None and isinstance(field, ModelMultipleChoiceField):
            continue  # a browser sends nothing for an empty multiple choice
        if value is None:
            data[bound.html_name] = ""
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(getattr(item, "code", item)) for item in value]
        elif isinstance(value, dt.date):
            data[bound.html_name] = value.isoformat()
        else:
            data[bound.html_name] = str(getattr(value, "code", value))


def form_data(response) -> dict:
    """Return the POST data of the admin page in ``response`` as the browser would send it."""
    data: dict = {}
    _add_form(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        _add_form(data, inline.formset.management_form)
        for form in inline.formset.forms:
            _add_form(data, form)
    return data


def new_row(response, model, data: dict, **values) -> None:
    """Fill the first blank inline row for ``model`` in ``data`` with ``values``."""
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        if formset.model is model:
            index = formset.initial_form_count()
            if index >= len(formset.forms):  # what the page's "Add another" button does
                data[f"{formset.prefix}-TOTAL_FORMS"] = str(index + 1)
                # The button copies the blank row the page holds, with its initial values.
                blank: dict = {}
                _add_form(blank, formset.empty_form)
                for name, value in blank.items():
                    data[name.replace("__prefix__", str(index))] = value
            prefix = f"{formset.prefix}-{index}"
            for name, value in values.items():
                data[f"{prefix}-{name}"] = value
            return
    raise AssertionError(f"No inline for {model.__name__} on the page.")


def change_url(obj) -> str:
    return reverse(f"admin:cases_{obj._meta.model_name}_change", args=[obj.pk])


def errors_text(response) -> str:
    """Return every error on the re-shown admin page as one string."""
    parts = [str(e) for e in response.context["adminform"].form.errors.values()]
    parts += [str(e) for e in response.context["errors"]]
    return " ".join(parts)
