"""Every write to the tracker.

Each service validates its input, builds its rows and one event draft, and hands them to a
sink (``cases.timeline.sinks``): by default the row sink, which stores them and appends the
event in one transaction, so there is never a change without its event nor an event without
its change. The admin, the API, management commands, the seed loader and the demo generator
(through the bulk sink) all call these; nothing else writes case data.

One module per entity; ``base`` holds what they share (the actor, version checks, the
changes diff) and ``archive`` the one archive/unarchive shape and the purge.
"""

from django.core.exceptions import ValidationError

from cases.models import PersonName, Position
from cases.services.archive import (
    PurgeRefused,
    case_archive,
    case_purge,
    case_unarchive,
    intention_archive,
    intention_unarchive,
    person_archive,
    person_unarchive,
    request_archive,
    request_unarchive,
    set_archived,
)
from cases.services.base import Actor, StaleObjectError
from cases.services.cases import CASE_FIELDS, case_change_status, case_open, case_update
from cases.services.intentions import (
    INTENTION_FIELDS,
    intention_contest,
    intention_invalidate,
    intention_record,
    intention_set_state,
    intention_supersede,
    intention_withdraw,
)
from cases.services.parties import (
    PARTY_FIELDS,
    SOURCE_FIELDS,
    party_create,
    party_update,
    source_create,
    source_update,
)
from cases.services.people import PERSON_FIELDS, NameSpec, person_create, person_update
from cases.services.records import note_add, occurrence_record, position_record
from cases.services.requests import (
    REQUEST_FIELDS,
    request_file,
    request_transition,
    request_update,
)
from cases.services.risk import RISK_FIELDS, risk_assessment_record

__all__ = [
    "CASE_FIELDS",
    "INTENTION_FIELDS",
    "PARTY_FIELDS",
    "PERSON_FIELDS",
    "REQUEST_FIELDS",
    "RISK_FIELDS",
    "SOURCE_FIELDS",
    "Actor",
    "NameSpec",
    "PersonName",
    "Position",
    "PurgeRefused",
    "StaleObjectError",
    "ValidationError",
    "case_archive",
    "case_change_status",
    "case_open",
    "case_purge",
    "case_unarchive",
    "case_update",
    "intention_archive",
    "intention_contest",
    "intention_invalidate",
    "intention_record",
    "intention_set_state",
    "intention_supersede",
    "intention_unarchive",
    "intention_withdraw",
    "note_add",
    "occurrence_record",
    "party_create",
    "party_update",
    "person_archive",
    "person_create",
    "person_unarchive",
    "person_update",
    "position_record",
    "request_archive",
    "request_file",
    "request_transition",
    "request_unarchive",
    "request_update",
    "risk_assessment_record",
    "set_archived",
    "source_create",
    "source_update",
]
