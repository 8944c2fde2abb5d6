"""Batch-job services used by the pages: listing jobs and finding one."""

from django.core.paginator import Page
from django.db.models import QuerySet

from conversations.models import BatchJob
from core.pagination import EstimatedPaginator


def list_batch_jobs(user) -> QuerySet[BatchJob]:
    """Jobs visible to ``user``, newest first (their counts: ``jobs_page``)."""
    return BatchJob.objects.visible_to(user).order_by("-created_at", "-id")


def jobs_page(user, number: str | None, *, per_page: int) -> Page:
    """A page of the jobs ``user`` may see."""
    return EstimatedPaginator(list_batch_jobs(user), per_page).get_page(number)
