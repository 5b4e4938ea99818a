"""What the API's resources share: the actor of a write, versions, and the writes themselves.

A resource's viewset names its services (functions of ``cases.services``, never their names
as strings) and mixes in what it allows: :class:`VersionedUpdateMixin` for PUT and PATCH,
:class:`ArchiveActionsMixin` for ``archive`` and ``unarchive``, :class:`PurgeActionMixin`
for a case's purge. Each is an ordinary DRF action, documented per resource with
:func:`cases.api.schema.resource_schema`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cases import services
from cases.api.exceptions import PreconditionRequired
from cases.choices import Channel
from cases.security.tokens import ApiToken
from cases.services import Actor


def actor_for(request) -> Actor:
    """Return the actor of an API write: the user, and the token when one was used."""
    token = request.auth
    if isinstance(token, ApiToken):
        label = token.actor_label
    else:
        label = f"{request.user.get_username()} (browser session)"
    return Actor(user=request.user, channel=Channel.API, label=label)


def etag(version: int) -> str:
    """Return the strong ETag of a row at ``version``."""
    return f'"{version}"'


#: A version as sent: ASCII digits only (``str.isdigit`` also accepts "²", which ``int``
#: refuses), at most 18 of them so that it fits the database's 64-bit integers.
_DIGITS = re.compile(r"[0-9]{1,18}")


def expected_version(request, *, required: bool = True) -> int | None:
    """Return the version the client based its write on, from If-Match or ``version``.

    ``If-Match`` wins when both are sent. Missing is a 428 when ``required``.
    """
    header = request.headers.get("If-Match", "").strip()
    if header:
        tag = header.split(",")[0].strip()
        if tag.startswith("W/"):
            tag = tag[2:]
        tag = tag.strip('"')
        if not _DIGITS.fullmatch(tag):
            raise exceptions.ValidationError(
                {"If-Match": [_('Send the ETag you read, e.g. If-Match: "3" (not *).')]}
            )
        return int(tag)
    body = request.data.get("version") if isinstance(request.data, dict) else None
    if body is not None:
        if isinstance(body, bool) or not _DIGITS.fullmatch(str(body)):
            raise exceptions.ValidationError({"version": [_("A version is a positive integer.")]})
        return int(body)
    if required:
        raise PreconditionRequired()
    return None


def without_common(data) -> tuple[dict, str]:
    """Return the service fields and the reason from validated input."""
    fields = dict(data)
    fields.pop("version", None)
    reason = fields.pop("reason", "") or ""
    return fields, reason


# --------------------------------------------------------------------------------------------
# Versioned update
# --------------------------------------------------------------------------------------------


class VersionedUpdateMixin:
    """PUT and PATCH through the resource's update service, checked against a version.

    The client names the version it read (``If-Match`` or a ``version`` field): a stale one
    is a 412 with the current version, none at all a 428. The viewset sets
    ``update_serializer_class`` and ``update_service``; the service takes the row under
    ``service_keyword`` (the model's name by default).
    """

    update_serializer_class: type[serializers.Serializer] | None = None
    update_service: Callable | None = None
    service_keyword: str | None = None

    def keyword(self) -> str:
        """Return the keyword under which the resource's services take the row."""
        return self.service_keyword or self.get_queryset().model._meta.model_name

    def service_fields(self, data) -> tuple[dict, str]:
        """Return the service's fields and the reason from validated input."""
        return without_common(data)

    def update_fields(self, row, fields: dict, *, partial: bool) -> dict:
        """Return the fields to hand the update service (a hook for the resource)."""
        return fields

    def update(self, request, *args, partial=False, **kwargs):
        row = self.get_object()
        version = expected_version(request)
        fields, reason = self.service_fields(
            self.validated(self.update_serializer_class, partial=partial)
        )
        fields = self.update_fields(row, fields, partial=partial)
        self.update_service(
            actor=actor_for(request),
            expected_version=version,
            reason=reason,
            **{self.keyword(): row},
            **fields,
        )
        return self.row_response(row.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


# --------------------------------------------------------------------------------------------
# Archive, unarchive, purge
# --------------------------------------------------------------------------------------------


class ArchiveInputSerializer(serializers.Serializer):
    """Why the row is archived (required to archive, optional to unarchive)."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")
    version = serializers.IntegerField(required=False, min_value=1)


class ArchiveStateSerializer(serializers.Serializer):
    """The row's archive state after the change."""

    uuid = serializers.UUIDField()
    type = serializers.CharField()
    archived_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()


class PurgeInputSerializer(serializers.Serializer):
    """Why the case is purged, and its reference typed again as a confirmation."""

    reason = serializers.CharField()
    confirm_reference = serializers.CharField()


class PurgeResultSerializer(serializers.Serializer):
    """The tombstone event the purge left in the feed."""

    uuid = serializers.UUIDField()
    kind = serializers.CharField()
    subject_uuid = serializers.UUIDField()
    reference = serializers.CharField()


#: The actions that change a row's archive state or remove it: refused methods answer as
#: every other view's do, not with the explanation that records are never deleted.
ARCHIVE_ACTIONS = frozenset({"archive", "unarchive", "purge"})


class ArchiveActionsMixin:
    """``POST .../archive/`` and ``.../unarchive/``: archive or bring back one row.

    Nothing is deleted: archiving takes a row out of the default lists (``?archived=include``
    or ``only`` brings it back into them) and leaves it readable by its id. Both need the
    model's change permission; archiving needs a reason; a version (``If-Match`` or a
    ``version`` field) is checked when sent. The viewset sets ``archive_service``,
    ``unarchive_service`` and ``type_name`` (the row's type in the answer and the
    services' keyword).
    """

    archive_service: Callable | None = None
    unarchive_service: Callable | None = None
    type_name: str = ""

    def archive_row(self, request, uuid, service: Callable) -> Response:
        """Change the archive state of the row ``uuid`` with ``service`` and answer its state."""
        # Archived rows are out of the filtered lists but still addressable by their id.
        row = get_object_or_404(self.get_queryset().model._default_manager, uuid=uuid)
        body = ArchiveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = expected_version(request, required=False)
        row = service(
            actor=actor_for(request),
            reason=body.validated_data["reason"],
            expected_version=version,
            **{self.type_name: row},
        )
        data = {
            "uuid": row.uuid,
            "type": self.type_name,
            "archived_at": row.archived_at,
            "version": row.version,
        }
        response = Response(ArchiveStateSerializer(data).data)
        response["ETag"] = etag(row.version)
        return response

    @action(detail=True, methods=["post"], write_verb="change")
    def archive(self, request, uuid=None, **kwargs):
        """Archive the row: out of the default lists, still readable by its id."""
        return self.archive_row(request, uuid, self.archive_service)

    @action(detail=True, methods=["post"], write_verb="change")
    def unarchive(self, request, uuid=None, **kwargs):
        """Bring an archived row back into the default lists."""
        return self.archive_row(request, uuid, self.unarchive_service)


class PurgeActionMixin:
    """``POST .../purge/``: delete a case and everything that belongs to it (superusers).

    The purge leaves a ``case.purged`` tombstone in the feed; it needs a reason and the
    case's reference typed again.
    """

    @extend_schema(
        summary="Purge a case (superusers only)",
        description="POST purges a case: superusers only, with a reason and the reference "
        "typed again.",
        parameters=[OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)],
        request=PurgeInputSerializer,
        responses={
            200: PurgeResultSerializer,
            400: OpenApiResponse(description="No reason, or the reference does not match."),
            403: OpenApiResponse(description="Not a superuser."),
            404: OpenApiResponse(description="No such case."),
        },
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_case")
    def purge(self, request, uuid=None, **kwargs):
        """Purge the case, for a superuser who gives a reason and types its reference."""
        if not (request.user.is_active and request.user.is_superuser):
            raise exceptions.PermissionDenied(_("Only a superuser may purge a case."))
        case = get_object_or_404(self.get_queryset().model._default_manager, uuid=uuid)
        body = PurgeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["confirm_reference"].strip() != case.reference:
            raise exceptions.ValidationError(
                {
                    "confirm_reference": [
                        _("Type the case's reference, %(reference)s, to confirm.")
                        % {"reference": case.reference}
                    ]
                }
            )
        reference = case.reference
        try:
            tombstone = services.case_purge(
                actor=actor_for(request), case=case, reason=body.validated_data["reason"]
            )
        except services.PurgeRefused as error:
            raise exceptions.PermissionDenied(str(error)) from error
        data = {
            "uuid": tombstone.uuid,
            "kind": tombstone.kind,
            "subject_uuid": tombstone.subject_uuid,
            "reference": reference,
        }
        return Response(PurgeResultSerializer(data).data, status=status.HTTP_200_OK)
