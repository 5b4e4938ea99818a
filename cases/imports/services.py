"""Writes of imports: save a mapping, upload a file, dry-run it, commit it.

The dry run writes only its own report on the run. The commit applies every row the dry
run would in **one transaction**, through the person and identity services, so each change
lands on the timeline with its event, citing a source that names the file, and each event's
reason names the file and line. A process killed half-way leaves nothing behind: the run is
still a dry run, and committing it again is a clean run. A file (by SHA-256) is committed
once: a database constraint refuses a second committed run of the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.identity import services as identity
from cases.identity.models import IdentifierScheme
from cases.imports import parsing, planning
from cases.imports.models import ImportMapping, ImportRun, ImportStatus, ListKind
from cases.imports.sink import ImportSink
from cases.services import Actor, NameSpec, person_create, person_update, source_create
from cases.timeline import vocabulary

#: New persons are inserted this many rows at a time.
FLUSH_EVERY = 500
#: A progress callback: rows applied so far, rows to apply.
Progress = Callable[[int, int], None]


def import_mapping_create(
    *, user, name: str, columns: Mapping[str, str], kind: str = ListKind.OTHER
) -> ImportMapping:
    """Save a column mapping under ``name``; refuse unknown fields or a name in use."""
    try:
        parsing.check_columns(columns)
    except parsing.FileRefused as exc:
        raise ValidationError({"columns": str(exc)}) from None
    mapping = ImportMapping(name=name, kind=kind, columns=dict(columns), created_by=user)
    mapping.full_clean()
    mapping.save()
    return mapping


def _read(run: ImportRun) -> tuple[list[parsing.Row], list[int]]:
    """Return the run's rows and its blank lines, or raise ``FileRefused``."""
    sheet = parsing.read_sheet(bytes(run.content), run.file_name)
    fields = parsing.resolve_columns(sheet.headers, run.columns or None)
    rows = list(parsing.read_rows(sheet, fields))
    return rows, [row.line for row in rows if row.blank]


def import_upload(
    *,
    user,
    file_name: str,
    content: bytes,
    kind: str | None = None,
    mapping: ImportMapping | None = None,
    columns: Mapping[str, str] | None = None,
) -> ImportRun:
    """Store an uploaded list once it reads (headers, mapping, size); refuse it otherwise.

    ``columns`` (or a saved ``mapping``) maps the file's headers to import fields; with
    neither, the headers must be field names. ``kind`` defaults to the mapping's.
    """
    if mapping is not None and columns is None:
        columns = mapping.columns
    run = ImportRun(
        file_name=(file_name or "upload")[:255],
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        kind=kind or (mapping.kind if mapping is not None else ListKind.OTHER),
        mapping=mapping,
        columns=dict(columns or {}),
        created_by=user,
    )
    try:
        _read(run)
    except parsing.FileRefused as exc:
        raise ValidationError({"file": str(exc)}) from None
    run.save()
    return run


def _committed_twin(run: ImportRun) -> ImportRun | None:
    return (
        ImportRun.objects.filter(sha256=run.sha256, status=ImportStatus.COMMITTED)
        .exclude(pk=run.pk)
        .first()
    )


def _report(run: ImportRun, planned_rows, blank_lines, **extra) -> dict[str, Any]:
    twin = _committed_twin(run)
    return {
        "file": {"name": run.file_name, "sha256": run.sha256},
        "counts": planning.counts(planned_rows, blank_lines),
        "blank_lines": blank_lines,
        "already_committed": str(twin.uuid) if twin else None,
        "rows": [planned.entry() for planned in planned_rows],
        **extra,
    }


def import_dry_run(*, user, run: ImportRun) -> ImportRun:
    """Work out what committing ``run`` would do and store it as its report; write no case
    data. The duplicate check answers as ``user`` may be told."""
    if run.status == ImportStatus.COMMITTED:
        raise ValidationError(
            {"status": _("This import is committed; its report is kept as it is.")}
        )
    try:
        rows, blank_lines = _read(run)
    except parsing.FileRefused as exc:
        raise ValidationError({"file": str(exc)}) from None
    planned_rows = planning.plan(rows, user=user)
    report = _report(run, planned_rows, blank_lines)
    now = timezone.now()
    # The plan takes a while; a commit may have landed meanwhile. Save only over a run that
    # is still open, so a late dry run never turns a committed run back into a dry run.
    saved = ImportRun.objects.filter(
        pk=run.pk, status__in=[ImportStatus.UPLOADED, ImportStatus.DRY_RUN]
    ).update(report=report, status=ImportStatus.DRY_RUN, dry_run_at=now)
    if not saved:
        raise ValidationError(
            {"status": _("This import is committed; its report is kept as it is.")}
        )
    run.report, run.status, run.dry_run_at = report, ImportStatus.DRY_RUN, now
    return run


def _names(person, new_names) -> list[NameSpec]:
    return [NameSpec.of(row) for row in person.names.all()] + [
        NameSpec(value, script) for value, script in new_names
    ]


