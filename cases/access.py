"""Who may see what: the roles, and the access log of every read of a sensitive value.

The roles are groups holding permissions; code checks permissions, never group names. The
access log is append-only: one entry per object whose sensitive values a response showed,
all of one response written in a single insert.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import models

from cases.models import AccessChannel, AccessLogEntry

#: The API, pages, exports and admin name their channel with these.
API = AccessChannel.API
PAGE = AccessChannel.PAGE
EXPORT = AccessChannel.EXPORT
ADMIN = AccessChannel.ADMIN

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
)
#: Read-only records: the timeline and the access log are never changed by anyone.
READ_ONLY_MODELS = ("timelineevent",)


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
) -> list[AccessLogEntry]:
    """Append one access-log entry per object whose sensitive ``fields`` were shown.

    ``objects`` are model instances or ``(object_type, uuid)`` pairs. ``fields`` lists the
    sensitive fields shown, the same for every object, or maps each object's uuid (as given)
    to its own list. ``path`` is the request path; any query string is cut off, since it can
    hold a searched name. ``extra`` holds, for exports, the filter and the row count. All
    entries go in one insert and share a ``response_id``; nothing is written for no objects.
    """
    keys = [_object_key(obj) for obj in objects]
    if not keys:
        return []
    response_id = uuid.uuid4()
    username = user.get_username() if user is not None and user.is_authenticated else ""
    entries = []
    for object_type, object_uuid in keys:
        shown = fields.get(object_uuid, ()) if isinstance(fields, Mapping) else fields
        entries.append(
            AccessLogEntry(
                response_id=response_id,
                user=user if username else None,
                username=username,
                token_label=token_label[:100],
                channel=channel,
                path=path.split("?", 1)[0][:500],
                object_type=object_type[:32],
                object_uuid=object_uuid,
                fields=sorted(set(shown)),
                extra=dict(extra or {}),
            )
        )
    return AccessLogEntry.objects.bulk_create(entries)


def token_label_of(request) -> str:
    """Return the label of the API token a request used, or ``""`` for a session."""
    from cases.tokens import ApiToken

    token = getattr(request, "auth", None)
    return token.actor_label if isinstance(token, ApiToken) else ""
