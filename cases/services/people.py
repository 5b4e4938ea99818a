"""Persons and their name variants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import Person, PersonName, Source
from cases.names import normalise_name
from cases.services.base import (
    Actor,
    created_changes,
    refuse_merged,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

PERSON_FIELDS = (
    "working_name",
    "sex",
    "birth_date",
    "birth_date_precision",
    "birth_place",
    "nationalities",
    "identity_confidence",
    "armed_force",
    "power_depends_on",
    "rank",
    "unit",
    "service_number",
    "is_deceased",
    "date_of_death",
    "family_links",
    "medical_notes",
    "family_name",
    "given_names",
    "father_first_name",
    "mother_maiden_name",
    "person_to_inform",
    "correspondence_address",
    "internment_number",
    "serving_under",
    "service_notes",
)


@dataclass
class NameSpec:
    """One name variant as a service takes it."""

    value: str
    script: str
    romanisation: str = ""
    is_pseudonym: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the variant as the fields of a ``PersonName`` row."""
        return {
            "value": self.value,
            "script": self.script,
            "romanisation": self.romanisation,
            "is_pseudonym": self.is_pseudonym,
        }

    @classmethod
    def of(cls, row: PersonName) -> NameSpec:
        """Return the variant a stored ``PersonName`` holds."""
        return cls(row.value, row.script, row.romanisation, row.is_pseudonym)


def set_names(sink, person: Person, names: Iterable[NameSpec]) -> list[Any] | None:
    """Replace the person's name variants; return ``[old, new]`` lists, or None if unchanged."""
    names = list(names)
    old = [NameSpec.of(row).as_dict() for row in sink.names_of(person)]
    new = [spec.as_dict() for spec in names]
    if old == new:
        return None
    values = [(spec.value, spec.is_pseudonym) for spec in names]
    if len(set(values)) != len(values):
        raise ValidationError({"names": _("The same name variant is listed twice.")})
    sink.delete_names(person)
    for spec in names:
        row = sink.new(
            PersonName, person=person, search_key=normalise_name(spec.value), **spec.as_dict()
        )
        sink.validate(row, exclude=["person", "search_key"])
        sink.insert(row)
    return [old, new]


@writes
def person_create(
    *,
    actor: Actor,
    working_name: str,
    names: Iterable[NameSpec] = (),
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Person:
    """Create a person with name variants and append ``person.created``."""
    # Read once: ``names`` may be a generator, and it is used twice below.
    names = list(names)
    refuse_unknown(fields, PERSON_FIELDS, "person")
    person = sink.new(Person, working_name=working_name, **fields)
    sink.validate(person)
    sink.insert(person)
    set_names(sink, person, names)
    changes = created_changes(person, ("working_name", *fields), empty=(None, "", [], False))
    names_list = [spec.as_dict() for spec in names]
    if names_list:
        changes["names"] = [[], names_list]
    sink.append(
        EventDraft(
            kind=EventKind.PERSON_CREATED,
            summary=vocabulary.person_created(person),
            subject=person,
            actor=actor,
            person=person,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return person


@writes
def person_update(
    *,
    actor: Actor,
    person: Person,
    expected_version: int | None = None,
    names: Iterable[NameSpec] | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Person:
    """Change a person's details or name variants and append ``person.updated``.

    The event goes on the person's most recent case, so it shows on the case timeline.
    Nothing is written, and no event appended, when nothing changed.
    """
    # Lock the case before the person, the order every case service uses (the admin saves a
    # case and its person in one transaction), so two writers cannot deadlock.
    case = sink.latest_case(person)
    person = sink.lock(person)
    refuse_merged(person)
    changes = versioned_change(
        person, expected_version=expected_version, fields=fields, allowed=PERSON_FIELDS
    )
    if names is not None:
        name_change = set_names(sink, person, names)
        if name_change:
            changes["names"] = name_change
    if not changes:
        return person
    save_new_version(sink, person)
    sink.append(
        EventDraft(
            kind=EventKind.PERSON_UPDATED,
            summary=vocabulary.person_updated(person, changes),
            subject=person,
            actor=actor,
            case=case,
            person=person,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return person
