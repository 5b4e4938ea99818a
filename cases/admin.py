"""The case officers' admin.

Thin by design: forms validate, and every save calls a service in ``cases/services.py`` with
the officer as actor, so each change lands on the case's timeline. The admin's own
``form.save()`` and ``formset.save()`` never run. Nothing can be deleted here: statements are
superseded or withdrawn, requests are withdrawn or lapse, and the timeline is append-only.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.cache import cache
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import router, transaction
from django.db.models import CharField, F, Prefetch, Q, Value
from django.db.models.constants import LOOKUP_SEP
from django.db.models.functions import Concat
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django_countries import countries

from cases import admin_forms, choices, consent, services
from cases.choices import Channel, IntentionState
from cases.filters import CaseFilterSet
from cases.models import (
    Case,
    Note,
    Party,
    Person,
    PersonName,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.pages.charts import CACHE_SECONDS, timeline_head
from cases.security import access, sensitive
from cases.selectors import case_timeline
from cases.services import Actor, NameSpec, StaleObjectError

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

    Every registered model admin carries this mixin; ``tests/test_admin_lookups.py`` walks
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


class TimelineChangeLogMixin:
    """Keep object text out of Django's change log; answer "History" with the timeline.

    The log's ``object_repr`` and change message name objects by :func:`log_label`, and a
    message is kept only in the structured form Django builds (no free text). The history
    page shows the object's timeline events instead of the change log, redacted as the case
    page's timeline is, and logs the sensitive values it shows.
    """

    def construct_change_message(self, request, form, formsets, add=False):
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
            object_repr=log_label(obj)[:200],
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

    def history_events(self, obj):
        """Return the timeline events that make up ``obj``'s history."""
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied
        shown: list = []
        events = self.history_events(obj).select_related("actor", "source")
        rows = event_rows(events.order_by("-recorded_at", "-pk"), request.user, shown=shown)
        if shown and sensitive.can_view_sensitive(request.user):
            access.log_reads(
                _merge_shown(shown), user=request.user, channel=access.ADMIN, path=request.path
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline: {log_label(obj)}",
            "subtitle": None,
            "object_label": log_label(obj),
            "object_id": obj.pk,
            "opts": self.opts,
            "timeline": rows,
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/cases/timeline_history.html", context)


def _merge_shown(shown) -> dict[tuple[str, Any], list[str]]:
    """Return ``{(subject type, uuid): keys}`` from ``(subject type, uuid, keys)`` triples."""
    reads: dict[tuple[str, Any], set[str]] = {}
    for subject_type, subject_uuid, keys in shown:
        reads.setdefault((subject_type, subject_uuid), set()).update(keys)
    return {key: sorted(keys) for key, keys in reads.items()}


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


def _refuse(error: Exception, form) -> ServiceRefused:
    return ServiceRefused(error, getattr(form, "prefix", None))


def _with_service_errors(form_class, request):
    """Return ``form_class``, or a subclass that shows the errors of a refused save."""
    errors = getattr(request, "_service_errors", None)
    if not errors:
        return form_class
    return type(form_class)(form_class.__name__, (form_class,), {"service_errors": errors})


def _adopt(target, saved) -> None:
    """Make ``target`` (the admin's instance) mirror ``saved`` (the row a service wrote)."""
    for field in type(saved)._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db
    target._state.fields_cache = {}


class ServiceModelAdmin(admin.ModelAdmin):
    """A model admin whose saves go through services and whose refusals become form errors.

    A save runs inside a savepoint. When a service raises a ValidationError or a
    StaleObjectError, everything written in that attempt is rolled back and the same input is
    validated again with the service's message attached to the form (or inline row) it
    concerns, so the officer sees the page again with the error instead of a server error.
    """

    def has_delete_permission(self, request, obj=None):
        return False

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
        return _with_service_errors(form, request)

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
                raise _refuse(exc, inline_form) from exc
            formset.new_objects.append(obj)


class AddOnlyInline:
    """An inline whose existing rows are shown read-only and whose new rows go to a service."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        # Inline instances are built per request, so the parent can be kept for the choices.
        self.parent_object = obj
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _with_service_errors(formset.form, request)
        return formset


# --------------------------------------------------------------------------------------------
# Sensitive values, archiving and the purge
# --------------------------------------------------------------------------------------------


def _without_fields(fieldsets, hidden) -> list:
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
        return _without_fields(fieldsets, self.sensitive_form_fields)

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


class ArchivedListFilter(admin.SimpleListFilter):
    """Leave archived rows out of the change list unless asked for them."""

    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return (("include", "Archived or not"), ("only", "Archived only"))

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Not archived",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        if self.value() == "include":
            return queryset
        if self.value() == "only":
            return queryset.filter(archived_at__isnull=False)
        return queryset.filter(archived_at__isnull=True)


def _archive_action(keyword: str, *, archive: bool, permission: str = "change"):
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
                modeladmin.message_user(request, f"{row}: {' '.join(messages_)}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"{done} {verb}d.", messages.SUCCESS)

    action.__name__ = f"{verb}_selected"
    description = "Archive (give a reason)" if archive else "Unarchive"
    return admin.action(description=description, permissions=(permission,))(action)


@admin.action(description="Purge the case for good (superusers)", permissions=("purge",))
def purge_case(modeladmin, request, queryset):
    """Ask for a reason and the reference, then purge the one selected case."""
    cases = list(queryset[:2])
    if len(cases) != 1:
        modeladmin.message_user(request, "Select exactly one case to purge.", messages.ERROR)
        return None
    case = cases[0]
    form = admin_forms.PurgeConfirmForm(
        request.POST if "confirm_purge" in request.POST else None, reference=case.reference
    )
    if form.is_bound and form.is_valid():
        try:
            services.case_purge(
                actor=admin_actor(request), case=case, reason=form.cleaned_data["reason"]
            )
        except services.PurgeRefused as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return None
        modeladmin.message_user(
            request, f"Case {form.reference} purged; a tombstone is in the feed.", messages.SUCCESS
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Purge {case.reference}?",
        "case": case,
        "form": form,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "counts": {
            "statements": case.intentions.count(),
            "requests": case.requests.count(),
            "notes": case.notes.count(),
            "occurrences": case.occurrences.count(),
            "events": case.events.count(),
            "other cases of the person": case.person.cases.exclude(pk=case.pk).count(),
        },
    }
    return TemplateResponse(request, "admin/cases/case/purge_confirmation.html", context)


# --------------------------------------------------------------------------------------------
# Display helpers
# --------------------------------------------------------------------------------------------


def _readable(value: Any) -> str:
    """Return a value from an event's ``changes`` as a person reads it."""
    if value is None:
        return "—"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "value" in value:  # a name variant
            extra = [value.get("script", ""), value.get("romanisation", "")]
            if value.get("is_pseudonym"):
                extra.append("pseudonym")
            details = ", ".join(item for item in extra if item)
            return f"{value['value']} ({details})" if details else str(value["value"])
        return ", ".join(f"{key}: {_readable(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_readable(item) for item in value) if value else "(none)"
    return str(value)


_PRECISION_FORMATS = {
    choices.DatePrecision.EXACT: "%Y-%m-%d %H:%M",
    choices.DatePrecision.DAY: "%Y-%m-%d",
    choices.DatePrecision.MONTH: "%Y-%m",
    choices.DatePrecision.YEAR: "%Y",
    choices.DatePrecision.APPROXIMATE: "c. %Y-%m-%d",
}


def _occurred_display(moment, precision: str) -> str:
    """Return when something happened, showing no more than is known."""
    return moment.strftime(_PRECISION_FORMATS.get(precision, "%Y-%m-%d %H:%M"))


def timeline_rows(case: Case, user=None, *, shown: list | None = None) -> list[dict[str, Any]]:
    """Return the case's events, newest first, prepared for the change page (see event_rows)."""
    return event_rows(case_timeline(case), user, shown=shown)


def event_rows(events, user=None, *, shown: list | None = None) -> list[dict[str, Any]]:
    """Return ``events``, in their order, prepared for a timeline table.

    Sensitive values are withheld from a ``user`` without the permission
    (``cases.security.sensitive``); for a user with it, ``(subject_type, subject_uuid, keys)``
    of each event that shows sensitive values is appended to ``shown``, for the access log.
    """
    rows = []
    allowed = user is None or sensitive.can_view_sensitive(user)
    for event in events:
        data = {
            "kind": event.kind,
            "subject_type": event.subject_type,
            "changes": event.changes,
            "summary": event.summary,
        }
        sensitive.redact_event(data, user, allowed=allowed)
        if allowed and shown is not None:
            keys = sensitive.event_shows_sensitive(event.kind, event.subject_type, event.changes)
            if keys:
                shown.append((event.subject_type, event.subject_uuid, keys))
        changes = [
            {
                "field": str(field).replace("_", " "),
                "old": _readable(pair[0]) if isinstance(pair, list | tuple) else "",
                "new": _readable(pair[1] if isinstance(pair, list | tuple) else pair),
            }
            if field not in data["redacted"]
            else {"field": str(field).replace("_", " "), "old": "", "new": "redacted"}
            for field, pair in data["changes"].items()
        ]
        rows.append(
            {
                "seq": event.case_seq,
                "kind": event.kind,
                "kind_label": event.get_kind_display(),
                "summary": data["summary"],
                "changes": changes,
                "actor": event.actor_label or (event.actor and event.actor.get_username()) or "",
                "channel": event.get_channel_display(),
                "reason": event.reason,
                "source": event.source,
                "occurred_at": _occurred_display(event.occurred_at, event.occurred_precision),
                "occurred_precision": event.get_occurred_precision_display(),
                "recorded_at": event.recorded_at,
            }
        )
    return rows


def _intention_label(option: str, destination: Any) -> str:
    label = choices.IntentionOption(option).label
    code = getattr(destination, "code", destination) or ""
    return f"{label} ({code})" if code else label


# --------------------------------------------------------------------------------------------
# Reference data: parties and sources
# --------------------------------------------------------------------------------------------


class ReferenceForm(admin_forms.ServiceErrorsMixin, admin_forms.forms.ModelForm):
    """A party or source form with the optional reason for a change."""

    reason = admin_forms.ReasonField()


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
            raise _refuse(exc, form) from exc
        _adopt(obj, party)


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
            raise _refuse(exc, form) from exc
        _adopt(obj, source)


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------


class PersonNameInline(admin.TabularInline):
    """A person's name variants; the whole list is handed to the person service."""

    model = PersonName
    fields = ("value", "script", "romanisation", "is_pseudonym")
    extra = 1

    def get_queryset(self, request):
        condition = sensitive.visible_name_condition(request.user)
        return super().get_queryset(request).filter(condition)

    # Without the permission the list is partial, so it must not be saved back as a whole.
    def has_add_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        allowed = sensitive.can_view_sensitive(request.user)
        return allowed and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _with_service_errors(formset.form, request)
        return formset


@admin.register(Person)
class PersonAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """Detained persons: identity, service details, life status and name variants."""

    form = admin_forms.PersonAdminForm
    inlines = (PersonNameInline,)
    list_display = ("working_name", "name_variants", "identity_confidence", "nationalities")
    list_filter = (ArchivedListFilter, "identity_confidence", "is_deceased", "sex")
    sensitive_form_fields = sensitive.PERSON_FIELDS
    action_form = admin_forms.ReasonActionForm
    actions = (
        _archive_action("person", archive=True),
        _archive_action("person", archive=False),
    )
    search_fields = ("working_name", "service_number")
    autocomplete_fields = ("armed_force", "power_depends_on")
    readonly_fields = ("case_links",)

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (
                "Identity",
                {
                    "fields": (
                        "working_name",
                        "sex",
                        ("birth_date", "birth_date_precision"),
                        "birth_place",
                        "nationalities",
                        "identity_confidence",
                    )
                },
            ),
            (
                "Service (GC III Art. 17)",
                {"fields": ("armed_force", "power_depends_on", "rank", "unit", "service_number")},
            ),
            ("Life", {"fields": ("is_deceased", "date_of_death")}),
            ("Sensitive", {"classes": ("collapse",), "fields": ("family_links", "medical_notes")}),
        ]
        if obj is not None:
            fieldsets.insert(1, ("Cases", {"fields": ("case_links",)}))
            if obj.archived_at is not None:
                fieldsets.insert(0, ("Archived", {"fields": ("archived_at",)}))
        fieldsets.append(("This change", {"fields": ("reason", "version")}))
        return self.redact_fieldsets(request, fieldsets)

    def get_readonly_fields(self, request, obj=None):
        return ("case_links", "archived_at")

    def get_queryset(self, request):
        visible = PersonName.objects.filter(sensitive.visible_name_condition(request.user))
        return (
            super()
            .get_queryset(request)
            .prefetch_related("names", Prefetch("names", queryset=visible, to_attr="shown_names"))
        )

    def get_search_fields(self, request):
        if sensitive.can_view_sensitive(request.user):
            return self.search_fields
        return ("working_name",)

    def search_rows(self, request, queryset, search_term):
        results, may_have_duplicates = super().search_rows(request, queryset, search_term)
        if search_term.strip():
            # The name variants the user may see, in any spelling, by the rules of the
            # shared name search (short spellings match whole words).
            match = sensitive.visible_name_match(search_term, "pk", request.user)
            if match is not None:
                results = results | queryset.filter(match)
        return results, may_have_duplicates

    def history_events(self, obj):
        return TimelineEvent.objects.filter(Q(person=obj) | Q(subject_uuid=obj.uuid))

    def changelist_reads(self, request, rows):
        # The list shows the variants in ``shown_names``: true names to a user who may see them.
        return {
            ("person", person.uuid): [sensitive.NAMES]
            for person in rows
            if any(sensitive.is_hidden_name(n) for n in getattr(person, "shown_names", ()))
        }

    @admin.display(description="name variants")
    def name_variants(self, obj):
        # ``shown_names`` holds only the variants the user may see (see get_queryset).
        return ", ".join(name.value for name in getattr(obj, "shown_names", ()))

    @admin.display(description="cases")
    def case_links(self, obj):
        cases = obj.cases.select_related("detaining_party").order_by("-opened_at")
        if not cases:
            return "No case opened."
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({}, {})',
            (
                (
                    reverse("admin:cases_case_change", args=[case.pk]),
                    case.reference,
                    case.get_status_display(),
                    case.detaining_party,
                )
                for case in cases
            ),
        )

    def save_model(self, request, obj, form, change):
        # Fields and name variants are saved together in save_related: one service, one event.
        pass

    def save_related(self, request, form, formsets, change):
        names_formset = next(fs for fs in formsets if fs.model is PersonName)
        allowed = sensitive.can_view_sensitive(request.user)
        names = [
            NameSpec(
                value=row.cleaned_data["value"],
                script=row.cleaned_data["script"],
                romanisation=row.cleaned_data.get("romanisation") or "",
                is_pseudonym=bool(row.cleaned_data.get("is_pseudonym")),
            )
            for index, row in enumerate(names_formset.forms)
            if row not in names_formset.deleted_forms
            and (index < names_formset.initial_form_count() or row.has_changed())
            and row.cleaned_data.get("value")
        ]
        names_formset.new_objects, names_formset.changed_objects = [], []
        names_formset.deleted_objects = []
        if change and not allowed:
            names = None  # the user saw only some variants; leave them all as they are
        data = form.cleaned_data
        try:
            if change:
                person = services.person_update(
                    actor=admin_actor(request),
                    person=form.instance,
                    expected_version=data.get("version"),
                    names=names,
                    reason=data.get("reason", ""),
                    **{n: data[n] for n in services.PERSON_FIELDS if n in form.changed_data},
                )
            else:
                person = services.person_create(
                    actor=admin_actor(request),
                    names=names,
                    reason=data.get("reason", ""),
                    **{n: data[n] for n in services.PERSON_FIELDS if n in data},
                )
        except (ValidationError, StaleObjectError) as exc:
            raise _refuse(exc, form) from exc
        _adopt(form.instance, person)


