"""The case brief: one case on A4 as a PDF, to hand to a delegation or a court.

The brief is read through the case page's own reading (``views.read_case``): a reader sees
in it exactly what the case page shows him, sensitive values withheld unless he holds
``cases.view_sensitive``, names in his script first, words and dates in his language. Its
download is logged in the access log as the page's reads are, with one more entry for the
case itself (``extra`` says it was the brief), so the log tells who took which case's brief
away.

WeasyPrint renders it from ``templates/cases/brief.html`` with the pages' print style sheet
(``cases/print.css``, the one a browser applies when the case page is printed). It fetches
nothing: the style sheet is read from the static files, and any other URL in the document
(a source's link, say) is refused, so rendering a brief never reaches the network or the
file system.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from uuid import UUID

from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header

from cases import selectors
from cases.models import Case
from cases.pages.views import CaseReading, case_or_404, page_view, read_case
from cases.tasks.models import Task, TaskState

#: The style sheets of the brief, as static paths: the print sheet the case page prints with.
STYLESHEETS = ("cases/print.css",)
#: How many of the newest timeline events the brief lists.
RECENT_EVENTS = 15
#: What the access log's ``extra`` says of a brief's download.
LOG_EXTRA = {"format": "pdf", "document": "case brief"}


def _no_fetching() -> Any:
    """Return a WeasyPrint URL fetcher that refuses every URL."""
    from weasyprint.urls import URLFetcher

    class NoFetching(URLFetcher):
        """Refuse every URL: the brief is rendered from what it holds, nothing else."""

        def fetch(self, url: str, headers: dict | None = None):
            raise ValueError(f"A brief fetches nothing ({url}).")

    return NoFetching()


@cache
def _stylesheet_text(path: str) -> str:
    """Return the text of the static file ``path`` (read once per process)."""
    found = finders.find(path)
    if found is None:
        raise LookupError(f"The static file {path} is missing.")
    with open(found, encoding="utf-8") as handle:
        return handle.read()


def render_pdf(html: str) -> bytes:
    """Return ``html`` rendered to PDF with the brief's style sheets, fetching nothing."""
    # Imported here: WeasyPrint loads Pango when imported, and a machine without it should
    # lose the brief, not every page of the site.
    import weasyprint

    fetcher = _no_fetching()
    stylesheets = [
        weasyprint.CSS(string=_stylesheet_text(path), url_fetcher=fetcher) for path in STYLESHEETS
    ]
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf(stylesheets=stylesheets)


def brief_context(request: HttpRequest, case: Case) -> tuple[dict[str, Any], CaseReading]:
    """Return the brief's template context for ``request.user`` and the reading to log."""
    events = selectors.case_timeline(case)[:RECENT_EVENTS]
    reading = read_case(request, case, events)
    handover = (
        case.handovers.select_related(
            "exchange",
            "place",
            "receiving_authority",
            "consent_statement",
            "reconfirmation",
            "request",
        )
        .prefetch_related("present_parties")
        .first()
    )
    tasks = (
        Task.objects.filter(case=case, state=TaskState.OPEN)
        .select_related("assignee")
        .only("title", "kind", "due_on", "assignee__username")
        .order_by("due_on", "id")
    )
    context = {
        **reading.context,
        "current": next((row for row in reading.context["intentions"] if row["is_current"]), None),
        "handover": handover,
        "tasks": list(tasks),
        "events_shown": RECENT_EVENTS,
        "generated_at": timezone.localtime(),
        "generated_by": request.user.get_username(),
    }
    return context, reading


@page_view
def case_brief(request: HttpRequest, case_uuid: UUID) -> HttpResponse:
    """Return the case's brief as a PDF download, as the reader may see the case.

    The same readers as the case page's get it (a role that may use the pages); the
    download is logged (see the module's docstring).
    """
    case = case_or_404(case_uuid)
    context, reading = brief_context(request, case)
    html = render_to_string("cases/brief.html", context, request=request)
    pdf = render_pdf(html)
    # Logged once the file exists: a rendering failure hands nothing over and logs nothing.
    reading.log(request, risks=False, extra=LOG_EXTRA)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{case.reference}-brief.pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox; frame-ancestors 'none'"
    return response
