"""Every path that can record a statement's level refuses 'verified' without the private
interview it was taken in, and takes it with one.

The paths: the services (record and supersede), the API (create, and the change of mind
that replaces a statement: statements are never patched), the admin's case page (a new
statement, and one that supersedes another; the statements' own admin pages add and change
nothing), the seed loader, the demo generator and the handover's reconfirmation (which
needs no visit: the handover is the occasion). Imports carry no statements.
"""

from __future__ import annotations

import copy
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cases import services
from cases.imports import parsing
from cases.models import Case, Interview, StatedIntention, TimelineEvent
from cases.seed import DEFAULT_SEED_PATH, load_seed
from tests import factories as f
from tests.support import clients, timeline
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.visits.conftest import DAY, verified_fields

pytestmark = pytest.mark.django_db


def _staff(user):
    """Let ``user`` into the admin (the roles grant permissions, not the staff flag)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


NEEDS_INTERVIEW = "needs the private interview it was taken in"


# -- services ---------------------------------------------------------------------------------


def test_the_service_refuses_verified_without_an_interview_and_takes_it_with_one(ri, seen):
    """``intention_record``: refused, nothing written; with the interview, recorded."""
    with timeline.assert_no_event(), pytest.raises(ValidationError, match=NEEDS_INTERVIEW):
        services.intention_record(actor=f.SYSTEM, case=ri, **verified_fields())
    with timeline.assert_one_event(kind="intention.recorded", case=ri) as new:
        statement = services.intention_record(
            actor=f.SYSTEM, case=ri, interview=seen, **verified_fields()
        )
    assert statement.interview == seen and statement.verification == "verified"
    assert new.event.changes["interview"][1]["uuid"] == str(seen.uuid)


def test_reconfirmed_away_from_a_handover_needs_the_interview_too(ri, seen):
    """A reconfirmation outside a handover is heard in a visit like any verified statement."""
    services.intention_record(actor=f.SYSTEM, case=ri, interview=seen, **verified_fields())
    with pytest.raises(ValidationError, match=NEEDS_INTERVIEW):
        services.intention_record(
            actor=f.SYSTEM, case=ri, **verified_fields(verification="reconfirmed")
        )
    again = services.intention_record(
        actor=f.SYSTEM, case=ri, interview=seen, **verified_fields(verification="reconfirmed")
    )
    assert again.verification == "reconfirmed"


def test_superseding_with_a_verified_statement_needs_the_interview(ri, seen):
    """A change of mind recorded at 'verified' names its interview as a new statement does."""
    old = f.intention(ri, stated_on=DAY.replace(day=1, month=2))
    with timeline.assert_no_event(), pytest.raises(ValidationError, match=NEEDS_INTERVIEW):
        services.intention_supersede(actor=f.SYSTEM, intention=old, **verified_fields())
    new = services.intention_supersede(
        actor=f.SYSTEM, intention=old, interview=seen, **verified_fields()
    )
    assert new.supersedes == old and new.interview == seen


@pytest.mark.parametrize(
    ("interview_is", "overrides", "rule"),
    [
        ("of another case", {}, "of another case"),
        ("not private", {}, "held in private"),
        ("by a party not neutral", {}, "neutral body"),
        ("on another day", {}, "the visit it was taken in was on"),
        ("the ICRC's", {"heard_by": "korea"}, "interview was held by"),
        ("the ICRC's", {"interpreter": "korea"}, "supplying the interpreter"),
    ],
)
def test_the_interview_must_support_the_level_and_agree_with_the_statement(
    ri, ukraine, icrc, interview_is, overrides, rule
):
    """Each rule of the interview refuses 'verified' and names itself."""
    korea = f.party("Republic of Korea", country="KR")
    case = ri
    if interview_is == "of another case":
        other = f.case(
            reference="UA-2025-0002", person_obj=f.person("Baek"), detaining_party=ukraine
        )
        interview = f.private_interview(other, on=DAY)
    elif interview_is == "not private":
        interview = f.private_interview(ri, on=DAY, in_private=False)
    elif interview_is == "by a party not neutral":
        interview = f.private_interview(ri, on=DAY, visiting_body=korea)
    elif interview_is == "on another day":
        interview = f.private_interview(ri, on=DAY.replace(day=2))
    else:
        interview = f.private_interview(ri, on=DAY)
    fields = verified_fields()
    if overrides.get("heard_by") == "korea":
        fields["heard_by"] = korea
    if overrides.get("interpreter") == "korea":
        fields["interpreter_supplied_by"] = korea
        Interview.objects.filter(pk=interview.pk).update(interpreter_supplied_by=ukraine)
        interview.refresh_from_db()
    with timeline.assert_no_event(), pytest.raises(ValidationError, match=rule):
        services.intention_record(actor=f.SYSTEM, case=case, interview=interview, **fields)


def test_a_lower_level_may_name_an_interview_but_not_contradict_it(ri, seen):
    """'stated' needs no interview; one named must still be of the same day."""
    fields = verified_fields(verification="stated", setting="official_interview")
    assert services.intention_record(actor=f.SYSTEM, case=ri, interview=seen, **fields)
    with pytest.raises(ValidationError, match="the visit it was taken in was on"):
        services.intention_record(
            actor=f.SYSTEM,
            case=ri,
            interview=seen,
            **{**fields, "stated_on": DAY.replace(day=3)},
        )


def test_a_statement_stored_before_the_rule_keeps_its_level_at_the_gate(ri):
    """A verified row with no interview (stored before the rule) still opens the gate."""
    from cases import consent

    statement = f.verified_wish(ri, "third_state", "KR")
    StatedIntention.objects.filter(pk=statement.pk).update(interview=None)
    decision = consent.check(Case.objects.get(pk=ri.pk), consent.Move("third_state", "KR"))
    assert decision.passed, decision.problems


def test_the_reconfirmation_at_a_handover_needs_no_visit(ukraine):
    """The handover is the occasion: its reconfirmation is recorded without an interview."""
    case = f.case(person_obj=f.person("Kim"), detaining_party=ukraine)
    f.verified_wish(case, "third_state", "KR")
    korea = f.party("Republic of Korea", country="KR")
    transfer = f.advance_request(
        f.request(case, kind="third_state_transfer", addressed_to=korea), "scheduled"
    )
    f.advance_case(case, "release_approved")
    handover = f.handover(
        transfer,
        reconfirmation={
            "heard_by": f.neutral_party(),
            "detaining_power_present": "no",
            "options_explained": True,
        },
    )
    assert handover.reconfirmation.verification == "reconfirmed"
    assert handover.reconfirmation.interview is None


# -- API --------------------------------------------------------------------------------------


def _body(case, **extra) -> dict:
    fields = verified_fields()
    body = {
        **{k: v for k, v in fields.items() if k != "heard_by"},
        "stated_on": DAY.isoformat(),
        "heard_by": str(fields["heard_by"].uuid),
        "case": str(case.uuid),
    }
    body.update(extra)
    return body


def test_the_api_refuses_verified_without_an_interview(ri, seen, officer_client):
    """POST /intentions/: 400 naming the interview; with it, 201 and the link served."""
    with timeline.assert_no_event():
        refused = officer_client.post(
            "/api/v1/intentions/", _body(ri), format="json", HTTP_IDEMPOTENCY_KEY="v-1"
        )
    assert refused.status_code == 400, refused.content
    assert NEEDS_INTERVIEW in refused.content.decode()
    created = officer_client.post(
        "/api/v1/intentions/",
        _body(ri, interview=str(seen.uuid)),
        format="json",
        HTTP_IDEMPOTENCY_KEY="v-2",
    )
    assert created.status_code == 201, created.content
    assert created.json()["interview"] == str(seen.uuid)
    detail = officer_client.get(f"/api/v1/cases/{ri.uuid}/").json()
    assert [row["interview"] for row in detail["intentions"]] == [str(seen.uuid)]


def test_the_api_changes_a_statement_only_by_superseding_it(ri, seen, officer_client):
    """PATCH is not allowed; the replacing statement needs the interview at 'verified'."""
    old = f.intention(ri, stated_on=DAY.replace(month=2))
    patched = officer_client.patch(
        f"/api/v1/intentions/{old.uuid}/",
        {"verification": "verified", "version": 1},
        format="json",
    )
    assert patched.status_code == 405
    body = _body(ri, supersedes=str(old.uuid))
    refused = officer_client.post(
        "/api/v1/intentions/", body, format="json", HTTP_IDEMPOTENCY_KEY="v-3"
    )
    assert refused.status_code == 400 and NEEDS_INTERVIEW in refused.content.decode()
    body["interview"] = str(seen.uuid)
    taken = officer_client.post(
        "/api/v1/intentions/", body, format="json", HTTP_IDEMPOTENCY_KEY="v-4"
    )
    assert taken.status_code == 201, taken.content
    assert StatedIntention.objects.get(pk=old.pk).state == "superseded"


# -- admin ------------------------------------------------------------------------------------


def _admin_statement(client, case, **values):
    response = client.get(change_url(case))
    data = form_data(response)
    fields = verified_fields()
    new_row(
        response,
        StatedIntention,
        data,
        option=fields["option"],
        destination_country=fields["destination_country"],
        stated_on=DAY.isoformat(),
        stated_on_precision="day",
        setting=fields["setting"],
        heard_by=fields["heard_by"].pk,
        detaining_power_present="no",
        options_explained="on",
        verification="verified",
        **values,
    )
    return client.post(change_url(case), data)


def test_the_admin_case_page_refuses_verified_without_an_interview(ri, seen, officer):
    """A new statement on the case page: the form shows the rule; with it, it is saved."""
    client = clients.session_client(_staff(officer))
    with timeline.assert_no_event():
        refused = _admin_statement(client, ri)
    assert refused.status_code == 200
    assert NEEDS_INTERVIEW in refused.content.decode()
    saved = _admin_statement(client, ri, interview=seen.pk)
    assert saved.status_code == 302, errors_text(saved)
    assert StatedIntention.objects.get(case=ri).interview == seen


def test_the_admin_case_page_supersedes_only_with_the_interview(ri, seen, officer):
    """A statement replacing another (the admin's change of a statement) needs it too."""
    old = f.intention(ri, stated_on=DAY.replace(month=2))
    client = clients.session_client(_staff(officer))
    refused = _admin_statement(client, ri, supersedes=old.pk)
    assert refused.status_code == 200 and NEEDS_INTERVIEW in refused.content.decode()
    assert StatedIntention.objects.get(pk=old.pk).state == "active"
    saved = _admin_statement(client, ri, supersedes=old.pk, interview=seen.pk)
    assert saved.status_code == 302, errors_text(saved)
    assert StatedIntention.objects.get(pk=old.pk).state == "superseded"


def test_the_statements_own_admin_pages_add_and_change_nothing(ri, officer):
    """Statements are recorded on the case page only: their add page is refused and their
    change page saves nothing."""
    statement = f.intention(ri)
    client = clients.session_client(_staff(officer))
    assert client.get(reverse("admin:cases_statedintention_add")).status_code == 403
    url = reverse("admin:cases_statedintention_change", args=[statement.pk])
    with timeline.assert_no_event():
        client.post(url, {"verification": "verified"})
    assert StatedIntention.objects.get(pk=statement.pk).verification == "stated"


# -- seed, demo, imports ----------------------------------------------------------------------


def test_the_seed_loader_refuses_a_verified_statement_without_an_interview(tmp_path):
    """A seed step at 'verified' goes through the service and is refused; nothing stays."""
    data = json.loads(DEFAULT_SEED_PATH.read_text())
    data = copy.deepcopy(data)
    step = next(s for s in data["story"] if s["action"] == "intention")
    step.update(
        setting="private_neutral_interview",
        heard_by="International Committee of the Red Cross",
        heard_by_role="delegate",
        detaining_power_present="no",
        options_explained=True,
        verification="verified",
    )
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValidationError, match=NEEDS_INTERVIEW):
        load_seed(path)
    assert not TimelineEvent.objects.exists() and not Case.objects.exists()


def test_the_demo_takes_every_verified_statement_in_a_private_interview():
    """Every verified statement the generator writes names an interview that earns it;
    every reconfirmation without one was taken at a handover."""
    from cases import consent, demo

    demo.generate(cases=40, seed=7)
    statements = StatedIntention.objects.filter(verification__in=["verified", "reconfirmed"])
    assert statements.filter(verification="verified").exists()
    for statement in statements.select_related("interview__visit__visiting_body", "case"):
        if statement.interview_id is None:
            assert statement.verification == "reconfirmed", statement
            assert hasattr(statement, "handover_reconfirmed"), statement
            continue
        assert consent.interview_problems(statement, level=statement.verification) == []


def test_imports_carry_no_statement():
    """A list import writes persons and cases, never a statement or its level."""
    assert not {"verification", "setting", "interview", "option"} & set(parsing.FIELDS)


def test_the_factory_day_is_today_for_verified_wishes(ri):
    """The factory takes a verified wish in an interview of the same day (today)."""
    statement = f.verified_wish(ri, "return_home")
    assert statement.interview.visit.visited_on == timezone.localdate() == statement.stated_on
