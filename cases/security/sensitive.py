"""The sensitive fields, in one place, and how they are withheld from users who may not see them.

A sensitive value is one whose disclosure could expose the person or their family to
punishment: what they said in their own words, who their relatives are, their health, where
they were born, their service number, and the names they are really known by. Users without
the ``cases.view_sensitive`` permission get ``null`` in place of each such value, and the field
is named in a ``redacted`` list on the object, so a client can tell a withheld value from an
empty one. Name variants are withheld by leaving them out: only pseudonymous variants (and the
working name, often a pseudonym by design) are shown.

Every reader (API, feed, pages, exports, admin) asks this module; none keeps its own list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

#: The permission that shows sensitive values.
VIEW_SENSITIVE = "cases.view_sensitive"
#: The permission that lets a user download exports of cases.
EXPORT_CASES = "cases.export_cases"

#: Sensitive fields of a person (``names`` is the non-pseudonymous name variants). The
#: structured family and given names are his true name, withheld as its non-pseudonymous
#: variants are; the parents' names, the person to inform and the address for correspondence
#: (GC III Art. 17, 122) name and locate his family at home, the first people a reprisal
#: would reach. His internment number is not: the detaining power issues it, it says
#: nothing of who he is at home, and officers and integrators match lists by it.
PERSON_FIELDS: tuple[str, ...] = (
    "birth_place",
    "service_number",
    "family_links",
    "medical_notes",
    "family_name",
    "given_names",
    "father_first_name",
    "mother_maiden_name",
    "person_to_inform",
    "correspondence_address",
)
#: The pseudo-field that stands for a person's non-pseudonymous name variants.
NAMES = "names"
#: Sensitive fields of a stated intention: the verbatim words, the conditions the person
#: attached to his wish (free text that repeats what he asked for, e.g. an operation), and
#: signs of duress seen.
INTENTION_FIELDS: tuple[str, ...] = ("quote", "conditions", "duress_signs")
#: Sensitive fields of a risk assessment: what it rests on (his or his family's danger).
RISK_FIELDS: tuple[str, ...] = ("basis",)
#: Sensitive fields of a note: its body is free text that can hold anything.
NOTE_FIELDS: tuple[str, ...] = ("body",)
#: Sensitive fields of an identity document: its number identifies him to the issuing state
#: as his service number does, the name written on it is a true name (his, or another man's
#: whose papers he carried), and its notes are free text. Its kind, issuer and whether it is
#: genuine are not: they say what he carried, not who he or his family are.
DOCUMENT_FIELDS: tuple[str, ...] = ("number", "name_on_document", "notes")
#: Sensitive fields of a capture card: his state of health (as a person's medical notes) and
#: the officer's free-text notes on it.
CAPTURE_CARD_FIELDS: tuple[str, ...] = ("health", "notes")
#: Sensitive fields of a notification: why it was withheld (it may name the family's danger).
NOTIFICATION_FIELDS: tuple[str, ...] = ("withheld_reason",)
#: Sensitive fields of a task: its details are free text that can hold anything.
TASK_FIELDS: tuple[str, ...] = ("details",)
#: Sensitive fields of an attached document (cases/documents/): the name it was uploaded
#: under, which often names the person or his family ("letter from Kim's mother.pdf"). Its
#: title, kind and type are the officer's description and are not. Its contents are more
#: than sensitive: only readers who see sensitive values may download them, and each
#: download is logged as a read of ``CONTENT``.
FILE_FIELDS: tuple[str, ...] = ("original_filename",)
#: Sensitive fields of a visit (cases/visits/): the topics raised with the detaining power and
#: the notes are free text that can name whom the visitors saw and what they were told. Who
#: visited, where and when are not: Art. 126 visits are announced, and officers plan by them.
VISIT_FIELDS: tuple[str, ...] = ("topics", "notes")
#: Sensitive fields of a private interview: what the person raised in private and the notes
#: on it are his own words about his treatment and wishes, as a statement's quote is.
INTERVIEW_FIELDS: tuple[str, ...] = ("topics", "notes")
#: The pseudo-field an access-log entry names for a document's contents.
CONTENT = "content"

#: Sensitive fields per model name (``Model._meta.model_name``, also an event's subject_type).
SENSITIVE_FIELDS: Mapping[str, tuple[str, ...]] = {
    "person": (*PERSON_FIELDS, NAMES),
    "statedintention": INTENTION_FIELDS,
    "note": NOTE_FIELDS,
    "riskassessment": RISK_FIELDS,
    "identitydocument": DOCUMENT_FIELDS,
    "capturecard": CAPTURE_CARD_FIELDS,
    "notification": NOTIFICATION_FIELDS,
    "task": TASK_FIELDS,
    "document": FILE_FIELDS,
    "visit": VISIT_FIELDS,
    "interview": INTERVIEW_FIELDS,
}

#: Keys of an event's ``changes`` whose values are sensitive, on events of any kind.
SENSITIVE_CHANGE_KEYS: frozenset[str] = frozenset((*PERSON_FIELDS, "quote", "duress_signs"))
#: Keys sensitive only on events about one kind of subject: a note's body, an intention's
#: conditions (a party's position has ``conditions`` too, and those are the party's words),
#: a risk assessment's basis.
SUBJECT_CHANGE_KEYS: Mapping[str, frozenset[str]] = {
    "note": frozenset(NOTE_FIELDS),
    "statedintention": frozenset(INTENTION_FIELDS),
    "riskassessment": frozenset(RISK_FIELDS),
    "identitydocument": frozenset(DOCUMENT_FIELDS),
    "capturecard": frozenset(CAPTURE_CARD_FIELDS),
    "notification": frozenset(NOTIFICATION_FIELDS),
    "task": frozenset(TASK_FIELDS),
    "document": frozenset(FILE_FIELDS),
    "visit": frozenset(VISIT_FIELDS),
    "interview": frozenset(INTERVIEW_FIELDS),
}
#: Every key of ``changes`` that may be withheld on some event (the feed's fast path).
ANY_SENSITIVE_CHANGE_KEY: frozenset[str] = frozenset(
    (
        *SENSITIVE_CHANGE_KEYS,
        *NOTE_FIELDS,
        *INTENTION_FIELDS,
        *RISK_FIELDS,
        *DOCUMENT_FIELDS,
        *CAPTURE_CARD_FIELDS,
        *NOTIFICATION_FIELDS,
        *TASK_FIELDS,
        *FILE_FIELDS,
        *VISIT_FIELDS,
        *INTERVIEW_FIELDS,
        NAMES,
    )
)
#: Event kinds whose summary repeats sensitive text (a note's first line).
SUMMARY_REPEATS_BODY: frozenset[str] = frozenset({"note.added"})
#: What a withheld summary says instead.
WITHHELD_SUMMARY = {"note.added": "Note added (text withheld)"}


def is_sensitive_change_key(subject_type: str, key: str) -> bool:
    """Return whether ``changes[key]`` of an event about a ``subject_type`` is sensitive.

    ``names`` is not: only its non-pseudonymous variants are (see ``_redact_names_change``).
    """
    return key in SENSITIVE_CHANGE_KEYS or key in SUBJECT_CHANGE_KEYS.get(subject_type, ())


def can_view_sensitive(user) -> bool:
    """Return whether ``user`` may see sensitive values."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm(VIEW_SENSITIVE)
    )


