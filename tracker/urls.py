"""Top-level URLs, and the error pages: problem JSON under /api/, plain HTML elsewhere."""

import sys

from django.contrib import admin
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import TemplateDoesNotExist, loader
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views import defaults
from django.views.generic import RedirectView

from cases.api.exceptions import problem_response
from cases.api.schema import SwaggerSplitView
from tracker import accounts
from tracker.health import health

admin.site.site_header = _("POW case tracker")
admin.site.site_title = _("POW case tracker")
admin.site.index_title = _("Case records")

urlpatterns = [
    path("", RedirectView.as_view(url="/cases/", permanent=False)),
    path("healthz", health, name="health"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", accounts.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", accounts.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    # Swagger UI with its start-up script served as a file, not inline, so the Content
    # Security Policy needs no 'unsafe-inline'; listed before the API's own docs route,
    # which it replaces at the same address.
    path(
        "api/v1/docs/",
        SwaggerSplitView.as_view(url_name="api:schema"),
        name="api-docs",
    ),
    path("api/v1/", include("cases.api.urls")),
    path("cases/", include("cases.pages.urls")),
    path("documents/", include("cases.documents.urls")),
]


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    """Answer 400 (a suspicious request): a problem under /api/, the plain page elsewhere."""
    if _is_api(request):
        return problem_response(400, request=request, code="bad_request")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    """Answer 403: a problem under /api/, the plain page elsewhere."""
    if _is_api(request):
        return problem_response(403, request=request)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    """Answer 404: a problem under /api/ (API clients parse it), the plain page elsewhere."""
    if _is_api(request):
        return problem_response(404, request=request)
    return defaults.page_not_found(request, exception)


#: What a lost database connection looks like: the driver's errors of an unusable link.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)
#: Seconds a client is asked to wait before trying again when the database is unreachable.
RETRY_AFTER_SECONDS = 5


def server_error(request):
    """Answer 500 without detail, or 503 when the database is unreachable.

    JSON under /api/, the plain page elsewhere. Django calls this handler while the
    exception that failed the request is being handled, so ``sys.exc_info()`` names it.
    """
    if isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        return service_unavailable(request)
    if _is_api(request):
        return problem_response(500, request=request)
    return defaults.server_error(request)


def service_unavailable(request):
    """Answer 503: the database cannot be reached; try again shortly."""
    if _is_api(request):
        response = problem_response(
            503,
            request=request,
            detail=_("The database is unavailable. Try again in a few seconds."),
        )
    else:
        try:
            body = loader.render_to_string("503.html")
        except TemplateDoesNotExist:
            body = "<h1>Service unavailable</h1>"
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


handler400 = bad_request
handler403 = permission_denied
handler404 = page_not_found
handler500 = server_error
