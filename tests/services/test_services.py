"""Every service: the rows it writes and the one timeline event it appends with them."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases import services
from cases.choices import Channel, DatePrecision, EventKind
from cases.models import (
    Case,
    Note,
    Occurrence,
    Party,
    Person,
    PersonName,
    Position,
    Request,
    Source,
    StatedIntention,
    Task,
    TimelineEvent,
)
from cases.services import Actor, NameSpec, StaleObjectError
from tests import factories
from tests.support import timeline
from tests.support.roles import CASE_OFFICER, user_in_role
from tests.support.timeline import ref

pytestmark = pytest.mark.django_db

MARCH_19 = dt.datetime(2025, 3, 19, tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def officer():
    """A case officer."""
    return user_in_role(CASE_OFFICER, "officer.kim")


@pytest.fixture
def actor(officer):
    """A case officer working in the admin."""
    return Actor(user=officer, channel=Channel.ADMIN)


@pytest.fixture
def api_actor():
    """An integration calling the API with a token, shown by its label."""
    return Actor(channel=Channel.API, label="token 3f9a (ICRC sync)")


@pytest.fixture
def report():
    return factories.source("Two North Korean POWs want to go to South Korea", publisher="Yonhap")


@pytest.fixture
def ukraine():
    return factories.party("Ukraine", country="UA")


@pytest.fixture
def case(ukraine):
    return factories.case(
        reference="UA-2024-0001", person_obj=factories.person("Ri"), detaining_party=ukraine
    )


class Watch:
    """The events appended since the watch started, and the clock around a call."""

    def __init__(self):
        self.start = TimelineEvent.objects.aggregate(top=Max("pk"))["top"] or 0
        self.since = timezone.now()

    def events(self):
        return list(TimelineEvent.objects.filter(pk__gt=self.start).order_by("pk"))

    def one(self):
        """Return the only new event; fail when there is none or more than one.

        The events of the tasks a rule opened or closed in the same write follow it, exactly
        those it lists (``timeline.causing_events`` checks them).
        """
        events = timeline.causing_events(self.events())
        assert len(events) == 1, [event.kind for event in events]
        return events[0]

    def none(self):
        assert self.events() == []


def seq_of(case):
    return Case.objects.get(pk=case.pk).last_event_seq


def check_event(
    event,
    *,
    kind,
    actor,
    subject,
    summary,
    changes,
    case=None,
    seq=None,
    reason="",
    source=None,
    occurred_at=None,
    precision=DatePrecision.EXACT,
    watch=None,
):
    """Assert every column of ``event``; ``occurred_at=None`` means "at the time of the call"."""
    assert event.kind == kind
    assert event.summary == summary
    assert event.changes == changes
    assert event.actor == actor.user
    assert event.actor_label == actor.display
    assert event.channel == actor.channel
    assert event.reason == reason
    assert event.source == source
    assert event.subject_type == subject._meta.model_name
    assert event.subject_uuid == subject.uuid
    assert event.case_id == (case.pk if case else None)
    assert event.case_seq == seq
    if case is not None:
        # The counter moved with the event (and the rule tasks' events after it).
        assert seq_of(case) == seq + len(timeline.task_follow_ups(event))
    assert event.occurred_precision == precision
    if occurred_at is None:
        assert watch.since <= event.occurred_at <= timezone.now()
    else:
        assert event.occurred_at == occurred_at


def nothing_written(model_counts, watch):
    """Assert no table changed size and no event was appended."""
    for model, count in model_counts.items():
        assert model.objects.count() == count, model.__name__
    watch.none()


def counts(*models):
    return {model: model.objects.count() for model in models}


# --------------------------------------------------------------------------------------------
# Actors and version conflicts
# --------------------------------------------------------------------------------------------


def test_actor_display_prefers_label_then_username_then_channel(officer):
    """The timeline shows a label when given, else the username, else the channel."""
    assert Actor(user=officer, channel=Channel.API, label="token 3f9a").display == "token 3f9a"
    assert Actor(user=officer, channel=Channel.ADMIN).display == "officer.kim"
    assert Actor(channel=Channel.COMMAND).display == "command"
    assert Actor.system().display == "system"


def test_stale_object_error_tells_the_editor_what_to_do(case, actor):
    """The message names the row, both versions and the way out."""
    services.case_update(actor=actor, case=case, priority="high")
    with pytest.raises(StaleObjectError) as caught:
        services.case_update(actor=actor, case=case, expected_version=1, priority="low")
    assert str(caught.value) == (
        "Case UA-2024-0001 was changed by someone else (you had version 1, it is now "
        "version 2). Reload it, reapply your change and save again."
    )
    assert (caught.value.expected_version, caught.value.current_version) == (1, 2)


# --------------------------------------------------------------------------------------------
# Parties and sources
# --------------------------------------------------------------------------------------------


def test_party_create(actor):
    """The party is saved and ``party.created`` (on no case) names it and its kind."""
    state = factories.party("Republic of Korea", country="KR")
    watch = Watch()
    ministry = services.party_create(
        actor=actor,
        name="Ministry of Foreign Affairs (ROK)",
        kind="agency",
        country="KR",
        parent=state,
        short_name="MOFA",
    )
    row = Party.objects.get(pk=ministry.pk)
    assert (row.name, row.kind, row.country.code, row.parent, row.short_name) == (
        "Ministry of Foreign Affairs (ROK)",
        "agency",
        "KR",
        state,
        "MOFA",
    )
    check_event(
        watch.one(),
        kind=EventKind.PARTY_CREATED,
        actor=actor,
        subject=ministry,
        summary="Party Ministry of Foreign Affairs (ROK) (government agency) created",
        changes={"name": [None, "Ministry of Foreign Affairs (ROK)"], "kind": [None, "agency"]},
        watch=watch,
    )


def test_party_create_with_an_unknown_kind_writes_nothing(actor):
    """A bad kind is refused before anything is saved."""
    before, watch = counts(Party), Watch()
    with pytest.raises(ValidationError) as caught:
        services.party_create(actor=actor, name="SBU", kind="spy_agency")
    assert "kind" in caught.value.message_dict
    nothing_written(before, watch)


def test_party_update(actor, ukraine, report):
    """Changed fields are saved; ``party.updated`` lists them with reason and source."""
    sbu = factories.party("SBU", kind="agency")
    watch = Watch()
    sbu = services.party_update(
        actor=actor,
        party=sbu,
        parent=ukraine,
        short_name="SBU",
        name="Security Service of Ukraine",
        reason="Full name from the agency's site",
        source=report,
    )
    row = Party.objects.get(pk=sbu.pk)
    assert (row.name, row.short_name, row.parent) == ("Security Service of Ukraine", "SBU", ukraine)
    check_event(
        watch.one(),
        kind=EventKind.PARTY_UPDATED,
        actor=actor,
        subject=sbu,
        summary="Party Security Service of Ukraine: parent, short name, name changed",
        changes={
            "parent": [None, ref(ukraine)],
            "short_name": ["", "SBU"],
            "name": ["SBU", "Security Service of Ukraine"],
        },
        reason="Full name from the agency's site",
        source=report,
        watch=watch,
    )


def test_party_update_without_a_change_appends_nothing(actor, ukraine):
    """Saving the same values is not an edit: no event."""
    watch = Watch()
    services.party_update(actor=actor, party=ukraine, name="Ukraine", country="UA")
    watch.none()


def test_party_update_refuses_unknown_fields_and_cycles(actor, ukraine):
    """Only party fields can be set, and a party cannot end up inside itself."""
    sbu = services.party_update(
        actor=actor, party=factories.party("SBU", kind="agency"), parent=ukraine
    )
    before, watch = counts(Party), Watch()
    with pytest.raises(ValidationError, match="cannot be changed here"):
        services.party_update(actor=actor, party=ukraine, uuid="x")
    with pytest.raises(ValidationError, match="its own parent or ancestor"):
        services.party_update(actor=actor, party=ukraine, parent=sbu)
    with pytest.raises(ValidationError, match="its own parent or ancestor"):
        services.party_update(actor=actor, party=ukraine, parent=ukraine)
    nothing_written(before, watch)
    assert Party.objects.get(pk=ukraine.pk).parent is None


def test_party_update_with_a_taken_name_writes_nothing(actor, ukraine):
    """A name clash fails validation; the party keeps its old name and no event is written."""
    other = factories.party("Russia", country="RU")
    watch = Watch()
    with pytest.raises(ValidationError) as caught:
        services.party_update(actor=actor, party=other, name="Ukraine")
    assert "name" in caught.value.message_dict
    assert Party.objects.get(pk=other.pk).name == "Russia"
    watch.none()


def test_source_create(api_actor):
    """The source is saved; ``source.created`` names it with publisher and date."""
    watch = Watch()
    source = services.source_create(
        actor=api_actor,
        title="N. Korean POWs want to defect",
        publisher="Yonhap",
        url="https://example.org/article/1",
        published_on=dt.date(2025, 3, 19),
        language="ko",
        reliability="B",
    )
    row = Source.objects.get(pk=source.pk)
    assert (row.publisher, row.language, row.reliability) == ("Yonhap", "ko", "B")
    check_event(
        watch.one(),
        kind=EventKind.SOURCE_CREATED,
        actor=api_actor,
        subject=source,
        summary="Source added: N. Korean POWs want to defect (Yonhap, 2025-03-19)",
        changes={"title": [None, "N. Korean POWs want to defect"]},
        watch=watch,
    )


def test_source_update(actor, report):
    """Changed fields are saved; ``source.updated`` lists them and gives the reason."""
    watch = Watch()
    services.source_update(
        actor=actor,
        source=report,
        reliability="B",
        published_on=dt.date(2025, 3, 19),
        reason="Publisher's record checked",
    )
    row = Source.objects.get(pk=report.pk)
    assert (row.reliability, row.published_on) == ("B", dt.date(2025, 3, 19))
    check_event(
        watch.one(),
        kind=EventKind.SOURCE_UPDATED,
        actor=actor,
        subject=report,
        summary="Source Two North Korean POWs want to go to South Korea: "
        "reliability, published on changed",
        changes={"reliability": ["F", "B"], "published_on": [None, "2025-03-19"]},
        reason="Publisher's record checked",
        watch=watch,
    )


def test_source_update_without_a_change_appends_nothing(actor, report):
    watch = Watch()
    services.source_update(actor=actor, source=report, publisher="Yonhap")
    watch.none()


def test_source_update_with_a_bad_url_writes_nothing(actor, report):
    """An invalid URL fails validation; the stored source is untouched and no event written."""
    watch = Watch()
    with pytest.raises(ValidationError) as caught:
        services.source_update(actor=actor, source=report, url="not a url", reliability="A")
    assert "url" in caught.value.message_dict
    row = Source.objects.get(pk=report.pk)
    assert (row.url, row.reliability) == ("", "F")
    watch.none()


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------

RI_NAMES = [
    NameSpec("리", "hangul"),
    NameSpec("Ri", "latin", "north_korean"),
    NameSpec("Lee", "latin", "conventional", is_pseudonym=True),
]


def test_person_create(actor, report):
    """The person and every name variant are saved; ``person.created`` carries them."""
    kpa = factories.party("Korean People's Army", kind="armed_force", country="KP")
    watch = Watch()
    ri = services.person_create(
        actor=actor,
        working_name="Ri",
        names=RI_NAMES,
        sex="male",
        nationalities=["KP"],
        armed_force=kpa,
        birth_date=dt.date(2005, 1, 1),
        birth_date_precision="year",
        reason="From the SBU video",
        source=report,
    )
    row = Person.objects.get(pk=ri.pk)
    assert (row.sex, [c.code for c in row.nationalities], row.armed_force) == ("male", ["KP"], kpa)
    names = list(PersonName.objects.filter(person=ri).order_by("id"))
    assert [(n.value, n.script, n.romanisation, n.is_pseudonym) for n in names] == [
        ("리", "hangul", "", False),
        ("Ri", "latin", "north_korean", False),
        ("Lee", "latin", "conventional", True),
    ]
    assert all(n.search_key for n in names)
    event = watch.one()
    check_event(
        event,
        kind=EventKind.PERSON_CREATED,
        actor=actor,
        subject=ri,
        summary="Person Ri created",
        changes={
            "working_name": [None, "Ri"],
            "sex": [None, "male"],
            "nationalities": [None, ["KP"]],
            "armed_force": [None, ref(kpa)],
            "birth_date": [None, "2005-01-01"],
            "birth_date_precision": [None, "year"],
            "names": [[], [spec.as_dict() for spec in RI_NAMES]],
        },
        reason="From the SBU video",
        source=report,
        watch=watch,
    )
    assert event.person == ri


def test_person_create_takes_names_from_a_generator(actor):
    """Name variants given as a one-pass iterable are both saved and shown in the event."""
    watch = Watch()
    baek = services.person_create(
        actor=actor, working_name="Baek", names=(spec for spec in [NameSpec("백", "hangul")])
    )
    assert list(baek.names.values_list("value", flat=True)) == ["백"]
    assert watch.one().changes["names"] == [[], [NameSpec("백", "hangul").as_dict()]]


def test_person_create_with_invalid_data_writes_nothing(actor):
    """A date of death without 'deceased' is refused; no person, name or event remains."""
    before, watch = counts(Person, PersonName), Watch()
    with pytest.raises(ValidationError) as caught:
        services.person_create(
            actor=actor, working_name="Ri", names=RI_NAMES, date_of_death=dt.date(2025, 2, 1)
        )
    assert "date_of_death" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.person_create(actor=actor, working_name="Ri", shoe_size=44)
    assert caught.value.message_dict == {"shoe_size": ["Unknown field."]}
    nothing_written(before, watch)


def test_person_update_goes_on_the_latest_case(actor, case, report):
    """Changed fields are saved and the version bumped; the event joins the case timeline."""
    ri = case.person
    older_seq = seq_of(case)
    watch = Watch()
    ri = services.person_update(
        actor=actor,
        person=ri,
        expected_version=1,
        rank="Private",
        unit="11th Army Corps",
        reason="Capture card",
        source=report,
    )
    row = Person.objects.get(pk=ri.pk)
    assert (row.rank, row.unit, row.version) == ("Private", "11th Army Corps", 2)
    event = watch.one()
    check_event(
        event,
        kind=EventKind.PERSON_UPDATED,
        actor=actor,
        subject=ri,
        summary="Ri: rank, unit changed",
        changes={"rank": ["", "Private"], "unit": ["", "11th Army Corps"]},
        case=case,
        seq=older_seq + 1,
        reason="Capture card",
        source=report,
        watch=watch,
    )
    assert event.person == ri


def test_person_update_changes_name_variants(actor, case):
    """Adding a romanisation replaces the variants; the event shows the lists before and after."""
    ri = case.person
    old_names = [
        n.as_dict() for n in [NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")]
    ]
    new_specs = [
        NameSpec("리", "hangul"),
        NameSpec("Lee", "latin", "conventional"),
        NameSpec("Yi", "latin", "mccune_reischauer"),
    ]
    watch = Watch()
    services.person_update(actor=actor, person=ri, names=new_specs)
    assert list(ri.names.values_list("value", "romanisation")) == [
        ("리", ""),
        ("Lee", "conventional"),
        ("Yi", "mccune_reischauer"),
    ]
    assert Person.objects.get(pk=ri.pk).version == 2
    check_event(
        watch.one(),
        kind=EventKind.PERSON_UPDATED,
        actor=actor,
        subject=ri,
        summary="Ri: name variants changed",
        changes={"names": [old_names, [spec.as_dict() for spec in new_specs]]},
        case=case,
        seq=2,
        watch=watch,
    )


def test_person_update_without_a_case_has_no_case_seq(actor):
    """A person not yet in custody: the event has the person and no case."""
    baek = factories.person("Baek", names=[NameSpec("백", "hangul")])
    watch = Watch()
    services.person_update(actor=actor, person=baek, identity_confidence="claimed")
    event = watch.one()
    check_event(
        event,
        kind=EventKind.PERSON_UPDATED,
        actor=actor,
        subject=baek,
        summary="Baek: identity confidence changed",
        changes={"identity_confidence": ["unknown", "claimed"]},
        watch=watch,
    )
    assert event.person == baek


def test_person_update_without_a_change_appends_nothing(actor, case):
    """The same fields and the same name variants are not an edit."""
    watch = Watch()
    services.person_update(
        actor=actor,
        person=case.person,
        sex="unknown",
        names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")],
    )
    watch.none()
    assert Person.objects.get(pk=case.person.pk).version == 1


def test_person_update_with_duplicate_names_writes_nothing(actor, case):
    """A variant listed twice is refused; the old variants and the rank stay as they were."""
    ri, watch = case.person, Watch()
    with pytest.raises(ValidationError, match="listed twice"):
        services.person_update(
            actor=actor,
            person=ri,
            rank="Private",
            names=[NameSpec("Ri", "latin"), NameSpec("Ri", "latin", "north_korean")],
        )
    assert list(ri.names.values_list("value", flat=True)) == ["리", "Lee"]
    assert Person.objects.get(pk=ri.pk).rank == ""
    assert seq_of(case) == 1
    watch.none()


def test_person_update_locks_the_case_before_the_person(actor, case):
    """Row locks are taken case first, as in every case service, so writers cannot deadlock."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks; it serialises writers on the database.")
    with CaptureQueriesContext(connection) as queries:
        services.person_update(actor=actor, person=case.person, rank="Private")
    locked = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert len(locked) == 2
    assert 'FROM "cases_case"' in locked[0]
    assert 'FROM "cases_person"' in locked[1]


