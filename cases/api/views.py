"""Resource views of the API: thin wrappers that validate input and call the services.

Every write goes through ``cases.services`` with the API channel and the caller (user and
token) as the actor, so it lands on the timeline with its reason. Rows are addressed by
UUID. Changing an existing row needs its version (``If-Match`` or a ``version`` field):
stale gives 412 with the current version, missing gives 428. Nothing is deleted.
"""

from __future__ import annotations

import hashlib

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import OperationalError
from django.http import Http404, HttpResponseNotModified
from django.utils.functional import cached_property
from django.utils.http import parse_etags
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from cases import consent, selectors, services
from cases.api import conditional, replica_reads
from cases.api import selectors as api_selectors
from cases.api import serializers as s
from cases.api.idempotency import IdempotentWritesMixin
from cases.api.mixins import (
    ARCHIVE_ACTIONS,
    ArchiveActionsMixin,
    PurgeActionMixin,
    VersionedUpdateMixin,
    actor_for,
    etag,
    expected_version,
    without_common,
)
from cases.api.replica_reads import REPLICA_LAG_HEADER
from cases.api.schema import (  # also registers the OpenAPI extensions
    CONSENT_REFUSED,
    ERRORS,
    IF_MATCH,
    LOCKING,
    NOT_FOUND,
    READ_ERRORS,
    resource_schema,
)
from cases.duplicates import api as duplicates_api
from cases.duplicates.api import PersonDuplicatesMixin
from cases.filters import (
    CaseFilterSet,
    IntentionFilterSet,
    PartyFilterSet,
    PersonFilterSet,
    RequestFilterSet,
    RiskAssessmentFilterSet,
    SourceFilterSet,
)
from cases.security import access, sensitive
from cases.security.policy import policy_for
from cases.services import NameSpec
from cases.statements import values_rows
from tracker.db_routers import CASE_DATA_READS, replica_failed

#: What a case's address that names no case answers (as ``get_object`` words it).
NO_CASE = "No Case matches the given query."

#: The highest page number any list answers; beyond it a page is past the end (404).
MAX_PAGE = 10**9


class ExactCountPaginator(Paginator):
    """A paginator whose exact count is not taken again while nothing has been committed."""

    @cached_property
    def count(self) -> int:
        return api_selectors.exact_count(self.object_list)


def _whole_number(request, name: str, *, low: int, high: int) -> int | None:
    """Return query parameter ``name`` as a whole number from ``low`` to ``high``, or None.

    Anything else is a 400 naming the parameter, rather than a value silently ignored and
    echoed into the next page's link.
    """
    raw = request.query_params.get(name)
    if raw is None:
        return None
    value = int(raw) if raw.isascii() and raw.isdigit() else None
    if value is None or not low <= value <= high:
        raise exceptions.ValidationError(
            {
                name: [
                    _("Give '%(name)s' as a whole number from %(low)s to %(high)s; got %(value)s.")
                    % {"name": name, "low": low, "high": high, "value": repr(raw[:40])}
                ]
            },
            code="invalid",
        )
    return value


