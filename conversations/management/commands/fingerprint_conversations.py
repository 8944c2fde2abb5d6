from django.core.management.base import BaseCommand

from conversations.fingerprints import fill_content_hashes


class Command(BaseCommand):
    help = (
        "Fingerprint the conversations imported before duplicates were detected, so that "
        "importing their files again is reported as a duplicate. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="conversations read and updated at a time (default: 500)",
        )

    def handle(self, *args, batch_size: int, **options) -> None:
        done, unreadable = fill_content_hashes(batch_size=max(batch_size, 1))
        self.stdout.write(f"Fingerprinted {done} conversations.")
        if unreadable:
            self.stdout.write(f"{unreadable} have no readable file and stay without a fingerprint.")
