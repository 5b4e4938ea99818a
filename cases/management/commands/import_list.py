"""Upload, dry-run and commit an import of a list from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.choices import Channel
from cases.imports import services
from cases.imports.models import ImportMapping, ImportRun, ListKind
from cases.services import Actor


def _message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
    return " ".join(error.messages)


class Command(BaseCommand):
    """``manage.py import_list upload FILE [--mapping NAME | --columns JSON] [--kind K]``,
    ``manage.py import_list dry-run UUID``,
    ``manage.py import_list commit UUID [--skip-rejected] [--confirm LINE] [--progress N]``.

    Each prints the run's uuid and its counts as JSON on one line. ``--user`` names the
    account the import is made as (its need-to-know rules shape the dry run's duplicates);
    without it the tracker itself imports, as the command channel.
    """

    help = "Upload a CSV or XLSX list, dry-run it, or commit it (docs/imports.md)."

    def add_arguments(self, parser):
        parser.add_argument("step", choices=["upload", "dry-run", "commit"])
        parser.add_argument("target", help="The file to upload, or the import's uuid.")
        parser.add_argument("--mapping", help="The name of a saved column mapping.")
        parser.add_argument("--columns", help='The mapping as JSON: {"header": "field"}.')
        parser.add_argument(
            "--kind", choices=ListKind.values, help="The kind of list (default: the mapping's)."
        )
        parser.add_argument("--user", help="The username the import is made as.")
        parser.add_argument(
            "--skip-rejected",
            action="store_true",
            help="Commit the rows that apply and leave those in conflict or in error out.",
        )
        parser.add_argument(
            "--confirm",
            type=int,
            action="append",
            default=[],
            metavar="LINE",
            help="Create this line although a strong likely duplicate was offered (repeat it).",
        )
        parser.add_argument(
            "--progress",
            type=int,
            default=0,
            metavar="N",
            help="While committing, print 'applied DONE/TOTAL' every N rows.",
        )

    def handle(self, *args, step, target, **options):
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No account has the username {options['user']!r}.")
        try:
            run = self._step(step, target, user, options)
        except ValidationError as error:
            raise CommandError(_message(error)) from None
        summary = {"import": str(run.uuid), "status": run.status, **run.report.get("counts", {})}
        if "committed" in run.report:
            summary["committed"] = run.report["committed"]
        self.stdout.write(json.dumps(summary))

    def _step(self, step, target, user, options) -> ImportRun:
        if step == "upload":
            path = Path(target)
            if not path.is_file():
                raise CommandError(f"No file at {target}.")
            mapping = None
            if options["mapping"]:
                mapping = ImportMapping.objects.filter(name=options["mapping"]).first()
                if mapping is None:
                    raise CommandError(f"No saved mapping is named {options['mapping']!r}.")
            try:
                columns = json.loads(options["columns"]) if options["columns"] else None
            except ValueError:
                raise CommandError(
                    '--columns is not valid JSON: give it as {"header": "field"}.'
                ) from None
            return services.import_upload(
                user=user,
                file_name=path.name,
                content=path.read_bytes(),
                kind=options["kind"],
                mapping=mapping,
                columns=columns,
            )
        run = ImportRun.objects.filter(uuid=target).first() if _is_uuid(target) else None
        if run is None:
            raise CommandError(f"No import has the uuid {target!r}.")
        if step == "dry-run":
            return services.import_dry_run(user=user, run=run)
        every = options["progress"]

        def progress(done: int, total: int) -> None:
            if every and (done % every == 0 or done == total):
                self.stdout.write(f"applied {done}/{total}")
                self.stdout.flush()

        actor = Actor(user=user, channel=Channel.COMMAND, label=f"import_list ({run.file_name})")
        return services.import_commit(
            actor=actor,
            run=run,
            skip_rejected=options["skip_rejected"],
            confirm=options["confirm"],
            progress=progress,
        )


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
