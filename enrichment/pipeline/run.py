"""The runner: the I/O around the pure stages, for any set of conversations.

It claims them (one conditional UPDATE), loads what the stages read, processes each one
(``process``: the stages on this thread, storage reads and writes overlapped on a few I/O
threads, see ``overlap``), records the outcomes (``record``) in the chosen mode, and gives
back whatever it did not get to. No per-stage status writes.

Queries for N conversations: 1 claim UPDATE + 1 SELECT of what was claimed (scaffolding
joined up to 4 conversations; beyond, 1 more SELECT per kind of scaffolding in use) +
1 SELECT of rows not claimed (for their skip reason, only when there are some), then the
outcomes, by mode:

- ``SEQUENTIAL`` (the default): N UPDATEs, each committed on its own, so every
  conversation is durable as soon as it is done and one failure never touches another;
- ``Parallel`` (several at once) and ``Grouped`` (background runs): per group, 1 UPDATE
  of every outcome (1 more per further kind of outcome: successes and failures set
  different columns), conditional on the claim, in one transaction.
"""

import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import connection
from django.utils import timezone

from conversations.models import Conversation, EnrichmentStatus

from .inputs import current_profile, load_claimed
from .outcomes import (
    ALREADY_ENRICHED,
    IN_PROGRESS,
    INACTIVE,
    PREVIOUSLY_FAILED,
    SKIPPED,
    Outcome,
)
from .overlap import Steps, processed
from .process import failure_fields, read, stage, store
from .record import OnOutcome, OnOutcomes, record_many, record_one, report

ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class Recording:
    """Where the outcomes go: the claim they are conditional on, and the callers' hooks
    (run in the transaction of the outcomes they are given)."""

    token: uuid.UUID
    on_outcome: OnOutcome | None = None
    on_outcomes: OnOutcomes | None = None


# Modes ------------------------------------------------------------------------------------


class Sequential:
    """One after another, each outcome committed on its own."""

    def run(self, claimed, steps: Steps, recording: Recording, should_stop) -> list[Outcome]:
        return [
            record_one(done, recording.token, recording.on_outcome, recording.on_outcomes)
            for done in processed(claimed, steps, should_stop)
        ]


@dataclass(frozen=True)
class Grouped:
    """``size`` conversations processed, then their outcomes committed together (background
    runs, where a commit per conversation would dominate). No transaction stays open while
    the work runs."""

    size: int

    def run(self, claimed, steps: Steps, recording: Recording, should_stop) -> list[Outcome]:
        outcomes: list[Outcome] = []
        group = []
        for done in processed(claimed, steps, should_stop):
            group.append(done)
            if len(group) >= self.size:
                outcomes += _record(group, recording)
                group = []
        return outcomes + _record(group, recording)


@dataclass(frozen=True)
class Parallel:
    """Storage I/O of up to ``ENRICHMENT_MAX_PARALLEL`` conversations at once; every
    outcome committed in one transaction. Not interruptible between conversations."""

    def run(self, claimed, steps: Steps, recording: Recording, should_stop) -> list[Outcome]:
        if len(claimed) < 2:
            return SEQUENTIAL.run(claimed, steps, recording, should_stop)
        return _record(list(processed(claimed, steps)), recording)


def _record(group: list, recording: Recording) -> list[Outcome]:
    return record_many(group, recording.token, recording.on_outcome, recording.on_outcomes)


SEQUENTIAL = Sequential()
PARALLEL = Parallel()
Mode = Sequential | Grouped | Parallel


# Claims -----------------------------------------------------------------------------------


def claim(
    pks: Iterable[uuid.UUID],
    *,
    force: bool = False,
    retry_failed: bool = True,
    token: uuid.UUID | None = None,
) -> tuple[uuid.UUID, datetime]:
    """Claim every claimable conversation among ``pks`` in one conditional UPDATE, for
    ``token`` (a new one unless given).

    Claimable: active, not held by a live lease, unless ``force`` not completed, and
    unless ``retry_failed`` not in a failed state.
    """
    now = timezone.now()
    token = token or uuid.uuid4()
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
    on_outcomes: OnOutcomes | None = None,
    should_stop: ShouldStop | None = None,
    token: uuid.UUID | None = None,
) -> list[Outcome]:
    """Enrich the given conversations (row ids); return one outcome per id, in order.

    Unclaimable ones are skipped: deactivated → ``inactive``, completed →
    ``already_enriched`` (unless ``force``), held by a live lease → ``in_progress``,
    failed before → ``previously_failed`` (only when ``retry_failed`` is false).
    ``should_stop`` is asked between conversations (not in parallel mode); once it
    answers true, the conversations not yet processed are released unchanged and left
    out of the returned outcomes. An outcome and what ``on_outcome`` (each outcome) and
    ``on_outcomes`` (the outcomes of one transaction) record about it are always
    committed together. ``token`` claims them for a caller that must find its claims
    again (a run's job); by default a new one.
    """
    pks = list(dict.fromkeys(pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk)) for pk in pks))
    if not pks:
        return []
    with relaxed_commits():
        token, claimed_at = claim(pks, force=force, retry_failed=retry_failed, token=token)
        claimed = load_claimed(pks, token)
        outcomes: dict[uuid.UUID, Outcome] = {}
        claimed_pks = {c.pk for c in claimed}
        skipped = _skipped([pk for pk in pks if pk not in claimed_pks])
        outcomes.update((outcome.pk, outcome) for outcome in skipped)
        report(skipped, on_outcome, on_outcomes)

        profile = current_profile()
        steps = Steps(
            read=read,
            stage=partial(_stage, profile=profile, validated_at=claimed_at.isoformat()),
            store=store,
            failed=failure_fields,
        )
        recording = Recording(token, on_outcome, on_outcomes)
        try:
            for outcome in mode.run(claimed, steps, recording, should_stop):
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


def _stage(source: bytes, conversation: Conversation, *, profile, validated_at: str):
    # Looked up at each call, so that a test can wrap the stages.
    return stage(source, conversation, profile, validated_at)


@contextmanager
def relaxed_commits():
    """Don't wait for the WAL flush on each outcome's commit.

    Every outcome stays atomic; what a server crash could lose is only the last
    acknowledged outcomes, which leaves those conversations claimed until their lease
    expires, after which they are enriched again (the file written is the same). That
    trade saves a disk flush per conversation. Inside a caller's transaction nothing is
    changed (SET would outlive it otherwise); inside an outer ``relaxed_commits`` (a
    run's job, around its chunk) neither.
    """
    if connection.in_atomic_block or getattr(connection, "relaxed_commits", False):
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    connection.relaxed_commits = True
    try:
        yield
    finally:
        connection.relaxed_commits = False
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")
