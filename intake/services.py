"""Batch-job services used by the pages: listing jobs and finding one."""

from django.core.paginator import Page
from django.db.models import Q, QuerySet

from conversations.models import BatchJob, BatchJobStatus
from core.lists import Listing, ListSpec
from core.pagination import EstimatedPaginator
from core.sections import joined

# Jobs with conversations whose enrichment failed: a status of the list's filter too.
ENRICHMENT_FAILURES = "enrichment_failures"
JOB_LIST = ListSpec(
    search_fields=("name",),
    statuses=BatchJobStatus.choices,
    extra_statuses={
        ENRICHMENT_FAILURES: ("With enrichment failures", Q(conversations_failed__gt=0))
    },
)


def list_batch_jobs(user) -> QuerySet[BatchJob]:
    """Jobs visible to ``user``, newest first (their counts: ``jobs_page``)."""
    # With what other apps' sections read (the generation settings: a join), which the
    # list's generation state shows.
    return joined("batch_job", BatchJob.objects.visible_to(user)).order_by("-created_at", "-id")


def jobs_page(user, number: str | None, *, per_page: int, listing: Listing | None = None) -> Page:
    """A page of the jobs ``user`` may see (searched, filtered and sorted by ``listing``)."""
    jobs = list_batch_jobs(user)
    if listing is not None:
        jobs = listing.apply(jobs)
    return EstimatedPaginator(jobs, per_page).get_page(number)
