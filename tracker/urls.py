"""Top-level URLs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView

from tracker.health import health

admin.site.site_header = "POW case tracker"
admin.site.site_title = "POW case tracker"
admin.site.index_title = "Case records"

urlpatterns = [
    path("", RedirectView.as_view(url="/cases/", permanent=False)),
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    # Swagger UI with its start-up script served as a file, not inline, so the Content
    # Security Policy needs no 'unsafe-inline'; listed before the API's own docs route,
    # which it replaces at the same address.
    path(
        "api/v1/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema"),
        name="api-docs",
    ),
    path("api/v1/", include("cases.api.urls")),
    path("cases/", include("cases.urls")),
]
