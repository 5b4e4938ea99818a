"""The admin's change lists accept only the lookups each admin declares, on every admin.

Django's own ``lookup_allowed`` accepts a lookup on any field of the model, so a change
list's row count answers questions such as "does the medical note contain 'jaw'?". Each test
here walks ``admin.site._registry``: an admin registered without ``DeclaredLookupsMixin``, or
one that accepts an undeclared lookup, fails. NUL characters in a search, an autocomplete
term or a filter value are refused or removed, never a server error (PostgreSQL refuses
them in text).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.auth import get_user_model
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse

from cases.admin.cases import CaseAdmin
from cases.admin.mixins import DeclaredLookupsMixin, declared_lookups, lookup_reaches_sensitive
from cases.admin.people import PersonAdmin
from cases.models import Case, Person, StatedIntention, TimelineEvent
from tests import factories as f
from tests.support import roles

pytestmark = pytest.mark.django_db

#: Every registered model admin, by model label (the registry is filled at start-up).
REGISTRY = {model._meta.label: model_admin for model, model_admin in admin.site._registry.items()}
ROLES = ("analyst", "case_officer", "superuser")


def role_user(role: str):
    """Return the staff login holding ``role``'s group (the superuser holds none)."""
    username = role.replace("_", "-")
    user = get_user_model().objects.filter(username=username).first()
    if user is not None:
        return user
    if role == "superuser":
        return roles.superuser(username)
    return roles.user_in_role(role.replace("_", " "), username, is_staff=True)


@pytest.fixture
def world():
    """Ri's case with a medical note, a quote and a note, and a signed-in client per role."""
    person = f.person("Ri", medical_notes="gunshot wound to the jaw")
    case = f.case(reference="UA-2025-0001", person_obj=person)
    f.intention(case, quote="I want to go to South Korea")
    from cases import services

    services.note_add(actor=f.SYSTEM, case=case, body="Asked about jaw surgery")
    clients = {}
    for role in ROLES:
        clients[role] = Client()
        clients[role].force_login(role_user(role))
    return {"case": case, "person": person, "clients": clients}


