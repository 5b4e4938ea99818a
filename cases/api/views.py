"""Resource views of the API: thin wrappers that validate input and call the services.

Every write goes through ``cases.services`` with the API channel and the caller (user and
token) as the actor, so it lands on the timeline with its reason. Rows are addressed by
UUID. Changing an existing row needs its version (``If-Match`` or a ``version`` field):
stale gives 412 with the current version, missing gives 428. Nothing is deleted.
"""

from __future__ import annotations

import re

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from cases import consent, services
from cases.api import schema, selectors  # noqa: F401 - registers the OpenAPI extensions
from cases.api import serializers as s
from cases.api.exceptions import PreconditionRequired
from cases.choices import Channel
from cases.filters import (
    CaseFilterSet,
    IntentionFilterSet,
    PartyFilterSet,
    PersonFilterSet,
    RequestFilterSet,
    RiskAssessmentFilterSet,
    SourceFilterSet,
)
from cases.models import Party, Source
from cases.security import access, sensitive
from cases.security.policy import policy_for
from cases.security.tokens import ApiToken
from cases.services import Actor, NameSpec

#: The highest page number any list answers; beyond it a page is past the end (404).
MAX_PAGE = 10**9


class ExactCountPaginator(Paginator):
    """A paginator whose exact count is not taken again while nothing has been committed."""

    @cached_property
    def count(self) -> int:
        return selectors.exact_count(self.object_list)


class PageNumberPages(PageNumberPagination):
    """Pages of 50 rows by default; ``page_size`` up to 500; ``count`` is exact."""

    django_paginator_class = ExactCountPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CasePaginator(ExactCountPaginator):
    """Read a page of cases as plain rows, then count the filtered cases.

    The page's rows (``selectors.api_case_rows``) carry joins and subqueries that the count
    does not need, so they are added to the page's slice only; the count has only the
    filters' joins. The page is read first: on PostgreSQL its rows carry their snapshot,
    under which a kept count is found without a query (``selectors.exact_count``). A page
    past the end is therefore read (empty) before it is refused. Orphans are not supported.
    """

    def __init__(self, object_list, per_page, *, user=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.user = user

    def page(self, number):
        """Return the page ``number``: its rows, read before the count."""
        number = self.validate_number_bounds(number)
        bottom = (number - 1) * self.per_page
        rows = list(
            selectors.api_case_rows(self.object_list[bottom : bottom + self.per_page], self.user)
        )
        if "count" not in self.__dict__:
            snapshot = rows[0].get("snapshot") if rows else None
            self.count = selectors.exact_count(self.object_list, snapshot=snapshot)
        return self._get_page(rows, self.validate_number(number), self)

    def validate_number_bounds(self, number) -> int:
        """Return the page number as an int of at least 1, without counting."""
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        if number > MAX_PAGE:
            # Far past the end of any list; its offset would overflow the database's integers.
            raise EmptyPage(self.error_messages["no_results"])
        return number


class CasePages(PageNumberPages):
    """The case list's pages: as every list's, each page's rows read as plain rows."""

    def paginate_queryset(self, queryset, request, view=None):
        self.user = request.user
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page, **kwargs):
        return CasePaginator(object_list, per_page, user=self.user, **kwargs)


class FilterBackend(DjangoFilterBackend):
    """django-filter's backend, with each FilterSet's form class built once per process.

    The form class holds a field per declared filter (label, widget, choices), none of which
    depends on the request, yet django-filter builds it again for every request; the form
    itself is still made per request from it.
    """

    form_classes: dict[type, type] = {}

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            filterset_class = type(filterset)
            form_class = self.form_classes.get(filterset_class)
            if form_class is None:
                form_class = self.form_classes[filterset_class] = filterset.get_form_class()
            filterset.get_form_class = lambda: form_class
        return filterset


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
                {"If-Match": ['Send the ETag you read, e.g. If-Match: "3" (not *).']}
            )
        return int(tag)
    body = request.data.get("version") if isinstance(request.data, dict) else None
    if body is not None:
        if isinstance(body, bool) or not _DIGITS.fullmatch(str(body)):
            raise exceptions.ValidationError({"version": ["A version is a positive integer."]})
        return int(body)
    if required:
        raise PreconditionRequired()
    return None