def import_commit(
    *,
    actor: Actor,
    run: ImportRun,
    skip_rejected: bool = False,
    confirm: Iterable[int] = (),
    progress: Progress | None = None,
) -> ImportRun:
    """Apply ``run``'s rows through the services, all in one transaction, and keep the report.

    The rows are planned again (the data may have moved since the dry run); the likely
    duplicates the dry run offered are kept by line. Rows in conflict or in error refuse the
    commit unless ``skip_rejected``, when they are left out and listed as skipped. A create
    with a strong likely duplicate is a conflict unless its line is in ``confirm``.
    """
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.status == ImportStatus.COMMITTED:
            raise ValidationError({"status": _("This import is committed already.")})
        if run.status != ImportStatus.DRY_RUN:
            raise ValidationError({"status": _("Run the dry run first, and read its report.")})
        twin = _committed_twin(run)
        if twin is not None:
            raise ValidationError(
                {
                    "file": _("This file was committed already, as import %(uuid)s.")
                    % {"uuid": twin.uuid}
                }
            )
        try:
            rows, blank_lines = _read(run)
        except parsing.FileRefused as exc:
            raise ValidationError({"file": str(exc)}) from None
        planned_rows = planning.plan(rows, duplicates=False)
        planning.check_versions(
            planned_rows,
            {
                entry["line"]: entry.get("version")
                for entry in run.report.get("rows", [])
                if entry["outcome"] == planning.MATCH
            },
        )
        offered = {entry["line"]: entry["duplicates"] for entry in run.report.get("rows", [])}
        planning.hold_creates(planned_rows, offered, set(confirm))
        rejected = [p for p in planned_rows if p.outcome in (planning.CONFLICT, planning.ERROR)]
        if rejected and not skip_rejected:
            lines = ", ".join(str(p.row.line) for p in rejected[:20])
            if len(rejected) > 20:
                lines = _("%(lines)s and %(more)s more") % {
                    "lines": lines,
                    "more": len(rejected) - 20,
                }
            raise ValidationError(
                {
                    "rows": _(
                        "%(count)s rows are in conflict or in error (lines %(lines)s). Correct "
                        "the file, or commit with skip_rejected to leave them out."
                    )
                    % {"count": len(rejected), "lines": lines}
                }
            )
        source = source_create(
            actor=actor,
            title=f"Import of {run.file_name} ({run.uuid})",
            publisher="Imported list",
            notes=f"{vocabulary.label(ListKind, run.kind)}; SHA-256 {run.sha256}.",
        )
        to_apply = [p for p in planned_rows if p.outcome in (planning.CREATE, planning.MATCH)]
        applied: dict[int, str] = {}
        bulk = ImportSink()
        try:
            for done, planned in enumerate(to_apply, start=1):
                applied[planned.row.line] = _apply(actor, run, source, planned, bulk)
                if done % FLUSH_EVERY == 0:
                    bulk.flush()
                if progress is not None:
                    progress(done, len(to_apply))
            bulk.flush()
        except IntegrityError:
            # A concurrent write took one of the ICRC numbers after the plan was made.
            raise ValidationError(
                {
                    "rows": _(
                        "Another write recorded one of these ICRC numbers meanwhile; run the dry "
                        "run again."
                    )
                }
            ) from None
        entries = []
        for planned in planned_rows:
            entry = planned.entry()
            entry["duplicates"] = offered.get(planned.row.line, [])
            entry["committed"] = applied.get(planned.row.line, "skipped")
            entries.append(entry)
        report = _report(run, planned_rows, blank_lines)
        report["rows"] = entries
        report["committed"] = {
            key: sum(1 for value in applied.values() if value == key)
            for key in ("created", "updated", "unchanged")
        }
        report["committed"]["skipped"] = len(planned_rows) - len(applied)
        run.report = report
        run.status = ImportStatus.COMMITTED
        run.committed_at = timezone.now()
        run.committed_by = actor.user
        run.source = source
        try:
            with transaction.atomic():
                run.save()
        except IntegrityError:
            raise ValidationError({"file": _("This file was committed already.")}) from None
    return run


def _apply(actor: Actor, run: ImportRun, source, planned: planning.Planned, bulk) -> str:
    """Write one planned row through the services; return what it did."""
    values = planned.row.values
    reason = f"Imported from {run.file_name}, line {planned.row.line}."
    if planned.outcome == planning.CREATE:
        fields = {k: values[k] for k in planning.PERSON_VALUES if k in values}
        names = [NameSpec(value, script) for value, script in parsing.name_variants(values)]
        bulk.at = timezone.now()
        person = person_create(
            actor=actor, names=names, reason=reason, source=source, sink=bulk, **fields
        )
        planned.person = person
        if values.get("icrc_number"):
            identity.external_identifier_record(
                actor=actor,
                person=person,
                scheme=IdentifierScheme.ICRC,
                value=values["icrc_number"],
                source=source,
                reason=reason,
                sink=bulk,
            )
        return "created"
    if not planned.changes:
        return "unchanged"
    fields = {k: new for k, (_old, new) in planned.changes.items() if k in planning.PERSON_VALUES}
    names = _names(planned.person, planned.new_names) if planned.new_names else None
    person_update(
        actor=actor,
        person=planned.person,
        expected_version=planned.person.version,
        names=names,
        reason=reason,
        source=source,
        **fields,
    )
    return "updated"
