"""The route walk: every URL the project serves, every method it takes, as every role.

The routes come from the URL resolver itself (the admin's patterns with every registered
``ModelAdmin``'s views, the API router, the pages, the logins), so a route added without a
row in :data:`POLICY` fails ``test_every_route_has_a_policy_row`` with its name. Each route
is called with real objects of a world written through the services, as anonymous, an
account without a role, an analyst, a read-only and a read-write integration token, a case
officer and a superuser, and the answer's class is compared with the policy table below.

The table is the access policy of docs/security.md: reads need a role on the API *and* the
pages (an account without a role gets 403 on ``/cases/`` and ``/cases/<uuid>/`` as on the
API); analysts and read-only tokens never write; exports need ``cases.export_cases``; the
admin needs staff; nobody deletes in the admin; the access log, tokens, users, groups,
devices and lockouts are the superuser's. A token is an API credential only: on the pages
and the admin its bearer is anonymous. No answer may be a 500, whatever the role.

Every request runs in its own savepoint, rolled back after it, so a write that the policy
lets through changes nothing for the next request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from cases.models import AccessLogEntry, ApiToken, CaptureCard, Occurrence, Place, TimelineEvent
from cases.security import access
from cases.services import Actor
from cases.webhooks.models import WebhookAttempt
from cases.webhooks.services import webhook_subscription_create
from tests import factories as f
from tests.support import worlds as sr

ROLES = sr.ROLES

# --------------------------------------------------------------------------------------------
# Outcomes and rules
# --------------------------------------------------------------------------------------------

#: Outcome codes: what class of answer a role gets.
OUTCOMES = {
    "O": "ok (2xx, 304, or a redirect that is not to a login page)",
    "L": "login (401, or a redirect to a login page)",
    "F": "forbidden (403)",
    "N": "not allowed (405)",
    "D": "denied (403 or 405: refused before anything is read or written)",
    "P": "permitted (ok, or the harmless body refused: 400, 404, 409, 412, 415, 422, 428)",
    "X": "not found (404)",
    "A": "anything but a server error",
}

#: Rule -> one outcome code per role, in the order of ROLES:
#: anonymous, no role, analyst, integration read-only, integration read-write, case officer,
#: superuser.
RULES: dict[str, str] = {
    # The API: reads need a role, writes the add/change permission and a read-write token.
    "api-read": "LFOOOOO",
    "api-write": "LFFFPPP",
    "api-absent": "LDDDDDD",  # a method the endpoint does not have
    "api-signed-in": "LOOOOOO",  # the schema, its docs and the index of links
    "api-superuser-write": "LFFFFFP",  # purge
    # A POST that reads only (the duplicate check): any reader, but not a read-only token.
    "api-read-post": "LFPFPPP",
    # Webhook subscriptions: case officers (and superusers) manage them; nobody else sees them.
    # Reading needs the view permission; a token granted change_webhooksubscription manages
    # them like any other add/change permission (writes: "api-write").
    "api-officer-read": "LFFFFOO",
    # Imports of lists: cases.import_lists, which only case officers hold; a read-write
    # integration's add and change permissions do not include it.
    "api-officer-write": "LFFFFPP",
    # The analysts' pages: a role, and a signed-in session (a token is no page credential).
    "page-read": "LFOLLOO",
    "page-export": "LFOLLOO",  # analysts, officers and superusers hold cases.export_cases
    "page-absent": "LDNLLNN",
    # A document's contents: the right to read sensitive values as well as a role (a
    # session on the pages, a token on the API).
    "page-sensitive-read": "LFFLLOO",
    "api-sensitive-read": "LFFFFOO",
    # Open to everyone.
    "public": "OOOOOOO",
    "public-absent": "NNNNNNN",
    "any": "AAAAAAA",
    # The admin: staff only; tokens are not admin credentials.
    "admin-view": "LLOLLOO",
    "admin-add": "LLFLLOO",  # add or change: case officers and superusers
    "admin-none": "LLFLLFF",  # refused to every staff role, superusers included
    "admin-superuser": "LLFLLFO",
    "admin-absent": "LLNLLNN",
    "admin-missing": "LLXLLXX",
    "admin-staff": "LLOLLOO",  # any staff: a redirect to a view that checks on its own
}

# --------------------------------------------------------------------------------------------
# The policy table: route -> method -> rule
# --------------------------------------------------------------------------------------------

API_READS = {"GET": "api-read", "HEAD": "api-read", "OPTIONS": "api-read"}
API_NO_WRITES = dict.fromkeys(("POST", "PUT", "PATCH", "DELETE"), "api-absent")


def _api(reads: bool = True, **writes: str) -> dict[str, str]:
    row = {**(API_READS if reads else dict.fromkeys(("GET", "HEAD"), "api-absent"))}
    if not reads:
        row["OPTIONS"] = "api-read"
    row.update(API_NO_WRITES)
    row.update(writes)
    return row


API_LIST = _api(POST="api-write")
API_DETAIL = _api(PUT="api-write", PATCH="api-write")
API_ACTION = _api(reads=False, POST="api-write")
API_READ_ONLY = _api()
API_SIGNED_IN = {
    **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-signed-in"),
    **API_NO_WRITES,
}

PAGE_WRITES = dict.fromkeys(("POST", "PUT", "PATCH", "DELETE"), "page-absent")

#: Every route that is not one of a ModelAdmin's standard views.
POLICY: dict[str, dict[str, str]] = {
    # Top level
    "": {"GET": "public", "HEAD": "public"},  # redirects to /cases/
    "health": {"GET": "public", "HEAD": "public", "POST": "public-absent"},
    "login": {"GET": "public", "POST": "public"},  # an empty form is shown again
    "logout": {"GET": "public-absent", "POST": "any"},
    # The language switcher: anyone may choose a language (a cookie; and, signed in, the
    # account's setting); GET changes nothing.
    "set_language": {"GET": "public", "POST": "public"},
    # The analysts' pages
    "cases:list": {"GET": "page-read", **PAGE_WRITES},
    "cases:detail": {"GET": "page-read", **PAGE_WRITES},
    # The case brief (PDF): whoever may read the case page, as that page shows it.
    "cases:brief": {"GET": "page-read", **PAGE_WRITES},
    # Every role's own tasks; another's only with cases.view_others_tasks (tests/tasks/).
    "cases:my-work": {"GET": "page-read", **PAGE_WRITES},
    "cases:export-csv": {"GET": "page-export", **PAGE_WRITES},
    "cases:export-xlsx": {"GET": "page-export", **PAGE_WRITES},
    "documents:download": {"GET": "page-sensitive-read", **PAGE_WRITES},
    # The API
    "api:api-root": API_SIGNED_IN,
    "api:schema": API_SIGNED_IN,
    "api:docs": API_SIGNED_IN,
    "api-docs": API_SIGNED_IN,
    "api:event-feed": API_READ_ONLY,
    "api:case-timeline": API_READ_ONLY,
    "api:case-list": API_LIST,
    "api:case-detail": API_DETAIL,
    "api:case-transition": API_ACTION,
    "api:person-list": API_LIST,
    "api:person-detail": API_DETAIL,
    "api:party-list": API_LIST,
    "api:party-detail": API_DETAIL,
    "api:source-list": API_LIST,
    "api:source-detail": API_DETAIL,
    "api:intention-list": API_LIST,
    "api:intention-detail": API_READ_ONLY,  # a statement is never changed, only superseded
    "api:intention-state": API_ACTION,
    "api:request-list": API_LIST,
    "api:request-detail": API_DETAIL,
    "api:request-transition": API_ACTION,
    "api:request-positions": API_ACTION,
    "api:webhook-list": {
        **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-officer-read"),
        **API_NO_WRITES,
        "POST": "api-write",
    },
    "api:webhook-detail": {
        **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-officer-read"),
        **API_NO_WRITES,
        "PATCH": "api-write",  # an edit: URL, filters, account; PUT and DELETE are refused
    },
    **{
        f"api:webhook-{log}": {
            **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-officer-read"),
            **API_NO_WRITES,
        }
        for log in ("attempts", "changes")
    },
    **{
        f"api:webhook-{verb}": {
            **dict.fromkeys(("GET", "HEAD"), "api-absent"),
            "OPTIONS": "api-officer-read",
            **API_NO_WRITES,
            "POST": "api-write",
        }
        for verb in ("pause", "resume", "rotate", "replay", "redeliver")
    },
    # Imports of lists and their saved mappings: case officers only (cases/imports/).
    **{
        f"api:{resource}-list": {
            **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-officer-read"),
            **API_NO_WRITES,
            "POST": "api-officer-write",
        }
        for resource in ("import-run", "import-mapping")
    },
    **{
        f"api:{resource}-detail": {
            **dict.fromkeys(("GET", "HEAD", "OPTIONS"), "api-officer-read"),
            **API_NO_WRITES,
        }
        for resource in ("import-run", "import-mapping")
    },
    **{
        f"api:import-run-{verb}": {
            **dict.fromkeys(("GET", "HEAD"), "api-absent"),
            "OPTIONS": "api-officer-read",
            **API_NO_WRITES,
            "POST": "api-officer-write",
        }
        for verb in ("dry-run", "commit")
    },
    "api:case-consent": API_READ_ONLY,  # asks the consent gate; moves no one
    "api:risk-assessment-list": API_LIST,
    # A person's identity records: created for a person, corrected by version.
    **{
        f"api:{resource}-{route}": row
        for resource in ("identity-document", "external-identifier", "nationality-claim")
        for route, row in (("list", API_LIST), ("detail", API_DETAIL))
    },
    "api:risk-assessment-detail": API_READ_ONLY,  # an assessment is never changed
    # Positions and notes are read here and written through their request or case.
    "api:position-list": API_READ_ONLY,
    "api:position-detail": API_READ_ONLY,
    "api:occurrence-list": API_LIST,  # recorded here too; never changed
    "api:occurrence-detail": API_READ_ONLY,
    "api:place-list": API_LIST,
    "api:place-detail": API_DETAIL,
    "api:movement-list": API_LIST,
    "api:movement-detail": API_READ_ONLY,  # a movement is never changed
    "api:capture-card-list": API_LIST,
    "api:capture-card-detail": API_DETAIL,
    "api:note-list": API_READ_ONLY,
    "api:note-detail": API_READ_ONLY,
    # Exchanges: planned, changed by version, moved and listed through their actions.
    "api:exchange-list": API_LIST,
    "api:exchange-detail": API_DETAIL,
    "api:exchange-transition": API_ACTION,
    "api:exchange-entries": API_ACTION,
    # Handovers: recorded here (the consent gate decides), never changed.
    "api:handover-list": API_LIST,
    "api:handover-detail": API_READ_ONLY,
    # Visits: recorded and changed by version; interviews recorded here, never changed.
    "api:visit-list": API_LIST,
    "api:visit-detail": API_DETAIL,
    "api:interview-list": API_LIST,
    "api:interview-detail": API_READ_ONLY,
    **{
        f"api:{resource}-{verb}": API_ACTION
        for resource in ("case", "person", "intention", "request")
        for verb in ("archive", "unarchive")
    },
    "api:case-purge": _api(reads=False, POST="api-superuser-write"),
    # The notification log: opened by the services, acted on through its actions.
    "api:notification-list": API_READ_ONLY,
    "api:notification-detail": API_READ_ONLY,
    **{f"api:notification-{verb}": API_ACTION for verb in ("sent", "withhold", "acknowledge")},
    "api:notification-recipients-list": API_LIST,
    "api:notification-recipients-detail": API_DETAIL,
    # Tasks: written by hand or opened by the clocks, closed through their actions.
    "api:task-list": API_LIST,
    "api:task-detail": API_DETAIL,
    **{f"api:task-{verb}": API_ACTION for verb in ("done", "cancel")},
    # Documents: attached by upload, withdrawn by an action; their contents need the right
    # to read sensitive values.
    "api:document-list": API_LIST,
    "api:document-detail": API_READ_ONLY,
    "api:document-withdraw": API_ACTION,
    "api:document-content": {
        "GET": "api-sensitive-read",
        "HEAD": "api-sensitive-read",
        "OPTIONS": "api-read",
        **API_NO_WRITES,
    },
    # Duplicates: the check writes nothing; merge and undo need the change permission.
    "api:person-duplicates": _api(reads=False, POST="api-read-post"),
    "api:person-merge": API_ACTION,
    "api:person-unmerge": API_ACTION,
    # The admin site's own views
    "admin:index": {"GET": "admin-view"},
    "admin:login": {"GET": "public", "POST": "public"},
    # Signing out takes a POST; a GET by a non-staff caller is sent to the admin's index.
    "admin:logout": {"GET": "any", "POST": "any"},
    "admin:password_change": {"GET": "admin-view", "POST": "admin-view"},
    "admin:password_change_done": {"GET": "admin-view"},
    "admin:autocomplete": {"GET": "admin-view", "POST": "admin-absent"},
    "admin:jsi18n": {"GET": "admin-view"},
    "admin:view_on_site": {"GET": "admin-missing"},  # no model here has a public page
    "admin:app_list": {"GET": "admin-view"},
    "admin:catch_all": {"GET": "admin-missing"},
    # Extra views of some ModelAdmins
    "admin:auth_user_password_change": {"GET": "admin-superuser", "POST": "admin-superuser"},
    "admin:otp_totp_totpdevice_config": {"GET": "admin-superuser"},
    "admin:otp_totp_totpdevice_qrcode": {"GET": "admin-superuser"},
}

#: The standard views of every ModelAdmin, by kind of model: view -> method -> rule.
ADMIN_KINDS: dict[str, dict[str, dict[str, str]]] = {
    # Case data: everyone with a role reads, case officers add and change, nobody deletes.
    "case data": {
        "changelist": {"GET": "admin-view", "POST": "admin-view"},
        "add": {"GET": "admin-add", "POST": "admin-add"},
        "change": {"GET": "admin-view", "POST": "admin-add"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-view"},
        "redirect": {"GET": "admin-staff"},
    },
    # Statements are recorded on the case page, never added on their own nor deleted.
    # A recorded statement is read-only: it is withdrawn or superseded by the actions.
    "statement": {
        "changelist": {"GET": "admin-view", "POST": "admin-view"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        # Saved only to attach documents (every field of the statement stays read-only):
        # those who may attach one, case officers and superusers.
        "change": {"GET": "admin-view", "POST": "admin-add"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-view"},
        "redirect": {"GET": "admin-staff"},
    },
    # Records added on the case page or opened by the services, then changed on their own
    # (a capture card when sent; a notification when an officer acts on it).
    "case record": {
        "changelist": {"GET": "admin-view", "POST": "admin-view"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-view", "POST": "admin-add"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-view"},
        "redirect": {"GET": "admin-staff"},
    },
    # Things that happened in the world: every role reads them, case officers record them
    # (on their own list or the case page), nobody changes or deletes one.
    "occurrence": {
        "changelist": {"GET": "admin-view", "POST": "admin-view"},
        "add": {"GET": "admin-add", "POST": "admin-add"},
        "change": {"GET": "admin-view", "POST": "admin-none"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-view"},
        "redirect": {"GET": "admin-staff"},
    },
    # The timeline is read by every role and changed by nobody.
    "timeline": {
        "changelist": {"GET": "admin-view", "POST": "admin-view"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-view", "POST": "admin-none"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-view"},
        "redirect": {"GET": "admin-staff"},
    },
    # The access log: only the superuser browses it; nobody adds, changes or deletes.
    "access log": {
        "changelist": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-superuser", "POST": "admin-none"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-superuser"},
        "redirect": {"GET": "admin-staff"},
    },
    # Accounts, groups, tokens and devices: the superuser's alone.
    "superuser": {
        "changelist": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "add": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "change": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "delete": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "history": {"GET": "admin-superuser"},
        "redirect": {"GET": "admin-staff"},
    },
    # API tokens: issued by the command (the key is shown once), listed, revoked, deleted by
    # the superuser alone; never added in the admin.
    "tokens": {
        "changelist": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "delete": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "history": {"GET": "admin-superuser"},
        "redirect": {"GET": "admin-staff"},
    },
    # Webhook subscriptions: case officers list and change them (edit, replay, pause,
    # resume); they are created over the API, where the secret is shown once, never deleted.
    "webhooks": {
        "changelist": {"GET": "admin-add", "POST": "admin-add"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-add", "POST": "admin-add"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-add"},
        "redirect": {"GET": "admin-staff"},
    },
    # Delivery attempts: read by case officers, written by the workers alone.
    "webhook attempts": {
        "changelist": {"GET": "admin-add", "POST": "admin-add"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-add", "POST": "admin-none"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-add"},
        "redirect": {"GET": "admin-staff"},
    },
    # Imports of lists and saved mappings: whoever holds cases.import_lists (case officers,
    # superusers) uploads, reads and commits; a POST to an import's page is its buttons.
    "imports": {
        "changelist": {"GET": "admin-add", "POST": "admin-add"},
        "add": {"GET": "admin-add", "POST": "admin-add"},
        "change": {"GET": "admin-add", "POST": "admin-add"},
        "delete": {"GET": "admin-none", "POST": "admin-none"},
        "history": {"GET": "admin-add"},
        "redirect": {"GET": "admin-staff"},
    },
    # Login attempts and lockouts: the superuser lists and deletes them; nobody adds any.
    "lockouts": {
        "changelist": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "add": {"GET": "admin-none", "POST": "admin-none"},
        "change": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "delete": {"GET": "admin-superuser", "POST": "admin-superuser"},
        "history": {"GET": "admin-superuser"},
        "redirect": {"GET": "admin-staff"},
    },
}

#: Every registered ModelAdmin's model (``app_label.model_name``) and its kind.
ADMIN_MODELS: dict[str, str] = {
    "cases.party": "case data",
    "cases.source": "case data",
    "cases.person": "case data",
    "cases.case": "case data",
    "cases.request": "case data",
    "cases.statedintention": "statement",
    "cases.place": "case data",
    "cases.exchange": "case data",
    "cases.visit": "case data",
    # Recorded once through the consent gate, read by every role, never changed: like an
    # occurrence.
    "cases.handover": "occurrence",
    "cases.capturecard": "case record",
    "cases.occurrence": "occurrence",
    "cases.notification": "case record",
    "cases.task": "case record",
    "cases.notificationsettings": "case data",
    # Documents: attached on the case page, withdrawn on their own page.
    "cases.document": "case record",
    "cases.timelineevent": "timeline",
    # Merge records: read like the timeline; undone by an action on the list (change_person).
    "cases.personmerge": "timeline",
    "cases.accesslogentry": "access log",
    "cases.apitoken": "tokens",
    "cases.webhooksubscription": "webhooks",
    "cases.webhookattempt": "webhook attempts",
    "cases.importrun": "imports",
    "cases.importmapping": "imports",
    "auth.user": "superuser",
    "auth.group": "superuser",
    "otp_totp.totpdevice": "superuser",
    "axes.accessattempt": "lockouts",
    "axes.accesslog": "lockouts",
    "axes.accessfailurelog": "lockouts",
}

ADMIN_VIEWS = ("changelist", "add", "change", "delete", "history", "redirect")


def admin_policy() -> dict[str, dict[str, str]]:
    """Return the rows of every listed ModelAdmin's standard views."""
    rows = {}
    for label, kind in ADMIN_MODELS.items():
        app, model = label.split(".")
        for view in ADMIN_VIEWS:
            rows[f"admin:{app}_{model}_{view}"] = ADMIN_KINDS[kind][view]
    return rows