def _without_common(data) -> tuple[dict, str]:
    """Return the service fields and the reason from validated input."""
    fields = dict(data)
    fields.pop("version", None)
    reason = fields.pop("reason", "") or ""
    return fields, reason


NOT_DELETED = (
    "Records are never deleted through the API, so that the history stays complete. "
    "Change the status instead (close the case, withdraw the request)."
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input: a JSON object of field messages."),
    401: OpenApiResponse(
        s.ErrorSerializer, description="No, an invalid, expired or revoked token."
    ),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. a read-only token)."),
}
NOT_FOUND = {404: OpenApiResponse(s.ErrorSerializer, description="No such record.")}
LOCKING = {
    412: OpenApiResponse(
        s.VersionConflictSerializer, description="Stale version: reload and reapply."
    ),
    428: OpenApiResponse(s.ErrorSerializer, description="No If-Match header or version field."),
}
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The row\'s ETag, e.g. "3"; or send a "version" field in the body.',
)
READ_ERRORS = {401: ERRORS[401], 403: ERRORS[403]}
CONSENT_REFUSED = {
    409: OpenApiResponse(
        s.ConsentRefusalSerializer,
        description="Refused by the consent gate; each problem has a code and a sentence.",
    )
}


class ResourceViewSet(viewsets.GenericViewSet):
    """Lists, reads and writes through services; refuses DELETE with an explanation."""

    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPages
    filter_backends = [FilterBackend]
    input_serializer_class: type[s.InputSerializer] | None = None
    update_serializer_class: type[s.InputSerializer] | None = None
    #: Permission a write needs; ``@action(write_permission=...)`` sets it per action.
    write_permission: str | None = None

    def get_serializer_context(self):
        context = super().get_serializer_context()
        # One collector per request: serializers note the sensitive values they show.
        if not hasattr(self, "_sensitive_reads"):
            self._sensitive_reads = {}
        context["sensitive_reads"] = self._sensitive_reads
        return context

    def finalize_response(self, request, response, *args, **kwargs):
        """Append the access-log entries of the sensitive values this response shows."""
        response = super().finalize_response(request, response, *args, **kwargs)
        reads = getattr(self, "_sensitive_reads", None)
        if reads and response.status_code < 400:
            access.log_reads(
                reads,
                user=request.user,
                channel=access.API,
                path=request.path,
                token_label=access.token_label_of(request),
            )
        return response

    def http_method_not_allowed(self, request, *args, **kwargs):
        if request.method == "DELETE":
            raise exceptions.MethodNotAllowed("DELETE", detail=NOT_DELETED)
        return super().http_method_not_allowed(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        """Check the caller as DRF does, then refuse a write naming a field he may not read."""
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS and self.action in self.WRITES_OF_ROWS:
            self.refuse_sensitive_fields(request)

    #: The actions whose body holds the fields of the view's own model.
    WRITES_OF_ROWS = frozenset({"create", "update", "partial_update"})

    def refuse_sensitive_fields(self, request) -> None:
        """Raise 403 naming each sensitive field the body names, for a writer who cannot read it.

        Such a write would overwrite a value its writer cannot see, and whether anything
        changed would answer his guess of it (the version moves only on a change).
        """
        model_name = self.get_queryset().model._meta.model_name
        refused = policy_for(request.user).refused_write_fields(model_name, request.data)
        if refused:
            fields = ", ".join(refused)
            raise exceptions.PermissionDenied(
                f"Writing {fields} needs the permission to view sensitive values, which this "
                f"account does not hold. Leave {fields} out of the request"
                + (
                    " (name variants may be sent only with is_pseudonym true)."
                    if sensitive.NAMES in refused
                    else "."
                )
            )

    def row_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        """Re-read the row with the list's joins (after a write) and return it with its ETag."""
        return self.represent(self.get_queryset().get(pk=pk), status_code)

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        """Return ``row``, read with the view's joins, with its ETag."""
        data = self.get_serializer(row).data
        response = Response(data, status=status_code)
        response["ETag"] = etag(data["version"])
        return response

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        serializer = self.get_serializer(page, many=True)
        return self.get_paginated_response(serializer.data)

    def retrieve(self, request, *args, **kwargs):
        # get_object() reads the row with the detail's joins and prefetches already; reading
        # it again by its key doubled the work of every detail read.
        return self.represent(self.get_object())

    def validated(self, serializer_class, *, partial: bool = False) -> dict:
        """Return the request body validated by ``serializer_class``."""
        serializer = serializer_class(
            data=self.request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --------------------------------------------------------------------------------------------
# Parties and sources: reference data, versioned like every other row
# --------------------------------------------------------------------------------------------


class _ReferenceDataViewSet(ResourceViewSet):
    model: type = Party
    create_service = staticmethod(services.party_create)
    update_service = staticmethod(services.party_update)
    field_names: dict[str, str] = {}

    def _service_fields(self, data) -> tuple[dict, str]:
        fields, reason = _without_common(data)
        return {self.field_names.get(k, k): v for k, v in fields.items()}, reason

    def create(self, request, *args, **kwargs):
        fields, _reason = self._service_fields(self.validated(self.input_serializer_class))
        row = self.create_service(actor=actor_for(request), **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        row = self.get_object()
        version = expected_version(request)
        fields, reason = self._service_fields(
            self.validated(self.input_serializer_class, partial=partial)
        )
        self.update_service(
            actor=actor_for(request),
            expected_version=version,
            reason=reason,
            **{self.model._meta.model_name: row},
            **fields,
        )
        return self.row_response(row.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


@extend_schema_view(
    list=extend_schema(summary="List parties", responses={200: s.PartySerializer, **READ_ERRORS}),
    retrieve=extend_schema(
        summary="Read a party", responses={200: s.PartySerializer, **READ_ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a party",
        request=s.PartyInputSerializer,
        responses={201: s.PartySerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a party's details",
        request=s.PartyInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.PartySerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
    partial_update=extend_schema(
        summary="Change a party's details",
        request=s.PartyInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.PartySerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
)
class PartyViewSet(_ReferenceDataViewSet):
    """States, forces, agencies, organisations, legislators and outlets."""

    queryset = selectors.api_parties()
    serializer_class = s.PartySerializer
    filterset_class = PartyFilterSet
    input_serializer_class = s.PartyInputSerializer
    model = Party
    create_service = staticmethod(services.party_create)
    update_service = staticmethod(services.party_update)

    def get_queryset(self):
        return selectors.api_parties()


@extend_schema_view(
    list=extend_schema(summary="List sources", responses={200: s.SourceSerializer, **READ_ERRORS}),
    retrieve=extend_schema(
        summary="Read a source", responses={200: s.SourceSerializer, **READ_ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Add a source",
        request=s.SourceInputSerializer,
        responses={201: s.SourceSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a source's details",
        request=s.SourceInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.SourceSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
    partial_update=extend_schema(
        summary="Change a source's details",
        request=s.SourceInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.SourceSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
)
class SourceViewSet(_ReferenceDataViewSet):
    """Reports, interviews and statements that facts come from."""

    queryset = selectors.api_sources()
    serializer_class = s.SourceSerializer
    filterset_class = SourceFilterSet
    input_serializer_class = s.SourceInputSerializer
    model = Source
    create_service = staticmethod(services.source_create)
    update_service = staticmethod(services.source_update)
    field_names = {"link": "url"}

    def get_queryset(self):
        return selectors.api_sources()


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------


def _names(data: dict) -> list[NameSpec] | None:
    names = data.pop("names", None)
    if names is None:
        return None
    return [
        NameSpec(
            value=item["value"],
            script=item["script"],
            romanisation=item.get("romanisation", ""),
            is_pseudonym=item.get("is_pseudonym", False),
        )
        for item in names
    ]


def _keeping_hidden_names(person, names: list[NameSpec]) -> list[NameSpec] | None:
    """Return the variants to store when a writer who sees pseudonyms only sends ``names``.

    He replaces the variants he can see; those he cannot (every non-pseudonym, which he may
    not send either) stay as they are. None when what he sent is what he sees.
    """
    stored = [
        NameSpec(n.value, n.script, n.romanisation, n.is_pseudonym)
        for n in person.names.order_by("id")
    ]
    seen = [spec for spec in stored if not sensitive.is_hidden_name(spec)]
    if [spec.as_dict() for spec in seen] == [spec.as_dict() for spec in names]:
        return None
    return [spec for spec in stored if sensitive.is_hidden_name(spec)] + names


@extend_schema_view(
    list=extend_schema(summary="List persons", responses={200: s.PersonSerializer, **READ_ERRORS}),
    retrieve=extend_schema(
        summary="Read a person", responses={200: s.PersonSerializer, **READ_ERRORS, **NOT_FOUND}
    ),
    create=extend_schema(
        summary="Create a person with name variants",
        request=s.PersonInputSerializer,
        responses={201: s.PersonSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a person's details",
        request=s.PersonInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.PersonSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
    partial_update=extend_schema(
        summary="Change a person's details or name variants",
        request=s.PersonInputSerializer,
        parameters=[IF_MATCH],
        responses={200: s.PersonSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
)
class PersonViewSet(ResourceViewSet):
    """Detained persons: identity, name variants, service details."""

    queryset = selectors.api_persons()
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilterSet

    def get_queryset(self):
        return selectors.api_persons()

    def create(self, request, *args, **kwargs):
        fields, reason = _without_common(self.validated(s.PersonInputSerializer))
        names = _names(fields) or []
        person = services.person_create(
            actor=actor_for(request), names=names, reason=reason, **fields
        )
        return self.row_response(person.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        person = self.get_object()
        version = expected_version(request)
        fields, reason = _without_common(self.validated(s.PersonInputSerializer, partial=partial))
        names = _names(fields)
        if names is None and not partial:
            names = []  # A full replacement without names means no name variants.
        if names is not None and not policy_for(request.user).sees_sensitive:
            names = _keeping_hidden_names(person, names)
        services.person_update(
            actor=actor_for(request),
            person=person,
            expected_version=version,
            names=names,
            reason=reason,
            **fields,
        )
        return self.row_response(person.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="List cases", responses={200: s.CaseSerializer, **READ_ERRORS}),
    retrieve=extend_schema(
        summary="Read a case with its intentions, requests and sources",
        responses={200: s.CaseDetailSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Open a case",
        request=s.CaseInputSerializer,
        responses={201: s.CaseDetailSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a case's details",
        request=s.CaseUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.CaseDetailSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
    partial_update=extend_schema(
        summary="Change a case's details",
        request=s.CaseUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.CaseDetailSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
)
class CaseViewSet(ResourceViewSet):
    """Custody episodes: one person held by one party, with what they want and what is asked."""

    queryset = selectors.api_cases()
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilterSet
    pagination_class = CasePages

    def get_queryset(self):
        if self.action == "list":
            return selectors.api_case_list()
        return selectors.api_case_detail()

    def list(self, request, *args, **kwargs):
        """List cases: filtered and counted, then the page read as rows and represented.

        The representation equals ``CaseSerializer``'s (tests/test_perf_api.py proves it key
        by key); it is built from plain rows because model instances and serializer fields
        cost several times the queries on a page of 50.
        """
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        names = selectors.api_case_page_names(page, request.user)
        data = s.represent_cases(page, names, self.get_serializer_context())
        return self.get_paginated_response(data)

    def get_serializer_class(self):
        return s.CaseSerializer if self.action == "list" else s.CaseDetailSerializer

    def create(self, request, *args, **kwargs):
        fields, reason = _without_common(self.validated(s.CaseInputSerializer))
        case = services.case_open(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(case.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        case = self.get_object()
        version = expected_version(request)
        fields, reason = _without_common(self.validated(s.CaseUpdateSerializer, partial=partial))
        services.case_update(
            actor=actor_for(request),
            case=case,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(case.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Change a case's status",
        description="Moves the case along its state machine; a refused move lists the "
        "allowed ones. Repatriated and transferred_third_state pass the consent gate (409 "
        "when it refuses). A version (If-Match or field) is checked when sent.",
        request=s.CaseTransitionSerializer,
        parameters=[IF_MATCH],
        responses={
            200: s.CaseDetailSerializer,
            **ERRORS,
            **NOT_FOUND,
            **CONSENT_REFUSED,
            412: LOCKING[412],
        },
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_case")
    def transition(self, request, uuid=None, **kwargs):
        case = self.get_object()
        version = expected_version(request, required=False)
        fields, reason = _without_common(self.validated(s.CaseTransitionSerializer))
        services.case_change_status(
            actor=actor_for(request),
            case=case,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(case.pk)

    @extend_schema(
        summary="Ask the consent gate",
        description="Whether the person may be moved across a border today (or on ``on``). "
        "With ``option`` (and ``destination`` for a transfer), for that move; without, for "
        "every move the case's open requests would make (a return home when none would). "
        "Each answer names the statement it rests on and each unmet condition; nothing is "
        "written.",
        parameters=[s.ConsentQuerySerializer],
        responses={200: s.ConsentAnswersSerializer, **READ_ERRORS, **NOT_FOUND},
    )
    @action(detail=True, methods=["get"], url_path="consent")
    def consent(self, request, uuid=None, **kwargs):
        case = self.get_object()
        query = s.ConsentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asked = query.validated_data
        if "option" in asked:
            moves = [consent.Move(asked["option"], asked.get("destination", ""))]
        else:
            moves = consent.moves_in_view(case.requests.all())
        on = asked.get("on")
        answers = [consent.check(case, move, on=on).as_dict() for move in moves]
        return Response({"answers": answers})


# --------------------------------------------------------------------------------------------
# Intentions
# --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List stated intentions", responses={200: s.IntentionSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="Read a stated intention",
        responses={200: s.IntentionSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Record a statement, or one that supersedes an earlier one",
        description="With ``supersedes`` the earlier statement is marked superseded and "
        "linked from the new one (a change of mind); statements are never edited.",
        request=s.IntentionInputSerializer,
        responses={201: s.IntentionSerializer, **ERRORS, 412: LOCKING[412]},
    ),
)
class IntentionViewSet(ResourceViewSet):
    """What persons said they want; never edited, only superseded, withdrawn or contested."""

    queryset = selectors.api_intentions()
    serializer_class = s.IntentionSerializer
    filterset_class = IntentionFilterSet

    def get_queryset(self):
        return selectors.api_intentions()

    def http_method_not_allowed(self, request, *args, **kwargs):
        if request.method in {"PUT", "PATCH"}:
            raise exceptions.MethodNotAllowed(
                request.method,
                detail="A statement is never edited. Record a new one that supersedes it "
                "(POST with 'supersedes'), or change its state (POST .../state/).",
            )
        return super().http_method_not_allowed(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        fields, reason = _without_common(self.validated(s.IntentionInputSerializer))
        old = fields.pop("supersedes", None)
        old_version = fields.pop("supersedes_version", None)
        source = fields.pop("source", None)
        actor = actor_for(request)
        if old is None:
            intention = services.intention_record(
                actor=actor, reason=reason, source=source, **fields
            )
        else:
            fields.pop("case", None)
            intention = services.intention_supersede(
                actor=actor,
                intention=old,
                expected_version=old_version,
                reason=reason,
                source=source,
                **fields,
            )
        return self.row_response(intention.pk, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw, contest, invalidate or reinstate a statement",
        description="A reason is required except to reinstate. A version (If-Match or field) "
        "is checked when sent.",
        request=s.IntentionStateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.IntentionSerializer, **ERRORS, **NOT_FOUND, 412: LOCKING[412]},
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_statedintention")
    def state(self, request, uuid=None, **kwargs):
        intention = self.get_object()
        version = expected_version(request, required=False)
        fields, reason = _without_common(self.validated(s.IntentionStateSerializer))
        services.intention_set_state(
            actor=actor_for(request),
            intention=intention,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(intention.pk)


# --------------------------------------------------------------------------------------------
# Risk on return
# --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List risk assessments",
        responses={200: s.RiskAssessmentSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read a risk assessment",
        responses={200: s.RiskAssessmentSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Record a risk assessment",
        description="Assessments are never edited: a newer one for the same state replaces "
        "it for the consent gate, which refuses a return against a high risk.",
        request=s.RiskAssessmentInputSerializer,
        responses={201: s.RiskAssessmentSerializer, **ERRORS},
    ),
)
class RiskAssessmentViewSet(ResourceViewSet):
    """Assessments of the risk of harm on return, for him or his family."""

    queryset = selectors.api_risk_assessments()
    serializer_class = s.RiskAssessmentSerializer
    filterset_class = RiskAssessmentFilterSet

    def get_queryset(self):
        return selectors.api_risk_assessments()

    def create(self, request, *args, **kwargs):
        fields, reason = _without_common(self.validated(s.RiskAssessmentInputSerializer))
        row = services.risk_assessment_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        # An assessment is never changed: it has no version, so no ETag.
        return Response(self.get_serializer(row).data, status=status_code)


# --------------------------------------------------------------------------------------------
# Requests and positions
# --------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List requests", responses={200: s.RequestSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="Read a request with the parties' positions",
        responses={200: s.RequestSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="File a request (or draft one)",
        request=s.RequestInputSerializer,
        responses={201: s.RequestSerializer, **ERRORS},
    ),
    update=extend_schema(
        summary="Replace a request's details",
        request=s.RequestUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.RequestSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
    partial_update=extend_schema(
        summary="Change a request's details",
        request=s.RequestUpdateSerializer,
        parameters=[IF_MATCH],
        responses={200: s.RequestSerializer, **ERRORS, **NOT_FOUND, **LOCKING},
    ),
)
class RequestViewSet(ResourceViewSet):
    """Things asked of parties for a person, and the parties' positions on them."""

    queryset = selectors.api_requests()
    serializer_class = s.RequestSerializer
    filterset_class = RequestFilterSet

    def get_queryset(self):
        return selectors.api_requests()

    def create(self, request, *args, **kwargs):
        fields, reason = _without_common(self.validated(s.RequestInputSerializer))
        row = services.request_file(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def update(self, request, *args, partial=False, **kwargs):
        row = self.get_object()
        version = expected_version(request)
        fields, reason = _without_common(self.validated(s.RequestUpdateSerializer, partial=partial))
        services.request_update(
            actor=actor_for(request),
            request=row,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(row.pk)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(
        summary="Change a request's status",
        description="Moves the request along its state machine; executing one that moves the "
        "person across a border passes the consent gate (409 when it refuses). A version "
        "(If-Match or field) is checked when sent.",
        request=s.RequestTransitionSerializer,
        parameters=[IF_MATCH],
        responses={
            200: s.RequestSerializer,
            **ERRORS,
            **NOT_FOUND,
            **CONSENT_REFUSED,
            412: LOCKING[412],
        },
    )
    @action(detail=True, methods=["post"], write_permission="cases.change_request")
    def transition(self, request, uuid=None, **kwargs):
        row = self.get_object()
        version = expected_version(request, required=False)
        fields, reason = _without_common(self.validated(s.RequestTransitionSerializer))
        services.request_transition(
            actor=actor_for(request),
            request=row,
            expected_version=version,
            reason=reason,
            **fields,
        )
        return self.row_response(row.pk)

    @extend_schema(
        summary="Record a party's position on the request",
        request=s.PositionInputSerializer,
        responses={201: s.PositionSerializer, **ERRORS, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"], write_permission="cases.add_position")
    def positions(self, request, uuid=None, **kwargs):
        row = self.get_object()
        fields, reason = _without_common(self.validated(s.PositionInputSerializer))
        position = services.position_record(
            actor=actor_for(request), request=row, reason=reason, **fields
        )
        position = type(position).objects.select_related("party", "source").get(pk=position.pk)
        return Response(
            s.PositionSerializer(position, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )
