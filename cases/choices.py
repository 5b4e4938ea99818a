"""Choices used across the tracker: kinds, statuses and levels, as ``TextChoices``."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DatePrecision(models.TextChoices):
    """How much of a recorded date is actually known."""

    EXACT = "exact", _("Exact time")
    DAY = "day", _("Exact day")
    MONTH = "month", _("Month only")
    YEAR = "year", _("Year only")
    APPROXIMATE = "approximate", _("Approximate")


class PartyKind(models.TextChoices):
    """What sort of body a party is."""

    STATE = "state", pgettext_lazy("party kind", "State")
    ARMED_FORCE = "armed_force", _("Armed force")
    AGENCY = "agency", _("Government agency")
    INTERNATIONAL_ORGANISATION = "international_organisation", _("International organisation")
    NGO = "ngo", _("Non-governmental organisation")
    LEGISLATOR = "legislator", _("Legislator")
    MEDIA = "media", _("Media outlet")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    """Sex as recorded by the detaining power."""

    MALE = "male", _("Male")
    FEMALE = "female", _("Female")
    UNKNOWN = "unknown", _("Unknown")


class IdentityConfidence(models.TextChoices):
    """How far the person's identity is established."""

    CONFIRMED = "confirmed", _("Confirmed")
    CLAIMED = "claimed", _("Claimed")
    DISPUTED = "disputed", _("Disputed")
    UNKNOWN = "unknown", _("Unknown")


class Script(models.TextChoices):
    """Writing system of a name variant."""

    HANGUL = "hangul", _("Hangul")
    LATIN = "latin", _("Latin")
    CYRILLIC = "cyrillic", _("Cyrillic")
    HANJA = "hanja", _("Hanja")
    OTHER = "other", _("Other")


class Romanisation(models.TextChoices):
    """Romanisation system used to write a name variant in Latin script."""

    NONE = "", _("Not applicable")
    REVISED = "revised", _("Revised Romanisation (South Korea)")
    MCCUNE_REISCHAUER = "mccune_reischauer", _("McCune-Reischauer")
    NORTH_KOREAN = "north_korean", _("North Korean official")
    CONVENTIONAL = "conventional", _("Conventional / common spelling")
    BGN_PCGN = "bgn_pcgn", _("BGN/PCGN (Cyrillic)")
    PRESS = "press", _("As spelled in the press")


class LegalStatus(models.TextChoices):
    """The person's status under international humanitarian law."""

    POW = "pow", _("Prisoner of war")
    PRESUMED_POW = "presumed_pow", _("Presumed POW (pending Art. 5 tribunal)")
    CIVILIAN_INTERNEE = "civilian_internee", _("Civilian internee")
    UNKNOWN = "unknown", _("Unknown")


class CaseStatus(models.TextChoices):
    """Where a custody episode stands."""

    CAPTURED = "captured", pgettext_lazy("case status", "Captured")
    REGISTERED = "registered", _("Registered")
    INTERNED = "interned", _("Interned")
    HOSPITALISED = "hospitalised", _("Hospitalised")
    ON_HOLD = "on_hold", _("On hold")
    RELEASE_APPROVED = "release_approved", _("Release approved")
    REPATRIATED = "repatriated", _("Repatriated")
    TRANSFERRED_THIRD_STATE = "transferred_third_state", _("Transferred to a third state")
    RELEASED = "released", _("Released")
    DIED = "died", _("Died")
    ESCAPED = "escaped", _("Escaped")


class Priority(models.TextChoices):
    """How urgently a case needs attention."""

    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class IntentionOption(models.TextChoices):
    """What the person said they want."""

    RETURN_HOME = "return_home", _("Return home")
    THIRD_STATE = "third_state", _("Transfer to a third state")
    REMAIN = "remain", _("Remain in the detaining state")
    UNDECIDED = "undecided", _("Undecided")
    DECLINED = "declined", _("Declined to say")


class StatementSetting(models.TextChoices):
    """The circumstances in which a statement was made."""

    PRIVATE_NEUTRAL_INTERVIEW = (
        "private_neutral_interview",
        _("Private interview by a neutral body"),
    )
    OFFICIAL_INTERVIEW = "official_interview", _("Official interview")
    MEDIA_INTERVIEW = "media_interview", _("Media interview")
    LEGISLATOR_INTERVIEW = "legislator_interview", _("Interview by a legislator")
    LETTER = "letter", _("Letter")
    HEARSAY = "hearsay", _("Hearsay")


class Verification(models.TextChoices):
    """How reliably a statement was heard, weakest first."""

    REPORTED = "reported", _("Reported (hearsay)")
    STATED = "stated", _("Stated (direct, recorded)")
    WITNESSED = "witnessed", _("Witnessed (independent party present)")
    VERIFIED = "verified", _("Verified (private neutral interview)")
    RECONFIRMED = "reconfirmed", _("Reconfirmed at handover")


