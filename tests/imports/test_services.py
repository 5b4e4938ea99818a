"""The dry run writes nothing; the commit writes each change once, with its event, or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cases.identity import services as identity
from cases.identity.models import ExternalIdentifier
from cases.imports import services
from cases.imports.models import ImportStatus
from cases.models import Person, Source, TimelineEvent
from cases.services import Actor, NameSpec
from tests import factories as f
from tests.imports.conftest import case_data_counts, csv_bytes
from tests.support.roles import ANALYST, user_in_role

pytestmark = pytest.mark.django_db

HEADER = ["icrc_number", "working_name", "name_hangul", "birth_date", "rank", "unit"]


@pytest.fixture
def ri():
    """Ri, known to the ICRC as CTA-1, born on a known day."""
    import datetime as dt

    person = f.person("Ri", names=[NameSpec("리", "hangul")], birth_date=dt.date(1999, 3, 12))
    identity.external_identifier_record(actor=f.SYSTEM, person=person, scheme="icrc", value="CTA-1")
    return person


def _list(*rows) -> bytes:
    return csv_bytes([HEADER, *rows])


def _dry_run(officer, content: bytes, name: str = "exchange.csv"):
    run = services.import_upload(user=officer, file_name=name, content=content)
    return services.import_dry_run(user=officer, run=run)


def _outcomes(run) -> dict[int, str]:
    return {row["line"]: row["outcome"] for row in run.report["rows"]}


def test_the_dry_run_reports_each_row_and_writes_nothing(officer, ri):
    """Create, match (with its reason and changes), conflict and error, each with its line
    and message; no row of any model is added or changed."""
    before = case_data_counts()
    run = _dry_run(
        officer,
        _list(
            ["CTA-2", "Kim Chol", "김철", "2001", "Private", "94th"],
            ["CTA-1", "Ri", "", "1999-03-12", "Sergeant", ""],
            [],
            ["CTA-2", "Kim Chol", "김철", "2001", "Private", "94th"],
            ["CTA-3", "Pak", "", "31.02.2000", "", ""],
            ["CTA-1x", "Ri Hyon", "", "", "", ""],
        ),
    )
    assert case_data_counts() == before
    assert run.status == ImportStatus.DRY_RUN
    assert _outcomes(run) == {2: "create", 3: "match", 5: "conflict", 6: "error", 7: "create"}
    rows = {row["line"]: row for row in run.report["rows"]}
    assert rows[3]["person"] == {"uuid": str(ri.uuid), "working_name": "Ri"}
    assert rows[3]["reasons"][0]["code"] == "icrc_number"
    assert rows[3]["changes"] == {"rank": ["", "Sergeant"]}
    assert rows[3]["message"] == "Matches Ri by ICRC number CTA-1; updates rank."
    assert rows[5]["message"] == "ICRC number CTA-2 is on line 2 too: keep one of them."
    assert "'31.02.2000' is not a date that exists" in rows[6]["message"]
    assert run.report["blank_lines"] == [4]
    assert run.report["counts"] == {
        "create": 2,
        "match": 1,
        "conflict": 1,
        "error": 1,
        "unchanged": 0,
        "blank": 1,
        "rows": 6,
    }


def test_a_created_or_renamed_person_is_offered_his_likely_duplicates(officer, ri):
    """The duplicate check runs on new rows (and on a match that renames): Ri written as
    Lee in Hangul, with no ICRC number, is offered Ri with the name reason; born the same
    day, he scores high enough to hold the create as a conflict; born in another year, he
    is a create with a duplicate to check."""
    run = _dry_run(
        officer,
        _list(["", "Lee", "리", "1999-03-12", "", ""], ["", "Lee", "리", "1980", "", ""]),
    )
    held, other = run.report["rows"]
    assert held["outcome"] == "conflict"
    (duplicate,) = held["duplicates"]
    assert duplicate["person"]["uuid"] == str(ri.uuid)
    assert duplicate["score"] >= 0.85 and not duplicate["imported"]
    assert {r["code"] for r in duplicate["reasons"]} >= {"name", "birth_date"}
    assert "Likely the same person as Ri" in held["message"]
    assert other["outcome"] == "create"
    assert [d["person"]["uuid"] for d in other["duplicates"]] == [str(ri.uuid)]
    assert "1 likely duplicate to check" in other["message"]


def test_a_match_on_another_known_birth_day_is_a_conflict(officer, ri):
    run = _dry_run(officer, _list(["CTA-1", "Ri", "", "2000-01-02", "", ""]))
    (row,) = run.report["rows"]
    assert row["outcome"] == "conflict"
    assert "born 1999-03-12; this row says 2000-01-02" in row["message"]


def test_the_commit_writes_each_change_once_with_its_event(officer, ri):
    """A new person with his ICRC number and Hangul name, and the matched Ri's new rank: one
    event each, all citing the file's source and naming the line; the source's own event
    marks the commit. Nothing else is written."""
    run = _dry_run(
        officer,
        _list(
            ["CTA-2", "Kim Chol", "김철", "03.2001", "Private", "94th"],
            ["CTA-1", "Ri", "", "", "Sergeant", ""],
        ),
    )
    before = case_data_counts()
    last = TimelineEvent.objects.order_by("-id").first().id
    actor = Actor(user=officer, channel="admin", label=officer.username)

    run = services.import_commit(actor=actor, run=run)

    events = list(TimelineEvent.objects.filter(id__gt=last).order_by("id"))
    assert [e.kind for e in events] == [
        "source.created",
        "person.updated",
        "person.created",
        "external_identifier.recorded",
    ]
    source = Source.objects.get(pk=run.source_id)
    assert run.file_name in source.title and str(run.uuid) in source.title
    assert all(e.source_id == source.pk and e.actor_id == officer.pk for e in events[1:])
    assert events[1].reason == "Imported from exchange.csv, line 3."
    assert events[2].reason == events[3].reason == "Imported from exchange.csv, line 2."
    kim = Person.objects.get(working_name="Kim Chol")
    assert [(n.value, n.script) for n in kim.names.all()] == [("김철", "hangul")]
    assert (kim.birth_date.isoformat(), kim.birth_date_precision) == ("2001-03-01", "month")
    assert ExternalIdentifier.objects.get(value="CTA-2").person == kim
    assert events[2].subject_uuid == kim.uuid and events[2].person_id == kim.pk
    assert events[2].changes["working_name"] == [None, "Kim Chol"]
    ri.refresh_from_db()
    assert ri.rank == "Sergeant"
    assert events[1].changes == {"rank": ["", "Sergeant"]}
    after = case_data_counts()
    grown = {
        label: after[label] - before[label] for label in after if after[label] != before[label]
    }
    assert grown == {
        "cases.Source": 1,
        "cases.Person": 1,
        "cases.PersonName": 1,
        "cases.ExternalIdentifier": 1,
        "cases.TimelineEvent": 4,
    }
    assert run.status == ImportStatus.COMMITTED
    assert run.report["committed"] == {"created": 1, "updated": 1, "unchanged": 0, "skipped": 0}
    rows = {row["line"]: row for row in run.report["rows"]}
    assert rows[2]["person"]["uuid"] == str(kim.uuid)
    assert rows[2]["committed"] == "created"


def test_rows_in_conflict_or_error_refuse_the_commit_unless_skipped(officer, ri):
    """Without skip_rejected nothing is written and the lines are named; with it, the rows
    that apply are written and the others listed as skipped."""
    run = _dry_run(
        officer, _list(["CTA-2", "Kim", "", "", "", ""], ["CTA-3", "Pak", "", "19xx", "", ""])
    )
    before = case_data_counts()
    with pytest.raises(ValidationError, match=r"1 rows are in conflict or in error \(lines 3\)"):
        services.import_commit(actor=f.SYSTEM, run=run)
    assert case_data_counts() == before
    run.refresh_from_db()
    assert run.status == ImportStatus.DRY_RUN

    run = services.import_commit(actor=f.SYSTEM, run=run, skip_rejected=True)
    assert run.report["committed"] == {"created": 1, "updated": 0, "unchanged": 0, "skipped": 1}
    assert {row["line"]: row["committed"] for row in run.report["rows"]} == {
        2: "created",
        3: "skipped",
    }


def test_a_failing_write_leaves_neither_rows_nor_events(officer, ri, monkeypatch):
    """A service refusing the last row half-way rolls the whole import back."""
    run = _dry_run(
        officer, _list(["CTA-2", "Kim", "", "", "", ""], ["CTA-1", "Ri", "", "", "Major", ""])
    )
    before = case_data_counts()
    real = services.person_update

    def refuse(**kwargs):
        real(**kwargs)
        raise ValidationError("refused on purpose")

    monkeypatch.setattr(services, "person_update", refuse)
    with pytest.raises(ValidationError, match="refused on purpose"):
        services.import_commit(actor=f.SYSTEM, run=run)
    assert case_data_counts() == before
    run.refresh_from_db()
    assert run.status == ImportStatus.DRY_RUN and "committed" not in run.report


def test_a_committed_file_is_never_committed_twice(officer, ri):
    """The same run, or the same bytes uploaded again, cannot be committed again; the dry
    run of the same bytes says which import committed them."""
    content = _list(["CTA-2", "Kim", "", "", "", ""])
    first = services.import_commit(actor=f.SYSTEM, run=_dry_run(officer, content))
    with pytest.raises(ValidationError, match="committed already"):
        services.import_commit(actor=f.SYSTEM, run=first)
    again = _dry_run(officer, content)
    assert again.report["already_committed"] == str(first.uuid)
    before = case_data_counts()
    with pytest.raises(ValidationError, match=f"committed already, as import {first.uuid}"):
        services.import_commit(actor=f.SYSTEM, run=again)
    assert case_data_counts() == before


def test_a_second_import_of_an_icrc_list_matches_instead_of_creating(officer, ri):
    """A later export of the same list (other bytes, same numbers) matches every person it
    created; only what changed is written."""
    services.import_commit(
        actor=f.SYSTEM,
        run=_dry_run(officer, _list(["CTA-2", "Kim", "", "2001", "", ""]), "icrc-1.csv"),
    )
    run = _dry_run(
        officer,
        _list(["CTA-2", "Kim", "", "2001", "", ""], ["CTA-1", "Ri", "", "", "", ""]),
        "icrc-2.csv",
    )
    assert _outcomes(run) == {2: "match", 3: "match"}
    assert run.report["counts"]["unchanged"] == 2
    persons = Person.objects.count()
    run = services.import_commit(actor=f.SYSTEM, run=run)
    assert Person.objects.count() == persons
    assert run.report["committed"]["unchanged"] == 2


def test_a_reader_without_sensitive_access_reads_the_report_without_sensitive_values(officer, ri):
    """The report withholds what the access policy withholds: names and service numbers."""
    from cases.imports.api import redacted_report

    content = csv_bytes([["working_name", "name_hangul", "service_number"], ["Kim", "김", "77"]])
    run = _dry_run(officer, content)
    analyst = user_in_role(ANALYST)
    report, shown = redacted_report(run.report, analyst)
    values = report["rows"][0]["values"]
    assert values["name_hangul"] is None and values["service_number"] is None
    assert values["working_name"] == "Kim" and shown == []
    report, shown = redacted_report(run.report, officer)
    assert report["rows"][0]["values"]["service_number"] == "77"
    assert shown == ["name_hangul", "service_number"]
