"""Every path that can store a gated status goes through the consent gate.

A gated status is a case becoming ``repatriated`` or ``transferred_third_state``, or a request
whose execution moves the person (``consent.move_for_request``) becoming ``executed``. The
models refuse to store one without the pass ``consent.require`` grants; these tests walk the
ORM, the services, the API's routes, the admin's actions and forms and the management
commands, and fail when a new path appears that is not listed here and shown gated.
"""

import ast
import inspect
import json
import random
from pathlib import Path

import pytest
from django.contrib import admin
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from cases import consent, demo, services
from cases.choices import CaseStatus as CS
from cases.choices import RequestStatus as RS
from cases.consent import ConsentNotAsked, ConsentRefused
from cases.models import Case, Request, TimelineEvent
from cases.seed import DEFAULT_SEED_PATH
from cases.timeline import sinks
from tests import factories
from tests.consent.test_consent import _at_release, _case
from tests.support import roles
from tests.support.admin import change_url, errors_text, form_data
from tests.support.clients import api_client, token_client

pytestmark = pytest.mark.django_db

SYSTEM = factories.SYSTEM
TODAY = timezone.localdate
RETURN = consent.Move("return_home")
KR_TRANSFER = consent.Move("third_state", "KR")
#: Each gated case status, and the move a pass for it names.
GATED_CASE = {CS.REPATRIATED: RETURN, CS.TRANSFERRED_THIRD_STATE: KR_TRANSFER}
#: Request kinds whose execution moves the person (held by Ukraine, a DPRK national).
MOVING_KINDS = {
    "repatriation": "",
    "direct_medical_repatriation": "",
    "exchange_inclusion": "",
    "third_state_transfer": "KR",
    "medical_treatment": "KR",
}


def _gated_rows() -> tuple[int, int]:
    """Return how many cases and moving requests are stored in a gated status."""
    cases = Case.objects.filter(status__in=list(GATED_CASE)).count()
    executed = Request.objects.filter(status=RS.EXECUTED).select_related(
        "case__detaining_party", "case__person__power_depends_on"
    )
    return cases, sum(1 for r in executed if consent.move_for_request(r) is not None)


def _snapshot():
    return (
        TimelineEvent.objects.count(),
        list(Case.objects.values_list("pk", "status", "version").order_by("pk")),
        list(Request.objects.values_list("pk", "status", "version").order_by("pk")),
    )


def _scheduled(case, kind, destination=""):
    extra = {"destination_country": destination} if destination else {}
    request = factories.advance_request(factories.request(case, kind=kind, **extra), RS.SCHEDULED)
    factories.receiving_authority_for(request)  # on file before a refusal's snapshot
    return request


@pytest.fixture
def world():
    """A case at release_approved with an unverified wish, and a scheduled request per kind."""
    case = _at_release(_case())
    factories.intention(case, stated_on=TODAY())  # an unverified "South Korea"
    requests = {kind: _scheduled(case, kind, dest) for kind, dest in MOVING_KINDS.items()}
    family = _scheduled(case, "family_contact")
    return Case.objects.get(pk=case.pk), requests, family


def _verified(case, move):
    factories.verified_wish(case, move.option, move.destination, stated_on=TODAY())
    return Case.objects.get(pk=case.pk)


# --------------------------------------------------------------------------------------------
# The ORM: every way to write the column
# --------------------------------------------------------------------------------------------


def _case_writes(case, status):
    """Return each ORM way to store ``status`` on ``case`` (a fresh copy each time)."""

    def save():
        row = Case.objects.get(pk=case.pk)
        row.status = status
        row.save()

    def save_fields():
        row = Case.objects.get(pk=case.pk)
        row.status = status
        row.save(update_fields=["status"])

    def update():
        Case.objects.filter(pk=case.pk).update(status=status)

    def bulk_update():
        row = Case.objects.get(pk=case.pk)
        row.status = status
        Case.objects.bulk_update([row], ["status"])

    def deferred_then_save():
        row = Case.objects.only("pk", "reference").get(pk=case.pk)
        row.status = status
        row.save()

    def base_manager_update():
        Case._base_manager.filter(pk=case.pk).update(status=status)

    def related_update():
        case.person.cases.filter(pk=case.pk).update(status=status)

    return {
        "save": save,
        "save(update_fields)": save_fields,
        "update": update,
        "bulk_update": bulk_update,
        "deferred save": deferred_then_save,
        "base manager update": base_manager_update,
        "related manager update": related_update,
    }


