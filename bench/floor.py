"""The floor: the tracker's pages as plain SQL through psycopg and the standard ``json`` module.

``floor_page`` is the case list's floor that ``bench/api_bench.py`` times in process. The
views below serve the same floor over HTTP under ``/api/floor/v1/`` (``bench/urls.py``), so
``bench/compare_bench.py`` can time it through the same gunicorn and middleware as the
tracker and the peer. What the floor does: one SQL query to check the token (it exists, is
neither revoked nor expired, and its user is active), then the page's SQL on a psycopg
connection the worker keeps open, and ``json.dumps``. What it does not do: no role or
permission check (any valid token reads), no rate limit, no count of the matches, no access
log, no validation of parameters beyond what the SQL needs; every reader is treated as one
without ``cases.view_sensitive`` (pseudonymous name variants only, sensitive values of
events withheld with the project's rule, ``cases.security.sensitive``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import psycopg
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified, JsonResponse

from cases.api.selectors import OPEN_REQUEST_STATUSES
from cases.names import search_variants
from cases.security import sensitive

LIST = "/api/v1/cases/"
PAGE = 50

#: The floor's query: the columns the API's case representation shows, names and the open
#: request count as correlated subqueries, ``{names}``, ``{where}`` and ``{order}`` per use.
FLOOR_SQL = """
SELECT c.uuid, c.reference, c.status, c.legal_status,
       p.uuid, p.working_name,
       (SELECT coalesce(json_agg(json_build_object(
                'value', n.value, 'script', n.script, 'romanisation', n.romanisation,
                'is_pseudonym', n.is_pseudonym) ORDER BY n.id), '[]'::json)
          FROM cases_personname n WHERE n.person_id = p.id {names}),
       d.uuid, d.name,
       c.capture_date, c.capture_date_precision, c.capture_place, c.capture_place_code,
       c.detention_place, c.priority, u.username,
       i.uuid, c.current_intention_option, c.current_intention_destination,
       c.current_intention_verification, c.current_intention_verified, i.stated_on,
       (SELECT count(*) FROM cases_request r
         WHERE r.case_id = c.id AND r.status = ANY(%(open)s)),
       c.version, c.opened_at, c.closed_at, c.updated_at,
       pl.uuid, pl.name, c.capture_card_due_on, c.archived_at,
       c.id, p.power_depends_on_id, c.released_to, c.released_to_place
FROM cases_case c
JOIN cases_person p ON p.id = c.person_id
JOIN cases_party d ON d.id = c.detaining_party_id
LEFT JOIN auth_user u ON u.id = c.assigned_officer_id
LEFT JOIN cases_statedintention i ON i.id = c.current_intention_id
LEFT JOIN cases_place pl ON pl.id = c.current_place_id
WHERE {where}
ORDER BY {order}
LIMIT {page} OFFSET {offset}
"""

#: Only pseudonymous name variants: what a reader without ``cases.view_sensitive`` sees.
PSEUDONYMS_ONLY = "AND n.is_pseudonym"


def _iso(value):
    return None if value is None else value.isoformat()


def _timestamp(value):
    if value is None:
        return None
    text = value.astimezone(dt.UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def case_rows(
    conn: psycopg.Connection,
    where: str,
    order: str,
    params: dict,
    *,
    pseudonyms_only: bool = True,
    offset: int = 0,
) -> list[tuple]:
    """Return one page of case rows read by :data:`FLOOR_SQL`."""
    sql = FLOOR_SQL.format(
        names=PSEUDONYMS_ONLY if pseudonyms_only else "",
        where=where,
        order=order,
        page=PAGE,
        offset=offset,
    )
    return conn.execute(sql, {"open": OPEN_REQUEST_STATUSES, **params}).fetchall()


def represent(r: tuple, list_url: str, today: dt.date) -> dict:
    """Return one row of :data:`FLOOR_SQL` with the keys of the API's case representation."""
    return {
        "url": f"{list_url}{r[0]}/",
        "uuid": str(r[0]),
        "reference": r[1],
        "status": r[2],
        "legal_status": r[3],
        "person": {
            "uuid": str(r[4]),
            "working_name": r[5],
            "names": r[6],
            "redacted": ["names"],
        },
        "detaining_party": {"uuid": str(r[7]), "name": r[8]},
        "capture_date": _iso(r[9]),
        "capture_date_precision": r[10],
        "capture_place": r[11],
        "capture_place_code": r[12],
        "detention_place": r[13],
        "current_place": None if r[27] is None else {"uuid": str(r[27]), "name": r[28]},
        "capture_card_due_on": _iso(r[29]),
        "capture_card_overdue": r[29] is not None and r[25] is None and r[29] < today,
        "priority": r[14],
        "assigned_officer": r[15],
        "current_intention": None
        if r[16] is None
        else {
            "uuid": str(r[16]),
            "option": r[17],
            "destination_country": r[18],
            "verification": r[19],
            "verified": r[20],
            "stated_on": _iso(r[21]),
        },
        "open_request_count": r[22],
        "version": r[23],
        "opened_at": _timestamp(r[24]),
        "closed_at": _timestamp(r[25]),
        "updated_at": _timestamp(r[26]),
        "archived_at": _timestamp(r[30]),
        "released_to": r[33] or "",
        "released_to_place": r[34],
    }