def _etag_matches(header: str | None, etag: str) -> bool:
    """Return True when ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    strip = lambda tag: tag.removeprefix("W/")  # noqa: E731
    return strip(etag) in {strip(tag) for tag in parse_etags(header)}


#: Headers a 304 repeats from the answer it stands for.
NOT_MODIFIED_HEADERS = ("ETag", "Vary", "Link", "Cache-Control")


class PageNumberPages(PageNumberPagination):
    """Pages of 50 rows by default; ``page_size`` up to 500; ``count`` is exact.

    ``page`` and ``page_size`` must be whole numbers in range (400 otherwise); a page past
    the end is 404. Each page carries a ``Link`` header (RFC 8288: ``first``, ``prev``,
    ``next``, ``last``) and an ``ETag``. A list of case data has the weak tag its view
    decided before reading the page (``early_etag``, :mod:`cases.api.conditional`), and has
    already answered ``304`` when ``If-None-Match`` named it. Any other list's tag is the
    SHA-256 of its rendered body, strong, compared once the page is rendered.
    """

    #: The tag the view decided before reading the page, or None (tag the rendered body).
    early_etag: str | None = None
    #: Whether the page's rows carry the state its tag is decided from (``list_state``).
    tags_from_rows = False

    django_paginator_class = ExactCountPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_schema_operation_parameters(self, view):
        """Declare ``page`` and ``page_size`` with the bounds the list checks."""
        bounds = {
            self.page_query_param: {"minimum": 1, "maximum": MAX_PAGE},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter["schema"], **bounds.get(parameter["name"], {})}
        return parameters

    def get_page_size(self, request):
        """Return ``page_size`` (1 to 500) or the default; 400 for anything else."""
        size = _whole_number(request, self.page_size_query_param, low=1, high=self.max_page_size)
        return self.page_size if size is None else size

    def get_page_number(self, request, paginator):
        """Return ``page`` (a whole number from 1, or ``last``); 400 for anything else."""
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return paginator.num_pages
        number = _whole_number(request, self.page_query_param, low=1, high=MAX_PAGE)
        return 1 if number is None else number

    def get_paginated_response(self, data):
        """Return the page with its ``Link`` header and an ``ETag`` set once it is rendered."""
        response = super().get_paginated_response(data)
        response["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in self.links())
        if self.early_etag is not None:
            response["ETag"] = self.early_etag
            return response
        request = self.request
        response.add_post_render_callback(lambda rendered: self.conditional(request, rendered))
        return response

    def links(self) -> list[tuple[str, str]]:
        """Return ``(rel, url)`` of the first, previous, next and last pages that exist."""
        url = self.request.build_absolute_uri()
        first = remove_query_param(url, self.page_query_param)
        pages = self.page.paginator.num_pages
        found = [("first", first)]
        if self.page.has_previous():
            found.append(("prev", self.get_previous_link()))
        if self.page.has_next():
            found.append(("next", self.get_next_link()))
        found.append(
            ("last", replace_query_param(url, self.page_query_param, pages) if pages > 1 else first)
        )
        return found

    @staticmethod
    def conditional(request, response):
        """Set the rendered page's ETag; return a 304 when ``If-None-Match`` names it."""
        etag = f'"{hashlib.sha256(response.content).hexdigest()[:40]}"'
        response["ETag"] = etag
        if not _etag_matches(request.headers.get("If-None-Match"), etag):
            return None
        not_modified = HttpResponseNotModified()
        for name in NOT_MODIFIED_HEADERS:
            if response.has_header(name):
                not_modified[name] = response[name]
        return not_modified