@pytest.mark.parametrize("status", list(GATED_CASE))
def test_every_orm_write_of_a_gated_case_status_needs_the_pass(world, status):
    """save, update, bulk_update and a deferred save are refused without a pass."""
    case, _, _ = world
    before = _snapshot()
    for how, write in _case_writes(case, status).items():
        with pytest.raises(ConsentNotAsked, match="Consent gate not asked"):
            write()
        assert _snapshot() == before, how


@pytest.mark.parametrize("status", list(GATED_CASE))
def test_a_new_case_cannot_be_created_in_a_gated_status(world, status):
    """create and bulk_create of a case already repatriated or transferred are refused."""
    case, _, _ = world
    fields = {"person": case.person, "detaining_party": case.detaining_party, "status": status}
    with pytest.raises(ConsentNotAsked):
        Case.objects.create(reference="UA-2025-7001", **fields)
    with pytest.raises(ConsentNotAsked):
        Case.objects.bulk_create([Case(reference="UA-2025-7002", **fields)])
    assert not Case.objects.filter(reference__in=["UA-2025-7001", "UA-2025-7002"]).exists()


@pytest.mark.parametrize("status", list(GATED_CASE))
def test_every_orm_write_works_once_the_gate_passed(world, status):
    """With ``consent.require`` passed in the same transaction, each ORM write goes through."""
    case, _, _ = world
    move = GATED_CASE[status]
    case = _verified(case, move)
    assert consent.require(case, move).passed
    for how, write in _case_writes(case, status).items():
        with transaction.atomic():
            write()
            assert Case.objects.get(pk=case.pk).status == status, how
            transaction.set_rollback(True)


def test_a_pass_is_for_one_case_one_move_and_one_transaction(world):
    """A pass covers neither another case, nor another move, nor a rolled-back savepoint."""
    case, _, _ = world
    other = _at_release(_case())
    case = _verified(case, RETURN)
    consent.require(case, RETURN)
    with pytest.raises(ConsentNotAsked):
        Case.objects.filter(pk=other.pk).update(status=CS.REPATRIATED)
    with pytest.raises(ConsentNotAsked):
        Case.objects.filter(pk=case.pk).update(status=CS.TRANSFERRED_THIRD_STATE)
    # One pass, one row: a queryset over both cases is refused as a whole.
    with pytest.raises(ConsentNotAsked):
        Case.objects.filter(pk__in=[case.pk, other.pk]).update(status=CS.REPATRIATED)

    second = _verified(_at_release(_case()), RETURN)
    with transaction.atomic():
        consent.require(second, RETURN)
        transaction.set_rollback(True)
    with pytest.raises(ConsentNotAsked):
        Case.objects.filter(pk=second.pk).update(status=CS.REPATRIATED)
    assert consent.has_pass("default", case.pk, RETURN.option)
    assert not consent.has_pass("default", second.pk, RETURN.option)


def test_a_pass_ends_with_its_transaction(world, django_capture_on_commit_callbacks):
    """On commit the pass is forgotten: the next transaction must ask the gate again."""
    case, _, _ = world
    case = _verified(case, RETURN)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            consent.require(case, RETURN)
            assert consent.has_pass("default", case.pk, RETURN.option)
    assert not consent.has_pass("default", case.pk, RETURN.option)
    with pytest.raises(ConsentNotAsked):
        Case.objects.filter(pk=case.pk).update(status=CS.REPATRIATED)


def test_a_status_computed_by_the_database_is_refused(world):
    """``update(status=<expression>)`` cannot be checked, so it is refused."""
    from django.db.models import Value

    case, requests, _ = world
    with pytest.raises(ConsentNotAsked, match="expression"):
        Case.objects.filter(pk=case.pk).update(status=Value(CS.REPATRIATED))
    with pytest.raises(ConsentNotAsked, match="expression"):
        Request.objects.filter(pk=requests["repatriation"].pk).update(status=Value(RS.EXECUTED))


def _request_writes(request, status):
    def save():
        row = Request.objects.get(pk=request.pk)
        row.status = status
        row.save()

    def update():
        Request.objects.filter(pk=request.pk).update(status=status)

    def related_update():
        request.case.requests.filter(pk=request.pk).update(status=status)

    def bulk_update():
        row = Request.objects.get(pk=request.pk)
        row.status = status
        Request.objects.bulk_update([row], ["status"])

    return {"save": save, "update": update, "related update": related_update, "bulk": bulk_update}


