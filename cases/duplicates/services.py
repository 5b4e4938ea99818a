"""Merge a duplicate person into another, and undo it: one service each, one event each."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.duplicates import moves
from cases.duplicates.models import PersonMerge
from cases.models import Case, Person
from cases.services.base import Actor, check_version, plain, reference, writes
from cases.services.people import NameSpec
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

#: The relation that holds a person's cases, named in the events' changes.
CASES = "cases.case.person"
#: Name variants: how many moved is not told (a reader may not see some of them).
NAMES = frozenset({"cases.personname.person"})


def _lock_pair(first: Person, second: Person) -> tuple[Person, Person]:
    """Return both persons re-read under row locks, taken in key order (no deadlock)."""
    locked = {
        p.pk: p
        for p in Person.objects.select_for_update()
        .filter(pk__in=[first.pk, second.pk])
        .order_by("pk")
    }
    return locked[first.pk], locked[second.pk]


def _case_refs(pks) -> list[dict]:
    cases = Case._base_manager.filter(pk__in=list(pks)).order_by("reference")
    return [reference(case) for case in cases]


def _row_refs(moved: dict, only_on: Person | None = None) -> list[dict[str, str]]:
    """Return ``{"type", "uuid"}`` of each row moved besides cases and names, so that a
    mirror of the feed can re-point them (cases are named under ``cases``; name variants are
    part of the person, some hidden). ``only_on``: only rows that point at him now."""
    refs = []
    relations = {moves.relation_key(r): r for r in moves.person_relations()}
    for key, keys in sorted(moved.items()):
        relation = relations.get(key)
        if key == CASES or key in NAMES or relation is None:
            continue
        model, field = moves.relation_target(relation)
        if not any(f.name == "uuid" for f in model._meta.fields):
            continue
        rows = model._base_manager.filter(pk__in=keys)
        if only_on is not None:
            rows = rows.filter(**{field.name: only_on})
        name = model._meta.model_name
        refs.extend({"type": name, "uuid": str(u)} for u in rows.values_list("uuid", flat=True))
    return sorted(refs, key=lambda ref: (ref["type"], ref["uuid"]))


def _counts(moved: dict) -> dict[str, int]:
    """Return rows moved per relation; name variants are left out (some may be hidden)."""
    return {key: len(keys) for key, keys in sorted(moved.items()) if key not in NAMES}


@writes
def person_merge(
    *,
    actor: Actor,
    duplicate: Person,
    survivor: Person,
    reason: str,
    expected_version: int | None = None,
    survivor_version: int | None = None,
    sink,
) -> PersonMerge:
    """Merge ``duplicate`` into ``survivor``; append ``person.merged`` on the survivor.

    Every row that points at the duplicate moves to the survivor (``cases.duplicates.moves``)
    and is recorded in the returned ``PersonMerge``; the duplicate becomes a tombstone
    (``merged_into``) that lists and searches leave out. Both persons' versions are checked
    (``expected_version`` is the duplicate's) and both move on. A unique rule the move would
    break is a ``MergeConflict`` naming it, and nothing is written.
    """
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why these are the same person.")})
    if duplicate.pk == survivor.pk:
        raise ValidationError({"into": _("A person cannot be merged into himself.")})
    # Lock the cases that move before the persons: the order every case service uses.
    list(Case._base_manager.select_for_update().filter(person_id=duplicate.pk).order_by("pk"))
    duplicate, survivor = _lock_pair(duplicate, survivor)
    check_version(duplicate, expected_version)
    check_version(survivor, survivor_version)
    for person, role in ((duplicate, "duplicate"), (survivor, "into")):
        if person.merged_into_id is not None:
            raise ValidationError(
                {
                    role: _("%(person)s was already merged into another person; use that one.")
                    % {"person": person}
                }
            )
        if person.archived_at is not None:
            raise ValidationError(
                {role: _("%(person)s is archived; unarchive him first.") % {"person": person}}
            )
    moves.check(duplicate, survivor)
    moved, dropped = moves.move_all(duplicate, survivor)
    now = sink.now()
    merge = PersonMerge(
        survivor=survivor,
        merged=duplicate,
        merged_at=now,
        merged_by=actor.user,
        merged_by_label=actor.display[:200],
        reason=reason,
        moved=moved,
        dropped_names=dropped,
    )
    merge.save()
    duplicate.merged_into, duplicate.merged_at = survivor, now
    duplicate.version += 1
    duplicate.save(update_fields=["merged_into", "merged_at", "version", "updated_at"])
    survivor.version += 1
    survivor.save(update_fields=["version", "updated_at"])
    sink.append(
        EventDraft(
            kind=EventKind.PERSON_MERGED,
            summary=vocabulary.person_merged(duplicate, survivor),
            subject=survivor,
            actor=actor,
            person=survivor,
            changes={
                "merged_from": [None, reference(duplicate)],
                "cases": [None, _case_refs(moved.get(CASES, []))],
                "rows": [None, _row_refs(moved)],
                "moved": [None, _counts(moved)],
            },
            reason=reason,
        )
    )
    return merge


def open_merge_of(person: Person) -> PersonMerge:
    """Return the merge that made ``person`` a tombstone, or refuse."""
    merge = (
        PersonMerge.objects.filter(merged=person, undone_at__isnull=True)
        .order_by("-merged_at", "-id")
        .first()
    )
    if person.merged_into_id is None or merge is None:
        raise ValidationError(
            {"person": _("%(person)s is not a merged duplicate.") % {"person": person}}
        )
    return merge


@writes
def person_unmerge(
    *,
    actor: Actor,
    person: Person,
    reason: str,
    expected_version: int | None = None,
    sink,
) -> PersonMerge:
    """Undo the merge that made ``person`` a tombstone; append ``person.unmerged`` on him.

    Exactly the rows the merge moved go back (those deleted or moved elsewhere since stay
    where they are), the name variants it removed are written back, and ``person`` is
    listed again. ``expected_version`` is the tombstone's.
    """
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the merge was wrong.")})
    merge = open_merge_of(person)
    survivor = merge.survivor
    list(
        Case._base_manager.select_for_update()
        .filter(pk__in=merge.moved.get(CASES, []))
        .order_by("pk")
    )
    person, survivor = _lock_pair(person, survivor)
    merge = PersonMerge.objects.select_for_update().get(pk=merge.pk)
    check_version(person, expected_version)
    if merge.undone_at is not None or person.merged_into_id != survivor.pk:
        raise ValidationError(
            {
                "person": _("%(person)s is not merged into %(survivor)s any more.")
                % {"person": person, "survivor": survivor}
            }
        )
    if survivor.merged_into_id is not None:
        # What the merge moved went on with the survivor; undone here, it would stay there.
        raise ValidationError(
            {
                "person": _(
                    "%(survivor)s was merged into another person since; undo that merge first, "
                    "then this one."
                )
                % {"survivor": survivor}
            }
        )
    # Other merges into the survivor that dropped a spelling he had: he keeps it.
    kept = {
        (values["value"], values["is_pseudonym"])
        for other in PersonMerge.objects.filter(survivor=survivor, undone_at__isnull=True)
        .exclude(pk=merge.pk)
        .values_list("dropped_names", flat=True)
        for values in other
    }
    # The cases that go back: those the merge moved that are still the survivor's.
    returning = Case._base_manager.filter(pk__in=merge.moved.get(CASES, []), person=survivor)
    returning = list(returning.values_list("pk", flat=True))
    names_before = _names_of(survivor)
    counts = moves.move_back(merge.moved, merge.dropped_names, survivor, person, keep=kept)
    rows = _row_refs(merge.moved, only_on=person)
    names_after = _names_of(survivor)
    merged_at = plain(person.merged_at)
    now = sink.now()
    merge.undone_at, merge.undone_by_label, merge.undo_reason = now, actor.display[:200], reason
    merge.version += 1
    merge.save(update_fields=["undone_at", "undone_by_label", "undo_reason", "version"])
    person.merged_into, person.merged_at = None, None
    person.version += 1
    person.save(update_fields=["merged_into", "merged_at", "version", "updated_at"])
    sink.append(
        EventDraft(
            kind=EventKind.PERSON_UNMERGED,
            summary=vocabulary.person_unmerged(person, survivor),
            subject=person,
            actor=actor,
            person=person,
            changes={
                "merged_into": [reference(survivor), None],
                "merged_at": [merged_at, None],
                "cases": [None, _case_refs(returning)],
                "rows": [None, rows],
                "moved": [None, {k: n for k, n in sorted(counts.items()) if k not in NAMES}],
            },
            reason=reason,
        )
    )
    if names_before != names_after:
        # The survivor changed too (his name variants went back): a version and an event of
        # his own, so that a mirror of the feed holds what his address serves.
        survivor.version += 1
        survivor.save(update_fields=["version", "updated_at"])
        changes = {"names": [names_before, names_after]}
        sink.append(
            EventDraft(
                kind=EventKind.PERSON_UPDATED,
                summary=vocabulary.person_updated(survivor, changes),
                subject=survivor,
                actor=actor,
                person=survivor,
                changes=changes,
                reason=reason,
            )
        )
    return merge


def _names_of(person: Person) -> list[dict]:
    return [NameSpec.of(row).as_dict() for row in person.names.order_by("id")]


def final_survivor(person: Person) -> Person:
    """Return the person a tombstone was merged into, following later merges of that one."""
    seen = {person.pk}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = Person.objects.get(pk=person.merged_into_id)
    return person