def test_person_update_with_a_stale_version_writes_nothing(actor, case):
    """An edit based on version 1 after someone saved version 2 is refused."""
    ri = services.person_update(actor=actor, person=case.person, rank="Private")
    watch = Watch()
    with pytest.raises(StaleObjectError):
        services.person_update(actor=actor, person=ri, expected_version=1, rank="Sergeant")
    assert Person.objects.get(pk=ri.pk).rank == "Private"
    watch.none()


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


def test_case_open(actor, ukraine, report):
    """The case is saved with sequence 1; ``case.opened`` names person and detaining party."""
    ri = factories.person("Ri")
    watch = Watch()
    case = services.case_open(
        actor=actor,
        reference="UA-2024-0001",
        person=ri,
        detaining_party=ukraine,
        legal_status="pow",
        capture_date=dt.date(2025, 1, 9),
        capture_place="Kursk region",
        capture_place_code="RU-KRS",
        reason="Announced by the President of Ukraine",
        source=report,
    )
    row = Case.objects.get(pk=case.pk)
    assert (row.status, row.legal_status, row.capture_place_code, row.version) == (
        "captured",
        "pow",
        "RU-KRS",
        1,
    )
    assert row.closed_at is None
    check_event(
        watch.one(),
        kind=EventKind.CASE_OPENED,
        actor=actor,
        subject=case,
        summary="Case UA-2024-0001 opened for Ri, held by Ukraine",
        changes={
            "reference": [None, "UA-2024-0001"],
            "status": [None, "captured"],
            "detaining_party": [None, ref(ukraine)],
            "legal_status": [None, "pow"],
            "capture_date": [None, "2025-01-09"],
            "capture_place": [None, "Kursk region"],
            "capture_place_code": [None, "RU-KRS"],
        },
        case=case,
        seq=1,
        reason="Announced by the President of Ukraine",
        source=report,
        watch=watch,
    )


