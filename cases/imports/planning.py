"""Decide what each row of a list would do, without writing anything: the dry run's report.

Each data row gets one outcome:

* ``create``: no person holds the row's ICRC number; a new person would be created. The
  likely duplicates that ``cases.duplicates.detection`` finds are offered with their reasons.
* ``match``: a person holds the row's ICRC number (``ExternalIdentifier``, unique per
  scheme); the row's values that differ would update him (``changes``), nothing when none
  do. A match that renames him is offered its likely duplicates too.
* ``conflict``: the row cannot be applied without an officer's decision: its ICRC number is
  on an earlier line too, it repeats an earlier line's name and birth date without a
  number, or its number belongs to a person born on another known day (or merged).
* ``error``: a value cannot be read (a bad date, an unknown country code, no name).

Blank lines are counted and listed, never reported as errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import translation

from cases.choices import DatePrecision
from cases.duplicates.detection import Candidate, find_duplicates
from cases.identity.models import ExternalIdentifier, IdentifierScheme
from cases.imports import parsing
from cases.models import Person
from cases.names import normalise_name

CREATE, MATCH, CONFLICT, ERROR = "create", "match", "conflict", "error"
OUTCOMES = (CREATE, MATCH, CONFLICT, ERROR)
#: What a commit did with a row.
COMMITTED = ("created", "updated", "unchanged", "skipped")
#: The person fields a row may set (names and the ICRC number are written apart).
PERSON_VALUES = (
    "working_name",
    "family_name",
    "given_names",
    "sex",
    "birth_date",
    "birth_date_precision",
    "birth_place",
    "rank",
    "unit",
    "service_number",
    "nationalities",
)
#: Why a row that would create a person without a working name is an error.
NO_WORKING_NAME = (
    "No working name: give the new person a working name (a pseudonym) in a working_name "
    "column; the name columns hold true names and are never shown as one."
)
_CHUNK = 500
_PRECISION_RANK = {
    DatePrecision.EXACT: 0,
    DatePrecision.DAY: 0,
    DatePrecision.MONTH: 1,
    DatePrecision.YEAR: 2,
    DatePrecision.APPROXIMATE: 3,
}


@dataclass
class Planned:
    """One row's outcome, with what the commit needs to apply it."""

    row: parsing.Row
    outcome: str
    message: str
    person: Person | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    new_names: list[tuple[str, str]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)

    def entry(self) -> dict[str, Any]:
        """Return the row as the report lists it (plain JSON)."""
        return {
            "line": self.row.line,
            "outcome": self.outcome,
            "message": self.message,
            "working_name": str(self.row.values.get("working_name", "")),
            "values": {k: _plain(v) for k, v in self.row.values.items()},
            "person": _person_ref(self.person),
            # The matched person's version: the commit refuses the row if he moved since.
            "version": self.person.version if self.outcome == MATCH else None,
            "reasons": self.reasons,
            "changes": {k: [_plain(a), _plain(b)] for k, (a, b) in self.changes.items()},
            "duplicates": self.duplicates,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return str(value)  # a choice's enum member as its plain value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "code") and not isinstance(value, str):  # a django-countries Country
        return value.code
    return value


def _person_ref(person: Person | None) -> dict[str, str] | None:
    if person is None:
        return None
    return {"uuid": str(person.uuid), "working_name": person.working_name}


def _holders(numbers: Iterable[str]) -> dict[str, Person]:
    """Return the persons holding each ICRC number, with their names, in a few queries."""
    numbers = sorted(set(numbers))
    held: dict[str, int] = {}
    for start in range(0, len(numbers), _CHUNK):
        held.update(
            ExternalIdentifier.objects.filter(
                scheme=IdentifierScheme.ICRC, value__in=numbers[start : start + _CHUNK]
            ).values_list("value", "person_id")
        )
    ids = sorted(set(held.values()))
    persons: dict[int, Person] = {}
    for start in range(0, len(ids), _CHUNK):
        for person in Person.objects.filter(pk__in=ids[start : start + _CHUNK]).prefetch_related(
            "names"
        ):
            persons[person.pk] = person
    return {number: persons[pk] for number, pk in held.items() if pk in persons}


def _current(person: Person, name: str) -> Any:
    value = getattr(person, name)
    if name == "nationalities":
        return [getattr(c, "code", c) for c in value]
    return value


def _match(planned: Planned, person: Person) -> None:
    """Fill in a match: the changes the row brings to ``person``, or a conflict."""
    values = planned.row.values
    number = values["icrc_number"]
    planned.person = person
    planned.reasons = [
        {"code": "icrc_number", "weight": 1.0, "detail": f"Same ICRC number: {number}"}
    ]
    if person.merged_into_id is not None or person.archived_at is not None:
        planned.outcome = CONFLICT
        planned.message = (
            f"ICRC number {number} belongs to {person.working_name}, who is "
            f"{'merged into another person' if person.merged_into_id else 'archived'}; "
            "correct the list or the person first."
        )
        return
    if "birth_date" in values and person.birth_date is not None:
        rank = max(
            _PRECISION_RANK[values["birth_date_precision"]],
            _PRECISION_RANK.get(person.birth_date_precision, 3),
        )
        if rank == 0 and values["birth_date"] != person.birth_date:
            planned.outcome = CONFLICT
            planned.message = (
                f"ICRC number {number} belongs to {person.working_name}, born "
                f"{person.birth_date.isoformat()}; this row says "
                f"{values['birth_date'].isoformat()}. Check which is right."
            )
            return
    changes: dict[str, list[Any]] = {}
    for name in PERSON_VALUES:
        if name not in values or name == "birth_date_precision":
            continue
        new, old = values[name], _current(person, name)
        if name == "birth_date":
            finer = _PRECISION_RANK[values["birth_date_precision"]] < _PRECISION_RANK.get(
                person.birth_date_precision, 3
            )
            if old is None or finer:
                changes["birth_date"] = [old, new]
                if values["birth_date_precision"] != person.birth_date_precision:
                    changes["birth_date_precision"] = [
                        person.birth_date_precision,
                        values["birth_date_precision"],
                    ]
            continue
        if name == "nationalities":
            if set(new) - set(old):
                changes[name] = [old, [*old, *[c for c in new if c not in old]]]
            continue
        if new != old:
            changes[name] = [old, new]
    known = {n.value for n in person.names.all()}
    planned.new_names = [
        (value, script) for value, script in parsing.name_variants(values) if value not in known
    ]
    if planned.new_names:
        changes["names"] = [None, [value for value, _script in planned.new_names]]
    planned.changes = changes
    planned.outcome = MATCH
    if changes:
        what = ", ".join(k.replace("_", " ") for k in changes if k != "birth_date_precision")
        planned.message = f"Matches {person.working_name} by ICRC number {number}; updates {what}."
    else:
        planned.message = f"Matches {person.working_name} by ICRC number {number}; no change."


def candidate_of(row: parsing.Row, exclude_pk: int | None = None) -> Candidate:
    """Return the duplicate check's candidate for a row."""
    values = row.values
    return Candidate(
        working_name=str(values.get("working_name", "")),
        names=[str(values[f]) for f in parsing.NAME_FIELDS if values.get(f)],
        birth_date=values.get("birth_date"),
        birth_date_precision=values.get("birth_date_precision", DatePrecision.DAY),
        unit=str(values.get("unit", "")),
        service_number=str(values.get("service_number", "")),
        exclude_pk=exclude_pk,
    )


def _duplicates(row: parsing.Row, user, exclude_pk: int | None = None) -> list[dict[str, Any]]:
    # The report is stored and read by everyone, so its reasons are worded in English
    # whoever runs the import (as the timeline's summaries are; docs/translating.md).
    with translation.override("en"):
        matches = find_duplicates(candidate_of(row, exclude_pk), user=user)
    return [
        {
            "person": _person_ref(match.person),
            "person_pk": match.person.pk,
            "score": match.score,
            "reasons": [r.as_dict() for r in match.reasons],
        }
        for match in matches
    ]


#: A likely duplicate scoring this much (the same name and birth day) makes a created row
#: a conflict.
STRONG = 0.85


def _imported(person_ids: set[int]) -> set[int]:
    """Return which of these persons an earlier committed import created."""
    from cases.choices import EventKind
    from cases.imports.models import ImportRun, ImportStatus
    from cases.models import TimelineEvent

    if not person_ids:
        return set()
    return set(
        TimelineEvent.objects.filter(
            person_id__in=person_ids,
            kind=EventKind.PERSON_CREATED,
            source_id__in=ImportRun.objects.filter(status=ImportStatus.COMMITTED).values(
                "source_id"
            ),
        ).values_list("person_id", flat=True)
    )


def strong_duplicates(duplicates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the offered duplicates that stop a create: a high score, or a person an
    earlier import created (the same list again, in another order or saved anew)."""
    return [d for d in duplicates if d["score"] >= STRONG or d.get("imported")]


def hold_creates(planned_rows: list[Planned], offered: dict[int, list], confirm) -> None:
    """Turn each create with a strong likely duplicate into a conflict, unless its line is
    in ``confirm`` (the officer checked it is another person)."""
    for planned in planned_rows:
        if planned.outcome != CREATE or planned.row.line in confirm:
            continue
        strong = strong_duplicates(offered.get(planned.row.line, []))
        if strong:
            first = strong[0]
            why = "an earlier import created" if first.get("imported") else "who scores"
            planned.outcome = CONFLICT
            planned.message = (
                f"Likely the same person as {first['person']['working_name']} ({why} "
                f"{first['score']:.2f}): leave the row out, or confirm line "
                f"{planned.row.line} as a new person."
            )


def plan(rows: list[parsing.Row], *, user=None, duplicates: bool = True) -> list[Planned]:
    """Return the outcome of every non-blank row; ``duplicates`` runs the duplicate check.

    ``user`` is the reader the duplicate check answers for (its need-to-know rules); None
    is the tracker itself.
    """
    holders = _holders(
        str(r.values["icrc_number"]) for r in rows if not r.errors and r.values.get("icrc_number")
    )
    seen_numbers: dict[str, int] = {}
    seen_people: dict[tuple[str, Any], int] = {}
    planned_rows = []
    for row in rows:
        if row.blank:
            continue
        if row.errors:
            planned_rows.append(Planned(row, ERROR, "; ".join(row.errors)))
            continue
        values = row.values
        number = values.get("icrc_number")
        person_key = (normalise_name(str(values.get("working_name", ""))), values.get("birth_date"))
        planned = Planned(row, CREATE, "")
        if number and number in seen_numbers:
            planned.outcome = CONFLICT
            planned.message = (
                f"ICRC number {number} is on line {seen_numbers[number]} too: keep one of them."
            )
        elif number and number in holders:
            _match(planned, holders[number])
            if duplicates and planned.outcome == MATCH and "working_name" in planned.changes:
                planned.duplicates = _duplicates(row, user, exclude_pk=planned.person.pk)
        elif not values.get("working_name"):
            planned.outcome = ERROR
            planned.message = NO_WORKING_NAME
        elif not number and person_key[1] is not None and person_key in seen_people:
            planned.outcome = CONFLICT
            planned.message = (
                f"Same name and birth date as line {seen_people[person_key]}, and no ICRC "
                "number: likely the same person listed twice."
            )
        else:
            if duplicates:
                planned.duplicates = _duplicates(row, user)
            found = len(planned.duplicates)
            planned.message = f"Creates {values['working_name']}" + (
                f"; {found} likely duplicate{'s' if found != 1 else ''} to check." if found else "."
            )
        if number:
            seen_numbers.setdefault(number, row.line)
        if person_key[0] and person_key[1] is not None:
            seen_people.setdefault(person_key, row.line)
        planned_rows.append(planned)
    if duplicates:
        offered = [d for p in planned_rows if p.outcome == CREATE for d in p.duplicates]
        imported = _imported({d["person_pk"] for d in offered})
        for duplicate in offered:
            duplicate["imported"] = duplicate.pop("person_pk") in imported
        hold_creates(planned_rows, {p.row.line: p.duplicates for p in planned_rows}, ())
    for planned in planned_rows:
        for duplicate in planned.duplicates:
            duplicate.pop("person_pk", None)
    return planned_rows


def check_versions(planned_rows: list[Planned], versions: dict[int, int | None]) -> None:
    """Turn each match whose person moved since the dry run (``versions``, by line) into a
    conflict: the dry run's report no longer says what the commit would write."""
    for planned in planned_rows:
        if planned.outcome != MATCH or versions.get(planned.row.line) == planned.person.version:
            continue
        planned.outcome = CONFLICT
        planned.changes = {}
        planned.new_names = []
        planned.message = (
            f"{planned.person.working_name} changed since the dry run; run the dry run again."
        )


def counts(planned_rows: list[Planned], blank_lines: list[int]) -> dict[str, int]:
    """Return how many rows have each outcome, blank lines and changes apart."""
    result = dict.fromkeys(OUTCOMES, 0)
    for planned in planned_rows:
        result[planned.outcome] += 1
    result["unchanged"] = sum(1 for p in planned_rows if p.outcome == MATCH and not p.changes)
    result["blank"] = len(blank_lines)
    result["rows"] = len(planned_rows) + len(blank_lines)
    return result
