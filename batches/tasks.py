"""Background tasks of batch jobs (django.tasks): thin wrappers around a service, and
their enqueueing."""

import logging

from django.db import transaction
from django.tasks import task

from .counts import claim_refresh, refresh_all

logger = logging.getLogger("batches")


@task()
def refresh_batch_job_counts() -> int:
    """Sweep every change to conversations and count again every stale batch job."""
    return refresh_all()


def request_count_refresh() -> None:
    """Enqueue the counts refresh (after the commit) unless one is already waiting."""
    if claim_refresh():
        transaction.on_commit(_enqueue_refresh)


def _enqueue_refresh() -> None:
    try:
        refresh_batch_job_counts.enqueue()
    except Exception:
        # The pages go on showing the counts they have, with their time; the next page
        # asks again once the claim has expired.
        logger.exception("Could not enqueue the batch-job counts refresh")