def floor_page(
    conn: psycopg.Connection,
    where: str,
    order: str,
    params: dict,
    *,
    list_url: str = f"http://testserver{LIST}",
    pseudonyms_only: bool = True,
    offset: int = 0,
) -> bytes:
    """Fetch one page with the floor query and return it serialised by ``json``."""
    rows = case_rows(conn, where, order, params, pseudonyms_only=pseudonyms_only, offset=offset)
    today = dt.date.today()
    results = [represent(r, list_url, today) for r in rows]
    return json.dumps({"results": results}, ensure_ascii=False).encode()


# --------------------------------------------------------------------------------------------
# Over HTTP
# --------------------------------------------------------------------------------------------

_connection: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    """Return this process's psycopg connection to Django's database (opened once)."""
    global _connection
    if _connection is None or _connection.closed or _connection.broken:
        db = settings.DATABASES["default"]
        _connection = psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
            autocommit=True,
        )
    return _connection


_TOKEN_SQL = """
SELECT t.user_id FROM cases_apitoken t JOIN auth_user u ON u.id = t.user_id
WHERE t.digest = %s AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
  AND u.is_active
"""


def _authorised(request) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme != "Token" or not key:
        return False
    digest = hashlib.sha256(key.encode()).hexdigest()
    return connection().execute(_TOKEN_SQL, [digest]).fetchone() is not None


def _unauthorised() -> JsonResponse:
    return JsonResponse({"detail": "Send a valid token."}, status=401)


def _json(data: dict, status: int = 200, etag: str | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False).encode(),
        content_type="application/json",
        status=status,
    )
    if etag:
        response["ETag"] = etag
    return response


def _list_url(request) -> str:
    return request.build_absolute_uri(LIST)


#: The case list's other filters, one value each: {parameter: SQL condition on its value}.
SIMPLE_FILTERS = {
    "legal_status": "c.legal_status = %(legal_status)s",
    "detaining_party": "c.detaining_party_id = "
    "(SELECT id FROM cases_party WHERE uuid = %(detaining_party)s)",
    "current_intention": "c.current_intention_option = %(current_intention)s",
    "destination_country": "c.current_intention_destination = %(destination_country)s",
    "request_kind": "EXISTS (SELECT 1 FROM cases_request r WHERE r.case_id = c.id "
    "AND r.kind = %(request_kind)s)",
    "request_status": "EXISTS (SELECT 1 FROM cases_request r WHERE r.case_id = c.id "
    "AND r.status = %(request_status)s)",
    "captured_after": "c.capture_date >= %(captured_after)s::date",
    "captured_before": "c.capture_date <= %(captured_before)s::date",
    "updated_after": "c.updated_at >= %(updated_after)s::timestamptz",
}
#: ``ordering`` values the floor takes, as SQL.
ORDERINGS = {"reference": "c.reference", "-updated_at": "c.updated_at DESC, c.id DESC"}


