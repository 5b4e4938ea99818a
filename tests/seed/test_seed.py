"""The seed data: the public case of Ri and Baek, loaded through the services."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from cases import consent, services
from cases.choices import Channel
from cases.models import (
    Case,
    Note,
    Occurrence,
    Party,
    Person,
    Position,
    Request,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.seed import DEFAULT_SEED_PATH, SEED_ACTOR
from tests import factories

pytestmark = pytest.mark.django_db

RI = "UA-2025-0001"
BAEK = "UA-2025-0002"


def load(*args) -> str:
    """Run ``load_seed`` and return what it printed."""
    out = StringIO()
    call_command("load_seed", *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Return the row count of every model of the tracker and of the user model."""
    models = [*apps.get_app_config("cases").get_models(), apps.get_model("auth", "User")]
    return {model._meta.label: model.objects.count() for model in models}


@pytest.fixture
def seeded() -> str:
    """Load the seed once and return the command's output."""
    return load()


def test_load_prints_what_it_created(seeded):
    """The command names every count, and the counts match the rows."""
    assert "Loaded the seed data" in seeded
    expected = {
        "parties": Party.objects.count(),
        "sources": Source.objects.count(),
        "persons": Person.objects.count(),
        "cases": Case.objects.count(),
        "intentions": StatedIntention.objects.count(),
        "requests": Request.objects.count(),
        "positions": Position.objects.count(),
        "occurrences": Occurrence.objects.count(),
        "notes": Note.objects.count(),
        "events": TimelineEvent.objects.count(),
    }
    for name, count in expected.items():
        assert f"{count} {name}" in seeded
    assert expected["persons"] == 2
    assert expected["cases"] == 2


def test_parties_hold_the_hierarchy_and_kinds(seeded):
    """The SBU sits under Ukraine, MOFA and the NIS under South Korea; outlets are media."""
    parties = {party.short_name or party.name: party for party in Party.objects.all()}
    assert parties["SBU"].parent == parties["UA"]
    assert parties["MOFA"].parent == parties["South Korea"]
    assert parties["NIS"].parent == parties["South Korea"]
    assert parties["South Korea"].country.code == "KR"
    assert parties["Yu Yong-weon"].kind == "legislator"
    assert parties["ICRC"].kind == "international_organisation"
    media = set(Party.objects.filter(kind="media").values_list("name", flat=True))
    assert media == {
        "Radio Free Asia",
        "Chosun Ilbo",
        "MBC",
        "Korea JoongAng Daily",
        "RBC-Ukraine",
        "Yonhap",
        "Asia Economy",
        "Ukrainska Pravda",
        "Chosun Biz",
    }


def test_sources_have_no_invented_urls(seeded):
    """The facts give no URLs, so none is recorded; every source names its publisher."""
    assert not Source.objects.exclude(url="").exists()
    assert not Source.objects.filter(publisher="").exists()
    assert not Source.objects.filter(language="").exists()
    rfa = Source.objects.get(publisher="Radio Free Asia")
    assert rfa.published_on == dt.date(2025, 3, 5)


def test_persons_hold_name_variants_precision_and_identity(seeded):
    """Ri and Baek carry their spellings, year-only birth dates and claimed identities."""
    ri = Case.objects.get(reference=RI).person
    baek = Case.objects.get(reference=BAEK).person
    ri_names = {(n.value, n.script, n.romanisation) for n in ri.names.all()}
    assert ("리", "hangul", "") in ri_names
    assert {value for value, _, _ in ri_names} == {"리", "Ri", "Lee", "Yi", "Rhee"}
    assert all(romanisation for _, script, romanisation in ri_names if script == "latin")
    assert {n.value for n in baek.names.all()} == {"백", "Baek", "Paek", "Paik"}
    assert (ri.birth_date.year, ri.birth_date_precision) == (1999, "year")
    assert (baek.birth_date.year, baek.birth_date_precision) == (2005, "year")
    assert [c.code for c in ri.nationalities] == ["KP"]
    assert baek.identity_confidence == "claimed"
    assert ri.power_depends_on.short_name == "DPRK"
    assert "jaw" in ri.medical_notes
    assert baek.medical_notes == ""


def test_cases_hold_capture_and_custody(seeded):
    """Ri's capture is known to the day, Baek's to the month; both are held in Kyiv."""
    ri = Case.objects.get(reference=RI)
    baek = Case.objects.get(reference=BAEK)
    assert (ri.capture_date, ri.capture_date_precision) == (dt.date(2025, 1, 9), "day")
    assert (baek.capture_date.replace(day=1), baek.capture_date_precision) == (
        dt.date(2025, 1, 1),
        "month",
    )
    for case in (ri, baek):
        assert case.detaining_party.name == "Ukraine"
        assert case.capture_place_code == "RU-KRS"
        assert "Kyiv" in case.detention_place
        assert case.status == "on_hold"
        statuses = [
            event.changes["status"][1]
            for event in case.events.filter(kind="case.status_changed").order_by("case_seq")
        ]
        assert statuses == ["registered", "interned", "on_hold"]


