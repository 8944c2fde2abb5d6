"""Starting, cancelling, retrying and repairing background runs."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations.models import BatchJob, Conversation
from core.background import waiting_jobs
from core.errors import Conflict
from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome, RunStatus
from enrichment.pipeline.run import release_expired_leases
from enrichment.tasks import enqueue_run, enrich_run_lane

from .items import store_items
from .lanes import give_back, refresh_counts


class NothingToEnrich(Conflict):
    """The selection is empty."""


class RunNotCancellable(Conflict):
    def __init__(self, run: EnrichmentRun) -> None:
        super().__init__(f"The run is already {run.get_status_display().lower()}.", subject=run)


@dataclass(frozen=True)
class RunStarted:
    """A background run over a selection: a new one, or (``created`` false) the unfinished
    run that was already going over the same batch job."""

    run: EnrichmentRun
    created: bool = True


def active_run(job: BatchJob) -> EnrichmentRun | None:
    return EnrichmentRun.objects.of_batch_job(job.pk).unfinished().order_by("-created_at").first()


def start_run(
    conversations: Sequence[uuid.UUID] | QuerySet[Conversation],
    *,
    user,
    source: str,
    description: str = "",
    batch_job: BatchJob | None = None,
    force: bool = False,
    retry_failed: bool = True,
    retry_of: EnrichmentRun | None = None,
) -> RunStarted:
    """Store a run over the given conversations (row ids in order, or a queryset in its
    order, stored without being read here) and queue its work, in one transaction (a
    rolled-back run queues nothing).

    Over a ``batch_job`` that already has an unfinished run, that run is returned
    instead: the database holds at most one, so two racing callers cannot both start one.
    """
    if not isinstance(conversations, QuerySet):
        conversations = list(dict.fromkeys(conversations))
        if not conversations:
            raise NothingToEnrich("There are no conversations to enrich.")
    if batch_job is not None and (running := active_run(batch_job)):
        return RunStarted(running, created=False)
    try:
        with transaction.atomic():
            run = EnrichmentRun.objects.create(
                created_by=user if user is not None and user.is_authenticated else None,
                source=source,
                description=description[:255],
                batch_job=batch_job,
                force=force,
                retry_failed=retry_failed,
                retry_of=retry_of,
            )
            run.total = store_items(run, conversations)
            if not run.total:
                # Raised inside the transaction: the run just created is rolled back.
                raise NothingToEnrich("There are no conversations to enrich.")
            EnrichmentRun.objects.filter(pk=run.pk).update(total=run.total)
            enqueue_run(run.pk, run.total)
    except IntegrityError:
        running = active_run(batch_job) if batch_job is not None else None
        if running is None:
            raise
        return RunStarted(running, created=False)
    return RunStarted(run)


def retry_failed(run: EnrichmentRun, *, user, source: str) -> RunStarted:
    """A new run over only the conversations that failed in ``run``."""
    if not run.items.filter(outcome=ItemOutcome.FAILED).exists():
        raise NothingToEnrich("The run has no failed conversations to retry.")
    failed = Conversation.objects.filter(
        run_items__run=run, run_items__outcome=ItemOutcome.FAILED
    ).order_by("run_items__position")
    return start_run(
        failed,
        user=user,
        source=source,
        description=f"Retry of failed: {run.description or run.pk}",
        batch_job=run.batch_job,
        force=run.force,
        retry_of=run,
    )


def cancel_run(run: EnrichmentRun) -> EnrichmentRun:
    """Stop a run between conversations; processed ones stay enriched, the rest untouched.

    The counters are final once the status says cancelled: they are counted in the same
    transaction, after every outcome a lane was recording has committed, and a lane
    records nothing after it (``lanes.RunEnded``)."""
    now = timezone.now()
    with transaction.atomic():
        changed = EnrichmentRun.objects.filter(
            pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).update(status=RunStatus.CANCELLED, finished_at=now, updated_at=now)
        if changed:
            refresh_counts(run.pk)
    run.refresh_from_db()
    if not changed:
        raise RunNotCancellable(run)
    return run


def unattended_runs():
    """Unfinished runs that no job is queued for or working on (their jobs were lost:
    deleted by hand, or the database restored from a backup)."""
    return [
        run
        for run in EnrichmentRun.objects.unfinished().order_by("created_at")
        if not waiting_jobs(enrich_run_lane.name, run_id=str(run.pk))
    ]


def repair(now=None) -> tuple[int, int]:
    """Give back expired conversation claims, and queue lanes again for unfinished runs
    that have none."""
    released = release_expired_leases(now or timezone.now())
    runs = unattended_runs()
    for run in runs:
        held = (
            EnrichmentRunItem.objects.filter(run=run, claim_token__isnull=False)
            .pending()
            .values_list("claim_token", flat=True)
            .distinct()
        )
        with transaction.atomic():
            give_back(run.pk, list(held))
            enqueue_run(run.pk, run.remaining)
    return released, len(runs)