def test_case_open_with_bad_data_writes_nothing(actor, ukraine):
    """A malformed reference, or a closed status, is refused; no case and no event."""
    ri = factories.person("Ri")
    before, watch = counts(Case), Watch()
    with pytest.raises(ValidationError) as caught:
        services.case_open(actor=actor, reference="case 1", person=ri, detaining_party=ukraine)
    assert caught.value.message_dict["reference"] == ["Use the form UA-2025-0001."]
    with pytest.raises(ValidationError, match="cannot be opened in a closed status"):
        services.case_open(
            actor=actor,
            reference="UA-2024-0002",
            person=ri,
            detaining_party=ukraine,
            status="repatriated",
        )
    nothing_written(before, watch)


def test_case_update(actor, case, report):
    """Changed fields are saved and the version bumped; ``case.updated`` lists them."""
    officer2 = factories.user("officer.park")
    watch = Watch()
    case = services.case_update(
        actor=actor,
        case=case,
        expected_version=1,
        priority="high",
        detention_place="Camp 1",
        assigned_officer=officer2,
        reason="Surgery needed",
        source=report,
    )
    row = Case.objects.get(pk=case.pk)
    assert (row.priority, row.detention_place, row.assigned_officer, row.version) == (
        "high",
        "Camp 1",
        officer2,
        2,
    )
    check_event(
        watch.one(),
        kind=EventKind.CASE_UPDATED,
        actor=actor,
        subject=case,
        summary="UA-2024-0001: priority, detention place, assigned officer changed",
        changes={
            "priority": ["normal", "high"],
            "detention_place": ["", "Camp 1"],
            "assigned_officer": [None, "officer.park"],
        },
        case=case,
        seq=2,
        reason="Surgery needed",
        source=report,
        watch=watch,
    )


