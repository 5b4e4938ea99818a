"""The form renderer: Django's templates, with the plain inputs, selects, text areas, labels
and the admin's related-object links written in Python."""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.templatetags.static import static
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import gettext

#: Django's templates that are its ``input.html`` and nothing else; :func:`input_html` writes
#: the same HTML.
PLAIN_INPUT_TEMPLATES = frozenset(
    f"django/forms/widgets/{name}.html"
    for name in (
        "input",
        "checkbox",
        "color",
        "date",
        "datetime",
        "email",
        "file",
        "hidden",
        "number",
        "password",
        "search",
        "tel",
        "text",
        "time",
        "url",
    )
)
SELECT_TEMPLATE = "django/forms/widgets/select.html"
OPTION_TEMPLATE = "django/forms/widgets/select_option.html"
TEXTAREA_TEMPLATE = "django/forms/widgets/textarea.html"
LABEL_TEMPLATE = "django/forms/label.html"
#: An error list's templates, which write nothing for no errors (most fields of a page).
ERROR_LIST_TEMPLATES = frozenset(
    {"django/forms/errors/list/default.html", "django/forms/errors/list/ul.html"}
)


def _value(value) -> str:
    # As ``{{ value }}`` with autoescaping.
    return conditional_escape(str(localize(value)))


def _text(value) -> str:
    # As ``{{ value|stringformat:'s' }}`` with autoescaping: safe strings are kept as they are.
    return str(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: dict | None) -> str:
    # Django's ``attrs.html``; no attributes (None: a label whose widget has no single
    # element to point at, such as a set of radio buttons) write nothing, as the template's
    # loop over a missing ``attrs.items`` does.
    return "".join(
        f" {_value(name)}" if value is True else f' {_value(name)}="{_text(value)}"'
        for name, value in (attrs or {}).items()
        if value is not False
    )


def input_html(widget: dict) -> str:
    """Return Django's ``input.html`` for a widget's template context."""
    value = "" if widget["value"] is None else f' value="{_text(widget["value"])}"'
    return mark_safe(
        f'<input type="{_value(widget["type"])}" name="{_value(widget["name"])}"'
        f"{value}{_attrs(widget['attrs'])}>"
    )


def select_html(widget: dict) -> str | None:
    """Return Django's ``select.html`` for a widget's context, or None when an option has a
    template of its own."""
    parts = [f'<select name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_value(group_name)}">')
        for option in group_choices:
            if option["template_name"] != OPTION_TEMPLATE:
                return None
            parts.append(
                f'\n  <option value="{_text(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_value(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))


def textarea_html(widget: dict) -> str:
    """Return Django's ``textarea.html`` for a widget's template context."""
    value = _value(widget["value"]) if widget["value"] else ""
    return mark_safe(
        f'<textarea name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'
    )


RELATED_WRAPPER_TEMPLATE = "admin/widgets/related_widget_wrapper.html"


def related_wrapper_html(context: dict) -> str:
    """Return the admin's ``related_widget_wrapper.html`` for its template context: the
    select and, unless it is hidden, the links to change, add, delete or view its row."""
    links = []
    if not context["is_hidden"]:
        name, model = _value(context["name"]), _value(context["model"])

        def link(kind, attributes, title, icon, indent="            "):
            rows = "".join(f"\n{indent}{attribute}" for attribute in attributes)
            title = gettext(title) % {"model": model}
            icon = _value(static(f"admin/img/{icon}"))
            links.append(
                f'<a class="related-widget-wrapper-link {kind}-related" id="{kind}_id_{name}"'
                f'{rows}\n{indent}title="{title}"><img src="{icon}" alt="" width="24"'
                ' height="24"></a>'
            )

        def target(url, params):
            return f"{_value(context[url])}?{_value(context[params])}"

        if context["can_change_related"]:
            change = target("change_related_template_url", "url_params")
            attributes = (f'data-href-template="{change}"', 'data-popup="yes"')
            link("change", attributes, "Change selected %(model)s", "icon-changelink.svg")
        if context["can_add_related"]:
            attributes = ('data-popup="yes"', f'href="{target("add_related_url", "url_params")}"')
            link("add", attributes, "Add another %(model)s", "icon-addlink.svg")
        if context["can_delete_related"]:
            delete = target("delete_related_template_url", "url_params")
            attributes = (f'data-href-template="{delete}"', 'data-popup="yes"')
            link("delete", attributes, "Delete selected %(model)s", "icon-deletelink.svg")
        if context["can_view_related"]:
            view = target("change_related_template_url", "view_related_url_params")
            attributes = (f'data-href-template="{view}"',)
            link("view", attributes, "View selected %(model)s", "icon-viewlink.svg", " " * 13)
    reference = (
        ""
        if context["model_has_limit_choices_to"]
        else f'data-model-ref="{_value(context["model_name"])}"'
    )
    return mark_safe(
        f'<div class="related-widget-wrapper" {reference}>\n    '
        f"{_value(context['rendered_widget'])}\n    \n        {''.join(links)}\n    \n</div>"
    )


def label_html(context: dict) -> str:
    """Return Django's ``label.html`` for a label's template context."""
    label = _value(context["label"])
    if not context["use_tag"]:
        return mark_safe(label.strip())
    tag = _value(context["tag"])
    return mark_safe(f"<{tag}{_attrs(context['attrs'])}>{label}</{tag}>")


class QuickInputRenderer(DjangoTemplates):
    """Django's template renderer, except that plain inputs, selects, text areas, labels and
    the admin's related-object links around a select are written in Python, and an empty
    error list is nothing.

    A case page has about two hundred widgets, half of them hidden inputs (an inline row's id
    and case, a formset's counts); each went through two templates or more, a select through
    two per option. The HTML is the same.
    This renderer finds Django's own form templates before any app's, so these names are
    always Django's.
    """

    def render(self, template_name, context, request=None):
        if template_name in PLAIN_INPUT_TEMPLATES:
            return input_html(context["widget"])
        if template_name in ERROR_LIST_TEMPLATES and not context["errors"]:
            return ""
        if template_name == RELATED_WRAPPER_TEMPLATE:
            return related_wrapper_html(context)
        if template_name == LABEL_TEMPLATE:
            return label_html(context)
        if template_name == TEXTAREA_TEMPLATE:
            return textarea_html(context["widget"])
        if template_name == SELECT_TEMPLATE:
            written = select_html(context["widget"])
            if written is not None:
                return written
        return super().render(template_name, context, request)
