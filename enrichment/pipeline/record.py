"""Recording outcomes: each conversation's outcome and status written conditionally on the
claim that holds it, so a caller whose lease expired and was taken over can never
overwrite the newer outcome; the counts of the batch jobs holding it follow in the same
transaction."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from conversations import counts
from conversations.models import (
    Conversation,
    EnrichmentStatus,
    ReviewAction,
    ReviewActionKind,
    ReviewStatus,
)
from core import storage
from core.sql import update_rows_statement, update_statement

from .outcomes import ENRICHED, FAILED, IN_PROGRESS, SKIPPED, Outcome

OnOutcome = Callable[[Outcome], None]
# Called once per transaction with the outcomes committed in it.
OnOutcomes = Callable[[list[Outcome]], None]

# What the outcome UPDATE must also set, besides the outcome's own fields.
_CLEARED_CLAIM = {"enrichment_lease_expires_at": None, "enrichment_claim_token": None}
# What a success also sets: the new output waits for a person's review, whatever an
# earlier output's review decided (that decision stays in the history).
_TO_REVIEW = {
    "review_status": ReviewStatus.PENDING.value,
    "approved_by": None,
    "approved_at": None,
}


@dataclass
class Processed:
    """One conversation after the stages: the fields of its outcome, not yet recorded."""

    conversation: Conversation
    fields: dict
    duration_ms: float = 0.0  # its own work: reading, the stages, writing

    @property
    def succeeded(self) -> bool:
        return self.fields.get("last_failure_error") is None

    def values(self, now) -> dict:
        values = {**self.fields, **_CLEARED_CLAIM, "updated_at": now}
        values["enriched_at" if self.succeeded else "last_failed_at"] = now
        if self.succeeded:
            values.update(_TO_REVIEW)
        return values

    @property
    def output_path(self) -> str | None:
        """The file this attempt wrote (a success's), at its claim's own path."""
        return self.fields.get("enriched_file_path") if self.succeeded else None

    @property
    def back_to_review(self) -> bool:
        """A success over output a person had already reviewed."""
        before = self.conversation.review_status
        return self.succeeded and before not in (None, ReviewStatus.PENDING)

    def outcome(self, written: bool) -> Outcome:
        conversation = self.conversation
        if not written:
            # Our lease expired and another caller took the conversation over; its
            # outcome wins.
            return Outcome(
                conversation.pk,
                conversation.conversation_id,
                SKIPPED,
                EnrichmentStatus.IN_PROGRESS,
                reason=IN_PROGRESS,
                duration_ms=self.duration_ms,
            )
        return Outcome(
            conversation.pk,
            conversation.conversation_id,
            ENRICHED if self.succeeded else FAILED,
            self.fields["enrichment_status"],
            error=self.fields.get("last_failure_error"),
            error_category=self.fields.get("last_failure_category"),
            duration_ms=self.duration_ms,
        )


def discard_files(processed: list[Processed], written: set) -> None:
    """Remove the files nothing points at any more: a losing attempt's own output at
    once (its claim was taken over, so the row never pointed at it), and, once the
    winner's outcome is committed, the output it superseded (never the current one).
    Best effort: a file left behind wastes space, never correctness."""
    superseded = []
    for done in processed:
        new = done.output_path
        if new is None:
            continue
        if done.conversation.pk not in written:
            storage.delete_file(new)
        elif (old := done.conversation.enriched_file_path) and old != new:
            superseded.append(old)
    if superseded:
        transaction.on_commit(lambda: [storage.delete_file(path) for path in superseded])


def report(
    outcomes: list[Outcome], on_outcome: OnOutcome | None, on_outcomes: OnOutcomes | None
) -> None:
    if on_outcomes and outcomes:
        on_outcomes(outcomes)
    if on_outcome:
        for outcome in outcomes:
            on_outcome(outcome)


def record_one(
    processed: Processed,
    token: uuid.UUID,
    on_outcome: OnOutcome | None = None,
    on_outcomes: OnOutcomes | None = None,
) -> Outcome:
    """Write one outcome and status in one UPDATE, conditional on our claim.

    The batch jobs' counts and the callbacks go in the same transaction, so what a caller
    records about the outcome (a run's item) is committed together with the
    conversation's status or not at all: a crash in between can never leave one without
    the other.
    """
    sql, params = update_statement(
        Conversation,
        processed.values(timezone.now()),
        {"id": processed.conversation.pk, "enrichment_claim_token": token},
    )
    # savepoint=False: inside a caller's transaction this joins it for free.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            written = cursor.rowcount > 0
        if written:
            counts.move([_move(processed)])
            _note_back_to_review([processed])
        outcome = processed.outcome(written)
        report([outcome], on_outcome, on_outcomes)
        discard_files([processed], {processed.conversation.pk} if written else set())
    return outcome


def _move(processed: Processed) -> tuple:
    """The settled status the outcome changes (see ``conversations.counts``)."""
    conversation = processed.conversation
    return (
        conversation.pk,
        conversation.enrichment_status_before_claim,
        processed.fields["enrichment_status"],
    )


def _note_back_to_review(written: list[Processed]) -> None:
    """The system's entry in the review history of each reviewed conversation that a new
    output sends back to the queue."""
    ReviewAction.objects.bulk_create(
        ReviewAction(
            conversation_id=p.conversation.pk,
            action=ReviewActionKind.MOVED_TO_REVIEW,
            comment=f"Enriched again; the earlier output was {p.conversation.review_status}.",
        )
        for p in written
        if p.back_to_review
    )


def record_many(
    batch: list[Processed],
    token: uuid.UUID,
    on_outcome: OnOutcome | None = None,
    on_outcomes: OnOutcomes | None = None,
) -> list[Outcome]:
    """Write several outcomes in one transaction: one UPDATE for all of them (one per
    kind of outcome that sets other columns), conditional on our claim.

    The rows the statement answers are exactly those still held by our claim: a
    conversation whose lease expired and was taken over keeps the newer caller's outcome
    and is reported ``in_progress``.
    """
    if not batch:
        return []
    now = timezone.now()
    by_columns: dict[tuple, list[tuple]] = {}
    # Rows in one order (by primary key) for every writer, so two cannot deadlock.
    for processed in sorted(batch, key=lambda p: p.conversation.pk):
        values = processed.values(now)
        by_columns.setdefault(tuple(values), []).append(
            (processed.conversation.pk, *values.values())
        )
    to_python = Conversation._meta.pk.to_python
    written = set()
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            for columns, rows in by_columns.items():
                sql, params = update_rows_statement(
                    Conversation,
                    columns,
                    rows,
                    where={"enrichment_claim_token": token},
                    returning="id",
                )
                cursor.execute(sql, params)
                written.update(to_python(pk) for (pk,) in cursor.fetchall())
        counts.move(_move(p) for p in batch if p.conversation.pk in written)
        _note_back_to_review([p for p in batch if p.conversation.pk in written])
        outcomes = [p.outcome(p.conversation.pk in written) for p in batch]
        report(outcomes, on_outcome, on_outcomes)
        discard_files(batch, written)
    return outcomes
