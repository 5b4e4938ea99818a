"""The API's HTTP conventions: query parameters, paging, list ETags and Links, JSON bodies.

The query parameters are checked against the schema itself: every query parameter that an
operation documents is taken, and one it does not is refused, for every GET of the schema.
"""

from __future__ import annotations

import re

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests import factories as f
from tests.support.clients import field_errors, token_client
from tests.support.roles import CASE_OFFICER, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

PARTIES = "/api/v1/parties/"


@pytest.fixture
def api():
    """A case officer's token client."""
    client, _ = token_client(user_in_role(CASE_OFFICER, "conventions-officer"))
    return client


@pytest.fixture(scope="module")
def schema():
    """The OpenAPI document the API serves."""
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(schema, method: str):
    for path, operations in schema["paths"].items():
        if method in operations:
            yield path, operations[method]


# --------------------------------------------------------------------------------------------
# Query parameters: derived from the view, the same as the schema documents
# --------------------------------------------------------------------------------------------


def _concrete(path: str, rows: dict[str, str]) -> str | None:
    """Return ``path`` with its path parameters filled from ``rows``, or None if it cannot."""
    resource = path.split("/")[3]
    if "{" not in path:
        return path
    uuid = rows.get(resource)
    return None if uuid is None else re.sub(r"\{[^}]+\}", uuid, path)


def test_every_documented_query_parameter_is_taken_and_no_other(api, schema):
    """For every GET in the schema: its query parameters pass, an undocumented one is a 400.

    A parameter may still be refused for its value; what is checked is that it is known.
    """
    case, _ = ri_and_baek()
    rows = {
        "cases": str(case.uuid),
        "persons": str(case.person.uuid),
        "parties": str(case.detaining_party.uuid),
    }
    walked = 0
    for path, operation in _operations(schema, "get"):
        url = _concrete(path, rows)
        if url is None or path.endswith("/schema/"):
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        for name in names:
            response = api.get(url, {name: "1"})
            if response.status_code == 400:
                assert response.json()["code"] != "unknown_parameter", (path, name)
        refused = api.get(url, {"surely_not_a_parameter": "1"})
        assert refused.status_code == 400, (path, refused.status_code)
        body = refused.json()
        assert body["code"] == "unknown_parameter"
        assert set(body["accepted_parameters"]) >= set(names) - {"format"}
        walked += 1
    assert walked >= 12  # lists, reads, the feed, a timeline, the consent query


def test_the_feed_names_its_own_parameters(api):
    """The feed takes its cursor, limit and filters, and refuses a misspelt one."""
    assert api.get("/api/v1/events/", {"limit": 5, "kind": "case.opened"}).status_code == 200
    body = api.get("/api/v1/events/", {"limt": 5}).json()
    assert body["code"] == "unknown_parameter"
    assert {"after", "limit", "kind", "case"} <= set(body["accepted_parameters"])


def test_writes_are_not_refused_for_query_parameters(api):
    """The check is for reads; a write's query string is left alone."""
    response = api.post(f"{PARTIES}?trace=1", {"name": "Poland", "kind": "state"}, format="json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "params", [{"page_size": "abc"}, {"page_size": "0"}, {"page_size": "501"}, {"page_size": "1.5"}]
)
def test_a_bad_page_size_is_a_400(api, params):
    """page_size must be a whole number from 1 to 500; it is no longer ignored."""
    assert "page_size" in field_errors(api.get(PARTIES, params))


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.0"])
def test_a_bad_page_is_a_400(api, page):
    """page must be a whole number of at least 1."""
    assert "page" in field_errors(api.get(PARTIES, {"page": page}))


def test_a_page_past_the_end_is_404_and_last_is_the_last(api):
    """A page after the last is a 404 problem; ``page=last`` answers the last page."""
    for name in ("A", "B", "C"):
        f.party(name)
    assert api.get(PARTIES, {"page": 4, "page_size": 1}).status_code == 404
    last = api.get(PARTIES, {"page": "last", "page_size": 1})
    assert last.status_code == 200 and last.json()["next"] is None


# --------------------------------------------------------------------------------------------
# Link and ETag on lists
# --------------------------------------------------------------------------------------------


def links(response) -> dict[str, str]:
    """Return the Link header as {rel: url}."""
    found = {}
    for part in response["Link"].split(", "):
        url, rel = re.fullmatch(r'<([^>]*)>; rel="(\w+)"', part).groups()
        found[rel] = url
    return found


def test_pages_link_to_first_prev_next_and_last(api):
    """The Link header (RFC 8288) names the pages around this one, as the body does."""
    for name in ("A", "B", "C"):
        f.party(name)
    middle = api.get(PARTIES, {"page": 2, "page_size": 1})
    rels = links(middle)
    assert set(rels) == {"first", "prev", "next", "last"}
    assert rels["next"] == middle.json()["next"]
    assert rels["prev"] == middle.json()["previous"]
    assert "page=" not in rels["first"] and "page=3" in rels["last"]
    assert "page_size=1" in rels["last"]
    only = api.get(PARTIES)
    assert set(links(only)) == {"first", "last"}
    assert api.get(links(middle)["last"]).json()["next"] is None


def test_a_list_answers_304_to_its_own_etag_until_it_changes(api):
    """A list's weak ETag is decided before its page; If-None-Match gets 304 until a write."""
    party = f.party("Ukraine")
    first = api.get(PARTIES)
    etag = first["ETag"]
    assert re.fullmatch(r'W/"[0-9a-f]{40}"', etag)
    assert api.get(PARTIES)["ETag"] == etag  # the same data, the same tag
    again = api.get(PARTIES, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api.get(PARTIES, HTTP_IF_NONE_MATCH=f'"other", {etag}').status_code == 304
    # The weak comparison: the same tag sent without W/ still matches.
    assert api.get(PARTIES, HTTP_IF_NONE_MATCH=etag.removeprefix("W/")).status_code == 304
    response = api.patch(
        f"{PARTIES}{party.uuid}/", {"short_name": "UA"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    changed = api.get(PARTIES, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["results"][0]["short_name"] == "UA"
    # Another page, or another representation, has its own tag.
    assert api.get(PARTIES, {"page_size": 1}, HTTP_IF_NONE_MATCH=etag).status_code == 200


@pytest.mark.parametrize(
    "query, status",
    [
        ({"page_size": "abc"}, 400),
        ({"kind": "no-such-kind"}, 400),
        ({"stauts": "x"}, 400),
        ({"page": 99}, 404),
        ({}, 200),
    ],
)
def test_if_none_match_star_never_hides_a_refusal(api, query, status):
    """``If-None-Match: *`` is not a 304 for a request that is refused: the list checks its
    parameters and answers them as without the header (a valid one gets its page)."""
    f.party("Ukraine")
    response = api.get(PARTIES, query, HTTP_IF_NONE_MATCH="*")
    assert response.status_code == status, response.content


def test_a_list_that_is_not_case_data_is_tagged_by_its_body(api):
    """Webhook subscriptions write no timeline events: their tag is their body's, strong."""
    first = api.get("/api/v1/webhooks/")
    assert first.status_code == 200, first.content
    assert re.fullmatch(r'"[0-9a-f]{40}"', first["ETag"])
    again = api.get("/api/v1/webhooks/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["Link"] == first["Link"]


def test_every_list_in_the_schema_answers_an_etag_and_a_link(api, schema):
    """Each paginated GET of the schema sends ETag and Link, and answers 304 to its ETag."""
    ri_and_baek()
    lists = [
        path
        for path, operation in _operations(schema, "get")
        if "page" in {p["name"] for p in operation.get("parameters", [])}
    ]
    assert len(lists) >= 7
    for path in lists:
        response = api.get(path)
        assert response.status_code == 200, path
        assert response["ETag"] and response["Link"], path
        assert api.get(path, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304, path


# --------------------------------------------------------------------------------------------
# The schema: JSON bodies, problems and headers for every operation
# --------------------------------------------------------------------------------------------


#: The bodies that are forms, and the media types each takes: a list's upload sends its file
#: as multipart (or JSON, in base64); a document's, only as multipart (a recording in base64
#: would be a third larger and read whole into memory).
MULTIPART_BODIES = {
    ("/api/v1/imports/", "post"): {"application/json", "multipart/form-data"},
    ("/api/v1/documents/", "post"): {"multipart/form-data"},
}


def test_request_bodies_are_json_only(schema):
    """Every request body the schema declares is application/json and nothing else, but
    the uploads of a list (multipart/form-data too) and of a document (multipart only)."""
    bodies = {
        (path, method): set(operation["requestBody"]["content"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    }
    assert bodies
    for key, content in bodies.items():
        if key in MULTIPART_BODIES:
            assert content == MULTIPART_BODIES[key], key
        else:
            assert content == {"application/json"}, key


def test_every_operation_declares_its_errors_as_problems(schema):
    """Each operation declares 400-415, 429, 500 and 503 as application/problem+json."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "401", "403", "404", "405", "406", "415", "429", "500", "503"):
                assert status in responses, (path, method, status)
            for status, answer in responses.items():
                headers = answer.get("headers", {})
                assert {"X-Request-ID", "RateLimit", "RateLimit-Policy"} <= set(headers)
                if int(status) < 400:
                    continue
                content = answer["content"]
                assert set(content) == {"application/problem+json"}, (path, method, status)
                # A 409 may be one of two problems (the consent gate's, an idempotency key's).
                declared = content["application/problem+json"]["schema"]
                ref = declared.get("$ref") or str(declared.get("anyOf") or declared.get("oneOf"))
                expected = "ValidationProblem" if status == "400" else "Problem"
                assert ref.endswith(expected) or status in ("409", "412"), (path, status, ref)
            assert "Retry-After" in responses["429"]["headers"]


def test_the_problem_components_are_rfc_9457(schema):
    """Problem has RFC 9457's members and the code and request id; 400s list their errors."""
    components = schema["components"]["schemas"]
    problem = components["Problem"]
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(problem["required"])
    errors = components["ValidationProblem"]["properties"]["errors"]["items"]
    assert set(errors["required"]) == {"field", "code", "detail"}
    assert "problems" in components["ConsentRefusedProblem"]["properties"]
    assert "current_version" in components["PreconditionFailedProblem"]["properties"]
    assert {"ETag", "Link", "Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"} <= set(
        schema["components"]["headers"]
    )
