from django.core.management.base import BaseCommand
from django.utils import timezone

from enrichment.runs.lifecycle import repair
from enrichment.runs.watchdog import stuck_conversations, stuck_runs


class Command(BaseCommand):
    help = (
        "List conversations stuck in enrichment_in_progress with an expired claim, and "
        "background runs that stopped making progress. With --fix: give those "
        "conversations back in the state their claim found them, and resume the runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true")

    def handle(self, *args, fix: bool, **options) -> None:
        now = timezone.now()
        conversations = list(
            stuck_conversations(now).values_list("conversation_id", "enrichment_lease_expires_at")[
                :1000
            ]
        )
        runs = list(stuck_runs(now))
        for business_id, expired in conversations:
            self.stdout.write(f"stuck conversation {business_id} (claim expired {expired})")
        for run in runs:
            self.stdout.write(
                f"stuck run {run.pk} ({run.status}, {run.processed}/{run.total}, "
                f"last progress {run.heartbeat_at or 'never'})"
            )
        if not conversations and not runs:
            self.stdout.write("Nothing is stuck.")
            return
        if not fix:
            self.stdout.write("Run with --fix to repair.")
            return
        released, resumed = repair(now)
        self.stdout.write(f"Fixed: released {released} conversations, resumed {resumed} runs.")
