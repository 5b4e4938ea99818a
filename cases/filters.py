"""FilterSets shared by the REST API and the analysts' pages, one per resource.

Every choice filter refuses an unknown value with a message that lists the allowed ones, so a
client learns the vocabulary from the error; multi-valued filters accept the parameter
repeated (``?status=interned&status=on_hold``) or comma-separated (``?status=interned,on_hold``).
Dates are ISO 8601; the ``*_after`` and ``*_before`` bounds are inclusive.
"""

from __future__ import annotations

import datetime as dt
import math
from time import monotonic

import django_filters
from django import forms
from django.db import connections
from django.db.models import BooleanField, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cases import choices, clocks
from cases.models import (
    Case,
    Note,
    Notification,
    Occurrence,
    Party,
    Person,
    Place,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
)
from cases.names import (
    MIN_SUBSTRING_LENGTH,
    HasWord,
    ILike,
    InSubquery,
    like_escape,
    short_query_words,
)
from cases.notifications.models import (
    NotificationChannel,
    NotificationReason,
    NotificationState,
)
from cases.security import sensitive

# --------------------------------------------------------------------------------------------
# Fields: comma-separated lists, strict booleans, country codes
# --------------------------------------------------------------------------------------------


def _split(values) -> list[str]:
    """Return the items of repeated and comma-separated parameter values, stripped."""
    if values in (None, ""):
        return []
    if isinstance(values, str):
        values = [values]
    return [item.strip() for value in values for item in str(value).split(",") if item.strip()]


def _allowed_message(values) -> str:
    """Return the error message for a value outside ``values``, listing them."""
    allowed = ", ".join(str(v) for v in values if v != "")
    return f"Unknown value “%(value)s”. Allowed values: {allowed}."


class ListChoiceField(django_filters.fields.MultipleChoiceField):
    """A multiple choice taken from repeated or comma-separated values."""

    def to_python(self, value):
        return _split(value)


class StrictBooleanField(forms.Field):
    """A yes/no parameter that refuses anything but true/false (and 1/0, yes/no)."""

    widget = forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")])
    truthy = frozenset({"true", "1", "yes"})
    falsy = frozenset({"false", "0", "no"})

    def to_python(self, value):
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in self.truthy:
            return True
        if text in self.falsy:
            return False
        raise forms.ValidationError(
            _("Unknown value “%(value)s”. Allowed values: true, false."),
            code="invalid_choice",
            params={"value": value},
        )


class CountryListField(forms.Field):
    """One or more ISO 3166-1 alpha-2 country codes, case-insensitive."""

    widget = forms.TextInput

    def to_python(self, value):
        codes = [code.upper() for code in _split(value)]
        known = {code for code, _name in countries}
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise forms.ValidationError(
                _(
                    "Unknown country code “%(value)s”. Use ISO 3166-1 alpha-2 codes such as "
                    "KP, KR, RU or UA."
                ),
                code="invalid_choice",
                params={"value": ", ".join(unknown)},
            )
        return codes


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date and time that exists in UTC, where the database compares it.

    9999-12-31T23:59:59-23:59 parses, but is in the year 10000 in UTC: refused here with a
    message instead of overflowing when the query is built. A value is handed on in UTC:
    ISO 8601 allows offsets up to 23:59, PostgreSQL only up to 15:59 (+23:09 was a 500).
    """

    def to_python(self, value):
        value = super().to_python(value)
        if value is not None and value.tzinfo is not None:
            try:
                return value.astimezone(dt.UTC)
            except OverflowError:
                raise forms.ValidationError(
                    _("This date and time falls outside the years 1 to 9999 in UTC."),
                    code="invalid",
                ) from None
        return value


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 date-and-time filter whose value exists in UTC (``UtcDateTimeField``)."""

    field_class = UtcDateTimeField


class PublicIdListField(django_filters.fields.ModelMultipleChoiceField):
    """Rows named by their public UUIDs, repeated or comma-separated."""

    def clean(self, value):
        return super().clean(_split(value))


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


