"""The peer's URLs, mounted at ``/api/peer/v1/`` by ``bench/urls.py``."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

app_name = "peer"

router = SimpleRouter()
router.register("cases", views.CaseViewSet, basename="case")

urlpatterns = [path("events/", views.EventFeedView.as_view(), name="event-feed"), *router.urls]
