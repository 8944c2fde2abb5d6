"""A lane: one task's share of a run.

A lane claims the next chunk of pending items (a conditional UPDATE with a lease),
enriches them through the runner every entry point uses, and commits each group of
outcomes together with its items and the lane's and the run's counters, in one
transaction. Several lanes (and so several workers) share a run without ever taking the
same item.

Each lane has a row (``EnrichmentRunLane``): its id is the claim token of every item and
conversation it holds, and its heartbeat (every group committed, and at least every few
seconds) proves it alive. A lane that goes silent is taken over (``takeover``); one that
finds it was taken over stops. Item leases outlive conversation leases, so that a lane
that dies without a row to take over (an older version) is still resumed in the end.
"""

import logging
import signal
import threading
import time
import uuid
from collections import Counter

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Q, Subquery
from django.utils import timezone

from enrichment.models import (
    EnrichmentRun,
    EnrichmentRunItem,
    EnrichmentRunLane,
    ItemOutcome,
    LaneStatus,
    RunStatus,
    item_lease,
    lane_timeout,
)
from enrichment.pipeline.outcomes import Outcome
from enrichment.pipeline.run import Grouped, enrich_conversations, relaxed_commits
from enrichment.sql import update_rows_statement

from .takeover import hand_back, take_over_lost_lanes

logger = logging.getLogger("enrichment.runs")

# How often a lane looks at the run's status (for a cancel) between conversations.
CANCEL_CHECK_SECONDS = 0.25

# Why a lane stopped.
DONE = "done"  # nothing left to claim
CANCELLED = "cancelled"
FINISHED = "finished"  # the run had already ended
INTERRUPTED = "interrupted"  # asked to stop, or lost its database; the rest was handed back
LOST = "lost"  # went silent long enough that its work was taken over

_ITEM_COLUMNS = ("outcome", "enrichment_status", "error", "error_category", "reason")


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
    # The counters were kept with every group; counting the items once more at the end
    # makes them exact whatever happened on the way.
    refresh_counts(run_id)
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.COMPLETED, finished_at=now, updated_at=now
    )


def _status(run_id: uuid.UUID) -> str | None:
    return EnrichmentRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


class RunEnded(Exception):
    """The run was cancelled while this lane was working: the group of outcomes being
    recorded is rolled back, so that the counters the cancel wrote stay the run's final
    numbers."""


