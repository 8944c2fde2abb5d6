"""Batch-job services used by the pages: listing jobs, the enrichment state of a job's
conversations, and "Enrich All" / "Retry failed" (in the request, or as a background run)."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.core.paginator import Page
from django.db.models import QuerySet

from conversations.models import BatchJob, Conversation, EnrichmentStatus
from core.pagination import EstimatedPaginator
from enrichment.models import EnrichmentRun, RunSource
from enrichment.runs.lifecycle import RunStarted, cancel_run
from enrichment.selection import Selection, scope_selection
from enrichment.services import BulkResult, enrich
from intake.counts import refresh_stale, sweep_for_request
from intake.scopes import BATCH_JOB, BatchJobScope, completed_item_conversations, job_ref
from intake.tasks import request_count_refresh

# How many failed conversations the batch page lists with their reason.
FAILURES_SHOWN = 50


def list_batch_jobs(user) -> QuerySet[BatchJob]:
    """Jobs visible to ``user``, newest first (their counts: ``jobs_page``)."""
    return BatchJob.objects.visible_to(user).order_by("-created_at", "-id")


def jobs_page(user, number: str | None, *, per_page: int) -> Page:
    """A page of the jobs ``user`` may see, with their conversation counts current (see
    ``intake.counts``: small jobs counted again here, big ones in the background)."""
    swept = sweep_for_request()
    page = EstimatedPaginator(list_batch_jobs(user), per_page).get_page(number)
    _settle_counts(page.object_list, swept=swept)
    return page


def current_job(jobs: QuerySet[BatchJob], pk: uuid.UUID) -> BatchJob | None:
    """The job ``pk`` among ``jobs``, with its conversation counts current (as above)."""
    swept = sweep_for_request()
    job = jobs.filter(pk=pk).first()
    if job is not None:
        _settle_counts([job], swept=swept)
    return job


def _settle_counts(jobs, *, swept: bool) -> None:
    if refresh_stale(jobs, swept=swept):
        request_count_refresh()


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
    """Where the job's successful conversations stand: its stored counts (``current``
    false while a big job is being counted again in the background)."""

    total: int
    enriched: int
    failed: int
    counted_at: datetime | None = None
    current: bool = True
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
    """The job's counts (load it with ``current_job``) and its first failed
    conversations with their reason (one query, only when some failed)."""
    failures: list[Failure] = []
    if job.conversations_failed:
        rows = (
            job_conversations(job, user=user)
            .failed()
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
    return JobEnrichmentState(
        job.conversations_total,
        job.conversations_enriched,
        job.conversations_failed,
        counted_at=job.conversations_counted_at,
        current=job.counts_are_current,
        failures=failures,
    )


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