FULL_POLICY = {**POLICY, **admin_policy()}

# --------------------------------------------------------------------------------------------
# The routes, from the resolver
# --------------------------------------------------------------------------------------------

_ADMIN_MODEL_ROUTE = re.compile(r"^admin/(\w+)/(\w+)/")


def _walk(resolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), f"{namespace}{pattern.name or ''}"


def route_key(route: str, name: str) -> str:
    """Return the policy key of a route: its name, or a name for the unnamed ones."""
    if name.endswith(":") or not name:
        match = _ADMIN_MODEL_ROUTE.match(route)
        if route == "":
            return ""
        if route.startswith("admin/(?P<url>"):
            return "admin:catch_all"
        if match and route.endswith("<path:object_id>/"):
            return f"admin:{match.group(1)}_{match.group(2)}_redirect"
        return f"unnamed route {route!r}"
    return name


def every_route() -> list[tuple[str, str]]:
    """Return ``(route pattern, policy key)`` for every URL pattern the project serves."""
    return [(route, route_key(route, name)) for route, name in _walk(get_resolver())]


def _registered_admin_models() -> set[str]:
    return {model._meta.label_lower for model in admin.site._registry}


# --------------------------------------------------------------------------------------------
# Filling a route with real objects
# --------------------------------------------------------------------------------------------

