"""Choices used across the tracker: kinds, statuses and levels, as ``TextChoices``."""

from django.db import models


class DatePrecision(models.TextChoices):
    """How much of a recorded date is actually known."""

    EXACT = "exact", "Exact time"
    DAY = "day", "Exact day"
    MONTH = "month", "Month only"
    YEAR = "year", "Year only"
    APPROXIMATE = "approximate", "Approximate"


class PartyKind(models.TextChoices):
    """What sort of body a party is."""

    STATE = "state", "State"
    ARMED_FORCE = "armed_force", "Armed force"
    AGENCY = "agency", "Government agency"
    INTERNATIONAL_ORGANISATION = "international_organisation", "International organisation"
    NGO = "ngo", "Non-governmental organisation"
    LEGISLATOR = "legislator", "Legislator"
    MEDIA = "media", "Media outlet"
    OTHER = "other", "Other"


class Sex(models.TextChoices):
    """Sex as recorded by the detaining power."""

    MALE = "male", "Male"
    FEMALE = "female", "Female"
    UNKNOWN = "unknown", "Unknown"


class IdentityConfidence(models.TextChoices):
    """How far the person's identity is established."""

    CONFIRMED = "confirmed", "Confirmed"
    CLAIMED = "claimed", "Claimed"
    DISPUTED = "disputed", "Disputed"
    UNKNOWN = "unknown", "Unknown"


class Script(models.TextChoices):
    """Writing system of a name variant."""

    HANGUL = "hangul", "Hangul"
    LATIN = "latin", "Latin"
    CYRILLIC = "cyrillic", "Cyrillic"
    HANJA = "hanja", "Hanja"
    OTHER = "other", "Other"


class Romanisation(models.TextChoices):
    """Romanisation system used to write a name variant in Latin script."""

    NONE = "", "Not applicable"
    REVISED = "revised", "Revised Romanisation (South Korea)"
    MCCUNE_REISCHAUER = "mccune_reischauer", "McCune-Reischauer"
    NORTH_KOREAN = "north_korean", "North Korean official"
    CONVENTIONAL = "conventional", "Conventional / common spelling"
    BGN_PCGN = "bgn_pcgn", "BGN/PCGN (Cyrillic)"
    PRESS = "press", "As spelled in the press"


class LegalStatus(models.TextChoices):
    """The person's status under international humanitarian law."""

    POW = "pow", "Prisoner of war"
    PRESUMED_POW = "presumed_pow", "Presumed POW (pending Art. 5 tribunal)"
    CIVILIAN_INTERNEE = "civilian_internee", "Civilian internee"
    UNKNOWN = "unknown", "Unknown"


class CaseStatus(models.TextChoices):
    """Where a custody episode stands."""

    CAPTURED = "captured", "Captured"
    REGISTERED = "registered", "Registered"
    INTERNED = "interned", "Interned"
    HOSPITALISED = "hospitalised", "Hospitalised"
    ON_HOLD = "on_hold", "On hold"
    RELEASE_APPROVED = "release_approved", "Release approved"
    REPATRIATED = "repatriated", "Repatriated"
    TRANSFERRED_THIRD_STATE = "transferred_third_state", "Transferred to a third state"
    RELEASED = "released", "Released"
    DIED = "died", "Died"
    ESCAPED = "escaped", "Escaped"


class Priority(models.TextChoices):
    """How urgently a case needs attention."""

    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class IntentionOption(models.TextChoices):
    """What the person said they want."""

    RETURN_HOME = "return_home", "Return home"
    THIRD_STATE = "third_state", "Transfer to a third state"
    REMAIN = "remain", "Remain in the detaining state"
    UNDECIDED = "undecided", "Undecided"
    DECLINED = "declined", "Declined to say"


class StatementSetting(models.TextChoices):
    """The circumstances in which a statement was made."""

    PRIVATE_NEUTRAL_INTERVIEW = "private_neutral_interview", "Private interview by a neutral body"
    OFFICIAL_INTERVIEW = "official_interview", "Official interview"
    MEDIA_INTERVIEW = "media_interview", "Media interview"
    LEGISLATOR_INTERVIEW = "legislator_interview", "Interview by a legislator"
    LETTER = "letter", "Letter"
    HEARSAY = "hearsay", "Hearsay"


