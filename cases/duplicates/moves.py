"""Every row that points at a person, moved to another person and back, generically.

A merge moves what the duplicate owns to the survivor by walking ``Person``'s reverse
relations, so a model added later (identity documents, external identifiers, nationality
claims) moves without a change here. A relation is either

* **moved** by the generic mover: its foreign key is set to the survivor, and the moved
  rows' keys are recorded so that an undo moves back exactly those;
* **moved by a handler** (``HANDLERS``): name variants, where a value both persons have is
  kept once (the duplicate's row is removed and recorded, and written back on undo); or
* **kept** (``KEPT``), with the reason.

A unique constraint that a moved row would break (an external identifier unique per person
and scheme, a one-to-one row both persons have) is a :class:`MergeConflict` naming each
clash, before anything is written; the officer resolves it on one of the persons first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from cases.models import Person, PersonName
from cases.security import sensitive


class MergeConflict(ValidationError):
    """Rows of both persons would break a unique rule if moved together; nothing was written."""


def relation_key(relation) -> str:
    """Return ``app_label.model.field`` for a reverse relation of ``Person``."""
    model, field = relation_target(relation)
    return f"{model._meta.label_lower}.{field.name}"


def relation_target(relation) -> tuple[type[models.Model], models.Field]:
    """Return the model whose rows point at a person, and the pointing field."""
    if isinstance(relation, models.ManyToManyRel):
        through = relation.through
        field = next(
            f
            for f in through._meta.fields
            if isinstance(f, models.ForeignKey) and f.related_model is Person
        )
        return through, field
    return relation.related_model, relation.field


def person_relations() -> list[Any]:
    """Return every reverse relation of ``Person`` (hidden ones too), in a stable order."""
    relations = [
        field
        for field in Person._meta.get_fields(include_hidden=True)
        if field.auto_created and not field.concrete and field.related_model is not None
    ]
    return sorted(relations, key=relation_key)


#: Relations a merge leaves where they are, and why.
KEPT: dict[str, str] = {
    "cases.timelineevent.person": "events are append-only: each stays with the person it was "
    "recorded about (the tombstone), and the merge's own event names both",
    "cases.person.merged_into": "the tombstone's pointer to its survivor, set by the merge",
    "cases.personmerge.survivor": "merge records name the persons they joined",
    "cases.personmerge.merged": "merge records name the persons they joined",
}


@dataclass
class Moved:
    """What one relation's move did: the keys moved and, for names, the values removed."""

    keys: list[Any]
    dropped: list[dict[str, Any]]


def _unique_sets(model: type[models.Model], field_name: str) -> list[tuple[tuple[str, ...], Any]]:
    """Return the unique field sets of ``model`` that hold ``field_name``, with conditions."""
    sets: list[tuple[tuple[str, ...], Any]] = []
    opts = model._meta
    for fields in opts.unique_together:
        sets.append((tuple(fields), None))
    for constraint in opts.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            sets.append((tuple(constraint.fields), constraint.condition))
    field = opts.get_field(field_name)
    if field.unique:
        sets.append(((field_name,), None))
    return [(fields, condition) for fields, condition in sets if field_name in fields]


def conflicts(relation, duplicate: Person, survivor: Person) -> list[str]:
    """Return a sentence per unique rule that moving ``relation``'s rows would break.

    Values of sensitive fields are not repeated in the sentence, only their names.
    """
    model, field = relation_target(relation)
    hidden = set(sensitive.SENSITIVE_FIELDS.get(model._meta.model_name, ()))
    noun = model._meta.verbose_name
    found = []
    for fields, condition in _unique_sets(model, field.name):
        others = [name for name in fields if name != field.name]
        rows = model._base_manager.filter(**{field.name: duplicate})
        theirs = model._base_manager.filter(**{field.name: survivor})
        if condition is not None:
            rows, theirs = rows.filter(condition), theirs.filter(condition)
        if not others:
            if rows.exists() and theirs.exists():
                found.append(
                    _(
                        "Both persons have a %(record)s, and a person may have only one. Remove "
                        "or change one of them, then merge again."
                    )
                    % {"record": noun}
                )
            continue
        for values in rows.values(*others).distinct():
            if theirs.filter(**values).exists():
                what = ", ".join(
                    name if name in hidden else f"{name} {values[name]!s}" for name in others
                )
                found.append(
                    _(
                        "Both persons have a %(record)s with the same %(values)s. Change or "
                        "remove one of them, then merge again."
                    )
                    % {"record": noun, "values": what}
                )
    return found


def _move_generic(relation, duplicate: Person, survivor: Person) -> Moved:
    model, field = relation_target(relation)
    rows = model._base_manager.filter(**{field.name: duplicate})
    keys = sorted(rows.values_list("pk", flat=True))
    if keys:
        model._base_manager.filter(pk__in=keys).update(**{field.name: survivor})
    return Moved(keys=keys, dropped=[])


def _back_generic(relation, keys: list[Any], survivor: Person, restored: Person) -> int:
    model, field = relation_target(relation)
    return (
        model._base_manager.filter(pk__in=keys, **{field.name: survivor}).update(
            **{field.name: restored}
        )
        if keys
        else 0
    )


