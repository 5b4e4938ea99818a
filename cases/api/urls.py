"""URLs of the REST API, mounted at /api/v1/."""

from django.urls import path

from cases.api import feed

app_name = "api"

urlpatterns = [
    # The change feed and one case's timeline (cases/api/feed.py).
    path("events/", feed.EventFeedView.as_view(), name="event-feed"),
    path("cases/<uuid:case_uuid>/timeline/", feed.CaseTimelineView.as_view(), name="case-timeline"),
    # Resources (cases/api/views.py) are registered below with a router.
]
