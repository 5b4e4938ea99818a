"""``/api/v1/imports/`` and ``/api/v1/import-mappings/``: upload, dry run, commit, report.

Every door needs ``cases.import_lists`` (case officers hold it; analysts and integrations do
not, whatever else they may write). The upload takes a multipart form (``file``) or a JSON
body with the file in base64; every other write takes JSON. A file that cannot be read is a
400 naming why, never a 500; the report lists each row by its line.
"""

from __future__ import annotations

import base64
import binascii
import json

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, parsers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.api.idempotency import IdempotentWritesMixin
from cases.api.mixins import actor_for
from cases.api.parsers import JSONParser
from cases.api.schema import ERRORS, NOT_FOUND, READ_ERRORS
from cases.api.serializers import RowSerializer
from cases.api.views import PageNumberPages
from cases.duplicates import detection
from cases.imports import parsing, planning, services
from cases.imports.models import ImportMapping, ImportRun, ListKind
from cases.models import Person, PersonName
from cases.security import access, sensitive
from cases.security.policy import policy_for

PERMISSION = f"cases.{access.IMPORT_PERMISSION}"

# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------

#: Values of a report row that are sensitive (a person's sensitive fields, his true names).
SENSITIVE_VALUES = frozenset({*sensitive.SENSITIVE_FIELDS["person"], *parsing.NAME_FIELDS, "names"})


def redacted_report(report: dict, user) -> tuple[dict, list[str]]:
    """Return ``report`` as ``user`` may read it, and the sensitive fields it shows him.

    A reader without sensitive access gets those values as null, and the likely duplicates
    as he may be told of them (``_duplicates_told``).
    """
    if not report:
        return report, []
    shown: set[str] = set()
    sees = policy_for(user).sees_sensitive
    persons = {} if sees else _named_duplicates(report)
    rows = []
    for row in report.get("rows", []):
        row = dict(row)
        for key in ("values", "changes"):
            part = dict(row.get(key) or {})
            for name in part.keys() & SENSITIVE_VALUES:
                if sees:
                    shown.add(name)
                else:
                    part[name] = None
            row[key] = part
        if not sees:
            row["duplicates"] = _duplicates_told(row, persons)
        rows.append(row)
    return {**report, "rows": rows}, sorted(shown)


def log_report_read(*, user, channel: str, run, report: dict, shown, path: str, token_label=""):
    """Log a read of ``run``'s report that showed sensitive values: against the import, and
    against each person a row matched or created, with the fields his row showed."""
    if not shown:
        return
    fields = {run.uuid: list(shown)}
    objects: list = [run]
    for row in report.get("rows", []):
        person = row.get("person")
        names = sorted(
            {
                name
                for key in ("values", "changes")
                for name in (row.get(key) or {}).keys() & SENSITIVE_VALUES
            }
        )
        if person and names and person["uuid"] not in fields:
            objects.append(("person", person["uuid"]))
            fields[person["uuid"]] = names
    access.log_access(
        user=user,
        channel=channel,
        objects=objects,
        fields=fields,
        path=path,
        token_label=token_label,
    )


def _named_duplicates(report: dict) -> dict[str, Person]:
    """Return the persons the report offers for a name, with only their pseudonyms read."""
    uuids = {
        duplicate["person"]["uuid"]
        for row in report.get("rows", [])
        for duplicate in row.get("duplicates", [])
        if any(r["code"] == "name" for r in duplicate["reasons"])
    }
    if not uuids:
        return {}
    pseudonyms = Prefetch("names", queryset=PersonName.objects.filter(is_pseudonym=True))
    persons = Person.objects.filter(uuid__in=uuids).prefetch_related(pseudonyms)
    return {str(p.uuid): p for p in persons}