# --------------------------------------------------------------------------------------------
# Cases and what hangs off them
# --------------------------------------------------------------------------------------------


class NationalityFilter(admin.SimpleListFilter):
    """Filter cases by one of the person's nationalities (stored as comma-separated codes)."""

    title = "nationality"
    parameter_name = "nationality"

    def lookups(self, request, model_admin):
        """Return the nationalities held by someone, cached per state of the timeline.

        Reading them scans every person; a change to a person appends a timeline event, so
        the newest event names the state they were read in (as for the list page's counts,
        ``cases.pages.charts.case_counts``) and the scan runs again only after a change.
        """
        head = timeline_head() or (0, "")
        key = f"admin:nationalities:{head[0]}:{head[1]}"
        found = cache.get(key)
        if found is None:
            codes = set()
            stored = (
                Person.objects.exclude(nationalities="")
                .order_by()
                .values_list("nationalities", flat=True)
                .distinct()
            )
            for value in stored:
                items = value.split(",") if isinstance(value, str) else value
                codes.update(str(getattr(item, "code", item)) for item in items if item)
            found = sorted(codes)
            cache.set(key, found, CACHE_SECONDS)
        return sorted(((code, countries.name(code) or code) for code in found), key=lambda c: c[1])

    def queryset(self, request, queryset):
        code = (self.value() or "").strip().upper()
        if not code:
            return queryset
        # Wrapping the list in commas makes ",KP," match KP exactly, never KPX or part of it.
        return queryset.alias(
            nationality_list=Concat(
                Value(","), F("person__nationalities"), Value(","), output_field=CharField()
            )
        ).filter(nationality_list__contains=f",{code},")


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
        hidden = _without_fields(fieldsets, self.sensitive_form_fields)
        name, options = hidden[0] if hidden else (None, {"fields": ()})
        hidden[:1] = [(name, {**options, "fields": (*options["fields"], "withheld")})]
        return hidden

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if sensitive.can_view_sensitive(request.user) else (*fields, "withheld")

    @admin.display(description="withheld")
    def withheld(self, obj):
        return f"{', '.join(self.sensitive_form_fields)}: redacted"


class StatedIntentionInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Statements on the case page: read-only once recorded; new ones may supersede one."""

    model = StatedIntention
    form = admin_forms.InlineAddForm
    extra = 1
    verbose_name = "stated intention"
    verbose_name_plural = "stated intentions (a statement is never edited: record a new one)"
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    autocomplete_fields = ("heard_by", "interpreter_supplied_by", "present_parties", "source")
    readonly_fields = ("state",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("option", "destination_country"),
                    ("stated_on", "stated_on_precision"),
                    ("certainty", "state"),
                    "conditions",
                    ("quote", "quote_language"),
                    ("heard_by", "heard_by_role"),
                    ("setting", "interpreter_supplied_by"),
                    "present_parties",
                    ("detaining_power_present", "options_explained"),
                    "duress_signs",
                    ("verification", "source"),
                    "supersedes",
                ),
                "description": "The level must be earned by how the statement was heard: "
                "hearsay is at most reported; letters and media interviews at most stated; "
                "witnessed needs an independent party present; verified a private interview "
                "by a neutral body with no detaining-power staff present, after he was told "
                "his options; reconfirmed an earlier verified statement of the same wish.",
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("heard_by", "interpreter_supplied_by", "source", "supersedes")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "supersedes":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                StatedIntention.objects.filter(case=parent, state=IntentionState.ACTIVE)
                if parent is not None and parent.pk
                else StatedIntention.objects.none()
            )
            kwargs["help_text"] = (
                "For a change of mind: the active statement this one replaces. It stays on "
                "record, marked superseded."
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class RequestInline(AddOnlyInline, admin.StackedInline):
    """Requests on the case page with their parties' positions; edited on the request page."""

    model = Request
    form = admin_forms.RequestInlineForm
    show_change_link = True
    autocomplete_fields = ("requested_by", "addressed_to", "source")
    readonly_fields = ("status", "positions_summary")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("kind", "status"),
                    ("requested_by", "addressed_to"),
                    ("destination_country", "legal_basis"),
                    ("filed_on", "draft"),
                    ("intention", "source"),
                    "positions_summary",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("requested_by", "addressed_to", "source", "intention")
            .prefetch_related("positions__party")
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "intention":
            parent = getattr(self, "parent_object", None)
            kwargs["queryset"] = (
                StatedIntention.objects.filter(case=parent)
                if parent is not None and parent.pk
                else StatedIntention.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="parties' positions")
    def positions_summary(self, obj):
        if obj is None or obj.pk is None:
            return "Positions are recorded on the request's own page once it is saved."
        positions = list(obj.positions.all())
        if not positions:
            return "No position recorded."
        return format_html_join(
            "",
            "<div>{}: <strong>{}</strong> ({}){}</div>",
            (
                (
                    p.party,
                    p.get_stance_display(),
                    p.stated_on,
                    f" — {p.conditions}" if p.conditions else "",
                )
                for p in positions
            ),
        )


