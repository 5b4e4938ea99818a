"""The API's doors to duplicates: the check, ``possible_duplicates``, merge, undo, redirects.

``PersonDuplicatesMixin`` is mixed into the persons' viewset (cases/api/views.py):

* ``POST /api/v1/persons/duplicates/`` checks a candidate without saving anything;
* create and update answers carry ``possible_duplicates``;
* ``POST /api/v1/persons/{uuid}/merge/`` merges that person into ``into``;
  ``POST /api/v1/persons/{uuid}/unmerge/`` undoes it;
* a merged person's address answers ``308 Permanent Redirect`` to the survivor for reads,
  and ``410 Gone`` naming the survivor for writes (a write must be re-based on the
  survivor's own version, never replayed onto it).
"""

from __future__ import annotations

from django.http import HttpResponsePermanentRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.api import serializers as s
from cases.api.mixins import actor_for, expected_version
from cases.choices import DatePrecision
from cases.duplicates import detection
from cases.duplicates.models import PersonMerge
from cases.duplicates.moves import MergeConflict
from cases.duplicates.services import final_survivor, person_merge, person_unmerge
from cases.models import Person
from cases.security import sensitive

# --------------------------------------------------------------------------------------------
# Serializers
# --------------------------------------------------------------------------------------------


class PersonLinkSerializer(serializers.Serializer):
    """A person as a duplicate or a merge names him: address, id, working name."""

    url = serializers.SerializerMethodField()
    uuid = serializers.UUIDField()
    working_name = serializers.CharField()

    def get_url(self, person) -> str:
        path = reverse("api:person-detail", kwargs={"uuid": person.uuid})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DuplicateReasonSerializer(serializers.Serializer):
    """Why a person looks like the candidate, and how much it weighs in the score."""

    code = serializers.CharField(
        help_text="name, birth_date, birth_date_differs, unit, service_number, "
        "identity_document (more may be added)."
    )
    weight = serializers.FloatField(help_text="Its part of the score (negative: counts against).")
    detail = serializers.CharField()


class PossibleDuplicateSerializer(serializers.Serializer):
    """A likely duplicate: the person, a score from 0 to 1, and the reasons."""

    person = PersonLinkSerializer()
    score = serializers.FloatField(min_value=0, max_value=1)
    reasons = DuplicateReasonSerializer(many=True)


def possible_duplicates(matches, context) -> list[dict]:
    """Return ``matches`` as the API shows them."""
    return PossibleDuplicateSerializer(
        [
            {"person": m.person, "score": m.score, "reasons": [r.as_dict() for r in m.reasons]}
            for m in matches
        ],
        many=True,
        context=context,
    ).data


class DuplicateCheckInputSerializer(serializers.Serializer):
    """A candidate person to check, as it would be created or renamed; nothing is saved."""

    working_name = serializers.CharField(max_length=200)
    names = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        max_length=50,
        help_text="Other spellings of the name, in any script.",
    )
    birth_date = serializers.DateField(required=False, allow_null=True)
    birth_date_precision = serializers.ChoiceField(
        choices=DatePrecision.choices, required=False, default=DatePrecision.DAY
    )
    unit = serializers.CharField(max_length=200, required=False, allow_blank=True)
    service_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    document_numbers = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=20
    )
    exclude = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Person.objects.all(),
        required=False,
        allow_null=True,
        help_text="The person being edited, left out of the answer.",
    )


class DuplicateCheckSerializer(serializers.Serializer):
    """The answer of a check: the likely duplicates, best first."""

    possible_duplicates = PossibleDuplicateSerializer(many=True)


class MergeInputSerializer(serializers.Serializer):
    """Merge the addressed person (the duplicate) into ``into`` (the person kept)."""

    into = serializers.SlugRelatedField(
        slug_field="uuid", queryset=Person.objects.all(), help_text="The person kept."
    )
    into_version = serializers.IntegerField(
        min_value=1, help_text="The version of the person kept, as you read it."
    )
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The duplicate's version (or If-Match)."
    )
    reason = serializers.CharField(help_text="Why they are the same person.")


