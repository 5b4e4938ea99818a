"""The case officers' admin: saves go through the services, stale saves are refused."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from cases import services
from cases.filters import CaseFilterSet
from cases.models import Case, Note, Party, Person, Request, StatedIntention, TimelineEvent
from cases.services import Actor, NameSpec, StaleObjectError
from tests import factories
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


INTENTION_ROW = {
    "option": "third_state",
    "destination_country": "KR",
    "stated_on": "2025-02-25",
    "stated_on_precision": "day",
    "setting": "legislator_interview",
    "verification": "stated",
    "certainty": "80% decided",
}


@pytest.fixture
def ri_case():
    """Ri's case: the person has the variants 리 and Lee."""
    return factories.case(
        reference="UA-2025-0001",
        person_obj=factories.person(
            "Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")]
        ),
    )


@pytest.fixture
def officer():
    """A staff user in the case officer role: model permissions, not a superuser."""
    return user_in_role(CASE_OFFICER, "officer", is_staff=True, password="irrelevant-password")


# --------------------------------------------------------------------------------------------
# Intentions on the case page
# --------------------------------------------------------------------------------------------


def test_inline_intention_is_recorded_with_the_officer_as_actor(admin_client, admin_user, ri_case):
    """A statement added on the case page goes through intention_record and the timeline."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    new_row(response, StatedIntention, data, **INTENTION_ROW)
    data["reason"] = "Heard in the lawmaker's interview"

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 302, errors_text(response)
    intention = StatedIntention.objects.get(case=ri_case)
    assert (intention.option, intention.destination_country.code) == ("third_state", "KR")
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert event.kind == "intention.recorded"
    assert event.actor == admin_user
    assert event.channel == "admin"
    assert event.reason == "Heard in the lawmaker's interview"
    ri_case.refresh_from_db()
    assert ri_case.current_intention == intention
    assert ri_case.current_intention_option == "third_state"
    assert ri_case.current_intention_verified is False


def test_staff_officer_with_model_permissions_adds_a_statement(client, officer, ri_case):
    """A staff user with the model permissions can record a statement; it names him."""
    client.force_login(officer)
    response = client.get(change_url(ri_case))
    assert response.status_code == 200
    data = form_data(response)
    new_row(response, StatedIntention, data, **INTENTION_ROW)

    response = client.post(change_url(ri_case), data)

    assert response.status_code == 302, errors_text(response)
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert (event.kind, event.actor, event.actor_label) == (
        "intention.recorded",
        officer,
        "officer",
    )


def test_new_statement_can_supersede_an_active_one(admin_client, ri_case):
    """A change of mind is a new statement that supersedes the old one, which is kept."""
    old = factories.intention(ri_case, option="undecided", destination_country="")
    other_case = factories.case()
    elsewhere = factories.intention(other_case)
    response = admin_client.get(change_url(ri_case))
    inline = next(
        i for i in response.context["inline_admin_formsets"] if i.formset.model is StatedIntention
    )
    offered = set(inline.formset.empty_form.fields["supersedes"].queryset)
    assert offered == {old}, "only this case's active statements can be superseded"
    assert elsewhere not in offered
    data = form_data(response)
    new_row(response, StatedIntention, data, supersedes=str(old.pk), **INTENTION_ROW)

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 302, errors_text(response)
    old.refresh_from_db()
    assert old.state == "superseded"
    new = old.superseded_by
    assert new.option == "third_state"
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert event.kind == "intention.superseded"


def test_existing_statements_are_read_only(admin_client, ri_case):
    """Recorded statements are shown but not editable; posting changes to them does nothing."""
    intention = factories.intention(ri_case)
    response = admin_client.get(change_url(ri_case))
    inline = next(
        i for i in response.context["inline_admin_formsets"] if i.formset.model is StatedIntention
    )
    assert inline.has_change_permission is False
    assert inline.has_delete_permission is False
    data = form_data(response)
    prefix = inline.formset.prefix
    data[f"{prefix}-0-option"] = "return_home"
    data[f"{prefix}-0-destination_country"] = ""
    events = TimelineEvent.objects.count()

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 302
    intention.refresh_from_db()
    assert intention.option == "third_state"
    assert TimelineEvent.objects.count() == events


def test_withdraw_action_needs_a_reason_and_goes_through_the_service(admin_client, ri_case):
    """Statements are withdrawn from the statements list, with the reason on the timeline."""
    intention = factories.intention(ri_case)
    url = reverse("admin:cases_statedintention_changelist")
    payload = {"action": "mark_contested", "_selected_action": [intention.pk], "index": 0}

    response = admin_client.post(url, {**payload, "reason": ""}, follow=True)
    assert "Say why" in response.content.decode()
    intention.refresh_from_db()
    assert intention.state == "active"

    payload["action"] = "mark_withdrawn"
    admin_client.post(url, {**payload, "reason": "Told the ICRC he changed his mind"})
    intention.refresh_from_db()
    assert intention.state == "withdrawn"
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert (event.kind, event.reason) == (
        "intention.withdrawn",
        "Told the ICRC he changed his mind",
    )
    ri_case.refresh_from_db()
    assert ri_case.current_intention is None


# --------------------------------------------------------------------------------------------
# Stale saves and refused saves
# --------------------------------------------------------------------------------------------


def test_stale_save_is_refused_and_nothing_is_written(admin_client, ri_case):
    """A save based on an old version is refused, naming who changed the case meanwhile."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    assert data["version"] == "1"
    colleague = factories.user("colleague")
    services.case_update(
        actor=Actor(user=colleague, channel="admin"), case=ri_case, detention_place="Kyiv"
    )
    data["detention_place"] = "Lviv"
    data["priority"] = "high"
    new_row(response, StatedIntention, data, **INTENTION_ROW)
    new_row(response, Note, data, body="Asked for surgery")
    counts = (
        TimelineEvent.objects.count(),
        StatedIntention.objects.count(),
        Note.objects.count(),
    )

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 200
    message = errors_text(response)
    assert "colleague changed this case" in message
    assert "Reload the page" in message
    assert "Nothing was saved" in message
    ri_case.refresh_from_db()
    assert (ri_case.detention_place, ri_case.priority, ri_case.version) == ("Kyiv", "normal", 2)
    assert counts == (
        TimelineEvent.objects.count(),
        StatedIntention.objects.count(),
        Note.objects.count(),
    )


