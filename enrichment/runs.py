"""Background enrichment runs: any number of conversations, stored progress, cancel,
retry, and recovery from crashed workers.

A run is a list of items (one per conversation). Workers process it in *lanes*: a lane
task claims the next chunk of pending items (a conditional UPDATE with a lease), enriches
them through the same runner as every other entry point, records each item's outcome in
the same transaction as the conversation's status, and refreshes the run's counters
after every chunk. Several lanes (and so several workers) share a run without ever
taking the same item. A watchdog task per run re-enqueues a lane when the run stops
making progress (its worker died), and item leases outlive conversation leases, so a
resumed lane never finds its own dead claims in the way.
"""

import logging
import signal
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Subquery
from django.utils import timezone

from .models import (
    Conversation,
    EnrichmentRun,
    EnrichmentRunItem,
    EnrichmentStatus,
    ItemOutcome,
    RunStatus,
)
from .pipeline.run import Outcome, enrich_conversations
from .sql import update_statement

logger = logging.getLogger("enrichment.runs")

# How often a lane looks at the run's status (for a cancel) between conversations.
CANCEL_CHECK_SECONDS = 0.25


class NothingToEnrich(ValueError):
    """The selection is empty."""


class RunNotCancellable(ValueError):
    pass


def item_lease() -> timedelta:
    # Longer than a conversation's lease, so that when an item can be taken over, the
    # conversation claim of the lane that died holding it has expired too.
    seconds = settings.ENRICHMENT_LEASE_SECONDS
    return timedelta(seconds=seconds + max(2, seconds // 10))


# Starting -----------------------------------------------------------------------


def start_run(
    conversation_pks: Sequence[uuid.UUID],
    *,
    user,
    source: str,
    description: str = "",
    batch_job_id: uuid.UUID | None = None,
    force: bool = False,
    retry_failed: bool = True,
    retry_of: EnrichmentRun | None = None,
) -> EnrichmentRun:
    """Store a run over the given conversations (row ids) and enqueue its work once the
    transaction commits (a rolled-back run enqueues nothing)."""
    pks = list(dict.fromkeys(conversation_pks))
    if not pks:
        raise NothingToEnrich("There are no conversations to enrich.")
    with transaction.atomic():
        run = EnrichmentRun.objects.create(
            created_by=user if user is not None and user.is_authenticated else None,
            source=source,
            description=description[:255],
            batch_job_id=batch_job_id,
            force=force,
            retry_failed=retry_failed,
            retry_of=retry_of,
            total=len(pks),
        )
        batch = 2000
        for start in range(0, len(pks), batch):
            EnrichmentRunItem.objects.bulk_create(
                EnrichmentRunItem(run=run, conversation_id=pk, position=start + offset + 1)
                for offset, pk in enumerate(pks[start : start + batch])
            )
        transaction.on_commit(partial(enqueue_run, run.pk))
    return run


def enqueue_run(run_id: uuid.UUID, *, lanes: int | None = None, watch: bool = True) -> None:
    """Enqueue lane tasks (and the run's watchdog). Runs after the commit, so a failure
    here cannot undo the stored run: it is logged, and the run shows up in
    ``enrichment_doctor`` as stuck (``--fix`` enqueues it again)."""
    from .tasks import enrichment_run_lane, enrichment_run_watchdog

    try:
        if watch:
            enrichment_run_watchdog.using(run_after=timezone.now() + item_lease()).enqueue(
                run_id=str(run_id)
            )
        for _ in range(lanes or settings.ENRICHMENT_RUN_LANES):
            enrichment_run_lane.enqueue(run_id=str(run_id))
    except Exception:
        logger.exception("Could not enqueue enrichment run %s; enrichment_doctor --fix", run_id)


def conversations_for_selection(
    *,
    user,
    conversation_ids: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    batch_job_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Row ids of the visible conversations a selection names, in a stable order."""
    rows = Conversation.objects.visible_to(user)
    if conversation_ids is not None:
        from .services import resolve_conversations

        pks, _ = resolve_conversations(conversation_ids, user=user)
        return pks
    if batch_job_id is not None:
        rows = rows.filter(batch_items__batch_job_id=batch_job_id, batch_items__status="completed")
    if statuses:
        rows = rows.filter(enrichment_status__in=statuses)
    return list(rows.order_by("created_at", "pk").values_list("pk", flat=True).distinct())


def retry_failed(run: EnrichmentRun, *, user, source: str) -> EnrichmentRun:
    """A new run over only the conversations that failed in ``run``."""
    pks = list(
        run.items.filter(outcome=ItemOutcome.FAILED)
        .order_by("position")
        .values_list("conversation_id", flat=True)
    )
    if not pks:
        raise NothingToEnrich("The run has no failed conversations to retry.")
    return start_run(
        pks,
        user=user,
        source=source,
        description=f"Retry of failed: {run.description or run.pk}",
        batch_job_id=run.batch_job_id,
        force=run.force,
        retry_of=run,
    )


def cancel_run(run: EnrichmentRun) -> EnrichmentRun:
    """Stop a run between conversations; processed ones stay enriched, the rest untouched."""
    now = timezone.now()
    changed = EnrichmentRun.objects.filter(
        pk=run.pk, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
    ).update(status=RunStatus.CANCELLED, finished_at=now, updated_at=now)
    run.refresh_from_db()
    if not changed:
        raise RunNotCancellable(f"The run is already {run.get_status_display().lower()}.")
    return run


# Working ------------------------------------------------------------------------


class StopSignal:
    """Set when the worker is asked to stop (SIGTERM/SIGINT), so a lane can finish the
    current conversation and hand the rest back instead of running the whole chunk."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.previous: dict[int, object] = {}

    def __enter__(self) -> "StopSignal":
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self.previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.event.set()
        previous = self.previous.get(signum)
        if callable(previous):
            previous(signum, frame)  # the worker's own handler: stop after this task

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def __bool__(self) -> bool:
        return self.event.is_set()


def _claim_items(run_id: uuid.UUID, token: uuid.UUID, size: int) -> list[tuple]:
    now = timezone.now()
    claimable = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    next_items = (
        EnrichmentRunItem.objects.filter(run_id=run_id, outcome=ItemOutcome.PENDING)
        .filter(claimable)
        .order_by("position")
        .values("pk")[:size]
    )
    # The outer conditions are re-checked on PostgreSQL after waiting for a row lock,
    # so two lanes racing for the same items never both get one.
    EnrichmentRunItem.objects.filter(pk__in=Subquery(next_items)).filter(
        claimable, outcome=ItemOutcome.PENDING
    ).update(claim_token=token, claimed_until=now + item_lease())
    return list(
        EnrichmentRunItem.objects.filter(claim_token=token, outcome=ItemOutcome.PENDING)
        .order_by("position")
        .values_list("pk", "conversation_id")
    )


def refresh_counts(run_id: uuid.UUID) -> None:
    """Recompute the run's counters from its items (idempotent, crash-safe)."""
    counts = EnrichmentRunItem.objects.filter(run_id=run_id).aggregate(
        enriched=Count("pk", filter=Q(outcome=ItemOutcome.ENRICHED)),
        failed=Count("pk", filter=Q(outcome=ItemOutcome.FAILED)),
        skipped=Count("pk", filter=Q(outcome=ItemOutcome.SKIPPED)),
    )
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id).update(**counts, heartbeat_at=now, updated_at=now)


def _finish_if_done(run_id: uuid.UUID) -> None:
    if EnrichmentRunItem.objects.filter(run_id=run_id, outcome=ItemOutcome.PENDING).exists():
        return
    # Another lane may have recorded its last outcomes without refreshing the counters.
    refresh_counts(run_id)
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.COMPLETED, finished_at=now, updated_at=now
    )


def _status(run_id: uuid.UUID) -> str | None:
    return EnrichmentRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


def process_run(run_id: uuid.UUID, *, stop: StopSignal | None = None) -> str:
    """One lane: work through the run's pending items a chunk at a time.

    Returns why it stopped: ``done`` (nothing left to claim), ``cancelled``,
    ``finished`` (the run had already ended), or ``interrupted`` (asked to stop; the
    rest is handed back and a new lane is enqueued to continue).
    """
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, updated_at=now
    )
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return "finished"
    stop = stop if stop is not None else StopSignal()
    last_check = {"at": time.monotonic(), "cancelled": False}

    def should_stop() -> bool:
        if stop:
            return True
        if time.monotonic() - last_check["at"] >= CANCEL_CHECK_SECONDS:
            last_check["at"] = time.monotonic()
            last_check["cancelled"] = _status(run_id) == RunStatus.CANCELLED
        return last_check["cancelled"]

    while True:
        if stop:
            enqueue_run(run_id, lanes=1, watch=False)  # the run's watchdog goes on
            return "interrupted"
        if _status(run_id) == RunStatus.CANCELLED:
            return "cancelled"
        token = uuid.uuid4()
        items = _claim_items(run_id, token, settings.ENRICHMENT_RUN_CHUNK_SIZE)
        if not items:
            _finish_if_done(run_id)
            return "done"
        item_for = {conversation_pk: item_pk for item_pk, conversation_pk in items}

        def record(outcome: Outcome, token=token, item_for=item_for) -> None:
            # In the transaction of the conversation's own outcome (see the runner).
            sql, params = update_statement(
                EnrichmentRunItem,
                {
                    "outcome": outcome.status,
                    "enrichment_status": outcome.enrichment_status,
                    "error": outcome.error,
                    "error_category": outcome.error_category,
                    "reason": outcome.reason,
                    "duration_ms": round(outcome.duration_ms, 3),
                    "processed_at": timezone.now(),
                    "claim_token": None,
                    "claimed_until": None,
                },
                {"id": item_for[outcome.pk], "claim_token": token},
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)

        enrich_conversations(
            list(item_for),
            force=run.force,
            on_outcome=record,
            should_stop=should_stop,
            group_size=settings.ENRICHMENT_RUN_COMMIT_EVERY,
            retry_failed=run.retry_failed,
        )
        # Items not reached (stopped early) go back to the pool right away.
        EnrichmentRunItem.objects.filter(claim_token=token, outcome=ItemOutcome.PENDING).update(
            claim_token=None, claimed_until=None
        )
        refresh_counts(run_id)


