"""A batch job's conversation counts: its successful items' active conversations (each
once), how many are enriched and how many failed; the rest are not enriched yet.

They change in the same transaction as whatever changes them (an enrichment's outcome,
items added, a conversation deactivated), so they are always true. The jobs' rows are
locked in the order of their ids before they are written, so that two writers touching
the same jobs queue instead of deadlocking.
"""

import uuid
from collections.abc import Iterable

import orjson
from django.db import connection, transaction
from django.db.models import Count, F, Q

from .models import BatchItem, BatchItemStatus, BatchJob, EnrichmentStatus

_FAILED = frozenset(EnrichmentStatus.failed())

_LOCK = """
SELECT id FROM batch_jobs WHERE id IN (
  SELECT batch_job_id FROM batch_items WHERE status = %s AND conversation_id = ANY(%s)
) ORDER BY id FOR NO KEY UPDATE
"""
_UPDATE = """
UPDATE batch_jobs j SET
  conversations_total = j.conversations_total + d.t,
  conversations_enriched = j.conversations_enriched + d.e,
  conversations_failed = j.conversations_failed + d.f
FROM (
  SELECT i.batch_job_id, SUM(m.t) AS t, SUM(m.e) AS e, SUM(m.f) AS f
  FROM (
    SELECT DISTINCT batch_job_id, conversation_id FROM batch_items
    WHERE status = %s AND conversation_id = ANY(%s)
  ) i
  JOIN jsonb_to_recordset(%s::jsonb) AS m(id uuid, t int, e int, f int)
    ON m.id = i.conversation_id
  GROUP BY i.batch_job_id
) d
WHERE j.id = d.batch_job_id
"""


def settled(status: str) -> tuple[int, int]:
    """(enriched, failed) for a conversation in ``status``: 1 or 0 each."""
    return int(status == EnrichmentStatus.COMPLETED), int(status in _FAILED)


def move(changes: Iterable[tuple[uuid.UUID, str, str]]) -> None:
    """Conversations whose settled status went from the first to the second: the counts
    of every job holding them follow. (A claim settles nothing: its conversation counts
    in the status it was claimed in until its outcome is recorded.)"""
    deltas = {}
    for pk, old, new in changes:
        (e0, f0), (e1, f1) = settled(old or ""), settled(new or "")
        if (e1 - e0, f1 - f0) != (0, 0):
            deltas[pk] = (0, e1 - e0, f1 - f0)
    _apply(deltas)


def add(conversations: Iterable[tuple[uuid.UUID, str]], *, sign: int = 1) -> None:
    """Conversations ``(pk, status)`` that joined the counts of the jobs holding them as
    successful items (``sign=-1``: that left them, e.g. deactivated)."""
    deltas = {}
    for pk, status in conversations:
        enriched, failed = settled(status or "")
        deltas[pk] = (sign, sign * enriched, sign * failed)
    _apply(deltas)


def join(job: BatchJob, statuses: Iterable[str]) -> None:
    """Conversations in ``statuses`` that just became successful items of ``job`` (each
    new to it): only that job's counts change."""
    changes = joined(statuses)
    if changes:
        BatchJob.objects.filter(pk=job.pk).update(**changes)


def joined(statuses: Iterable[str]) -> dict:
    """``join``'s changes to the job's row, for a caller that updates it anyway."""
    total = enriched = failed = 0
    for status in statuses:
        e, f = settled(status or "")
        total, enriched, failed = total + 1, enriched + e, failed + f
    if not total:
        return {}
    return {
        "conversations_total": F("conversations_total") + total,
        "conversations_enriched": F("conversations_enriched") + enriched,
        "conversations_failed": F("conversations_failed") + failed,
    }


def _apply(deltas: dict[uuid.UUID, tuple[int, int, int]]) -> None:
    if not deltas:
        return
    pks = list(deltas)
    rows = orjson.dumps(
        [{"id": str(pk), "t": t, "e": e, "f": f} for pk, (t, e, f) in deltas.items()]
    ).decode()
    completed = BatchItemStatus.COMPLETED.value
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_LOCK, [completed, pks])
        if cursor.fetchall():
            cursor.execute(_UPDATE, [completed, pks, rows])


def recount(jobs: Iterable[BatchJob]) -> None:
    """Count these jobs' conversations again from their items (an upgrade, a repair)."""
    ids = [job.pk for job in jobs]
    done = Q(status=BatchItemStatus.COMPLETED, conversation__is_active=True)
    status = "conversation__enrichment_status_before_claim"
    claimed = Q(conversation__enrichment_status=EnrichmentStatus.IN_PROGRESS)
    settled_status = Q(**{f"{status}__in": [EnrichmentStatus.COMPLETED]}) & claimed | (
        ~claimed & Q(conversation__enrichment_status=EnrichmentStatus.COMPLETED)
    )
    failed = (claimed & Q(**{f"{status}__in": list(_FAILED)})) | (
        ~claimed & Q(conversation__enrichment_status__in=list(_FAILED))
    )
    counts = {
        row["batch_job_id"]: row
        for row in BatchItem.objects.filter(done, batch_job__in=ids)
        .values("batch_job_id")
        .annotate(
            total=Count("conversation", distinct=True),
            enriched=Count("conversation", distinct=True, filter=settled_status),
            failed=Count("conversation", distinct=True, filter=failed),
        )
    }
    for job_id in ids:
        row = counts.get(job_id, {"total": 0, "enriched": 0, "failed": 0})
        BatchJob.objects.filter(pk=job_id).update(
            conversations_total=row["total"],
            conversations_enriched=row["enriched"],
            conversations_failed=row["failed"],
        )