def _hold_running(run_id: uuid.UUID) -> None:
    """In an outcome's transaction: go on only while the run is unfinished. On PostgreSQL
    this locks the run's row, which ``cancel_run`` must wait for: a cancel comes either
    before the transaction (which then records nothing) or after it (and counts it),
    never in between. The lock is the one the transaction's counter UPDATE takes anyway
    (not a share lock: two lanes holding one each would deadlock upgrading it)."""
    meta = EnrichmentRun._meta
    quote = connection.ops.quote_name
    lock = " FOR NO KEY UPDATE" if connection.vendor == "postgresql" else ""
    sql = (
        f"SELECT {quote(meta.get_field('status').column)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.pk.column)} = %s{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(run_id, connection)])
        row = cursor.fetchone()
    if row is None or row[0] not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise RunEnded(run_id)


class Lane:
    """A running lane: its row, its heartbeat, and how it records outcomes."""

    def __init__(self, run: EnrichmentRun, row: EnrichmentRunLane, stop: StopSignal) -> None:
        self.run = run
        self.row = row
        self.stop = stop
        self.lost = False
        self.cancelled = False
        now = time.monotonic()
        self.checked_at = now
        self.beaten_at = now
        self.looked_around_at = now
        self.beat_every = lane_timeout().total_seconds() / 6

    def work(self) -> str:
        run = self.run
        mode = Grouped(settings.ENRICHMENT_RUN_COMMIT_EVERY)
        while True:
            if self.stop:
                return INTERRUPTED
            if self.lost:
                return LOST
            if _status(run.pk) == RunStatus.CANCELLED:
                return CANCELLED
            self.look_around()
            items = _claim_items(run.pk, self.row.pk, settings.ENRICHMENT_RUN_CHUNK_SIZE)
            if not items:
                finish_if_done(run.pk)
                return DONE
            item_for = {conversation_pk: item_pk for item_pk, conversation_pk in items}
            try:
                outcomes = enrich_conversations(
                    list(item_for),
                    force=run.force,
                    retry_failed=run.retry_failed,
                    mode=mode,
                    on_outcomes=self.recorder(item_for),
                    should_stop=self.should_stop,
                    token=self.row.pk,
                    keepalive=self.keep_beating,
                )
            except RunEnded:
                # Cancelled while recording: that group was rolled back and its
                # conversations given back by the runner; its items stay pending.
                outcomes = []
                self.cancelled = True
            if len(outcomes) < len(items):
                # Items not reached (stopped early) go back to the pool right away.
                EnrichmentRunItem.objects.filter(pk__in=list(item_for.values())).held_by(
                    self.row.pk
                ).pending().update(claim_token=None, claimed_until=None)
            if self.cancelled:
                return CANCELLED

    def keep_beating(self) -> None:
        """Beat when due: between conversations, and while waiting for a slow read or
        write, so that a lane at work never looks silent."""
        if time.monotonic() - self.beaten_at >= self.beat_every:
            self.beat()

    def should_stop(self) -> bool:
        """Asked between conversations: a stop signal, a cancel (looked up every
        ``CANCEL_CHECK_SECONDS``) or a takeover of this lane. Beats when due."""
        if self.stop or self.lost:
            return True
        self.keep_beating()
        now = time.monotonic()
        if now - self.checked_at >= CANCEL_CHECK_SECONDS:
            self.checked_at = now
            self.cancelled = _status(self.run.pk) == RunStatus.CANCELLED
        return self.cancelled or self.lost

    def beat(self, **counts: int) -> None:
        """The heartbeat (with the outcomes just committed, if any); a lane that finds it
        was taken over stops."""
        changes = {name: F(name) + count for name, count in counts.items() if count}
        alive = EnrichmentRunLane.objects.filter(pk=self.row.pk, status=LaneStatus.RUNNING)
        if not alive.update(heartbeat_at=timezone.now(), **changes):
            self.lost = True
        self.beaten_at = time.monotonic()

    def look_around(self) -> None:
        """Take over the run's lanes that went silent, now and then: the lanes still
        working need not wait for the watchdog."""
        now = time.monotonic()
        if now - self.looked_around_at >= self.beat_every:
            self.looked_around_at = now
            take_over_lost_lanes(self.run.pk)

    def recorder(self, item_for: dict):
        def record(outcomes: list[Outcome]) -> None:
            now = timezone.now()
            rows = [
                (
                    item_for[o.pk],
                    o.status,
                    o.enrichment_status,
                    o.error,
                    o.error_category,
                    o.reason,
                    round(o.duration_ms, 3),
                )
                for o in outcomes
            ]
            sql, params = update_rows_statement(
                EnrichmentRunItem,
                (*_ITEM_COLUMNS, "duration_ms"),
                rows,
                constants={"processed_at": now, "claim_token": None, "claimed_until": None},
                where={"claim_token": self.row.pk},
                returning="outcome",
            )
            # With the conversations' outcomes when there are some (one transaction);
            # skips of conversations never claimed come alone.
            with transaction.atomic(savepoint=False):
                _hold_running(self.run.pk)
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                    counts = Counter(outcome for (outcome,) in cursor.fetchall())
                counted = {name: counts[name] for name in ("enriched", "failed", "skipped")}
                self.beat(**counted)
                if any(counted.values()):
                    EnrichmentRun.objects.filter(pk=self.run.pk).update(
                        **{name: F(name) + count for name, count in counted.items()},
                        heartbeat_at=now,
                        updated_at=now,
                    )

        return record


def process_run(
    run_id: uuid.UUID,
    *,
    stop: StopSignal | None = None,
    task_result_id: str = "",
    worker_id: str = "",
) -> str:
    """One lane: work through the run's pending items a chunk at a time.

    Returns why it stopped: ``DONE``, ``CANCELLED``, ``FINISHED``, ``LOST`` or
    ``INTERRUPTED`` (the caller enqueues a new lane to continue). A lane that loses its
    database connection gives its work back over a new one and ends ``INTERRUPTED``; if
    that fails too, the error is raised and the lane is taken over once it is silent. Any
    other error gives the work back, marks the lane failed and is raised.
    """
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, updated_at=now
    )
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        return FINISHED
    row = EnrichmentRunLane.objects.create(
        run=run, task_result_id=task_result_id, worker_id=worker_id[:64]
    )
    lane = Lane(run, row, stop if stop is not None else StopSignal())
    try:
        with relaxed_commits():
            stopped = lane.work()
    except (OperationalError, InterfaceError):
        logger.exception("Lane %s of run %s lost its database connection", row.pk, run_id)
        connection.close()
        hand_back(row.pk)  # over a new connection; raises if there is none
        return INTERRUPTED
    except Exception as error:
        # Not one conversation's failure (those are outcomes): the lane itself broke. Its
        # work goes back; the watchdog resumes the run, and fails it if lanes keep failing.
        hand_back(row.pk, error=f"{error.__class__.__name__}: {error}"[:2000])
        raise
    hand_back(row.pk)
    return stopped