def _is_pseudonym(name: Any) -> bool:
    if isinstance(name, Mapping):
        return bool(name.get("is_pseudonym"))
    return bool(getattr(name, "is_pseudonym", False))


def _value_of(obj: Any, field: str) -> Any:
    return obj.get(field) if isinstance(obj, Mapping) else getattr(obj, field, None)


def is_hidden_name(name: Any) -> bool:
    """Return whether a name variant (row or dict) is sensitive: every non-pseudonym is."""
    return not _is_pseudonym(name)


def visible_name_condition(user, prefix: str = "") -> Q:
    """Return the condition on ``PersonName`` rows that ``user`` may see (and search).

    ``prefix`` is the lookup path to the name rows, e.g. ``"names__"`` from a person.
    """
    if can_view_sensitive(user):
        return Q()
    return Q(**{f"{prefix}is_pseudonym": True})


def visible_name_rows(value: str, user):
    """Return the name variants ``user`` may see that match the search ``value``, or None.

    The search expands ``value`` across scripts and romanisations (``cases.names``), but
    only over visible variants: a user without the permission cannot learn a true name by
    searching for it. None when ``value`` has no spelling to look for.
    """
    from cases.models import PersonName
    from cases.names import NameSearch

    search = NameSearch.of(value)
    if search is None:
        return None
    return PersonName.objects.filter(search.condition(), visible_name_condition(user))


