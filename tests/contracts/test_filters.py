"""Every field of every model is filterable in the API, or exempt with a reason.

In the manner of NetBox's ``test_missing_filters``: the fields are read from the models'
``_meta`` and the filters from the FilterSets the API's list endpoints use
(``cases/filters.py``), so a new field fails here until someone decides whether analysts
and integrations filter on it.
"""

from __future__ import annotations

import pytest
from django.apps import apps

from cases.api.urls import router
from cases.security import sensitive

#: Models the API lists without a FilterSet, or does not list at all, and why.
MODELS_WITHOUT_FILTERS = {
    "personname": "read with its person (names); searched through the person's q",
    "timelineevent": "served by the change feed, paged by cursor, not filtered",
    "accesslogentry": "the access log: read in the admin by the data-protection officer",
    "apitoken": "credentials: managed in the admin and by the issue_token command",
    "accountpreferences": "an account's own language: set with the switcher or in the admin",
    "webhooksubscription": "a few rows per installation, each read by its id",
    "webhookattempt": "read per subscription (its attempts action)",
    "webhookredelivery": "a queued resend of one event, consumed by the workers",
    "webhooksubscriptionchange": "a subscription's edits and replays, read per subscription "
    "(its changes action)",
    "notificationsettings": "one case's recipient list, read by its id or on the case",
    "importrun": "an officer's uploads, newest first, each read by its id with its report",
    "importmapping": "a few saved column mappings, listed by name",
    "idempotencykey": "kept answers of Idempotency-Key writes: personal data, never listed "
    "(cases/api/idempotency.py)",
    "ratelimitcounter": "the API's rate-limit counters, one row per credential and scope: "
    "counted by the throttle (cases/api/counters.py), never listed",
    "writeposition": "where the primary's log stood after each account's latest write, one "
    "row per account: read by the account's key to route its reads (cases/api/replica_reads.py), "
    "never listed",
    "personmerge": "the record of a merge, read with its persons (the merge and unmerge "
    "answers, the admin)",
    "exchangelistentry": "an exchange's list, read with its exchange; the exchanges' filters "
    "case and entry_state find the exchanges a case is on",
}

#: Filters whose ``method`` reads other fields than their name says: filter -> fields.
METHOD_FILTERS = {
    ("case", "q"): {"reference"},
    ("case", "archived"): {"archived_at"},
    ("person", "q"): {"working_name"},
    ("person", "nationality"): {"nationalities"},
    ("person", "archived"): {"archived_at"},
    ("party", "q"): {"name", "short_name"},
    ("source", "q"): {"title", "publisher"},
    ("statedintention", "archived"): {"archived_at"},
    ("request", "archived"): {"archived_at"},
    ("case", "overdue"): {"capture_card_due_on"},
    ("place", "q"): {"name", "address"},
    ("capturecard", "sent_to_agency"): {"sent_to_agency_on"},
    ("notification", "overdue"): {"state", "due_on"},
    ("task", "overdue"): {"state", "due_on"},
    ("document", "archived"): {"archived_at"},
    ("exchange", "q"): {"name", "notes"},
    # The exchange's list (its entries, another table): a case on it, or an entry's state.
    ("exchange", "case"): set(),
    ("exchange", "entry_state"): set(),
    ("handover", "reconfirmed"): {"reconfirmation"},
}

ID = "the public id: a row is read by its URL, not filtered"
BOOKKEEPING = "bookkeeping (locking, record times, the timeline's sequence)"
PRECISION = "the precision of a date that has its own filters; read on the row"
FREE_TEXT = "free text read on the row; not a dimension anyone filters on"
NOT_YET = "no filter yet: nobody has asked for one; add it to the FilterSet when needed"

