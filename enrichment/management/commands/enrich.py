import sys
import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from enrichment.models import Conversation, EnrichmentStatus, RunSource, RunStatus
from enrichment.pipeline.run import ENRICHED, FAILED, SKIPPED, Outcome
from enrichment.runs import start_run
from enrichment.services import enrich_in_chunks


class ProgressBar:
    """A one-line progress bar, drawn only on a terminal."""

    def __init__(self, stream, total: int, *, enabled: bool) -> None:
        self.stream = stream
        self.total = total
        self.enabled = enabled and total > 0
        self.done = 0
        self.counts = {ENRICHED: 0, FAILED: 0, SKIPPED: 0}

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        self.counts[outcome.status] += 1
        if self.enabled:
            width = 30
            filled = width * self.done // self.total
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"enriched {self.counts[ENRICHED]} failed {self.counts[FAILED]} "
                f"skipped {self.counts[SKIPPED]}",
                ending="",
            )
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("")


class Command(BaseCommand):
    help = (
        "Enrich conversations chosen by id (either id form), by batch job, or by "
        "enrichment status. Completed ones are skipped unless --force. Exits with status 1 "
        "when any conversation failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("ids", nargs="*", metavar="ID")
        parser.add_argument("--batch", metavar="JOB_ID", help="every conversation of a job")
        parser.add_argument(
            "--status",
            choices=EnrichmentStatus.values,
            action="append",
            help="every conversation in this status (repeatable)",
        )
        parser.add_argument("--force", action="store_true", help="re-enrich completed ones too")
        parser.add_argument("--no-progress", action="store_true")
        parser.add_argument(
            "--background",
            action="store_true",
            help="start a background run (processed by db_worker) and follow its progress; "
            "Ctrl-C stops following, not the run",
        )
        parser.add_argument(
            "--detach", action="store_true", help="with --background: start it and return"
        )

    def handle(
        self, *args, ids, batch, status, force, no_progress, background, detach, **options
    ) -> None:
        if not (ids or batch or status):
            raise CommandError("Choose conversations: ids, --batch JOB_ID or --status STATUS.")
        pks = self._select(ids, batch, status)
        if not pks:
            self.stdout.write("No conversations match; nothing to do.")
            return
        if background:
            self._background(pks, batch, force, detach=detach, progress=not no_progress)
            return
        bar = ProgressBar(self.stderr, len(pks), enabled=not no_progress and sys.stderr.isatty())
        started = time.perf_counter()
        try:
            enrich_in_chunks(pks, force=force, on_outcome=bar.advance)
        finally:
            bar.close()
        elapsed = time.perf_counter() - started
        counts = bar.counts
        self.stdout.write(
            f"Enriched: {counts[ENRICHED]}, Failed: {counts[FAILED]}, "
            f"Skipped: {counts[SKIPPED]} (total {len(pks)}) in {elapsed:.1f}s"
        )
        if counts[FAILED]:
            sys.exit(1)

    def _select(self, ids: list[str], batch: str | None, status: list[str] | None) -> list:
        rows = Conversation.objects.filter(is_active=True)
        if ids:
            try:
                wanted = [str(uuid.UUID(value)) for value in ids]
            except ValueError as exc:
                raise CommandError(f"Not a conversation id: {exc}") from None
            found = list(rows.with_ids(wanted).values_list("pk", "conversation_id"))
            known = {str(v) for pair in found for v in pair}
            missing = [value for value in wanted if value not in known]
            if missing:
                raise CommandError(f"Unknown conversation ids: {', '.join(missing)}")
            order = {value: index for index, value in enumerate(wanted)}
            found.sort(key=lambda pair: min(order.get(str(v), len(order)) for v in pair))
            selected = [pk for pk, _ in found]
            if batch or status:
                narrowed = self._filter(rows.filter(pk__in=selected), batch, status)
                allowed = set(narrowed.values_list("pk", flat=True))
                selected = [pk for pk in selected if pk in allowed]
            return selected
        return list(
            self._filter(rows, batch, status)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
        )

    def _filter(self, rows, batch: str | None, status: list[str] | None):
        if batch:
            try:
                job_id = uuid.UUID(batch)
            except ValueError:
                raise CommandError(f"--batch {batch!r} is not a batch job id") from None
            rows = rows.filter(batch_items__batch_job_id=job_id)
            if not rows.exists():
                raise CommandError(
                    f"--batch {batch}: no such batch job, or it has no conversations"
                )
        if status:
            rows = rows.filter(enrichment_status__in=status)
        return rows.distinct()

    def _background(self, pks, batch, force: bool, *, detach: bool, progress: bool) -> None:
        run = start_run(
            pks,
            user=None,
            source=RunSource.CLI,
            description=f"Command line: {len(pks)} conversations",
            batch_job_id=uuid.UUID(batch) if batch else None,
            force=force,
        )
        self.stdout.write(f"Started run {run.pk} over {run.total} conversations.")
        self.stdout.write(f"Follow it: GET /api/enrichment-runs/{run.pk}")
        if detach:
            return
        draw = progress and sys.stderr.isatty()
        try:
            while True:
                run.refresh_from_db()
                if draw:
                    width = 30
                    filled = width * run.processed // max(run.total, 1)
                    eta = run.eta_seconds()
                    self.stderr.write(
                        f"\r[{'#' * filled}{'.' * (width - filled)}] {run.processed}/{run.total}"
                        f" {run.status} enriched {run.enriched} failed {run.failed}"
                        f" skipped {run.skipped}" + (f" eta {eta}s" if eta is not None else ""),
                        ending="",
                    )
                    self.stderr.flush()
                if run.is_finished:
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stderr.write("")
            self.stdout.write(
                f"Stopped following; run {run.pk} goes on in the background "
                f"(cancel: POST /api/enrichment-runs/{run.pk}/cancel)."
            )
            return
        if draw:
            self.stderr.write("")
        self.stdout.write(
            f"Run {run.status}: Enriched: {run.enriched}, Failed: {run.failed}, "
            f"Skipped: {run.skipped} (total {run.total})"
        )
        if run.failed or run.status != RunStatus.COMPLETED:
            sys.exit(1)