def test_case_update_without_a_change_appends_nothing(actor, case):
    watch = Watch()
    services.case_update(actor=actor, case=case, priority="normal")
    watch.none()
    assert Case.objects.get(pk=case.pk).version == 1


def test_case_update_with_a_bad_value_writes_nothing(actor, case):
    """An invalid place code fails validation; the case keeps every old value."""
    watch = Watch()
    with pytest.raises(ValidationError) as caught:
        services.case_update(actor=actor, case=case, priority="high", capture_place_code="Kursk")
    assert "capture_place_code" in caught.value.message_dict
    with pytest.raises(ValidationError, match="cannot be changed here"):
        services.case_update(actor=actor, case=case, status="interned")
    row = Case.objects.get(pk=case.pk)
    assert (row.priority, row.capture_place_code, row.status, row.version) == (
        "normal",
        "",
        "captured",
        1,
    )
    assert row.last_event_seq == 1
    watch.none()


def test_case_update_with_a_stale_version_writes_nothing(actor, case):
    services.case_update(actor=actor, case=case, priority="high")
    watch = Watch()
    with pytest.raises(StaleObjectError):
        services.case_update(actor=actor, case=case, expected_version=1, priority="low")
    assert Case.objects.get(pk=case.pk).priority == "high"
    watch.none()


def test_case_change_status_dated_in_the_world(api_actor, case, report):
    """A status change dated by ``occurred_on`` keeps that date and its precision."""
    watch = Watch()
    services.case_change_status(
        actor=api_actor,
        case=case,
        status="registered",
        occurred_on=dt.date(2025, 1, 1),
        occurred_precision="month",
        reason="ICRC notified",
        source=report,
    )
    assert Case.objects.get(pk=case.pk).status == "registered"
    check_event(
        watch.one(),
        kind=EventKind.CASE_STATUS_CHANGED,
        actor=api_actor,
        subject=case,
        summary="UA-2024-0001: status Captured → Registered",
        changes={"status": ["captured", "registered"]},
        case=case,
        seq=2,
        reason="ICRC notified",
        source=report,
        occurred_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        precision="month",
    )


def test_case_change_status_to_a_closed_status_sets_closed_at(actor, case):
    """Death closes the case; the event records when it was closed."""
    watch = Watch()
    case = services.case_change_status(actor=actor, case=case, status="died")
    row = Case.objects.get(pk=case.pk)
    assert watch.since <= row.closed_at <= timezone.now()
    check_event(
        watch.one(),
        kind=EventKind.CASE_STATUS_CHANGED,
        actor=actor,
        subject=case,
        summary="UA-2024-0001: status Captured → Died",
        changes={"status": ["captured", "died"], "closed_at": [None, row.closed_at.isoformat()]},
        case=case,
        seq=2,
        watch=watch,
    )


def test_case_change_status_with_a_stale_version_writes_nothing(actor, case):
    services.case_update(actor=actor, case=case, priority="high")
    watch = Watch()
    with pytest.raises(StaleObjectError):
        services.case_change_status(actor=actor, case=case, status="registered", expected_version=1)
    assert Case.objects.get(pk=case.pk).status == "captured"
    watch.none()


# --------------------------------------------------------------------------------------------
# Stated intentions
# --------------------------------------------------------------------------------------------

KR_WISH = {
    "option": "third_state",
    "destination_country": "KR",
    "stated_on": dt.date(2025, 2, 25),
    "setting": "legislator_interview",
    "verification": "stated",
}


