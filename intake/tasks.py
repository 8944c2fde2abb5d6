"""Background jobs of batch jobs (Procrastinate): thin wrappers around a service, and
their deferring."""

from procrastinate.contrib.django import app

from core.background import defer
from intake.counts import claim_refresh, refresh_all


@app.task(queueing_lock="refresh_batch_job_counts")
def refresh_batch_job_counts() -> int:
    """Sweep every change to conversations and count again every stale batch job."""
    return refresh_all()


def request_count_refresh() -> None:
    """Queue the counts refresh (in the current transaction) unless one is already
    waiting."""
    if claim_refresh():
        defer(refresh_batch_job_counts)
