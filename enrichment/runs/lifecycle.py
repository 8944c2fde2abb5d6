"""Starting, cancelling, retrying and repairing background runs."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from conversations.models import Conversation
from core.background import waiting_jobs
from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome, RunStatus
from enrichment.pipeline.run import release_expired_leases
from enrichment.scopes import ScopeRef
from enrichment.tasks import enqueue_run, enrich_run_lane

from .items import store_items
from .lanes import give_back, refresh_counts


class NothingToEnrich(ValueError):
    """The selection is empty."""


class RunNotCancellable(ValueError):
    def __init__(self, run: EnrichmentRun) -> None:
        super().__init__(f"The run is already {run.get_status_display().lower()}.")
        self.run = run


@dataclass(frozen=True)
class RunStarted:
    """A background run over a selection: a new one, or (``created`` false) the unfinished
    run that was already going over the same scope."""

    run: EnrichmentRun
    created: bool = True


def active_run(scope: ScopeRef) -> EnrichmentRun | None:
    return (
        EnrichmentRun.objects.for_scope(scope.kind, scope.id)
        .unfinished()
        .order_by("-created_at")
        .first()
    )


def start_run(
    conversations: Sequence[uuid.UUID] | QuerySet[Conversation],
    *,
    user,
    source: str,
    description: str = "",
    scope: ScopeRef | None = None,
    force: bool = False,
    retry_failed: bool = True,
    retry_of: EnrichmentRun | None = None,
) -> RunStarted:
    """Store a run over the given conversations (row ids in order, or a queryset in its
    order, stored without being read here) and queue its work, in one transaction (a
    rolled-back run queues nothing).

    Over a ``scope`` (a batch job) that already has an unfinished run, that run is
    returned instead: the database holds at most one, so two racing callers cannot both
    start one.
    """
    if not isinstance(conversations, QuerySet):
        conversations = list(dict.fromkeys(conversations))
        if not conversations:
            raise NothingToEnrich("There are no conversations to enrich.")
    if scope is not None and (running := active_run(scope)):
        return RunStarted(running, created=False)
    try:
        with transaction.atomic():
            run = EnrichmentRun.objects.create(
                created_by=user if user is not None and user.is_authenticated else None,
                source=source,
                description=description[:255],
                scope_kind=scope.kind if scope else "",
                scope_id=scope.id if scope else None,
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
        running = active_run(scope) if scope is not None else None
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
    scope = None
    if run.scope_id is not None:
        scope = ScopeRef(run.scope_kind, run.scope_id, name="", url="")
    return start_run(
        failed,
        user=user,
        source=source,
        description=f"Retry of failed: {run.description or run.pk}",
        scope=scope,
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
