import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from conversations.lookups import BatchJobNotFound
from conversations.models import Conversation, EnrichmentStatus
from core.background import live_workers
from enrichment.management.display import (
    FAILURES_LISTED,
    FailureLine,
    ProgressDisplay,
    failure_lines,
)
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.runs.lifecycle import NothingToEnrich, RunStarted
from enrichment.selection import (
    ConversationsNotFound,
    Selection,
    select_batch_job,
    select_ids,
    select_statuses,
)
from enrichment.services import BulkResult, enrich

# The exit status when a run cannot be followed because no worker is running.
NO_WORKER = 3


def run_page(run: EnrichmentRun) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('run-detail', args=[run.pk])}"


class Command(BaseCommand):
    help = (
        "Enrich conversations chosen by id (either id form), by batch job, or by "
        "enrichment status. Completed ones are skipped unless --force. Exits with status 1 "
        "when any conversation failed, and lists the failures with their errors."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "ids",
            nargs="*",
            metavar="ID",
            help="conversations by id: the row id or the business conversation_id",
        )
        parser.add_argument(
            "--batch",
            metavar="BATCH_JOB_ID",
            help="the conversations enriching this batch job acts on",
        )
        parser.add_argument(
            "--status",
            choices=EnrichmentStatus.values,
            action="append",
            help="every conversation in this status (repeatable)",
        )
        parser.add_argument("--force", action="store_true", help="re-enrich completed ones too")
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="no progress bar (it is drawn only when stderr is a terminal anyway)",
        )
        parser.add_argument(
            "--background",
            action="store_true",
            help="start a background run (processed by workers: bin/worker), print its page and "
            "follow its progress; Ctrl-C stops following, not the run. Exits with status 3 "
            "without following when no worker is running",
        )
        parser.add_argument(
            "--detach", action="store_true", help="with --background: start it and return"
        )

    def handle(self, *args, ids, status, force, no_progress, background, detach, **options):
        selection = self._select(ids, status, options.get("batch"))
        if background:
            try:
                started = enrich(
                    selection, user=None, source=RunSource.CLI, force=force, background=True
                )
            except NothingToEnrich:
                self.stdout.write("No conversations match; nothing to do.")
                return
            self._follow(started, detach=detach, progress=not no_progress)
            return
        total = len(selection.pks())
        if not total:
            self.stdout.write("No conversations match; nothing to do.")
            return
        started_at = time.perf_counter()
        with ProgressDisplay(self._terminal(), total, enabled=not no_progress) as display:
            result = enrich(
                selection,
                user=None,
                source=RunSource.CLI,
                force=force,
                background=False,
                on_outcome=display.advance,
            )
        if isinstance(result, RunStarted):
            self._follow(result, detach=detach, progress=not no_progress)
            return
        elapsed = time.perf_counter() - started_at
        summary = result.summary
        self.stdout.write(
            f"Enriched: {summary['successful']}, Failed: {summary['failed']}, "
            f"Skipped: {result.skipped_text} (total {total:,}) in {elapsed:.1f}s"
        )
        if summary["failed"]:
            self._list_failures(self._result_failures(result), summary["failed"])
            sys.exit(1)

    def _terminal(self):
        """The stream under ``self.stderr`` (the progress bar is drawn straight on it,
        without the error style Django gives everything written to stderr)."""
        return getattr(self.stderr, "_out", sys.stderr)

    def _select(self, ids: list[str], status: list[str] | None, batch: str | None) -> Selection:
        """One selection from the arguments; several narrow each other."""
        chosen: list[Selection] = []
        try:
            if ids:
                chosen.append(select_ids(ids, user=None))
            if batch is not None:
                chosen.append(select_batch_job(batch, user=None))
            if status:
                chosen.append(select_statuses(status, user=None))
        except ValueError as exc:
            raise CommandError(f"Not a conversation id: {exc}") from None
        except ConversationsNotFound as exc:
            raise CommandError(f"Unknown conversation ids: {', '.join(exc.missing)}") from None
        except BatchJobNotFound:
            raise CommandError(f"--batch {batch}: no such batch job") from None
        if not chosen:
            raise CommandError("Choose conversations: ids, --batch ID or --status STATUS.")
        selection, *others = chosen
        for other in others:
            selection = selection.narrowed_to(other)
        return selection

    def _list_failures(self, failures: list[FailureLine], count: int) -> None:
        for line in failure_lines(failures, count):
            self.stdout.write(line)

    def _result_failures(self, result: BulkResult) -> list[FailureLine]:
        failed = result.failures[:FAILURES_LISTED]
        names = dict(
            Conversation.objects.filter(pk__in=[o.pk for o in failed]).values_list(
                "pk", "conversation_name"
            )
        )
        return [
            FailureLine(str(o.conversation_id), names.get(o.pk, ""), o.error or "") for o in failed
        ]

    def _run_failures(self, run: EnrichmentRun) -> list[FailureLine]:
        items = (
            run.items.filter(outcome=ItemOutcome.FAILED)
            .select_related("conversation")
            .order_by("position")[:FAILURES_LISTED]
        )
        return [
            FailureLine(
                str(item.conversation.conversation_id),
                item.conversation.conversation_name,
                item.error or "",
            )
            for item in items
        ]

    def _follow(self, started: RunStarted, *, detach: bool, progress: bool) -> None:
        run = started.run
        if started.created:
            self.stdout.write(f"Started run {run.pk} over {run.total} conversations.")
        else:
            self.stdout.write(
                f"Run {run.pk} ({run.description}) is already going over these "
                "conversations; following it instead of starting another."
            )
        self.stdout.write(f"Its page: {run_page(run)}")
        self.stdout.write(f"Follow it: GET /api/enrichment-runs/{run.pk}")
        if detach:
            return
        if not live_workers():
            self._no_worker(run)
        self._wait(run, progress=progress)

    def _no_worker(self, run: EnrichmentRun) -> None:
        """Nothing would move while no worker runs: say so and stop, rather than wait."""
        self.stderr.write(
            f"No worker is running: run {run.pk} waits until one starts (bin/worker), and "
            "goes on from there. Not following it.",
            style_func=self.style.WARNING,
        )
        sys.exit(NO_WORKER)

    def _wait(self, run: EnrichmentRun, *, progress: bool) -> None:
        display = ProgressDisplay(
            self._terminal(), run.total, enabled=progress, title="Background run"
        )
        try:
            with display:
                while True:
                    run.refresh_from_db()
                    display.show(
                        done=run.processed,
                        enriched=run.enriched,
                        failed=run.failed,
                        skipped=run.skipped,
                        total=run.total,
                    )
                    if run.is_finished:
                        break
                    if not live_workers():
                        break
                    time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write(
                f"Stopped following; run {run.pk} goes on in the background "
                f"(its page: {run_page(run)}; cancel: POST /api/enrichment-runs/{run.pk}/cancel)."
            )
            return
        if not run.is_finished:
            self._no_worker(run)
        self.stdout.write(
            f"Run {run.status}: Enriched: {run.enriched}, Failed: {run.failed}, "
            f"Skipped: {run.skipped_text} (total {run.total:,})"
        )
        if run.failed:
            self._list_failures(self._run_failures(run), run.failed)
        if run.failed or run.status != RunStatus.COMPLETED:
            sys.exit(1)
