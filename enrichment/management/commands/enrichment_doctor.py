from django.core.management.base import BaseCommand
from django.utils import timezone

from conversations.models import Conversation
from core.background import live_workers
from enrichment.runs.lifecycle import repair, unattended_runs


class Command(BaseCommand):
    help = (
        "List conversations stuck in enrichment_in_progress with an expired claim (a web "
        "process that died mid-request), unfinished background runs that no job works on "
        "(their jobs were deleted, or the database restored from a backup), and whether "
        "any worker runs. With --fix: give those conversations back in the state their "
        "claim found them, and queue the runs' jobs again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true")

    def handle(self, *args, fix: bool, **options) -> None:
        now = timezone.now()
        conversations = list(
            Conversation.objects.with_expired_claim(now).values_list(
                "conversation_id", "enrichment_lease_expires_at"
            )[:1000]
        )
        runs = unattended_runs()
        for business_id, expired in conversations:
            self.stdout.write(f"stuck conversation {business_id} (claim expired {expired})")
        for run in runs:
            self.stdout.write(
                f"run {run.pk} ({run.status}, {run.processed}/{run.total}) has no job queued "
                f"or running (last progress {run.updated_at})"
            )
        if not live_workers():
            self.stdout.write("No worker is running: nothing in the background moves (bin/worker).")
        if not conversations and not runs:
            self.stdout.write("Nothing is stuck.")
            return
        if not fix:
            self.stdout.write("Run with --fix to repair.")
            return
        released, resumed = repair(now)
        self.stdout.write(f"Fixed: released {released} conversations, resumed {resumed} runs.")