class CasePaginator(ExactCountPaginator):
    """Read a page of cases as plain rows, then count the filtered cases.

    The page's rows (``api_selectors.api_case_rows``) carry joins and subqueries that the count
    does not need, so they are added to the page's slice only; the count has only the
    filters' joins. The page is read first: on PostgreSQL its rows carry the state of the case
    data they were read in, under which a kept count is found without a query
    (``api_selectors.exact_count``). A page past the end is therefore read (empty) before it
    is refused. Orphans are not supported.
    """

    def __init__(self, object_list, per_page, *, user=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.user = user

    def page(self, number):
        """Return the page ``number``: its rows, read before the count."""
        number = self.validate_number_bounds(number)
        bottom = (number - 1) * self.per_page
        rows = values_rows(
            api_selectors.api_case_rows(
                self.object_list[bottom : bottom + self.per_page],
                self.user,
                counted=self.object_list,
            )
        )
        if "count" not in self.__dict__:
            data_state = rows[0].get("data_state") if rows else None
            self.count = api_selectors.exact_count(self.object_list, data_state=data_state)
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
    """The case list's pages: as every list's, each page's rows read as plain rows.

    Each row carries the state of the data it was read in (``list_state``), from which the
    page's ETag is decided when the view did not decide it first (no ``If-None-Match``).
    """

    tags_from_rows = True

    def get_paginated_response(self, data):
        if self.early_etag is None:
            rows = self.page.object_list
            state = rows[0]["list_state"] if rows else conditional.data_state()
            self.early_etag = conditional.list_etag(self.request, state)
        return super().get_paginated_response(data)

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


NOT_DELETED = gettext_lazy(
    "Records are never deleted through the API, so that the history stays complete. "
    "Change the status instead (close the case, withdraw the request)."
)


class ResourceViewSet(IdempotentWritesMixin, viewsets.GenericViewSet):
    """Lists, reads and writes through services; refuses DELETE with an explanation.

    Writes honour ``Idempotency-Key`` (cases/api/idempotency.py).
    """

    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPages
    filter_backends = [FilterBackend]
    input_serializer_class: type[s.InputSerializer] | None = None
    update_serializer_class: type[s.InputSerializer] | None = None
    #: Permission a write needs; ``@action(write_permission=...)`` sets it per action.
    write_permission: str | None = None
    #: The verb ("add" or "change") of the model permission an action's write needs, when
    #: it names no permission (``@action(write_verb=...)``).
    write_verb: str | None = None

    def get_serializer_context(self):
        context = super().get_serializer_context()
        # One collector per request: serializers note the sensitive values they show.
        if not hasattr(self, "_sensitive_reads"):
            self._sensitive_reads = {}
        context["sensitive_reads"] = self._sensitive_reads
        return context

    #: The replica serving this request's reads of case data, when one does
    #: (``cases.api.replica_reads``); None while the primary serves them.
    replica_read: replica_reads.ReplicaRead | None = None

    def dispatch(self, request, *args, **kwargs):
        """Answer the request; a read the replica failed in the middle of, from the primary.

        Reads of case data go where :meth:`initial` decided, for this request only.
        """
        self.replica_read = None
        token = CASE_DATA_READS.set(None)
        try:
            return super().dispatch(request, *args, **kwargs)
        except OperationalError:
            if self.replica_read is None:
                raise
            # The replica went away mid-read: it is left alone for a while, and the primary
            # answers (a read is safe to repeat; nothing was logged as read yet).
            replica_failed()
            self.replica_read = None
            self.__dict__.pop("_sensitive_reads", None)
            CASE_DATA_READS.set(None)
            return super().dispatch(request, *args, **kwargs)
        finally:
            CASE_DATA_READS.reset(token)

    def finalize_response(self, request, response, *args, **kwargs):
        """Append the access-log entries of the sensitive values this response shows."""
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.replica_read is not None and self.replica_read.lag is not None:
            response[REPLICA_LAG_HEADER] = f"{self.replica_read.lag:.3f}"
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
        if request.method == "DELETE" and not self.on_archive_route():
            raise exceptions.MethodNotAllowed("DELETE", detail=NOT_DELETED)
        return super().http_method_not_allowed(request, *args, **kwargs)

    def on_archive_route(self) -> bool:
        """Return True on the address of an archive, unarchive or purge action.

        A method those addresses do not take is refused as any view refuses one, without
        the explanations meant for the row's own address.
        """
        return bool(ARCHIVE_ACTIONS & set(getattr(self, "action_map", {}).values()))

    def initial(self, request, *args, **kwargs):
        """Check the caller as DRF does, then refuse a write naming a field he may not read.

        A read of an authenticated caller may then go to the replica
        (``cases.api.replica_reads``): what decided who he is and what he may do was read
        on the primary.
        """
        super().initial(request, *args, **kwargs)
        if request.method in ("GET", "HEAD"):
            self.replica_read = replica_reads.replica_read_for(request.user)
            if self.replica_read is not None:
                CASE_DATA_READS.set(self.replica_read.alias)
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
            if sensitive.NAMES in refused:
                text = _(
                    "Writing %(fields)s needs the permission to view sensitive values, which "
                    "this account does not hold. Leave %(fields)s out of the request (name "
                    "variants may be sent only with is_pseudonym true)."
                )
            else:
                text = _(
                    "Writing %(fields)s needs the permission to view sensitive values, which "
                    "this account does not hold. Leave %(fields)s out of the request."
                )
            raise exceptions.PermissionDenied(text % {"fields": fields})

    def row_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        """Re-read the row with the list's joins (after a write) and return it with its ETag."""
        return self.represent(self.get_queryset().get(pk=pk), status_code)

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        """Return ``row``, read with the view's joins, with its ETag."""
        data = self.get_serializer(row).data
        response = Response(data, status=status_code)
        response["ETag"] = etag(data["version"])
        return response

    def not_modified(self, request) -> Response | None:
        """Decide the list's ETag before any list query; return a 304 when it still holds.

        Only lists of case data (whose every write appends timeline events) are decided
        early; the others are tagged by their rendered body (``PageNumberPages``). A 304
        shows nothing, so it writes nothing to the access log.
        """
        if not conditional.is_case_data(self.get_queryset().model):
            return None
        header = request.headers.get("If-None-Match")
        if header is None and self.paginator.tags_from_rows:
            return None  # The page's rows carry the state: no query before them.
        tag = conditional.list_etag(request, conditional.data_state())
        # "*" matches any tag, so it would answer 304 before the filters, page and page size
        # are checked; a request that is a 400 or a 404 must not be a 304 (RFC 9110,
        # 13.2.1). A named tag was only ever sent with a 200 for this very query, so it can
        # be honoured here; "*" gets the page.
        if header is not None and header.strip() != "*" and _etag_matches(header, tag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
        self.paginator.early_etag = tag
        return None

    def list(self, request, *args, **kwargs):
        not_modified = self.not_modified(request)
        if not_modified is not None:
            return not_modified
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


class _ReferenceDataViewSet(VersionedUpdateMixin, ResourceViewSet):
    """Parties and sources: one input shape for create and update, renamed for the service."""

    #: The create service (a function of ``cases.services``); the update one is the mixin's.
    create_service = None
    field_names: dict[str, str] = {}

    def service_fields(self, data) -> tuple[dict, str]:
        fields, reason = without_common(data)
        return {self.field_names.get(k, k): v for k, v in fields.items()}, reason

    def create(self, request, *args, **kwargs):
        fields, _reason = self.service_fields(self.validated(self.input_serializer_class))
        row = self.create_service(actor=actor_for(request), **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)


@resource_schema(
    serializer=s.PartySerializer,
    list_summary="List parties",
    retrieve_summary="Read a party",
    create_summary="Create a party",
    create_request=s.PartyInputSerializer,
    update_request=s.PartyInputSerializer,
    replace_summary="Replace a party's details",
    change_summary="Change a party's details",
)
class PartyViewSet(_ReferenceDataViewSet):
    """States, forces, agencies, organisations, legislators and outlets."""

    queryset = selectors.parties()
    serializer_class = s.PartySerializer
    filterset_class = PartyFilterSet
    input_serializer_class = update_serializer_class = s.PartyInputSerializer
    create_service = staticmethod(services.party_create)
    update_service = staticmethod(services.party_update)

    def get_queryset(self):
        return selectors.parties()


@resource_schema(
    serializer=s.SourceSerializer,
    list_summary="List sources",
    retrieve_summary="Read a source",
    create_summary="Add a source",
    create_request=s.SourceInputSerializer,
    update_request=s.SourceInputSerializer,
    replace_summary="Replace a source's details",
    change_summary="Change a source's details",
)
class SourceViewSet(_ReferenceDataViewSet):
    """Reports, interviews and statements that facts come from."""

    queryset = selectors.sources()
    serializer_class = s.SourceSerializer
    filterset_class = SourceFilterSet
    input_serializer_class = update_serializer_class = s.SourceInputSerializer
    create_service = staticmethod(services.source_create)
    update_service = staticmethod(services.source_update)
    field_names = {"link": "url"}

    def get_queryset(self):
        return selectors.sources()


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


# Applied after resource_schema (above it): the redirect, 410 and possible_duplicates.
@extend_schema_view(**duplicates_api.schema_overrides())
@resource_schema(
    serializer=s.PersonSerializer,
    list_summary="List persons",
    retrieve_summary="Read a person",
    create_summary="Create a person with name variants",
    create_request=s.PersonInputSerializer,
    update_request=s.PersonInputSerializer,
    replace_summary="Replace a person's details",
    change_summary="Change a person's details or name variants",
    archive_noun="person",
)
class PersonViewSet(
    PersonDuplicatesMixin, ArchiveActionsMixin, VersionedUpdateMixin, ResourceViewSet
):
    """Detained persons: identity, name variants, service details."""

    queryset = selectors.persons()
    serializer_class = s.PersonSerializer
    filterset_class = PersonFilterSet
    update_serializer_class = s.PersonInputSerializer
    update_service = staticmethod(services.person_update)
    archive_service = staticmethod(services.person_archive)
    unarchive_service = staticmethod(services.person_unarchive)
    type_name = "person"

    def get_queryset(self):
        return selectors.persons()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.PersonInputSerializer))
        names = _names(fields) or []
        person = services.person_create(
            actor=actor_for(request), names=names, reason=reason, **fields
        )
        return self.row_response(person.pk, status.HTTP_201_CREATED)

    def update_fields(self, row, fields: dict, *, partial: bool) -> dict:
        """Hand the service the name variants to store (see :func:`_keeping_hidden_names`)."""
        names = _names(fields)
        if names is None and not partial:
            names = []  # A full replacement without names means no name variants.
        if names is not None and not policy_for(self.request.user).sees_sensitive:
            names = _keeping_hidden_names(row, names)
        return {**fields, "names": names}


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------


