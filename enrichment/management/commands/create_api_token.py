from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.tokens import create_token


class Command(BaseCommand):
    help = (
        "Create an API token for a user and print its key (the only time it is shown). "
        "Users can also create and revoke their own on the API tokens page."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for")
        parser.add_argument(
            "--expires-in-days",
            type=int,
            metavar="DAYS",
            help="the token stops working after DAYS days (default: never)",
        )

    def handle(self, *args, username: str, name: str, expires_in_days: int | None, **options):
        User = get_user_model()
        try:
            user = User.objects.get_by_natural_key(username)
        except User.DoesNotExist:
            raise CommandError(f"{username!r}: no such user") from None
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days must be at least 1")
        if not name.strip() or len(name) > 100:
            raise CommandError("--name must be 1 to 100 characters")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        token, key = create_token(user, name=name.strip(), expires_at=expires_at)
        when = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires"
        self.stderr.write(f"Token {token.name!r} for {user.get_username()} ({when}):")
        self.stdout.write(key)
