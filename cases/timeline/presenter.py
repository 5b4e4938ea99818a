"""One presentation of timeline events for the admin, the analysts' pages and exports.

:func:`present_events` prepares each event once: its changes as readable rows with stored
choice values shown by their labels, sensitive values withheld from a reader without the
permission (``cases.security.sensitive``), and, for a reader with it, the
``(subject type, uuid, keys)`` of what was shown, for the access log. Each surface only
chooses its words and template. :func:`choice_labels` is the one mapping from a stored choice
value to its label, used by the timeline and by exports alike.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, gettext_lazy
from django_countries import countries
from django_countries.fields import CountryField

from cases import choices
from cases.security import sensitive

#: How an absent or empty value reads.
NOTHING = "—"

#: What stands in for a sensitive value withheld from the reader.
WITHHELD = "withheld"

#: How a date of each precision reads: a name of a format of the reader's language
#: (``django.utils.formats``), so "January 2025" is "січень 2025" and "2025년 1월" too.
_PRECISION_FORMATS = {
    choices.DatePrecision.DAY: "DATE_FORMAT",
    choices.DatePrecision.MONTH: "YEAR_MONTH_FORMAT",
    choices.DatePrecision.YEAR: "Y",
}


def choice_labels(model_name: str, field_name: str) -> dict[str, str]:
    """Return ``{stored value: label}`` of the choice field ``field_name`` of a cases model.

    A country field maps ISO codes to country names. A field without choices (a plain or
    reverse relation, a person's ``names``), or one the model lacks, gives ``{}``.
    """
    # Country names are in the reader's language: one mapping per language.
    return _choice_labels(model_name, field_name, translation.get_language())


@cache
def _choice_labels(model_name: str, field_name: str, language: str | None) -> dict[str, str]:
    try:
        field = apps.get_model("cases", model_name)._meta.get_field(field_name)
    except (LookupError, FieldDoesNotExist):
        return {}
    if isinstance(field, CountryField):
        return dict(countries)
    return {str(value): str(label) for value, label in getattr(field, "flatchoices", ()) or ()}


#: Names of change keys that are not fields of the subject, the case or the person.
_CHANGE_KEY_LABELS = {
    "names": gettext_lazy("name variants"),
    "superseded": gettext_lazy("superseded statement"),
}


def field_label(model_name: str, field_name: str) -> str:
    """Return the name of the field ``field_name`` of a cases model in the reader's language.

    A change key that is not a field (``names``) reads as itself, underscores as spaces.
    """
    return _field_label(model_name, field_name, translation.get_language())


@cache
def _field_label(model_name: str, field_name: str, language: str | None) -> str:
    if field_name in _CHANGE_KEY_LABELS:
        return str(_CHANGE_KEY_LABELS[field_name])
    # An event's changes may name a field of the case or the person beside its subject's.
    for model in (model_name, "case", "person"):
        try:
            field = apps.get_model("cases", model)._meta.get_field(field_name)
        except (LookupError, FieldDoesNotExist):
            continue
        verbose_name = getattr(field, "verbose_name", None)
        if verbose_name:
            return str(verbose_name)
    return str(field_name).replace("_", " ")


#: Keys of an event's changes that are not fields of its subject, and the field whose
#: choices they hold: a case's move names its destination and the statement that opened
#: the consent gate (``cases.consent``) by their codes.
_BORROWED_CHOICES = {
    "destination_country": ("statedintention", "destination_country"),
    "consent_level": ("statedintention", "verification"),
    "consent_option": ("statedintention", "option"),
}


def choice_label(model_name: str, field_name: str, value: Any) -> Any:
    """Return the label of a stored choice ``value``, or the value when it has none."""
    if not isinstance(value, str):
        return value
    labels = choice_labels(model_name, field_name)
    if not labels and field_name in _BORROWED_CHOICES:
        labels = choice_labels(*_BORROWED_CHOICES[field_name])
    return labels.get(value, value)


def readable(value: Any) -> str:
    """Return a value of a timeline change as text a person can read."""
    if value is None or value == "" or value == []:
        return NOTHING
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if isinstance(value, list):
        if all(isinstance(item, dict) and "value" in item for item in value):
            return ", ".join(
                f"{item['value']} ({item.get('script', '')})".replace(" ()", "") for item in value
            )
        return ", ".join(readable(item) for item in value)
    if isinstance(value, dict):
        if set(value) == {"uuid", "label"}:
            return str(value["label"])  # A reference to a row: its label reads, its id links.
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and _ISO_DATE.match(value):
        # A date or moment is stored as ISO text; it reads as the reader's language writes it.
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        if len(value) == len("2025-01-31"):
            return formats.date_format(moment.date(), "DATE_FORMAT")
        return date_at_precision(moment, None)
    return str(value)


#: A change's value stored as an ISO date ("2025-03-01") or moment ("2025-03-01T09:30:00Z").
_ISO_DATE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$"
)


def date_at_precision(value, precision: str | None) -> str:
    """Return a date (or datetime) as the reader's language writes it, to its ``precision``.

    A month-only date reads "January 2025", a year-only one "2025", an approximate one
    "about 2025", a day "15 Jan 2025" and an exact moment adds the time (UTC, as stored):
    never more than is known. The admin, the analysts' pages and the timeline all use this.
    """
    if value in (None, ""):
        return ""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        if precision in (None, "", choices.DatePrecision.EXACT):
            return (
                f"{formats.date_format(value, 'DATE_FORMAT')} {formats.time_format(value, 'H:i')}"
            )
    if precision == choices.DatePrecision.APPROXIMATE:
        return gettext("about %(year)s") % {"year": formats.date_format(value, "Y")}
    return formats.date_format(value, _PRECISION_FORMATS.get(precision, "DATE_FORMAT"))


def occurred_display(moment, precision: str) -> str:
    """Return when something happened, showing no more than is known."""
    return date_at_precision(moment, precision)


def change_rows(subject_type: str, changes: dict, withheld) -> list[dict[str, Any]]:
    """Return an event's ``{field: [old, new]}`` as rows of readable text.

    A field in ``withheld`` reads :data:`WITHHELD` (its old value too, when there was one);
    choice values read as their labels.
    """
    rows = []
    for name, pair in changes.items():
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, pair)
        hidden = name in withheld
        if hidden:
            old, new = (WITHHELD if old else None), WITHHELD
        else:
            old, new = (choice_label(subject_type, name, v) for v in (old, new))
        rows.append(
            {
                "field": field_label(subject_type, name),
                "old": readable(old),
                "new": readable(new),
                "withheld": hidden,
            }
        )
    return rows


def redact(event, *, show_sensitive: bool) -> dict[str, Any]:
    """Return the event's ``summary`` and ``changes`` as the reader may see them.

    ``redacted`` lists the keys withheld (none when ``show_sensitive``).
    """
    data = {
        "kind": event.kind,
        "subject_type": event.subject_type,
        "changes": event.changes,
        "summary": event.summary,
    }
    sensitive.redact_event(data, None, allowed=show_sensitive)
    return data


def present_events(
    events, *, show_sensitive: bool, shown: list | None = None
) -> list[dict[str, Any]]:
    """Return ``events``, in their order, prepared for a timeline.

    Each entry holds the ``event`` itself and what a surface shows of it: ``seq``, ``kind``
    and ``kind_label``, the ``summary`` and ``changes`` (redacted unless ``show_sensitive``),
    ``actor``, ``channel``, ``reason``, ``source``, ``occurred`` (as precise as known),
    ``occurred_precision`` and ``recorded_at``. With ``show_sensitive``,
    ``(subject_type, subject_uuid, keys)`` of each event that shows sensitive values is
    appended to ``shown``, for the access log.
    """
    entries = []
    for event in events:
        data = redact(event, show_sensitive=show_sensitive)
        if show_sensitive and shown is not None:
            keys = sensitive.event_shows_sensitive(event.kind, event.subject_type, event.changes)
            if keys:
                shown.append((event.subject_type, event.subject_uuid, keys))
        entries.append(
            {
                "event": event,
                "seq": event.case_seq,
                "kind": event.kind,
                # Labels from the per-language mapping: get_FOO_display() hashes every
                # label of the field on each call, a hundred kinds for each event.
                "kind_label": choice_label("timelineevent", "kind", event.kind),
                "summary": data["summary"],
                "changes": change_rows(event.subject_type, data["changes"], data["redacted"]),
                "actor": event.actor_label or (event.actor and event.actor.get_username()) or "",
                "channel": choice_label("timelineevent", "channel", event.channel),
                "reason": event.reason,
                "source": event.source,
                "occurred": occurred_display(event.occurred_at, event.occurred_precision),
                "occurred_precision": choice_label(
                    "timelineevent", "occurred_precision", event.occurred_precision
                ),
                "recorded_at": event.recorded_at,
            }
        )
    return entries


def merge_shown(shown) -> dict[tuple[str, Any], list[str]]:
    """Return ``{(subject type, uuid): keys}`` from the ``shown`` triples of present_events."""
    reads: dict[tuple[str, Any], set[str]] = {}
    for subject_type, subject_uuid, keys in shown:
        reads.setdefault((subject_type, subject_uuid), set()).update(keys)
    return {key: sorted(keys) for key, keys in reads.items()}
