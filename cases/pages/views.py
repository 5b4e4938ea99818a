"""The analysts' read-only pages: the case list with counts and exports, and the case page."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_countries import countries
from django_countries.fields import CountryField

from cases import choices, consent, selectors
from cases.filters import CaseFilterSet
from cases.models import Case, Party, PersonName
from cases.pages import charts, exports
from cases.security import access, sensitive
from cases.security.policy import policy_for

#: Cases per page of the list.
PAGE_SIZE = 50

#: Table columns: (heading, ordering parameter or None when the column is not sortable).
COLUMNS = [
    ("Reference", "reference"),
    ("Person", None),
    ("Detaining party", None),
    ("Status", "status"),
    ("Current intention", None),
    ("Captured", "capture_date"),
    ("Last change", "updated_at"),
]

#: Labels of the shared FilterSet's fields as the page shows them.
FILTER_LABELS = {
    "status": "Case status",
    "legal_status": "Legal status",
    "detaining_party": "Detaining party",
    "nationality": "Nationality",
    "current_intention": "Current intention",
    "intention_verified": "Current intention verified",
    "destination_country": "Wished destination",
    "request_kind": "Has a request of kind",
    "request_status": "Request in status",
    "captured_after": "Captured on or after",
    "captured_before": "Captured on or before",
    "updated_after": "Changed since (ISO date and time)",
}

#: Permission that lets a user see the links to the admin.
EDIT_PERMISSION = "cases.change_case"


def page_view(view):
    """Serve ``view`` to a signed-in account the access policy lets use the pages.

    Anonymous callers are sent to the sign-in page; an account without the pages'
    permission (``cases.view_case``: an account with no role) gets 403. Every answer is
    marked ``no-store``: it holds case data.
    """

    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not policy_for(request.user).may_use_pages:
            raise PermissionDenied("Your account holds no role that may read cases.")
        return view(request, *args, **kwargs)

    checked.__name__ = view.__name__
    checked.__doc__ = view.__doc__
    return never_cache(login_required(require_GET(checked)))


def _filterset(request: HttpRequest) -> CaseFilterSet:
    """Return the shared case FilterSet bound to the query string, with page-friendly widgets."""
    queryset = selectors.case_list().prefetch_related(
        Prefetch("person__names", queryset=PersonName.objects.order_by("person_id", "id"))
    )
    filterset = CaseFilterSet(request.GET, queryset=queryset, request=request)
    fields = filterset.form.fields
    for name, label in FILTER_LABELS.items():
        fields[name].label = label
    for name in ("status", "legal_status", "current_intention", "request_kind", "request_status"):
        fields[name].widget = forms.CheckboxSelectMultiple(choices=fields[name].choices)
    # Only parties that hold someone are worth offering; the filter still accepts any id.
    fields["detaining_party"].queryset = Party.objects.filter(
        Exists(Case.objects.filter(detaining_party=OuterRef("pk")))
    )
    fields["detaining_party"].widget.attrs["size"] = 4
    for name in ("captured_after", "captured_before"):
        fields[name].widget = forms.DateInput(attrs={"type": "date"})
    fields["updated_after"].widget.attrs["placeholder"] = "2025-03-01T00:00:00Z"
    for name, example in (("nationality", "KP or KP,RU"), ("destination_country", "KR")):
        fields[name].widget.attrs.update({"placeholder": example, "autocapitalize": "characters"})
    fields["q"].widget.attrs.update(
        {"placeholder": "Ri, Lee, 리, Пак, UA-2025-0001", "autofocus": True, "type": "search"}
    )
    return filterset


def _filtered_cases(filterset: CaseFilterSet) -> QuerySet[Case]:
    """Return the filtered cases, in the requested order or by reference."""
    cases = filterset.qs
    if not cases.query.order_by:
        cases = cases.order_by("reference", "pk")
    return cases


def _every_case(filterset: CaseFilterSet) -> str | None:
    """Return the ``archived`` choice when no other filter narrows the cases, else None.

    ``"exclude"`` (the default) means every case not archived, ``"include"`` every case;
    the events chart then needs no join to the cases (``charts.events_by_month``).
    """
    params = filterset.data
    for name in filterset.filters:
        if name not in {"archived", "ordering"} and any(v.strip() for v in params.getlist(name)):
            return None
    archived = filterset.form.cleaned_data.get("archived") or "exclude"
    return archived if archived in {"exclude", "include"} else None


def _current_ordering(request: HttpRequest) -> str:
    values = [v.strip() for v in request.GET.get("ordering", "").split(",") if v.strip()]
    return values[0] if values else "reference"


def _column_headers(request: HttpRequest) -> list[dict[str, Any]]:
    """Return the table headings with their sort links and current sort direction."""
    current = _current_ordering(request)
    headers = []
    for label, param in COLUMNS:
        header: dict[str, Any] = {"label": label, "param": param, "sort": None}
        if param:
            if current == param:
                header.update(sort="ascending", next=f"-{param}")
            elif current == f"-{param}":
                header.update(sort="descending", next=param)
            else:
                header["next"] = param
        headers.append(header)
    return headers


def _with_params(request: HttpRequest, updates: dict[str, str]) -> str:
    """Return the current query string with ``updates`` applied and the page dropped."""
    params = request.GET.copy()
    params.pop("page", None)
    for key, value in updates.items():
        params.setlist(key, [value])
    return "?" + params.urlencode()


@page_view
def case_list(request: HttpRequest) -> HttpResponse:
    """Show the filtered, sorted, paginated cases with their counts and export links.

    ``?format=csv`` or ``?format=xlsx`` returns the filtered set as a download instead.
    """
    export_format = request.GET.get("format")
    if export_format:
        return case_export(request, export_format)
    filterset = _filterset(request)
    valid = filterset.is_valid()
    cases = _filtered_cases(filterset) if valid else Case.objects.none()
    # The grouped count behind the charts also gives the number of cases, so the paginator
    # does not count them again.
    counts = (
        charts.case_counts(cases, every_case=_every_case(filterset))
        if valid
        else charts.CaseCounts(0, [])
    )
    paginator = Paginator(cases, PAGE_SIZE)
    paginator.count = counts.total
    page = paginator.get_page(request.GET.get("page"))
    allowed = policy_for(request.user).sees_sensitive
    shown = []
    for case in page.object_list:
        # A variant or two besides the working name, from the prefetched names; without
        # the permission only pseudonyms (cases.security.sensitive).
        names = sensitive.visible_names(case.person.names.all(), request.user, allowed=allowed)
        variants = [name for name in names if name.value != case.person.working_name][:2]
        case.variants = [name.value for name in variants]
        if any(sensitive.is_hidden_name(name) for name in variants):
            shown.append(("person", case.person.uuid))
    if shown:
        access.log_access(
            user=request.user,
            channel=access.PAGE,
            objects=shown,
            fields=[sensitive.NAMES],
            path=request.path,
        )
    case_charts = counts.charts
    for chart in case_charts:
        for bar in chart.bars:
            if bar.query:
                bar.href = _with_params(request, bar.query)
    context = {
        "filterset": filterset,
        "form": filterset.form,
        "valid": valid,
        "page": page,
        "cases": page.object_list,
        "headers": _column_headers(request),
        "charts": case_charts,
        "filtered": any(
            value for key, value in request.GET.items() if key not in {"page", "ordering"}
        ),
        "more_filters": any(
            value for key, value in request.GET.items() if key not in {"page", "ordering", "q"}
        ),
        "can_edit": request.user.has_perm(EDIT_PERMISSION),
    }
    return render(request, "cases/case_list.html", context, status=200 if valid else 400)


@page_view
def case_export(request: HttpRequest, export_format: str) -> HttpResponse:
    """Return the filtered cases as a CSV or XLSX download (see ``cases.pages.exports``).

    Without ``cases.view_sensitive`` the name variants column holds pseudonyms only and says
    so in its heading. A download that holds sensitive values appends one access-log entry
    with the filter and the row count.
    """
    policy = policy_for(request.user)
    if not policy.may_export:
        return HttpResponseForbidden(
            "Exports need the permission to export cases.", content_type="text/plain"
        )
    if export_format not in {"csv", "xlsx"}:
        return HttpResponseBadRequest(
            f"Unknown export format “{export_format}”. Allowed: csv, xlsx.",
            content_type="text/plain; charset=utf-8",
        )
    filterset = CaseFilterSet(request.GET, queryset=Case.objects.all(), request=request)
    if not filterset.is_valid():
        lines = [f"{field}: {' '.join(errors)}" for field, errors in filterset.form.errors.items()]
        return HttpResponseBadRequest(
            "The filters are not valid:\n" + "\n".join(lines),
            content_type="text/plain; charset=utf-8",
        )
    cases = _filtered_cases(filterset)
    allowed = policy.sees_sensitive
    if policy.logs_reads:
        params = request.GET.copy()
        params.pop("format", None)
        access.log_access(
            user=request.user,
            channel=access.EXPORT,
            objects=[("export", None)],
            fields=[sensitive.NAMES],
            path=request.path,
            extra={"filter": params.urlencode(), "rows": cases.count(), "format": export_format},
        )
    if export_format == "csv":
        return exports.csv_response(cases, show_sensitive=allowed)
    return exports.xlsx_response(cases, show_sensitive=allowed)


def _readable(value: Any) -> str:
    """Return a value of a timeline change as text a person can read."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        if all(isinstance(item, dict) and "value" in item for item in value):
            return ", ".join(
                f"{item['value']} ({item.get('script', '')})".replace(" ()", "") for item in value
            )
        return ", ".join(_readable(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _choice_labels(subject_type: str, name: str) -> dict[str, str]:
    """Return the labels of the choice field ``name`` of the event's subject, or {}."""
    try:
        field = apps.get_model("cases", subject_type)._meta.get_field(name)
    except LookupError:
        return {}
    except FieldDoesNotExist:
        return {}
    if isinstance(field, CountryField):
        return dict(countries)
    # Reverse relations (a person's ``names``) and plain fields have no choices.
    return {str(value): str(label) for value, label in getattr(field, "flatchoices", ()) or ()}


def timeline_entries(
    events, *, show_sensitive: bool, shown: list | None = None
) -> list[dict[str, Any]]:
    """Return timeline events prepared for the page, their changes as readable rows.

    Stored choice values ("third_state") are shown with their labels ("Transfer to a third
    state"); sensitive values are withheld (``cases.security.sensitive``) unless ``show_sensitive``,
    in which case ``(subject_type, subject_uuid, keys)`` of every event showing some is
    appended to ``shown`` for the access log.
    """
    entries = []
    for event in events:
        data = {
            "kind": event.kind,
            "subject_type": event.subject_type,
            "changes": event.changes,
            "summary": event.summary,
        }
        sensitive.redact_event(data, None, allowed=show_sensitive)
        if show_sensitive and shown is not None:
            keys = sensitive.event_shows_sensitive(event.kind, event.subject_type, event.changes)
            if keys:
                shown.append((event.subject_type, event.subject_uuid, keys))
        changes = []
        for name, pair in data["changes"].items():
            old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
            if name in data["redacted"]:
                old, new = ("withheld" if old else None), "withheld"
            labels = _choice_labels(event.subject_type, name)
            if labels:
                old, new = (labels.get(v, v) if isinstance(v, str) else v for v in (old, new))
            changes.append(
                {"field": name.replace("_", " "), "old": _readable(old), "new": _readable(new)}
            )
        entries.append({"event": event, "changes": changes, "summary": data["summary"]})
    return entries


@page_view
def case_detail(request: HttpRequest, case_uuid) -> HttpResponse:
    """Show one case: person, custody, intentions as a history, requests, and the timeline."""
    pk = Case.objects.filter(uuid=case_uuid).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404("No case with this id.")
    case = selectors.case_detail(pk)
    intentions = sorted(
        case.intentions.all(), key=lambda i: (i.stated_on, i.recorded_at, i.pk), reverse=True
    )
    replaced_by = {i.supersedes_id: i for i in intentions if i.supersedes_id}
    kinds = [k for k in request.GET.getlist("kind") if k in choices.EventKind.values]
    events = selectors.case_timeline(case)
    if kinds:
        events = events.filter(kind__in=kinds)
    present_kinds = set(
        case.events.order_by().values_list("kind", flat=True).distinct()
    )  # only kinds the case has are offered as filters
    requests = list(case.requests.all())
    risks = list(case.risk_assessments.all())
    can_edit = request.user.has_perm(EDIT_PERMISSION)
    policy = policy_for(request.user)
    allowed = policy.sees_sensitive
    names = sensitive.visible_names(case.person.names.all(), request.user, allowed=allowed)
    timeline_shown: list = []
    timeline = timeline_entries(events, show_sensitive=allowed, shown=timeline_shown)
    if policy.logs_reads:
        _log_case_page(request, case, names, intentions, timeline_shown, risks)
    context = {
        "case": case,
        "person": case.person,
        "names": names,
        "show_sensitive": allowed,
        "intentions": [
            {
                "intention": i,
                "is_current": i.pk == case.current_intention_id,
                "replaced_by": replaced_by.get(i.pk),
            }
            for i in intentions
        ],
        "requests": requests,
        "consent": [
            consent.check_loaded(case, move, intentions=intentions, requests=requests, risks=risks)
            for move in consent.moves_in_view(requests)
        ],
        "risks": sorted(risks, key=lambda r: (r.assessed_on, r.pk), reverse=True),
        "timeline": timeline,
        "kind_choices": [
            (value, label) for value, label in choices.EventKind.choices if value in present_kinds
        ],
        "selected_kinds": kinds,
        "can_edit": can_edit,
        "admin_url": reverse("admin:cases_case_change", args=[case.pk]) if can_edit else "",
    }
    return render(request, "cases/case_detail.html", context)


def _log_case_page(request, case, names, intentions, timeline_shown, risks=()) -> None:
    """Append the access-log entries of the sensitive values the case page shows."""
    reads: dict[tuple[str, Any], set[str]] = {}
    person = case.person
    person_fields = set()
    if any(sensitive.is_hidden_name(name) for name in names):
        person_fields.add(sensitive.NAMES)
    if person.birth_date and person.birth_place:
        person_fields.add("birth_place")
    if person_fields:
        reads[("person", person.uuid)] = person_fields
    for intention in intentions:
        for field in sensitive.INTENTION_FIELDS:
            if getattr(intention, field):
                reads.setdefault(("statedintention", intention.uuid), set()).add(field)
    for risk in risks:
        for field in sensitive.RISK_FIELDS:
            if getattr(risk, field):
                reads.setdefault(("riskassessment", risk.uuid), set()).add(field)
    for subject_type, subject_uuid, keys in timeline_shown:
        reads.setdefault((subject_type, subject_uuid), set()).update(keys)
    if reads:
        access.log_reads(reads, user=request.user, channel=access.PAGE, path=request.path)
