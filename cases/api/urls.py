"""URLs of the REST API, mounted at /api/v1/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from cases.api import feed, views

app_name = "api"

router = DefaultRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("persons", views.PersonViewSet, basename="person")
router.register("parties", views.PartyViewSet, basename="party")
router.register("intentions", views.IntentionViewSet, basename="intention")
router.register("requests", views.RequestViewSet, basename="request")
router.register("sources", views.SourceViewSet, basename="source")

urlpatterns = [
    # The change feed and one case's timeline (cases/api/feed.py).
    path("events/", feed.EventFeedView.as_view(), name="event-feed"),
    path("cases/<uuid:case_uuid>/timeline/", feed.CaseTimelineView.as_view(), name="case-timeline"),
    # The OpenAPI 3 schema and its interactive documentation, served without a CDN.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Resources (cases/api/views.py).
    *router.urls,
]