def test_intention_record(actor, case, report):
    """The statement is saved and current; the event is dated when it was said."""
    lawmaker = factories.party("Yu Yong-weon", kind="legislator", country="KR")
    watch = Watch()
    wish = services.intention_record(
        actor=actor,
        case=case,
        reason="Lawmaker's press release",
        source=report,
        certainty="80% decided",
        conditions="if jaw surgery is possible",
        heard_by=lawmaker,
        stated_on_precision="month",
        **KR_WISH,
    )
    row = StatedIntention.objects.get(pk=wish.pk)
    assert (row.state, row.source, row.heard_by, row.version) == ("active", report, lawmaker, 1)
    assert Case.objects.get(pk=case.pk).current_intention == wish
    check_event(
        watch.one(),
        kind=EventKind.INTENTION_RECORDED,
        actor=actor,
        subject=wish,
        summary="Statement by Ri recorded: Transfer to a third state (KR), stated, 2025-02-25 "
        "(interview by a legislator)",
        changes={
            "option": [None, "third_state"],
            "destination_country": [None, "KR"],
            "certainty": [None, "80% decided"],
            "conditions": [None, "if jaw surgery is possible"],
            "stated_on": [None, "2025-02-25"],
            "stated_on_precision": [None, "month"],
            "heard_by": [None, ref(lawmaker)],
            "setting": [None, "legislator_interview"],
            "verification": [None, "stated"],
            "current_intention": [None, ref(wish)],
        },
        case=case,
        seq=2,
        reason="Lawmaker's press release",
        source=report,
        occurred_at=dt.datetime(2025, 2, 25, tzinfo=dt.UTC),
        precision="month",
    )


def test_intention_record_with_bad_data_writes_nothing(actor, case):
    """A transfer wish without a destination is refused; no statement, no event, no change."""
    before, watch = counts(StatedIntention), Watch()
    with pytest.raises(ValidationError) as caught:
        services.intention_record(actor=actor, case=case, **{**KR_WISH, "destination_country": ""})
    assert caught.value.message_dict["destination_country"] == [
        "A transfer to a third state needs a destination."
    ]
    with pytest.raises(ValidationError) as caught:
        services.intention_record(actor=actor, case=case, state="withdrawn", **KR_WISH)
    assert caught.value.message_dict == {"state": ["Unknown field."]}
    nothing_written(before, watch)
    row = Case.objects.get(pk=case.pk)
    assert (row.current_intention, row.last_event_seq) == (None, 1)


def test_intention_supersede(api_actor, case, report):
    """A change of mind: a new statement linked to the old, one event covering both."""
    old = factories.intention(case, **KR_WISH)
    watch = Watch()
    new = services.intention_supersede(
        actor=api_actor,
        intention=old,
        expected_version=1,
        reason="Second interview",
        source=report,
        option="undecided",
        stated_on=dt.date(2025, 3, 19),
        setting="media_interview",
        verification="stated",
    )
    assert StatedIntention.objects.get(pk=old.pk).state == "superseded"
    assert (new.supersedes, new.state) == (old, "active")
    assert Case.objects.get(pk=case.pk).current_intention == new
    check_event(
        watch.one(),
        kind=EventKind.INTENTION_SUPERSEDED,
        actor=api_actor,
        subject=new,
        summary="Statement by Ri superseded: Transfer to a third state (KR), stated, 2025-02-25 "
        "replaced by Undecided, stated, 2025-03-19",
        changes={
            "option": [None, "undecided"],
            "stated_on": [None, "2025-03-19"],
            "stated_on_precision": [None, "day"],
            "setting": [None, "media_interview"],
            "verification": [None, "stated"],
            "superseded": [ref(old), None],
            "current_intention": [ref(old), ref(new)],
        },
        case=case,
        seq=3,
        reason="Second interview",
        source=report,
        occurred_at=MARCH_19,
        precision="day",
    )


def test_intention_supersede_with_a_stale_version_writes_nothing(actor, case):
    old = factories.intention(case, **KR_WISH)
    services.intention_contest(actor=actor, intention=old, reason="Duress suspected")
    services.intention_set_state(actor=actor, intention=old, state="active")
    before, watch = counts(StatedIntention), Watch()
    with pytest.raises(StaleObjectError):
        services.intention_supersede(
            actor=actor, intention=old, expected_version=1, **{**KR_WISH, "option": "remain"}
        )
    nothing_written(before, watch)
    assert StatedIntention.objects.get(pk=old.pk).state == "active"


@pytest.mark.parametrize(
    ("service", "state", "kind"),
    [
        (services.intention_withdraw, "withdrawn", EventKind.INTENTION_WITHDRAWN),
        (services.intention_contest, "contested", EventKind.INTENTION_CONTESTED),
        (services.intention_invalidate, "invalidated", EventKind.INTENTION_INVALIDATED),
    ],
)
def test_intention_state_wrappers(actor, case, report, service, state, kind):
    """Each wrapper sets its state, bumps the version and names the statement in the event."""
    wish = factories.intention(case, **KR_WISH)
    watch = Watch()
    service(
        actor=actor,
        intention=wish,
        expected_version=1,
        reason="Said under pressure from guards",
        source=report,
        occurred_on=dt.date(2025, 3, 19),
    )
    row = StatedIntention.objects.get(pk=wish.pk)
    assert (row.state, row.version) == (state, 2)
    check_event(
        watch.one(),
        kind=kind,
        actor=actor,
        subject=wish,
        summary=f"Statement by Ri {state}: Transfer to a third state (KR), stated, 2025-02-25",
        changes={
            "state": ["active", state],
            "current_intention": [ref(wish), None],
        },
        case=case,
        seq=3,
        reason="Said under pressure from guards",
        source=report,
        occurred_at=MARCH_19,
        precision="day",
    )


def test_intention_reinstated_is_recorded_again(actor, case):
    """Reinstating a contested statement appends ``intention.recorded`` saying so."""
    wish = factories.intention(case, **KR_WISH)
    services.intention_contest(actor=actor, intention=wish, reason="Doubtful interpreter")
    watch = Watch()
    services.intention_set_state(actor=actor, intention=wish, state="active")
    check_event(
        watch.one(),
        kind=EventKind.INTENTION_RECORDED,
        actor=actor,
        subject=wish,
        summary="Statement by Ri reinstated: Transfer to a third state (KR), stated, 2025-02-25",
        changes={
            "state": ["contested", "active"],
            "current_intention": [None, ref(wish)],
        },
        case=case,
        seq=4,
        watch=watch,
    )


def test_intention_set_state_refusals_write_nothing(actor, case):
    """No reason, an unknown or unchanged state, or a stale version: nothing is written."""
    wish = factories.intention(case, **KR_WISH)
    watch = Watch()
    with pytest.raises(ValidationError, match="Say why the statement is withdrawn"):
        services.intention_withdraw(actor=actor, intention=wish, reason="  ")
    with pytest.raises(ValidationError, match="to supersede, record anew"):
        services.intention_set_state(actor=actor, intention=wish, state="superseded", reason="x")
    with pytest.raises(ValidationError, match="already active"):
        services.intention_set_state(actor=actor, intention=wish, state="active")
    with pytest.raises(StaleObjectError):
        services.intention_contest(actor=actor, intention=wish, expected_version=7, reason="x")
    assert StatedIntention.objects.get(pk=wish.pk).state == "active"
    assert seq_of(case) == 2
    watch.none()


