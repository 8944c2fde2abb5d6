"""A batch job's end, and what follows it: automatic enrichment of its conversations."""

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from enrichment.models import EnrichmentRun
from enrichment.services import enrich_finished_job


def finish_batch_job(job: BatchJob, *, status: str | None = None) -> EnrichmentRun | None:
    """Mark ``job`` finished and, when it has ``auto_enrich``, start a background run over
    its successful conversations (enqueued once the transaction commits).

    The status is ``completed`` unless every item failed (``failed``); pass
    ``cancelled`` or ``failed`` to end it so. ``completed_items`` counts every ended item
    (successful, failed or cancelled). Counters are recomputed from the items in
    one statement, never read-modify-written. Finishing an already finished job changes
    nothing and starts nothing, so a retried caller cannot start two runs.
    """
    with transaction.atomic():
        counts = job.items.aggregate(
            total=Count("pk"),
            successful=Count("pk", filter=Q(status=BatchItemStatus.COMPLETED)),
            failed=Count("pk", filter=Q(status=BatchItemStatus.FAILED)),
            cancelled=Count("pk", filter=Q(status=BatchItemStatus.CANCELLED)),
        )
        if status is None:
            every_item_failed = counts["total"] and counts["failed"] == counts["total"]
            status = BatchJobStatus.FAILED if every_item_failed else BatchJobStatus.COMPLETED
        now = timezone.now()
        finished = (
            BatchJob.objects.filter(pk=job.pk)
            .exclude(status__in=BatchJobStatus.finished())
            .update(
                status=status,
                total_items=counts["total"],
                completed_items=counts["successful"] + counts["failed"] + counts["cancelled"],
                successful_items=counts["successful"],
                failed_items=counts["failed"],
                completed_at=now,
                estimated_time_remaining=None,
                updated_at=now,
            )
        )
        job.refresh_from_db()
        if not finished or not job.auto_enrich:
            return None
        return enrich_finished_job(job)
