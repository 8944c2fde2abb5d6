"""Batch-job counts kept current, so that no page counts a big job's rows per request.

Each job stores how many of its successful conversations there are and how many are
enriched, failed or in progress (``BatchJob.conversations_*``). Conversations change
anywhere (any enrichment, from any entry point), so the changes are found rather than
told: every write to a conversation stamps ``updated_at``, and a sweep reads the rows
changed since the last sweep (a range of the ``updated_at`` index: its cost follows the
changes, not the table) and marks their jobs (``conversations_changed_at``). A marked job
is counted again: in the request when it is small, by a background task when it is big.

A request sweeps only a few changes itself; more (a big run going on) are left to the
background task, and meanwhile the pages show the counts they have, with their time.
"""

from collections.abc import Sequence
from datetime import timedelta
from itertools import batched

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    Conversation,
    CountsSweep,
    EnrichmentStatus,
)

# A write stamps ``updated_at`` before it commits: a sweep looks back this far, so that a
# change committed just after the last sweep began is not missed.
SWEEP_OVERLAP = timedelta(seconds=5)
# A background recount asked for longer ago than this without running (its worker died,
# or none runs) may be asked for again.
REFRESH_RETRY = timedelta(minutes=1)
COUNT_FIELDS = [
    "conversations_total",
    "conversations_enriched",
    "conversations_failed",
    "conversations_in_progress",
    "conversations_counted_at",
]


def recount(jobs: Sequence[BatchJob]) -> None:
    """Count these jobs' conversations again (one aggregate, one update) and store the
    counts, on the given objects too."""
    if not jobs:
        return
    started = timezone.now()
    done = Q(status=BatchItemStatus.COMPLETED, conversation__is_active=True)

    def count(condition: Q | None = None) -> Count:
        return Count("conversation", distinct=True, filter=condition)

    status = "conversation__enrichment_status"
    rows = (
        BatchItem.objects.filter(done, batch_job__in=[job.pk for job in jobs])
        .values("batch_job_id")
        .annotate(
            total=count(),
            enriched=count(Q(**{status: EnrichmentStatus.COMPLETED})),
            failed=count(Q(**{f"{status}__in": EnrichmentStatus.failed()})),
            in_progress=count(Q(**{status: EnrichmentStatus.IN_PROGRESS})),
        )
        .order_by()
    )
    counts = {row.pop("batch_job_id"): row for row in rows}
    for job in jobs:
        found = counts.get(job.pk, {})
        job.conversations_total = found.get("total", 0)
        job.conversations_enriched = found.get("enriched", 0)
        job.conversations_failed = found.get("failed", 0)
        job.conversations_in_progress = found.get("in_progress", 0)
        job.conversations_counted_at = started
    BatchJob.objects.bulk_update(jobs, COUNT_FIELDS)


def sweep(*, limit: int | None = None) -> bool:
    """Mark the jobs of the conversations changed since the last sweep; call it before
    loading the jobs whose counts are shown.

    With ``limit``, finding more changed rows than that does nothing and answers
    ``False``: the background refresh sweeps them then (see ``refresh_stale``).
    """
    now = timezone.now()
    state = CountsSweep.objects.order_by("pk").first()
    if state is None:
        # Never swept (a new database): nothing tells which counts are current.
        BatchJob.objects.update(conversations_changed_at=now)
        CountsSweep.objects.create(swept_until=now)
        return True
    since = state.swept_until - SWEEP_OVERLAP
    changed = Conversation.objects.filter(updated_at__gt=since).order_by()
    if limit is None:
        found = changed.exists()
    else:
        found = changed[: limit + 1].count()
        if found > limit:
            return False
    if found:
        held = BatchItem.objects.filter(conversation__in=changed.values("pk"))
        BatchJob.objects.filter(pk__in=held.values("batch_job")).update(
            conversations_changed_at=now
        )
        CountsSweep.objects.filter(pk=state.pk, swept_until__lt=now).update(swept_until=now)
    return True


def refresh_stale(jobs: Sequence[BatchJob], *, swept: bool) -> bool:
    """Count again, in place, those of these jobs (loaded after ``sweep``) whose counts
    are stale, smallest first, up to ``BATCH_COUNTS_INLINE_LIMIT`` items in all. Answers
    whether the background refresh is needed: for the rest, and for everything when the
    sweep was too big for the request (``swept`` false)."""
    stale = sorted((job for job in jobs if not job.counts_are_current), key=_size)
    budget = settings.BATCH_COUNTS_INLINE_LIMIT
    now: list[BatchJob] = []
    for job in stale:
        if _size(job) > budget:
            break
        budget -= _size(job)
        now.append(job)
    recount(now)
    return not swept or len(now) < len(stale)


def _size(job: BatchJob) -> int:
    return job.total_items


def claim_refresh() -> bool:
    """Whether the caller should enqueue the background refresh: true unless one was
    asked for and has not run yet (one at a time)."""
    now = timezone.now()
    asked = CountsSweep.objects.filter(
        Q(refresh_requested_at__isnull=True) | Q(refresh_requested_at__lt=now - REFRESH_RETRY)
    ).update(refresh_requested_at=now)
    return bool(asked)


def sweep_for_request() -> bool:
    """The sweep a page or an API call makes before loading jobs: a few changes only."""
    return sweep(limit=settings.BATCH_COUNTS_SWEEP_LIMIT)


def refresh_all(*, every_job: bool = False, chunk: int = 50) -> int:
    """Sweep every change and count again every stale job (``every_job``: all of them),
    a chunk of jobs at a time. Returns how many jobs were counted."""
    CountsSweep.objects.update(refresh_requested_at=None)
    sweep(limit=None)
    jobs = BatchJob.objects.all()
    if not every_job:
        jobs = jobs.filter(
            Q(conversations_counted_at__isnull=True)
            | Q(conversations_changed_at__gt=F("conversations_counted_at"))
        )
    counted = 0
    for group in batched(jobs.only("pk").order_by("pk").iterator(), chunk):
        recount(list(group))
        counted += len(group)
    return counted