#: Rank of each verification level; higher is more reliable.
VERIFICATION_RANK = {value: rank for rank, value in enumerate(Verification.values)}


class Presence(models.TextChoices):
    """Whether someone was present when a statement was made."""

    YES = "yes", _("Present")
    NO = "no", _("Not present")
    UNKNOWN = "unknown", _("Not known")


#: Levels at which a statement counts as verified for the consent gate.
VERIFIED_LEVELS = frozenset({Verification.VERIFIED, Verification.RECONFIRMED})


class IntentionState(models.TextChoices):
    """Whether a statement still stands."""

    ACTIVE = "active", _("Active")
    SUPERSEDED = "superseded", _("Superseded")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    CONTESTED = "contested", _("Contested")
    INVALIDATED = "invalidated", _("Invalidated")


class RequestKind(models.TextChoices):
    """What is asked of a party for the person."""

    REPATRIATION = "repatriation", _("Repatriation")
    THIRD_STATE_TRANSFER = "third_state_transfer", _("Transfer to a third state")
    ASYLUM = "asylum", _("Asylum or protection")
    MEDICAL_TREATMENT = "medical_treatment", _("Medical treatment")
    DIRECT_MEDICAL_REPATRIATION = "direct_medical_repatriation", _("Direct medical repatriation")
    EXCHANGE_INCLUSION = "exchange_inclusion", _("Inclusion in an exchange")
    EXCHANGE_EXCLUSION = "exchange_exclusion", _("Exclusion from an exchange")
    FAMILY_CONTACT = "family_contact", _("Family contact")