def visible_name_match(value: str, person_ref: str, user) -> Q | None:
    """Return a condition true when a name variant ``user`` may see matches ``value``.

    ``person_ref`` is the lookup of the person's id in the filtered query (``"pk"`` on
    persons, ``"person_id"`` on cases). The condition is an ``IN`` over the matching variants'
    person ids, which PostgreSQL reads from the name indexes. None when nothing can match.
    """
    rows = visible_name_rows(value, user)
    if rows is None:
        return None
    return Q(**{f"{person_ref}__in": rows.order_by().values("person_id")})


def visible_names(names: Iterable[Any], user, *, allowed: bool | None = None) -> list[Any]:
    """Return the name variants ``user`` may see, in order."""
    if allowed is None:
        allowed = can_view_sensitive(user)
    names = list(names)
    return names if allowed else [n for n in names if not is_hidden_name(n)]


def sensitive_values(obj: Any) -> dict[str, Any]:
    """Return ``{field: value}`` of the non-empty sensitive values of a row.

    ``obj`` is a Person, StatedIntention, Note or PersonName; for a person, ``names`` maps to
    the non-pseudonymous variants' values.
    """
    model_name = obj._meta.model_name
    if model_name == "personname":
        return {"value": obj.value} if is_hidden_name(obj) else {}
    values: dict[str, Any] = {}
    for field in SENSITIVE_FIELDS.get(model_name, ()):
        if field == NAMES:
            hidden = [n.value for n in obj.names.all() if is_hidden_name(n)]
            if hidden:
                values[NAMES] = hidden
            continue
        value = getattr(obj, field)
        if value not in (None, ""):
            values[field] = value
    return values


def redact_fields(
    data: dict, model_name: str, user, *, allowed: bool | None = None
) -> tuple[list[str], list[str]]:
    """Withhold the sensitive fields of one object's representation ``data`` in place.

    Without the permission each sensitive field present in ``data`` becomes ``None`` (name
    variants are filtered to pseudonyms) and ``data["redacted"]`` names every sensitive field,
    whether or not it held a value, so an empty value cannot be told from a withheld one.
    With it ``data["redacted"]`` is empty. Return ``(redacted, shown)``: the fields withheld,
    and the fields whose non-empty sensitive values the representation shows (for the log).
    """
    if allowed is None:
        allowed = can_view_sensitive(user)
    redacted: list[str] = []
    shown: list[str] = []
    for field in SENSITIVE_FIELDS.get(model_name, ()):
        if field not in data:
            continue
        if field == NAMES:
            names = data[NAMES] or []
            if allowed:
                if any(is_hidden_name(n) for n in names):
                    shown.append(NAMES)
            else:
                data[NAMES] = visible_names(names, user, allowed=False)
                redacted.append(NAMES)
            continue
        if allowed:
            if data[field] not in (None, ""):
                shown.append(field)
        else:
            data[field] = None
            redacted.append(field)
    data["redacted"] = redacted
    return redacted, shown


def _redact_names_change(value: Any) -> tuple[Any, bool]:
    """Return a ``names`` change without non-pseudonyms, and whether any were left out."""
    if not isinstance(value, list | tuple):
        return None, True
    hidden = False
    redacted = []
    for side in value:
        if isinstance(side, list | tuple):
            kept = [n for n in side if isinstance(n, Mapping) and not is_hidden_name(n)]
            hidden = hidden or len(kept) != len(side)
            redacted.append(kept)
        else:
            hidden = hidden or side is not None
            redacted.append(None)
    return redacted, hidden