@pytest.mark.parametrize("kind", sorted(MOVING_KINDS))
def test_every_orm_execution_of_a_moving_request_needs_the_pass(world, kind):
    """Executing a request that moves him is refused on every ORM path without a pass."""
    case, requests, _ = world
    request = requests[kind]
    before = _snapshot()
    for how, write in _request_writes(request, RS.EXECUTED).items():
        with pytest.raises(ConsentNotAsked):
            write()
        assert _snapshot() == before, how
    fields = {
        "case": case,
        "kind": kind,
        "addressed_to": request.addressed_to,
        "destination_country": MOVING_KINDS[kind],
        "status": RS.EXECUTED,
    }
    with pytest.raises(ConsentNotAsked):
        Request.objects.create(**fields)
    with pytest.raises(ConsentNotAsked):
        Request.objects.bulk_create([Request(**fields)])
    assert _snapshot() == before

    move = consent.move_for_request(request)
    case = _verified(case, move)
    consent.require(case, move)
    for how, write in _request_writes(request, RS.EXECUTED).items():
        with transaction.atomic():
            write()
            assert Request.objects.get(pk=request.pk).status == RS.EXECUTED, how
            transaction.set_rollback(True)
    Request.objects.create(**fields)


def test_a_request_that_moves_nobody_is_not_held_back(world):
    """Executing a family-contact request needs no pass: the guard follows the gate's rule."""
    _, _, family = world
    Request.objects.filter(pk=family.pk).update(status=RS.EXECUTED)
    assert Request.objects.get(pk=family.pk).status == RS.EXECUTED