_API_RESOURCE = re.compile(r"^api/v1/\^?([\w-]+)")


def fill(route: str, params: dict[str, str]) -> str:
    """Return the path of ``route`` with each parameter taken from ``params``."""
    path = route.replace("^", "").replace("$", "").replace("/?", "").replace("\\.", ".")
    # DRF's suffix converter takes the dot with the format.
    path = path.replace("<drf_format_suffix:format>", "." + params["format"])
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: params[m.group(1)], path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: params[m.group(1)], path)
    return "/" + path


def params_for(route: str, ids: dict) -> dict[str, str]:
    """Return the parameters of ``route``: the objects of its resource or admin model."""
    params = {
        "format": "json",
        "url": "no-such-page/",
        "app_label": "cases",
        "content_type_id": str(ids["case_content_type"]),
        "case_uuid": str(ids["api"]["cases"]),
    }
    api = _API_RESOURCE.match(route)
    if api and api.group(1) in ids["api"]:
        params["uuid"] = str(ids["api"][api.group(1)])
    admin_match = _ADMIN_MODEL_ROUTE.match(route)
    if admin_match:
        key = f"{admin_match.group(1)}.{admin_match.group(2)}"
        pk = ids["admin"].get(key)
        params.update(object_id=str(pk), pk=str(pk), id=str(pk))
    if route.startswith("documents/"):
        params["uuid"] = str(ids["api"]["documents"])
    if route.startswith("admin/r/"):
        params["object_id"] = str(ids["admin"]["cases.case"])
    return params


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


