"""The runner: the I/O around the pure stages, for any set of conversations.

It claims them (one conditional UPDATE), loads what the stages read, processes each one
(``process``), records the outcomes (``record``) in the chosen mode, and gives back
whatever it did not get to. No per-stage status writes.

Queries for N conversations: 1 claim UPDATE + 1 SELECT of what was claimed (scaffolding
joined up to 4 conversations; beyond, 1 more SELECT per kind of scaffolding in use) +
1 SELECT of rows not claimed (for their skip reason, only when there are some), then the
outcomes, by mode:

- ``SEQUENTIAL`` (the default): N UPDATEs, each committed on its own, so every
  conversation is durable as soon as it is done and one failure never touches another;
- ``Parallel`` (several at once) and ``Grouped`` (background runs): per group, 1 SELECT …
  FOR UPDATE of the rows still held + 1 batched UPDATE (``executemany``), in one
  transaction.
"""

import contextvars
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter

from django.conf import settings
from django.db import connection
from django.utils import timezone

from enrichment.models import Conversation, EnrichmentStatus

from .inputs import current_profile, load_claimed
from .outcomes import (
    ALREADY_ENRICHED,
    IN_PROGRESS,
    INACTIVE,
    PREVIOUSLY_FAILED,
    SKIPPED,
    Outcome,
)
from .process import outcome_fields
from .record import OnOutcome, Processed, record_many, record_one

ShouldStop = Callable[[], bool]
Work = Callable[[Conversation], Processed]


# Modes ------------------------------------------------------------------------------------


class Sequential:
    """One after another, each outcome committed on its own."""

    def run(self, claimed, work: Work, token, on_outcome, should_stop) -> list[Outcome]:
        outcomes = []
        for conversation in claimed:
            if should_stop is not None and should_stop():
                break
            outcomes.append(record_one(work(conversation), token, on_outcome))
        return outcomes


@dataclass(frozen=True)
class Grouped:
    """``size`` conversations processed, then their outcomes committed together (background
    runs, where a commit per conversation would dominate). No transaction stays open while
    the work runs."""

    size: int

    def run(self, claimed, work: Work, token, on_outcome, should_stop) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for start in range(0, len(claimed), self.size):
            group = claimed[start : start + self.size]
            batch = []
            for conversation in group:
                if should_stop is not None and should_stop():
                    break
                batch.append(work(conversation))
            outcomes += record_many(batch, token, on_outcome)
            if len(batch) < len(group):
                break  # asked to stop
        return outcomes


@dataclass(frozen=True)
class Parallel:
    """Up to ``ENRICHMENT_MAX_PARALLEL`` at once; every outcome committed in one
    transaction. Not interruptible between conversations."""

    def run(self, claimed, work: Work, token, on_outcome, should_stop) -> list[Outcome]:
        if len(claimed) < 2:
            return SEQUENTIAL.run(claimed, work, token, on_outcome, should_stop)
        workers = min(settings.ENRICHMENT_MAX_PARALLEL, len(claimed))
        # The threads log with this thread's context (the request id of the logs).
        context = contextvars.copy_context()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich") as pool:
            # Stages and file I/O run in the pool; the outcomes are written on this
            # thread (this request's connection), all in one transaction.
            batch = list(pool.map(lambda c: context.copy().run(work, c), claimed))
        return record_many(batch, token, on_outcome)


SEQUENTIAL = Sequential()
PARALLEL = Parallel()
Mode = Sequential | Grouped | Parallel


# Claims -----------------------------------------------------------------------------------


def claim(
    pks: Iterable[uuid.UUID], *, force: bool = False, retry_failed: bool = True
) -> tuple[uuid.UUID, datetime]:
    """Claim every claimable conversation among ``pks`` in one conditional UPDATE.

    Claimable: active, not held by a live lease, unless ``force`` not completed, and
    unless ``retry_failed`` not in a failed state.
    """
    now = timezone.now()
    token = uuid.uuid4()
    rows = Conversation.objects.filter(pk__in=list(pks), is_active=True).claimable(now, force=force)
    if not retry_failed:
        rows = rows.exclude(enrichment_status__in=EnrichmentStatus.failed())
    rows.claim(token, now)
    return token, now