def test_other_fields_and_ungated_statuses_save_without_a_query_for_the_gate(world):
    """A save that keeps a gated status or writes an ungated one costs no extra query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    case, _, _ = world
    case.detention_place = "Camp 2"
    with CaptureQueriesContext(connection) as queries:
        case.save()
    assert len(queries) == 1
    done = _verified(_at_release(_case()), RETURN)
    factories.handover(_scheduled(done, "repatriation"))
    done = Case.objects.get(pk=done.pk)
    assert done.status == CS.REPATRIATED
    done.detention_place = "Home"
    with CaptureQueriesContext(connection) as queries:
        done.save()
    assert len(queries) == 1


def test_loaddata_cannot_store_a_gated_status(world, tmp_path):
    """A fixture (a raw save, which skips ``save()``) is held to the same rule."""
    case, requests, _ = world
    rows = json.loads(serializers.serialize("json", [case, requests["repatriation"]]))
    rows[0]["fields"]["status"] = CS.REPATRIATED
    fixture = tmp_path / "moved.json"
    fixture.write_text(json.dumps(rows[:1]), encoding="utf-8")
    with pytest.raises(ConsentNotAsked):
        call_command("loaddata", str(fixture), verbosity=0)
    rows[1]["fields"]["status"] = RS.EXECUTED
    fixture.write_text(json.dumps(rows[1:]), encoding="utf-8")
    with pytest.raises(ConsentNotAsked):
        call_command("loaddata", str(fixture), verbosity=0)
    assert Case.objects.get(pk=case.pk).status == CS.RELEASE_APPROVED
    assert Request.objects.get(pk=requests["repatriation"].pk).status == RS.SCHEDULED


# --------------------------------------------------------------------------------------------
# The services
# --------------------------------------------------------------------------------------------

#: Calls whose ``status`` keyword writes a row.
_WRITING_CALLS = {
    "Case",
    "Request",
    "new",  # a sink's row constructor: sink.new(Case, status=...)
    "create",
    "update",
    "bulk_create",
    "bulk_update",
    "update_or_create",
    "get_or_create",
}


def _direct_status_writes(node: ast.AST) -> bool:
    for child in ast.walk(node):
        targets = []
        if isinstance(child, ast.Assign):
            targets = child.targets
        elif isinstance(child, ast.AugAssign | ast.AnnAssign):
            targets = [child.target]
        if any(isinstance(t, ast.Attribute) and t.attr == "status" for t in targets):
            return True
        if isinstance(child, ast.Call):
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _WRITING_CALLS and any(k.arg == "status" for k in child.keywords):
                return True
            if name == "setattr" and len(child.args) > 1:
                attr = child.args[1]
                if isinstance(attr, ast.Constant) and attr.value == "status":
                    return True
                if not isinstance(attr, ast.Constant) and node_name(node) not in FIELD_SETTERS:
                    return True  # a computed attribute name could be the status
    return False


#: Helpers that set attributes by name from a list of allowed fields; the test below checks
#: that every list handed to them leaves the status out.
FIELD_SETTERS = {"apply_fields", "versioned_change"}


def node_name(node: ast.AST) -> str:
    return getattr(node, "name", "")


def _calls(node: ast.AST) -> set[str]:
    return {
        child.func.id
        for child in ast.walk(node)
        if isinstance(child, ast.Call) and isinstance(child.func, ast.Name)
    }


#: The modules of services besides ``cases/services/`` that write a case's or request's
#: status, through the services there.
OTHER_SERVICE_MODULES = (Path(services.__file__).parent.parent / "exchanges" / "services.py",)


def status_writing_services() -> set[str]:
    """Return the public services whose code, or the package code they call, writes a status."""
    paths = [*sorted(Path(services.__file__).parent.glob("*.py")), *OTHER_SERVICE_MODULES]
    functions = {
        node.name: node
        for path in paths
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    writes = {name for name, node in functions.items() if _direct_status_writes(node)}
    changed = True
    while changed:  # a service that calls a writer writes too
        changed = False
        for name, node in functions.items():
            if name not in writes and _calls(node) & writes:
                writes.add(name)
                changed = True
    return {name for name in writes if not name.startswith("_")}


def _case_open_closed(case, requests):
    services.case_open(
        actor=SYSTEM,
        reference="UA-2025-7003",
        person=case.person,
        detaining_party=case.detaining_party,
        status=CS.REPATRIATED,
    )


def _file_executed(case, requests):
    services.request_file(
        actor=SYSTEM,
        case=case,
        kind="repatriation",
        addressed_to=requests["repatriation"].addressed_to,
        status=RS.EXECUTED,
    )


def _gated_case_moves(case, requests):
    for status, move in GATED_CASE.items():
        extra = {"destination_country": move.destination} if move.destination else {}
        yield lambda s=status, e=extra: services.case_change_status(
            actor=SYSTEM, case=case, status=s, **e
        )


def _gated_executions(case, requests):
    for request in requests.values():
        yield lambda r=request: services.request_transition(
            actor=SYSTEM, request=r, status=RS.EXECUTED
        )


def _applied_case_moves(case, requests):
    from cases.services.cases import case_status_apply

    for status, move in GATED_CASE.items():
        extra = {"destination_country": move.destination} if move.destination else {}
        yield lambda s=status, e=extra: _in_transaction(
            case_status_apply, sink=sinks.ROWS, actor=SYSTEM, case=case, status=s, **e
        )


def _applied_executions(case, requests):
    from cases.services.requests import request_status_apply

    for request in requests.values():
        yield lambda r=request: _in_transaction(
            request_status_apply, sink=sinks.ROWS, actor=SYSTEM, request=r, status=RS.EXECUTED
        )


def _handovers(case, requests):
    from cases.exchanges.services import handover_record

    for request in requests.values():
        receiving = factories.receiving_authority_for(request)
        yield lambda r=request, to=receiving: handover_record(
            actor=SYSTEM, request=r, occurred_on=TODAY(), receiving_authority=to
        )


def _in_transaction(service, **kwargs):
    with transaction.atomic():
        return service(**kwargs)


def _exchange_status(case, requests):
    from cases.exchanges import services as exchanges

    exchange = exchanges.exchange_create(
        actor=SYSTEM,
        name="Exchange of 2025-05-23",
        parties=[case.detaining_party, factories.party("Russia", country="RU")],
    )
    exchanges.exchange_transition(actor=SYSTEM, exchange=exchange, status="agreed")


#: Every public service that writes a case's or a request's status, and how it is held:
#: "gated" services are tried on every gated status and must raise ``ConsentRefused``;
#: "handover_only" ones refuse every gated status and point at the handover; the others
#: cannot reach a gated status and must refuse to, or write another row's status.
STATUS_SERVICES = {
    "case_change_status": ("handover_only", _gated_case_moves),
    "request_transition": ("handover_only", _gated_executions),
    # What the handover calls, in its transaction, after its own checks.
    "case_status_apply": ("gated", _applied_case_moves),
    "request_status_apply": ("gated", _applied_executions),
    "handover_record": ("gated", _handovers),
    "case_open": ("unreachable", _case_open_closed),
    "request_file": ("unreachable", _file_executed),
    # An exchange's own status (planned, agreed, ...), not a case's or a request's.
    "exchange_transition": ("other_row", _exchange_status),
}


def test_the_services_that_write_a_status_are_the_known_ones():
    """A new service writing ``status`` fails here until it is listed and shown gated."""
    found = status_writing_services()
    assert found == set(STATUS_SERVICES), (
        f"Services writing a case's or request's status changed: new {found - set(STATUS_SERVICES)}"
        f", gone {set(STATUS_SERVICES) - found}. List each in STATUS_SERVICES with a test."
    )
    # The finder does find what it looks for: the gated services' helpers write directly.
    assert "case_change_status" in found and "request_transition" in found


def test_the_field_lists_of_the_update_services_leave_the_status_out():
    """``apply_fields`` sets what it is given by name; every list it is given omits status."""
    lists = set()
    for path in sorted(Path(services.__file__).parent.glob("*.py")):
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") in FIELD_SETTERS:
                if len(call.args) > 2:
                    allowed = call.args[2]
                else:
                    allowed = next(k.value for k in call.keywords if k.arg == "allowed")
                assert isinstance(allowed, ast.Name), ast.unparse(call)
                if allowed.id == "allowed":
                    continue  # versioned_change handing its caller's list on
                lists.add(allowed.id)
    assert lists >= {"CASE_FIELDS", "REQUEST_FIELDS"}
    for name in lists:
        assert "status" not in getattr(services, name), name


def test_the_finder_sees_every_way_of_writing_a_status():
    """The source scan recognises attribute writes, keyword writes and setattr."""
    for source in (
        "def f(case):\n    case.status = 'x'",
        "def f(qs):\n    qs.update(status='x')",
        "def f(case):\n    Case(status='x')",
        "def f(case, name):\n    setattr(case, name, 'x')",
        "def f(case):\n    setattr(case, 'status', 'x')",
    ):
        assert _direct_status_writes(ast.parse(source))
    assert not _direct_status_writes(ast.parse("def f(qs):\n    qs.filter(status='x')"))


@pytest.mark.parametrize("name", sorted(STATUS_SERVICES))
def test_each_status_writing_service_is_gated(world, name):
    """With no verified consent on record, a gated status is refused and nothing is written."""
    case, requests, _ = world
    how, attempts = STATUS_SERVICES[name]
    before = _snapshot()
    if how in ("gated", "handover_only"):
        tried = 0
        for attempt in attempts(case, requests):
            if how == "gated":
                with pytest.raises(ConsentRefused) as refused:
                    attempt()
                assert refused.value.decision.problems
            else:
                with pytest.raises(ValidationError, match="through a handover"):
                    attempt()
            assert _snapshot() == before
            tried += 1
        assert tried
    elif how == "other_row":
        attempts(case, requests)
    else:
        with pytest.raises(ValidationError):
            attempts(case, requests)
        assert _snapshot() == before
    assert _gated_rows() == (0, 0)


# --------------------------------------------------------------------------------------------
# The API: every write route on cases and requests
# --------------------------------------------------------------------------------------------

WRITE_METHODS = ("post", "put", "patch")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _write_methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a viewset route: the methods the router mapped
        return {m for m in actions if m in WRITE_METHODS}
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is not None:
        allowed = getattr(view, "http_method_names", WRITE_METHODS)
        return {m for m in WRITE_METHODS if m in allowed and hasattr(view, m)}
    return set(WRITE_METHODS)  # a function view: assume it writes until listed


def api_write_routes() -> set[tuple[str, str]]:
    """Return (route name, method) of every write route on cases or requests in the API."""
    found = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        plain = route.lstrip("^")
        if not plain.startswith("api/v1/"):
            continue
        rest = plain[len("api/v1/") :]
        if not rest.startswith(("cases", "requests", "^cases", "^requests")):
            continue
        for method in _write_methods(pattern.callback):
            found.add((pattern.name or route, method))
    return found


#: Every write route on cases and requests: "gate" routes must answer 409 for each gated
#: status; "handover_only" routes 400 pointing at the handover; "no_status" routes must not
#: store one whatever is posted. The handover route itself: test_the_handover_route_is_gated.
API_ROUTES = {
    ("case-list", "post"): "no_status",
    ("case-detail", "put"): "no_status",
    ("case-detail", "patch"): "no_status",
    ("case-transition", "post"): "handover_only",
    ("case-archive", "post"): "no_status",
    ("case-unarchive", "post"): "no_status",
    ("case-purge", "post"): "no_status",
    ("request-list", "post"): "no_status",
    ("request-detail", "put"): "no_status",
    ("request-detail", "patch"): "no_status",
    ("request-transition", "post"): "handover_only",
    ("request-positions", "post"): "no_status",
    ("request-archive", "post"): "no_status",
    ("request-unarchive", "post"): "no_status",
}


def test_every_api_write_route_on_cases_and_requests_is_listed():
    """A new write route on cases or requests fails here until it is classified and tried."""
    assert api_write_routes() == set(API_ROUTES)


def _api_clients():
    officer, _ = token_client(roles.user_in_role(roles.CASE_OFFICER, "paths-officer"), name="paths")
    superuser = api_client(roles.superuser("paths-root"))
    return {"case officer": officer, "superuser": superuser}


def _bodies(name, case, request):
    """Return what to post to ``name`` for each gated status it could be asked to store."""
    common = {"version": case.version, "reason": "try to move him"}
    if name.startswith("case"):
        bodies = []
        for status, move in GATED_CASE.items():
            body = {**common, "status": status}
            if move.destination:
                body["destination_country"] = move.destination
            if name == "case-list":
                body.update(
                    reference="UA-2025-7004",
                    person=str(case.person.uuid),
                    detaining_party=str(case.detaining_party.uuid),
                )
            bodies.append(body)
        return bodies
    body = {**common, "version": request.version, "status": RS.EXECUTED}
    if name == "request-list":
        body.update(
            case=str(case.uuid),
            kind=request.kind,
            addressed_to=str(request.addressed_to.uuid),
            destination_country=request.destination_country.code or "",
        )
    if name == "request-positions":
        body.update(party=str(request.addressed_to.uuid), stance="accepts", stated_on="2025-03-04")
    return [body]


@pytest.mark.parametrize("who", ["case officer", "superuser"])
def test_no_api_route_stores_a_gated_status_without_consent(world, who):
    """Every write route answers 409 (gate) or a 4xx that writes nothing, never 2xx or 500."""
    case, requests, _ = world
    client = _api_clients()[who]
    for (name, method), how in sorted(API_ROUTES.items()):
        targets = [None] if name.startswith("case") else list(requests.values())
        for request in targets:
            detail = not name.endswith("-list")
            obj = case if name.startswith("case") else request
            url = reverse(f"api:{name}", kwargs={"uuid": obj.uuid} if detail else {})
            fresh = Request.objects.get(pk=request.pk) if request else None
            for body in _bodies(name, Case.objects.get(pk=case.pk), fresh):
                before = _snapshot()
                response = getattr(client, method)(url, body, format="json")
                where = f"{who} {method.upper()} {url} {body.get('status')}"
                assert response.status_code < 500, where
                assert _gated_rows() == (0, 0), where
                if how == "gate":
                    assert response.status_code == 409, (where, response.content)
                    assert response.json()["problems"], where
                    assert _snapshot() == before, where
                elif how == "handover_only":
                    assert response.status_code == 400, (where, response.content)
                    assert "through a handover" in response.content.decode(), where
                    assert _snapshot() == before, where
                elif response.status_code >= 400:
                    assert _snapshot() == before, where


# --------------------------------------------------------------------------------------------
# The admin: every action and the change forms
# --------------------------------------------------------------------------------------------

#: Every admin action on cases and requests; none of them writes a status.
ADMIN_ACTIONS = {
    Case: {"archive_selected", "unarchive_selected", "purge_case"},
    Request: {"archive_selected", "unarchive_selected"},
}


def _admin_of(model):
    return admin.site._registry[model]


def test_every_admin_action_on_cases_and_requests_is_listed(admin_user):
    """A new admin action fails here until it is classified."""
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    registered = {m for m in admin.site._registry if m in (Case, Request)}
    assert registered == {Case, Request}
    for model, expected in ADMIN_ACTIONS.items():
        assert set(_admin_of(model).get_actions(request)) == expected, model.__name__


def test_no_admin_action_stores_a_gated_status(admin_client, world):
    """Every action run over every case and request leaves no gated status behind."""
    case, requests, _ = world
    for model, names in ADMIN_ACTIONS.items():
        url = reverse(f"admin:cases_{model._meta.model_name}_changelist")
        pks = [str(pk) for pk in model.objects.values_list("pk", flat=True)]
        for name in sorted(names):
            response = admin_client.post(
                url, {"action": name, "_selected_action": pks, "reason": "try to move him"}
            )
            assert response.status_code < 500, name
            assert _gated_rows() == (0, 0), name


@pytest.mark.parametrize("status", list(GATED_CASE))
def test_the_case_change_form_refuses_a_gated_status_with_a_message(admin_client, world, status):
    """The case page does not offer a gated status; posting one re-shows it with an error."""
    case, _, _ = world
    data = form_data(admin_client.get(change_url(case)))
    data["status"] = status
    before = _snapshot()
    response = admin_client.post(change_url(case), data)
    assert response.status_code == 200
    assert "Select a valid choice" in errors_text(response)
    assert _snapshot() == before


@pytest.mark.parametrize("kind", sorted(MOVING_KINDS))
def test_the_request_change_form_refuses_execution_with_a_message(admin_client, world, kind):
    """Posting "executed" on a moving request's page re-shows it pointing at the handover."""
    _, requests, _ = world
    request = requests[kind]
    data = form_data(admin_client.get(change_url(request)))
    data["status"] = RS.EXECUTED
    before = _snapshot()
    response = admin_client.post(change_url(request), data)
    assert response.status_code == 200
    assert "through a handover" in errors_text(response)
    assert _snapshot() == before