#: Model -> field -> why it has no filter. Sensitive fields (cases/security/sensitive.py)
#: are exempt there: no filter may read them.
EXEMPT: dict[str, dict[str, str]] = {
    "visit": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "place_text": FREE_TEXT,
        "source": NOT_YET,
    },
    "interview": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "interpreter_supplied_by": NOT_YET,
    },
    "task": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "done_by": NOT_YET,
    },
    "document": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "file": "the random name of its bytes in the storage: never shown, never filtered",
        "title": FREE_TEXT,
        "size": "read on the row; ordered by (ordering=size)",
        "uploaded_by": NOT_YET,
    },
    "notification": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "event_uuid": "the event is read on the row and found in the feed by its id",
        "occurred_on": "read on the row; due_after / due_before bound the deadline",
        "sent_on": NOT_YET,
        "sent_reference": FREE_TEXT,
        "acknowledged_on": NOT_YET,
        "acknowledgement_reference": FREE_TEXT,
    },
    "case": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "released_to_place": FREE_TEXT,
        "opened_at": BOOKKEEPING,
        "last_event_seq": BOOKKEEPING,
        "capture_date_precision": PRECISION,
        "capture_place": FREE_TEXT,
        "detention_place": FREE_TEXT,
        "person": "the person is reached by q (names) and nationality",
        "current_intention": "the statement itself: filtered by current_intention "
        "(option), intention_verified and destination_country",
        "current_intention_verification": NOT_YET,
        "capture_place_code": NOT_YET,
        "assigned_officer": NOT_YET,
        "priority": NOT_YET,
        "closed_at": NOT_YET,
    },
    "person": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "birth_date": "identity data read on the row; a birth date narrows to a person",
        "merged_into": "merged persons (tombstones) are left out of lists; read by id, one "
        "redirects to the person it was merged into",
        "merged_at": "merged persons are left out of lists",
        "birth_date_precision": PRECISION,
        "sex": NOT_YET,
        "identity_confidence": NOT_YET,
        "armed_force": NOT_YET,
        "power_depends_on": NOT_YET,
        "rank": FREE_TEXT,
        "unit": FREE_TEXT,
        "is_deceased": NOT_YET,
        "date_of_death": NOT_YET,
        "service_notes": FREE_TEXT,
    },
    "identitydocument": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "source": NOT_YET,
    },
    "externalidentifier": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "source": NOT_YET,
    },
    "nationalityclaim": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "basis": FREE_TEXT,
        "source": NOT_YET,
    },
    "party": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "parent": NOT_YET,
        "is_neutral": NOT_YET,
    },
    "source": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "url": FREE_TEXT,
        "language": NOT_YET,
        "notes": FREE_TEXT,
    },
    "statedintention": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "interview": "the private interview it was taken in: read on the row; the interviews "
        "endpoint filters by case and visit",
        "certainty": FREE_TEXT,
        "quote_language": NOT_YET,
        "stated_on_precision": PRECISION,
        "heard_by": NOT_YET,
        "heard_by_role": FREE_TEXT,
        "setting": NOT_YET,
        "interpreter_supplied_by": NOT_YET,
        "present_parties": NOT_YET,
        "detaining_power_present": NOT_YET,
        "options_explained": NOT_YET,
        "supersedes": "the chain of statements is read on the row (supersedes)",
        "source": NOT_YET,
    },
    "request": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "requested_by": NOT_YET,
        "legal_basis": FREE_TEXT,
        "decided_on": NOT_YET,
        "decision_reason": FREE_TEXT,
        "intention": "the statement a request rests on is read on the row",
        "source": NOT_YET,
    },
    "riskassessment": {
        "uuid": ID,
        "recorded_at": BOOKKEEPING,
        "persecution": NOT_YET,
        "torture": NOT_YET,
        "reprisal": NOT_YET,
        "family_at_risk": NOT_YET,
        "assessed_by": NOT_YET,
        "assessor": FREE_TEXT,
        "source": NOT_YET,
    },
    "position": {
        "uuid": ID,
        "recorded_at": BOOKKEEPING,
        "conditions": FREE_TEXT,
        "source": NOT_YET,
    },
    "occurrence": {
        "uuid": ID,
        "recorded_at": BOOKKEEPING,
        "occurred_on_precision": PRECISION,
        "description": FREE_TEXT,
        "place": FREE_TEXT,
        "source": NOT_YET,
    },
    "place": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "notes": FREE_TEXT,
    },
    "movement": {
        "uuid": ID,
        "recorded_at": BOOKKEEPING,
        "moved_on_precision": PRECISION,
        "notes": FREE_TEXT,
        "source": NOT_YET,
    },
    "capturecard": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "source": NOT_YET,
    },
    "exchange": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "created_at": BOOKKEEPING,
        "updated_at": BOOKKEEPING,
        "source": NOT_YET,
    },
    "handover": {
        "uuid": ID,
        "version": BOOKKEEPING,
        "recorded_at": BOOKKEEPING,
        "occurred_on_precision": PRECISION,
        "place_text": FREE_TEXT,
        "consent_statement": "read on the row; the statement's own events name it",
        "notes": FREE_TEXT,
        "source": NOT_YET,
    },
    "note": {
        "uuid": ID,
        "author": NOT_YET,
        "source": NOT_YET,
    },
}


