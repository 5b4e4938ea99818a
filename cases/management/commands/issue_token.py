"""Issue an API token for a user and print its key, once."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cases.security.tokens import ApiToken


class Command(BaseCommand):
    """``manage.py issue_token USERNAME [--read-only] [--expires-days N] [--name NAME]``."""

    help = "Issue an API token for USERNAME and print its key. The key is shown only once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--read-only", action="store_true", help="The token may only read (writes get 403)."
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Expire after N days (default: never)."
        )
        parser.add_argument("--name", default="", help="What the token is for.")

    def handle(self, *args, username, read_only, expires_days, name, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}.") from exc
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive.")
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
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