@pytest.mark.parametrize("kind", sorted(MOVING_KINDS))
def test_the_handover_form_refuses_with_the_gates_message(admin_client, world, kind):
    """The handover form, the admin's one way across a border, shows the gate's refusal."""
    _, requests, _ = world
    request = requests[kind]
    url = reverse("admin:cases_handover_add")
    data = form_data(admin_client.get(url))
    data.update(
        request=str(request.pk),
        occurred_on=TODAY().isoformat(),
        receiving_authority=str(factories.receiving_authority_for(request).pk),
    )
    before = _snapshot()
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Consent gate" in errors_text(response)
    assert _snapshot() == before
    assert _gated_rows() == (0, 0)


@pytest.mark.parametrize("who", ["case officer", "superuser"])
def test_the_handover_route_is_gated(world, who):
    """POST /handovers/ for each moving request on an unverified wish: 409, nothing written."""
    _, requests, _ = world
    client = _api_clients()[who]
    for request in requests.values():
        receiving = factories.receiving_authority_for(request)
        before = _snapshot()
        response = client.post(
            reverse("api:handover-list"),
            {
                "request": str(request.uuid),
                "occurred_on": TODAY().isoformat(),
                "receiving_authority": str(receiving.uuid),
            },
            format="json",
        )
        assert response.status_code == 409, response.content
        assert response.json()["problems"]
        assert _snapshot() == before
    assert _gated_rows() == (0, 0)