def changelist_url(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def probes(model) -> list[tuple[str, str]]:
    """Return lookups on every concrete field of ``model`` that no admin should accept.

    Each field is tried bare, with ``icontains``, with ``gte`` and with a broken regular
    expression; a JSON field also with a key path and a comparison on it.
    """
    found: list[tuple[str, str]] = []
    for field in model._meta.concrete_fields:
        found += [
            (field.name, "x"),
            (f"{field.name}__icontains", "x"),
            (f"{field.name}__gte", "x"),
            (f"{field.name}__regex", "((("),
        ]
        if isinstance(field, models.JSONField):
            found += [
                (f"{field.name}__names__1__0__value__gte", "x"),
                (f"{field.name}__medical_notes__0__icontains", "jaw"),
            ]
    return found


#: Lookups across relations from the issue's reproductions, per model.
RELATED_PROBES = {
    "cases.Case": [
        ("person__medical_notes__icontains", "jaw"),
        ("person__names__value", "리"),
        ("person__names__value__gte", "ㄱ"),
    ],
    "cases.Person": [("names__value__icontains", "Lee"), ("cases__notes__body__icontains", "jaw")],
    "cases.StatedIntention": [("case__person__medical_notes__icontains", "jaw")],
    "cases.TimelineEvent": [
        ("changes__names__1__0__value__gte", "ㄱ"),
        ("changes__medical_notes__1__icontains", "jaw"),
        ("summary__icontains", "jaw"),
    ],
    "auth.User": [("password__startswith", "pbkdf2"), ("password__regex", "(((")],
}


def undeclared_accepted(model_admin, request) -> list[str]:
    """Return the probe lookups ``model_admin`` accepts that it does not declare."""
    model = model_admin.model
    declared = declared_lookups(model_admin, request)
    tried = probes(model) + RELATED_PROBES.get(model._meta.label, [])
    return [
        lookup
        for lookup, value in tried
        if lookup not in declared and model_admin.lookup_allowed(lookup, value, request)
    ]


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_walk_catches_an_admin_without_the_mixin():
    """A plain ModelAdmin accepts lookups on sensitive fields; the walk's check names them."""
    plain = admin.ModelAdmin(Person, admin.AdminSite())
    accepted = undeclared_accepted(plain, _request(role_user("analyst")))
    assert "medical_notes__icontains" in accepted
    assert "medical_notes__regex" in accepted


@pytest.mark.parametrize("label", sorted(REGISTRY))
def test_every_admin_carries_the_mixin_and_accepts_no_undeclared_lookup(label):
    """Every registered admin declares the mixin, searches through it and accepts nothing
    undeclared, for any role."""
    model_admin = REGISTRY[label]
    assert isinstance(model_admin, DeclaredLookupsMixin), f"{label} admin lacks the mixin"
    # An admin that overrides get_search_results would skip the NUL clean-up.
    assert type(model_admin).get_search_results is DeclaredLookupsMixin.get_search_results
    for role in ROLES:
        assert undeclared_accepted(model_admin, _request(role_user(role))) == []


@pytest.mark.parametrize("label", sorted(REGISTRY))
def test_every_change_list_answers_undeclared_lookups_with_400(world, label):
    """Through the test client, as analyst, case officer and superuser: every undeclared
    lookup on every field is a 400 (Django's DisallowedModelAdminLookup), never a count."""
    model_admin = REGISTRY[label]
    model = model_admin.model
    url = changelist_url(model)
    tried = probes(model) + RELATED_PROBES.get(label, [])
    for role, client in world["clients"].items():
        declared = declared_lookups(model_admin, _request(role_user(role)))
        plain = client.get(url).status_code
        assert plain in (200, 403), (role, plain)
        for lookup, value in tried:
            response = client.get(url, {lookup: value})
            if plain == 403:
                assert response.status_code == 403, (role, lookup)
            elif lookup in declared:
                assert response.status_code in (200, 302), (role, lookup)
            else:
                assert response.status_code == 400, (role, lookup, response.status_code)


def built_filter_parameters(model_admin, request) -> set[str]:
    """Build every list filter of ``model_admin`` as Django's change list does; return the
    parameters they read (shown or not: a filter with one choice is hidden but still reads)."""
    read: set[str] = set()
    model = model_admin.model
    for item in model_admin.get_list_filter(request):
        if isinstance(item, type) and issubclass(item, admin.SimpleListFilter):
            spec = item(request, {}, model, model_admin)
        else:
            path, filter_class = item if isinstance(item, list | tuple) else (item, None)
            field = get_fields_from_path(model, path)[-1]
            build = filter_class or admin.FieldListFilter.create
            spec = build(field, request, {}, model, model_admin, field_path=path)
        read |= set(spec.expected_parameters())
    return read


def test_declared_lookups_are_those_the_filters_read(world):
    """The declared lookups of each admin are exactly the parameters its filters read, plus
    the date hierarchy's year, month and day, so every declared filter keeps working."""
    request = _request(role_user("superuser"))
    for label, model_admin in REGISTRY.items():
        expected = set(declared_lookups(model_admin, request))
        if model_admin.date_hierarchy:
            expected -= {f"{model_admin.date_hierarchy}__{p}" for p in ("year", "month", "day")}
        assert built_filter_parameters(model_admin, request) == expected, label


@pytest.mark.parametrize("label", sorted(REGISTRY))
def test_declared_filters_work_and_survive_odd_values(world, label):
    """Each declared parameter with a real-looking or odd value answers 200 or Django's
    redirect for invalid parameters, never a server error."""
    model_admin = REGISTRY[label]
    url = changelist_url(model_admin.model)
    client = world["clients"]["superuser"]
    declared = declared_lookups(model_admin, _request(role_user("superuser")))
    for lookup in sorted(declared):
        for value in ("1", "0", "x", "-1", "99999999999999999999", "2025-01-09", "True"):
            response = client.get(url, {lookup: value})
            assert response.status_code in (200, 302, 400), (lookup, value)


def test_a_case_officer_filters_cases_by_declared_filters(world):
    """Declared filters still filter: status and the archived filter count rows."""
    client = world["clients"]["case_officer"]
    status = world["case"].status
    response = client.get(changelist_url(Case), {"status__exact": status})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = client.get(changelist_url(Case), {"status__exact": "repatriated"})
    assert response.context["cl"].result_count == 0


def test_the_issue_oracles_are_closed(world):
    """The reproductions: medical notes by count, a true name by comparison, the regex 500."""
    analyst = world["clients"]["analyst"]
    for url, query in [
        (changelist_url(Person), {"medical_notes__icontains": "jaw"}),
        (changelist_url(Person), {"medical_notes__regex": "((("}),
        (changelist_url(TimelineEvent), {"changes__names__1__0__value__gte": "ㄱ"}),
        (changelist_url(StatedIntention), {"quote__icontains": "Korea"}),
    ]:
        response = analyst.get(url, query)
        assert response.status_code == 400
        assert "cl" not in (response.context or {})


def test_a_declared_sensitive_filter_is_refused_without_the_permission():
    """Were a sensitive field declared as a filter, only a user who may see it could use it."""
    leaky = type("LeakyPersonAdmin", (PersonAdmin,), {"list_filter": ("medical_notes",)})
    model_admin = leaky(Person, admin.AdminSite())
    analyst = _request(role_user("analyst"))
    officer = _request(role_user("case_officer"))
    assert not model_admin.lookup_allowed("medical_notes", "jaw", analyst)
    assert model_admin.lookup_allowed("medical_notes", "jaw", officer)
    related = type("LeakyCaseAdmin", (CaseAdmin,), {"list_filter": ("person__names__value",)})
    model_admin = related(Case, admin.AdminSite())
    assert not model_admin.lookup_allowed("person__names__value", "리", analyst)
    assert model_admin.lookup_allowed("person__names__value", "리", officer)


def test_lookup_reaches_sensitive_follows_relations():
    """The sensitive check follows foreign keys and reverse relations to the field."""
    assert lookup_reaches_sensitive(Case, "person__medical_notes__icontains")
    assert lookup_reaches_sensitive(Case, "person__names__value")
    assert lookup_reaches_sensitive(Case, "notes__body")
    assert lookup_reaches_sensitive(Case, "intentions__quote__gte")
    assert lookup_reaches_sensitive(TimelineEvent, "changes__names__1")
    assert not lookup_reaches_sensitive(Case, "status__exact")
    assert not lookup_reaches_sensitive(Case, "person__working_name")
    assert not lookup_reaches_sensitive(Case, "detaining_party__id__exact")


def test_date_hierarchy_out_of_range_is_a_400_not_a_500(world):
    """Year 9999 or month 13 would overflow Django's period bounds; both are refused."""
    client = world["clients"]["superuser"]
    url = changelist_url(TimelineEvent)
    for query in (
        {"recorded_at__year": "9999"},
        {"recorded_at__year": "2025", "recorded_at__month": "13"},
        {"recorded_at__year": "0"},
        {"recorded_at__year": "x"},
    ):
        assert client.get(url, query).status_code == 400, query
    assert (
        client.get(url, {"recorded_at__year": "9998", "recorded_at__month": "12"}).status_code
        == 200
    )
    response = client.get(
        url, {"recorded_at__year": "2025", "recorded_at__month": "2", "recorded_at__day": "31"}
    )
    assert response.status_code == 302  # Django's "invalid parameters" redirect


# --------------------------------------------------------------------------------------------
# NUL characters
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", sorted(REGISTRY))
def test_nul_in_search_and_filter_values_is_a_clear_400(world, label):
    """``q``, every declared filter parameter and any parameter name with a NUL: 400 with a
    message saying what to fix."""
    model_admin = REGISTRY[label]
    url = changelist_url(model_admin.model)
    client = world["clients"]["superuser"]
    declared = declared_lookups(model_admin, _request(role_user("superuser")))
    for query in [{"q": "\x00"}, {"q": "Ri\x00"}, {"x\x00": "1"}] + [
        {lookup: "a\x00"} for lookup in sorted(declared)
    ]:
        response = client.get(url, query)
        assert response.status_code == 400, query
        assert "NUL" in response.content.decode()


def test_nul_in_every_autocomplete_term_is_removed(world):
    """Every autocomplete field of every admin answers a term with a NUL as the term without
    it: 200 and the same results."""
    client = world["clients"]["superuser"]
    tried = 0
    for model, model_admin in admin.site._registry.items():
        fields = list(model_admin.autocomplete_fields)
        for inline in model_admin.inlines:
            fields += [(inline.model, name) for name in inline.autocomplete_fields]
        for item in fields:
            source_model, field_name = item if isinstance(item, tuple) else (model, item)
            params = {
                "app_label": source_model._meta.app_label,
                "model_name": source_model._meta.model_name,
                "field_name": field_name,
            }
            clean = client.get("/admin/autocomplete/", {**params, "term": "Ri"})
            dirty = client.get("/admin/autocomplete/", {**params, "term": "R\x00i"})
            assert clean.status_code == dirty.status_code == 200, params
            assert clean.json() == dirty.json(), params
            assert client.get("/admin/autocomplete/", {**params, "term": "\x00"}).status_code == 200
            tried += 1
    assert tried >= 8  # case, person, party and source fields on several admins and inlines