def _name_told(row: dict, person: Person | None) -> dict | None:
    """Return the name reason a reader without sensitive access may be told of, or None.

    The dry run compared every spelling it had: the row's name columns and the person's true
    names, which this reader may not read. Compared again on what he may read (the row's
    working name, the person's working name and pseudonyms), a match that rested on a
    hidden name is not told.
    """
    if person is None:
        return None
    candidate = detection.Candidate(working_name=str(row.get("working_name") or ""))
    keys = detection.spelling_keys(candidate.spellings())
    context = detection.Context(candidate=candidate, sees_sensitive=False, keys=keys)
    found = detection.same_name(context, person)
    return None if found is None else {**found.as_dict(), "detail": None}


def _duplicates_told(row: dict, persons: dict[str, Person]) -> list[dict]:
    """Return the likely duplicates of ``row`` as a reader without sensitive access may be
    told of them: without the reasons that rest on a sensitive value (that a withheld service
    number equals someone's is itself that value; a name reason is compared again on the
    names he may read), scored on what is left, and without the sentences (they quote the
    names compared); a duplicate that no longer reaches the threshold is left out."""
    hidden = {r.code for r in detection.REASONS if r.sensitive}
    told = []
    for duplicate in row.get("duplicates", []):
        reasons = []
        for r in duplicate["reasons"]:
            if r["code"] == "name":
                r = _name_told(row, persons.get(str(duplicate["person"]["uuid"])))
            elif r["code"] not in hidden:
                r = {**r, "detail": None}
            else:
                r = None
            if r is not None:
                reasons.append(r)
        score = max(0.0, min(1.0, sum(r["weight"] for r in reasons)))
        if score >= detection.THRESHOLD and any(r["weight"] > 0 for r in reasons):
            told.append({**duplicate, "score": round(score, 2), "reasons": reasons})
    return told


class ReportPersonSerializer(serializers.Serializer):
    """A person a row names: his id and working name."""

    uuid = serializers.UUIDField()
    working_name = serializers.CharField()


class ReportReasonSerializer(serializers.Serializer):
    """Why a row matches a person: a code, its weight and a sentence."""

    code = serializers.CharField()
    weight = serializers.FloatField()
    detail = serializers.CharField(allow_null=True)


class ReportDuplicateSerializer(serializers.Serializer):
    """A likely duplicate offered for a created or renamed person."""

    person = ReportPersonSerializer()
    score = serializers.FloatField(min_value=0, max_value=1)
    imported = serializers.BooleanField(
        required=False, help_text="Created by an earlier import: a create is held for it."
    )
    reasons = ReportReasonSerializer(many=True)


#: A value of a row as read (``planning._plain``): text (dates and countries as their ISO
#: text), a number, yes/no, nothing, or a list of those (several names or nationalities).
_READ_SCALAR = {"type": ["string", "number", "boolean", "null"]}
READ_VALUE = {"type": ["string", "number", "boolean", "null", "array"], "items": _READ_SCALAR}


@extend_schema_field(READ_VALUE)
class ReadValueField(serializers.JSONField):
    """A row's value as read (:data:`READ_VALUE`)."""


@extend_schema_field({"type": "array", "items": READ_VALUE, "minItems": 2, "maxItems": 2})
class ChangePairField(serializers.JSONField):
    """A field's change for a match, as [old, new] (each a :data:`READ_VALUE`)."""


class ReportRowSerializer(serializers.Serializer):
    """One row of the file: its line, outcome, message, values and what it matched."""

    line = serializers.IntegerField(help_text="The line in the file (the sheet's row number).")
    outcome = serializers.ChoiceField(choices=planning.OUTCOMES)
    message = serializers.CharField()
    working_name = serializers.CharField(allow_blank=True)
    values = serializers.DictField(
        # Null is one of the value's types: allow_null would declare it as oneOf [value,
        # null], which a null matches twice.
        child=ReadValueField(),
        help_text="The row's values by field, as read; sensitive ones null unless shown.",
    )
    person = ReportPersonSerializer(allow_null=True, help_text="The person matched or created.")
    version = serializers.IntegerField(
        allow_null=True,
        required=False,
        help_text="A match's person version at the dry run: the commit makes the row a "
        "conflict if he changed since.",
    )
    reasons = ReportReasonSerializer(many=True)
    changes = serializers.DictField(
        child=ChangePairField(),
        help_text="Field -> [old, new] for a match; sensitive ones null unless shown.",
    )
    duplicates = ReportDuplicateSerializer(many=True)
    committed = serializers.ChoiceField(
        choices=planning.COMMITTED,
        required=False,
        help_text="What the commit did with the row (committed reports only).",
    )


