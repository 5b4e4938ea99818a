"""Give the application's PostgreSQL role exactly what the tracker needs (run as the owner)."""

import os
from urllib.parse import unquote, urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from cases.dbguards import TIMELINE_TABLE, app_role_grants, quote_ident


class Command(BaseCommand):
    """Create (optionally) and grant the application role; safe to run again at any time."""

    help = (
        "Grant the application's PostgreSQL role what the tracker needs, connected as the "
        "tables' owner (DATABASE_URL): reads and writes of ordinary tables, only SELECT and "
        "INSERT on the timeline and the access log, the purge function, and the same for "
        "tables later migrations create. Idempotent; run it after every migrate. The role "
        "is taken from --app-role or from the user of DATABASE_APP_URL."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--app-role",
            default="",
            help="The application's role (default: the user named in DATABASE_APP_URL).",
        )
        parser.add_argument(
            "--create",
            action="store_true",
            help=(
                "Create the role (LOGIN, no other attribute) when it does not exist, with the "
                "password of DATABASE_APP_URL if it has one; needs the CREATEROLE attribute."
            ),
        )

    def handle(self, *args, app_role, create, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only; DATABASE_URL is not.")
        password = None
        app_url = os.environ.get("DATABASE_APP_URL", "")
        if app_url:
            parts = urlsplit(app_url)
            app_role = app_role or unquote(parts.username or "")
            password = unquote(parts.password) if parts.password else None
        if not app_role:
            raise CommandError("Name the application role: --app-role NAME or DATABASE_APP_URL.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            me, database = cursor.fetchone()
            cursor.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = %s",
                [TIMELINE_TABLE],
            )
            row = cursor.fetchone()
            if row is None:
                raise CommandError("The tracker's tables do not exist yet: run migrate first.")
            owner = row[0]
            if app_role in (me, owner):
                raise CommandError(
                    f"The application role must not be the tables' owner ({owner}) or the "
                    "role running this command: it would keep every right an owner has."
                )
            cursor.execute(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
                "FROM pg_roles WHERE rolname = %s",
                [app_role],
            )
            attributes = cursor.fetchone()
            if attributes is None:
                if not create:
                    raise CommandError(
                        f"Role {app_role} does not exist. Create it (as a role with "
                        f"CREATEROLE): CREATE ROLE {quote_ident(app_role)} LOGIN PASSWORD "
                        "'...'; or pass --create."
                    )
                self._create(cursor, app_role, password)
            elif any(attributes):
                raise CommandError(
                    f"Role {app_role} is a superuser or may bypass row security, create roles "
                    "or databases; the application role must have none of these."
                )
            cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [app_role, owner])
            if cursor.fetchone()[0]:
                raise CommandError(
                    f"Role {app_role} is a member of the owner {owner} and would act as it."
                )
        with transaction.atomic(), connection.cursor() as cursor:
            for sql in app_role_grants(app_role, owner=owner, database=database):
                cursor.execute(sql)
        self.stdout.write(
            self.style.SUCCESS(
                f"Granted {app_role} the application's rights on {database} (owner {owner})."
            )
        )

    def _create(self, cursor, app_role: str, password: str | None) -> None:
        sql = f"CREATE ROLE {quote_ident(app_role)} LOGIN"
        if password:
            # CREATE ROLE takes no bind parameters; quote the literal as PostgreSQL does.
            sql += " PASSWORD '" + password.replace("'", "''") + "'"
        cursor.execute(sql)
        self.stdout.write(f"Created role {app_role}.")
