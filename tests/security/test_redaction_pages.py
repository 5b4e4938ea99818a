"""The analysts' pages and exports by role: statuses, no sensitive value without the permission,
and one access-log entry set per page view or export that shows sensitive values.

The rows are those of the "Pages, exports and admin" matrix in docs/security.md. The seed is
loaded once for the module; the sensitive values searched for are collected from its rows
through ``cases.security.sensitive``.
"""

from __future__ import annotations

import html
import io
import re

import openpyxl
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases.models import (
    AccessLogEntry,
    Case,
    Note,
    Person,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.security import access, sensitive
from tests.support import roles

ROLES = ["anonymous", "analyst", "integration", "case_officer", "superuser"]
#: Roles that hold ``cases.view_sensitive``.
SENSITIVE_ROLES = {"case_officer", "superuser"}
#: Roles that hold ``cases.export_cases``.
EXPORT_ROLES = {"analyst", "case_officer", "superuser"}

#: Sensitive values the seed also shows in a non-sensitive field, by design: the working
#: names Ri and Baek are also true name variants.
SHOWN_ELSEWHERE = {"Ri", "Baek"}

#: Screen -> (path template, access-log channel).
PAGES = {
    "page:case-list": ("/cases/", access.PAGE),
    "page:case-detail": ("/cases/{case}/", access.PAGE),
    "export:csv": ("/cases/export.csv", access.EXPORT),
    "export:xlsx": ("/cases/export.xlsx", access.EXPORT),
}
METHODS = ["GET", "POST"]


def expected_page_status(role: str, screen: str, method: str) -> int:
    """Return the status the matrix gives a page or export for ``role`` and ``method``."""
    if role == "anonymous":
        return 302  # to the login page
    if method != "GET":
        return 405  # the pages only read
    if screen.startswith("export:") and role not in EXPORT_ROLES:
        return 403
    return 200


def _flat(values: dict) -> set[str]:
    out: set[str] = set()
    for value in values.values():
        out.update(value if isinstance(value, list) else [value])
    return out


def role_user(role: str):
    """Return a staff account holding ``role`` (the pages log in through the admin's form)."""
    if role == "superuser":
        return roles.superuser("root")
    return roles.user_in_role(role.replace("_", " "), role.replace("_", "-"), is_staff=True)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Load the seed, make a client per role, collect the sensitive values; undo it all after."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_seed", verbosity=0)
            clients = {"anonymous": Client()}
            users = {}
            for role in ROLES[1:]:
                users[role] = role_user(role)
                clients[role] = Client()
                clients[role].force_login(users[role])
            ri_case = Case.objects.select_related("person").get(reference="UA-2025-0001")
            persons = Person.objects.prefetch_related("names")
            values = set().union(
                *(_flat(sensitive.sensitive_values(p)) for p in persons),
                *(_flat(sensitive.sensitive_values(i)) for i in StatedIntention.objects.all()),
                *(_flat(sensitive.sensitive_values(n)) for n in Note.objects.all()),
            )
            ri = persons.get(pk=ri_case.person_id)
            note_event = TimelineEvent.objects.filter(kind="note.added").first()
            yield {
                "clients": clients,
                "users": users,
                "values": values - SHOWN_ELSEWHERE,
                "ids": {
                    "case": ri_case.uuid,
                    "case_pk": ri_case.pk,
                    "person_pk": ri.pk,
                    "intention_pk": StatedIntention.objects.filter(case=ri_case)
                    .exclude(quote="")
                    .first()
                    .pk,
                    "request_pk": ri_case.requests.first().pk,
                    "note_event_pk": note_event.pk if note_event else None,
                },
                "ri_names": set(sensitive.sensitive_values(ri).get(sensitive.NAMES, []))
                - SHOWN_ELSEWHERE,
                "ri_quotes": {
                    i.quote for i in StatedIntention.objects.filter(case=ri_case).exclude(quote="")
                },
            }
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def body_text(response) -> str:
    """Return what a response shows as text: HTML unescaped, CSV decoded, XLSX cells joined."""
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            "\t".join("" if v is None else str(v) for v in row)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
        )
    return html.unescape(content.decode("utf-8-sig", errors="replace"))


#: The search box's examples, which name spellings of "Ri" as UI text, not as data.
UI_EXAMPLES = (
    "A name in any script or romanisation (Ri, Lee, Yi, 리), or a reference.",
    "Ri, Lee, 리, Пак, UA-2025-0001",
    "Reference, or any spelling of the person's name (Ri, Lee, 리 ...).",
    'e.g. "80% decided".',
)