@resource_schema(
    serializer=s.CaseSerializer,
    detail_serializer=s.CaseDetailSerializer,
    list_summary="List cases",
    retrieve_summary="Read a case with its intentions, requests and sources",
    create_summary="Open a case",
    create_request=s.CaseInputSerializer,
    update_request=s.CaseUpdateSerializer,
    replace_summary="Replace a case's details",
    change_summary="Change a case's details",
    archive_noun="case",
)
class CaseViewSet(ArchiveActionsMixin, PurgeActionMixin, VersionedUpdateMixin, ResourceViewSet):
    """Custody episodes: one person held by one party, with what they want and what is asked."""

    queryset = api_selectors.api_cases()
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilterSet
    pagination_class = CasePages
    update_serializer_class = s.CaseUpdateSerializer
    update_service = staticmethod(services.case_update)
    archive_service = staticmethod(services.case_archive)
    unarchive_service = staticmethod(services.case_unarchive)
    type_name = "case"

    def get_queryset(self):
        if self.action == "list":
            return api_selectors.api_case_list()
        return api_selectors.api_case_detail()

    def list(self, request, *args, **kwargs):
        """List the cases that match the filters, a page at a time, with their exact count."""
        # The page is read as plain rows and represented by ``represent_cases``, whose output
        # equals ``CaseSerializer``'s (tests/perf/test_perf_api.py compares them key by key):
        # model instances and serializer fields cost several times the queries on a page of 50.
        not_modified = self.not_modified(request)
        if not_modified is not None:
            return not_modified
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        names = api_selectors.api_case_page_names(page, request.user)
        data = s.represent_cases(page, names, self.get_serializer_context())
        return self.get_paginated_response(data)

    def get_serializer_class(self):
        return s.CaseSerializer if self.action == "list" else s.CaseDetailSerializer

    def retrieve(self, request, *args, **kwargs):
        """Read the case through the filters, as ``get_object`` would, as plain rows."""
        # ``represent_case_detail`` equals ``CaseDetailSerializer``'s output key for key
        # (tests/perf/test_perf_case_detail.py compares them for every reader); the nested
        # serializers of its statements, requests and positions cost more than the reads.
        case_uuid = self.kwargs[self.lookup_field]
        try:
            if not request.query_params:
                # Without parameters the filters leave a case read by its id as it is (an
                # archived one included); tests/perf/test_perf_case_detail.py holds them to
                # it. The case is then read by a statement compiled once.
                return self.detail_response(case_uuid=case_uuid)
            cases = self.filter_queryset(api_selectors.api_case_list())
            return self.detail_response(cases=cases.filter(uuid=case_uuid))
        except (TypeError, ValueError, DjangoValidationError):
            raise Http404(NO_CASE) from None  # Not a uuid: as get_object answers it.

    def row_response(self, pk, status_code=status.HTTP_200_OK) -> Response:
        """Answer the case ``pk`` after a write, as its detail reads it."""
        return self.detail_response(
            cases=api_selectors.api_case_list().filter(pk=pk), status_code=status_code
        )

    def detail_response(
        self, *, case_uuid=None, cases=None, status_code=status.HTTP_200_OK
    ) -> Response:
        """Return the detail of the case ``case_uuid`` (or the one ``cases`` holds) with its
        ETag; 404 when there is none."""
        rows = api_selectors.api_case_detail_rows(
            self.request.user, case_uuid=case_uuid, cases=cases
        )
        if rows is None:
            raise Http404(NO_CASE)
        data = s.represent_case_detail(rows, self.get_serializer_context())
        response = Response(data, status=status_code)
        response["ETag"] = etag(data["version"])
        return response

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.CaseInputSerializer))
        case = services.case_open(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(case.pk, status.HTTP_201_CREATED)

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
        fields, reason = without_common(self.validated(s.CaseTransitionSerializer))
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


@resource_schema(
    serializer=s.IntentionSerializer,
    list_summary="List stated intentions",
    retrieve_summary="Read a stated intention",
    create_summary="Record a statement, or one that supersedes an earlier one",
    create_description="With ``supersedes`` the earlier statement is marked superseded and "
    "linked from the new one (a change of mind); statements are never edited.",
    create_request=s.IntentionInputSerializer,
    create_errors={412: LOCKING[412]},
    archive_noun="intention",
)
class IntentionViewSet(ArchiveActionsMixin, ResourceViewSet):
    """What persons said they want; never edited, only superseded, withdrawn or contested."""

    queryset = selectors.intentions()
    serializer_class = s.IntentionSerializer
    filterset_class = IntentionFilterSet
    archive_service = staticmethod(services.intention_archive)
    unarchive_service = staticmethod(services.intention_unarchive)
    type_name = "intention"

    def get_queryset(self):
        return selectors.intentions()

    def http_method_not_allowed(self, request, *args, **kwargs):
        if request.method in {"PUT", "PATCH"} and not self.on_archive_route():
            raise exceptions.MethodNotAllowed(
                request.method,
                detail=_(
                    "A statement is never edited. Record a new one that supersedes it (POST "
                    "with 'supersedes'), or change its state (POST .../state/)."
                ),
            )
        return super().http_method_not_allowed(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.IntentionInputSerializer))
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
        fields, reason = without_common(self.validated(s.IntentionStateSerializer))
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