class Verification(models.TextChoices):
    """How reliably a statement was heard, weakest first."""

    REPORTED = "reported", "Reported (hearsay)"
    STATED = "stated", "Stated (direct, recorded)"
    WITNESSED = "witnessed", "Witnessed (independent party present)"
    VERIFIED = "verified", "Verified (private neutral interview)"
    RECONFIRMED = "reconfirmed", "Reconfirmed at handover"


#: Rank of each verification level; higher is more reliable.
VERIFICATION_RANK = {value: rank for rank, value in enumerate(Verification.values)}


class Presence(models.TextChoices):
    """Whether someone was present when a statement was made."""

    YES = "yes", "Present"
    NO = "no", "Not present"
    UNKNOWN = "unknown", "Not known"


#: Levels at which a statement counts as verified for the consent gate.
VERIFIED_LEVELS = frozenset({Verification.VERIFIED, Verification.RECONFIRMED})


class IntentionState(models.TextChoices):
    """Whether a statement still stands."""

    ACTIVE = "active", "Active"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn"
    CONTESTED = "contested", "Contested"
    INVALIDATED = "invalidated", "Invalidated"


class RequestKind(models.TextChoices):
    """What is asked of a party for the person."""

    REPATRIATION = "repatriation", "Repatriation"
    THIRD_STATE_TRANSFER = "third_state_transfer", "Transfer to a third state"
    ASYLUM = "asylum", "Asylum or protection"
    MEDICAL_TREATMENT = "medical_treatment", "Medical treatment"
    DIRECT_MEDICAL_REPATRIATION = "direct_medical_repatriation", "Direct medical repatriation"
    EXCHANGE_INCLUSION = "exchange_inclusion", "Inclusion in an exchange"
    EXCHANGE_EXCLUSION = "exchange_exclusion", "Exclusion from an exchange"
    FAMILY_CONTACT = "family_contact", "Family contact"


class RequestStatus(models.TextChoices):
    """Where a request stands."""

    DRAFT = "draft", "Draft"
    FILED = "filed", "Filed"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    UNDER_REVIEW = "under_review", "Under review"
    ACCEPTED = "accepted", "Accepted"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"
    LAPSED = "lapsed", "Lapsed"
    SCHEDULED = "scheduled", "Scheduled"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Failed"


class RiskLevel(models.TextChoices):
    """How high the risk of harm on return was assessed, lowest first."""

    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"


class Stance(models.TextChoices):
    """A party's position on a request."""

    SUPPORTS = "supports", "Supports"
    ACCEPTS = "accepts", "Accepts"
    OPPOSES = "opposes", "Opposes"
    CONDITIONAL = "conditional", "Conditional"
    NO_POSITION = "no_position", "No position"


class Reliability(models.TextChoices):
    """Reliability grade of a source (after the NATO Admiralty scale)."""

    A = "A", "A: completely reliable"
    B = "B", "B: usually reliable"
    C = "C", "C: fairly reliable"
    D = "D", "D: not usually reliable"
    E = "E", "E: unreliable"
    F = "F", "F: reliability cannot be judged"


class OccurrenceKind(models.TextChoices):
    """Things that happened in the world and are worth a line on the timeline."""

    CAPTURE = "capture", "Capture"
    CAPTURE_CARD = "capture_card", "Capture card sent (GC III Art. 70)"
    PUBLICATION = "publication", "Images or statements published"
    ICRC_VISIT = "icrc_visit", "ICRC visit"
    MEDICAL = "medical", "Medical event"
    TRANSFER_OF_PLACE = "transfer_of_place", "Moved to another place of detention"
    EXCHANGE_INCLUSION = "exchange_inclusion", "Included in an exchange"
    EXCHANGE_EXCLUSION = "exchange_exclusion", "Excluded from an exchange list"
    OFFICIAL_STATEMENT = "official_statement", "Official statement"
    OTHER = "other", "Other"


