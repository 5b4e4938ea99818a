"""Template filters for dates known only to a precision (``cases.timeline.presenter``)."""

from django import template

from cases.timeline.presenter import date_at_precision

register = template.Library()


@register.filter
def at_precision(value, precision):
    """Render ``value`` to ``precision``.

    ``{{ case.capture_date|at_precision:case.capture_date_precision }}``
    """
    return date_at_precision(value, precision)