def test_stale_object_error_from_the_service_is_a_form_error(admin_client, ri_case, monkeypatch):
    """If the version changes between validation and the write, the service's guard holds."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    data["detention_place"] = "Lviv"

    def racing_update(**kwargs):
        raise StaleObjectError(
            Case(reference=ri_case.reference, version=7), kwargs["expected_version"]
        )

    monkeypatch.setattr(services, "case_update", racing_update)
    events = TimelineEvent.objects.count()

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 200
    assert "changed by someone else" in errors_text(response)
    assert TimelineEvent.objects.count() == events


def test_a_refused_inline_rolls_back_the_whole_save(admin_client, ri_case, monkeypatch):
    """When a service refuses an inline row, the case change saved before it is undone."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    data["detention_place"] = "Lviv"
    new_row(response, StatedIntention, data, **INTENTION_ROW)
    events = TimelineEvent.objects.count()

    def refuse(**kwargs):
        raise services.ValidationError({"heard_by": "Name who heard it."})

    monkeypatch.setattr(services, "intention_record", refuse)
    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 200
    inline = next(
        i for i in response.context["inline_admin_formsets"] if i.formset.model is StatedIntention
    )
    assert "Name who heard it." in str(inline.formset.errors)
    ri_case.refresh_from_db()
    assert ri_case.detention_place == ""
    assert ri_case.version == 1
    assert TimelineEvent.objects.count() == events


# --------------------------------------------------------------------------------------------
# Status transitions and the consent gate
# --------------------------------------------------------------------------------------------


def test_status_select_offers_only_allowed_transitions(admin_client, ri_case):
    """A captured case offers its own status and the statuses it may move to, nothing else."""
    response = admin_client.get(change_url(ri_case))
    offered = [value for value, _ in response.context["adminform"].form.fields["status"].choices]
    assert offered == ["captured", "registered", "hospitalised", "died", "escaped"]


def test_illegal_status_is_a_form_error(admin_client, ri_case):
    """Posting a status the state machine forbids shows an error and changes nothing."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    data["status"] = "repatriated"
    events = TimelineEvent.objects.count()

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    ri_case.refresh_from_db()
    assert ri_case.status == "captured"
    assert TimelineEvent.objects.count() == events


def test_allowed_status_change_goes_through_the_service(admin_client, admin_user, ri_case):
    """A legal transition writes case.status_changed with the officer and the reason."""
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    data["status"] = "registered"
    data["reason"] = "Capture card sent"

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 302, errors_text(response)
    ri_case.refresh_from_db()
    assert (ri_case.status, ri_case.version) == ("registered", 2)
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert (event.kind, event.actor, event.reason) == (
        "case.status_changed",
        admin_user,
        "Capture card sent",
    )


def test_request_status_offers_allowed_transitions_and_the_consent_gate_is_a_form_error(
    admin_client, ri_case
):
    """A scheduled transfer is not executed on its own page: a form error naming the handover
    (which asks the consent gate: tests/consent/)."""
    factories.intention(ri_case)  # stated, not verified
    transfer = factories.request(ri_case, kind="third_state_transfer")
    transfer = factories.advance_request(transfer, "scheduled")
    response = admin_client.get(change_url(transfer))
    offered = [value for value, _ in response.context["adminform"].form.fields["status"].choices]
    assert offered == ["scheduled", "withdrawn", "executed", "failed"]
    data = form_data(response)
    data["status"] = "executed"
    events = TimelineEvent.objects.count()

    response = admin_client.post(change_url(transfer), data)

    assert response.status_code == 200
    assert "through a handover" in str(response.context["adminform"].form.errors["status"])
    transfer.refresh_from_db()
    assert transfer.status == "scheduled"
    assert TimelineEvent.objects.count() == events


def test_position_added_on_the_request_page_shows_on_the_case_page(admin_client, ri_case):
    """Positions are recorded on the request's page and shown read-only on the case page."""
    korea = factories.party("Republic of Korea", country="KR")
    transfer = factories.request(ri_case, kind="third_state_transfer", addressed_to=korea)
    response = admin_client.get(change_url(transfer))
    data = form_data(response)
    new_row(
        response,
        services.Position,
        data,
        party=str(korea.pk),
        stance="accepts",
        stated_on="2025-03-04",
        conditions="if they choose",
    )

    response = admin_client.post(change_url(transfer), data)

    assert response.status_code == 302, errors_text(response)
    event = TimelineEvent.objects.filter(case=ri_case).latest("case_seq")
    assert event.kind == "position.recorded"
    page = admin_client.get(change_url(ri_case)).content.decode()
    assert "Republic of Korea: <strong>Accepts</strong>" in page


def test_request_added_on_the_case_page_is_filed(admin_client, ri_case):
    """A new request row on the case page goes through request_file."""
    icrc = factories.party("ICRC", kind="international_organisation", country="CH")
    response = admin_client.get(change_url(ri_case))
    data = form_data(response)
    new_row(
        response,
        Request,
        data,
        kind="medical_treatment",
        addressed_to=str(icrc.pk),
        filed_on="2025-03-01",
    )

    response = admin_client.post(change_url(ri_case), data)

    assert response.status_code == 302, errors_text(response)
    request = Request.objects.get(case=ri_case)
    assert (request.status, request.addressed_to) == ("filed", icrc)
    # The filing's event, then the task its clock of an answer opened.
    events = TimelineEvent.objects.filter(case=ri_case).order_by("-case_seq")
    assert [e.kind for e in events[:2]] == ["task.opened", "request.filed"]


