"""A lane: one of the chains of background jobs that work through a run.

A run is worked on by up to ``ENRICHMENT_RUN_LANES`` lanes at once. Each job of a lane
claims the next chunk of pending items (a conditional UPDATE with the claim token of its
try), enriches them through the runner every entry point uses, commits each group of
outcomes together with its items and the run's counters in one transaction, and then
queues the lane's next job. Lanes share a run without ever taking the same item, and the
runs of several users take turns on the workers, a chunk at a time.

Recovery is the job engine's: a job whose worker died is run again, and its new try
first gives back what the earlier tries of the same job held (``give_back``), whatever
their leases say. A try that was only slow finds every write it still attempts fenced
off: outcomes are conditional on its own claim token.
"""

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from core.sql import update_rows_statement
from enrichment.models import EnrichmentRun, EnrichmentRunItem, ItemOutcome, RunStatus
from enrichment.pipeline.outcomes import Outcome
from enrichment.pipeline.run import Grouped, enrich_conversations, relaxed_commits, release

logger = logging.getLogger("enrichment.runs")

# How often (seconds) a job looks at the run's status, for a cancel, between conversations.
CANCEL_CHECK_SECONDS = 0.25

# What a job of a lane reports.
MORE = "more"  # it processed a chunk; the lane goes on with a next job
DONE = "done"  # nothing left to claim
CANCELLED = "cancelled"
FINISHED = "finished"  # the run had already ended

_ITEM_COLUMNS = ("outcome", "enrichment_status", "error", "error_category", "reason")


def _claim_items(run_id: uuid.UUID, token: uuid.UUID, size: int) -> list[tuple]:
    """Claim the run's next ``size`` pending items nobody holds, for ``token``; their
    ``(id, conversation id)`` in order. Rows another lane is claiming at this instant are
    skipped, not waited for (waiting, a lane would find them taken and claim nothing
    though items are left). The selection is materialized: evaluated once, so its LIMIT
    holds (inside ``IN (…)`` PostgreSQL may run it again per row)."""
    meta = EnrichmentRunItem._meta
    q = connection.ops.quote_name
    table = q(meta.db_table)
    column = {name: q(meta.get_field(name).column) for name in ("run", "outcome", "claim_token")}
    sql = (
        f"WITH next AS MATERIALIZED (SELECT id FROM {table} "
        f"WHERE {column['run']} = %s AND {column['outcome']} = %s "
        f"AND {column['claim_token']} IS NULL "
        f"ORDER BY {q('position')} LIMIT %s FOR UPDATE SKIP LOCKED) "
        f"UPDATE {table} SET {column['claim_token']} = %s FROM next "
        f"WHERE {table}.id = next.id "
        f"RETURNING {table}.id, {table}.{q('position')}, {table}.{q('conversation_id')}"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [run_id, ItemOutcome.PENDING.value, size, token])
        rows = cursor.fetchall()
    return [(pk, conversation) for pk, _, conversation in sorted(rows, key=lambda r: r[1])]


def give_back(run_id: uuid.UUID, tokens: Sequence[uuid.UUID]) -> int:
    """Whatever the claims ``tokens`` (of this run) still hold goes back to the pool: the
    pending items, and their conversations in the state the claims found them."""
    if not tokens:
        return 0
    items = EnrichmentRunItem.objects.filter(run_id=run_id, claim_token__in=list(tokens)).pending()
    with transaction.atomic():
        held = list(items.values_list("conversation_id", flat=True))
        for token in tokens:
            release(token, held)
        return items.update(claim_token=None)


def refresh_counts(run_id: uuid.UUID) -> None:
    """Recompute the run's counters from its items (idempotent, crash-safe)."""
    counts = EnrichmentRunItem.objects.filter(run_id=run_id).aggregate(
        enriched=Count("pk", filter=Q(outcome=ItemOutcome.ENRICHED)),
        failed=Count("pk", filter=Q(outcome=ItemOutcome.FAILED)),
        skipped=Count("pk", filter=Q(outcome=ItemOutcome.SKIPPED)),
    )
    EnrichmentRun.objects.filter(pk=run_id).update(**counts, updated_at=timezone.now())


def finish_if_done(run_id: uuid.UUID) -> bool:
    """Complete the run if none of its items is pending; whether it is finished."""
    if EnrichmentRunItem.objects.filter(run_id=run_id).pending().exists():
        return False
    # The counters were kept with every group; counting the items once more at the end
    # makes them exact whatever happened on the way.
    refresh_counts(run_id)
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        status=RunStatus.COMPLETED, finished_at=now, updated_at=now
    )
    return True


