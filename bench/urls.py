"""The tracker's URLs plus the two references ``bench/compare_bench.py`` measures it against.

The peer (``bench/peer/``) serves under ``/api/peer/v1/`` and the floor (``bench/floor.py``)
under ``/api/floor/v1/``: both under ``/api/``, so the API's middleware (problem JSON, the
URL length check, rate-limit headers) treats the three alike. Only the benchmark's settings
(``bench/settings_bench.py``) load this module; the product's URL conf never names them.
"""

from django.urls import include, path

from bench import floor
from tracker.urls import (  # noqa: F401  (the error handlers Django looks up here)
    handler400,
    handler403,
    handler404,
    handler500,
)
from tracker.urls import urlpatterns as tracker_urlpatterns

urlpatterns = [
    path("api/peer/v1/", include("bench.peer.urls")),
    path("api/floor/v1/cases/", floor.case_list, name="floor-case-list"),
    path("api/floor/v1/cases/<uuid:case_uuid>/", floor.case_detail, name="floor-case-detail"),
    path("api/floor/v1/events/", floor.event_feed, name="floor-event-feed"),
    *tracker_urlpatterns,
]