# --------------------------------------------------------------------------------------------
# Pages: change, add, list
# --------------------------------------------------------------------------------------------


def test_change_page_shows_person_variants_and_timeline_newest_first(admin_client, ri_case):
    """The case page shows the name variants, UNVERIFIED, and the timeline newest first."""
    factories.intention(ri_case)
    services.note_add(actor=factories.SYSTEM, case=ri_case, body="Asked for jaw surgery")

    response = admin_client.get(change_url(ri_case))

    page = response.content.decode()
    assert "리" in page and "Lee" in page
    assert reverse("admin:cases_person_change", args=[ri_case.person.pk]) in page
    assert "UNVERIFIED" in page
    kinds = [row["kind"] for row in response.context["timeline"]]
    assert kinds == ["note.added", "intention.recorded", "case.opened"]
    summaries = [
        escape(e.summary) for e in TimelineEvent.objects.filter(case=ri_case).order_by("-case_seq")
    ]
    positions = [page.index(summary) for summary in summaries]
    assert positions == sorted(positions), "newest event first on the page"
    assert 'title="Exact day">25 Feb 2025</time>' in page  # a day, as the language writes it
    assert "destination country</strong>: — &rarr; South Korea" in page


def test_add_case_page_opens_a_case(admin_client, admin_user):
    """The add page opens a case through case_open and writes case.opened."""
    person = factories.person("Baek", names=[NameSpec("백", "hangul")])
    ukraine = factories.party("Ukraine")
    response = admin_client.get(reverse("admin:cases_case_add"))
    assert response.status_code == 200
    data = form_data(response)
    data.update(
        person=str(person.pk),
        detaining_party=str(ukraine.pk),
        reference="UA-2025-0002",
        legal_status="pow",
        capture_date="2025-01-09",
        capture_place_code="RU-KRS",
        reason="Captured in Kursk",
    )

    response = admin_client.post(reverse("admin:cases_case_add"), data)

    assert response.status_code == 302, errors_text(response)
    case = Case.objects.get(reference="UA-2025-0002")
    assert (case.person, case.legal_status, case.capture_place_code) == (person, "pow", "RU-KRS")
    event = TimelineEvent.objects.get(case=case)
    assert (event.kind, event.actor, event.channel, event.reason) == (
        "case.opened",
        admin_user,
        "admin",
        "Captured in Kursk",
    )


