"""The canary crawl: no sensitive value reaches a role that may not read it, on any surface.

A world is written through the services with a unique canary in every sensitive field
(``cases.security.sensitive``: a person's details, every non-pseudonymous name variant, every quote,
every note), each person updated once so the timeline holds old and new values, and one note
added on the admin's case page as a case officer adds it. Then each role without
``cases.view_sensitive`` crawls everything it can reach: the API's lists, details and every
link in them, the feed from the start to the end, every case's timeline, the pages with
name searches, the case pages and their briefs (the PDF's text), both exports (every XLSX
cell), the admin's change lists with each declared filter, change and history pages,
autocomplete, and error pages. No canary may
appear in a body or a header, and no count (API, pages, admin search, admin lookups on every
model field and JSON key path) may depend on a canary. A case officer then crawls the same:
every answer that shows a canary must have appended an access-log entry.

A canary in a request's own query string (a search) is the caller's input, not a leak: it is
ignored in that one answer, whose row count is compared with a search for a decoy instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import openpyxl
import pypdf
import pytest
from django.contrib import admin
from django.db import models, transaction
from django.test import Client

from cases.feed import cursor as feed
from cases.models import AccessLogEntry, TimelineEvent
from tests.support import worlds as sr

#: Roles without ``cases.view_sensitive``. The analyst is a staff account (docs/security.md),
#: so the analyst's crawl covers the admin too.
UNPRIVILEGED = ("no_role", "analyst", "integration_ro", "integration_rw")
#: A search term no row holds, shaped like a canary.
DECOY = f"{sr.CANARY_PREFIX}-decoy-000000000000"
#: The part every canary starts with: a lookup matching it matches every canary.
FRAGMENT = sr.CANARY_PREFIX
NO_MATCH = "zqxj-no-such-text"
API = "/api/v1"


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Write the canary world and a user per role once for the module; roll it all back."""
    patch = pytest.MonkeyPatch()
    # The world is written in a transaction that stays open for the module; the feed's
    # watermark on PostgreSQL (the oldest running transaction) would hide all of it.
    patch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            clients = sr.role_clients()
            built = sr.build_world(clients["case_officer"].client())
            built["clients"] = clients
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            patch.undo()


# --------------------------------------------------------------------------------------------
# Reading answers
# --------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One request of a crawl and what came back, as text to search."""

    path: str
    status: int
    text: str
    count: int | None = None  # rows found, for searches
    echoed: set[str] = field(default_factory=set)  # canaries the request itself carried
    decoy_count: int | None = None  # rows found for a decoy, for searches
    cache_control: str = ""