def test_the_add_forms_cannot_create_a_gated_row(admin_client, world):
    """The add pages do not offer a gated status; posting one is a form error."""
    case, requests, _ = world
    before = _snapshot()
    response = admin_client.post(
        reverse("admin:cases_case_add"),
        {
            "reference": "UA-2025-7005",
            "person": case.person.pk,
            "detaining_party": case.detaining_party.pk,
            "status": CS.REPATRIATED,
        },
    )
    assert response.status_code == 200
    response = admin_client.post(
        reverse("admin:cases_request_add"),
        {
            "case": case.pk,
            "kind": "repatriation",
            "addressed_to": requests["repatriation"].addressed_to.pk,
            "status": RS.EXECUTED,
        },
    )
    assert response.status_code == 200
    assert _snapshot() == before


# --------------------------------------------------------------------------------------------
# Management commands, the seed loader and the demo generator
# --------------------------------------------------------------------------------------------

COMMANDS_DIR = Path(services.__file__).parent.parent / "management" / "commands"
#: Every management command, and how it reaches a status: through the seed loader (the
#: services, hence the gate), through the demo generator (its in-memory gate), through the
#: list import (persons and their identifiers only, through the import services: no case, so
#: no status), through the task rules (tasks only: they read statuses, never write one), or not
#: at all.
COMMANDS = {
    "bootstrap_login": "none",
    "grant_app_role": "none",
    "issue_token": "none",
    "load_seed": "services",
    "seed_demo": "demo",
    "verify_timeline": "none",
    "deliver_webhooks": "none",
    "purge_idempotency_keys": "none",
    "import_list": "imports",
    "open_due_tasks": "tasks",
}
#: What a command that stores a status would have to say.
_STATUS_WORDS = (
    "services",
    "cases.seed",
    "cases.demo",
    "import demo",
    ".status =",
    "status=",
    ".save(",
    "update(",
    "bulk_",
    ".create(",
)