class ReportCountsSerializer(serializers.Serializer):
    """Rows by outcome."""

    create = serializers.IntegerField()
    match = serializers.IntegerField()
    conflict = serializers.IntegerField()
    error = serializers.IntegerField()
    unchanged = serializers.IntegerField(help_text="Matches that change nothing.")
    blank = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="Data rows, blank lines included.")


class CommittedCountsSerializer(serializers.Serializer):
    """What the commit did, row by row."""

    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()


class ReportFileSerializer(serializers.Serializer):
    """The file a report is about."""

    name = serializers.CharField()
    sha256 = serializers.CharField()


class ReportSerializer(serializers.Serializer):
    """A dry run's or a commit's report."""

    file = ReportFileSerializer()
    counts = ReportCountsSerializer()
    blank_lines = serializers.ListField(child=serializers.IntegerField())
    already_committed = serializers.UUIDField(
        allow_null=True, help_text="The committed import of the same file, if any."
    )
    rows = ReportRowSerializer(many=True)
    committed = CommittedCountsSerializer(required=False)


# --------------------------------------------------------------------------------------------
# Runs and mappings
# --------------------------------------------------------------------------------------------


class ImportMappingSerializer(RowSerializer):
    """A saved mapping of column headers to import fields."""

    columns = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        help_text='Column header -> field (or "" to ignore the column).',
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImportMapping
        fields = ["uuid", "name", "kind", "columns", "created_by", "created_at"]
        read_only_fields = ["uuid", "created_by", "created_at"]


