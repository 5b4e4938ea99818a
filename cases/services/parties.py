"""Reference data: parties and sources."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices
from cases.models import Party, Source
from cases.services.base import Actor, save_new_version, versioned_change, writes
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

PARTY_FIELDS = ("name", "short_name", "kind", "country", "parent", "is_neutral")

SOURCE_FIELDS = (
    "title",
    "publisher",
    "url",
    "published_on",
    "language",
    "reliability",
    "notes",
)


@writes
def party_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    country: str = "",
    parent: Party | None = None,
    short_name: str = "",
    is_neutral: bool = False,
    sink,
) -> Party:
    """Create a party and append ``party.created``."""
    party = sink.new(
        Party,
        name=name,
        kind=kind,
        country=country,
        parent=parent,
        short_name=short_name,
        is_neutral=is_neutral,
    )
    sink.validate(party)
    sink.insert(party)
    changes = {"name": [None, party.name], "kind": [None, party.kind]}
    if is_neutral:
        changes["is_neutral"] = [None, True]
    sink.append(
        EventDraft(
            kind=EventKind.PARTY_CREATED,
            summary=vocabulary.party_created(party),
            subject=party,
            actor=actor,
            changes=changes,
        )
    )
    return party


@writes
def source_create(
    *,
    actor: Actor,
    title: str,
    publisher: str = "",
    url: str = "",
    published_on: dt.date | None = None,
    language: str = "",
    reliability: str = choices.Reliability.F,
    notes: str = "",
    sink,
) -> Source:
    """Create a source and append ``source.created``."""
    source = sink.new(
        Source,
        title=title,
        publisher=publisher,
        url=url,
        published_on=published_on,
        language=language,
        reliability=reliability,
        notes=notes,
    )
    sink.validate(source)
    sink.insert(source)
    sink.append(
        EventDraft(
            kind=EventKind.SOURCE_CREATED,
            summary=vocabulary.source_created(source),
            subject=source,
            actor=actor,
            changes={"title": [None, source.title]},
        )
    )
    return source


@writes
def party_update(
    *,
    actor: Actor,
    party: Party,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Party:
    """Change a party's details and append ``party.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    party = sink.lock(party)
    changes = versioned_change(
        party, expected_version=expected_version, fields=fields, allowed=PARTY_FIELDS
    )
    if not changes:
        return party
    ancestor = party.parent
    while ancestor is not None:
        # A cycle would make the hierarchy endless for every reader that walks it.
        if ancestor.pk == party.pk:
            raise ValidationError({"parent": _("A party cannot be its own parent or ancestor.")})
        ancestor = ancestor.parent
    save_new_version(sink, party)
    sink.append(
        EventDraft(
            kind=EventKind.PARTY_UPDATED,
            summary=vocabulary.party_updated(party, changes),
            subject=party,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return party


@writes
def source_update(
    *,
    actor: Actor,
    source: Source,
    expected_version: int | None = None,
    reason: str = "",
    sink,
    **fields: Any,
) -> Source:
    """Change a source's details and append ``source.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    source = sink.lock(source)
    changes = versioned_change(
        source, expected_version=expected_version, fields=fields, allowed=SOURCE_FIELDS
    )
    if not changes:
        return source
    save_new_version(sink, source)
    sink.append(
        EventDraft(
            kind=EventKind.SOURCE_UPDATED,
            summary=vocabulary.source_updated(source, changes),
            subject=source,
            actor=actor,
            changes=changes,
            reason=reason,
        )
    )
    return source
