"""The sensitive-field rules: who may see, what is withheld from events and objects, names."""

import pytest
from django.contrib.auth.models import AnonymousUser, Permission

from cases.models import Note, Person, PersonName, StatedIntention
from cases.security import sensitive
from cases.services import NameSpec
from tests import factories as f
from tests.support.roles import superuser, user_in_role

pytestmark = pytest.mark.django_db


def test_case_officers_and_superusers_may_view_sensitive_values():
    """Only the permission decides: case officers and superusers hold it, others do not."""
    assert sensitive.can_view_sensitive(user_in_role("case officer", "case_officer"))
    assert sensitive.can_view_sensitive(superuser("root", is_staff=False))
    assert not sensitive.can_view_sensitive(user_in_role("analyst", "analyst"))
    assert not sensitive.can_view_sensitive(user_in_role("integration", "integration"))
    assert not sensitive.can_view_sensitive(AnonymousUser())
    assert not sensitive.can_view_sensitive(None)


def test_an_integration_user_granted_view_sensitive_may_view():
    """The integration role is redacted unless its user also holds the permission."""
    user = user_in_role("integration", "integration")
    user.user_permissions.add(Permission.objects.get(codename="view_sensitive"))
    user = type(user).objects.get(pk=user.pk)  # a fresh permission cache
    assert sensitive.can_view_sensitive(user)


def test_an_inactive_officer_may_not_view():
    """A deactivated account sees nothing sensitive even while it still holds the role."""
    user = user_in_role("case officer", "case_officer")
    user.is_active = False
    assert not sensitive.can_view_sensitive(user)


def test_person_changes_are_withheld_but_the_keys_stay():
    """Medical notes and the other sensitive keys become null; other keys pass through."""
    changes = {
        "medical_notes": ["", "jaw wound"],
        "family_links": [None, "mother in Hamhung"],
        "birth_place": ["", "Hamhung"],
        "service_number": ["", "123"],
        "rank": ["", "private"],
    }
    redacted, withheld = sensitive.redact_event_changes(
        "person.updated", "person", changes, user_in_role("analyst", "analyst")
    )
    assert redacted == {
        "medical_notes": None,
        "family_links": None,
        "birth_place": None,
        "service_number": None,
        "rank": ["", "private"],
    }
    assert withheld == ["birth_place", "family_links", "medical_notes", "service_number"]
    assert changes["medical_notes"] == ["", "jaw wound"], "the input is not changed"


def test_a_names_change_keeps_only_pseudonyms():
    """A names diff loses its non-pseudonymous variants on both sides."""
    changes = {
        "names": [
            [{"value": "리", "script": "hangul", "romanisation": "", "is_pseudonym": False}],
            [
                {"value": "리", "script": "hangul", "romanisation": "", "is_pseudonym": False},
                {"value": "K-7", "script": "latin", "romanisation": "", "is_pseudonym": True},
            ],
        ]
    }
    redacted, withheld = sensitive.redact_event_changes(
        "person.updated", "person", changes, user_in_role("analyst", "analyst")
    )
    assert redacted["names"] == [[], [changes["names"][1][1]]]
    assert withheld == ["names"]


def test_a_names_change_of_pseudonyms_only_is_not_withheld():
    """Nothing is withheld when every variant in the diff is a pseudonym."""
    pseudonym = {"value": "K-7", "script": "latin", "romanisation": "", "is_pseudonym": True}
    changes = {"names": [[], [pseudonym]]}
    redacted, withheld = sensitive.redact_event_changes(
        "person.created", "person", changes, user_in_role("analyst", "analyst")
    )
    assert redacted == changes and withheld == []


def test_quote_and_note_body_are_withheld():
    """A recorded quote and a note's body are withheld; the note's summary too."""
    analyst = user_in_role("analyst", "analyst")
    _, withheld = sensitive.redact_event_changes(
        "intention.recorded", "statedintention", {"quote": [None, "made up our mind"]}, analyst
    )
    assert withheld == ["quote"]
    event = {
        "kind": "note.added",
        "subject_type": "note",
        "summary": "Note: his mother lives in Hamhung",
        "changes": {"body": [None, "his mother lives in Hamhung"]},
    }
    assert sensitive.redact_event(event, analyst) == ["body", "summary"]
    assert event["changes"] == {"body": None}
    assert "Hamhung" not in event["summary"]
    assert event["redacted"] == ["body", "summary"]


def test_officers_get_events_unchanged_and_the_log_list():
    """With the permission nothing is withheld and the sensitive keys shown are reported."""
    officer = user_in_role("case officer", "case_officer")
    events = [
        {
            "kind": "intention.recorded",
            "subject_type": "statedintention",
            "subject_uuid": "u1",
            "summary": "Statement recorded",
            "changes": {"quote": [None, "made up our mind"], "option": [None, "third_state"]},
        },
        {
            "kind": "case.updated",
            "subject_type": "case",
            "subject_uuid": "u2",
            "summary": "Priority changed",
            "changes": {"priority": ["normal", "high"]},
        },
    ]
    shown = sensitive.redact_events(events, officer)
    assert events[0]["changes"]["quote"] == [None, "made up our mind"]
    assert events[0]["redacted"] == [] and events[1]["redacted"] == []
    assert shown == [("statedintention", "u1", ["quote"])]