def case_list(request):
    """Answer a page of cases (``status``, ``nationality``, ``q``, :data:`SIMPLE_FILTERS`,
    ``intention_verified``, ``ordering``, ``page``), without a count."""
    if not _authorised(request):
        return _unauthorised()
    conditions, params = ["c.archived_at IS NULL"], {}
    if status := request.GET.get("status"):
        conditions.append("c.status = %(status)s")
        params["status"] = status
    for name, condition in SIMPLE_FILTERS.items():
        if value := request.GET.get(name):
            conditions.append(condition)
            params[name] = value
    verified = request.GET.get("intention_verified")
    if verified in ("true", "false"):
        conditions.append(f"{'' if verified == 'true' else 'NOT '}c.current_intention_verified")
    if nationality := request.GET.get("nationality"):
        # The persons first, through the GIN index on their codes (migration 0013), then
        # their cases by person: joined, the planner walks the cases in reference order.
        conditions.append(
            "c.person_id = ANY(ARRAY(SELECT id FROM cases_person "
            "WHERE string_to_array(nationalities, ',') && %(nationality)s::text[]))"
        )
        params["nationality"] = [nationality.upper()]
    if q := request.GET.get("q", "").strip():
        # The reference, or a person whose working name or pseudonymous name variant (any
        # spelling the search expands to) holds the text: each an index read.
        spellings = sorted(search_variants(q)) or [q.lower()]
        # One LIKE per spelling, each a read of the trigram index; LIKE ANY would not be.
        likes = " OR ".join(f"search_key LIKE %(v{n})s" for n in range(len(spellings)))
        conditions.append(
            "(c.reference ILIKE %(q)s OR c.person_id = ANY(ARRAY("
            "SELECT id FROM cases_person WHERE working_name ILIKE %(q)s UNION ALL "
            f"SELECT person_id FROM cases_personname WHERE is_pseudonym AND ({likes}))))"
        )
        params["q"] = f"%{q}%"
        params.update({f"v{n}": f"%{v}%" for n, v in enumerate(spellings)})
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    body = floor_page(
        connection(),
        " AND ".join(conditions),
        ORDERINGS.get(request.GET.get("ordering", "reference"), "c.reference"),
        params,
        list_url=_list_url(request),
        offset=(page - 1) * PAGE,
    )
    return HttpResponse(body, content_type="application/json")


_INTENTIONS_SQL = """
SELECT i.uuid, i.option, i.destination_country, i.certainty, i.quote_language, i.stated_on,
       i.stated_on_precision, hb.uuid, hb.name, i.heard_by_role, i.setting, ip.uuid, ip.name,
       (SELECT coalesce(json_agg(json_build_object('uuid', pp.uuid, 'name', pp.name)
                                 ORDER BY pp.name), '[]'::json)
          FROM cases_statedintention_present_parties x
          JOIN cases_party pp ON pp.id = x.party_id WHERE x.statedintention_id = i.id),
       i.detaining_power_present, i.options_explained, i.verification, i.state, sup.uuid,
       s.id, s.uuid, s.title, i.version, i.recorded_at, i.archived_at, iv.uuid
FROM cases_statedintention i
LEFT JOIN cases_interview iv ON iv.id = i.interview_id
LEFT JOIN cases_party hb ON hb.id = i.heard_by_id
LEFT JOIN cases_party ip ON ip.id = i.interpreter_supplied_by_id
LEFT JOIN cases_statedintention sup ON sup.id = i.supersedes_id
LEFT JOIN cases_source s ON s.id = i.source_id
WHERE i.case_id = %s
ORDER BY i.stated_on, i.id
"""

_REQUESTS_SQL = """
SELECT r.uuid, r.kind, rb.uuid, rb.name, at.uuid, at.name, r.destination_country,
       r.legal_basis, r.status, r.filed_on, r.decided_on, r.decision_reason, i.uuid,
       s.id, s.uuid, s.title,
       (SELECT coalesce(json_agg(json_build_object(
                  'uuid', po.uuid, 'party', json_build_object('uuid', pa.uuid, 'name', pa.name),
                  'stance', po.stance, 'conditions', po.conditions, 'stated_on', po.stated_on,
                  'source', CASE WHEN ps.id IS NULL THEN NULL ELSE
                            json_build_object('uuid', ps.uuid, 'title', ps.title, 'id', ps.id) END,
                  'recorded_at', po.recorded_at) ORDER BY po.stated_on, po.id), '[]'::json)
          FROM cases_position po JOIN cases_party pa ON pa.id = po.party_id
          LEFT JOIN cases_source ps ON ps.id = po.source_id WHERE po.request_id = r.id),
       r.version, r.created_at, r.updated_at, r.archived_at
FROM cases_request r
LEFT JOIN cases_party rb ON rb.id = r.requested_by_id
LEFT JOIN cases_party at ON at.id = r.addressed_to_id
LEFT JOIN cases_statedintention i ON i.id = r.intention_id
LEFT JOIN cases_source s ON s.id = r.source_id
WHERE r.case_id = %s
ORDER BY r.created_at, r.id
"""