def _changelist_results(client, **params):
    response = client.get(reverse("admin:cases_case_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_changelist_finds_ri_by_any_variant_and_not_by_an_unrelated_name(admin_client, ri_case):
    """Search matches every name variant (Lee, 리), once per case, and not other names."""
    baek = factories.case(person_obj=factories.person("Baek", names=[NameSpec("백", "hangul")]))
    assert _changelist_results(admin_client, q="Lee") == [ri_case]
    assert _changelist_results(admin_client, q="리") == [ri_case]
    assert _changelist_results(admin_client, q="UA-2025-0001") == [ri_case]
    assert _changelist_results(admin_client, q="Baek") == [baek]
    assert _changelist_results(admin_client, q="Kowalski") == []


def test_changelist_lists_a_case_once_when_several_variants_match(admin_client):
    """A person with two matching variants gives one row, not two."""
    person = factories.person(
        "Ri", names=[NameSpec("Lee", "latin"), NameSpec("Lee Jin", "latin", "press")]
    )
    case = factories.case(person_obj=person)
    assert _changelist_results(admin_client, q="Lee") == [case]


def test_changelist_filters_by_nationality_and_verification(admin_client, ri_case):
    """The nationality filter reads the comma-separated codes exactly."""
    services.person_update(actor=factories.SYSTEM, person=ri_case.person, nationalities=["KP"])
    other = factories.case(person_obj=factories.person("Ivanov", names=[], nationalities=["RU"]))
    factories.intention(ri_case, verification="verified", setting="private_neutral_interview")
    assert _changelist_results(admin_client, nationality="KP") == [ri_case]
    assert _changelist_results(admin_client, nationality="RU") == [other]
    assert _changelist_results(admin_client, current_intention_verified__exact="1") == [ri_case]
    assert _changelist_results(admin_client, current_intention_verified__exact="0") == [other]


def test_nationality_filter_is_the_shared_filtersets_and_keeps_the_archived_choice(
    admin_client, ri_case
):
    """The admin's nationality filter selects what CaseFilterSet selects, on its own: it
    does not bring in the FilterSet's default of leaving archived cases out."""
    services.person_update(
        actor=factories.SYSTEM, person=ri_case.person, nationalities=["KP", "RU"]
    )
    archived = factories.case(person_obj=factories.person("Baek", names=[], nationalities=["KP"]))
    services.case_archive(actor=factories.SYSTEM, case=archived, reason="entered twice")
    factories.case(person_obj=factories.person("Ivanov", names=[], nationalities=["RU"]))
    shared = CaseFilterSet({"nationality": "KP", "archived": "include"}, queryset=Case.objects)
    assert shared.is_valid()
    expected = sorted(shared.qs, key=lambda case: case.pk)
    found = _changelist_results(admin_client, nationality="kp", archived="include")
    assert (
        sorted(found, key=lambda case: case.pk)
        == expected
        == sorted([ri_case, archived], key=lambda case: case.pk)
    )
    assert _changelist_results(admin_client, nationality="KP") == [ri_case]
    assert _changelist_results(admin_client, nationality="KP", archived="only") == [archived]


def test_a_nationality_the_filterset_refuses_is_djangos_invalid_lookup_redirect(
    admin_client, ri_case
):
    """An unknown code is refused as the FilterSet refuses it: the change list's ?e=1."""
    services.person_update(actor=factories.SYSTEM, person=ri_case.person, nationalities=["KP"])
    response = admin_client.get(reverse("admin:cases_case_changelist"), {"nationality": "XX"})
    assert response.status_code == 302 and response.url.endswith("?e=1")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the table is PostgreSQL's")
def test_nationality_filter_reads_the_cases_nationality_rows(admin_client, ri_case):
    """The admin's nationality filter reads each case's nationality rows (migration 0028),
    kept from the person's codes, and the planner reads their key."""
    services.person_update(actor=factories.SYSTEM, person=ri_case.person, nationalities=["KP"])
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse("admin:cases_case_changelist"), {"nationality": "KP"})
    assert list(response.context["cl"].result_list) == [ri_case]
    listed = [q["sql"] for q in queries.captured_queries if 'FROM "cases_case"' in q["sql"]]
    assert listed and all("cases_casenationality" in sql for sql in listed), listed
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a test table is too small to care
    plan = response.context["cl"].queryset.explain()
    assert "casenationality" in plan, plan


#: Session, user, the parties of the party filter, the newest event (the key under which
#: the nationality filter's choices are cached), the count of the listed cases (no second
#: count of every case: ``show_full_result_count`` is off), and the page's rows.
LIST_QUERIES = 6


@pytest.mark.parametrize("cases", [1, 20])
def test_changelist_query_count_does_not_grow_with_rows(
    admin_client, django_assert_num_queries, cases
):
    """The list page runs the same queries for 1 case and for 20."""
    for number in range(cases):
        case = factories.case(
            person_obj=factories.person(
                f"Person {number}", names=[NameSpec(f"Name {number}", "latin")]
            ),
            detaining_party=factories.party(),
        )
        factories.intention(case)
    admin_client.get(reverse("admin:cases_case_changelist"))  # warm the session

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(reverse("admin:cases_case_changelist"))

    assert len(response.context["cl"].result_list) == cases
    assert response.content.decode().count("UNVERIFIED") == cases
    cache.clear()
    # Without the cache, one more: the persons' nationalities for the filter.
    with django_assert_num_queries(LIST_QUERIES + 1):
        admin_client.get(reverse("admin:cases_case_changelist"))


def test_nationality_filter_offers_a_new_nationality_at_once(admin_client, ri_case):
    """The filter's cached choices are keyed by the newest event: a change shows next time."""
    url = reverse("admin:cases_case_changelist")
    assert "?nationality=PL" not in admin_client.get(url).content.decode()
    services.person_update(
        actor=factories.SYSTEM, person=ri_case.person, nationalities=["KP", "PL"]
    )
    assert "?nationality=PL" in admin_client.get(url).content.decode()


def test_changelist_search_count_reads_no_full_count(admin_client, ri_case):
    """A search counts its matches once, and never every case again for "N total"."""
    with CaptureQueriesContext(connection) as queries:
        assert _changelist_results(admin_client, q="Lee") == [ri_case]
    counts = [q["sql"] for q in queries.captured_queries if '"__count"' in q["sql"]]
    assert len(counts) == 1


# --------------------------------------------------------------------------------------------
# Nothing is deleted
# --------------------------------------------------------------------------------------------


def test_delete_is_neither_offered_nor_permitted(admin_client, ri_case):
    """No delete link, no bulk delete action, and the delete URLs refuse."""
    intention = factories.intention(ri_case)
    request = factories.request(ri_case)
    event = TimelineEvent.objects.filter(case=ri_case).first()

    page = admin_client.get(change_url(ri_case))
    assert 'class="deletelink"' not in page.content.decode()
    changelist = admin_client.get(reverse("admin:cases_case_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    for obj in (ri_case, intention, request, event, ri_case.person):
        url = reverse(f"admin:cases_{obj._meta.model_name}_delete", args=[obj.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Case.objects.filter(pk=ri_case.pk).exists()
    assert TimelineEvent.objects.filter(pk=event.pk).exists()


def test_timeline_events_cannot_be_added_or_changed(admin_client, ri_case):
    """The timeline admin is a read-only list."""
    event = TimelineEvent.objects.filter(case=ri_case).first()
    assert admin_client.get(reverse("admin:cases_timelineevent_add")).status_code == 403
    assert admin_client.post(change_url(event), {"summary": "rewritten"}).status_code == 403
    listing = admin_client.get(reverse("admin:cases_timelineevent_changelist"), {"q": "opened"})
    assert list(listing.context["cl"].result_list) == [event]


# --------------------------------------------------------------------------------------------
# Persons, parties
# --------------------------------------------------------------------------------------------


def test_person_names_are_saved_through_person_update(admin_client, admin_user, ri_case):
    """Editing name variants and fields gives one person.updated event on the case."""
    person = ri_case.person
    response = admin_client.get(change_url(person))
    data = form_data(response)
    new_row(response, services.PersonName, data, value="Yi", script="latin", romanisation="revised")
    data["rank"] = "Private"
    data["reason"] = "From the interview"

    response = admin_client.post(change_url(person), data)

    assert response.status_code == 302, errors_text(response)
    person.refresh_from_db()
    assert person.rank == "Private"
    assert [n.value for n in person.names.all()] == ["리", "Lee", "Yi"]
    event = TimelineEvent.objects.filter(person=person).latest("id")
    assert (event.kind, event.case, event.actor) == ("person.updated", ri_case, admin_user)
    assert set(event.changes) == {"rank", "names"}
    assert _changelist_results(admin_client, q="Yi") == [ri_case]


def test_stale_person_save_is_refused(admin_client, ri_case):
    """The person form refuses a save over a newer version too."""
    person = ri_case.person
    response = admin_client.get(change_url(person))
    data = form_data(response)
    services.person_update(actor=factories.SYSTEM, person=person, rank="Sergeant")
    data["rank"] = "Private"

    response = admin_client.post(change_url(person), data)

    assert response.status_code == 200
    assert "tests changed this person" in errors_text(response)
    person.refresh_from_db()
    assert person.rank == "Sergeant"


def test_person_and_party_add_pages_use_the_services(admin_client):
    """Adding a person or a party writes its created event."""
    response = admin_client.get(reverse("admin:cases_person_add"))
    data = form_data(response)
    data["working_name"] = "Baek"
    new_row(response, services.PersonName, data, value="백", script="hangul")
    response = admin_client.post(reverse("admin:cases_person_add"), data)
    assert response.status_code == 302, errors_text(response)
    person = Person.objects.get(working_name="Baek")
    assert [n.value for n in person.names.all()] == ["백"]
    assert TimelineEvent.objects.get(person=person).kind == "person.created"

    response = admin_client.get(reverse("admin:cases_party_add"))
    data = form_data(response)
    data.update(name="Security Service of Ukraine", kind="agency", country="UA")
    response = admin_client.post(reverse("admin:cases_party_add"), data)
    assert response.status_code == 302, errors_text(response)
    party = Party.objects.get(name="Security Service of Ukraine")
    assert TimelineEvent.objects.get(subject_uuid=party.uuid).kind == "party.created"


def test_autocomplete_finds_a_person_by_any_variant(admin_client, ri_case):
    """The person autocomplete on the case form searches the name variants too."""
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "cases", "model_name": "case", "field_name": "person", "term": "리"},
    )
    assert [item["text"] for item in response.json()["results"]] == ["Ri"]


def test_every_admin_page_renders(admin_client, ri_case):
    """List, add and change pages answer for every model; add is refused where it is off."""
    intention = factories.intention(ri_case)
    request = factories.request(ri_case)
    objects = {
        "case": ri_case,
        "person": ri_case.person,
        "party": ri_case.detaining_party,
        "source": factories.source(),
        "statedintention": intention,
        "request": request,
        "timelineevent": TimelineEvent.objects.filter(case=ri_case).first(),
    }
    no_add = {"statedintention", "timelineevent"}
    for name, obj in objects.items():
        assert admin_client.get(reverse(f"admin:cases_{name}_changelist")).status_code == 200
        add = admin_client.get(reverse(f"admin:cases_{name}_add")).status_code
        assert add == (403 if name in no_add else 200), name
        assert admin_client.get(change_url(obj)).status_code == 200, name


def test_party_change_goes_through_party_update(admin_client, admin_user):
    """Editing a party writes party.updated with the officer and the reason."""
    party = factories.party("Security Service", kind="agency")
    response = admin_client.get(change_url(party))
    data = form_data(response)
    data.update(short_name="SBU", reason="Common abbreviation")

    response = admin_client.post(change_url(party), data)

    assert response.status_code == 302, errors_text(response)
    party.refresh_from_db()
    assert party.short_name == "SBU"
    event = TimelineEvent.objects.filter(subject_uuid=party.uuid).latest("id")
    assert (event.kind, event.actor, event.reason) == (
        "party.updated",
        admin_user,
        "Common abbreviation",
    )


def test_person_search_matches_short_spellings_as_whole_words(admin_client, ri_case):
    """The person list searches name variants by the shared rules: "Lee" (Ri, Li, Yi) finds
    the name Ri, not every name that merely contains "ri" (Dmitriy)."""
    dmitriy = factories.person("Dmitriy Ivanov", names=[NameSpec("Дмитрий Иванов", "cyrillic")])
    url = reverse("admin:cases_person_changelist")
    found = list(admin_client.get(url, {"q": "Lee"}).context["cl"].result_list)
    assert found == [ri_case.person]
    assert dmitriy not in found
    assert list(admin_client.get(url, {"q": "Dmitriy"}).context["cl"].result_list) == [dmitriy]
