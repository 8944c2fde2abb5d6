"""A lane: one worker's share of a run.

A lane claims the next chunk of pending items (a conditional UPDATE with a lease),
enriches them through the runner every entry point uses, records each item's outcome in
the same transaction as the conversation's status, and refreshes the run's counters after
every chunk. Several lanes (and so several workers) share a run without ever taking the
same item. Item leases outlive conversation leases, so a resumed lane never finds its own
dead claims in the way.
"""

import signal
import threading
import time
import uuid

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Subquery
from django.utils import timezone

from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome, RunStatus, item_lease
from enrichment.pipeline.outcomes import Outcome
from enrichment.pipeline.run import Grouped, enrich_conversations
from enrichment.sql import update_statement

# How often a lane looks at the run's status (for a cancel) between conversations.
CANCEL_CHECK_SECONDS = 0.25

# Why a lane stopped.
DONE = "done"  # nothing left to claim
CANCELLED = "cancelled"
FINISHED = "finished"  # the run had already ended
INTERRUPTED = "interrupted"  # asked to stop; the rest was handed back


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
    items = EnrichmentRunItem.objects.filter(run_id=run_id)
    next_items = items.claimable(now).order_by("position").values("pk")[:size]
    # The outer conditions are re-checked on PostgreSQL after waiting for a row lock,
    # so two lanes racing for the same items never both get one.
    EnrichmentRunItem.objects.filter(pk__in=Subquery(next_items)).claimable(now).update(
        claim_token=token, claimed_until=now + item_lease()
    )
    return list(
        EnrichmentRunItem.objects.held_by(token)
        .pending()
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


def finish_if_done(run_id: uuid.UUID) -> None:
    if EnrichmentRunItem.objects.filter(run_id=run_id).pending().exists():
        return
    # Another lane may have recorded its last outcomes without refreshing the counters.
    refresh_counts(run_id)
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.COMPLETED, finished_at=now, updated_at=now
    )


def _status(run_id: uuid.UUID) -> str | None:
    return EnrichmentRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


class RunEnded(Exception):
    """The run was cancelled while this lane was working: the outcome being recorded, and
    the rest of its group, are rolled back, so that the counters the cancel wrote stay
    the run's final numbers."""


def _while_running(run_id: uuid.UUID) -> tuple[str, list]:
    """A condition that holds while the run is unfinished. On PostgreSQL it also takes a
    share lock on the run's row, which ``cancel_run`` must wait for: a cancel either
    comes before an outcome's transaction (which then records nothing) or after it (and
    counts it), never in between."""
    lock = " FOR SHARE" if connection.vendor == "postgresql" else ""
    quote = connection.ops.quote_name
    meta = EnrichmentRun._meta
    sql = (
        f" AND EXISTS (SELECT 1 FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
        f" AND {quote(meta.get_field('status').column)} IN (%s, %s){lock})"
    )
    run_pk = meta.pk.get_db_prep_value(run_id, connection)
    return sql, [run_pk, RunStatus.QUEUED.value, RunStatus.RUNNING.value]


def _recorder(run_id: uuid.UUID, token: uuid.UUID, item_for: dict):
    still_running, running_params = _while_running(run_id)

    def record(outcome: Outcome) -> None:
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
            cursor.execute(sql + still_running, params + running_params)
            missed = cursor.rowcount == 0
        # Only an outcome's transaction can be undone (a skip, recorded before any work,
        # changed nothing and simply stays pending).
        if missed and connection.in_atomic_block and _status(run_id) == RunStatus.CANCELLED:
            raise RunEnded(run_id)

    return record


def process_run(run_id: uuid.UUID, *, stop: StopSignal | None = None) -> str:
    """One lane: work through the run's pending items a chunk at a time.

    Returns why it stopped: ``DONE``, ``CANCELLED``, ``FINISHED`` or ``INTERRUPTED``
    (the caller enqueues a new lane to continue).
    """
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, updated_at=now
    )
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return FINISHED
    stop = stop if stop is not None else StopSignal()
    last_check = {"at": time.monotonic(), "cancelled": False}

    def should_stop() -> bool:
        if stop:
            return True
        if time.monotonic() - last_check["at"] >= CANCEL_CHECK_SECONDS:
            last_check["at"] = time.monotonic()
            last_check["cancelled"] = _status(run_id) == RunStatus.CANCELLED
        return last_check["cancelled"]

    mode = Grouped(settings.ENRICHMENT_RUN_COMMIT_EVERY)
    while True:
        if stop:
            return INTERRUPTED
        if _status(run_id) == RunStatus.CANCELLED:
            return CANCELLED
        token = uuid.uuid4()
        items = _claim_items(run_id, token, settings.ENRICHMENT_RUN_CHUNK_SIZE)
        if not items:
            finish_if_done(run_id)
            return DONE
        item_for = {conversation_pk: item_pk for item_pk, conversation_pk in items}
        try:
            enrich_conversations(
                list(item_for),
                force=run.force,
                retry_failed=run.retry_failed,
                mode=mode,
                on_outcome=_recorder(run_id, token, item_for),
                should_stop=should_stop,
            )
        except RunEnded:
            # The runner gave the conversations of the undone group back.
            cancelled = True
        else:
            cancelled = False
        # Items not reached (stopped early) go back to the pool right away.
        EnrichmentRunItem.objects.held_by(token).pending().update(
            claim_token=None, claimed_until=None
        )
        if cancelled:
            return CANCELLED
        refresh_counts(run_id)