def watch_run(run_id: uuid.UUID) -> bool:
    """Re-enqueue a lane when a run stopped making progress; keep watching until it ends.

    Returns whether a lane was enqueued.
    """
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return False
    from .tasks import enrichment_run_watchdog

    now = timezone.now()
    stalled = run.heartbeat_at is None or run.heartbeat_at < now - item_lease()
    resumed = False
    if stalled and run.items.filter(outcome=ItemOutcome.PENDING).exists():
        logger.warning("Run %s made no progress for %s; resuming it", run.pk, item_lease())
        from .tasks import enrichment_run_lane

        enrichment_run_lane.enqueue(run_id=str(run.pk))
        resumed = True
    elif stalled:
        _finish_if_done(run.pk)
    enrichment_run_watchdog.using(run_after=now + item_lease()).enqueue(run_id=str(run.pk))
    return resumed


# Reading --------------------------------------------------------------------------


def run_payload(run: EnrichmentRun) -> dict:
    return {
        "id": str(run.pk),
        "status": run.status,
        "source": run.source,
        "description": run.description,
        "batchJobId": str(run.batch_job_id) if run.batch_job_id else None,
        "force": run.force,
        "retryFailed": run.retry_failed,
        "retryOf": str(run.retry_of_id) if run.retry_of_id else None,
        "total": run.total,
        "processed": run.processed,
        "enriched": run.enriched,
        "failed": run.failed,
        "skipped": run.skipped,
        "remaining": run.remaining,
        "progressPercent": run.progress_percent,
        "etaSeconds": run.eta_seconds(),
        "createdAt": run.created_at.isoformat(),
        "startedAt": run.started_at.isoformat() if run.started_at else None,
        "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
        "url": f"/api/enrichment-runs/{run.pk}",
    }


# Repairing --------------------------------------------------------------------------


def stuck_conversations(now=None):
    """Conversations held by a claim that expired (their worker died)."""
    now = now or timezone.now()
    return Conversation.objects.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS).filter(
        Q(enrichment_lease_expires_at__lte=now) | Q(enrichment_lease_expires_at__isnull=True)
    )


def stuck_runs(now=None):
    """Unfinished runs with no progress for longer than an item lease."""
    now = now or timezone.now()
    return EnrichmentRun.objects.unfinished().filter(
        Q(heartbeat_at__lt=now - item_lease())
        | Q(heartbeat_at__isnull=True, created_at__lt=now - item_lease())
    )


def repair(now=None) -> tuple[int, int]:
    """Give back expired conversation claims and re-enqueue stuck runs."""
    from .pipeline.run import release_expired_leases

    released = release_expired_leases(now)
    runs = list(stuck_runs(now))
    for run in runs:
        EnrichmentRunItem.objects.filter(
            run=run, outcome=ItemOutcome.PENDING, claimed_until__lt=now or timezone.now()
        ).update(claim_token=None, claimed_until=None)
        enqueue_run(run.pk, lanes=1)
    return released, len(runs)