def found_in(text: str, values: set[str]) -> set[str]:
    """Return the ``values`` that appear in ``text``: long ones by their start, short as words.

    Titles of published sources, which may quote a person's published words, and the search
    box's examples are cut out first.
    """
    for title in sorted(Source.objects.values_list("title", flat=True), key=len, reverse=True):
        text = text.replace(title, "")
    for example in UI_EXAMPLES:
        text = text.replace(example, "")
    found = set()
    for value in values:
        if len(value) >= 12:
            hit = value[:40] in text
        else:
            hit = re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None
        if hit:
            found.add(value)
    return found


CASES = [(role, screen, method) for screen in PAGES for method in METHODS for role in ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "screen", "method"), CASES)
def test_pages_matrix(world, role, screen, method):
    """The status is the matrix's; without the permission nothing sensitive shows and nothing
    is logged; with it, what shows is logged on the page's channel."""
    path, channel = PAGES[screen]
    path = path.format(**world["ids"])
    client = world["clients"][role]
    before = AccessLogEntry.objects.count()
    response = client.get(path) if method == "GET" else client.post(path, {})
    assert response.status_code == expected_page_status(role, screen, method)
    if response.status_code != 200:
        assert AccessLogEntry.objects.count() == before
        return
    text = body_text(response)
    entries = AccessLogEntry.objects.order_by("id")[before:]
    if role in SENSITIVE_ROLES:
        assert found_in(text, world["ri_names"]), "true name variants are shown"
        assert entries, "a view that shows sensitive values is logged"
        assert {e.channel for e in entries} == {channel}
        assert len({e.response_id for e in entries}) == 1
        assert {e.username for e in entries} == {world["users"][role].username}
        if screen == "page:case-detail":
            assert found_in(text, world["ri_quotes"])
        if screen.startswith("export:"):
            (entry,) = entries
            assert entry.extra["rows"] == Case.objects.filter(archived_at__isnull=True).count()
    else:
        assert found_in(text, world["values"]) == set()
        assert not entries


@pytest.mark.django_db
def test_export_heading_says_variants_are_redacted(world):
    """An analyst's export names the redaction in its heading."""
    response = world["clients"]["analyst"].get("/cases/export.csv")
    heading = body_text(response).splitlines()[0]
    assert "other variants redacted" in heading


@pytest.mark.django_db
def test_export_log_keeps_the_filter(world):
    """The export's entry holds the filter query and the number of rows exported."""
    client = world["clients"]["case_officer"]
    response = client.get("/cases/export.csv", {"status": "interned"})
    assert response.status_code == 200
    entry = AccessLogEntry.objects.latest("id")
    assert entry.channel == access.EXPORT
    assert entry.extra["filter"] == "status=interned"
    assert entry.extra["rows"] == Case.objects.filter(status="interned").count()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["리", "Lee", "Yi"])
def test_list_search_is_no_oracle_without_the_permission(world, query):
    """Searching the list for a hidden variant of Ri's name finds nothing for an analyst."""
    response = world["clients"]["analyst"].get("/cases/", {"q": query})
    assert "UA-2025-0001" not in [c.reference for c in response.context["cases"]]
    response = world["clients"]["case_officer"].get("/cases/", {"q": query})
    assert "UA-2025-0001" in [c.reference for c in response.context["cases"]]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "case_officer"])
def test_list_query_count_is_flat(world, role, django_assert_num_queries):
    """The list costs the same number of queries for 1 row and for every row.

    Both are searches, so both take the filtered path of the charts (the unfiltered list
    counts its events another way; ``tests/pages/test_pages.py`` checks it separately).
    """
    client = world["clients"][role]
    with CaptureQueriesContext(connection) as one_row:
        response = client.get("/cases/", {"q": "UA-2025-0001"})
    assert len(response.context["cases"]) == 1
    with django_assert_num_queries(len(one_row.captured_queries)):
        response = client.get("/cases/", {"q": "-20"})  # part of every reference
    assert len(response.context["cases"]) == Case.objects.count()


@pytest.mark.django_db
def test_archived_case_leaves_the_list_but_its_page_still_reads(world):
    """An archived case is not listed by default, is with archived=include, and its page shows."""
    from cases import services

    officer = world["users"]["case_officer"]
    case = Case.objects.get(reference="UA-2025-0001")
    services.case_archive(
        actor=services.Actor(user=officer, channel="admin"), case=case, reason="test"
    )
    client = world["clients"]["analyst"]
    listed = [c.reference for c in client.get("/cases/").context["cases"]]
    assert "UA-2025-0001" not in listed
    listed = [c.reference for c in client.get("/cases/", {"archived": "include"}).context["cases"]]
    assert "UA-2025-0001" in listed
    assert client.get(f"/cases/{case.uuid}/").status_code == 200
