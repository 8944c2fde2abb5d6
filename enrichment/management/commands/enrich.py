import sys
import time

from django.core.management.base import BaseCommand, CommandError

from enrichment import scopes
from enrichment.models import EnrichmentRun, EnrichmentStatus, RunSource, RunStatus
from enrichment.pipeline.outcomes import ENRICHED, FAILED, SKIPPED, Outcome
from enrichment.runs.lifecycle import NothingToEnrich, RunStarted
from enrichment.selection import (
    ConversationsNotFound,
    ScopeNotFound,
    Selection,
    select_ids,
    select_scope,
    select_statuses,
)
from enrichment.services import enrich


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
        for scope in scopes.registered():
            parser.add_argument(
                f"--{scope.param}",
                metavar=f"{scope.kind.upper()}_ID",
                help=f"the conversations enriching this {scope.label.lower()} acts on",
            )
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

    def handle(self, *args, ids, status, force, no_progress, background, detach, **options):
        selection = self._select(ids, status, options)
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
        bar = ProgressBar(self.stderr, total, enabled=not no_progress and sys.stderr.isatty())
        started_at = time.perf_counter()
        try:
            result = enrich(
                selection,
                user=None,
                source=RunSource.CLI,
                force=force,
                background=False,
                on_outcome=bar.advance,
            )
        finally:
            bar.close()
        if isinstance(result, RunStarted):
            self._follow(result, detach=detach, progress=not no_progress)
            return
        elapsed = time.perf_counter() - started_at
        counts = bar.counts
        self.stdout.write(
            f"Enriched: {counts[ENRICHED]}, Failed: {counts[FAILED]}, "
            f"Skipped: {counts[SKIPPED]} (total {total}) in {elapsed:.1f}s"
        )
        if counts[FAILED]:
            sys.exit(1)

    def _select(self, ids: list[str], status: list[str] | None, options: dict) -> Selection:
        """One selection from the arguments; several narrow each other."""
        chosen: list[Selection] = []
        try:
            if ids:
                chosen.append(select_ids(ids, user=None))
            for scope in scopes.registered():
                if (value := options.get(scope.param)) is not None:
                    chosen.append(select_scope(scope.kind, value, user=None))
            if status:
                chosen.append(select_statuses(status, user=None))
        except ValueError as exc:
            raise CommandError(f"Not a conversation id: {exc}") from None
        except ConversationsNotFound as exc:
            raise CommandError(f"Unknown conversation ids: {', '.join(exc.missing)}") from None
        except ScopeNotFound as exc:
            raise CommandError(
                f"--{exc.scope.param} {exc.missing[0]}: no such {exc.scope.label.lower()}"
            ) from None
        if not chosen:
            options = ", ".join(f"--{scope.param} ID" for scope in scopes.registered())
            raise CommandError(f"Choose conversations: ids, {options} or --status STATUS.")
        selection, *others = chosen
        for other in others:
            selection = selection.narrowed_to(other)
        return selection

    def _follow(self, started: RunStarted, *, detach: bool, progress: bool) -> None:
        run = started.run
        if started.created:
            self.stdout.write(f"Started run {run.pk} over {run.total} conversations.")
        else:
            self.stdout.write(
                f"Run {run.pk} ({run.description}) is already going over these "
                "conversations; following it instead of starting another."
            )
        self.stdout.write(f"Follow it: GET /api/enrichment-runs/{run.pk}")
        if detach:
            return
        self._wait(run, draw=progress and sys.stderr.isatty())

    def _wait(self, run: EnrichmentRun, *, draw: bool) -> None:
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