class NoteInline(SensitiveInlineMixin, AddOnlyInline, admin.TabularInline):
    """Officers' notes: added, never edited or deleted."""

    model = Note
    sensitive_form_fields = sensitive.NOTE_FIELDS
    # A note's str is its text; this template shows it only with the permission.
    template = "admin/cases/case/note_inline.html"
    form = admin_forms.InlineAddForm
    extra = 1
    fields = ("body", "source", "author", "created_at")
    readonly_fields = ("author", "created_at")
    autocomplete_fields = ("source",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author", "source")


CASE_CUSTODY_FIELDS = (
    "reference",
    "detaining_party",
    "legal_status",
    "status",
    "priority",
    "assigned_officer",
)
CASE_CAPTURE_FIELDS = (
    ("capture_date", "capture_date_precision"),
    ("capture_place", "capture_place_code"),
    "detention_place",
)


class RiskAssessmentInline(SensitiveInlineMixin, AddOnlyInline, admin.StackedInline):
    """Risk of harm on return: assessments are kept side by side, the newest counts."""

    model = RiskAssessment
    form = admin_forms.InlineAddForm
    extra = 0
    verbose_name = "risk assessment"
    verbose_name_plural = "risk on return (a high risk refuses a return)"
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


@admin.register(Case)
class CaseAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, ServiceModelAdmin
):
    """One custody episode: the person, custody, statements, requests, notes and timeline."""

    form = admin_forms.CaseAdminForm

    class Media:
        css = {"all": ["cases/admin.css"]}

    inlines = (StatedIntentionInline, RiskAssessmentInline, RequestInline, NoteInline)
    list_display = (
        "reference",
        "person",
        "detaining_party",
        "status",
        "current_intention_column",
        "updated_at",
    )
    list_filter = (
        ArchivedListFilter,
        "status",
        "detaining_party",
        "current_intention_option",
        "current_intention_verified",
        NationalityFilter,
        "legal_status",
    )
    list_select_related = ("person", "detaining_party")
    # One count of the listed cases per page, not a second one of every case.
    show_full_result_count = False
    search_fields = ("reference", "person__working_name")
    search_help_text = "Reference, or any spelling of the person's name (Ri, Lee, 리 ...)."
    autocomplete_fields = ("person", "detaining_party")
    action_form = admin_forms.ReasonActionForm
    actions = (
        _archive_action("case", archive=True),
        _archive_action("case", archive=False),
        purge_case,
    )

    def has_purge_permission(self, request):
        return bool(request.user.is_active and request.user.is_superuser)

    def sensitive_reads(self, request, obj):
        reads: dict[tuple[str, Any], list[str]] = {}
        person = Person.objects.prefetch_related("names").get(pk=obj.person_id)
        values = sensitive.sensitive_values(person)
        if values:
            reads[("person", person.uuid)] = sorted(values)
        for row in (*obj.intentions.all(), *obj.notes.all()):
            values = sensitive.sensitive_values(row)
            if values:
                reads[(row._meta.model_name, row.uuid)] = sorted(values)
        for subject_type, subject_uuid, keys in getattr(request, "_timeline_shown", ()):
            key = (subject_type, subject_uuid)
            reads[key] = sorted(set(reads.get(key, ())) | set(keys))
        return reads

    def history_events(self, obj):
        return TimelineEvent.objects.filter(case=obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # The links beside a related field come from the wrapper Django puts around the
        # widget after formfield_for_foreignkey, so they are switched off here.
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "assigned_officer" and formfield is not None:
            # Logins are managed elsewhere; no shortcuts to add, change, view or delete one.
            for flag in (
                "can_add_related",
                "can_change_related",
                "can_delete_related",
                "can_view_related",
            ):
                setattr(formfield.widget, flag, False)
        return formfield

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("person", *CASE_CUSTODY_FIELDS)}),
                ("Capture and detention", {"fields": CASE_CAPTURE_FIELDS}),
                ("This change", {"fields": ("reason",)}),
            ]
        archived = [("Archived", {"fields": ("archived_at",)})] if obj.archived_at else []
        return [
            *archived,
            ("Person", {"fields": ("person_summary",)}),
            ("Current intention", {"fields": ("current_intention_summary",)}),
            ("Consent gate", {"fields": ("consent_summary",)}),
            ("Custody", {"fields": (*CASE_CUSTODY_FIELDS, "destination_country")}),
            ("Capture and detention", {"fields": CASE_CAPTURE_FIELDS}),
            ("Record", {"fields": (("opened_at", "updated_at", "closed_at"),)}),
            ("This change", {"fields": ("reason", "version")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "archived_at",
            "person_summary",
            "current_intention_summary",
            "consent_summary",
            "opened_at",
            "updated_at",
            "closed_at",
        )

    def search_rows(self, request, queryset, search_term):
        """Search as the analysts' pages and the API do (``CaseFilterSet.filter_q``).

        The reference, the working name, or a name variant the user may see, in any
        spelling; the matching case ids are a union of index reads, so the page's count of
        matches does not scan every case. Each case is listed once.
        """
        if not search_term.strip():
            return queryset, False
        search = CaseFilterSet(queryset=queryset, request=request)
        return search.filter_q(queryset, "q", search_term), False

    @admin.display(description="current intention", ordering="current_intention_option")
    def current_intention_column(self, obj):
        if not obj.current_intention_option:
            return "—"
        label = _intention_label(obj.current_intention_option, obj.current_intention_destination)
        level = obj.get_current_intention_verification_display().split(" (")[0].lower()
        if obj.current_intention_verified:
            return format_html("{} <strong>({})</strong>", label, level)
        return format_html(
            '{} ({}) <strong class="case-unverified">UNVERIFIED</strong>', label, level
        )

    @admin.display(description="person")
    def person_summary(self, obj):
        person = obj.person
        allowed = getattr(obj, "_sensitive_allowed", False)
        names = format_html_join(
            ", ",
            "{} <small>({}{})</small>",
            (
                (
                    name.value,
                    name.get_script_display(),
                    f", {name.get_romanisation_display()}" if name.romanisation else "",
                )
                for name in sensitive.visible_names(person.names.all(), None, allowed=allowed)
            ),
        )
        return format_html(
            '<a href="{}"><strong>{}</strong></a><br>Name variants: {}',
            reverse("admin:cases_person_change", args=[person.pk]),
            person.working_name,
            names or "none recorded",
        )

    @admin.display(description="current intention")
    def current_intention_summary(self, obj):
        current = obj.current_intention
        statements_url = (
            reverse("admin:cases_statedintention_changelist") + f"?case__id__exact={obj.pk}"
        )
        manage = format_html(
            '<br><a href="{}">Withdraw, contest or invalidate a statement</a>', statements_url
        )
        if current is None:
            return format_html("No active statement recorded.{}", manage)
        label = _intention_label(current.option, current.destination_country)
        details = f"{current.get_verification_display()}, stated {current.stated_on}"
        if current.is_verified:
            flag = mark_safe("<strong>VERIFIED</strong>")
        else:
            flag = mark_safe(
                '<strong class="case-unverified">UNVERIFIED</strong> — not heard in a private '
                "interview by a neutral body"
            )
        return format_html("<strong>{}</strong> ({})<br>{}{}", label, details, flag, manage)

    @admin.display(description="consent gate today")
    def consent_summary(self, obj):
        """Show the gate's answer for each move the case's open requests would make."""
        intentions = list(obj.intentions.prefetch_related("present_parties"))
        requests = list(obj.requests.all())
        risks = list(obj.risk_assessments.all())
        rows = []
        for move in consent.moves_in_view(requests):
            decision = consent.check_loaded(
                obj, move, intentions=intentions, requests=requests, risks=risks
            )
            if decision.passed:
                rows.append(format_html("<strong>{}</strong>: open", move.label))
            else:
                problems = format_html_join(
                    "", "<li>{}</li>", ((p.message,) for p in decision.problems)
                )
                rows.append(
                    format_html("<strong>{}</strong>: refused<ul>{}</ul>", move.label, problems)
                )
        risk = consent.latest_risk(obj.person, risks, consent.own_states(obj.person))
        if risk is not None:
            rows.append(format_html("Risk on return: {}", str(risk)))
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            request._timeline_shown = []
            context["timeline"] = timeline_rows(obj, request.user, shown=request._timeline_shown)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request)
        reason = data.get("reason", "")
        try:
            if change:
                case = services.case_update(
                    actor=actor,
                    case=obj,
                    expected_version=data.get("version"),
                    reason=reason,
                    **{n: data[n] for n in services.CASE_FIELDS if n in form.changed_data},
                )
                if "status" in form.changed_data:
                    case = services.case_change_status(
                        actor=actor,
                        case=case,
                        status=data["status"],
                        expected_version=case.version,
                        reason=reason,
                        destination_country=data.get("destination_country") or "",
                    )
            else:
                fields = {
                    n: data[n]
                    for n in services.CASE_FIELDS
                    if n in data and n not in {"reference", "detaining_party"}
                }
                case = services.case_open(
                    actor=actor,
                    reference=data["reference"],
                    person=data["person"],
                    detaining_party=data["detaining_party"],
                    status=data["status"],
                    reason=reason,
                    **fields,
                )
        except (ValidationError, StaleObjectError) as exc:
            raise _refuse(exc, form) from exc
        _adopt(obj, case)

    def add_statedintention(self, request, form, data):
        """Record a new statement, superseding the chosen one if any."""
        fields = {n: data[n] for n in services.INTENTION_FIELDS if n in data}
        common = {
            "actor": admin_actor(request),
            "reason": form.cleaned_data.get("reason", ""),
            "source": data.get("source"),
            "present_parties": list(data.get("present_parties") or ()),
        }
        if data.get("supersedes") is not None:
            return services.intention_supersede(intention=data["supersedes"], **common, **fields)
        return services.intention_record(case=form.instance, **common, **fields)

    def add_request(self, request, form, data):
        """File a new request (or keep it as a draft)."""
        fields = {
            n: data[n]
            for n in services.REQUEST_FIELDS
            if n in data and n != "addressed_to" and data[n] not in (None, "")
        }
        return services.request_file(
            actor=admin_actor(request),
            case=form.instance,
            kind=data["kind"],
            addressed_to=data["addressed_to"],
            draft=bool(data.get("draft")),
            reason=form.cleaned_data.get("reason", ""),
            source=data.get("source"),
            **fields,
        )

    def add_riskassessment(self, request, form, data):
        """Record a risk assessment."""
        fields = {n: data[n] for n in services.RISK_FIELDS if n in data and data[n] is not None}
        return services.risk_assessment_record(
            actor=admin_actor(request),
            case=form.instance,
            source=data.get("source"),
            **fields,
        )

    def add_note(self, request, form, data):
        """Add an officer's note."""
        return services.note_add(
            actor=admin_actor(request),
            case=form.instance,
            body=data["body"],
            source=data.get("source"),
        )


# --------------------------------------------------------------------------------------------
# Statements, requests and the timeline on their own pages
# --------------------------------------------------------------------------------------------


def _mark_action(state: str, description: str):
    def action(modeladmin, request, queryset):
        reason = request.POST.get("reason", "").strip()
        done = 0
        for intention in queryset.select_related("case"):
            try:
                services.intention_set_state(
                    actor=admin_actor(request), intention=intention, state=state, reason=reason
                )
            except ValidationError as exc:
                modeladmin.message_user(
                    request,
                    f"{intention.case.reference}, {intention}: {' '.join(exc.messages)}",
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request, f"{done} statement(s) marked {state}.", messages.SUCCESS
            )

    action.__name__ = f"mark_{state}"
    return admin.action(description=description, permissions=("mark",))(action)


@admin.register(StatedIntention)
class StatedIntentionAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, admin.ModelAdmin
):
    """Statements across cases; select some to withdraw, contest, invalidate or reinstate."""

    list_display = ("case", "option", "destination_country", "verification", "state", "stated_on")
    list_filter = (ArchivedListFilter, "state", "verification", "option", "setting")
    list_select_related = ("case",)
    search_fields = ("case__reference", "case__person__working_name")
    action_form = admin_forms.IntentionActionForm
    sensitive_form_fields = sensitive.INTENTION_FIELDS
    actions = (
        _archive_action("intention", archive=True, permission="mark"),
        _archive_action("intention", archive=False, permission="mark"),
        _mark_action(IntentionState.WITHDRAWN, "Mark withdrawn by the person (give a reason)"),
        _mark_action(IntentionState.CONTESTED, "Mark contested (give a reason)"),
        _mark_action(IntentionState.INVALIDATED, "Mark invalidated (give a reason)"),
        _mark_action(IntentionState.ACTIVE, "Reinstate as active"),
    )

    def has_mark_permission(self, request):
        return request.user.has_perm("cases.change_statedintention")

    def has_add_permission(self, request):
        return False  # statements are recorded on the case page

    def has_change_permission(self, request, obj=None):
        return False  # statements are never edited

    def has_delete_permission(self, request, obj=None):
        return False