# --------------------------------------------------------------------------------------------
# Requests and positions
# --------------------------------------------------------------------------------------------


@pytest.fixture
def mofa():
    return factories.party("Ministry of Foreign Affairs (ROK)", kind="agency", country="KR")


def test_request_file(actor, case, mofa, ukraine, report):
    """A filed request is dated by ``filed_on``; the event reads as a sentence."""
    wish = factories.intention(case, **KR_WISH)
    watch = Watch()
    request = services.request_file(
        actor=actor,
        case=case,
        kind="third_state_transfer",
        addressed_to=mofa,
        requested_by=ukraine,
        destination_country="KR",
        filed_on=dt.date(2025, 3, 19),
        intention=wish,
        reason="Transfer asked for by the person",
        source=report,
    )
    row = Request.objects.get(pk=request.pk)
    assert (row.status, row.filed_on, row.intention, row.source) == (
        "filed",
        dt.date(2025, 3, 19),
        wish,
        report,
    )
    check_event(
        watch.one(),
        kind=EventKind.REQUEST_FILED,
        actor=actor,
        subject=request,
        summary="Request for transfer to a third state (South Korea) filed, "
        "addressed to Ministry of Foreign Affairs (ROK)",
        changes={
            "kind": [None, "third_state_transfer"],
            "status": [None, "filed"],
            "addressed_to": [None, ref(mofa)],
            "requested_by": [None, ref(ukraine)],
            "destination_country": [None, "KR"],
            "filed_on": [None, "2025-03-19"],
            "intention": [None, ref(wish)],
            # The clock of an answer starts with the filing (cases/tasks/rules.py).
            "tasks_opened": [None, [ref(Task.objects.get(subject_uuid=request.uuid))]],
        },
        case=case,
        seq=3,
        reason="Transfer asked for by the person",
        source=report,
        occurred_at=MARCH_19,
        precision="day",
    )


def test_request_file_without_a_date_is_filed_today(actor, case, mofa):
    watch = Watch()
    request = services.request_file(actor=actor, case=case, kind="repatriation", addressed_to=mofa)
    today = timezone.localdate()
    assert Request.objects.get(pk=request.pk).filed_on == today
    event = watch.one()
    assert event.occurred_at == dt.datetime.combine(today, dt.time.min, tzinfo=dt.UTC)
    assert event.summary == (
        "Request for repatriation filed, addressed to Ministry of Foreign Affairs (ROK)"
    )


def test_request_file_draft(actor, case, mofa):
    """A draft has no filing date; ``request.drafted`` is dated now."""
    watch = Watch()
    request = services.request_file(
        actor=actor, case=case, kind="medical_treatment", addressed_to=mofa, draft=True
    )
    row = Request.objects.get(pk=request.pk)
    assert (row.status, row.filed_on) == ("draft", None)
    check_event(
        watch.one(),
        kind=EventKind.REQUEST_DRAFTED,
        actor=actor,
        subject=request,
        summary="Request for medical treatment drafted, "
        "addressed to Ministry of Foreign Affairs (ROK)",
        changes={
            "kind": [None, "medical_treatment"],
            "status": [None, "draft"],
            "addressed_to": [None, ref(mofa)],
        },
        case=case,
        seq=2,
        watch=watch,
    )


def test_request_file_with_bad_data_writes_nothing(actor, case, mofa):
    """No destination for a transfer, or another case's intention: no request, no event."""
    other = factories.intention(factories.case(), **KR_WISH)
    before, watch = counts(Request), Watch()
    with pytest.raises(ValidationError) as caught:
        services.request_file(
            actor=actor, case=case, kind="third_state_transfer", addressed_to=mofa
        )
    assert "destination_country" in caught.value.message_dict
    with pytest.raises(ValidationError, match="belongs to another case"):
        services.request_file(
            actor=actor, case=case, kind="repatriation", addressed_to=mofa, intention=other
        )
    nothing_written(before, watch)
    assert seq_of(case) == 1


def test_request_update(actor, case, mofa, report):
    """Changed fields are saved and the version bumped; ``request.updated`` lists them."""
    request = factories.request(case, kind="repatriation", addressed_to=mofa)
    watch = Watch()
    services.request_update(
        actor=actor,
        request=request,
        expected_version=1,
        legal_basis="GC III Art. 109",
        reason="Legal review",
        source=report,
    )
    row = Request.objects.get(pk=request.pk)
    assert (row.legal_basis, row.version) == ("GC III Art. 109", 2)
    check_event(
        watch.one(),
        kind=EventKind.REQUEST_UPDATED,
        actor=actor,
        subject=request,
        summary="Request for repatriation: legal basis changed",
        changes={"legal_basis": ["", "GC III Art. 109"]},
        case=case,
        seq=4,  # after the request and the task its filing opened
        reason="Legal review",
        source=report,
        watch=watch,
    )


def test_request_update_refuses_another_cases_intention(actor, case, mofa):
    """A request cannot be made to rest on what someone else said."""
    request = factories.request(case, kind="repatriation", addressed_to=mofa)
    other = factories.intention(factories.case(), **KR_WISH)
    watch = Watch()
    with pytest.raises(ValidationError, match="belongs to another case"):
        services.request_update(actor=actor, request=request, intention=other)
    row = Request.objects.get(pk=request.pk)
    assert (row.intention, row.version) == (None, 1)
    watch.none()


def test_request_update_refusals_write_nothing(actor, case, mofa):
    """No change, a status change or a stale version: no write and no event."""
    request = factories.request(case, kind="repatriation", addressed_to=mofa)
    services.request_update(actor=actor, request=request, legal_basis="GC III Art. 118")
    watch = Watch()
    services.request_update(actor=actor, request=request, legal_basis="GC III Art. 118")
    with pytest.raises(ValidationError, match="cannot be changed here"):
        services.request_update(actor=actor, request=request, status="executed")
    with pytest.raises(StaleObjectError):
        services.request_update(actor=actor, request=request, expected_version=1, legal_basis="")
    row = Request.objects.get(pk=request.pk)
    assert (row.legal_basis, row.status, row.version) == ("GC III Art. 118", "filed", 2)
    watch.none()


