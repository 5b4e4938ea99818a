"""Issue an API token for a user and print its key, once; optionally create the account."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases.security.access import ROLES
from cases.security.tokens import ApiToken


class Command(BaseCommand):
    """``manage.py issue_token USERNAME [--create ROLE] [--read-only] [--expires-days N]
    [--name NAME]``.

    The key alone goes to standard output, so ``KEY=$(python manage.py issue_token ...)`` keeps it.
    """

    help = (
        "Issue an API token for USERNAME and print its key. The key is shown only once. "
        "With --create ROLE, first create USERNAME as an API-only account in that role."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--create",
            metavar="ROLE",
            choices=sorted(ROLES),
            help=(
                "Create USERNAME first, in this role, with no password (it can only use its "
                "tokens); an existing account is used only if it already holds exactly this role."
            ),
        )
        parser.add_argument(
            "--read-only", action="store_true", help="The token may only read (writes get 403)."
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Expire after N days (default: never)."
        )
        parser.add_argument("--name", default="", help="What the token is for.")

    @transaction.atomic
    def handle(self, *args, username, create, read_only, expires_days, name, **options):
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        user = self._create(username, create) if create else self._existing(username)
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        token, key = ApiToken.issue(
            user=user,
            name=name or f"token for {username}",
            read_only=read_only,
            expires_at=expires_at,
        )
        scope = "read-only" if read_only else "read-write"
        until = f", expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
        self.stderr.write(
            f"Issued {scope} token {token.prefix} ({token.name}) for {username}{until}. "
            "Store the key now; it cannot be shown again."
        )
        self.stdout.write(key)

    def _existing(self, username):
        User = get_user_model()
        try:
            return User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist as exc:
            raise CommandError(
                f"No user named {username!r}. To create an API-only account and its token in one "
                f"step: issue_token {username} --create ROLE (one of: {', '.join(sorted(ROLES))})."
            ) from exc

    def _create(self, username, role):
        """Return ``username`` in ``role``: created when missing, never moved between roles."""
        User = get_user_model()
        try:
            group = Group.objects.get(name=role)
        except Group.DoesNotExist as exc:  # pragma: no cover - made by migration 0006
            raise CommandError(f"The role group {role!r} is missing; run migrate.") from exc
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            user = User.objects.create_user(**{User.USERNAME_FIELD: username}, password=None)
            user.groups.add(group)
            self.stderr.write(f"Created API-only account {username} in the role {role!r}.")
            return user
        roles = set(user.groups.filter(name__in=list(ROLES)).values_list("name", flat=True))
        if user.is_staff or user.is_superuser or roles != {role}:
            held = ", ".join(sorted(roles)) or "no role"
            raise CommandError(
                f"User {username!r} already exists ({held}"
                f"{', staff' if user.is_staff or user.is_superuser else ''}); --create leaves "
                "existing accounts as they are. Drop --create to issue a token for it."
            )
        return user