class PositionInline(AddOnlyInline, admin.TabularInline):
    """Parties' positions on the request: recorded, never edited."""

    model = Position
    form = admin_forms.InlineAddForm
    extra = 1
    fields = ("party", "stance", "conditions", "stated_on", "source")
    autocomplete_fields = ("party", "source")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("party", "source")


@admin.register(Request)
class RequestAdmin(DeclaredLookupsMixin, TimelineChangeLogMixin, ServiceModelAdmin):
    """A request on its own page: details, status transitions and parties' positions."""

    form = admin_forms.RequestAdminForm
    inlines = (PositionInline,)
    list_display = ("case", "kind", "destination_country", "addressed_to", "status", "filed_on")
    list_filter = (ArchivedListFilter, "kind", "status")
    action_form = admin_forms.ReasonActionForm
    actions = (
        _archive_action("request", archive=True),
        _archive_action("request", archive=False),
    )
    list_select_related = ("case", "addressed_to")
    search_fields = ("case__reference", "addressed_to__name")
    autocomplete_fields = ("case", "requested_by", "addressed_to", "source")

    def get_fieldsets(self, request, obj=None):
        details = (
            ("requested_by", "addressed_to"),
            ("destination_country", "legal_basis"),
            "filed_on",
            "intention",
        )
        if obj is None:
            return [
                (None, {"fields": ("case", "kind", "status", *details, "source")}),
                ("This change", {"fields": ("reason",)}),
            ]
        archived = [("Archived", {"fields": ("archived_at",)})] if obj.archived_at else []
        return [
            *archived,
            (None, {"fields": ("case", "kind", *details, "source")}),
            ("Status", {"fields": ("status", "decided_on", "decision_reason")}),
            ("This change", {"fields": ("reason", "version")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("case", "kind", "source", "decided_on", "archived_at")

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = admin_actor(request)
        reason = data.get("reason", "")
        try:
            if change:
                req = services.request_update(
                    actor=actor,
                    request=obj,
                    expected_version=data.get("version"),
                    reason=reason,
                    **{n: data[n] for n in services.REQUEST_FIELDS if n in form.changed_data},
                )
                if "status" in form.changed_data:
                    req = services.request_transition(
                        actor=actor,
                        request=req,
                        status=data["status"],
                        expected_version=req.version,
                        decision_reason=data.get("decision_reason", ""),
                        reason=reason,
                    )
            else:
                fields = {
                    n: data[n]
                    for n in services.REQUEST_FIELDS
                    if n in data and n != "addressed_to" and data[n] not in (None, "")
                }
                req = services.request_file(
                    actor=actor,
                    case=data["case"],
                    kind=data["kind"],
                    addressed_to=data["addressed_to"],
                    draft=data["status"] == choices.RequestStatus.DRAFT,
                    reason=reason,
                    source=data.get("source"),
                    **fields,
                )
        except (ValidationError, StaleObjectError) as exc:
            raise _refuse(exc, form) from exc
        _adopt(obj, req)

    def add_position(self, request, form, data):
        """Record a party's position on this request."""
        return services.position_record(
            actor=admin_actor(request),
            request=form.instance,
            party=data["party"],
            stance=data["stance"],
            stated_on=data["stated_on"],
            conditions=data.get("conditions", ""),
            reason=form.cleaned_data.get("reason", ""),
            source=data.get("source"),
        )


@admin.register(TimelineEvent)
class TimelineEventAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, admin.ModelAdmin
):
    """The append-only history, to read: nothing is added, changed or deleted here.

    Without the permission, sensitive values in an event's changes and a note's text in its
    summary are withheld, and events whose summary repeats a note are not searched.
    """

    list_display = ("recorded_at", "case", "kind", "summary", "actor_label", "channel")
    list_filter = ("kind", "channel")
    list_select_related = ("case",)
    search_fields = ("summary",)
    date_hierarchy = "recorded_at"
    sensitive_form_fields = ("summary", "changes")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and not obj._sensitive_allowed:
            # The page's title and breadcrumbs name the event; str() would repeat a note.
            extra_context = {**(extra_context or {}), "subtitle": f"{obj.kind}: "}
            extra_context["subtitle"] += self._shown(obj)["summary"]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_list_display(self, request):
        if sensitive.can_view_sensitive(request.user):
            return self.list_display
        return tuple("shown_summary" if n == "summary" else n for n in self.list_display)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "shown_summary", "shown_changes")

    def search_rows(self, request, queryset, search_term):
        results, may_have_duplicates = super().search_rows(request, queryset, search_term)
        if search_term.strip() and not sensitive.can_view_sensitive(request.user):
            results = results.exclude(kind__in=sensitive.SUMMARY_REPEATS_BODY)
        return results, may_have_duplicates

    def _shown(self, obj) -> dict[str, Any]:
        data = {
            "kind": obj.kind,
            "subject_type": obj.subject_type,
            "changes": obj.changes,
            "summary": obj.summary,
        }
        sensitive.redact_event(data, None, allowed=getattr(obj, "_sensitive_allowed", False))
        return data

    @admin.display(description="summary")
    def shown_summary(self, obj):
        return self._shown(obj)["summary"]

    @admin.display(description="changes")
    def shown_changes(self, obj):
        data = self._shown(obj)
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {}</div>",
            (
                (key, "redacted" if key in data["redacted"] else _readable(value))
                for key, value in data["changes"].items()
            ),
        )

    def history_events(self, obj):
        return TimelineEvent.objects.filter(pk=obj.pk)

    def changelist_reads(self, request, rows):
        # The list shows summaries, not changes; a note's summary repeats its first line.
        return {
            (event.subject_type, event.subject_uuid): ["summary"]
            for event in rows
            if event.kind in sensitive.SUMMARY_REPEATS_BODY
        }

    def sensitive_reads(self, request, obj):
        keys = sensitive.event_shows_sensitive(obj.kind, obj.subject_type, obj.changes)
        if obj.kind in sensitive.SUMMARY_REPEATS_BODY:
            keys = sorted({*keys, "summary"})
        return {(obj.subject_type, obj.subject_uuid): keys} if keys else {}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# The admins of users, groups, two-factor devices and lockouts come from other apps; they are
# registered before this module is imported (the cases app is listed last).
guard_other_apps(admin.site)