def test_request_transition_records_the_decision(api_actor, case, mofa, report):
    """Acceptance sets the decision date and reason; the event is dated by ``occurred_on``."""
    # Filed before it was decided: a decision before the filing is refused.
    filed = factories.request(
        case, kind="third_state_transfer", addressed_to=mofa, filed_on=dt.date(2025, 3, 1)
    )
    request = factories.advance_request(filed, "under_review")
    seq = seq_of(case)
    watch = Watch()
    services.request_transition(
        actor=api_actor,
        request=request,
        status="accepted",
        expected_version=request.version,
        decision_reason="Will accept if the person chooses",
        occurred_on=dt.date(2025, 3, 19),
        reason="Foreign ministry briefing",
        source=report,
    )
    row = Request.objects.get(pk=request.pk)
    assert (row.status, row.decided_on, row.decision_reason) == (
        "accepted",
        dt.date(2025, 3, 19),
        "Will accept if the person chooses",
    )
    check_event(
        watch.one(),
        kind=EventKind.REQUEST_STATUS_CHANGED,
        actor=api_actor,
        subject=request,
        summary="Request for transfer to a third state (South Korea): Under review → Accepted",
        changes={
            "status": ["under_review", "accepted"],
            "decided_on": [None, "2025-03-19"],
            "decision_reason": ["", "Will accept if the person chooses"],
        },
        case=case,
        seq=seq + 1,
        reason="Foreign ministry briefing",
        source=report,
        occurred_at=MARCH_19,
        precision="day",
    )


def test_request_transition_from_draft_sets_the_filing_date(actor, case, mofa):
    """Filing a draft dates it; the event keeps the given date and its precision."""
    request = factories.request(case, addressed_to=mofa, draft=True)
    watch = Watch()
    services.request_transition(
        actor=actor,
        request=request,
        status="filed",
        occurred_on=dt.date(2025, 3, 19),
        occurred_precision="month",
    )
    assert Request.objects.get(pk=request.pk).filed_on == dt.date(2025, 3, 19)
    event = watch.one()
    task = Task.objects.get(subject_uuid=request.uuid, kind="request_unanswered")
    assert event.changes == {
        "status": ["draft", "filed"],
        "filed_on": [None, "2025-03-19"],
        "tasks_opened": [None, [ref(task)]],
    }
    assert (event.occurred_at, event.occurred_precision) == (MARCH_19, "month")


def test_request_decision_before_its_filing_is_refused_and_writes_nothing(actor, case, mofa):
    """A decision dated before the filing, or in the future, is refused with no event."""
    request = factories.advance_request(
        factories.request(case, addressed_to=mofa, filed_on=dt.date(2025, 3, 1)), "under_review"
    )
    events = TimelineEvent.objects.count()
    for decided_on in (dt.date(2025, 2, 1), dt.date.today() + dt.timedelta(days=1)):
        with pytest.raises(ValidationError) as refused:
            services.request_transition(
                actor=actor, request=request, status="accepted", decided_on=decided_on
            )
        assert "decided_on" in refused.value.message_dict
    row = Request.objects.get(pk=request.pk)
    assert (row.status, row.decided_on) == ("under_review", None)
    assert TimelineEvent.objects.count() == events


def test_request_transition_leaves_an_unchanged_decision_reason_out(actor, case, mofa):
    """Repeating the stored decision reason is not a change and is not listed as one."""
    request = factories.advance_request(factories.request(case, addressed_to=mofa), "accepted")
    request = services.request_update(actor=actor, request=request, legal_basis="Art. 110")
    services.request_transition(
        actor=actor, request=request, status="scheduled", decision_reason="Surgery first"
    )
    watch = Watch()
    services.request_transition(
        actor=actor, request=request, status="executed", decision_reason="Surgery first"
    )
    changes = watch.one().changes
    # The handover closes the task to reconfirm consent that the scheduling opened.
    assert changes.pop("tasks_closed")[1][0]["state"] == "done"
    assert changes == {"status": ["scheduled", "executed"]}


def test_request_transition_with_a_stale_version_writes_nothing(actor, case, mofa):
    request = factories.request(case, addressed_to=mofa)
    services.request_update(actor=actor, request=request, legal_basis="Art. 110")
    watch = Watch()
    with pytest.raises(StaleObjectError):
        services.request_transition(
            actor=actor, request=request, status="acknowledged", expected_version=1
        )
    assert Request.objects.get(pk=request.pk).status == "filed"
    watch.none()


def test_position_record(actor, case, mofa, report):
    """A party's stance is kept beside the request; the event is dated when it was said."""
    korea = factories.party("South Korea", country="KR")
    request = factories.request(case, kind="third_state_transfer", addressed_to=mofa)
    watch = Watch()
    position = services.position_record(
        actor=actor,
        request=request,
        party=korea,
        stance="conditional",
        stated_on=dt.date(2025, 3, 19),
        conditions="if they choose",
        reason="Foreign ministry briefing",
        source=report,
    )
    row = Position.objects.get(pk=position.pk)
    assert (row.request, row.party, row.stance, row.source) == (
        request,
        korea,
        "conditional",
        report,
    )
    check_event(
        watch.one(),
        kind=EventKind.POSITION_RECORDED,
        actor=actor,
        subject=position,
        summary="South Korea on the request for transfer to a third state (South Korea): "
        "conditional",
        changes={
            "party": [None, ref(korea)],
            "stance": [None, "conditional"],
            "stated_on": [None, "2025-03-19"],
            "conditions": [None, "if they choose"],
        },
        case=case,
        seq=4,  # after the request and the task its filing opened
        reason="Foreign ministry briefing",
        source=report,
        occurred_at=MARCH_19,
        precision="day",
    )


def test_position_record_keeps_earlier_positions(actor, case, mofa):
    """A new stance of the same party is added beside the old one, not over it."""
    korea = factories.party("South Korea", country="KR")
    request = factories.request(case, kind="asylum", addressed_to=mofa)
    for day, stance in [(1, "no_position"), (19, "accepts")]:
        services.position_record(
            actor=actor,
            request=request,
            party=korea,
            stance=stance,
            stated_on=dt.date(2025, 3, day),
        )
    assert list(request.positions.values_list("stance", flat=True)) == ["no_position", "accepts"]
    assert TimelineEvent.objects.filter(kind="position.recorded").count() == 2