class ChoiceListFilter(django_filters.MultipleChoiceFilter):
    """Match any of several choice values; unknown values list the allowed ones."""

    field_class = ListChoiceField

    def __init__(self, *args, choices, **kwargs):
        kwargs.setdefault("distinct", False)
        kwargs.setdefault(
            "error_messages", {"invalid_choice": _allowed_message(v for v, _label in choices)}
        )
        super().__init__(*args, choices=choices, **kwargs)


class BooleanFilter(django_filters.Filter):
    """Match a boolean field; anything but true/false is a 400, not a silent no-op."""

    field_class = StrictBooleanField


class CountryFilter(django_filters.Filter):
    """Match any of several ISO country codes."""

    field_class = CountryListField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("lookup_expr", "in")
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        return super().filter(qs, value)


class PublicIdFilter(django_filters.ModelMultipleChoiceFilter):
    """Match rows related to any of several rows named by UUID."""

    field_class = PublicIdListField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("to_field_name", "uuid")
        kwargs.setdefault("distinct", False)
        kwargs.setdefault(
            "error_messages",
            {
                "invalid_choice": "No record has the id “%(value)s”.",
                "invalid_pk_value": "“%(pk)s” is not a valid id (a UUID).",
            },
        )
        super().__init__(*args, **kwargs)

    def get_filter_predicate(self, v):
        return {self.field_name: v}


class StableOrderingFilter(django_filters.OrderingFilter):
    """Order by the given fields, then by primary key, so pages never overlap."""

    def __init__(self, *args, **kwargs):
        fields = self.normalize_fields(kwargs.get("fields", {}))
        params = [p for param in fields.values() for p in (param, f"-{param}")]
        kwargs.setdefault("error_messages", {"invalid_choice": _allowed_message(params)})
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in django_filters.constants.EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value if param]
        return qs.order_by(*ordering, "pk")


def _ordering(*params: str) -> StableOrderingFilter:
    return StableOrderingFilter(
        fields=params,
        help_text="Sort by " + ", ".join(params) + "; prefix with - for descending.",
    )


def _date(field_name: str, lookup_expr: str) -> django_filters.DateFilter:
    """Return an inclusive ISO 8601 date bound on ``field_name``."""
    return django_filters.DateFilter(
        field_name=field_name,
        lookup_expr=lookup_expr,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("Enter a date in ISO 8601 form, YYYY-MM-DD.")},
    )


def _text_match(field: str, value: str, *, short: str) -> Q | None:
    """Return the condition that the text ``field`` matches the search ``value``.

    A value of three characters or more matches anywhere in the text (case-insensitive, served
    by a trigram index on PostgreSQL). A shorter one matches at the start of the text when
    ``short`` is ``"prefix"`` (references: UA finds UA-2025-0001), or as a whole word when it
    is ``"word"`` (names: Ri finds "Ri Hyon Chol", not "Dmitriy").
    """
    if len(value) >= MIN_SUBSTRING_LENGTH:
        return Q(ILike(F(field), f"%{like_escape(value)}%"))
    if short == "prefix":
        return Q(ILike(F(field), f"{like_escape(value)}%"))
    words = short_query_words(value)
    return Q(HasWord(field, words)) if words else None


def matching_person_ids(value: str, user) -> QuerySet | None:
    """Return the ids of the persons whose names match the search ``value`` for ``user``.

    A person matches by the working name (always visible, often a pseudonym by design) or by
    a name variant ``user`` may see, in any spelling the search expands to (see
    ``cases.names``). The two are a ``UNION ALL`` of index reads on PostgreSQL rather than an
    ``OR`` with a correlated ``EXISTS``, so counting the matches never scans every person.
    Return None when nothing can match.
    """
    parts = []
    working_name = _text_match("working_name", value, short="word")
    if working_name is not None:
        parts.append(Person.objects.filter(working_name).order_by().values("pk"))
    names = sensitive.visible_name_rows(value, user)
    if names is not None:
        parts.append(names.order_by().values("person_id"))
    if not parts:
        return None
    return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]


def _user(request):
    return getattr(request, "user", None)


# --------------------------------------------------------------------------------------------
# FilterSets
# --------------------------------------------------------------------------------------------


#: Values of the ``archived`` filter; lists leave archived rows out unless asked.
ARCHIVED_CHOICES = [
    ("exclude", "Not archived"),
    ("include", "Archived or not"),
    ("only", "Archived only"),
]


