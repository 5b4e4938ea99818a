"""The access policy (cases/security/policy.py): its table by role, and the pages and API
asking it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from cases.security import sensitive
from cases.security.policy import filter_names, filtered_fields, order_names, policy_for
from tests.support.clients import token_client
from tests.support.roles import superuser, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

MODELS = ["case", "person", "party", "source", "statedintention", "request"]


def account(role: str | None, username: str | None = None, **kwargs):
    """Return an account holding ``role`` (None: no role; "superuser": a superuser)."""
    if role == "superuser":
        return superuser(username or "root", is_staff=False)
    return user_in_role(role, username or (role or "nobody").replace(" ", "-"), **kwargs)


# role -> (pages, export, sensitive shown, changes case data, second factor)
TABLE = {
    None: (False, False, False, False, False),
    "integration": (True, False, False, False, False),
    "analyst": (True, True, False, False, False),
    "case officer": (True, True, True, True, True),
    "superuser": (True, True, True, True, True),
}


@pytest.mark.parametrize("role", list(TABLE), ids=lambda r: str(r))
def test_the_policy_table_by_role(role):
    """The table docs/security.md prints under "Access policy"."""
    policy = policy_for(account(role))
    pages, export, shown, writes, second = TABLE[role]
    assert policy.may_use_pages is pages
    assert policy.may_export is export
    assert policy.sees_sensitive is shown
    assert policy.logs_reads is shown
    assert policy.searches_hidden_names is shown
    assert policy.may_change_case_data is writes
    assert policy.needs_second_factor is second
    for model in MODELS:
        assert policy.may_read(model) is (role is not None)
        expected = () if shown else tuple(sensitive.SENSITIVE_FIELDS.get(model, ()))
        assert policy.hidden_fields(model) == expected


def test_anonymous_may_do_nothing():
    from django.contrib.auth.models import AnonymousUser

    policy = policy_for(AnonymousUser())
    assert not policy.may_use_pages and not policy.may_read("case")
    assert not policy.sees_sensitive and not policy.needs_second_factor
    assert not policy.may_filter("case", "status")


def test_staff_status_alone_needs_a_second_factor():
    assert policy_for(account(None, "staffer", is_staff=True)).needs_second_factor


@pytest.mark.parametrize("model", MODELS)
def test_no_declared_filter_or_ordering_reads_a_sensitive_field(model):
    """Lists filter and sort only on what every reader may see; the name search is the one
    path to name variants, and it covers hidden ones only for those who may see them."""
    hidden = set(sensitive.SENSITIVE_FIELDS.get(model, ()))
    assert not filtered_fields(model) & hidden
    assert not order_names(model) & hidden
    assert "ordering" not in filter_names(model)


def test_filters_and_ordering_are_those_of_the_shared_filtersets():
    analyst = policy_for(account("analyst"))
    assert analyst.may_filter("case", "status") and analyst.may_filter("case", "q")
    assert not analyst.may_filter("case", "medical_notes")
    assert not analyst.may_filter("person", "names__value")
    assert analyst.may_order("case", "-reference") and not analyst.may_order("case", "quote")
    assert not policy_for(account(None)).may_filter("case", "status")


def test_refused_write_fields():
    integration = policy_for(account("integration"))
    assert integration.refused_write_fields("person", {"working_name": "Ri"}) == []
    assert integration.refused_write_fields(
        "person", {"medical_notes": "", "birth_place": "x"}
    ) == ["birth_place", "medical_notes"]
    pseudonym = [{"value": "Ri", "script": "latin", "is_pseudonym": True}]
    true_name = [{"value": "리", "script": "hangul"}]
    assert integration.refused_write_fields("person", {"names": pseudonym}) == []
    assert integration.refused_write_fields("person", {"names": true_name}) == ["names"]
    assert integration.refused_write_fields("statedintention", {"conditions": "x"}) == [
        "conditions"
    ]
    assert integration.refused_write_fields("case", {"reference": "X"}) == []
    officer = policy_for(account("case officer"))
    assert officer.refused_write_fields("person", {"names": true_name, "medical_notes": ""}) == []


# ------------------------------------------------------------------------------------------
# Pages need a role; a removal takes effect at the next request
# ------------------------------------------------------------------------------------------


def page_paths(case) -> list[str]:
    return [
        "/cases/",
        f"/cases/{case.uuid}/",
        "/cases/export.csv",
        "/cases/export.xlsx",
        "/cases/?format=csv",
    ]


def test_an_account_with_no_role_gets_403_on_every_page_and_anonymous_the_login():
    ri, _baek = ri_and_baek()
    nobody = Client()
    nobody.force_login(account(None))
    anonymous = Client()
    for path in page_paths(ri):
        response = nobody.get(path)
        assert response.status_code == 403, path
        assert b"UA-2025-0001" not in response.content
        redirect = anonymous.get(path)
        assert redirect.status_code == 302 and redirect["Location"].startswith("/accounts/login/")


def test_removal_from_the_group_takes_effect_at_the_next_request_for_sessions_and_tokens():
    """No permission outlives the request that read it: the session's and the token's user
    is loaded afresh each time, and with it Django's permission cache."""
    ri, _baek = ri_and_baek()
    analyst = account("analyst")
    browser = Client()
    browser.force_login(analyst)
    api, _token = token_client(analyst)
    assert browser.get(f"/cases/{ri.uuid}/").status_code == 200
    assert browser.get("/cases/export.csv").status_code == 200
    assert api.get("/api/v1/cases/").status_code == 200
    assert api.get("/api/v1/events/").status_code == 200
    analyst.groups.clear()
    assert browser.get(f"/cases/{ri.uuid}/").status_code == 403
    assert browser.get("/cases/").status_code == 403
    assert browser.get("/cases/export.csv").status_code == 403
    assert api.get("/api/v1/cases/").status_code == 403
    assert api.get("/api/v1/events/").status_code == 403


def test_losing_the_sensitive_permission_withholds_at_the_next_request():
    ri, _baek = ri_and_baek()
    officer = account("case officer")
    api, _token = token_client(officer)
    url = f"/api/v1/persons/{ri.person.uuid}/"
    assert any(n["value"] == "리" for n in api.get(url).json()["names"])
    officer.groups.set([Group.objects.get(name="integration")])
    assert not any(n["value"] == "리" for n in api.get(url).json()["names"])
