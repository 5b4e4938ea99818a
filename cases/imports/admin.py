"""Imports in the admin: upload a list with a mapping (saved for next time if named), read the
dry run's report as a table, commit it; the report stays readable after the commit.

Every door needs ``cases.import_lists`` (case officers). Every write calls the services in
``cases.imports.services``; nothing can be deleted here.
"""

from __future__ import annotations

import json
import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from cases.admin.mixins import DeclaredLookupsMixin, admin_actor
from cases.imports import parsing, services
from cases.imports.api import PERMISSION, log_report_read, redacted_report
from cases.imports.models import ImportMapping, ImportRun, ImportStatus, ListKind
from cases.security import access
from cases.security.policy import policy_for

#: Rows shown on the page; the API serves the whole report.
SHOWN_ROWS = 1000
_ORDER = {"error": 0, "conflict": 1, "match": 2, "create": 3}


def _may_import(request) -> bool:
    return policy_for(request.user).may(PERMISSION)


def _errors(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return " ".join(" ".join(v) for v in error.message_dict.values())
    return " ".join(error.messages)


class ImportsOnlyAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """Officers who may import see, add and act; nobody deletes."""

    def has_module_permission(self, request):
        return _may_import(request)

    def has_view_permission(self, request, obj=None):
        return _may_import(request)

    def has_add_permission(self, request):
        return _may_import(request)

    def has_change_permission(self, request, obj=None):
        return _may_import(request)

    def has_delete_permission(self, request, obj=None):
        return False


def _lines(text: str) -> set[int]:
    """Return the line numbers typed in a box ("4, 7 9"); anything else is ignored."""
    return {int(part) for part in re.split(r"[\s,;]+", text) if part.isdigit()}


#: The mapping typed is not a JSON object of headers to fields.
_NOT_JSON = gettext_lazy('Type the mapping as JSON: {"header": "field"}.')


class ColumnsField(forms.CharField):
    """A mapping typed as JSON: ``{"column header": "field"}``."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            columns = json.loads(value)
        except ValueError:
            raise forms.ValidationError(_NOT_JSON) from None
        if not isinstance(columns, dict):
            raise forms.ValidationError(_NOT_JSON)
        try:
            parsing.check_columns(columns)
        except parsing.FileRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return columns


_FIELDS_HELP = format_lazy(
    gettext_lazy('Fields: {fields}. Map a column to "" to ignore it.'),
    fields=", ".join(parsing.FIELDS),
)


class ImportMappingForm(forms.ModelForm):
    """A mapping's name, kind of list and columns."""

    columns = ColumnsField(
        label=gettext_lazy("Columns"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_FIELDS_HELP,
    )

    class Meta:
        model = ImportMapping
        fields = ["name", "kind", "columns"]


@admin.register(ImportMapping)
class ImportMappingAdmin(ImportsOnlyAdmin):
    """Saved column mappings; a mapping is replaced by saving another, never edited."""

    form = ImportMappingForm
    list_display = ["name", "kind", "created_by", "created_at"]
    search_fields = ["name"]

    def get_readonly_fields(self, request, obj=None):
        return ["name", "kind", "columns", "created_by", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return
        saved = services.import_mapping_create(
            user=request.user,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            columns=form.cleaned_data["columns"] or {},
        )
        obj.pk = saved.pk


class UploadForm(forms.ModelForm):
    """The file, the kind of list, and a saved mapping or one typed here (saved if named)."""

    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8; commas or semicolons) or XLSX, up to 10 MB."),
    )
    columns = ColumnsField(
        label=gettext_lazy("Columns"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=format_lazy(
            "{} {}",
            gettext_lazy("Leave empty to use the saved mapping, or headers named as fields."),
            _FIELDS_HELP,
        ),
    )
    save_mapping_as = forms.CharField(
        label=gettext_lazy("Save mapping as"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Save the typed mapping under this name."),
    )

    class Meta:
        model = ImportRun
        fields = ["kind", "mapping"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        upload = data["file"]
        try:
            if data.get("save_mapping_as"):
                if not data.get("columns"):
                    raise ValidationError({"columns": gettext("Type the mapping to save.")})
                data["mapping"] = services.import_mapping_create(
                    user=self.user,
                    name=data["save_mapping_as"],
                    kind=data.get("kind") or ListKind.OTHER,
                    columns=data["columns"],
                )
            self.run = services.import_upload(
                user=self.user,
                file_name=upload.name,
                content=upload.read(),
                kind=data.get("kind"),
                mapping=data.get("mapping"),
                columns=data.get("columns"),
            )
            self.run = services.import_dry_run(user=self.user, run=self.run)
        except ValidationError as error:
            raise forms.ValidationError(_errors(error)) from None
        return data


@admin.register(ImportRun)
class ImportRunAdmin(ImportsOnlyAdmin):
    """Upload, dry run and commit; the report is a table on the import's page."""

    list_display = ["file_name", "kind", "status", "created_by", "created_at", "committed_at"]
    list_filter = ["status", "kind"]
    search_fields = ["file_name", "sha256"]
    change_form_template = "admin/cases/importrun/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by", "committed_by")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            form = UploadForm
            form.user = request.user
            return form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["file", "kind", "mapping", "columns", "save_mapping_as"]
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "file_name",
            "kind",
            "status",
            "mapping",
            "columns",
            "sha256",
            "source",
            "created_by",
            "created_at",
            "dry_run_at",
            "committed_by",
            "committed_at",
            "report_table",
        ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = form.run.pk  # stored by the upload service in the form's clean

    def save_related(self, request, form, formsets, change):
        """Nothing: the upload service stored the run."""

    def log_addition(self, request, obj, message):
        """Nothing: the run keeps who uploaded it and when."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """Run the dry run again or commit when a button asks for it; else show the page."""
        if request.method == "POST":
            run = self.get_object(request, object_id)
            if run is None or not self.has_change_permission(request, run):
                return super().change_view(request, object_id, form_url, extra_context)
            try:
                if "_dry_run" in request.POST:
                    services.import_dry_run(user=request.user, run=run)
                    messages.success(request, gettext("The dry run's report is below."))
                elif "_commit" in request.POST:
                    run = services.import_commit(
                        actor=admin_actor(request),
                        run=run,
                        skip_rejected=bool(request.POST.get("skip_rejected")),
                        confirm=_lines(request.POST.get("confirm", "")),
                    )
                    done = run.report["committed"]
                    messages.success(
                        request,
                        gettext(
                            "Committed: %(created)d created, %(updated)d updated, "
                            "%(unchanged)d unchanged, %(skipped)d skipped."
                        )
                        % done,
                    )
            except ValidationError as error:
                messages.error(request, _errors(error))
            return HttpResponseRedirect(request.path)
        extra = dict(extra_context or {})
        run = self.get_object(request, object_id)
        if run is not None:
            extra["may_commit"] = run.status == ImportStatus.DRY_RUN
            extra["may_dry_run"] = run.status in (ImportStatus.UPLOADED, ImportStatus.DRY_RUN)
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description=gettext_lazy("Report"))
    def report_table(self, run):
        """Return the report as a table, errors and conflicts first."""
        request = run._admin_request
        report, shown = redacted_report(run.report, request.user)
        if not report:
            return gettext("No dry run yet.")
        log_report_read(
            user=request.user,
            channel=access.ADMIN,
            run=run,
            report=report,
            shown=shown,
            path=request.path,
        )
        counts = report["counts"]
        summary = ", ".join(f"{counts[k]} {k}" for k in ("create", "match", "conflict", "error"))
        summary += f" ({counts['unchanged']} matches change nothing; {counts['blank']} blank)"
        rows = sorted(report["rows"], key=lambda r: (_ORDER[r["outcome"]], r["line"]))
        body = format_html_join(
            "",
            "<tr class='import-{}'><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    row["outcome"],
                    row["line"],
                    row["outcome"],
                    row.get("committed", ""),
                    row["message"],
                    "; ".join(
                        f"{d['person']['working_name']} ({d['score']:.2f}: "
                        + ", ".join(r["detail"] or r["code"] for r in d["reasons"])
                        + ")"
                        for d in row["duplicates"]
                    ),
                )
                for row in rows[:SHOWN_ROWS]
            ),
        )
        more = (
            format_html(
                "<p>The first {} of {} rows; the API serves the whole report "
                "(<code>/api/v1/imports/{}/</code>).</p>",
                SHOWN_ROWS,
                len(rows),
                run.uuid,
            )
            if len(rows) > SHOWN_ROWS
            else ""
        )
        return format_html(
            "<p>{}</p>{}<table><thead><tr><th>Line</th><th>Outcome</th><th>Committed</th>"
            "<th>Message</th><th>Likely duplicates</th></tr></thead><tbody>{}</tbody></table>",
            summary,
            more,
            body,
        )

    def get_object(self, request, object_id, from_field=None):
        run = super().get_object(request, object_id, from_field)
        if run is not None:
            # The report is shown as this reader may read it (the admin is one instance).
            run._admin_request = request
        return run