_RECIPIENTS_SQL = """
SELECT pa.uuid, pa.name FROM cases_notificationsettings ns
JOIN cases_notificationsettings_recipients x ON x.notificationsettings_id = ns.id
JOIN cases_party pa ON pa.id = x.party_id WHERE ns.case_id = %(case)s
UNION ALL
SELECT pa.uuid, pa.name FROM cases_party pa
WHERE pa.id = %(power)s
  AND NOT EXISTS (SELECT 1 FROM cases_notificationsettings ns WHERE ns.case_id = %(case)s)
"""


def _party(uuid, name):
    return None if uuid is None else {"uuid": str(uuid), "name": name}


def case_detail(request, case_uuid):
    """Answer one case with its intentions, requests (with positions) and sources."""
    if not _authorised(request):
        return _unauthorised()
    conn = connection()
    rows = case_rows(conn, "c.uuid = %(uuid)s", "c.id", {"uuid": case_uuid})
    if not rows:
        return JsonResponse({"detail": "No case has this uuid."}, status=404)
    row = rows[0]
    case = represent(row, _list_url(request), dt.date.today())
    case_id, power_id = row[31], row[32]
    sources: dict[int, dict] = {}
    intentions = []
    for i in conn.execute(_INTENTIONS_SQL, [case_id]).fetchall():
        source = None if i[19] is None else {"uuid": str(i[20]), "title": i[21]}
        if source is not None:
            sources.setdefault(i[19], source)
        intentions.append(
            {
                "url": request.build_absolute_uri(f"/api/v1/intentions/{i[0]}/"),
                "uuid": str(i[0]),
                "case": case["uuid"],
                "option": i[1],
                "destination_country": i[2],
                "certainty": i[3],
                "conditions": None,
                "quote": None,
                "quote_language": i[4],
                "stated_on": _iso(i[5]),
                "stated_on_precision": i[6],
                "heard_by": _party(i[7], i[8]),
                "heard_by_role": i[9],
                "setting": i[10],
                "interpreter_supplied_by": _party(i[11], i[12]),
                "present_parties": i[13],
                "detaining_power_present": i[14],
                "options_explained": i[15],
                "duress_signs": None,
                "verification": i[16],
                "verified": i[16] in ("verified", "reconfirmed"),
                "state": i[17],
                "supersedes": _iso_uuid(i[18]),
                "interview": _iso_uuid(i[25]),
                "source": source,
                "redacted": list(sensitive.INTENTION_FIELDS),
                "version": i[22],
                "recorded_at": _timestamp(i[23]),
                "archived_at": _timestamp(i[24]),
            }
        )
    requests = []
    for r in conn.execute(_REQUESTS_SQL, [case_id]).fetchall():
        source = None if r[13] is None else {"uuid": str(r[14]), "title": r[15]}
        if source is not None:
            sources.setdefault(r[13], source)
        positions = r[16]
        for position in positions:
            if position["source"] is not None:
                sources.setdefault(position["source"].pop("id"), position["source"])
        requests.append(
            {
                "url": request.build_absolute_uri(f"/api/v1/requests/{r[0]}/"),
                "uuid": str(r[0]),
                "case": case["uuid"],
                "kind": r[1],
                "requested_by": _party(r[2], r[3]),
                "addressed_to": _party(r[4], r[5]),
                "destination_country": r[6],
                "legal_basis": r[7],
                "status": r[8],
                "filed_on": _iso(r[9]),
                "decided_on": _iso(r[10]),
                "decision_reason": r[11],
                "intention": _iso_uuid(r[12]),
                "source": source,
                "positions": positions,
                "version": r[17],
                "created_at": _timestamp(r[18]),
                "updated_at": _timestamp(r[19]),
                "archived_at": _timestamp(r[20]),
            }
        )
    recipients = conn.execute(_RECIPIENTS_SQL, {"case": case_id, "power": power_id}).fetchall()
    case.update(
        intentions=intentions,
        requests=requests,
        sources=list(sources.values()),
        timeline=request.build_absolute_uri(f"/api/v1/cases/{case['uuid']}/timeline/"),
        notification_recipients=[_party(u, n) for u, n in recipients],
    )
    return _json(case)