def test_redact_fields_nulls_every_sensitive_field_even_when_empty():
    """An empty value is withheld like a filled one, so emptiness leaks nothing."""
    data = {
        "working_name": "Ri",
        "medical_notes": "",
        "family_links": "x",
        "birth_place": "",
        "service_number": "",
        "names": [{"value": "리", "is_pseudonym": False}, {"value": "K", "is_pseudonym": True}],
    }
    redacted, shown = sensitive.redact_fields(data, "person", user_in_role("analyst", "analyst"))
    assert data["medical_notes"] is None and data["family_links"] is None
    assert data["names"] == [{"value": "K", "is_pseudonym": True}]
    assert sorted(data["redacted"]) == sorted(
        ["birth_place", "service_number", "family_links", "medical_notes", "names"]
    )
    assert shown == [] and redacted == data["redacted"]


def test_sensitive_values_of_rows():
    """The rows' sensitive values: person fields and hidden names, quotes, note bodies."""
    person = f.person(
        "Ri",
        names=[NameSpec("리", "hangul"), NameSpec("K-7", "latin", is_pseudonym=True)],
        medical_notes="jaw wound",
    )
    person = Person.objects.prefetch_related("names").get(pk=person.pk)
    assert sensitive.sensitive_values(person) == {"medical_notes": "jaw wound", "names": ["리"]}
    hidden, pseudonym = PersonName.objects.filter(person=person).order_by("id")
    assert sensitive.sensitive_values(hidden) == {"value": "리"}
    assert sensitive.sensitive_values(pseudonym) == {}
    case = f.case(person_obj=person)
    intention = f.intention(case, quote="really want to go")
    assert sensitive.sensitive_values(StatedIntention.objects.get(pk=intention.pk)) == {
        "quote": "really want to go"
    }
    assert sensitive.sensitive_values(Note(body="b")) == {"body": "b"}


def test_visible_name_condition():
    """Users without the permission may match pseudonymous variants only."""
    person = f.person(
        "Ri", names=[NameSpec("리", "hangul"), NameSpec("K-7", "latin", is_pseudonym=True)]
    )
    analyst, officer = (
        user_in_role("analyst", "analyst"),
        user_in_role("case officer", "case_officer"),
    )
    rows = PersonName.objects.filter(person=person)
    assert [n.value for n in rows.filter(sensitive.visible_name_condition(analyst))] == ["K-7"]
    assert rows.filter(sensitive.visible_name_condition(officer)).count() == 2


@pytest.mark.parametrize(
    ("query", "hidden", "pseudonym"),
    [
        ("Lee", "Lee Hyon Chol", "Lee-7"),  # a substring spelling
        ("리", "Ri Hyon Chol", "Ri K"),  # a whole-word spelling
        ("Ri", "리현철", "리K"),  # a Hangul name's start
    ],
)
def test_name_search_matches_only_visible_variants(query, hidden, pseudonym):
    """Every kind of spelling searches true names only for users who may see them."""
    secret = f.person("A", names=[NameSpec(hidden, "latin")])
    public = f.person("B", names=[NameSpec(pseudonym, "latin", is_pseudonym=True)])
    analyst, officer = (
        user_in_role("analyst", "analyst"),
        user_in_role("case officer", "case_officer"),
    )
    persons = Person.objects.order_by("pk")
    for user, expected in [(officer, [secret, public]), (analyst, [public]), (None, [public])]:
        assert list(persons.filter(sensitive.visible_name_match(query, "pk", user))) == expected
        rows = sensitive.visible_name_rows(query, user)
        assert sorted(n.person_id for n in rows) == [p.pk for p in expected]
    assert sensitive.visible_name_match("  ", "pk", officer) is None


def test_an_intentions_conditions_are_withheld_but_a_positions_are_not():
    """Conditions are the person's on a statement, a party's on a position."""
    changes = {"conditions": [None, "if jaw surgery is possible"], "option": [None, "home"]}
    shown, withheld = sensitive.redact_event_changes(
        "intention.recorded", "statedintention", changes, None
    )
    assert shown["conditions"] is None and withheld == ["conditions"]
    assert shown["option"] == [None, "home"]
    assert sensitive.event_shows_sensitive("intention.recorded", "statedintention", changes) == [
        "conditions"
    ]
    position = {"conditions": [None, "if they choose"]}
    kept, none = sensitive.redact_event_changes("position.recorded", "position", position, None)
    assert kept == position and none == []
    assert "conditions" in sensitive.ANY_SENSITIVE_CHANGE_KEY
