"""What a request may send: JSON bodies only, and the query parameters its address takes."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings

from cases.api.exceptions import UnknownParameter


class JSONParser(parsers.JSONParser):
    """Parse a JSON object; anything else is a 400 (parse_error), never a 500.

    Every body the API takes is an object of fields: a bare number, string or list would
    reach views that read fields from it. A document nested deeper than Python can decode
    is refused the same way.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply.")) from None
        if not isinstance(data, dict):
            raise ParseError(
                _("The body must be a JSON object of fields, not a %(type)s.")
                % {"type": type(data).__name__}
            )
        return data


#: The query parameters each (view class, action, method) takes, worked out once.
_ACCEPTED: dict[tuple, frozenset[str]] = {}


def accepted_parameters(view, method: str) -> frozenset[str]:
    """Return the query parameters ``view`` takes for ``method``, derived from the view.

    They are the ones the OpenAPI schema documents for it: its filter set's (with their
    suffixes, ``captured_after``), its paginator's (``page``, ``page_size``) on a list, the
    query parameters its ``extend_schema`` declares (the feed's ``after`` and ``limit``, the
    consent query's fields), and ``format``. Nothing is listed by hand per view.
    """
    action = getattr(view, "action", None)
    key = (type(view), action, method)
    found = _ACCEPTED.get(key)
    if found is None:
        found = _ACCEPTED[key] = frozenset(_derive(view, action, method))
    return found


def _derive(view, action, method):
    names = {api_settings.URL_FORMAT_OVERRIDE}
    queryset = None
    for backend_class in getattr(view, "filter_backends", None) or []:
        backend = backend_class()
        get_filterset_class = getattr(backend, "get_filterset_class", None)
        if get_filterset_class is None:
            continue
        if queryset is None:
            queryset = view.get_queryset()
        filterset_class = get_filterset_class(view, queryset)
        if filterset_class is None:
            continue
        for name, field in filterset_class(queryset=queryset).form.fields.items():
            # A range filter's widget takes two parameters: ``captured_after`` and so on.
            suffixes = getattr(field.widget, "suffixes", None) or [""]
            names.update(f"{name}_{suffix}" if suffix else name for suffix in suffixes)
    paginator = getattr(view, "paginator", None)
    if paginator is not None and (action == "list" or action is None):
        for attribute in ("page_query_param", "page_size_query_param", "cursor_query_param"):
            if getattr(paginator, attribute, None):
                names.add(getattr(paginator, attribute))
    handler = getattr(view, action or method.lower(), None)
    schema_class = (getattr(handler, "kwargs", None) or {}).get("schema")
    if schema_class is not None:
        schema = schema_class()
        schema.view = view
        schema.method = method
        for parameter in schema.get_override_parameters():
            names.update(_query_names(parameter))
    return names


def _query_names(parameter) -> list[str]:
    if isinstance(parameter, OpenApiParameter):
        return [parameter.name] if parameter.location == OpenApiParameter.QUERY else []
    if isinstance(parameter, type) and issubclass(parameter, serializers.Serializer):
        parameter = parameter()
    if isinstance(parameter, serializers.Serializer):
        return list(parameter.fields)
    return []


class KnownQueryParameters(BasePermission):
    """Refuse a read naming a query parameter its address does not take (400).

    A misspelt filter (``?stauts=interned``) would otherwise be ignored and answer every row
    as if it had matched. The answer names the unknown parameters and lists the accepted
    ones.
    """

    def has_permission(self, request, view):
        """Return True, or raise ``UnknownParameter`` for a read with an unknown parameter."""
        if request.method not in {"GET", "HEAD"} or not request.query_params:
            return True
        accepted = accepted_parameters(view, request.method)
        unknown = sorted(set(request.query_params) - accepted)
        if unknown:
            raise UnknownParameter(unknown, sorted(accepted))
        return True
