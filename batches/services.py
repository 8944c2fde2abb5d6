"""Batch-job services used by the pages: listing jobs, the enrichment state of a job's
conversations, and "Enrich All" / "Retry failed" (in the request, or as a background run)."""

import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet

from enrichment.models import Conversation, EnrichmentRun, EnrichmentStatus, RunSource
from enrichment.runs import cancel_run, start_run
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


def job_enrichment_targets(job: BatchJob, *, user, only_failed: bool = False) -> list[uuid.UUID]:
    """Row ids of the conversations "Enrich All" (or "Retry failed") acts on, in item order."""
    conversations = job_conversations(job, user=user)
    if only_failed:
        conversations = conversations.failed()
    ordered = conversations.order_by("batch_items__position").values_list("pk", flat=True)
    return list(dict.fromkeys(ordered))


def enrich_batch_job(
    job: BatchJob, *, user, only_failed: bool = False
) -> BulkResult | EnrichmentRun:
    """Enrich the conversations of the job's completed items ("Enrich All").

    Completed conversations come back skipped, and so do failed ones: Enrich All never
    spends time re-running known failures, "Retry failed" (``only_failed``) is the
    explicit way to. Up to ``ENRICHMENT_BULK_LIMIT`` are enriched in
    this call (a ``BulkResult``); more start a background run that the page polls. While
    the job has an unfinished run, that run is returned and nothing new starts.
    """
    with transaction.atomic():
        # The job row is the lock: of two concurrent posts (a double click, two tabs) the
        # second waits here and then finds the run the first one started.
        BatchJob.objects.select_for_update().only("pk").get(pk=job.pk)
        if running := job_runs(job).unfinished().first():
            return running
        pks = job_enrichment_targets(job, user=user, only_failed=only_failed)
        if len(pks) > settings.ENRICHMENT_BULK_LIMIT:
            action = "Retry failed" if only_failed else "Enrich All"
            return start_run(
                pks,
                user=user,
                source=RunSource.PAGE,
                description=f"{action}: {job.name}",
                batch_job_id=job.pk,
                retry_failed=only_failed,
            )
    # Outside the transaction: each conversation's outcome is committed on its own.
    return bulk_enrich(pks, user=user, sequential=True, retry_failed=only_failed)


def job_runs(job: BatchJob) -> QuerySet[EnrichmentRun]:
    """Every run over the job's conversations, newest first, whoever started it (the
    job's page shows automatic runs too)."""
    return EnrichmentRun.objects.filter(batch_job_id=job.pk).order_by("-created_at", "-pk")


def latest_job_run(job: BatchJob) -> EnrichmentRun | None:
    return job_runs(job).select_related("created_by").first()


def cancel_job_run(job: BatchJob, run_id: uuid.UUID) -> EnrichmentRun:
    """Cancel one of the job's runs; raises ``EnrichmentRun.DoesNotExist`` for a run of
    another job and ``RunNotCancellable`` for one that has ended."""
    return cancel_run(job_runs(job).get(pk=run_id))