@resource_schema(
    serializer=s.RiskAssessmentSerializer,
    list_summary="List risk assessments",
    retrieve_summary="Read a risk assessment",
    create_summary="Record a risk assessment",
    create_description="Assessments are never edited: a newer one for the same state replaces "
    "it for the consent gate, which refuses a return against a high risk.",
    create_request=s.RiskAssessmentInputSerializer,
)
class RiskAssessmentViewSet(ResourceViewSet):
    """Assessments of the risk of harm on return, for him or his family."""

    queryset = selectors.risk_assessments()
    serializer_class = s.RiskAssessmentSerializer
    filterset_class = RiskAssessmentFilterSet

    def get_queryset(self):
        return selectors.risk_assessments()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.RiskAssessmentInputSerializer))
        row = services.risk_assessment_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        # An assessment is never changed: it has no version, so no ETag.
        return Response(self.get_serializer(row).data, status=status_code)


# --------------------------------------------------------------------------------------------
# Requests and positions
# --------------------------------------------------------------------------------------------


@resource_schema(
    serializer=s.RequestSerializer,
    list_summary="List requests",
    retrieve_summary="Read a request with the parties' positions",
    create_summary="File a request (or draft one)",
    create_request=s.RequestInputSerializer,
    update_request=s.RequestUpdateSerializer,
    replace_summary="Replace a request's details",
    change_summary="Change a request's details",
    archive_noun="request",
)
class RequestViewSet(ArchiveActionsMixin, VersionedUpdateMixin, ResourceViewSet):
    """Things asked of parties for a person, and the parties' positions on them."""

    queryset = selectors.requests()
    serializer_class = s.RequestSerializer
    filterset_class = RequestFilterSet
    update_serializer_class = s.RequestUpdateSerializer
    update_service = staticmethod(services.request_update)
    archive_service = staticmethod(services.request_archive)
    unarchive_service = staticmethod(services.request_unarchive)
    type_name = "request"

    def get_queryset(self):
        return selectors.requests()

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.RequestInputSerializer))
        row = services.request_file(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)

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
        fields, reason = without_common(self.validated(s.RequestTransitionSerializer))
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
        fields, reason = without_common(self.validated(s.PositionInputSerializer))
        position = services.position_record(
            actor=actor_for(request), request=row, reason=reason, **fields
        )
        position = type(position).objects.select_related("party", "source").get(pk=position.pk)
        return Response(
            s.PositionSerializer(position, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


# --------------------------------------------------------------------------------------------
# Positions, occurrences and notes: never edited; positions and notes are written through
# their request and case, occurrences here too
# --------------------------------------------------------------------------------------------

# Imported here, beside the only views that use them.
from cases.filters import NoteFilterSet, OccurrenceFilterSet, PositionFilterSet  # noqa: E402
from cases.models import Note, Occurrence, Position  # noqa: E402


class _ReadOnlyRecordViewSet(ResourceViewSet):
    """Records that are never edited: listed and read here, written through other routes."""

    def get_queryset(self):
        # A fresh queryset per request from the class's own.
        return self.queryset.all()

    def represent(self, row, status_code=status.HTTP_200_OK) -> Response:
        # Never changed, so no version and no ETag.
        return Response(self.get_serializer(row).data, status=status_code)


@resource_schema(
    serializer=s.PositionResourceSerializer,
    list_summary="List parties' positions on requests",
    retrieve_summary="Read a party's position on a request",
)
class PositionViewSet(_ReadOnlyRecordViewSet):
    """Parties' stances on requests; recorded with POST requests/{uuid}/positions/."""

    queryset = Position.objects.select_related("request__case", "party", "source")
    serializer_class = s.PositionResourceSerializer
    filterset_class = PositionFilterSet


@resource_schema(
    serializer=s.OccurrenceSerializer,
    list_summary="List occurrences",
    retrieve_summary="Read an occurrence",
    create_summary="Record an occurrence",
    create_description="Something that happened in the world (an ICRC visit, a publication, "
    "an exchange list). Occurrences are never edited.",
    create_request=s.OccurrenceInputSerializer,
)
class OccurrenceViewSet(_ReadOnlyRecordViewSet):
    """Things that happened in the world: captures, ICRC visits, exchange lists."""

    queryset = Occurrence.objects.select_related("case", "source")
    serializer_class = s.OccurrenceSerializer
    filterset_class = OccurrenceFilterSet

    def create(self, request, *args, **kwargs):
        fields, reason = without_common(self.validated(s.OccurrenceInputSerializer))
        row = services.occurrence_record(actor=actor_for(request), reason=reason, **fields)
        return self.row_response(row.pk, status.HTTP_201_CREATED)


@resource_schema(
    serializer=s.NoteSerializer,
    list_summary="List case notes",
    retrieve_summary="Read a case note",
)
class NoteViewSet(_ReadOnlyRecordViewSet):
    """Case officers' notes; the body is withheld from readers without the permission."""

    queryset = Note.objects.select_related("case", "author", "source")
    serializer_class = s.NoteSerializer
    filterset_class = NoteFilterSet