def _iso_uuid(value):
    return None if value is None else str(value)


# --------------------------------------------------------------------------------------------
# The change feed
# --------------------------------------------------------------------------------------------

#: The visibility watermark, the tracker's (``cases.feed.cursor``); tests may widen it.
WATERMARK_SQL = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

#: The newest event below the visibility watermark (the tracker's feed serves no other).
_HEAD_SQL = """
SELECT e.xact_id, e.id FROM cases_timelineevent e
WHERE e.xact_id < {watermark}
ORDER BY e.xact_id DESC, e.id DESC LIMIT 1
"""

#: A page of the feed: events below the watermark after the cursor, in feed order.
_EVENTS_SQL = """
SELECT e.uuid, c.uuid, c.reference, e.case_seq, e.kind, e.summary, e.changes, e.actor_label,
       u.username, e.actor_id, e.channel, e.reason, s.uuid, s.title, e.subject_type,
       e.subject_uuid, e.subject_version, e.object, e.occurred_at, e.occurred_precision,
       e.recorded_at, e.prev_hash, e.hash, e.xact_id, e.id
FROM cases_timelineevent e
LEFT JOIN cases_case c ON c.id = e.case_id
LEFT JOIN auth_user u ON u.id = e.actor_id
LEFT JOIN cases_source s ON s.id = e.source_id
WHERE e.xact_id < {watermark}
  AND (e.xact_id, e.id) > (%s, %s) AND (e.xact_id, e.id) <= (%s, %s)
ORDER BY e.xact_id, e.id
LIMIT %s
"""


def _cursor(xact_id: int, event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{xact_id}:{event_id}".encode()).decode()


def _position(token: str | None) -> tuple[int, int]:
    if not token:
        return (0, 0)
    xact_id, _, event_id = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
    return (int(xact_id), int(event_id))


def event_feed(request):
    """Answer a page of the change feed (``after``, ``limit``), or 304 for a known ETag.

    Feed order and visibility are the tracker's (``(xact_id, id)`` below the oldest running
    transaction); the ETag is a hash of the head and the query string, as the tracker's.
    """
    if not _authorised(request):
        return _unauthorised()
    conn = connection()
    after = _position(request.GET.get("after"))
    limit = min(int(request.GET.get("limit", "100")), 10_000)
    head = conn.execute(_HEAD_SQL.format(watermark=WATERMARK_SQL)).fetchone() or (0, 0)
    material = f"{head[0]}:{head[1]}:{request.GET.urlencode()}"
    etag = '"' + hashlib.sha256(material.encode()).hexdigest()[:32] + '"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return response
    rows = (
        conn.execute(
            _EVENTS_SQL.format(watermark=WATERMARK_SQL), [*after, *head, limit + 1]
        ).fetchall()
        if after < head
        else []
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    results = []
    for r in rows:
        event = {
            "uuid": str(r[0]),
            "case": None if r[1] is None else {"uuid": str(r[1]), "reference": r[2]},
            "case_seq": r[3],
            "kind": r[4],
            "summary": r[5],
            "changes": r[6],
            "actor": {"label": r[7], "username": r[8] if r[9] is not None else None},
            "channel": r[10],
            "reason": r[11],
            "source": None if r[12] is None else {"uuid": str(r[12]), "title": r[13]},
            "subject_type": r[14],
            "subject_uuid": _iso_uuid(r[15]),
            "subject_version": r[16],
            "object": r[17],
            "occurred_at": _timestamp(r[18]),
            "occurred_precision": r[19],
            "recorded_at": _timestamp(r[20]),
            "prev_hash": r[21],
            "hash": r[22],
        }
        sensitive.redact_event(event, None, allowed=False)
        results.append(event)
    last = (rows[-1][23], rows[-1][24]) if has_more else max(after, head)
    data = {
        "next_cursor": _cursor(*last),
        "has_more": has_more,
        "held_back": None,
        "results": results,
    }
    return _json(data, etag=etag)
