"""Shared parts of the case officers' admin: lookups, change log, saving through services,
sensitive values, archiving and the timeline on a change page.
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.options import IncorrectLookupParameters, get_content_type_for_model
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import router, transaction
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import BaseInlineFormSet, model_to_dict
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.functional import cached_property
from django.utils.translation import gettext, gettext_lazy, ngettext

from cases import services
from cases.admin import forms
from cases.choices import Channel, EventKind
from cases.filters import ARCHIVED_CHOICES, ArchivedFilterSet
from cases.models import (
    Case,
    TimelineEvent,
)
from cases.security import access, sensitive
from cases.selectors import case_timeline
from cases.services import Actor, StaleObjectError
from cases.timeline import presenter

# --------------------------------------------------------------------------------------------
# Lookups: only those an admin declares, never one on a sensitive field without the permission
# --------------------------------------------------------------------------------------------

#: Fields whose values no lookup may reach for a user without ``cases.view_sensitive``, per
#: model name: the shared list, plus what holds the same values in other shapes (a name
#: variant's value and search key, an event's summary and changes).
SENSITIVE_LOOKUP_FIELDS: dict[str, frozenset[str]] = {
    **{name: frozenset(fields) for name, fields in sensitive.SENSITIVE_FIELDS.items()},
    "personname": frozenset({"value", "search_key"}),
    "timelineevent": frozenset({"summary", "changes"}),
}

#: The parts of a date hierarchy's query and the values each may take.
_DATE_PARTS = {"year": (1, 9998), "month": (1, 12), "day": (1, 31)}

#: What a query with a NUL character is told; no text field on either database holds one.
NUL_REFUSAL = "The query holds a NUL character (%00), which no field can hold. Remove it."


def _field_filter_parameters(model_admin, request, path: str, filter_class) -> set[str]:
    """Return the query parameters a field list filter on ``path`` reads.

    Django's own field filters are named here without building them (building some reads
    the database); any other filter class is built and asked.
    """
    field = get_fields_from_path(model_admin.model, path)[-1]
    if filter_class is None:
        filter_class = next(
            cls for test, cls in admin.FieldListFilter._field_list_filters if test(field)
        )
    if issubclass(filter_class, admin.EmptyFieldListFilter):
        return {f"{path}__isempty"}
    if issubclass(filter_class, admin.RelatedFieldListFilter):
        return {f"{path}__{field.target_field.name}__exact", f"{path}__isnull"}
    if issubclass(filter_class, admin.DateFieldListFilter):
        return {f"{path}__gte", f"{path}__lt", *([f"{path}__isnull"] if field.null else [])}
    if issubclass(filter_class, admin.BooleanFieldListFilter | admin.ChoicesFieldListFilter):
        return {f"{path}__exact", f"{path}__isnull"}
    if issubclass(filter_class, admin.AllValuesFieldListFilter):
        return {path, f"{path}__isnull"}
    spec = filter_class(field, request, {}, model_admin.model, model_admin, field_path=path)
    return set(spec.expected_parameters())


def declared_lookups(model_admin, request) -> frozenset[str]:
    """Return the query parameters ``model_admin``'s change list declares.

    They are the parameters of its list filters (a simple filter's ``parameter_name``, a field
    filter's own lookups) and the year, month and day of its date hierarchy. The search box
    (``q``) and Django's paging, ordering and popup parameters never reach a lookup.
    """
    declared: set[str] = set()
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
            declared.add(item.parameter_name)
        elif isinstance(item, list | tuple):
            declared |= _field_filter_parameters(model_admin, request, item[0], item[1])
        else:
            declared |= _field_filter_parameters(model_admin, request, item, None)
    if model_admin.date_hierarchy:
        declared.update(f"{model_admin.date_hierarchy}__{part}" for part in _DATE_PARTS)
    return frozenset(declared)


def lookup_reaches_sensitive(model, lookup: str) -> bool:
    """Return whether ``lookup`` (from ``model``, across relations) reads a sensitive field."""
    for part in lookup.split(LOOKUP_SEP):
        if part in SENSITIVE_LOOKUP_FIELDS.get(model._meta.model_name, ()):
            return True
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # the rest are lookups and transforms of the field before
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


def _has_nul(query) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in query.lists())


class DeclaredLookupsMixin:
    """Accept only the lookups the admin declares; refuse bad characters with a 400.

    Django's ``lookup_allowed`` accepts a lookup on any of the model's own fields, JSON key
    transforms and regular expressions included, so a change list's row count would answer
    any question about any value. Here a query parameter is a lookup only when a list filter
    or the date hierarchy declares it, and never one on a sensitive field for a user without
    ``cases.view_sensitive``; anything else is Django's ``DisallowedModelAdminLookup``, a 400.
    A NUL character in a change list's query is a 400 too, and is removed from a search term
    (the autocomplete's included): PostgreSQL refuses it in text.

    Every registered model admin carries this mixin; ``tests/admin/test_admin_lookups.py`` walks
    the registry. Admins that search differently override ``search_rows``, not
    ``get_search_results``, so the term is cleaned first on every path.
    """

    def lookup_allowed(self, lookup, value, request=None):
        if lookup not in declared_lookups(self, request):
            return False
        user = getattr(request, "user", None)
        if lookup_reaches_sensitive(self.model, lookup) and not sensitive.can_view_sensitive(user):
            return False
        field, _sep, part = lookup.rpartition(LOOKUP_SEP)
        if self.date_hierarchy and field == self.date_hierarchy and part in _DATE_PARTS:
            # Django builds the period's bounds outside its own error handling: year 9999
            # or month 13 would be a server error.
            low, high = _DATE_PARTS[part]
            return str(value).isdigit() and low <= int(value) <= high
        return True

    def changelist_view(self, request, extra_context=None):
        if _has_nul(request.GET):
            return HttpResponseBadRequest(NUL_REFUSAL, content_type="text/plain; charset=utf-8")
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        return self.search_rows(request, queryset, search_term.replace("\x00", ""))

    def search_rows(self, request, queryset, search_term):
        """Return ``(rows, may_have_duplicates)`` for a search term free of NUL characters."""
        return super().get_search_results(request, queryset, search_term)


def guard_other_apps(site: admin.AdminSite, app_label: str = "cases") -> None:
    """Give the admins other apps registered (users, groups, devices, lockouts) the mixin.

    Their classes are subclassed with :class:`DeclaredLookupsMixin` first and registered again
    in their place; the admins of ``app_label`` declare the mixin themselves.
    """
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label == app_label or isinstance(model_admin, DeclaredLookupsMixin):
            continue
        admin_class = type(model_admin)
        guarded = type(admin_class.__name__, (DeclaredLookupsMixin, admin_class), {})
        site.unregister(model)
        site.register(model, guarded)


# --------------------------------------------------------------------------------------------
# Django's change log and history: no sensitive text, the timeline instead
# --------------------------------------------------------------------------------------------


def log_label(obj) -> str:
    """Return how Django's change log names ``obj``: its kind and reference or uuid, no text.

    ``str()`` of a note is its text and of a name variant the name itself; the change log is
    shown on history pages and kept apart from the timeline, so it holds no such text.
    """
    name = str(obj._meta.verbose_name).capitalize()
    key = getattr(obj, "reference", None) or getattr(obj, "uuid", None) or obj.pk
    return f"{name} {key}"


def _stored_log_label(obj) -> str:
    with translation.override(None):
        return log_label(obj)


class TimelineChangeLogMixin:
    """Keep object text out of Django's change log; answer "History" with the timeline.

    The log's ``object_repr`` and change message name objects by :func:`log_label`, and a
    message is kept only in the structured form Django builds (no free text). The history
    page shows the object's timeline events instead of the change log, redacted as the case
    page's timeline is, and logs the sensitive values it shows.
    """

    def construct_change_message(self, request, form, formsets, add=False):
        # Stored, and read in every language: in English, as Django's own change log does.
        with translation.override(None):
            return self._change_message(form, formsets, add=add)

    def _change_message(self, form, formsets, *, add: bool) -> list[dict]:
        message = []
        if add:
            message.append({"added": {}})
        elif form.changed_data:
            fields = [str(form.fields[n].label or n) for n in form.changed_data if n in form.fields]
            message.append({"changed": {"fields": fields}})
        for formset in formsets or ():
            for verb, rows in (
                ("added", formset.new_objects),
                ("changed", [row for row, _fields in formset.changed_objects]),
                ("deleted", formset.deleted_objects),
            ):
                message.extend(
                    {verb: {"name": str(row._meta.verbose_name), "object": log_label(row)}}
                    for row in rows
                )
        return message

    def _log(self, request, obj, flag: int, message) -> LogEntry:
        return LogEntry.objects.create(
            user_id=request.user.pk,
            content_type_id=get_content_type_for_model(obj).pk,
            object_id=str(obj.pk),
            object_repr=_stored_log_label(obj)[:200],
            action_flag=flag,
            change_message=json.dumps(message) if isinstance(message, list) else "",
        )

    def log_addition(self, request, obj, message):
        return self._log(request, obj, ADDITION, message)

    def log_change(self, request, obj, message):
        return self._log(request, obj, CHANGE, message)

    def log_deletions(self, request, queryset):
        return [self._log(request, obj, DELETION, []) for obj in queryset]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["history_is_timeline"] = True  # the object tools call the link "Timeline"
        return super().render_change_form(request, context, add, change, form_url, obj)

    #: Events per page of the history (timeline) page.
    history_page_size = 50
    #: The order of the history page, newest first.
    history_ordering: tuple[str, ...] = ("-recorded_at", "-pk")

    def history_events(self, obj):
        """Return the timeline events that make up ``obj``'s history."""
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    def history_view(self, request, object_id, extra_context=None):
        """Show ``obj``'s timeline, newest first, a page at a time, filtered by kind.

        The queries are the same for one event and for a full page: the object, the count
        of its events, the kinds it has (the filter offers only those) and one page of
        events with their actors and sources.
        """
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        events = self.history_events(obj)
        kind_labels = dict(EventKind.choices)
        present = set(events.order_by().values_list("kind", flat=True).distinct())
        kind = request.GET.get("kind", "")
        if kind and kind not in kind_labels:
            return HttpResponseBadRequest(
                gettext("Unknown kind of event."), content_type="text/plain; charset=utf-8"
            )
        if kind:
            events = events.filter(kind=kind)
        paginator = Paginator(
            events.select_related("actor", "source").order_by(*self.history_ordering),
            self.history_page_size,
        )
        page = paginator.get_page(request.GET.get("page"))
        shown: list = []
        rows = event_rows(page.object_list, request.user, shown=shown)
        if shown and sensitive.can_view_sensitive(request.user):
            reads = presenter.merge_shown(shown)
            access.log_reads(reads, user=request.user, channel=access.ADMIN, path=request.path)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Timeline: %(record)s") % {"record": log_label(obj)},
            "subtitle": None,
            "object_label": log_label(obj),
            "object_id": obj.pk,
            "opts": self.opts,
            "timeline": rows,
            "page_obj": page,
            "paginator": paginator,
            "kind": kind,
            "kinds": sorted(
                ((value, kind_labels[value]) for value in present if value in kind_labels),
                key=lambda item: str(item[1]),
            ),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/cases/timeline_history.html", context)


# --------------------------------------------------------------------------------------------
# Saving through the services
# --------------------------------------------------------------------------------------------


def admin_actor(request) -> Actor:
    """Return the actor for a change made by the logged-in officer through the admin."""
    return Actor(user=request.user, channel=Channel.ADMIN)


class ServiceRefused(Exception):
    """A service refused the save; carries the error and the prefix of the form it concerns."""

    def __init__(self, error: Exception, prefix: str | None = None):
        self.error = error
        self.prefix = prefix
        super().__init__(str(error))


def refuse(error: Exception, form) -> ServiceRefused:
    return ServiceRefused(error, getattr(form, "prefix", None))


def with_service_errors(form_class, request):
    """Return ``form_class``, or a subclass that shows the errors of a refused save."""
    errors = getattr(request, "_service_errors", None)
    if not errors:
        return form_class
    return type(form_class)(form_class.__name__, (form_class,), {"service_errors": errors})


def adopt(target, saved) -> None:
    """Make ``target`` (the admin's instance) mirror ``saved`` (the row a service wrote)."""
    for field in type(saved)._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db
    target._state.fields_cache = {}


def update_then_transition(form, *, update, fields, transition):
    """Save a change form's edits with ``update``, then its new status with ``transition``.

    The edited ``fields`` go to ``update`` (a service taking ``expected_version``, ``reason``
    and the fields), checked against the version the form was loaded at. A status change is
    its own service and event (it passes transition rules and, for moves, the consent gate),
    so it runs after, on the version the update left; ``transition`` takes the updated row
    and ``status``, ``expected_version`` and ``reason``. Return the row as last saved.
    """
    data = form.cleaned_data
    reason = data.get("reason", "")
    saved = update(
        expected_version=data.get("version"),
        reason=reason,
        **{name: data[name] for name in fields if name in form.changed_data},
    )
    if "status" in form.changed_data:
        saved = transition(
            saved, status=data["status"], expected_version=saved.version, reason=reason
        )
    return saved


class QuickAutocompleteMixin:
    """Give a model admin's or inline's autocomplete fields the widgets that read no rows
    when nothing is chosen (``cases.admin.forms.QuickAutocompleteSelect``)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = forms.QuickAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = forms.QuickAutocompleteSelectMultiple(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ServiceModelAdmin(QuickAutocompleteMixin, admin.ModelAdmin):
    """A model admin whose saves go through services and whose refusals become form errors.

    A save runs inside a savepoint. When a service raises a ValidationError or a
    StaleObjectError, everything written in that attempt is rolled back and the same input is
    validated again with the service's message attached to the form (or inline row) it
    concerns, so the officer sees the page again with the error instead of a server error.
    """

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        return forms.quick_country_field(db_field, formfield)

    def _changeform_view(self, request, object_id, form_url, extra_context):
        if request.method != "POST":
            return super()._changeform_view(request, object_id, form_url, extra_context)
        try:
            with transaction.atomic(using=router.db_for_write(self.model)):
                return super()._changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refusal:
            request._service_errors = {refusal.prefix: refusal.error}
            return super()._changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        return with_service_errors(form, request)

    def save_form(self, request, form, change):
        # The default calls form.save(commit=False); the services build the rows instead.
        return form.instance

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        """Hand each new inline row to ``add_<model>``; existing rows are read-only."""
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        saver = getattr(self, f"add_{formset.model._meta.model_name}")
        for inline_form in formset.extra_forms:
            if not inline_form.has_changed():
                continue
            try:
                obj = saver(request, form, inline_form.cleaned_data)
            except (ValidationError, StaleObjectError) as exc:
                raise refuse(exc, inline_form) from exc
            formset.new_objects.append(obj)


class AddOnlyFormSet(BaseInlineFormSet):
    """The formset of an :class:`AddOnlyInline`: recorded rows are shown, never edited.

    A recorded row's form holds only its id, its parent and the form's own (non-model)
    fields: the admin shows every field of such a row read-only from the row itself, and
    skips validating its form on a save, so building and copying each editable field for it
    was work for nothing (a case with sixteen tasks built sixteen task forms). The empty form
    (the template of "Add another") is built once: Django builds it anew on each read, and a
    page reads it several times per inline (its row, its column headers, its media, whether
    it uploads files).
    """

    @cached_property
    def empty_form(self):
        return super().empty_form

    @cached_property
    def _recorded_row_form(self):
        base = self.form

        class Meta(base.Meta):
            fields = ()

        def __init__(form, *args, **kwargs):
            base.__init__(form, *args, **kwargs)
            # The row's values as the full form holds them: the formset compares a new row
            # with them (a second interview of the same case in one visit, say).
            values = model_to_dict(form.instance, base._meta.fields, base._meta.exclude)
            form.initial = {**values, **form.initial}

        return type(
            base.__name__,
            (base,),
            {"Meta": Meta, "__init__": __init__, "__module__": base.__module__},
        )

    def _construct_form(self, i, **kwargs):
        if i >= self.initial_form_count():
            return super()._construct_form(i, **kwargs)
        form_class, self.form = self.form, self._recorded_row_form
        try:
            return super()._construct_form(i, **kwargs)
        finally:
            self.form = form_class


class AddOnlyInline(QuickAutocompleteMixin):
    """An inline whose existing rows are shown read-only and whose new rows go to a service."""

    formset = AddOnlyFormSet
    extra = 0
    can_delete = False
    show_change_link = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        return forms.quick_country_field(db_field, formfield)

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are built per request, so the parent can be kept for the choices.
        self.parent_object = obj
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = with_service_errors(formset.form, request)
        return formset


# --------------------------------------------------------------------------------------------
# Sensitive values, archiving and the purge
# --------------------------------------------------------------------------------------------


def without_fields(fieldsets, hidden) -> list:
    """Return ``fieldsets`` without the ``hidden`` fields, and without sets left empty."""
    hidden = set(hidden)
    result = []
    for name, options in fieldsets:
        fields = []
        for item in options.get("fields", ()):
            if isinstance(item, list | tuple):
                kept = tuple(f for f in item if f not in hidden)
                if kept:
                    fields.append(kept if len(kept) > 1 else kept[0])
            elif item not in hidden:
                fields.append(item)
        if fields:
            result.append((name, {**options, "fields": tuple(fields)}))
    return result


class SensitiveAdminMixin:
    """Withhold sensitive fields from users without the permission; log what others see.

    ``sensitive_form_fields`` leave the change form (and so the saved fields) of a user who
    may not see them. A change page that shows sensitive values to a user who may appends
    their access-log entries (channel ``admin``): one entry per object, one insert per page.
    """

    sensitive_form_fields: tuple[str, ...] = ()

    def get_fieldsets(self, request, obj=None):
        return self.redact_fieldsets(request, super().get_fieldsets(request, obj))

    def redact_fieldsets(self, request, fieldsets):
        """Return ``fieldsets`` without the sensitive fields if the user may not see them."""
        if not self.sensitive_form_fields or sensitive.can_view_sensitive(request.user):
            return fieldsets
        return without_fields(fieldsets, self.sensitive_form_fields)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            # Display methods have no request; they read this flag (absent means withhold).
            obj._sensitive_allowed = sensitive.can_view_sensitive(request.user)
        return obj

    def sensitive_reads(self, request, obj) -> dict[tuple[str, Any], list[str]]:
        """Return ``{(object_type, uuid): fields}`` of the sensitive values the page shows."""
        values = sensitive.sensitive_values(obj)
        return {(obj._meta.model_name, obj.uuid): sorted(values)} if values else {}

    def changelist_reads(self, request, rows) -> dict[tuple[str, Any], list[str]]:
        """Return ``{(object_type, uuid): fields}`` of the sensitive values a list page shows."""
        return {}

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if (
            response.status_code == 200
            and changelist is not None
            and sensitive.can_view_sensitive(request.user)
        ):
            reads = self.changelist_reads(request, changelist.result_list)
            if reads:
                access.log_reads(reads, user=request.user, channel=access.ADMIN, path=request.path)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        context = getattr(response, "context_data", None) or {}
        obj = context.get("original")
        if (
            response.status_code == 200
            and obj is not None
            and sensitive.can_view_sensitive(request.user)
        ):
            reads = self.sensitive_reads(request, obj)
            if reads:
                access.log_reads(reads, user=request.user, channel=access.ADMIN, path=request.path)
        return response


class FilterSetListFilter(admin.SimpleListFilter):
    """A change-list filter that applies one filter of a shared FilterSet (``cases.filters``).

    The value is bound to ``filterset_class`` under ``parameter_name`` alone, so the admin
    filters rows by the same rule, query and index as the API and the analysts' pages. A
    value the FilterSet refuses is Django's ``IncorrectLookupParameters`` (the change list's
    "?e=1" redirect), as for the admin's own filters.
    """

    filterset_class: type[django_filters.FilterSet]

    def filterset(self, request, queryset) -> django_filters.FilterSet:
        """Return ``filterset_class`` bound to this filter's value only."""
        value = self.value()
        data = {self.parameter_name: value} if value not in (None, "") else {}
        return self.filterset_class(data, queryset=queryset, request=request)

    def queryset(self, request, queryset):
        filterset = self.filterset(request, queryset)
        if not filterset.is_valid():
            errors = " ".join(e for errs in filterset.form.errors.values() for e in errs)
            raise IncorrectLookupParameters(errors)
        return self.apply(filterset, queryset)

    def apply(self, filterset, queryset):
        """Return ``queryset`` filtered by this filter alone (not the FilterSet's others)."""
        name = self.parameter_name
        return filterset.filters[name].filter(queryset, filterset.form.cleaned_data.get(name))


class ArchivedListFilter(FilterSetListFilter):
    """Leave archived rows out of the change list unless asked for them (``ArchivedFilterSet``)."""

    title = gettext_lazy("archived")
    parameter_name = "archived"
    filterset_class = ArchivedFilterSet

    def apply(self, filterset, queryset):
        # The FilterSet holds this filter only, and applies its value or default last.
        return filterset.filter_queryset(queryset)

    def lookups(self, request, model_admin):
        # "exclude" is the FilterSet's default: the first choice, shown without a value.
        return [(value, label) for value, label in ARCHIVED_CHOICES if value != "exclude"]

    def choices(self, changelist):
        yield {
            "selected": self.value() in (None, "exclude"),
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": dict(ARCHIVED_CHOICES)["exclude"],
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


def archive_action(keyword: str, *, archive: bool, permission: str = "change"):
    """Return a change-list action that archives (or unarchives) the selected rows."""
    verb = "archive" if archive else "unarchive"
    service = getattr(services, f"{keyword}_{verb}")

    def action(modeladmin, request, queryset):
        reason = request.POST.get("reason", "").strip()
        done = 0
        for row in queryset:
            try:
                service(actor=admin_actor(request), reason=reason, **{keyword: row})
            except (ValidationError, StaleObjectError) as exc:
                messages_ = exc.messages if isinstance(exc, ValidationError) else [str(exc)]
                modeladmin.message_user(
                    request,
                    gettext("%(record)s: %(problem)s")
                    % {"record": row, "problem": " ".join(messages_)},
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            if archive:
                text = ngettext("%(count)d archived.", "%(count)d archived.", done)
            else:
                text = ngettext("%(count)d unarchived.", "%(count)d unarchived.", done)
            modeladmin.message_user(request, text % {"count": done}, messages.SUCCESS)

    action.__name__ = f"{verb}_selected"
    description = gettext_lazy("Archive (give a reason)") if archive else gettext_lazy("Unarchive")
    return admin.action(description=description, permissions=(permission,))(action)


# --------------------------------------------------------------------------------------------
# The timeline on a change page (prepared by cases.timeline.presenter)
# --------------------------------------------------------------------------------------------


#: How many of a case's latest events its change page shows; the rest are on its timeline page.
LATEST_EVENTS = 10


def timeline_rows(
    case: Case, user=None, *, shown: list | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Return the case's events, newest first, prepared for the change page (see event_rows).

    ``limit`` keeps only the newest events: a case's history grows without bound, its page
    must not.
    """
    events = case_timeline(case)
    if limit is not None:
        events = events[:limit]
    return event_rows(events, user, shown=shown)


def event_rows(events, user=None, *, shown: list | None = None) -> list[dict[str, Any]]:
    """Return ``events``, in their order, prepared for a timeline table by the presenter.

    Sensitive values are withheld from a ``user`` without the permission; for a user with it,
    what was shown is appended to ``shown`` for the access log (``present_events``).
    """
    allowed = user is None or sensitive.can_view_sensitive(user)
    return presenter.present_events(events, show_sensitive=allowed, shown=shown)


def intention_label(option: str, destination: Any) -> str:
    label = presenter.choice_label("statedintention", "option", option)
    code = getattr(destination, "code", destination) or ""
    return f"{label} ({code})" if code else label


class SensitiveInlineMixin:
    """An inline that leaves out its sensitive fields for users without the permission.

    Existing rows show a read-only column saying the value is withheld; new rows can still
    be added without the sensitive fields (a note, whose text is sensitive, cannot).
    """

    sensitive_form_fields: tuple[str, ...] = ()

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if sensitive.can_view_sensitive(request.user):
            return fieldsets
        hidden = without_fields(fieldsets, self.sensitive_form_fields)
        name, options = hidden[0] if hidden else (None, {"fields": ()})
        hidden[:1] = [(name, {**options, "fields": (*options["fields"], "withheld")})]
        return hidden

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if sensitive.can_view_sensitive(request.user) else (*fields, "withheld")

    @admin.display(description=gettext_lazy("withheld"))
    def withheld(self, obj):
        return f"{', '.join(self.sensitive_form_fields)}: redacted"