def _record_ids(case) -> dict:
    """Return the uuids of a position, an occurrence and a note, writing those missing."""
    import datetime as dt

    from cases import services
    from cases.models import CaptureCard, Note, Occurrence, Position
    from cases.places import services as place_services
    from cases.services import Actor

    actor = Actor.system("walk")
    position = Position.objects.first()
    if position is None:
        request = case.requests.first()
        position = services.position_record(
            actor=actor,
            request=request,
            party=request.addressed_to,
            stance="supports",
            stated_on=dt.date(2025, 3, 1),
        )
    occurrence = Occurrence.objects.first() or services.occurrence_record(
        actor=actor,
        case=case,
        kind="icrc_visit",
        occurred_on=dt.date(2025, 2, 1),
        description="Visit",
    )
    note = Note.objects.first() or services.note_add(actor=actor, case=case, body="Walk note")
    card = CaptureCard.objects.select_related("movement__to_place").first()
    if card is None:
        place = place_services.place_create(
            actor=actor, name="Walk camp", kind="camp", detaining_party=case.detaining_party
        )
        movement = place_services.movement_record(
            actor=actor, case=case, to_place=place, moved_on=dt.date(2025, 1, 9), kind="capture"
        )
        card = place_services.capture_card_record(
            actor=actor, movement=movement, filled_in_on=dt.date(2025, 1, 12), health="wounded"
        )
    exchange, handover = _exchange_and_handover(case, actor)
    from cases.models import Interview

    interview = Interview.objects.select_related("visit").first()
    return {
        "visits": interview.visit.uuid,
        "interviews": interview.uuid,
        "exchanges": exchange.uuid,
        "handovers": handover.uuid,
        "positions": position.uuid,
        "occurrences": occurrence.uuid,
        "notes": note.uuid,
        "places": card.movement.to_place.uuid,
        "movements": card.movement.uuid,
        "capture-cards": card.uuid,
    }


