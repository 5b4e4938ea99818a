"""The subjects' representations on their events, registered when the application is ready.

Each subject type's events carry the row as its API resource shows it (the resource's own
serializer, without ``url``), read with the joins named here; see
:mod:`cases.timeline.representations`. What a representation leaves out, and why:

* a case: ``current_intention`` (worded from its statements, whose events carry them),
  ``open_request_count`` (counted from its requests), ``updated_at`` (moved by those
  statements' writes too), ``current_place`` and ``capture_card_due_on`` (decided by its
  movements and capture cards, whose events carry the change) and ``capture_card_overdue``
  (which changes with the day, not with a write); its ``person`` is named by uuid only (the
  person's own events carry the rest); like the case list, it does not nest the detail's
  ``intentions``, ``requests``, ``sources`` and ``timeline`` address;
* a request: ``positions`` (each position is a subject with its own events and endpoint).
"""

from __future__ import annotations

from cases import selectors
from cases.api import serializers as s
from cases.identity import api as identity_api
from cases.identity import serializers as identity_s
from cases.models import Case, Note, Occurrence, Position, Request
from cases.timeline.representations import Representer, register

#: Keys of a case's resource its events leave out (see the module's docstring).
CASE_LEFT_OUT = (
    "current_intention",
    "open_request_count",
    "updated_at",
    "current_place",
    "capture_card_due_on",
    "capture_card_overdue",
)
#: Keys a case's detail nests that its events leave out: each is a subject of its own (the
#: timeline is an address).
CASE_DETAIL_LEFT_OUT = (
    "intentions",
    "requests",
    "sources",
    "timeline",
    "notification_recipients",
)
#: Keys of a request's resource its events leave out.
REQUEST_LEFT_OUT = ("positions",)


def register_all() -> None:
    """Register the representer of every subject type events name."""
    from cases.documents import api as documents_api
    from cases.exchanges import api as exchanges_api
    from cases.notifications import api as notifications_api
    from cases.places import api as places_api
    from cases.tasks import api as tasks_api
    from cases.visits import api as visits_api

    for representer in (
        Representer("task", tasks_api.tasks, s.event_object_serializer(tasks_api.TaskSerializer)),
        Representer(
            "document",
            documents_api.documents,
            # Its contents' address depends on the host a reader asks, as ``url`` does.
            s.event_object_serializer(documents_api.DocumentSerializer, leave_out=("content",)),
        ),
        Representer(
            "exchange",
            exchanges_api.exchanges,
            s.event_object_serializer(exchanges_api.ExchangeSerializer),
            prefetched=("parties", "entries"),
        ),
        Representer(
            "handover",
            exchanges_api.handovers,
            s.event_object_serializer(exchanges_api.HandoverSerializer),
            prefetched=("present_parties",),
        ),
        Representer(
            "visit", visits_api.visits, s.event_object_serializer(visits_api.VisitSerializer)
        ),
        Representer(
            "interview",
            visits_api.interviews,
            s.event_object_serializer(visits_api.InterviewSerializer),
        ),
        Representer(
            "place", places_api.places, s.event_object_serializer(places_api.PlaceSerializer)
        ),
        Representer(
            "movement",
            places_api.movements,
            s.event_object_serializer(places_api.MovementSerializer),
        ),
        Representer(
            "capturecard",
            places_api.capture_cards,
            s.event_object_serializer(places_api.CaptureCardSerializer),
        ),
        Representer(
            "case",
            lambda: Case.objects.select_related("person", "detaining_party", "assigned_officer"),
            s.event_object_serializer(
                s.CaseSerializer,
                leave_out=CASE_LEFT_OUT,
                person=s.PersonRefSerializer(read_only=True),
            ),
        ),
        Representer(
            "person",
            selectors.persons,
            s.event_object_serializer(s.PersonSerializer),
            prefetched=("names",),
        ),
        Representer("party", selectors.parties, s.event_object_serializer(s.PartySerializer)),
        Representer("source", selectors.sources, s.event_object_serializer(s.SourceSerializer)),
        Representer(
            "statedintention",
            selectors.intentions,
            s.event_object_serializer(s.IntentionSerializer),
            prefetched=("present_parties",),
        ),
        Representer(
            "request",
            lambda: Request.objects.select_related(
                "case", "requested_by", "addressed_to", "intention", "source"
            ),
            s.event_object_serializer(s.RequestSerializer, leave_out=REQUEST_LEFT_OUT),
        ),
        Representer(
            "riskassessment",
            selectors.risk_assessments,
            s.event_object_serializer(s.RiskAssessmentSerializer),
        ),
        Representer(
            "position",
            lambda: Position.objects.select_related("request__case", "party", "source"),
            s.event_object_serializer(s.PositionResourceSerializer),
        ),
        Representer(
            "occurrence",
            lambda: Occurrence.objects.select_related("case", "source"),
            s.event_object_serializer(s.OccurrenceSerializer),
        ),
        Representer(
            "identitydocument",
            identity_api.identity_documents,
            s.event_object_serializer(identity_s.IdentityDocumentSerializer),
        ),
        Representer(
            "externalidentifier",
            identity_api.external_identifiers,
            s.event_object_serializer(identity_s.ExternalIdentifierSerializer),
        ),
        Representer(
            "nationalityclaim",
            identity_api.nationality_claims,
            s.event_object_serializer(identity_s.NationalityClaimSerializer),
        ),
        Representer(
            "note",
            lambda: Note.objects.select_related("case", "author", "source"),
            s.event_object_serializer(s.NoteSerializer),
        ),
        Representer(
            "notification",
            notifications_api.notifications,
            s.event_object_serializer(notifications_api.NotificationSerializer),
        ),
        Representer(
            "notificationsettings",
            notifications_api.notification_settings,
            s.event_object_serializer(notifications_api.NotificationSettingsSerializer),
            prefetched=("recipients",),
        ),
    ):
        register(representer)