class RequestStatus(models.TextChoices):
    """Where a request stands."""

    DRAFT = "draft", _("Draft")
    FILED = "filed", _("Filed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    UNDER_REVIEW = "under_review", _("Under review")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    LAPSED = "lapsed", _("Lapsed")
    SCHEDULED = "scheduled", _("Scheduled")
    EXECUTED = "executed", _("Executed")
    FAILED = "failed", _("Failed")


class RiskLevel(models.TextChoices):
    """How high the risk of harm on return was assessed, lowest first."""

    LOW = "low", _("Low")
    MODERATE = "moderate", _("Moderate")
    HIGH = "high", _("High")


class Stance(models.TextChoices):
    """A party's position on a request."""

    SUPPORTS = "supports", _("Supports")
    ACCEPTS = "accepts", _("Accepts")
    OPPOSES = "opposes", _("Opposes")
    CONDITIONAL = "conditional", _("Conditional")
    NO_POSITION = "no_position", _("No position")


class Reliability(models.TextChoices):
    """Reliability grade of a source (after the NATO Admiralty scale)."""

    A = "A", _("A: completely reliable")
    B = "B", _("B: usually reliable")
    C = "C", _("C: fairly reliable")
    D = "D", _("D: not usually reliable")
    E = "E", _("E: unreliable")
    F = "F", _("F: reliability cannot be judged")


class OccurrenceKind(models.TextChoices):
    """Things that happened in the world and are worth a line on the timeline."""

    CAPTURE = "capture", _("Capture")
    CAPTURE_CARD = "capture_card", _("Capture card sent (GC III Art. 70)")
    PUBLICATION = "publication", _("Images or statements published")
    ICRC_VISIT = "icrc_visit", _("ICRC visit")
    MEDICAL = "medical", _("Medical event")
    TRANSFER_OF_PLACE = "transfer_of_place", _("Moved to another place of detention")
    EXCHANGE_INCLUSION = "exchange_inclusion", _("Included in an exchange")
    EXCHANGE_EXCLUSION = "exchange_exclusion", _("Excluded from an exchange list")
    OFFICIAL_STATEMENT = "official_statement", _("Official statement")
    OTHER = "other", _("Other")


class EventKind(models.TextChoices):
    """Kinds of timeline events, in the past tense."""

    CASE_OPENED = "case.opened", _("Case opened")
    CASE_UPDATED = "case.updated", _("Case updated")
    CASE_STATUS_CHANGED = "case.status_changed", _("Case status changed")
    PERSON_CREATED = "person.created", _("Person created")
    PERSON_UPDATED = "person.updated", _("Person updated")
    INTENTION_RECORDED = "intention.recorded", _("Intention recorded")
    INTENTION_SUPERSEDED = "intention.superseded", _("Intention superseded")
    INTENTION_WITHDRAWN = "intention.withdrawn", _("Intention withdrawn")
    INTENTION_CONTESTED = "intention.contested", _("Intention contested")
    INTENTION_INVALIDATED = "intention.invalidated", _("Intention invalidated")
    REQUEST_DRAFTED = "request.drafted", _("Request drafted")
    REQUEST_FILED = "request.filed", _("Request filed")
    REQUEST_UPDATED = "request.updated", _("Request updated")
    REQUEST_STATUS_CHANGED = "request.status_changed", _("Request status changed")
    POSITION_RECORDED = "position.recorded", _("Position recorded")
    NOTE_ADDED = "note.added", _("Note added")
    OCCURRENCE_RECORDED = "occurrence.recorded", _("Occurrence recorded")
    PARTY_CREATED = "party.created", _("Party created")
    PARTY_UPDATED = "party.updated", _("Party updated")
    SOURCE_CREATED = "source.created", _("Source created")
    SOURCE_UPDATED = "source.updated", _("Source updated")
    RISK_ASSESSED = "risk.assessed", _("Risk on return assessed")
    CASE_ARCHIVED = "case.archived", _("Case archived")
    CASE_UNARCHIVED = "case.unarchived", _("Case unarchived")
    CASE_PURGED = "case.purged", _("Case purged")
    PERSON_ARCHIVED = "person.archived", _("Person archived")
    PERSON_UNARCHIVED = "person.unarchived", _("Person unarchived")
    PERSON_MERGED = "person.merged", _("Person merged into another")
    PERSON_UNMERGED = "person.unmerged", _("Person merge undone")
    INTENTION_ARCHIVED = "intention.archived", _("Intention archived")
    INTENTION_UNARCHIVED = "intention.unarchived", _("Intention unarchived")
    REQUEST_ARCHIVED = "request.archived", _("Request archived")
    REQUEST_UNARCHIVED = "request.unarchived", _("Request unarchived")
    IDENTITY_DOCUMENT_RECORDED = "identity_document.recorded", _("Identity document recorded")
    IDENTITY_DOCUMENT_UPDATED = "identity_document.updated", _("Identity document updated")
    EXTERNAL_IDENTIFIER_RECORDED = "external_identifier.recorded", _("External identifier recorded")
    EXTERNAL_IDENTIFIER_UPDATED = "external_identifier.updated", _("External identifier updated")
    NATIONALITY_CLAIM_RECORDED = "nationality_claim.recorded", _("Nationality claim recorded")
    NATIONALITY_CLAIM_UPDATED = "nationality_claim.updated", _("Nationality claim updated")
    PLACE_CREATED = "place.created", _("Place of detention created")
    PLACE_UPDATED = "place.updated", _("Place of detention updated")
    MOVEMENT_RECORDED = "movement.recorded", _("Movement recorded")
    CAPTURE_CARD_RECORDED = "capture_card.recorded", _("Capture card recorded")
    CAPTURE_CARD_UPDATED = "capture_card.updated", _("Capture card updated")
    NOTIFICATION_OPENED = "notification.opened", _("Notifications opened")
    NOTIFICATION_SENT = "notification.sent", _("Notification sent")
    NOTIFICATION_WITHHELD = "notification.withheld", _("Notification withheld")
    NOTIFICATION_ACKNOWLEDGED = "notification.acknowledged", _("Notification acknowledged")
    NOTIFICATION_RECIPIENTS_SET = "notification.recipients_set", _("Notification recipients set")
    TASK_OPENED = "task.opened", _("Task opened")
    TASK_UPDATED = "task.updated", _("Task updated")
    TASK_DONE = "task.done", _("Task done")
    TASK_CANCELLED = "task.cancelled", _("Task cancelled")
    TASK_RULES_APPLIED = "task.rules_applied", _("Tasks opened or closed by their rules")
    DOCUMENT_ATTACHED = "document.attached", _("Document attached")
    DOCUMENT_WITHDRAWN = "document.withdrawn", _("Document withdrawn")
    EXCHANGE_CREATED = "exchange.created", _("Exchange created")
    EXCHANGE_UPDATED = "exchange.updated", _("Exchange updated")
    EXCHANGE_STATUS_CHANGED = "exchange.status_changed", _("Exchange status changed")
    EXCHANGE_ENTRY_SET = "exchange.entry_set", _("Exchange list entry set")
    HANDOVER_RECORDED = "handover.recorded", _("Handover recorded")
    VISIT_RECORDED = "visit.recorded", _("Visit recorded")
    VISIT_UPDATED = "visit.updated", _("Visit updated")
    INTERVIEW_RECORDED = "interview.recorded", _("Private interview recorded")


class Channel(models.TextChoices):
    """Through which door a change came in."""

    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    COMMAND = "command", _("Management command")
    SEED = "seed", _("Seed data")
    SYSTEM = "system", _("System")