class UnmergeInputSerializer(serializers.Serializer):
    """Undo the merge of the addressed (merged) person."""

    version = serializers.IntegerField(
        required=False, min_value=1, help_text="The merged person's version (or If-Match)."
    )
    reason = serializers.CharField(help_text="Why the merge was wrong.")


class PersonMergeSerializer(serializers.Serializer):
    """One merge: who was merged into whom, when, why, what moved, and its undo."""

    uuid = serializers.UUIDField()
    merged = PersonLinkSerializer()
    into = PersonLinkSerializer(source="survivor")
    merged_at = serializers.DateTimeField()
    merged_by = serializers.CharField(source="merged_by_label")
    reason = serializers.CharField()
    moved = serializers.SerializerMethodField(
        help_text="Rows moved per relation (app.model.field), name variants aside."
    )
    undone_at = serializers.DateTimeField(allow_null=True)
    undo_reason = serializers.CharField(allow_blank=True)

    def get_moved(self, merge) -> dict[str, int]:
        return {
            key: len(keys)
            for key, keys in sorted(merge.moved.items())
            if key != "cases.personname.person"
        }


class PersonWithDuplicatesSerializer(s.PersonSerializer):
    """A person as a create or update answers it: with the likely duplicates found."""

    possible_duplicates = PossibleDuplicateSerializer(many=True, read_only=True)

    class Meta(s.PersonSerializer.Meta):
        fields = [*s.PersonSerializer.Meta.fields, "possible_duplicates"]


class MergeConflictError(exceptions.APIException):
    """Rows of both persons would break a unique rule if merged; nothing was written."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "merge_conflict"


class MergedAway(exceptions.APIException):
    """A write to a merged person: it answers 410 with the survivor's address."""

    status_code = status.HTTP_410_GONE
    default_code = "merged"


MERGE_ERRORS = {
    400: OpenApiResponse(description="No reason, the same person, or one already merged."),
    403: OpenApiResponse(description="No change permission on persons, or a read-only token."),
    404: OpenApiResponse(description="No such person."),
    409: OpenApiResponse(s.ErrorSerializer, description="Rows of both would clash; see detail."),
    412: OpenApiResponse(s.VersionConflictSerializer, description="Stale version."),
    410: OpenApiResponse(s.ErrorSerializer, description="Merge: this person is merged already."),
    428: OpenApiResponse(s.ErrorSerializer, description="No If-Match header or version field."),
}
REDIRECT = OpenApiResponse(
    description="The person was merged into another: ``Location`` is the survivor's address."
)
GONE = OpenApiResponse(
    s.ErrorSerializer, description="The person was merged into another (detail names it)."
)


# --------------------------------------------------------------------------------------------
# The viewset mixin
# --------------------------------------------------------------------------------------------


def candidate_from_person(person: Person, user) -> detection.Candidate:
    """Return the candidate a stored person is, with only the names ``user`` may see."""
    names = sensitive.visible_names(person.names.all(), user)
    return detection.Candidate.of_person(person, names=[n.value for n in names])


