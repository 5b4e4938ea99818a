"""Top-level URLs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tracker.health import health

admin.site.site_header = "POW case tracker"
admin.site.site_title = "POW case tracker"
admin.site.index_title = "Case records"

urlpatterns = [
    path("", RedirectView.as_view(url="/cases/", permanent=False)),
    path("healthz", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("cases.api.urls")),
    path("cases/", include("cases.urls")),
]