def test_every_case_timeline_is_gapless_and_by_the_seed(seeded):
    """Each case's events run 1..n by case_seq, and every event is stamped as seed data."""
    for case in Case.objects.all():
        seqs = list(case.events.order_by("case_seq").values_list("case_seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
        assert case.last_event_seq == len(seqs)
        assert case.events.first().kind == "case.opened"
    assert set(TimelineEvent.objects.values_list("channel", "actor_label", "actor")) == {
        (Channel.SEED, SEED_ACTOR.label, None)
    }


def test_every_statement_request_position_and_occurrence_has_a_sourced_event(seeded):
    """Each row cites a source, and the event that created it cites the same source."""
    created_by = [
        (StatedIntention, {"intention.recorded", "intention.superseded"}),
        (Request, {"request.drafted", "request.filed"}),
        (Position, {"position.recorded"}),
        (Occurrence, {"occurrence.recorded"}),
    ]
    for model, kinds in created_by:
        rows = list(model.objects.all())
        assert rows, model
        for row in rows:
            assert row.source is not None, row
            event = TimelineEvent.objects.get(subject_uuid=row.uuid, kind__in=kinds)
            assert event.source == row.source
            case_id = row.request.case_id if model is Position else row.case_id
            assert event.case_id == case_id


def test_second_load_changes_nothing(seeded):
    """Loading again into a seeded database is a no-op that says so."""
    before = row_counts()
    output = load()
    assert "already present; nothing loaded" in output
    assert row_counts() == before


def test_ri_current_intention_is_south_korea_unverified(seeded):
    """Ri's current intention is a transfer to South Korea, not verified."""
    ri = Case.objects.get(reference=RI)
    assert ri.current_intention_option == "third_state"
    assert ri.current_intention_destination.code == "KR"
    assert ri.current_intention_verified is False
    assert ri.current_intention.state == "active"
    first = ri.intentions.get(stated_on=dt.date(2025, 2, 19))
    assert (first.certainty, first.setting, first.heard_by.name) == (
        "high",
        "media_interview",
        "Chosun Ilbo",
    )
    with_surgery = ri.intentions.get(stated_on=dt.date(2025, 2, 25))
    assert "jaw operation" in with_surgery.conditions
    assert with_surgery.heard_by.name == "Yu Yong-weon"


def test_baek_letter_supersedes_his_undecided_statement(seeded):
    """Baek's October 2025 letter is current; his February statement is kept, superseded."""
    baek = Case.objects.get(reference=BAEK)
    current = baek.current_intention
    assert (current.option, current.destination_country.code) == ("third_state", "KR")
    assert (current.stated_on.year, current.stated_on.month) == (2025, 10)
    assert current.stated_on_precision == "month"
    assert current.setting == "letter"
    assert baek.current_intention_verified is False
    earlier = current.supersedes
    assert earlier is not None
    assert (earlier.option, earlier.state) == ("undecided", "superseded")
    assert earlier.stated_on == dt.date(2025, 2, 25)
    assert baek.events.filter(kind="intention.superseded", subject_uuid=current.uuid).exists()


def test_no_intention_is_verified(seeded):
    """No statement was heard in a private neutral interview."""
    assert not StatedIntention.objects.filter(verification__in=["verified", "reconfirmed"]).exists()
    assert not Case.objects.filter(current_intention_verified=True).exists()


def test_transfer_requests_are_drafts_with_the_parties_positions(seeded):
    """No filing date is invented; the four public positions hang on each transfer request."""
    for reference in (RI, BAEK):
        transfer = Request.objects.get(case__reference=reference, kind="third_state_transfer")
        assert (transfer.status, transfer.filed_on) == ("draft", None)
        assert transfer.destination_country.code == "KR"
        assert transfer.intention.case_id == transfer.case_id
        positions = [
            (p.party.short_name or p.party.name, p.stance, p.stated_on.isoformat())
            for p in transfer.positions.order_by("stated_on", "id")
        ]
        assert positions == [
            ("MOFA", "conditional", "2025-01-14"),
            ("South Korea", "accepts", "2025-02-26"),
            ("MOFA", "accepts", "2025-03-05"),
            ("UA", "conditional", "2025-03-05"),
        ]
    ri_transfer = Request.objects.get(case__reference=RI, kind="third_state_transfer")
    assert ri_transfer.intention.stated_on == dt.date(2025, 2, 25)
    baek = Case.objects.get(reference=BAEK)
    assert baek.requests.get(kind="third_state_transfer").intention == baek.current_intention
    medical = Request.objects.get(case__reference=RI, kind="medical_treatment")
    assert (medical.status, medical.filed_on) == ("draft", None)
    assert medical.intention.stated_on == dt.date(2025, 2, 25)


def test_consent_gate_refuses_executing_the_transfer(seeded):
    """A transfer moved all the way to scheduled still cannot be executed: consent is unverified."""
    for reference in (RI, BAEK):
        transfer = Request.objects.get(case__reference=reference, kind="third_state_transfer")
        decision = consent.check(transfer.case, consent.move_for_request(transfer))
        codes = {problem.code for problem in decision.problems}
        assert {"not_verified", "date_imprecise"} <= codes
        scheduled = factories.advance_request(transfer, "scheduled")
        assert scheduled.status == "scheduled"
        with pytest.raises(ValidationError, match="through a handover"):
            services.request_transition(
                actor=factories.SYSTEM, request=scheduled, status="executed"
            )
        # The handover, the one way across a border: refused while his release is not
        # approved, then by the consent gate.
        case = Case.objects.get(reference=reference)
        if case.status != "release_approved":
            with pytest.raises(ValidationError, match="approve his release"):
                factories.handover(scheduled)
            factories.advance_case(case, "release_approved")
        with pytest.raises(ValidationError, match="Consent gate"):
            factories.handover(scheduled)
        scheduled.refresh_from_db()
        assert scheduled.status == "scheduled"
        assert Case.objects.get(reference=reference).status == "release_approved"


def test_nis_report_on_one_captive_is_not_a_statement_of_either_man(seeded):
    """The NIS report does not say which captive, so it is a note on both cases, not a statement."""
    assert not StatedIntention.objects.filter(stated_on=dt.date(2025, 1, 13)).exists()
    assert not StatedIntention.objects.filter(setting="hearsay").exists()
    nis_source = Source.objects.get(publisher="Yonhap")
    assert not StatedIntention.objects.filter(source=nis_source).exists()
    notes = Note.objects.filter(source=nis_source)
    assert {note.case.reference for note in notes} == {RI, BAEK}
    for note in notes:
        assert "one of the two captives" in note.body
        assert "does not say which" in note.body


def test_load_fills_in_around_what_exists():
    """A party that exists already is reused, not duplicated, and the output says so."""
    ukraine = factories.party("Ukraine", country="UA")
    output = load()
    assert "Already present, skipped: party Ukraine" in output
    assert Party.objects.filter(name="Ukraine").count() == 1
    assert Case.objects.get(reference=RI).detaining_party == ukraine
    assert Party.objects.get(short_name="SBU").parent == ukraine


def test_failed_load_leaves_nothing_behind(tmp_path):
    """A seed whose last step fails writes no row and no event."""
    data = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    data["story"].append(
        {"action": "status", "case": RI, "status": "repatriated", "occurred_on": "2026-02-01"}
    )
    broken = tmp_path / "seed.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    before = row_counts()
    with pytest.raises(CommandError, match="only through a handover"):
        load("--path", str(broken))
    assert row_counts() == before


def test_unknown_reference_is_reported_clearly(tmp_path):
    """A step naming a party the file does not list fails with a message saying so."""
    data = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    data["story"][0]["source"] = "no-such-source"
    broken = tmp_path / "seed.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError, match="source 'no-such-source' is not listed"):
        load("--path", str(broken))
    assert not Case.objects.exists()


def test_identity_facts_are_seeded_with_their_sources(seeded):
    """Baek carried a Russian military ID in another person's name (no number or name
    invented); Ri carried none; both serve in the KPA under Russian command; South Korea
    claims both as nationals, on Yu Yong-weon's statement. Each row cites its source, and
    its event the same one."""
    ri = Case.objects.get(reference=RI).person
    baek = Case.objects.get(reference=BAEK).person
    assert not ri.identity_documents.exists()
    (document,) = baek.identity_documents.all()
    assert (document.kind, document.genuineness, document.issuer.name) == (
        "military_id",
        "not_his_own",
        "Russian Federation",
    )
    assert (document.number, document.name_on_document) == ("", "")
    for person in (ri, baek):
        assert person.armed_force.name == "Korean People's Army"
        assert person.serving_under.name == "Russian Federation"
        assert "Russian command" in person.service_notes
        (claim,) = person.nationality_claims.all()
        assert (claim.country.code, claim.claimed_by.name) == ("KR", "Republic of Korea")
        assert "Yu Yong-weon" in claim.basis
        assert claim.source.publisher == "Radio Free Asia"
        assert not person.external_identifiers.exists()
    for row, kind in (
        (document, "identity_document.recorded"),
        (claim, "nationality_claim.recorded"),
    ):
        assert row.source is not None
        event = TimelineEvent.objects.get(subject_uuid=row.uuid, kind=kind)
        assert event.source == row.source