class ArchivedFilterSet(django_filters.FilterSet):
    """Base of the FilterSets of archivable rows: ``archived=exclude|include|only``.

    A list leaves archived rows out by default; a row read by its id is found whether or
    not it is archived (the API's detail routes filter through the same FilterSet).
    """

    archived = django_filters.ChoiceFilter(
        choices=ARCHIVED_CHOICES,
        # A filter with a method and no label is labelled "[invalid name]" by django-filter.
        label=_("Archived"),
        method="filter_archived",
        empty_label=None,
        error_messages={"invalid_choice": _allowed_message(v for v, _ in ARCHIVED_CHOICES)},
        help_text=_("Archived rows: exclude (the default), include or only."),
    )

    def filter_archived(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Leave the queryset alone; ``filter_queryset`` applies the value or the default."""
        return queryset

    def _reads_one_row(self) -> bool:
        context = getattr(self.request, "parser_context", None) or {}
        return bool(getattr(context.get("view"), "detail", False))

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Apply the filters, then leave out archived rows unless asked (or read by id)."""
        queryset = super().filter_queryset(queryset)
        value = self.form.cleaned_data.get("archived")
        if not value:
            value = "include" if self._reads_one_row() else "exclude"
        if value == "exclude":
            return queryset.filter(archived_at__isnull=True)
        if value == "only":
            return queryset.filter(archived_at__isnull=False)
        return queryset


class HoldsAnyCode(Func):
    """True when a comma-separated list of country codes holds any of ``codes``.

    Nationalities are stored as comma-separated two-letter codes ("KP,RU"). PostgreSQL gets
    ``string_to_array(column, ',') && codes``, the expression of a GIN index (migration
    0013), so a nationality filter is an index read instead of a scan of every person;
    elsewhere each code is a substring match, exact for two-letter codes between commas.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, codes):
        self.codes = tuple(codes)
        super().__init__(F(column))

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        tests, test_params = [], []
        for code in self.codes:
            tests.append(f"{column} LIKE %s")
            test_params += [*params, f"%{code}%"]
        return f"({' OR '.join(tests)})", test_params

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        return f"string_to_array({column}, ',') && %s::text[]", [*params, list(self.codes)]


#: Each case's nationality codes with its reference, kept by triggers (migration 0028).
CASE_NATIONALITY_TABLE = "cases_casenationality"


#: A nationality filter reads its cases by id and sorts them when the statistics estimate
#: at most ``sqrt(READ_BY_ID_FACTOR * rows of the table)`` matching rows (never fewer than
#: READ_BY_ID_MIN_ROWS), and otherwise walks the cases in reference order from the first
#: match until a page is full. Read by id, every match is joined before the page is taken
#: (about 12 µs a match at 100,000 cases: 36 ms for 2,972); walked, about 3 µs a case
#: walked, and matches spread evenly through the references are found one in
#: ``rows / matches`` (clustered ones sooner: the walk starts at the first). The two cost
#: the same at ``matches = sqrt(12.5 * rows)``: 1,118 at 100,000 cases, 500 at 20,000.
#: The table's rows stand for the cases (one per case and code: a few percent more).
READ_BY_ID_FACTOR = 12.5
READ_BY_ID_MIN_ROWS = 100
#: Seconds a process keeps the table's statistics (they change when ANALYZE runs).
STATISTICS_SECONDS = 600.0
# {database alias: (when to read again, {code: estimated rows}, rows of a code not listed, or
# None before the table was first analyzed, the table's rows)}
_statistics: dict[str, tuple[float, dict[str, float], float | None, float]] = {}


def read_by_id_max_rows(table_rows: float) -> float:
    """Return up to how many matching rows (estimated) a nationality filter reads its cases
    by id, for a table of ``table_rows`` (:data:`READ_BY_ID_FACTOR`)."""
    return max(READ_BY_ID_MIN_ROWS, math.sqrt(READ_BY_ID_FACTOR * max(table_rows, 0)))


_STATISTICS_SQL = """
    SELECT c.reltuples, s.most_common_vals::text::text[], s.most_common_freqs
    FROM pg_class c
    LEFT JOIN pg_stats s
        ON s.schemaname = current_schema() AND s.tablename = c.relname AND s.attname = 'code'
    WHERE c.relname = %s AND c.relnamespace = current_schema()::regnamespace
"""


def _estimated_rows(alias: str, codes) -> float | None:
    """Return how many rows of ``cases_casenationality`` hold one of ``codes``, as the
    planner's statistics estimate it; None before the table was first analyzed.

    A code outside the most common values is taken to be as frequent as the least common
    of them (at most that, by what the list is).
    """
    now = monotonic()
    known = _statistics.get(alias)
    if known is None or known[0] <= now:
        with connections[alias].cursor() as cursor:
            cursor.execute(_STATISTICS_SQL, [CASE_NATIONALITY_TABLE])
            row = cursor.fetchone()
        row = row or (-1, None, None)
        estimates = estimates_from_statistics(*row)
        known = (now + STATISTICS_SECONDS, *(estimates or ({}, None)), max(row[0] or 0, 0))
        _statistics[alias] = known
    _expires, by_code, other_rows, _table_rows = known
    if other_rows is None:
        return None  # Not analyzed yet: read again after STATISTICS_SECONDS.
    return sum(by_code.get(code, other_rows) for code in set(codes))


def estimates_from_statistics(
    rows: float | None, values: list[str] | None, frequencies: list[float] | None
) -> tuple[dict[str, float], float] | None:
    """Return ``({code: estimated rows}, rows of a code not listed)`` from the table's
    statistics (its rows, its most common codes and their shares); None when the table was
    never analyzed (``reltuples`` is -1 then)."""
    if rows is None or rows <= 0:
        return None
    common = dict(zip(values or (), frequencies or (), strict=True))
    other = min(common.values()) if common else 1.0
    return {code: share * rows for code, share in common.items()}, other * rows


class _CaseIdAmongNationalityRows(Func):
    """True when the case's id is among those ``cases_casenationality`` holds for ``codes``:
    ``id = ANY(ARRAY(SELECT case_id ...))``, read once, then the cases by their key."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, codes):
        self.codes = sorted(set(codes))
        super().__init__(F("id"))

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        table = CASE_NATIONALITY_TABLE
        return (
            f"{column} = ANY(ARRAY(SELECT case_id FROM {table} WHERE code = ANY(%s)))",
            [*params, self.codes],
        )


class _ReferenceNotBeforeFirstOfCodes(Func):
    """True when the case's reference is not before the first reference
    ``cases_casenationality`` holds for one of ``codes``: true of every case that holds one.

    Said to the planner, it lets the page's walk in reference order start at the first
    match (one step into the table's key per code) instead of at the first case: a
    nationality that arrived late (one exchange, one front) is otherwise found only after
    every case before it. ``LEAST`` leaves out the codes nobody holds; when none is held the
    condition is null and no case is a match, as none is.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, codes):
        self.codes = sorted(set(codes))
        super().__init__(F("reference"))

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        table = CASE_NATIONALITY_TABLE
        firsts = ", ".join(
            f"(SELECT min(reference) FROM {table} WHERE code = %s)" for _code in self.codes
        )
        return f"{column} >= LEAST({firsts})", [*params, *self.codes]


def _cases_of_nationalities(queryset: QuerySet, codes: list[str]) -> QuerySet:
    """Return the cases of ``queryset`` whose person holds any of ``codes`` (PostgreSQL).

    The cases are those with a row in ``cases_casenationality`` (one per case and code, kept
    by triggers) for one of the codes; neither the persons nor their codes are read. How
    they are read follows how many there are (:func:`_estimated_rows`): a few (at most
    :func:`read_by_id_max_rows`) are read by id and sorted, whatever their place in the
    reference order; many are a semi-join on the table's ``case_id`` index, so the page
    walks the cases in their own order and stops after 50 matches (the planner would walk
    for a few too, expecting them spread evenly; they seldom are). The walk starts at the
    first match's reference (:class:`_ReferenceNotBeforeFirstOfCodes`), not at the first
    case. Subqueries rather than a
    join in ``extra()``: the queryset is nested in other queries (the pages' charts, webhook
    subscriptions' case filters), where Django renames the case table and a hand-written
    join would name a table that is not there. (The table is outside the model state;
    SQLite has none.)
    """
    estimated = _estimated_rows(queryset.db, codes)
    known = _statistics.get(queryset.db)
    table_rows = known[3] if known else 0
    if estimated is not None and estimated <= read_by_id_max_rows(table_rows):
        return queryset.filter(_CaseIdAmongNationalityRows(codes))
    table = CASE_NATIONALITY_TABLE
    if len(codes) == 1:
        cases = RawSQL(f"SELECT case_id FROM {table} WHERE code = %s", (codes[0],))
    else:
        cases = RawSQL(f"SELECT case_id FROM {table} WHERE code = ANY(%s)", (list(codes),))
    return queryset.filter(_ReferenceNotBeforeFirstOfCodes(codes), id__in=cases)


#: The deadlines' names as the filter offers them.
OVERDUE_LABELS = {"capture_card": _("capture card"), "notification": _("notification")}


class CaseFilterSet(ArchivedFilterSet):
    """Filters for cases: status, custody, nationality, intention, requests, dates, names."""

    q = django_filters.CharFilter(
        method="filter_q",
        label=_("Search"),
        help_text=_("A name in any script or romanisation (Ri, Lee, Yi, 리), or a reference."),
    )
    status = ChoiceListFilter(choices=choices.CaseStatus.choices)
    released_to = CountryFilter(help_text=_("Country he was released to (ISO 3166-1 code)."))
    legal_status = ChoiceListFilter(choices=choices.LegalStatus.choices)
    detaining_party = PublicIdFilter(
        queryset=Party.objects.all(), help_text=_("Detaining party's id; several allowed.")
    )
    nationality = CountryFilter(
        method="filter_nationality",
        help_text=_("ISO 3166-1 alpha-2 code of one of the person's nationalities."),
    )
    current_intention = ChoiceListFilter(
        field_name="current_intention_option", choices=choices.IntentionOption.choices
    )
    intention_verified = BooleanFilter(
        field_name="current_intention_verified",
        help_text=_("Whether the current intention is verified or reconfirmed."),
    )
    destination_country = CountryFilter(
        field_name="current_intention_destination",
        help_text=_("Destination of the current intention (ISO 3166-1 alpha-2)."),
    )
    request_kind = ChoiceListFilter(
        choices=choices.RequestKind.choices,
        method="filter_noop",
        help_text=_("Cases with a request of this kind (and of request_status, when given)."),
    )
    request_status = ChoiceListFilter(
        choices=choices.RequestStatus.choices,
        method="filter_noop",
        help_text=_("Cases with a request in this status (and of request_kind, when given)."),
    )
    captured_after = _date("capture_date", "gte")
    captured_before = _date("capture_date", "lte")
    current_place = PublicIdFilter(
        queryset=Place.objects.all(),
        help_text=_("Id of the place where he is held now (after his newest movement)."),
    )
    overdue = ChoiceListFilter(
        choices=[
            (name, OVERDUE_LABELS.get(name, name.replace("_", " "))) for name in clocks.OVERDUE
        ],
        method="filter_overdue",
        help_text=_(
            "Cases that have missed this deadline today (capture_card: GC III Art. 70; "
            "notification: Art. 122-123; task: an open task past its due day); several: any "
            "of them."
        ),
    )
    capture_card_due_after = _date("capture_card_due_on", "gte")
    capture_card_due_before = _date("capture_card_due_on", "lte")
    updated_after = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gte",
        error_messages={
            "invalid": _("Enter a date and time in ISO 8601, e.g. 2025-03-01T12:00:00Z.")
        },
    )
    ordering = _ordering("reference", "capture_date", "updated_at", "status")

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the reference, the working name or a name variant the user may see.

        Without ``cases.view_sensitive`` (or without a request) only pseudonymous variants
        are searched: a user who may not see a true name cannot find a case by it either.
        """
        value = value.strip()
        if not value:
            return queryset
        condition = _text_match("reference", value, short="prefix")
        persons = matching_person_ids(value, _user(self.request))
        if persons is not None:
            condition |= Q(InSubquery("person_id", persons))
        return queryset.filter(condition)

    def filter_nationality(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        """Match cases whose person holds any of the nationalities.

        Nationalities are stored as comma-separated two-letter codes, so a substring match
        on one code is exact.
        """
        if not value:
            return queryset
        if connections[queryset.db].vendor == "postgresql":
            return _cases_of_nationalities(queryset, value)
        # The persons first, then their cases by ``person_id``: a join would let the planner
        # walk every case in reference order looking for the few of one nationality.
        persons = Person.objects.filter(HoldsAnyCode("nationalities", value)).values("pk")
        return queryset.filter(InSubquery("person_id", persons))

    def filter_overdue(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        """Match cases that have missed any of the named deadlines (``cases.clocks``)."""
        if not value:
            return queryset
        today = clocks.today()
        condition = Q()
        for deadline in value:
            condition |= clocks.OVERDUE[deadline](today)
        return queryset.filter(condition)

    def filter_noop(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Leave the queryset alone; ``filter_queryset`` applies the request filters together."""
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Apply the filters, then the request kind and status as one condition on one request."""
        queryset = super().filter_queryset(queryset)
        kinds = self.form.cleaned_data.get("request_kind")
        statuses = self.form.cleaned_data.get("request_status")
        if kinds or statuses:
            requests = Request.objects.filter(case=OuterRef("pk"))
            if kinds:
                requests = requests.filter(kind__in=kinds)
            if statuses:
                requests = requests.filter(status__in=statuses)
            queryset = queryset.filter(Exists(requests))
        return queryset


class PersonFilterSet(ArchivedFilterSet):
    """Filters for persons: names in any script, nationality."""

    q = django_filters.CharFilter(
        method="filter_q", label="Search", help_text="A name in any script or romanisation."
    )
    nationality = CountryFilter(
        method="filter_nationality",
        help_text="ISO 3166-1 alpha-2 code of one of the person's nationalities.",
    )
    internment_number = django_filters.CharFilter(
        field_name="internment_number",
        help_text="The detaining power's internment serial number, exactly.",
    )
    serving_under = PublicIdFilter(
        queryset=Party.objects.all(),
        help_text="Id of the party under whose command he served; several allowed.",
    )
    ordering = _ordering("working_name", "updated_at")

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Leave merged persons (tombstones) out of lists; read by id, one redirects."""
        queryset = super().filter_queryset(queryset)
        if self._reads_one_row():
            return queryset
        return queryset.filter(merged_into__isnull=True)

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the working name or a name variant the user may see (see CaseFilterSet)."""
        value = value.strip()
        if not value:
            return queryset
        persons = matching_person_ids(value, _user(self.request))
        if persons is None:
            return queryset.none()
        return queryset.filter(InSubquery("pk", persons))

    def filter_nationality(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        """Match persons holding any of the nationalities."""
        if not value:
            return queryset
        return queryset.filter(HoldsAnyCode("nationalities", value))


class PartyFilterSet(django_filters.FilterSet):
    """Filters for parties: kind, country, name."""

    q = django_filters.CharFilter(
        method="filter_q", label="Search", help_text="Part of the name or short name."
    )
    kind = ChoiceListFilter(choices=choices.PartyKind.choices)
    country = CountryFilter(help_text="ISO 3166-1 alpha-2 code.")
    ordering = _ordering("name", "kind", "country")

    class Meta:
        model = Party
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the name or the short name."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(short_name__icontains=value))


class SourceFilterSet(django_filters.FilterSet):
    """Filters for sources: text, publication date."""

    q = django_filters.CharFilter(
        method="filter_q", label="Search", help_text="Part of the title or publisher."
    )
    reliability = ChoiceListFilter(choices=choices.Reliability.choices)
    published_after = _date("published_on", "gte")
    published_before = _date("published_on", "lte")
    ordering = _ordering("published_on", "title")

    class Meta:
        model = Source
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Match the title or the publisher."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(publisher__icontains=value))


class IntentionFilterSet(ArchivedFilterSet):
    """Filters for stated intentions: case, option, verification, state, date."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    option = ChoiceListFilter(choices=choices.IntentionOption.choices)
    verification = ChoiceListFilter(choices=choices.Verification.choices)
    state = ChoiceListFilter(choices=choices.IntentionState.choices)
    destination_country = CountryFilter(help_text="ISO 3166-1 alpha-2 code.")
    stated_after = _date("stated_on", "gte")
    stated_before = _date("stated_on", "lte")
    ordering = _ordering("stated_on", "recorded_at")

    class Meta:
        model = StatedIntention
        fields: list[str] = []


class RiskAssessmentFilterSet(django_filters.FilterSet):
    """Filters for risk assessments: case, level, destination, date."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    level = ChoiceListFilter(choices=choices.RiskLevel.choices)
    destination_country = CountryFilter(help_text="ISO 3166-1 alpha-2 code; empty: own state.")
    assessed_after = _date("assessed_on", "gte")
    assessed_before = _date("assessed_on", "lte")
    ordering = _ordering("assessed_on", "recorded_at")

    class Meta:
        model = RiskAssessment
        fields: list[str] = []


class RequestFilterSet(ArchivedFilterSet):
    """Filters for requests: case, kind, status, filing date, destination."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    kind = ChoiceListFilter(choices=choices.RequestKind.choices)
    status = ChoiceListFilter(choices=choices.RequestStatus.choices)
    addressed_to = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Addressed party's id; several allowed."
    )
    destination_country = CountryFilter(help_text="ISO 3166-1 alpha-2 code.")
    filed_after = _date("filed_on", "gte")
    filed_before = _date("filed_on", "lte")
    ordering = _ordering("filed_on", "updated_at", "status")

    class Meta:
        model = Request
        fields: list[str] = []


class PositionFilterSet(django_filters.FilterSet):
    """Filters for parties' positions: request, case, party, stance, date."""

    request = PublicIdFilter(
        queryset=Request.objects.all(), help_text="Request id; several allowed."
    )
    case = PublicIdFilter(
        field_name="request__case",
        queryset=Case.objects.all(),
        help_text="Case id; several allowed.",
    )
    party = PublicIdFilter(queryset=Party.objects.all(), help_text="Party id; several allowed.")
    stance = ChoiceListFilter(choices=choices.Stance.choices)
    stated_after = _date("stated_on", "gte")
    stated_before = _date("stated_on", "lte")
    ordering = _ordering("stated_on", "recorded_at")

    class Meta:
        model = Position
        fields: list[str] = []


class OccurrenceFilterSet(django_filters.FilterSet):
    """Filters for occurrences: case, kind, date."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    kind = ChoiceListFilter(choices=choices.OccurrenceKind.choices)
    occurred_after = _date("occurred_on", "gte")
    occurred_before = _date("occurred_on", "lte")
    ordering = _ordering("occurred_on", "recorded_at")

    class Meta:
        model = Occurrence
        fields: list[str] = []


class NoteFilterSet(django_filters.FilterSet):
    """Filters for case notes: case and when they were written (never their text)."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lte")
    ordering = _ordering("created_at")

    class Meta:
        model = Note
        fields: list[str] = []


class NotificationFilterSet(django_filters.FilterSet):
    """Filters for notifications (GC III Art. 122-123): case, state, reason, recipient, overdue."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    state = ChoiceListFilter(choices=NotificationState.choices)
    reason = ChoiceListFilter(choices=NotificationReason.choices)
    recipient = PublicIdFilter(
        queryset=Party.objects.all(), help_text="Recipient party's id; several allowed."
    )
    channel = ChoiceListFilter(choices=NotificationChannel.choices)
    overdue = BooleanFilter(
        method="filter_overdue",
        help_text="true: pending past the due day (today); false: all others.",
    )
    due_after = _date("due_on", "gte")
    due_before = _date("due_on", "lte")
    ordering = _ordering("due_on", "occurred_on", "updated_at")

    class Meta:
        model = Notification
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.BOOL)
    def filter_overdue(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """Match notifications pending past their due day as of today (or all the others)."""
        if value is None:
            return queryset
        late = Q(state=NotificationState.PENDING, due_on__lt=clocks.today())
        return queryset.filter(late if value else ~late)
