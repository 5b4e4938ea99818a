"""Who may see what: the roles, and the access log of every read of a sensitive value.

The roles are groups holding permissions; code checks permissions, never group names. The
access log is append-only: one entry per object whose sensitive values a response showed,
all of one response written in a single insert.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

from cases.models import AccessChannel, AccessLogEntry

#: The API, pages, exports and admin name their channel with these.
API = AccessChannel.API
PAGE = AccessChannel.PAGE
EXPORT = AccessChannel.EXPORT
ADMIN = AccessChannel.ADMIN
WEBHOOK = AccessChannel.WEBHOOK

#: Models whose rows are case data: case officers add and change them, everyone reads them.
CASE_DATA_MODELS = (
    "case",
    "person",
    "personname",
    "statedintention",
    "request",
    "position",
    "occurrence",
    "note",
    "party",
    "source",
    "riskassessment",
    "identitydocument",
    "externalidentifier",
    "nationalityclaim",
    "place",
    "movement",
    "capturecard",
    "notification",
    "notificationsettings",
    "task",
    "document",
    "exchange",
    "exchangelistentry",
    "handover",
    "visit",
    "interview",
)
#: Read-only records: the timeline and the access log are never changed by anyone.
READ_ONLY_MODELS = ("timelineevent",)
#: Webhook subscriptions: case officers manage them (cases/webhooks/); the attempt log is
#: read-only.
WEBHOOK_PERMISSIONS = (
    "view_webhooksubscription",
    "add_webhooksubscription",
    "change_webhooksubscription",
    "view_webhookattempt",
)


#: Uploading, dry-running and committing imports of lists (cases/imports/): officers only.
IMPORT_PERMISSION = "import_lists"


def _view(models_: Iterable[str]) -> list[str]:
    return [f"view_{m}" for m in models_]


#: Role name -> codenames of ``cases`` permissions the role holds.
ROLES: Mapping[str, tuple[str, ...]] = {
    "case officer": (
        *_view(CASE_DATA_MODELS + READ_ONLY_MODELS),
        *(f"add_{m}" for m in CASE_DATA_MODELS),
        *(f"change_{m}" for m in CASE_DATA_MODELS),
        "view_sensitive",
        "export_cases",
        *WEBHOOK_PERMISSIONS,
        IMPORT_PERMISSION,
    ),
    "analyst": (*_view(CASE_DATA_MODELS + READ_ONLY_MODELS), "export_cases"),
    "integration": (*_view(CASE_DATA_MODELS + READ_ONLY_MODELS),),
}


def ensure_roles(group_model=None, permission_model=None) -> None:
    """Create the role groups and give each exactly its permissions; safe to run again.

    The data migration passes its historical models; tests and commands pass nothing.
    Permissions a role lists but that do not exist yet (before ``post_migrate`` created
    them) are created here, as Django would.
    """
    if group_model is None or permission_model is None:
        from django.contrib.auth.models import Group, Permission

        group_model, permission_model = Group, Permission
    content_types = permission_model._meta.get_field("content_type").related_model
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for codename in codenames:
            model_name = codename.split("_", 1)[1]
            if codename in ("view_sensitive", "export_cases"):
                model_name = "case"
            elif codename == IMPORT_PERMISSION:
                model_name = "importrun"
            content_type, _ = content_types.objects.get_or_create(
                app_label="cases", model=model_name
            )
            permission, _ = permission_model.objects.get_or_create(
                codename=codename,
                content_type=content_type,
                defaults={"name": codename.replace("_", " ").capitalize()},
            )
            permissions.append(permission)
        group.permissions.set(permissions)


def remove_roles(group_model=None) -> None:
    """Delete the role groups (the data migration's reverse)."""
    if group_model is None:
        from django.contrib.auth.models import Group

        group_model = Group
    group_model.objects.filter(name__in=list(ROLES)).delete()


def _object_key(obj: Any) -> tuple[str, Any]:
    if isinstance(obj, models.Model):
        return obj._meta.model_name, obj.uuid
    object_type, object_uuid = obj
    return str(object_type), object_uuid


def log_access(
    *,
    user,
    channel: str,
    objects: Iterable[Any],
    fields: Sequence[str] | Mapping[Any, Sequence[str]],
    path: str,
    token_label: str = "",
    extra: Mapping[str, Any] | None = None,
) -> uuid.UUID | None:
    """Append one access-log entry per object whose sensitive ``fields`` were shown.

    ``objects`` are model instances or ``(object_type, uuid)`` pairs. ``fields`` lists the
    sensitive fields shown, the same for every object, or maps each object's uuid (as given)
    to its own list. ``path`` is the request path; any query string is cut off, since it can
    hold a searched name. ``extra`` holds, for exports, the filter and the row count. All
    entries go in one insert and share a ``response_id`` and a time; nothing is written for
    no objects. Return the ``response_id``, or None when nothing was written.
    """
    keys = [_object_key(obj) for obj in objects]
    if not keys:
        return None
    username = user.get_username() if user is not None and user.is_authenticated else ""
    shared = {
        "response_id": uuid.uuid4(),
        "at": timezone.now(),
        "user_id": user.pk if username else None,
        "username": username,
        "token_label": token_label[:100],
        "channel": channel,
        "path": path.split("?", 1)[0][:500],
        "extra": dict(extra or {}),
    }
    per_object = [
        (
            object_type[:32],
            object_uuid,
            sorted(set(fields.get(object_uuid, ()) if isinstance(fields, Mapping) else fields)),
        )
        for object_type, object_uuid in keys
    ]
    connection = connections[router.db_for_write(AccessLogEntry)]
    if connection.vendor == "postgresql":
        _insert_unnested(connection, shared, per_object)
    else:
        AccessLogEntry.objects.bulk_create(
            AccessLogEntry(**shared, object_type=t, object_uuid=u, fields=f)
            for t, u, f in per_object
        )
    return shared["response_id"]


def log_reads(reads: Mapping[tuple[str, Any], Iterable[str]], **kwargs: Any) -> uuid.UUID | None:
    """Log what one response showed, ``{(object type, uuid): sensitive fields shown}``.

    The collectors of the API, the feed, the pages and the admin gather their reads in this
    shape; the keyword arguments are :func:`log_access`'s (user, channel, path, ...).
    """
    return log_access(
        objects=list(reads),
        fields={object_uuid: fields for (_type, object_uuid), fields in reads.items()},
        **kwargs,
    )


def _insert_unnested(connection, shared: dict[str, Any], per_object: list[tuple]) -> None:
    """Insert the entries in one statement: what they share once, the rest as arrays.

    ``bulk_create`` would build a model instance per entry and send every shared value once
    per entry, in its own transaction; this is one statement (and so one commit).
    """
    meta = AccessLogEntry._meta
    column = {field.name: field.column for field in meta.concrete_fields}
    shared_columns = ["response_id", "at", "user", "username", "token_label", "channel", "path"]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} "
        f"({', '.join(connection.ops.quote_name(column[name]) for name in shared_columns)}, "
        f"{connection.ops.quote_name(column['object_type'])}, "
        f"{connection.ops.quote_name(column['object_uuid'])}, "
        f"{connection.ops.quote_name(column['fields'])}, "
        f"{connection.ops.quote_name(column['extra'])}) "
        f"SELECT {', '.join(['%s'] * len(shared_columns))}, "
        "entry.object_type, entry.object_uuid::uuid, entry.fields::jsonb, %s::jsonb "
        "FROM unnest(%s::text[], %s::text[], %s::text[]) AS entry(object_type, object_uuid, fields)"
    )
    params = [
        shared["response_id"],
        shared["at"],
        shared["user_id"],
        shared["username"],
        shared["token_label"],
        shared["channel"],
        shared["path"],
        json.dumps(shared["extra"]),
        [object_type for object_type, _uuid, _fields in per_object],
        [None if object_uuid is None else str(object_uuid) for _t, object_uuid, _f in per_object],
        [json.dumps(shown) for _type, _uuid, shown in per_object],
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def token_label_of(request) -> str:
    """Return the label of the API token a request used, or ``""`` for a session."""
    from cases.security.tokens import ApiToken

    token = getattr(request, "auth", None)
    return token.actor_label if isinstance(token, ApiToken) else ""