def fail_run(run_id: uuid.UUID, error: str) -> None:
    """The run cannot go on (its work keeps failing); say why. Its other lanes stop at
    their next group."""
    logger.error("Run %s failed: %s", run_id, error)
    now = timezone.now()
    with transaction.atomic():
        if (
            EnrichmentRun.objects.filter(pk=run_id)
            .unfinished()
            .update(status=RunStatus.FAILED, error=error[:2000], finished_at=now, updated_at=now)
        ):
            refresh_counts(run_id)


def _status(run_id: uuid.UUID) -> str | None:
    return EnrichmentRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


class RunEnded(Exception):
    """The run was cancelled while this job was working: the group of outcomes being
    recorded is rolled back, so that the counters the cancel wrote stay the run's final
    numbers."""


def _hold_running(run_id: uuid.UUID) -> None:
    """In an outcome's transaction: go on only while the run is unfinished. This locks
    the run's row, which ``cancel_run`` must wait for: a cancel comes either before the
    transaction (which then records nothing) or after it (and counts it), never in
    between. The lock is the one the transaction's counter UPDATE takes anyway (not a
    share lock: two lanes holding one each would deadlock upgrading it)."""
    meta = EnrichmentRun._meta
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {quote(meta.get_field('status').column)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.pk.column)} = %s FOR NO KEY UPDATE"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(run_id, connection)])
        row = cursor.fetchone()
    if row is None or row[0] not in (RunStatus.QUEUED, RunStatus.RUNNING):
        raise RunEnded(run_id)


def _recorder(run_id: uuid.UUID, token: uuid.UUID, item_for: dict):
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
            constants={"processed_at": now, "claim_token": None},
            where={"claim_token": token},
            returning="outcome",
        )
        # With the conversations' outcomes when there are some (one transaction); skips
        # of conversations never claimed come alone.
        with transaction.atomic(savepoint=False):
            _hold_running(run_id)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                counts = Counter(outcome for (outcome,) in cursor.fetchall())
            counted = {name: counts[name] for name in ("enriched", "failed", "skipped")}
            if any(counted.values()):
                EnrichmentRun.objects.filter(pk=run_id).update(
                    **{name: F(name) + count for name, count in counted.items()},
                    updated_at=now,
                )

    return record


class _CancelWatch:
    """Asked between conversations: has the run been cancelled (looked up every
    ``CANCEL_CHECK_SECONDS``)?"""

    def __init__(self, run_id: uuid.UUID) -> None:
        self.run_id = run_id
        self.checked_at = 0.0
        self.cancelled = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self.checked_at >= CANCEL_CHECK_SECONDS:
            self.checked_at = now
            self.cancelled = _status(self.run_id) == RunStatus.CANCELLED
        return self.cancelled


def process_chunk(
    run_id: uuid.UUID,
    *,
    token: uuid.UUID,
    earlier: Sequence[uuid.UUID] = (),
    on_claimed: Callable[[int], None] | None = None,
) -> str:
    """One job of a lane: give back what ``earlier`` tries of this job held, then claim
    the run's next chunk of pending items with ``token``, enrich and record them.

    Returns ``MORE`` (a chunk was processed: queue the lane's next job), ``DONE``,
    ``CANCELLED`` or ``FINISHED``. Any error gives back what this try holds, then is
    raised (the engine tries the job again).
    """
    now = timezone.now()
    EnrichmentRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now, updated_at=now
    )
    run = EnrichmentRun.objects.filter(pk=run_id).first()
    if run is None or run.is_finished:
        give_back(run_id, [*earlier, token])
        return FINISHED
    give_back(run_id, earlier)
    items = _claim_items(run.pk, token, settings.ENRICHMENT_RUN_CHUNK_SIZE)
    if not items:
        finish_if_done(run.pk)
        return DONE
    if on_claimed:
        on_claimed(len(items))
    item_for = {conversation_pk: item_pk for item_pk, conversation_pk in items}
    watch = _CancelWatch(run.pk)
    try:
        with relaxed_commits():
            enrich_conversations(
                list(item_for),
                force=run.force,
                retry_failed=run.retry_failed,
                mode=Grouped(settings.ENRICHMENT_RUN_COMMIT_EVERY),
                on_outcomes=_recorder(run.pk, token, item_for),
                should_stop=watch,
                token=token,
            )
    except RunEnded:
        # Cancelled while recording: that group was rolled back and its conversations
        # given back by the runner; its items stay pending.
        watch.cancelled = True
    finally:
        # Items not reached (cancelled, or an error) go back to the pool at once.
        EnrichmentRunItem.objects.filter(pk__in=list(item_for.values())).held_by(
            token
        ).pending().update(claim_token=None)
    if watch.cancelled:
        return CANCELLED
    return MORE


def process_run(run_id: uuid.UUID) -> str:
    """Work through the whole run in this process, a chunk at a time (what its lanes do
    in the background); returns why it stopped: ``DONE``, ``CANCELLED`` or ``FINISHED``."""
    while (stopped := process_chunk(run_id, token=uuid.uuid4())) == MORE:
        pass
    return stopped