def redact_event_changes(
    kind: str, subject_type: str, changes: Mapping[str, Any] | None, user, *, allowed=None
) -> tuple[dict[str, Any], list[str]]:
    """Return an event's ``changes`` as ``user`` may see them, and the keys withheld.

    Without the permission, the value pair of every sensitive key becomes ``None`` (the key
    stays, so the client still learns that the field changed), a ``names`` change keeps only
    pseudonymous variants, and a note's ``body`` is withheld. With it, ``changes`` is
    returned unchanged and nothing is withheld.
    """
    changes = dict(changes or {})
    if allowed is None:
        allowed = can_view_sensitive(user)
    if allowed:
        return changes, []
    withheld: list[str] = []
    for key in sorted(changes):
        if is_sensitive_change_key(subject_type, key):
            changes[key] = None
            withheld.append(key)
        elif key == NAMES:
            changes[key], hidden = _redact_names_change(changes[key])
            if hidden:
                withheld.append(key)
    return changes, withheld


def event_shows_sensitive(kind: str, subject_type: str, changes: Mapping[str, Any] | None) -> list:
    """Return the keys of an event's ``changes`` that hold sensitive values (for the log)."""
    shown = []
    for key, value in (changes or {}).items():
        if is_sensitive_change_key(subject_type, key):
            if isinstance(value, list | tuple) and all(v in (None, "") for v in value):
                continue
            shown.append(key)
        elif key == NAMES:
            _kept, hidden = _redact_names_change(value)
            if hidden:
                shown.append(key)
    return sorted(shown)


def redact_event(event: dict, user, *, allowed: bool | None = None) -> list[str]:
    """Withhold the sensitive parts of one event's representation in place.

    ``event`` holds ``kind``, ``subject_type``, ``changes`` and ``summary``; ``redacted`` is
    set on it. Return the keys withheld (``summary`` included when it repeated a note).
    """
    if allowed is None:
        allowed = can_view_sensitive(user)
    changes, withheld = redact_event_changes(
        event["kind"], event["subject_type"], event.get("changes"), user, allowed=allowed
    )
    event["changes"] = changes
    if not allowed and event["kind"] in SUMMARY_REPEATS_BODY:
        event["summary"] = WITHHELD_SUMMARY[event["kind"]]
        withheld.append("summary")
    redact_event_object(event, user, allowed=allowed)
    event["redacted"] = withheld
    return withheld


def redact_event_object(event: dict, user, *, allowed: bool | None = None) -> list[str]:
    """Withhold the sensitive fields of an event's ``object`` in place, as the API does.

    The object is the subject as its resource shows it, so it is redacted as the resource
    is (:func:`redact_fields`): its own ``redacted`` names the fields withheld. Return the
    fields whose sensitive values it shows (for the log).
    """
    obj = event.get("object")
    if not isinstance(obj, dict) or event["subject_type"] not in SENSITIVE_FIELDS:
        return []
    _redacted, shown = redact_fields(obj, event["subject_type"], user, allowed=allowed)
    return shown


def redact_events(events: list[dict], user) -> list[tuple[str, str, list[str]]]:
    """Withhold sensitive parts of event representations in place; return what was shown.

    Return ``(subject_type, subject_uuid, keys)`` for each event that shows sensitive values
    to ``user`` (none when the user may not see them), ready for
    :func:`cases.security.access.log_access`.
    """
    allowed = can_view_sensitive(user)
    shown = []
    for event in events:
        redact_event(event, user, allowed=allowed)
        if allowed:
            keys = event_shows_sensitive(event["kind"], event["subject_type"], event["changes"])
            keys = sorted({*keys, *object_shows_sensitive(event)})
            if keys:
                shown.append((event["subject_type"], event["subject_uuid"], keys))
    return shown


def object_shows_sensitive(event: Mapping[str, Any]) -> list[str]:
    """Return the fields of an event's ``object`` that hold sensitive values (for the log)."""
    obj = event.get("object")
    if not isinstance(obj, Mapping):
        return []
    shown = []
    for field in SENSITIVE_FIELDS.get(event["subject_type"], ()):
        value = obj.get(field)
        if field == NAMES:
            if any(is_hidden_name(n) for n in value or ()):
                shown.append(NAMES)
        elif value not in (None, ""):
            shown.append(field)
    return shown