def answer_text(response) -> str:
    """Return a response's headers and body as text; every cell of an XLSX workbook."""
    parts = [f"{name}: {value}" for name, value in response.items()]
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    ):
        book = openpyxl.load_workbook(io.BytesIO(body))
        for sheet in book.worksheets:
            parts.append(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                parts.extend(str(cell) for cell in row if cell is not None)
        return "\n".join(parts)
    if response.get("Content-Type", "").startswith("application/pdf"):
        # The case brief: its text as a reader of the PDF gets it, page by page.
        pdf = pypdf.PdfReader(io.BytesIO(body))
        parts.extend(page.extract_text() for page in pdf.pages)
        return "\n".join(parts)
    text = body.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        # JSON escapes non-ASCII; decode it so any spelling is searched.
        with contextlib.suppress(ValueError):
            text += "\n" + json.dumps(json.loads(body), ensure_ascii=False)
    return "\n".join([*parts, text])


def _count(response) -> int | None:
    context = getattr(response, "context", None)
    if context is not None:
        for key in ("cl", "page"):
            try:
                holder = context[key]
            except KeyError:
                continue
            if key == "cl":
                return holder.result_count
            return holder.paginator.count
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            data = json.loads(response.content)
        except ValueError:
            return None
        if isinstance(data, dict) and "count" in data:
            return data["count"]
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            return len(data["results"])
    return None


def fetch(client: Client, path: str, params=None, echoed=()) -> tuple[Answer, object]:
    """GET ``path`` and return the answer to search, and the response."""
    response = client.get(path, params or {})
    answer = Answer(
        path=path + (f"?{_qs(params)}" if params else ""),
        status=response.status_code,
        text=answer_text(response),
        count=_count(response),
        echoed=set(echoed),
        cache_control=response.get("Cache-Control", ""),
    )
    return answer, response


def _qs(params) -> str:
    from urllib.parse import urlencode

    return urlencode(params, doseq=True)


# --------------------------------------------------------------------------------------------
# The crawl
# --------------------------------------------------------------------------------------------

_API_URL = re.compile(r"(?:https?://testserver)?(/api/v1/[^\s\"'<>]*)")


def _api_links(data) -> Iterator[str]:
    if isinstance(data, str):
        match = _API_URL.fullmatch(data)
        if match:
            yield match.group(1)
    elif isinstance(data, dict):
        for value in data.values():
            yield from _api_links(value)
    elif isinstance(data, list):
        for value in data:
            yield from _api_links(value)


def crawl_api(client: Client, world) -> Iterator[Answer]:
    """Every list and detail of the API and every API link found in them, breadth first."""
    start = [f"{API}/"] + [
        f"{API}/{resource}/?page_size=500&archived=include"
        for resource in ("cases", "persons", "parties", "sources", "intentions", "requests")
    ]
    start += [f"{API}/cases/{case.uuid}/timeline/?limit=1000" for case in world["cases"]]
    seen: set[str] = set()
    queue = list(start)
    while queue:
        path = queue.pop(0)
        if path in seen or len(seen) > 400 or "/schema/" in path or "/docs/" in path:
            continue
        seen.add(path)
        answer, response = fetch(client, path)
        yield answer
        if response.status_code == 200 and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            queue.extend(link for link in _api_links(response.json()) if link not in seen)
    yield from crawl_feed(client)


def crawl_feed(client: Client) -> Iterator[Answer]:
    """The change feed from the start to the end, in small pages."""
    params = {"limit": 7}
    for _page in range(200):
        answer, response = fetch(client, f"{API}/events/", params)
        yield answer
        if response.status_code != 200:
            return
        body = response.json()
        if not body.get("has_more"):
            return
        params = {"limit": 7, "after": body["next_cursor"]}
    raise AssertionError("the feed did not end within 200 pages")


def searched_canaries(world) -> dict[str, str]:
    """Return the canaries searched for: every name variant, and one of each other field."""
    canaries = world["canaries"].values
    return {
        label: value
        for label, value in canaries.items()
        if "-name-" in label or label.startswith("ri-") or label.startswith("admin-")
    }


def crawl_searches(client: Client, world, path: str, param: str = "q") -> Iterator[Answer]:
    """Search ``path`` for the decoy and for each canary; each answer carries its count."""
    decoy, _ = fetch(client, path, {param: DECOY})
    yield decoy
    for label, value in searched_canaries(world).items():
        answer, _ = fetch(client, path, {param: value}, echoed={label})
        answer.decoy_count = decoy.count
        yield answer


def crawl_pages(client: Client, world) -> Iterator[Answer]:
    """The case list (with its charts), searches, the case pages, both exports, errors."""
    yield fetch(client, "/cases/")[0]
    yield fetch(client, "/cases/", {"archived": "include", "ordering": "-updated_at"})[0]
    yield from crawl_searches(client, world, "/cases/")
    yield from crawl_searches(client, world, f"{API}/cases/")
    yield from crawl_searches(client, world, f"{API}/persons/")
    for case in world["cases"]:
        yield fetch(client, f"/cases/{case.uuid}/")[0]
        yield fetch(client, f"/cases/{case.uuid}/brief.pdf")[0]
    yield fetch(client, "/cases/export.csv")[0]
    yield fetch(client, "/cases/export.xlsx")[0]
    yield fetch(client, "/cases/", {"format": "csv"})[0]
    # Error pages: an unknown case, a bad filter value, a bad cursor.
    yield fetch(client, f"/cases/{uuid.uuid4()}/")[0]
    yield fetch(client, f"/cases/{uuid.uuid4()}/brief.pdf")[0]
    yield fetch(client, f"{API}/cases/{uuid.uuid4()}/")[0]
    yield fetch(client, "/cases/", {"updated_after": "not-a-date"})[0]
    yield fetch(client, f"{API}/cases/", {"updated_after": "not-a-date"})[0]
    yield fetch(client, f"{API}/events/", {"after": "not-a-cursor"})[0]
    yield fetch(client, "/no-such-page/")[0]


def _admin_models() -> list[type[models.Model]]:
    return list(admin.site._registry)


def _changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def crawl_admin(client: Client, world) -> Iterator[Answer]:
    """Every change list with each declared filter, every row's change and history pages,
    the searches and the autocomplete."""
    yield fetch(client, "/admin/")[0]
    for model in _admin_models():
        path = _changelist(model)
        answer, response = fetch(client, path)
        yield answer
        if response.status_code != 200 or response.context is None:
            continue
        cl = response.context["cl"]
        for spec in cl.filter_specs:
            for choice in spec.choices(cl):
                yield fetch(client, path + choice["query_string"])[0]
        for obj in cl.result_list:
            yield fetch(client, f"{path}{obj.pk}/change/")[0]
            yield fetch(client, f"{path}{obj.pk}/history/")[0]
        if model._meta.label_lower in {
            "cases.case",
            "cases.person",
            "cases.statedintention",
            "cases.timelineevent",
        }:
            yield from crawl_searches(client, world, path)
    for model_name, field_name in (("case", "person"), ("request", "case")):
        params = {"app_label": "cases", "model_name": model_name, "field_name": field_name}
        yield fetch(client, "/admin/autocomplete/", params)[0]
        decoy, _ = fetch(client, "/admin/autocomplete/", {**params, "term": DECOY})
        yield decoy
        for label, value in searched_canaries(world).items():
            answer, _ = fetch(client, "/admin/autocomplete/", {**params, "term": value}, {label})
            answer.decoy_count = decoy.count
            yield answer
    # Error pages of the admin: an unknown object, an unknown page.
    yield fetch(client, "/admin/cases/case/999999/change/")[0]
    yield fetch(client, "/admin/cases/no-such-page/")[0]


def crawl(client: Client, world) -> Iterator[Answer]:
    """Everything reachable: the API and the feed, the pages and exports, the admin."""
    yield from crawl_api(client, world)
    yield from crawl_pages(client, world)
    yield from crawl_admin(client, world)


def leaks(answer: Answer, canaries: sr.Canaries) -> set[str]:
    """Return the canaries an answer shows, leaving out those its own request carried."""
    return canaries.found_in(answer.text) - answer.echoed


# --------------------------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_sensitive_field_holds_a_canary(world):
    """The crawl has something to find: each sensitive value of the world is a canary."""
    values = sr.sensitive_values_of(world)
    assert values
    for value in values:
        assert world["canaries"].found_in(value), value
    persons = world["persons"]
    assert all(p.names.filter(is_pseudonym=False).count() == 3 for p in persons)
    assert len(persons) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("role", UNPRIVILEGED)
def test_no_canary_reaches_a_role_without_the_permission(world, role):
    """No body or header shows a canary, and no search count depends on one."""
    client = world["clients"][role].client()
    canaries = world["canaries"]
    problems = []
    answers = 0
    for answer in crawl(client, world):
        answers += 1
        shown = leaks(answer, canaries)
        if shown:
            problems.append(f"{answer.path} [{answer.status}] shows {sorted(shown)}")
        if answer.status >= 500:
            problems.append(f"{answer.path} answers {answer.status}")
        decoy_count = getattr(answer, "decoy_count", None)
        if answer.echoed and answer.count != decoy_count:
            problems.append(
                f"{answer.path} finds {answer.count} rows for {sorted(answer.echoed)}, "
                f"{decoy_count} for a decoy"
            )
    assert answers > 50
    assert not problems, f"{len(problems)} problems in {answers} answers as {role}:\n" + (
        "\n".join(problems)
    )


def _json_paths(value, prefix: str = "", depth: int = 0) -> Iterator[str]:
    if depth > 5:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}__{key}"
            yield path
            yield from _json_paths(item, path, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            path = f"{prefix}__{index}"
            yield path
            yield from _json_paths(item, path, depth + 1)


def lookups(model) -> list[str]:
    """Every lookup to try on a model's change list: each concrete field, each JSON key path
    found in its rows, and each sensitive field one relation away."""
    from cases.security import sensitive

    out = []
    for model_field in model._meta.concrete_fields:
        out.append(model_field.name)
        if isinstance(model_field, models.JSONField):
            paths = set()
            for value in model.objects.values_list(model_field.name, flat=True):
                paths.update(_json_paths(value))
            out.extend(f"{model_field.name}{path}" for path in sorted(paths))
    for relation in model._meta.get_fields():
        if not relation.is_relation or relation.related_model is None:
            continue
        related = relation.related_model._meta.model_name
        name = relation.name  # a reverse relation's name is its query name
        for sensitive_field in sensitive.SENSITIVE_FIELDS.get(related, ()):
            if sensitive_field == sensitive.NAMES:
                out.append(f"{name}__names__value")
            else:
                out.append(f"{name}__{sensitive_field}")
    if model._meta.model_name == "person":
        out.append("names__value")
    return out


def _admin_answer(client: Client, path: str, params: dict) -> tuple[int, int | None]:
    response = client.get(path, params)
    count = None
    if response.status_code == 200 and response.context is not None:
        try:
            count = response.context["cl"].result_count
        except KeyError:
            count = None
    return response.status_code, count


@pytest.mark.django_db
def test_admin_lookups_do_not_depend_on_a_canary(world):
    """For every change list, every model field (and JSON key path) used as a lookup answers
    the same for a value matching a canary as for one matching nothing."""
    client = world["clients"]["analyst"].client()
    differ = []
    tried = 0
    for model in _admin_models():
        path = _changelist(model)
        if client.get(path).status_code != 200:
            continue  # the analyst cannot open this list at all (the route walk covers it)
        for lookup in lookups(model):
            canary = _admin_answer(client, path, {f"{lookup}__icontains": FRAGMENT})
            decoy = _admin_answer(client, path, {f"{lookup}__icontains": NO_MATCH})
            tried += 1
            if canary != decoy or canary[0] >= 500:
                differ.append(
                    f"{path}?{lookup}__icontains=…: (status, rows) {canary} for a canary "
                    f"fragment, {decoy} for nothing"
                )
    assert tried > 50
    assert not differ, f"{len(differ)} of {tried} lookups answer by a canary:\n" + (
        "\n".join(differ)
    )


@pytest.mark.django_db
def test_every_answer_showing_a_canary_to_an_officer_is_logged(world):
    """A case officer sees the canaries; each answer that shows one appended an access-log
    entry and tells caches not to keep it (``Cache-Control: no-store``)."""
    client = world["clients"]["case_officer"].client()
    canaries = world["canaries"]
    unlogged = []
    showing = 0
    answers = _logged_crawl(client, world)
    for answer, appended in answers:
        if leaks(answer, canaries):
            showing += 1
            if not appended:
                unlogged.append(
                    f"{answer.path} [{answer.status}] shows "
                    f"{len(leaks(answer, canaries))} canaries, no access-log entry"
                )
            if "no-store" not in answer.cache_control:
                unlogged.append(
                    f"{answer.path} [{answer.status}] shows canaries with "
                    f"Cache-Control {answer.cache_control!r}, not no-store"
                )
    assert showing > 10, "the officer's crawl must find the canaries"
    assert not unlogged, f"{len(unlogged)} of {showing} answers showing canaries:\n" + (
        "\n".join(unlogged)
    )


def _logged_crawl(client: Client, world) -> list[tuple[Answer, int]]:
    """Crawl, noting how many access-log entries each answer appended."""
    out = []
    before = AccessLogEntry.objects.count()
    for answer in crawl(client, world):
        after = AccessLogEntry.objects.count()
        out.append((answer, after - before))
        before = after
    return out


@pytest.mark.django_db
def test_the_crawl_reads_the_briefs_text(world):
    """A case officer's brief shows the case's canaries in the text the crawl searches, so
    an unprivileged role's brief showing none means withheld, not unread."""
    client = world["clients"]["case_officer"].client()
    case = world["cases"][0]
    answer, response = fetch(client, f"/cases/{case.uuid}/brief.pdf")
    assert response["Content-Type"] == "application/pdf"
    assert len(world["canaries"].found_in(answer.text)) >= 3, answer.text


@pytest.mark.django_db
def test_the_timeline_holds_the_canaries(world):
    """The services put the canaries on the timeline too, so the feed has them to leak."""
    text = json.dumps(list(TimelineEvent.objects.values("summary", "changes")))
    found = world["canaries"].found_in(text)
    assert len(found) >= len(world["canaries"].values) - 2