NAME_FIELDS = ("value", "script", "romanisation", "is_pseudonym")


def _move_names(relation, duplicate: Person, survivor: Person) -> Moved:
    """Move name variants; one the survivor already has (the same value, both true names or
    both pseudonyms) is removed and recorded. A pseudonym equal to a true name of his is
    moved, so that what a reader without sensitive access sees of the merge does not depend
    on the names he may not read."""
    have = set(survivor.names.values_list("value", "is_pseudonym"))
    moved, move_ids, dropped, drop_ids = [], [], [], []
    for row in duplicate.names.order_by("id"):
        if (row.value, row.is_pseudonym) in have:
            dropped.append({name: getattr(row, name) for name in NAME_FIELDS})
            drop_ids.append(row.pk)
        else:
            moved.append([row.value, row.is_pseudonym])
            move_ids.append(row.pk)
    PersonName.objects.filter(pk__in=drop_ids).delete()
    PersonName.objects.filter(pk__in=move_ids).update(person=survivor)
    # By value and kind: renaming the survivor writes its variants anew, with new keys.
    return Moved(keys=moved, dropped=dropped)


def _name_key(key: Any) -> tuple[str, bool | None]:
    """Return ``(value, is_pseudonym)`` of a recorded name key; merges recorded before a
    spelling could be both a true name and a pseudonym recorded the value alone (None)."""
    if isinstance(key, str):
        return key, None
    value, is_pseudonym = key
    return value, is_pseudonym


def _back_names(
    relation, keys: list[Any], survivor: Person, restored: Person, keep=frozenset()
) -> int:
    """Move the name variants back; one ``keep`` holds (its value and kind) is copied instead:
    another merge into the survivor dropped that spelling as one he had, so he keeps it."""
    count = 0
    for key in keys:
        value, is_pseudonym = _name_key(key)
        rows = survivor.names.filter(value=value)
        if is_pseudonym is not None:
            rows = rows.filter(is_pseudonym=is_pseudonym)
        for row in rows:
            if (row.value, row.is_pseudonym) in keep:
                values = {name: getattr(row, name) for name in NAME_FIELDS}
                PersonName(person=restored, **values).save()
            else:
                PersonName.objects.filter(pk=row.pk).update(person=restored)
            count += 1
    return count


#: Relations moved by their own handler: ``(move, move back)``.
HANDLERS: dict[str, tuple[Callable[..., Moved], Callable[..., int]]] = {
    "cases.personname.person": (_move_names, _back_names),
}
#: Relations whose unique rules the handler resolves itself.
RESOLVED_BY_HANDLER = frozenset(HANDLERS)


def plan() -> dict[str, str]:
    """Return how a merge treats each reverse relation of ``Person``: moved, handled, kept."""
    found = {}
    for relation in person_relations():
        key = relation_key(relation)
        if key in KEPT:
            found[key] = "kept"
        elif key in HANDLERS:
            found[key] = "handler"
        else:
            found[key] = "moved"
    return found


def check(duplicate: Person, survivor: Person) -> None:
    """Raise :class:`MergeConflict` naming every unique rule a merge would break."""
    problems = []
    for relation in person_relations():
        key = relation_key(relation)
        if key in KEPT or key in RESOLVED_BY_HANDLER:
            continue
        problems.extend(conflicts(relation, duplicate, survivor))
    if problems:
        raise MergeConflict({"merge": problems})


def move_all(duplicate: Person, survivor: Person) -> tuple[dict[str, list[Any]], list[dict]]:
    """Move every row of ``duplicate`` to ``survivor``; return what moved and names dropped."""
    moved: dict[str, list[Any]] = {}
    dropped: list[dict] = []
    for relation in person_relations():
        key = relation_key(relation)
        if key in KEPT:
            continue
        move = HANDLERS[key][0] if key in HANDLERS else _move_generic
        result = move(relation, duplicate, survivor)
        if result.keys:
            moved[key] = result.keys
        dropped.extend(result.dropped)
    return moved, dropped


def move_back(
    moved: dict[str, list[Any]],
    dropped: list[dict],
    survivor: Person,
    restored: Person,
    keep: frozenset[str] | set[str] = frozenset(),
) -> dict[str, int]:
    """Move the recorded rows back from ``survivor`` to ``restored``; return counts per relation.

    A row deleted since, or moved elsewhere since, stays as it is. A name variant whose value
    ``keep`` holds is copied back rather than moved: the survivor keeps it.
    """
    counts = {}
    relations = {relation_key(r): r for r in person_relations()}
    for key, keys in moved.items():
        relation = relations.get(key)
        if relation is None:
            continue
        if key in HANDLERS:
            counts[key] = HANDLERS[key][1](relation, keys, survivor, restored, keep=keep)
        else:
            counts[key] = _back_generic(relation, keys, survivor, restored)
    for values in dropped:
        same = restored.names.filter(value=values["value"], is_pseudonym=values["is_pseudonym"])
        if not same.exists():
            PersonName(person=restored, **values).save()
    return counts
