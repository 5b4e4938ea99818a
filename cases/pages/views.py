"""The analysts' read-only pages: the case list with counts and exports, and the case page."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
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
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from cases import choices, consent, selectors
from cases.clocks import OVERDUE
from cases.filters import CaseFilterSet
from cases.models import Case, Party, PersonName, Place
from cases.names import names_for_reader
from cases.pages import charts, exports
from cases.security import access, sensitive
from cases.security.policy import policy_for
from cases.timeline import presenter

#: Cases per page of the list.
PAGE_SIZE = 50

#: Table columns: (heading, ordering parameter or None when the column is not sortable).
COLUMNS = [
    (gettext_lazy("Reference"), "reference"),
    (gettext_lazy("Person"), None),
    (gettext_lazy("Detaining party"), None),
    (gettext_lazy("Status"), "status"),
    (gettext_lazy("Current intention"), None),
    (gettext_lazy("Captured"), "capture_date"),
    (gettext_lazy("Last change"), "updated_at"),
]

#: Labels of the shared FilterSet's fields as the page shows them.
FILTER_LABELS = {
    "status": gettext_lazy("Case status"),
    "legal_status": gettext_lazy("Legal status"),
    "detaining_party": gettext_lazy("Detaining party"),
    "nationality": gettext_lazy("Nationality"),
    "current_intention": gettext_lazy("Current intention"),
    "intention_verified": gettext_lazy("Current intention verified"),
    "destination_country": gettext_lazy("Wished destination"),
    "request_kind": gettext_lazy("Has a request of kind"),
    "request_status": gettext_lazy("Request in status"),
    "captured_after": gettext_lazy("Captured on or after"),
    "captured_before": gettext_lazy("Captured on or before"),
    "updated_after": gettext_lazy("Changed since (ISO date and time)"),
    "current_place": gettext_lazy("Held now at"),
    "overdue": gettext_lazy("Overdue"),
    "capture_card_due_after": gettext_lazy("Capture card due on or after"),
    "capture_card_due_before": gettext_lazy("Capture card due on or before"),
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
            raise PermissionDenied(_("Your account holds no role that may read cases."))
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
    fields["current_place"].queryset = Place.objects.filter(
        Exists(Case.objects.filter(current_place=OuterRef("pk")))
    )
    fields["current_place"].widget.attrs["size"] = 4
    fields["overdue"].widget = forms.CheckboxSelectMultiple(choices=fields["overdue"].choices)
    for name in (
        "captured_after",
        "captured_before",
        "capture_card_due_after",
        "capture_card_due_before",
    ):
        fields[name].widget = forms.DateInput(attrs={"type": "date"})
    fields["updated_after"].widget.attrs["placeholder"] = "2025-03-01T00:00:00Z"
    for name, example in (("nationality", _("KP or KP,RU")), ("destination_country", "KR")):
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


#: How the analysts' page words each clock of ``cases.clocks.OVERDUE``.
OVERDUE_LABELS = {
    "capture_card": gettext_lazy(
        "an overdue capture card (GC III Art. 70: due within a week of capture or of each move)"
    ),
    "notification": gettext_lazy("an overdue notification (GC III Art. 122-123)"),
    "task": gettext_lazy("an overdue task"),
}


def overdue_links(overdue: dict[str, int], request: HttpRequest) -> list[dict[str, Any]]:
    """Return, per clock of ``cases.clocks.OVERDUE``, how many of the filtered cases are
    overdue today (counted with the page's other counts, never cached: an item falls overdue
    at midnight, with no event) and the link that lists them."""
    return [
        {
            "key": name,
            "label": OVERDUE_LABELS.get(name, name.replace("_", " ")),
            "count": overdue.get(name, 0),
            "href": _with_params(request, {"overdue": name}),
        }
        for name in OVERDUE
    ]


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
    language = get_language()
    shown = []
    for case in page.object_list:
        # The name in the reader's script first, then a name or two beside it, from the
        # prefetched names; without the permission only pseudonyms (cases.security.sensitive).
        names = sensitive.visible_names(case.person.names.all(), request.user, allowed=allowed)
        first, *beside = names_for_reader(case.person.working_name, names, language)[:3]
        case.display_name = first.value
        case.variants = [name.value for name in beside]
        if any(
            name.variant is not None and sensitive.is_hidden_name(name.variant)
            for name in (first, *beside)
        ):
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
        "overdue": overdue_links(counts.overdue, request) if valid else [],
        "filtered": any(
            value for key, value in request.GET.items() if key not in {"page", "ordering"}
        ),
        "more_filters": any(
            value for key, value in request.GET.items() if key not in {"page", "ordering", "q"}
        ),
        "can_edit": request.user.has_perm(EDIT_PERMISSION),
        "overdue_capture_cards": counts.overdue.get("capture_card", 0),
        "overdue_capture_cards_href": _with_params(request, {"overdue": "capture_card"}),
    }
    return render(request, "cases/case_list.html", context, status=200 if valid else 400)


def _digest(term: str) -> str:
    """Return a search term as ``sha256:<hex>`` for the access log."""
    return "sha256:" + hashlib.sha256(term.encode()).hexdigest()


@page_view
def case_export(request: HttpRequest, export_format: str) -> HttpResponse:
    """Return the filtered cases as a CSV or XLSX download (see ``cases.pages.exports``).

    Without ``cases.view_sensitive`` the name variants column holds pseudonyms only and says
    so in its heading, and the sensitive identity columns are left out. A download that
    holds sensitive values appends one access-log entry with the filter and the row count.
    """
    policy = policy_for(request.user)
    if not policy.may_export:
        return HttpResponseForbidden(
            _("Exports need the permission to export cases."), content_type="text/plain"
        )
    if export_format not in {"csv", "xlsx"}:
        return HttpResponseBadRequest(
            _("Unknown export format “%(format)s”. Allowed: csv, xlsx.")
            % {"format": export_format},
            content_type="text/plain; charset=utf-8",
        )
    filterset = CaseFilterSet(request.GET, queryset=Case.objects.all(), request=request)
    if not filterset.is_valid():
        lines = [f"{field}: {' '.join(errors)}" for field, errors in filterset.form.errors.items()]
        return HttpResponseBadRequest(
            _("The filters are not valid:") + "\n" + "\n".join(lines),
            content_type="text/plain; charset=utf-8",
        )
    cases = _filtered_cases(filterset)
    allowed = policy.sees_sensitive
    if policy.logs_reads:
        params = request.GET.copy()
        params.pop("format", None)
        if "q" in params:
            # A searched name is kept as its digest: the log can confirm a suspected term,
            # but holds no name that would outlive the person's purge.
            params.setlist("q", [_digest(term) for term in params.getlist("q")])
        access.log_access(
            user=request.user,
            channel=access.EXPORT,
            objects=[("export", None)],
            fields=exports.SENSITIVE_EXPORT_FIELDS,
            path=request.path,
            extra={"filter": params.urlencode(), "rows": cases.count(), "format": export_format},
        )
    if export_format == "csv":
        return exports.csv_response(cases, show_sensitive=allowed)
    return exports.xlsx_response(cases, show_sensitive=allowed)


def case_or_404(case_uuid) -> Case:
    """Return the case with ``case_uuid`` with what its page shows joined in, or raise 404."""
    pk = Case.objects.filter(uuid=case_uuid).values_list("pk", flat=True).first()
    if pk is None:
        raise Http404(_("No case with this id."))
    return selectors.case_detail(pk)


@dataclass
class CaseReading:
    """What one reader is shown of a case: the template context, and what to log of it.

    The case page and the brief (``cases.pages.brief``) read a case through
    :func:`read_case`, so both withhold the same values from a reader without
    ``cases.view_sensitive`` and log the same reads for a reader with it.
    """

    context: dict[str, Any]
    intentions: list
    risks: list
    timeline_shown: list

    def log(
        self, request: HttpRequest, *, risks: bool = True, extra: dict[str, Any] | None = None
    ) -> None:
        """Append the access-log entries of the sensitive values shown (none for a reader
        who sees none). ``risks=False`` when the risk assessments were not shown."""
        if policy_for(request.user).logs_reads:
            _log_case_page(
                request,
                self.context["case"],
                self.context["names"],
                self.intentions,
                self.timeline_shown,
                self.risks if risks else (),
                extra=extra,
            )


def read_case(request: HttpRequest, case: Case, events: Iterable[Any]) -> CaseReading:
    """Return what ``request.user`` may be shown of ``case``, with ``events`` as its timeline.

    Names are the visible variants, the reader's script first (``names_for_reader``);
    sensitive values are withheld unless the reader holds ``cases.view_sensitive``; the
    consent gate's answers are worked out from the rows already read.
    """
    intentions = sorted(
        case.intentions.all(), key=lambda i: (i.stated_on, i.recorded_at, i.pk), reverse=True
    )
    replaced_by = {i.supersedes_id: i for i in intentions if i.supersedes_id}
    requests = list(case.requests.all())
    risks = list(case.risk_assessments.all())
    can_edit = request.user.has_perm(EDIT_PERMISSION)
    allowed = policy_for(request.user).sees_sensitive
    names = sensitive.visible_names(case.person.names.all(), request.user, allowed=allowed)
    display_name = names_for_reader(case.person.working_name, names, get_language())[0].value
    timeline_shown: list = []
    timeline = presenter.present_events(events, show_sensitive=allowed, shown=timeline_shown)
    elsewhere = consent.elsewhere(case)
    context = {
        "case": case,
        "person": case.person,
        "names": names,
        "display_name": display_name,
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
            consent.check_loaded(
                case,
                move,
                intentions=intentions,
                requests=requests,
                risks=risks,
                elsewhere=elsewhere,
            )
            for move in consent.moves_in_view(requests)
        ],
        "risks": sorted(risks, key=lambda r: (r.assessed_on, r.pk), reverse=True),
        "timeline": timeline,
        "can_edit": can_edit,
        "admin_url": reverse("admin:cases_case_change", args=[case.pk]) if can_edit else "",
    }
    return CaseReading(context, intentions, risks, timeline_shown)


@page_view
def case_detail(request: HttpRequest, case_uuid) -> HttpResponse:
    """Show one case: person, custody, intentions as a history, requests, and the timeline."""
    case = case_or_404(case_uuid)
    kinds = [k for k in request.GET.getlist("kind") if k in choices.EventKind.values]
    events = selectors.case_timeline(case)
    if kinds:
        events = events.filter(kind__in=kinds)
    present_kinds = set(
        case.events.order_by().values_list("kind", flat=True).distinct()
    )  # only kinds the case has are offered as filters
    reading = read_case(request, case, events)
    reading.log(request)
    context = {
        **reading.context,
        "kind_choices": [
            (value, label) for value, label in choices.EventKind.choices if value in present_kinds
        ],
        "selected_kinds": kinds,
        "brief_url": reverse("cases:brief", args=[case.uuid]),
    }
    return render(request, "cases/case_detail.html", context)


def _log_case_page(
    request, case, names, intentions, timeline_shown, risks=(), *, extra: dict | None = None
) -> None:
    """Append the access-log entries of the sensitive values the case page shows.

    ``extra`` is stored with every entry (the brief says it was a PDF).
    """
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
    if extra is not None:
        # A file that leaves the system is logged even when it shows no sensitive value
        # of the case, so the log tells who took which case's brief away.
        reads.setdefault(("case", case.uuid), set())
    if reads:
        access.log_reads(
            reads, user=request.user, channel=access.PAGE, path=request.path, extra=extra
        )