def release(token: uuid.UUID, pks: Iterable[uuid.UUID] | None = None) -> int:
    """Give back every conversation still held by ``token`` (claimed, not processed), in
    the state the claim found it. ``pks``, the rows the claim was over, lets the
    statement find them by primary key instead of scanning for the token."""
    rows = Conversation.objects.held_by(token)
    if pks is not None:
        rows = rows.filter(pk__in=list(pks))
    return rows.release()


def release_expired_leases(now: datetime | None = None) -> int:
    """Give back conversations whose claim expired (their worker died), in the state the
    claim found them, so that whatever was enriching them picks them up again."""
    now = now or timezone.now()
    return Conversation.objects.with_expired_claim(now).release(now)


def _skip_reason(active: bool, status: str) -> str:
    if not active:
        return INACTIVE
    if status == EnrichmentStatus.COMPLETED:
        return ALREADY_ENRICHED
    if status in EnrichmentStatus.failed():
        return PREVIOUSLY_FAILED
    return IN_PROGRESS


def _skipped(missed: list[uuid.UUID]) -> list[Outcome]:
    rows = Conversation.objects.filter(pk__in=missed).values_list(
        "pk", "conversation_id", "enrichment_status", "is_active"
    )
    return [
        Outcome(pk, business_id, SKIPPED, status, reason=_skip_reason(active, status))
        for pk, business_id, status, active in rows
    ]


# The runner -------------------------------------------------------------------------------


def enrich_conversations(
    pks: Iterable[uuid.UUID | str],
    *,
    force: bool = False,
    retry_failed: bool = True,
    mode: Mode = SEQUENTIAL,
    on_outcome: OnOutcome | None = None,
    should_stop: ShouldStop | None = None,
) -> list[Outcome]:
    """Enrich the given conversations (row ids); return one outcome per id, in order.

    Unclaimable ones are skipped: deactivated → ``inactive``, completed →
    ``already_enriched`` (unless ``force``), held by a live lease → ``in_progress``,
    failed before → ``previously_failed`` (only when ``retry_failed`` is false).
    ``should_stop`` is asked between conversations (not in parallel mode); once it
    answers true, the conversations not yet processed are released unchanged and left
    out of the returned outcomes. An outcome and what ``on_outcome`` records about it are
    always committed together.
    """
    pks = list(dict.fromkeys(pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)) for pk in pks))
    if not pks:
        return []
    with _relaxed_commits():
        token, claimed_at = claim(pks, force=force, retry_failed=retry_failed)
        claimed = load_claimed(pks, token)
        outcomes: dict[uuid.UUID, Outcome] = {}
        claimed_pks = {c.pk for c in claimed}
        for outcome in _skipped([pk for pk in pks if pk not in claimed_pks]):
            outcomes[outcome.pk] = outcome
            if on_outcome:
                on_outcome(outcome)

        profile = current_profile()
        validated_at = claimed_at.isoformat()

        def work(conversation: Conversation) -> Processed:
            started = perf_counter()
            fields = outcome_fields(conversation, profile, validated_at)
            return Processed(conversation, fields, started, perf_counter())

        try:
            for outcome in mode.run(claimed, work, token, on_outcome, should_stop):
                outcomes[outcome.pk] = outcome
        finally:
            # Whatever was not processed (asked to stop, or an error escaped) is given back
            # at once rather than held until its lease expires. Inside a caller's
            # transaction that an error doomed, the claim itself is rolled back with it,
            # and any query would only hide the original error.
            doomed = connection.in_atomic_block and connection.needs_rollback
            if any(c.pk not in outcomes for c in claimed) and not doomed:
                release(token, [c.pk for c in claimed])
    return [outcomes[pk] for pk in pks if pk in outcomes]


@contextmanager
def _relaxed_commits():
    """On PostgreSQL, don't wait for the WAL flush on each outcome's commit.

    Every outcome stays atomic; what a server crash could lose is only the last
    acknowledged outcomes, which leaves those conversations claimed until their lease
    expires, after which they are enriched again (the file written is the same). That
    trade saves a disk flush per conversation. Inside a caller's transaction nothing is
    changed (SET would outlive it otherwise).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