def test_every_management_command_is_classified():
    """A new command fails here until it is listed; one listed as writing none says so."""
    found = {p.stem for p in COMMANDS_DIR.glob("*.py") if not p.stem.startswith("_")}
    assert found == set(COMMANDS)
    for name, how in COMMANDS.items():
        source = (COMMANDS_DIR / f"{name}.py").read_text(encoding="utf-8")
        if how == "none":
            words = [w for w in _STATUS_WORDS if w in source]
            assert not words, f"{name} mentions {words}: does it write a status?"
        elif how == "services":
            assert "cases.seed" in source
        elif how == "imports":
            assert "from cases.imports import services" in source
            assert not [w for w in ("cases.models", "Case.", ".status =", "status=") if w in source]
            imports = (COMMANDS_DIR.parent.parent / "imports" / "services.py").read_text("utf-8")
            used = [line for line in imports.splitlines() if line.startswith("from cases.services")]
            assert used and not [line for line in used if "case_" in line or "request_" in line]
        elif how == "tasks":
            assert "from cases.tasks import services" in source
            assert not [
                w for w in (".status =", "status=", "_transition", "change_status") if w in source
            ]
            rules = (COMMANDS_DIR.parent.parent / "tasks" / "rules.py").read_text("utf-8")
            assert ".status =" not in rules and "status=" not in rules
        else:
            assert "cases.demo" in source or "from cases import demo" in source


