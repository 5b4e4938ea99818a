"""A mirror built from the feed alone, as docs/feed.md says to build it, through a merge: a
write of identity and tracing that the concurrent mirror test (tests/feed/test_mirror.py)
does not make ("places, identity records, notifications ... are read empty alike").

docs/feed.md: "One write changes a row besides its subject: ``intention.superseded`` ...
Applied that way, the mirror equals what the endpoints serve the same reader."
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from cases.duplicates.services import person_merge, person_unmerge
from cases.feed import cursor as feed
from cases.identity import services as identity
from cases.models import Person
from tests import factories as f
from tests.feed.test_mirror import Mirror, _diff, _full_read
from tests.support import roles

pytestmark = pytest.mark.django_db

FEED = "/api/v1/events/"


@pytest.fixture(autouse=True)
def _see_own_transaction(monkeypatch):
    # The test's own transaction stays open; the PostgreSQL watermark would hide its events.
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


@pytest.fixture
def reader():
    client = APIClient()
    client.force_authenticate(roles.user_in_role(roles.CASE_OFFICER, "mirror15"))
    return client


class MergeMirror(Mirror):
    """The mirror of tests/feed/test_mirror.py, plus what docs/api.md tells a mirror to do
    with a merge: re-point the cases and the rows named at the event's subject, and drop or
    restore the merged person."""

    def apply(self, event: dict) -> None:
        super().apply(event)
        changes = event["changes"]
        if event["kind"] not in ("person.merged", "person.unmerged"):
            return
        for ref in changes["cases"][1]:
            _version, row = self._held("case", ref["uuid"])
            row["person"] = {"uuid": event["subject_uuid"]}
            self._write("case", ref["uuid"], row)
        for ref in changes["rows"][1]:
            _version, row = self._held(ref["type"], ref["uuid"])
            held = row["person"]
            row["person"] = (
                {**held, "uuid": event["subject_uuid"]}
                if isinstance(held, dict)
                else event["subject_uuid"]
            )
            self._write(ref["type"], ref["uuid"], row)
        if event["kind"] == "person.merged":
            self._held("person", event["subject_uuid"])  # the table exists
            self.db.execute(
                f"DELETE FROM {self._table('person')} WHERE uuid = ?",
                (changes["merged_from"][1]["uuid"],),
            )


def _mirror(client, path: Path) -> tuple[dict[str, dict[str, dict]], int]:
    """Follow the feed from its start into a mirror database at ``path``; read it back."""
    mirror = MergeMirror(path)
    mirror.open()
    try:
        while True:
            cursor = mirror.cursor()
            page = client.get(FEED, {"limit": 50, **({"after": cursor} if cursor else {})}).json()
            mirror.take_page(page["results"], page["next_cursor"])
            if not page["has_more"]:
                break
    finally:
        mirror.close()
    return MergeMirror.read(path)


def _problems(client, path: Path) -> list:
    rows, pending = _mirror(client, path)
    assert pending == 0
    return [(problem[0], *_changed(problem)) for problem in _diff(rows, _full_read(client))]


def _changed(problem) -> list:
    if len(problem) != 4:
        return [problem[1:]]
    _type, _key, ours, theirs = problem
    return [
        {
            k: (ours.get(k), theirs.get(k))
            for k in set(ours) | set(theirs)
            if ours.get(k) != theirs.get(k)
        }
    ]


def test_a_merge_and_its_undo_mirror_the_rows_they_moved(reader, tmp_path):
    """A merge re-points the duplicate's cases and identity rows at the survivor, its undo
    points them back; the mirror built from the events (and the rule docs/api.md gives for
    merges) equals what the API serves: the moved ICRC number's ``person`` too."""
    ukraine = f.party("Ukraine", country="UA")
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    f.case(reference="UA-2025-0001", person_obj=ri, detaining_party=ukraine)
    f.case(reference="UA-2025-0002", person_obj=lee, detaining_party=ukraine)
    identity.external_identifier_record(actor=f.SYSTEM, person=lee, scheme="icrc", value="CTA-2")
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=ri, reason="same man")
    assert _problems(reader, tmp_path / "merged.sqlite3") == [], "after the merge"
    person_unmerge(actor=f.SYSTEM, person=Person.objects.get(pk=lee.pk), reason="brothers")
    assert _problems(reader, tmp_path / "undone.sqlite3") == [], "after the undo"