class ImportRunSerializer(RowSerializer):
    """An import run without its report (the list's rows)."""

    mapping = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    source = serializers.SlugRelatedField(slug_field="uuid", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    committed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    columns = serializers.DictField(child=serializers.CharField(allow_blank=True))

    class Meta:
        model = ImportRun
        fields = [
            "uuid",
            "file_name",
            "sha256",
            "kind",
            "mapping",
            "columns",
            "status",
            "source",
            "created_by",
            "created_at",
            "dry_run_at",
            "committed_at",
            "committed_by",
        ]
        read_only_fields = fields


class ImportRunDetailSerializer(ImportRunSerializer):
    """An import run with its report (null before the dry run)."""

    report = serializers.SerializerMethodField()

    class Meta(ImportRunSerializer.Meta):
        fields = [*ImportRunSerializer.Meta.fields, "report"]
        read_only_fields = fields

    @extend_schema_field(ReportSerializer(allow_null=True))
    def get_report(self, run) -> dict | None:
        """Return the report as the reader may read it."""
        if not run.report:
            return None
        return self.context["reports"][run.pk]


class UploadSerializer(serializers.Serializer):
    """An upload: the file (multipart ``file``, or ``file_name`` and ``content_base64`` in
    JSON), the kind of list, and a saved ``mapping`` or the ``columns`` themselves."""

    file = serializers.FileField(required=False, help_text="The CSV or XLSX file (multipart).")
    file_name = serializers.CharField(required=False, max_length=255)
    content_base64 = serializers.CharField(required=False, help_text="The file, base64 (JSON).")
    kind = serializers.ChoiceField(choices=ListKind.choices, required=False)
    mapping = serializers.SlugRelatedField(
        slug_field="uuid", queryset=ImportMapping.objects.all(), required=False
    )
    columns = serializers.JSONField(
        required=False,
        help_text="Column header -> field, as an object (JSON) or its JSON text (multipart).",
    )

    def validate_columns(self, value):
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError(_("Give the columns as a JSON object.")) from None
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError(_('Give the columns as {"header": "field"}.'))
        return value

    def validate(self, attrs):
        upload = attrs.get("file")
        if upload is not None:
            if upload.size > parsing.MAX_BYTES:
                raise serializers.ValidationError(
                    {
                        "file": _("The largest file taken is %(megabytes)s MB.")
                        % {"megabytes": parsing.MAX_BYTES // 1048576}
                    }
                )
            attrs["content"] = upload.read()
            attrs.setdefault("file_name", upload.name)
        elif "content_base64" in attrs:
            try:
                attrs["content"] = base64.b64decode(attrs["content_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise serializers.ValidationError(
                    {"content_base64": _("This is not base64.")}
                ) from None
            if not attrs.get("file_name"):
                raise serializers.ValidationError(
                    {"file_name": _("Name the file (its extension).")}
                )
        else:
            raise serializers.ValidationError({"file": _("Send the file.")})
        return attrs


class UploadFileSerializer(serializers.Serializer):
    """An upload as multipart: the CSV or XLSX file, with the list's kind and a saved
    ``mapping`` or the ``columns`` as form fields."""

    file = serializers.FileField(help_text="The CSV or XLSX file.")
    kind = serializers.ChoiceField(choices=ListKind.choices, required=False)
    mapping = serializers.UUIDField(required=False, help_text="A saved mapping's uuid.")
    columns = serializers.CharField(
        required=False, help_text='Column header -> field, as JSON text: {"header": "field"}.'
    )


class UploadJsonSerializer(serializers.Serializer):
    """An upload as JSON: the file's name and its content in base64, with the list's kind
    and a saved ``mapping`` or the ``columns``."""

    file_name = serializers.CharField(max_length=255, help_text="The file's name (its extension).")
    content_base64 = serializers.CharField(help_text="The file, base64.")
    kind = serializers.ChoiceField(choices=ListKind.choices, required=False)
    mapping = serializers.UUIDField(required=False, help_text="A saved mapping's uuid.")
    columns = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='Column header -> field (or "" to ignore the column).',
    )


class CommitSerializer(serializers.Serializer):
    """What a commit takes."""

    skip_rejected = serializers.BooleanField(
        default=False,
        help_text="Leave out the rows in conflict or in error (listed as skipped) instead of "
        "refusing the commit.",
    )
    confirm = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        help_text="Lines to create although a strong likely duplicate was offered (the "
        "officer checked they are other persons).",
    )


class _Empty(serializers.Serializer):
    """No fields: the dry run takes an empty object."""


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


class ImportViewSet(
    IdempotentWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """What both import resources share: ``cases.import_lists`` for reads and writes, rows
    named by uuid, page numbers, reads and posts only."""

    read_permission = PERMISSION
    write_permission = PERMISSION
    http_method_names = ["get", "post", "head", "options"]
    lookup_field = "uuid"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    pagination_class = PageNumberPages
    filter_backends = []


@extend_schema_view(
    list=extend_schema(
        summary="List saved column mappings",
        responses={200: ImportMappingSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read a saved column mapping",
        responses={200: ImportMappingSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
    create=extend_schema(
        summary="Save a column mapping",
        request=ImportMappingSerializer,
        responses={201: ImportMappingSerializer, **ERRORS},
    ),
)
class ImportMappingViewSet(ImportViewSet):
    """Saved column mappings: a list's headers mapped to import fields once, used again."""

    queryset = ImportMapping.objects.select_related("created_by").order_by("name", "id")
    serializer_class = ImportMappingSerializer

    def create(self, request, *args, **kwargs):
        """Save a mapping; unknown fields and a name in use are refused."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        mapping = services.import_mapping_create(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(mapping).data, status=status.HTTP_201_CREATED)


_RUN_ERRORS = {
    **ERRORS,
    **NOT_FOUND,
}


@extend_schema_view(
    list=extend_schema(
        summary="List imports",
        responses={200: ImportRunSerializer(many=True), **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="Read an import and its report",
        responses={200: ImportRunDetailSerializer, **READ_ERRORS, **NOT_FOUND},
    ),
)
class ImportRunViewSet(ImportViewSet):
    """Imports of lists: upload, dry run, commit; each keeps its report (docs/imports.md)."""

    queryset = ImportRun.objects.select_related(
        "mapping", "source", "created_by", "committed_by"
    ).defer("content")
    serializer_class = ImportRunSerializer
    # The upload alone takes a form: the file as multipart, or JSON with it in base64.
    parser_classes = [JSONParser, parsers.MultiPartParser]

    def get_queryset(self):
        queryset = super().get_queryset().order_by("-created_at", "-id")
        if self.action == "list":
            # The list shows no report: a 5,000-row report is read only when asked for.
            queryset = queryset.defer("content", "report")
        return queryset

    def _detail(self, run, code=status.HTTP_200_OK) -> Response:
        report, shown = redacted_report(run.report, self.request.user)
        log_report_read(
            user=self.request.user,
            channel=access.API,
            run=run,
            report=report,
            shown=shown,
            path=self.request.path,
            token_label=getattr(self.request.auth, "actor_label", ""),
        )
        context = {**self.get_serializer_context(), "reports": {run.pk: report}}
        return Response(ImportRunDetailSerializer(run, context=context).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        """Return the import with its report, as the reader may read it."""
        return self._detail(self.get_object())

    @extend_schema(
        summary="Upload a list",
        description="Send the CSV or XLSX file as multipart (`file`, with `kind`, `mapping` "
        "or `columns` as form fields; `columns` as JSON text) or as JSON with "
        "`file_name` and `content_base64`. A file that cannot be read, or whose columns the "
        "mapping does not cover, is a 400 saying why; nothing is stored then.",
        # One component per media type: a generated client tells the two bodies apart by
        # their type, and sends each with its own encoding.
        request={
            "multipart/form-data": UploadFileSerializer,
            "application/json": UploadJsonSerializer,
        },
        responses={201: ImportRunDetailSerializer, **ERRORS},
    )
    def create(self, request, *args, **kwargs):
        """Store an uploaded list (it is read once to check it)."""
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        run = services.import_upload(
            user=request.user,
            file_name=data["file_name"],
            content=data["content"],
            kind=data.get("kind"),
            mapping=data.get("mapping"),
            columns=data.get("columns"),
        )
        return self._detail(run, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Dry-run an import",
        description="Work out what each row would do (create, match, conflict, error) and "
        "keep it as the import's report. No case data is written.",
        request=_Empty,
        responses={200: ImportRunDetailSerializer, **_RUN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="dry-run", parser_classes=[JSONParser])
    def dry_run(self, request, *args, **kwargs):
        """Run the dry run and answer the import with its report."""
        run = ImportRun.objects.get(pk=self.get_object().pk)
        return self._detail(services.import_dry_run(user=request.user, run=run))

    @extend_schema(
        summary="Commit an import",
        description="Apply the dry run's rows through the services in one transaction: "
        "every change lands on the timeline citing the file as its source. Rows in "
        "conflict or in error refuse the commit (400, with their lines) unless "
        "`skip_rejected` is true. A committed import, or a file committed already, is a "
        "400.",
        request=CommitSerializer,
        responses={200: ImportRunDetailSerializer, **_RUN_ERRORS},
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def commit(self, request, *args, **kwargs):
        """Commit the import and answer it with its committed report."""
        serializer = CommitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.import_commit(
            actor=actor_for(request),
            run=self.get_object(),
            skip_rejected=serializer.validated_data["skip_rejected"],
            confirm=serializer.validated_data["confirm"],
        )
        return self._detail(run)
