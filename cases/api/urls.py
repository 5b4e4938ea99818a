"""URLs of the REST API, mounted at /api/v1/."""

from django.urls import path
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework.routers import APIRootView, DefaultRouter

from cases.api import views
from cases.api.schema import READ_ERRORS, SchemaView, SwaggerView
from cases.documents.api import DocumentViewSet
from cases.exchanges.api import ExchangeViewSet, HandoverViewSet
from cases.feed import views as feed
from cases.identity import api as identity
from cases.imports.api import ImportMappingViewSet, ImportRunViewSet
from cases.notifications.api import NotificationSettingsViewSet, NotificationViewSet
from cases.places.api import CaptureCardViewSet, MovementViewSet, PlaceViewSet
from cases.tasks.api import TaskViewSet
from cases.visits.api import InterviewViewSet, VisitViewSet
from cases.webhooks.api import WebhookSubscriptionViewSet

app_name = "api"


@extend_schema_view(
    get=extend_schema(
        summary="The API's index",
        description="The address of each resource's list, by its name.",
        responses={
            200: OpenApiResponse(
                {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}},
                description="Resource name to the absolute address of its list.",
            ),
            **READ_ERRORS,
        },
    )
)
class ApiRootView(APIRootView):
    """The API's index: links to its resources, which any signed-in account may list."""

    open_to_signed_in = True
    # DRF's router keeps its index out of the schema; every answer is documented here.
    schema = AutoSchema()


class Router(DefaultRouter):
    """The default router, with an index that says it is open to every signed-in account."""

    APIRootView = ApiRootView
    # One address per resource: no ".json" twins (``?format=json`` still works), which
    # also keeps a second, format-suffixed index out of the schema.
    include_format_suffixes = False


router = Router()
router.register("cases", views.CaseViewSet, basename="case")
router.register("persons", views.PersonViewSet, basename="person")
router.register("parties", views.PartyViewSet, basename="party")
router.register("intentions", views.IntentionViewSet, basename="intention")
router.register("requests", views.RequestViewSet, basename="request")
router.register("risk-assessments", views.RiskAssessmentViewSet, basename="risk-assessment")
router.register("sources", views.SourceViewSet, basename="source")
router.register("positions", views.PositionViewSet, basename="position")
router.register("occurrences", views.OccurrenceViewSet, basename="occurrence")
router.register("notes", views.NoteViewSet, basename="note")
router.register(
    "identity-documents", identity.IdentityDocumentViewSet, basename="identity-document"
)
router.register(
    "external-identifiers", identity.ExternalIdentifierViewSet, basename="external-identifier"
)
router.register(
    "nationality-claims", identity.NationalityClaimViewSet, basename="nationality-claim"
)
router.register("places", PlaceViewSet, basename="place")
router.register("movements", MovementViewSet, basename="movement")
router.register("capture-cards", CaptureCardViewSet, basename="capture-card")
router.register("exchanges", ExchangeViewSet, basename="exchange")
router.register("visits", VisitViewSet, basename="visit")
router.register("interviews", InterviewViewSet, basename="interview")
router.register("handovers", HandoverViewSet, basename="handover")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("documents", DocumentViewSet, basename="document")
router.register(
    "notification-recipients", NotificationSettingsViewSet, basename="notification-recipients"
)
router.register("tasks", TaskViewSet, basename="task")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("imports", ImportRunViewSet, basename="import-run")
router.register("import-mappings", ImportMappingViewSet, basename="import-mapping")

urlpatterns = [
    # The change feed and one case's timeline (cases/feed/views.py).
    path("events/", feed.EventFeedView.as_view(), name="event-feed"),
    path("cases/<uuid:case_uuid>/timeline/", feed.CaseTimelineView.as_view(), name="case-timeline"),
    # The OpenAPI 3 schema and its interactive documentation, served without a CDN.
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api:schema"), name="docs"),
    # Resources, with their archive, unarchive and purge actions (cases/api/views.py).
    *router.urls,
]
