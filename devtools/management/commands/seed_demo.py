from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devtools.demo.seed import (
    ANALYST_PASSWORD,
    ANALYST_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    MIN_CONVERSATIONS,
    KnownPasswordsRefused,
    seed_demo,
)


def site_url() -> str:
    """Where the demo is reached: ``SITE_URL`` (by default the address of PORT)."""
    return settings.SITE_URL.rstrip("/") + "/"


class Command(BaseCommand):
    help = (
        "Seed the demo: users demo (superuser) and analyst (non-staff), our demo "
        "scaffolding, and generated conversations imported as completed batch jobs. Safe to "
        "run again; a demo batch job is only added when the demo user has none, or with "
        "--force."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="add another demo batch job for the demo user"
        )
        parser.add_argument(
            "--conversations",
            type=int,
            default=12,
            metavar="N",
            help="conversations in the demo batch job (default 12, at least 3)",
        )
        parser.add_argument(
            "--served",
            action="store_true",
            help="the site is being served already (bin/demo): say where, not how to start it",
        )
        parser.add_argument(
            "--allow-known-passwords",
            action="store_true",
            help="create the demo users even with DJANGO_DEBUG off (their passwords are public)",
        )

    def handle(
        self,
        *args,
        force: bool,
        conversations: int,
        allow_known_passwords: bool,
        served: bool = False,
        **options,
    ) -> None:
        if conversations < MIN_CONVERSATIONS:
            raise CommandError(f"--conversations must be at least {MIN_CONVERSATIONS}")
        try:
            result = seed_demo(
                stdout=self.stdout,
                conversations=conversations,
                force=force,
                allow_known_passwords=allow_known_passwords,
            )
        except KnownPasswordsRefused as exc:
            raise CommandError(str(exc)) from None
        url = site_url()
        for job in result.batch_jobs:
            self.stdout.write(f"  {url}batch-jobs/{job.pk}/")
        self.stdout.write("")
        if served:
            self.stdout.write(self.style.SUCCESS(f"Demo ready, served at {url}"))
        else:
            address = urlsplit(url).netloc or "127.0.0.1:8000"
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo ready. Start the site (python manage.py runserver {address}), then:"
                )
            )
        self.stdout.write(f"  URL:      {url}")
        self.stdout.write(f"  Username: {DEMO_USERNAME}")
        self.stdout.write(f"  Password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"  (also {ANALYST_USERNAME} / {ANALYST_PASSWORD}: not staff, sees only their own "
            "batch job)"
        )