def _walk_party(actor, name, **fields):
    """Return the party named ``name``, created through its service when missing."""
    from cases import services
    from cases.models import Party

    return Party.objects.filter(name=name).first() or services.party_create(
        actor=actor, name=name, **fields
    )


def _exchange_and_handover(case, actor):
    """Return an exchange and a handover, writing them (a case of their own is handed over)."""
    import datetime as dt

    from cases import services
    from cases.exchanges import services as exchanges
    from cases.exchanges.models import Exchange, Handover

    exchange = Exchange.objects.first() or exchanges.exchange_create(
        actor=actor,
        name="Walk exchange",
        parties=[
            case.detaining_party,
            _walk_party(actor, "Walk other side", kind="state", country="RU"),
        ],
    )
    handover = Handover.objects.first()
    if handover is None:
        icrc = _walk_party(
            actor,
            "Walk ICRC",
            kind="international_organisation",
            country="CH",
            is_neutral=True,
        )
        other = services.case_open(
            actor=actor,
            reference="UA-2025-9901",
            person=services.person_create(actor=actor, working_name="Walk handed over"),
            detaining_party=case.detaining_party,
        )
        services.intention_record(
            actor=actor,
            case=other,
            option="third_state",
            destination_country="KR",
            stated_on=dt.date.today(),
            setting="private_neutral_interview",
            heard_by=icrc,
            detaining_power_present="no",
            options_explained=True,
            verification="verified",
            interview=f.private_interview(other, visiting_body=icrc),
        )
        request = services.request_file(
            actor=actor,
            case=other,
            kind="third_state_transfer",
            addressed_to=icrc,
            destination_country="KR",
        )
        for status in ("acknowledged", "under_review", "accepted", "scheduled"):
            request = services.request_transition(actor=actor, request=request, status=status)
        for status in ("registered", "interned", "release_approved"):
            other = services.case_change_status(actor=actor, case=other, status=status)
        korea = _walk_party(actor, "Walk receiving state", kind="state", country="KR")
        handover = exchanges.handover_record(
            actor=actor,
            request=request,
            occurred_on=dt.date.today(),
            receiving_authority=icrc,
            receiving_state=korea,
        )
    return exchange, handover


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Write the world and a user per role once for the module; roll it all back after."""
    from axes.models import AccessAttempt, AccessFailureLog
    from axes.models import AccessLog as AxesAccessLog
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cases.exchanges.models import Exchange, Handover

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            clients = sr.role_clients()
            built = sr.build_world(clients["case_officer"].client())
            case = built["cases"][0]
            superuser = clients["superuser"].user
            axes_row = {"username": "walk-probe", "ip_address": "127.0.0.9", "user_agent": "x"}
            access.log_access(
                user=superuser,
                channel=access.ADMIN,
                objects=[case.person],
                fields=["medical_notes"],
                path="/walk/",
            )
            with override_settings(WEBHOOK_ALLOW_HOSTS=["127.0.0.1"]):
                subscription, _secret = webhook_subscription_create(
                    created_by=clients["case_officer"].user,
                    name="Walk receiver",
                    target_url="https://127.0.0.1/walk",
                )
            attempt = WebhookAttempt.objects.create(
                subscription=subscription,
                event_uuid=TimelineEvent.objects.filter(case=case).first().uuid,
                attempt=1,
                outcome="delivered",
                status_code=204,
            )
            from cases.notifications import services as notifications  # noqa: PLC0415

            recipients = notifications.notification_recipients_set(
                actor=Actor.system(), case=case, recipients=built["parties"][:1]
            )
            (notification,) = notifications.notifications_open(
                actor=Actor.system(), case=case, reason="transfer"
            )
            from cases.tasks import services as task_services  # noqa: PLC0415

            task = task_services.task_open(
                actor=Actor.system(), case=case, title="Walk task", due_on=timezone.localdate()
            )
            from cases.imports import services as imports  # noqa: PLC0415

            mapping = imports.import_mapping_create(
                user=superuser, name="Walk list", columns={"name": "working_name"}
            )
            run = imports.import_dry_run(
                user=superuser,
                run=imports.import_upload(
                    user=superuser, file_name="walk.csv", content=b"name\nWalker\n", mapping=mapping
                ),
            )
            from cases.documents import services as documents  # noqa: PLC0415
            from tests.documents import conftest as files  # noqa: PLC0415

            document = documents.document_attach(
                actor=Actor.system(),
                case=case,
                upload=files.upload("letter.pdf", files.pdf()),
                title="Walk letter",
                kind="letter",
            )
            ids = {
                "api": {
                    "documents": document.uuid,
                    "imports": run.uuid,
                    "import-mappings": mapping.uuid,
                    "notifications": notification.uuid,
                    "tasks": task.uuid,
                    "notification-recipients": recipients.uuid,
                    "webhooks": subscription.uuid,
                    "cases": case.uuid,
                    "persons": case.person.uuid,
                    "parties": built["parties"][0].uuid,
                    "sources": built["source"].uuid,
                    "intentions": built["intentions"][-1].uuid,
                    "requests": built["requests"][0].uuid,
                    "risk-assessments": case.risk_assessments.first().uuid,
                    "identity-documents": case.person.identity_documents.first().uuid,
                    "external-identifiers": case.person.external_identifiers.first().uuid,
                    "nationality-claims": case.person.nationality_claims.first().uuid,
                    **_record_ids(case),
                },
                "admin": {
                    "cases.party": built["parties"][0].pk,
                    "cases.source": built["source"].pk,
                    "cases.person": case.person.pk,
                    "cases.case": case.pk,
                    "cases.request": built["requests"][0].pk,
                    "cases.statedintention": built["intentions"][-1].pk,
                    "cases.place": Place.objects.first().pk,
                    "cases.exchange": Exchange.objects.first().pk,
                    "cases.visit": built["visits"][0].pk,
                    "cases.handover": Handover.objects.first().pk,
                    "cases.capturecard": CaptureCard.objects.first().pk,
                    "cases.occurrence": Occurrence.objects.first().pk,
                    "cases.timelineevent": TimelineEvent.objects.filter(case=case).first().pk,
                    "cases.accesslogentry": AccessLogEntry.objects.first().pk,
                    "cases.apitoken": ApiToken.objects.first().pk,
                    "cases.notification": notification.pk,
                    "cases.task": task.pk,
                    "cases.notificationsettings": recipients.pk,
                    "cases.document": document.pk,
                    "cases.webhooksubscription": subscription.pk,
                    "cases.webhookattempt": attempt.pk,
                    "cases.importrun": run.pk,
                    "cases.importmapping": mapping.pk,
                    "auth.user": clients["analyst"].user.pk,
                    "auth.group": Group.objects.get(name="analyst").pk,
                    "otp_totp.totpdevice": TOTPDevice.objects.create(
                        user=superuser, name="walk phone", confirmed=True
                    ).pk,
                    "axes.accessattempt": AccessAttempt.objects.create(
                        **axes_row, failures_since_start=1
                    ).pk,
                    "axes.accesslog": AxesAccessLog.objects.create(**axes_row).pk,
                    "axes.accessfailurelog": AccessFailureLog.objects.create(
                        **axes_row, locked_out=False
                    ).pk,
                },
                "case_content_type": ContentType.objects.get_for_model(case).pk,
            }
            yield {"clients": clients, "ids": ids}
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --------------------------------------------------------------------------------------------
# Calling and judging
# --------------------------------------------------------------------------------------------

_INVALID_INPUT = {400, 404, 409, 412, 415, 422, 428}


def _is_login(response) -> bool:
    if response.status_code == 401:
        return True
    location = response.get("Location", "")
    return response.status_code in (301, 302, 303) and "/login/" in location


def outcome_matches(code: str, response) -> bool:
    """Return whether ``response`` is of the class ``code`` (see :data:`OUTCOMES`)."""
    status = response.status_code
    if status >= 500:
        return False
    login = _is_login(response)
    ok = (200 <= status < 400) and not login
    return {
        "O": ok,
        "L": login,
        "F": status == 403,
        "N": status == 405,
        "D": status in (403, 405),
        "P": ok or status in _INVALID_INPUT,
        "X": status == 404,
        "A": True,
    }[code]


def call(client, method: str, path: str):
    """Send one request; writes carry an empty body (JSON for the API, a form elsewhere)."""
    if path.startswith("/api/") and method in ("POST", "PUT", "PATCH", "DELETE"):
        return client.generic(method, path, b"{}", content_type="application/json")
    if method == "GET" and path.endswith("/autocomplete/"):
        query = {"app_label": "cases", "model_name": "case", "field_name": "person", "term": "W"}
        return client.get(path, query)
    if method == "POST":
        return client.post(path, {})
    return client.generic(method, path)


def walk(world, keys: set[str] | None = None) -> tuple[int, list[str]]:
    """Call every route (or those with a key in ``keys``); return the count and mismatches."""
    clients = {role: world["clients"][role].client() for role in ROLES}
    mismatches = []
    calls = 0
    for route, key in every_route():
        if key not in FULL_POLICY or (keys is not None and key not in keys):
            continue
        path = fill(route, params_for(route, world["ids"]))
        methods = FULL_POLICY[key]
        if "(?P<format>" in route or "<drf_format_suffix" in route:
            # A format suffix is the same view again: its read and one write suffice.
            methods = {m: r for m, r in methods.items() if m in ("GET", "POST")}
        for method, rule in methods.items():
            for role, code in zip(ROLES, RULES[rule], strict=True):
                # Signing out ends the session: that route gets a client of its own.
                client = world["clients"][role].client() if "logout" in key else clients[role]
                with transaction.atomic():
                    response = call(client, method, path)
                    transaction.set_rollback(True)
                calls += 1
                if not outcome_matches(code, response):
                    where = response.get("Location", "")
                    mismatches.append(
                        f"{key} {method} {path} as {role}: expected {OUTCOMES[code]}, got "
                        f"{response.status_code}{' -> ' + where if where else ''}"
                    )
    return calls, mismatches


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


def test_every_route_has_a_policy_row():
    """A route the resolver serves without a row in the policy table fails, by name."""
    missing = sorted({key for _route, key in every_route() if key not in FULL_POLICY})
    assert not missing, f"routes without a row in the policy table: {missing}"


def test_every_admin_model_has_a_kind_and_no_row_is_stale():
    """Every registered ModelAdmin is listed; every row of the table is a route served."""
    registered = _registered_admin_models()
    assert registered - set(ADMIN_MODELS) == set(), "ModelAdmins without a policy kind"
    assert set(ADMIN_MODELS) - registered == set(), "policy kinds of models not registered"
    served = {key for _route, key in every_route()}
    assert set(FULL_POLICY) - served == set(), "rows of routes the project does not serve"


def test_every_rule_names_each_role_once():
    """Each rule gives one known outcome per role."""
    for rule, codes in RULES.items():
        assert len(codes) == len(ROLES), rule
        assert set(codes) <= set(OUTCOMES), rule


SURFACES = {
    "pages": lambda key: (
        key.startswith(("cases:", "documents:"))
        or key in {"", "health", "login", "logout", "set_language"}
    ),
    "api": lambda key: key.startswith("api"),
    "admin-site": lambda key: key.startswith("admin:") and key in POLICY,
    "admin-cases": lambda key: key.startswith("admin:cases_") and key not in POLICY,
    "admin-other": lambda key: (
        key.startswith("admin:") and not key.startswith("admin:cases_") and key not in POLICY
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("surface", list(SURFACES))
def test_route_walk(world, surface):
    """Every route of the surface answers every role and method as the policy table says,
    and never with a server error."""
    keys = {key for key in FULL_POLICY if SURFACES[surface](key)}
    assert keys, surface
    calls, mismatches = walk(world, keys)
    assert calls > len(keys) * len(ROLES)
    assert not mismatches, f"{len(mismatches)} of {calls} answers differ from the policy:\n" + (
        "\n".join(mismatches)
    )


def test_the_surfaces_cover_every_row():
    """Each row of the policy is walked by exactly one of the surface tests."""
    for key in FULL_POLICY:
        owners = [name for name, owns in SURFACES.items() if owns(key)]
        assert len(owners) == 1, (key, owners)
