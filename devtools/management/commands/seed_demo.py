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

DEMO_URL = "http://127.0.0.1:8000/"


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
            "--allow-known-passwords",
            action="store_true",
            help="create the demo users even with DJANGO_DEBUG off (their passwords are public)",
        )

    def handle(
        self, *args, force: bool, conversations: int, allow_known_passwords: bool, **options
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
        for job in result.batch_jobs:
            self.stdout.write(f"  {DEMO_URL}batch-jobs/{job.pk}/")
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo ready. Run `python manage.py runserver`, then:"))
        self.stdout.write(f"  URL:      {DEMO_URL}")
        self.stdout.write(f"  Username: {DEMO_USERNAME}")
        self.stdout.write(f"  Password: {DEMO_PASSWORD}")
        self.stdout.write(
            f"  (also {ANALYST_USERNAME} / {ANALYST_PASSWORD}: not staff, sees only their own "
            "batch job)"
        )