def test_position_record_with_a_bad_stance_writes_nothing(actor, case, mofa):
    request = factories.request(case, addressed_to=mofa)
    before, watch = counts(Position), Watch()
    with pytest.raises(ValidationError) as caught:
        services.position_record(
            actor=actor, request=request, party=mofa, stance="maybe", stated_on=dt.date(2025, 3, 1)
        )
    assert "stance" in caught.value.message_dict
    nothing_written(before, watch)
    assert seq_of(case) == 3


# --------------------------------------------------------------------------------------------
# Occurrences and notes
# --------------------------------------------------------------------------------------------


def test_occurrence_record(api_actor, case, report):
    """The occurrence is dated in the world with its precision."""
    watch = Watch()
    occurrence = services.occurrence_record(
        actor=api_actor,
        case=case,
        kind="icrc_visit",
        occurred_on=dt.date(2025, 2, 1),
        occurred_on_precision="month",
        description="ICRC delegates met both men",
        place="Kyiv",
        reason="ICRC operational update",
        source=report,
    )
    row = Occurrence.objects.get(pk=occurrence.pk)
    assert (row.kind, row.place, row.occurred_on_precision) == ("icrc_visit", "Kyiv", "month")
    check_event(
        watch.one(),
        kind=EventKind.OCCURRENCE_RECORDED,
        actor=api_actor,
        subject=occurrence,
        summary="ICRC visit: ICRC delegates met both men",
        changes={
            "kind": [None, "icrc_visit"],
            "occurred_on": [None, "2025-02-01"],
            "occurred_on_precision": [None, "month"],
            "description": [None, "ICRC delegates met both men"],
            "place": [None, "Kyiv"],
        },
        case=case,
        seq=2,
        reason="ICRC operational update",
        source=report,
        occurred_at=dt.datetime(2025, 2, 1, tzinfo=dt.UTC),
        precision="month",
    )


def test_occurrence_record_with_a_bad_kind_writes_nothing(actor, case):
    before, watch = counts(Occurrence), Watch()
    with pytest.raises(ValidationError) as caught:
        services.occurrence_record(
            actor=actor, case=case, kind="party", occurred_on=dt.date(2025, 2, 1), description="x"
        )
    assert "kind" in caught.value.message_dict
    nothing_written(before, watch)


def test_note_add(actor, officer, case, report):
    """The note is signed by the acting user; the event shows its first line."""
    watch = Watch()
    note = services.note_add(
        actor=actor,
        case=case,
        body="  Jaw surgery scheduled\nSecond line.",
        reason="Call with the hospital",
        source=report,
    )
    row = Note.objects.get(pk=note.pk)
    assert (row.author, row.source) == (officer, report)
    check_event(
        watch.one(),
        kind=EventKind.NOTE_ADDED,
        actor=actor,
        subject=note,
        summary="Note: Jaw surgery scheduled",
        changes={"body": [None, "  Jaw surgery scheduled\nSecond line."]},
        case=case,
        seq=2,
        reason="Call with the hospital",
        source=report,
        watch=watch,
    )


def test_note_add_without_a_body_writes_nothing(actor, case):
    before, watch = counts(Note), Watch()
    for body in ["", " \n\t "]:
        with pytest.raises(ValidationError) as caught:
            services.note_add(actor=actor, case=case, body=body)
        assert "body" in caught.value.message_dict
    nothing_written(before, watch)


# --------------------------------------------------------------------------------------------
# One transaction: the row and its event stand or fall together
# --------------------------------------------------------------------------------------------


def _lag_the_sequence(case):
    """Make the next event's case_seq collide with the opening event's, at the database.

    Rewinding the counter is the only raw write here: it forces the event insert to break the
    unique (case, case_seq) constraint inside the service's own transaction.
    """
    Case.objects.filter(pk=case.pk).update(last_event_seq=0)


def test_failed_event_insert_leaves_no_new_row(actor, case):
    """When the event cannot be inserted, the note written before it is rolled back too."""
    _lag_the_sequence(case)
    before, watch = counts(Note), Watch()
    with pytest.raises(IntegrityError):
        services.note_add(actor=actor, case=case, body="Lost with its event")
    nothing_written(before, watch)
    assert seq_of(case) == 0


def test_failed_event_insert_leaves_no_changed_row(actor, case):
    """When the event cannot be inserted, the case edit made before it is rolled back too."""
    _lag_the_sequence(case)
    watch = Watch()
    with pytest.raises(IntegrityError):
        services.case_update(actor=actor, case=case, priority="urgent")
    row = Case.objects.get(pk=case.pk)
    assert (row.priority, row.version) == ("normal", 1)
    watch.none()


def test_failed_event_insert_leaves_no_statement_nor_current_intention(actor, case):
    """The denormalised current intention is rolled back with the statement."""
    _lag_the_sequence(case)
    before, watch = counts(StatedIntention), Watch()
    with pytest.raises(IntegrityError):
        services.intention_record(actor=actor, case=case, **KR_WISH)
    nothing_written(before, watch)
    row = Case.objects.get(pk=case.pk)
    assert (row.current_intention, row.current_intention_option) == (None, "")


def test_case_seq_is_gapless_across_services_and_failures(actor, case, mofa):
    """Every service on a case takes the next number; a refused write takes none."""
    services.case_change_status(actor=actor, case=case, status="registered")
    with pytest.raises(ValidationError):
        services.case_change_status(actor=actor, case=case, status="repatriated")
    services.person_update(actor=actor, person=case.person, rank="Private")
    wish = factories.intention(case, **KR_WISH)
    with pytest.raises(ValidationError):
        services.note_add(actor=actor, case=case, body="")
    request = factories.request(case, kind="third_state_transfer", addressed_to=mofa)
    services.position_record(
        actor=actor, request=request, party=mofa, stance="accepts", stated_on=dt.date(2025, 3, 1)
    )
    services.occurrence_record(
        actor=actor, case=case, kind="medical", occurred_on=dt.date(2025, 3, 2), description="x"
    )
    services.intention_withdraw(actor=actor, intention=wish, reason="Changed mind")
    services.note_add(actor=actor, case=case, body="End")
    seqs = list(
        TimelineEvent.objects.filter(case=case).order_by("pk").values_list("case_seq", flat=True)
    )
    assert seqs == list(range(1, 11))  # with the task the filing opened
    assert seq_of(case) == 10
