"""Batch-job services used by the pages: listing jobs, the enrichment state of a job's
conversations, and "Enrich All" / "Retry failed" (in the request, or as a background run)."""

import uuid
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from enrichment.models import Conversation, EnrichmentRun, EnrichmentStatus, RunSource
from enrichment.runs.lifecycle import RunStarted, cancel_run
from enrichment.selection import Selection, scope_selection
from enrichment.services import BulkResult, enrich

from .models import BatchItemStatus, BatchJob
from .scopes import BATCH_JOB, BatchJobScope, completed_item_conversations, job_ref

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


def batch_job_selection(job: BatchJob, *, user) -> Selection:
    """What "enrich this job" acts on: the conversations of its completed items that
    ``user`` may act on (``None``: all of them), in item order."""
    return scope_selection(BatchJobScope(), job_ref(job.pk, job.name), user=user)


def job_conversations(job: BatchJob, *, user) -> QuerySet[Conversation]:
    """The conversations of the job's completed items that ``user`` may act on."""
    return completed_item_conversations(job.pk).visible_to(user)


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


def enrich_batch_job(job: BatchJob, *, user, only_failed: bool = False) -> BulkResult | RunStarted:
    """Enrich the conversations of the job's completed items ("Enrich All").

    Completed conversations come back skipped, and so do failed ones: Enrich All never
    spends time re-running known failures, "Retry failed" (``only_failed``) is the
    explicit way to. The front door decides between the request and a background run,
    and returns the job's unfinished run, if it has one, instead of starting another.
    """
    selection = batch_job_selection(job, user=user)
    if only_failed:
        selection = selection.only_failed()
    return enrich(selection, user=user, source=RunSource.PAGE, retry_failed=only_failed)


def job_runs(job: BatchJob) -> QuerySet[EnrichmentRun]:
    """Every run over the job's conversations, newest first, whoever started it (the
    job's page shows automatic runs too)."""
    return EnrichmentRun.objects.for_scope(BATCH_JOB, job.pk).order_by("-created_at", "-pk")


def latest_job_run(job: BatchJob) -> EnrichmentRun | None:
    return job_runs(job).select_related("created_by").first()


def cancel_job_run(job: BatchJob, run_id: uuid.UUID) -> EnrichmentRun:
    """Cancel one of the job's runs; raises ``EnrichmentRun.DoesNotExist`` for a run of
    another job and ``RunNotCancellable`` for one that has ended."""
    return cancel_run(job_runs(job).get(pk=run_id))
