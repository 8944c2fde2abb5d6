"""Recording outcomes: each conversation's outcome and status in one UPDATE, conditional
on the claim that holds it, so a caller whose lease expired and was taken over can never
overwrite the newer outcome."""

import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from time import perf_counter

from django.db import connection, transaction
from django.utils import timezone

from enrichment.models import Conversation, EnrichmentStatus
from enrichment.sql import update_statement

from .outcomes import ENRICHED, FAILED, IN_PROGRESS, SKIPPED, Outcome

OnOutcome = Callable[[Outcome], None]

# What the outcome UPDATE must also set, besides the outcome's own fields.
_CLEARED_CLAIM = {"enrichment_lease_expires_at": None, "enrichment_claim_token": None}


@dataclass
class Processed:
    """One conversation after the stages: the fields of its outcome, not yet recorded."""

    conversation: Conversation
    fields: dict
    started: float
    finished: float | None = None  # when the stages and the file write were done

    def statement(self, token: uuid.UUID) -> tuple[str, list]:
        now = timezone.now()
        fields = {**self.fields, **_CLEARED_CLAIM, "updated_at": now}
        if fields["enrichment_status"] == EnrichmentStatus.COMPLETED:
            fields["enriched_at"] = now
        return update_statement(
            Conversation, fields, {"id": self.conversation.pk, "enrichment_claim_token": token}
        )

    def outcome(self, written: bool) -> Outcome:
        conversation = self.conversation
        # The conversation's own work only: in a group it must not include the time
        # spent on the conversations processed after it.
        duration_ms = ((self.finished or perf_counter()) - self.started) * 1000
        if not written:
            # Our lease expired and another caller took the conversation over; its
            # outcome wins.
            return Outcome(
                conversation.pk,
                conversation.conversation_id,
                SKIPPED,
                EnrichmentStatus.IN_PROGRESS,
                reason=IN_PROGRESS,
                duration_ms=duration_ms,
            )
        status = self.fields["enrichment_status"]
        return Outcome(
            conversation.pk,
            conversation.conversation_id,
            ENRICHED if status == EnrichmentStatus.COMPLETED else FAILED,
            status,
            error=self.fields.get("enrichment_error"),
            error_category=self.fields.get("enrichment_error_category"),
            duration_ms=duration_ms,
        )


def record_one(
    processed: Processed, token: uuid.UUID, on_outcome: OnOutcome | None = None
) -> Outcome:
    """Write one outcome and status in one UPDATE, conditional on our claim.

    Without ``on_outcome`` the statement commits on its own (or joins the caller's
    transaction). ``on_outcome`` runs in the same transaction, so what a caller records
    about the outcome (a run's item) is committed together with the conversation's
    status or not at all: a crash in between can never leave one without the other.
    """
    sql, params = processed.statement(token)
    # savepoint=False: inside a caller's transaction this joins it for free.
    with transaction.atomic(savepoint=False) if on_outcome else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            outcome = processed.outcome(cursor.rowcount > 0)
        if on_outcome:
            on_outcome(outcome)
    return outcome


def record_many(
    batch: list[Processed], token: uuid.UUID, on_outcome: OnOutcome | None = None
) -> list[Outcome]:
    """Write several outcomes in one transaction and a constant number of statements.

    The rows still held by our claim are locked first, so the outcomes written are
    exactly those rows: a conversation whose lease expired and was taken over keeps the
    newer caller's outcome and is reported ``in_progress``.
    """
    if not batch:
        return []
    with transaction.atomic(savepoint=False):
        held = set(
            Conversation.objects.select_for_update()
            .filter(pk__in=[p.conversation.pk for p in batch])
            .held_by(token)
            # Rows locked in one order by everyone, so two lockers cannot deadlock.
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        by_sql: dict[str, list[list]] = {}
        for processed in batch:
            if processed.conversation.pk in held:
                sql, params = processed.statement(token)
                by_sql.setdefault(sql, []).append(params)
        with connection.cursor() as cursor:
            for sql, rows in by_sql.items():
                cursor.executemany(sql, rows)
        outcomes = [p.outcome(p.conversation.pk in held) for p in batch]
        if on_outcome:
            for outcome in outcomes:
                on_outcome(outcome)
    return outcomes