def api_filtersets() -> dict[str, type]:
    """Return the FilterSet of every model the API lists, by model name."""
    found = {}
    for _prefix, viewset, _basename in router.registry:
        filterset = getattr(viewset, "filterset_class", None)
        if filterset is not None:
            found[filterset._meta.model._meta.model_name] = filterset
    return found


def model_fields(model) -> set[str]:
    """Return the names of the model's own fields (columns and many-to-many)."""
    return {
        field.name
        for field in model._meta.get_fields()
        if (field.concrete or field.many_to_many) and not field.auto_created
    }


def filtered_fields(model_name: str, filterset) -> set[str]:
    """Return the fields the FilterSet's filters read."""
    out = set()
    for name, declared in filterset.base_filters.items():
        if name == "ordering":
            continue
        if getattr(declared, "method", None):
            out |= METHOD_FILTERS.get((model_name, name), set())
        else:
            out.add(declared.field_name.split("__")[0])
    return out


CASES_MODELS = sorted(m._meta.model_name for m in apps.get_app_config("cases").get_models())


def test_every_model_has_a_filterset_or_a_reason():
    """A new model fails here until the API filters it or it is listed without filters."""
    filtersets = api_filtersets()
    assert set(CASES_MODELS) == set(filtersets) | set(MODELS_WITHOUT_FILTERS)
    assert not set(filtersets) & set(MODELS_WITHOUT_FILTERS)


@pytest.mark.parametrize("model_name", sorted(api_filtersets()))
def test_every_field_is_filterable_or_exempt_with_a_reason(model_name):
    """Each field of the model is read by a filter, sensitive, or listed in EXEMPT; a new
    field fails until decided, and an exemption for a field that has gained a filter (or
    is gone) fails too, so the list stays true."""
    filterset = api_filtersets()[model_name]
    model = filterset._meta.model
    fields = model_fields(model)
    filtered = filtered_fields(model_name, filterset)
    secret = set(sensitive.SENSITIVE_FIELDS.get(model_name, ())) & fields
    exempt = EXEMPT.get(model_name, {})
    assert filtered <= fields, f"filters of {model_name} read no field {filtered - fields}"
    undecided = fields - filtered - secret - set(exempt)
    assert not undecided, f"{model_name}: no filter and no exemption for {sorted(undecided)}"
    stale = set(exempt) & (filtered | secret) | (set(exempt) - fields)
    assert not stale, f"{model_name}: exempt but filtered, sensitive or gone: {sorted(stale)}"
    assert all(reason.strip() for reason in exempt.values())


def test_no_filter_reads_a_sensitive_field():
    """A filter on a sensitive field would answer questions about a value it withholds."""
    for model_name, filterset in api_filtersets().items():
        secret = set(sensitive.SENSITIVE_FIELDS.get(model_name, ()))
        assert not filtered_fields(model_name, filterset) & secret, model_name


def test_method_filters_name_filters_that_exist():
    """METHOD_FILTERS describes declared method filters only, so it cannot go stale."""
    filtersets = api_filtersets()
    for (model_name, name), _fields in METHOD_FILTERS.items():
        declared = filtersets[model_name].base_filters[name]
        assert getattr(declared, "method", None), (model_name, name)
