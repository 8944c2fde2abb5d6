"""Batch-job services used by the pages: listing jobs, the enrichment state of a job's
conversations, and "Enrich All" / "Retry failed"."""

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from enrichment.models import Conversation, EnrichmentStatus
from enrichment.services import BulkResult, bulk_enrich

from .models import BatchItemStatus, BatchJob

# How many failed conversations the batch page lists with their reason.
FAILURES_SHOWN = 50


def list_batch_jobs(user) -> QuerySet[BatchJob]:
    """Jobs visible to ``user``, newest first, with how many of their successful
    conversations exist and how many of those are enriched."""
    done = Q(items__status=BatchItemStatus.COMPLETED, items__conversation__is_active=True)
    return (
        BatchJob.objects.visible_to(user)
        .annotate(
            conversation_count=Count("items__conversation", filter=done, distinct=True),
            enriched_count=Count(
                "items__conversation",
                filter=done & Q(items__conversation__enrichment_status=EnrichmentStatus.COMPLETED),
                distinct=True,
            ),
        )
        .order_by("-created_at", "-id")
    )


def job_conversations(job: BatchJob, *, user) -> QuerySet[Conversation]:
    """The conversations of the job's completed items that ``user`` may act on."""
    return Conversation.objects.visible_to(user).filter(
        batch_items__batch_job=job, batch_items__status=BatchItemStatus.COMPLETED
    )


@dataclass(frozen=True)
class Failure:
    pk: uuid.UUID
    conversation_id: uuid.UUID
    name: str
    status: str
    error: str

    @property
    def status_label(self) -> str:
        return EnrichmentStatus(self.status).label


@dataclass(frozen=True)
class JobEnrichmentState:
    """Where the job's successful conversations stand, read from stored state."""

    total: int
    enriched: int
    failed: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def not_enriched(self) -> int:
        return self.total - self.enriched - self.failed

    @property
    def has_unenriched(self) -> bool:
        return self.enriched < self.total

    @property
    def more_failures(self) -> int:
        return self.failed - len(self.failures)


def get_job_enrichment_state(job: BatchJob, *, user) -> JobEnrichmentState:
    """Count the job's successful conversations by enrichment status (one aggregate
    query) and list the failed ones with their reason (one more, only when some failed)."""
    conversations = job_conversations(job, user=user)
    failed = Q(enrichment_status__in=EnrichmentStatus.failed())
    counts = conversations.aggregate(
        total=Count("pk", distinct=True),
        enriched=Count("pk", distinct=True, filter=Q(enrichment_status=EnrichmentStatus.COMPLETED)),
        failed=Count("pk", distinct=True, filter=failed),
    )
    failures: list[Failure] = []
    if counts["failed"]:
        rows = (
            conversations.filter(failed)
            .order_by("batch_items__position")
            .values_list(
                "pk",
                "conversation_id",
                "conversation_name",
                "enrichment_status",
                "enrichment_error",
            )[: FAILURES_SHOWN * 2]
        )
        seen: set[uuid.UUID] = set()
        for pk, business_id, name, status, error in rows:
            if pk in seen or len(failures) == FAILURES_SHOWN:
                continue
            seen.add(pk)
            failures.append(Failure(pk, business_id, name or "Untitled", status, error or ""))
    return JobEnrichmentState(counts["total"], counts["enriched"], counts["failed"], failures)


def enrich_batch_job(job: BatchJob, *, user, only_failed: bool = False) -> BulkResult:
    """Enrich the conversations of the job's completed items through ``bulk_enrich``.

    Completed conversations come back skipped; ``only_failed`` limits the run to
    conversations in a failed state ("Retry failed"). More than ``ENRICHMENT_BULK_LIMIT``
    are processed in chunks within this call, one summary for all of them.
    """
    # Until background runs exist the whole job is enriched in the request; a later
    # change replaces this loop with a run that the page polls.
    conversations = job_conversations(job, user=user)
    if only_failed:
        conversations = conversations.failed()
    pks = list(
        dict.fromkeys(conversations.order_by("batch_items__position").values_list("pk", flat=True))
    )
    limit = settings.ENRICHMENT_BULK_LIMIT
    outcomes, sent_ids = [], []
    for start in range(0, len(pks), limit):
        result = bulk_enrich(pks[start : start + limit], user=user, sequential=True)
        outcomes.extend(result.outcomes)
        sent_ids.extend(result.sent_ids)
    return BulkResult(outcomes, sent_ids)