class PersonDuplicatesMixin:
    """Duplicates on the persons' viewset: check, ``possible_duplicates``, merge, redirects."""

    WRITES_WITH_DUPLICATES = frozenset({"create", "update", "partial_update"})

    def survivor_url(self, person: Person) -> str:
        survivor = final_survivor(person)
        return self.request.build_absolute_uri(
            reverse("api:person-detail", kwargs={"uuid": survivor.uuid})
        )

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        if person.merged_into_id is not None:
            return HttpResponsePermanentRedirect(self.survivor_url(person), preserve_request=True)
        return self.represent(person)

    def get_object(self):
        person = super().get_object()
        refused = {"update", "partial_update", "merge"}
        if person.merged_into_id is not None and self.action in refused:
            raise MergedAway(
                _(
                    "This person was merged into %(url)s; read that person and apply the change "
                    "there (with its own version)."
                )
                % {"url": self.survivor_url(person)}
            )
        return person

    def row_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        response = super().row_response(pk, status_code)
        if self.action in self.WRITES_WITH_DUPLICATES:
            person = Person.objects.prefetch_related("names").get(pk=pk)
            matches = detection.find_duplicates(
                candidate_from_person(person, self.request.user), user=self.request.user
            )
            response.data["possible_duplicates"] = possible_duplicates(
                matches, self.get_serializer_context()
            )
        return response

    @extend_schema(
        summary="Check a candidate person for duplicates (nothing is saved)",
        description="Answer the persons the candidate is likely to duplicate, with a score "
        "and the reasons, best first. Reasons cite only what the caller may see. Needs the "
        "permission to read persons; a read-only token is refused (this is a POST).",
        request=DuplicateCheckInputSerializer,
        responses={200: DuplicateCheckSerializer, 400: OpenApiResponse(description="Bad input.")},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="duplicates",
        write_permission="cases.view_person",
    )
    def duplicates(self, request):
        serializer = DuplicateCheckInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        exclude = data.get("exclude")
        candidate = detection.Candidate(
            working_name=data["working_name"],
            names=list(data.get("names", [])),
            birth_date=data.get("birth_date"),
            birth_date_precision=data.get("birth_date_precision", DatePrecision.DAY),
            unit=data.get("unit", ""),
            service_number=data.get("service_number", ""),
            document_numbers=list(data.get("document_numbers", [])),
            exclude_pk=exclude.pk if exclude is not None else None,
        )
        matches = detection.find_duplicates(candidate, user=request.user)
        return Response(
            {"possible_duplicates": possible_duplicates(matches, self.get_serializer_context())}
        )

    @extend_schema(
        summary="Merge this person (a duplicate) into another",
        description="Every row that points at this person moves to ``into``; this person "
        "becomes a tombstone whose address redirects (308) to ``into``. Needs the change "
        "permission on persons, this person's version (If-Match or ``version``) and "
        "``into_version``. 409 when rows of both would break a unique rule.",
        request=MergeInputSerializer,
        responses={200: PersonMergeSerializer, **MERGE_ERRORS},
    )
    @action(detail=True, methods=["post"], write_verb="change")
    def merge(self, request, uuid=None):
        duplicate = self.get_object()
        version = expected_version(request)
        serializer = MergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            merge = person_merge(
                actor=actor_for(request),
                duplicate=duplicate,
                survivor=data["into"],
                reason=data["reason"],
                expected_version=version,
                survivor_version=data["into_version"],
            )
        except MergeConflict as conflict:
            raise MergeConflictError(" ".join(conflict.messages)) from conflict
        return Response(PersonMergeSerializer(merge, context=self.get_serializer_context()).data)

    @extend_schema(
        summary="Undo the merge of this (merged) person",
        description="Moves back exactly what the merge moved and lists this person again. "
        "Needs the change permission on persons and this person's version.",
        request=UnmergeInputSerializer,
        responses={200: PersonMergeSerializer, **MERGE_ERRORS},
    )
    @action(detail=True, methods=["post"], write_verb="change")
    def unmerge(self, request, uuid=None):
        person = self.get_object()
        version = expected_version(request)
        serializer = UnmergeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        merge = person_unmerge(
            actor=actor_for(request),
            person=person,
            reason=serializer.validated_data["reason"],
            expected_version=version,
        )
        merge = PersonMerge.objects.select_related("survivor", "merged").get(pk=merge.pk)
        return Response(PersonMergeSerializer(merge, context=self.get_serializer_context()).data)


def schema_overrides(detail_serializer=PersonWithDuplicatesSerializer) -> dict:
    """Return the schema blocks that add the redirect, 410 and ``possible_duplicates``."""
    from cases.api.schema import ERRORS, IF_MATCH, LOCKING, NOT_FOUND, READ_ERRORS

    writes = {**ERRORS, **NOT_FOUND, **LOCKING, 410: GONE}
    return {
        "retrieve": extend_schema(
            responses={200: s.PersonSerializer, 308: REDIRECT, **READ_ERRORS, **NOT_FOUND}
        ),
        "create": extend_schema(responses={201: detail_serializer, **ERRORS}),
        "update": extend_schema(
            parameters=[IF_MATCH], responses={200: detail_serializer, **writes}
        ),
        "partial_update": extend_schema(
            parameters=[IF_MATCH], responses={200: detail_serializer, **writes}
        ),
    }


__all__ = ["PersonDuplicatesMixin", "schema_overrides", "OpenApiTypes"]
