"""Archive and unarchive cases, persons, intentions and requests; purge a case (superusers).

Nothing is deleted through the API but by a purge: archiving takes a row out of the default
lists (``?archived=include`` or ``only`` brings it back into them) and leaves it readable by
its id. Archiving needs the model's change permission and a reason; a version (``If-Match``
or a ``version`` field) is checked when sent. A purge deletes a case and everything that
belongs to it and leaves a ``case.purged`` tombstone in the feed; it needs a superuser, a
reason and the case's reference typed again.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import services
from cases.api.views import actor_for, etag, expected_version
from cases.models import Case, Person, Request, StatedIntention


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


#: URL resource -> (model, keyword of the services, type name in responses).
RESOURCES = {
    "cases": (Case, "case", "case"),
    "persons": (Person, "person", "person"),
    "intentions": (StatedIntention, "intention", "intention"),
    "requests": (Request, "request", "request"),
}


class _ArchiveView(APIView):
    """POST archives (or unarchives) one row through its service."""

    resource = "cases"
    archive = True

    @property
    def queryset(self):
        return RESOURCES[self.resource][0].objects.all()

    @property
    def write_permission(self) -> str:
        return f"cases.change_{RESOURCES[self.resource][0]._meta.model_name}"

    def post(self, request, uuid):
        model, keyword, type_name = RESOURCES[self.resource]
        row = get_object_or_404(model, uuid=uuid)
        body = ArchiveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        version = expected_version(request, required=False)
        verb = "archive" if self.archive else "unarchive"
        service = getattr(services, f"{keyword}_{verb}")
        row = service(
            actor=actor_for(request),
            reason=body.validated_data["reason"],
            expected_version=version,
            **{keyword: row},
        )
        data = {
            "uuid": row.uuid,
            "type": type_name,
            "archived_at": row.archived_at,
            "version": row.version,
        }
        response = Response(ArchiveStateSerializer(data).data)
        response["ETag"] = etag(row.version)
        return response


def archive_view(resource: str, *, archive: bool):
    """Return the view that archives (or unarchives) rows of ``resource``."""
    verb = "Archive" if archive else "Unarchive"
    noun = RESOURCES[resource][2]
    view = type(
        f"{verb}{noun.capitalize()}View",
        (_ArchiveView,),
        {"resource": resource, "archive": archive, "__doc__": f"{verb} a {noun}."},
    )
    view.post = extend_schema(
        summary=f"{verb} a {noun}",
        request=ArchiveInputSerializer,
        responses={
            200: ArchiveStateSerializer,
            400: OpenApiResponse(description="No reason, or already in that state."),
            403: OpenApiResponse(description="No change permission, or a read-only token."),
            404: OpenApiResponse(description="No such record."),
            412: OpenApiResponse(description="Stale version."),
        },
    )(view.post)
    return view.as_view()


class CasePurgeView(APIView):
    """POST purges a case: superusers only, with a reason and the reference typed again."""

    queryset = Case.objects.all()
    write_permission = "cases.change_case"

    @extend_schema(
        summary="Purge a case (superusers only)",
        request=PurgeInputSerializer,
        responses={
            200: PurgeResultSerializer,
            400: OpenApiResponse(description="No reason, or the reference does not match."),
            403: OpenApiResponse(description="Not a superuser."),
            404: OpenApiResponse(description="No such case."),
        },
    )
    def post(self, request, uuid):
        if not (request.user.is_active and request.user.is_superuser):
            raise exceptions.PermissionDenied("Only a superuser may purge a case.")
        case = get_object_or_404(Case, uuid=uuid)
        body = PurgeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["confirm_reference"].strip() != case.reference:
            raise exceptions.ValidationError(
                {"confirm_reference": [f"Type the case's reference, {case.reference}, to confirm."]}
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