def test_load_seed_cannot_repatriate_without_consent(tmp_path):
    """A seed step moving Ri home on his unverified wish is refused; the load writes nothing."""
    data = json.loads(DEFAULT_SEED_PATH.read_text(encoding="utf-8"))
    for status in (CS.RELEASE_APPROVED, CS.REPATRIATED):
        data["story"].append(
            {
                "action": "status",
                "case": "UA-2025-0001",
                "status": status,
                "occurred_on": "2026-02-01",
            }
        )
    broken = tmp_path / "seed.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CommandError, match="only through a handover"):
        call_command("load_seed", "--path", str(broken), verbosity=0)
    assert not Case.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_seed_demo_stores_gated_rows_only_with_a_pass():
    """The demo inserts its gated moves (each passed in memory); a row without a pass fails."""
    demo.generate(cases=60, seed=3)
    cases, executions = _gated_rows()
    assert cases and executions  # the insert's guard was asked, row by row, and let them in

    writer = demo.ServiceCalls(sinks.BulkSink(sinks.IdAllocator()))
    with pytest.raises(ConsentNotAsked, match="cannot be stored as 'repatriated' by"):
        with transaction.atomic():
            world = demo.build_world(writer, 3)
            writer.flush()
            writer.rng = random.Random("a story of its own")
            story = demo.CaseStory(writer, world, writer.rng, lambda c, y: f"{c}-{y}-80001")
            case = story.run()
            assert case.status not in GATED_CASE
            case.status = CS.REPATRIATED  # what a generator skipping its gate would write
            writer.flush()
    assert _gated_rows() == (cases, executions)


def test_the_only_raw_sql_writing_cases_or_requests_is_the_guarded_copy():
    """No code writes the tables past the ORM except the bulk sink's COPY, which asks the guard."""
    root = Path(services.__file__).parent.parent
    writers = []
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for table in ("cases_case", "cases_request"):
            for verb in ("UPDATE", "INSERT", "COPY"):
                if f"{verb} {table}" in text or f"{verb} INTO {table}" in text:
                    writers.append((path.name, verb, table))
        if "COPY {table}" in text:
            writers.append((path.name, "COPY", "any"))
    assert writers == [("sinks.py", "COPY", "any")]
    assert "consent.guard_rows" in inspect.getsource(sinks.insert_rows)