class EventKind(models.TextChoices):
    """Kinds of timeline events, in the past tense."""

    CASE_OPENED = "case.opened", "Case opened"
    CASE_UPDATED = "case.updated", "Case updated"
    CASE_STATUS_CHANGED = "case.status_changed", "Case status changed"
    PERSON_CREATED = "person.created", "Person created"
    PERSON_UPDATED = "person.updated", "Person updated"
    INTENTION_RECORDED = "intention.recorded", "Intention recorded"
    INTENTION_SUPERSEDED = "intention.superseded", "Intention superseded"
    INTENTION_WITHDRAWN = "intention.withdrawn", "Intention withdrawn"
    INTENTION_CONTESTED = "intention.contested", "Intention contested"
    INTENTION_INVALIDATED = "intention.invalidated", "Intention invalidated"
    REQUEST_DRAFTED = "request.drafted", "Request drafted"
    REQUEST_FILED = "request.filed", "Request filed"
    REQUEST_UPDATED = "request.updated", "Request updated"
    REQUEST_STATUS_CHANGED = "request.status_changed", "Request status changed"
    POSITION_RECORDED = "position.recorded", "Position recorded"
    NOTE_ADDED = "note.added", "Note added"
    OCCURRENCE_RECORDED = "occurrence.recorded", "Occurrence recorded"
    PARTY_CREATED = "party.created", "Party created"
    PARTY_UPDATED = "party.updated", "Party updated"
    SOURCE_CREATED = "source.created", "Source created"
    SOURCE_UPDATED = "source.updated", "Source updated"
    RISK_ASSESSED = "risk.assessed", "Risk on return assessed"
    CASE_ARCHIVED = "case.archived", "Case archived"
    CASE_UNARCHIVED = "case.unarchived", "Case unarchived"
    CASE_PURGED = "case.purged", "Case purged"
    PERSON_ARCHIVED = "person.archived", "Person archived"
    PERSON_UNARCHIVED = "person.unarchived", "Person unarchived"
    PERSON_MERGED = "person.merged", "Person merged into another"
    PERSON_UNMERGED = "person.unmerged", "Person merge undone"
    INTENTION_ARCHIVED = "intention.archived", "Intention archived"
    INTENTION_UNARCHIVED = "intention.unarchived", "Intention unarchived"
    REQUEST_ARCHIVED = "request.archived", "Request archived"
    REQUEST_UNARCHIVED = "request.unarchived", "Request unarchived"
    IDENTITY_DOCUMENT_RECORDED = "identity_document.recorded", "Identity document recorded"
    IDENTITY_DOCUMENT_UPDATED = "identity_document.updated", "Identity document updated"
    EXTERNAL_IDENTIFIER_RECORDED = "external_identifier.recorded", "External identifier recorded"
    EXTERNAL_IDENTIFIER_UPDATED = "external_identifier.updated", "External identifier updated"
    NATIONALITY_CLAIM_RECORDED = "nationality_claim.recorded", "Nationality claim recorded"
    NATIONALITY_CLAIM_UPDATED = "nationality_claim.updated", "Nationality claim updated"
    PLACE_CREATED = "place.created", "Place of detention created"
    PLACE_UPDATED = "place.updated", "Place of detention updated"
    MOVEMENT_RECORDED = "movement.recorded", "Movement recorded"
    CAPTURE_CARD_RECORDED = "capture_card.recorded", "Capture card recorded"
    CAPTURE_CARD_UPDATED = "capture_card.updated", "Capture card updated"
    NOTIFICATION_OPENED = "notification.opened", "Notifications opened"
    NOTIFICATION_SENT = "notification.sent", "Notification sent"
    NOTIFICATION_WITHHELD = "notification.withheld", "Notification withheld"
    NOTIFICATION_ACKNOWLEDGED = "notification.acknowledged", "Notification acknowledged"
    NOTIFICATION_RECIPIENTS_SET = "notification.recipients_set", "Notification recipients set"


class Channel(models.TextChoices):
    """Through which door a change came in."""

    ADMIN = "admin", "Admin"
    API = "api", "API"
    COMMAND = "command", "Management command"
    SEED = "seed", "Seed data"
    SYSTEM = "system", "System"
