"""Generation in the background: one job of ``advance_generation_job`` per generation job
takes a step (``generation.drive.advance``) and queues the next one, after the provider's
wait or ``GENERATION_POLL_SECONDS`` in batch mode, until the job ends (finished, with its
enrichment started when asked) or stops (paused with the reason). A per-job queueing lock
keeps one next step waiting; a worker that dies mid-step has its job retried by the
engine, and every step is safe to take again (results are taken in once)."""

import uuid

from django.conf import settings
from django.db import transaction
from procrastinate import JobContext
from procrastinate.contrib.django import app

from conversations.models import BatchJob
from core.background import RETRY, defer

from .drive import advance
from .models import GenerationSettings
from .provider import ProviderError
from .providers import get_provider


def _lock(job_id) -> str:
    return f"generation-{job_id}"


def enqueue_generation(job_id: uuid.UUID, *, in_seconds: float = 0) -> None:
    """Queue the job's next step, in the current transaction (none if one waits already)."""
    defer(
        advance_generation_job,
        queueing_lock=_lock(job_id),
        in_seconds=in_seconds,
        job_id=str(job_id),
    )


@app.task(pass_context=True, retry=RETRY)
def advance_generation_job(context: JobContext, *, job_id: str) -> str:
    job = BatchJob.objects.select_related("generation").get(pk=job_id)
    if job.is_finished:
        return f"{job.status} already"
    try:
        ended, wait = advance(job, get_provider(), poll_seconds=settings.GENERATION_POLL_SECONDS)
    except ProviderError as error:
        # Another try cannot mend it (a refused key, billing): the job waits, saying why.
        GenerationSettings.objects.filter(batch_job=job).update(paused_reason=error.message)
        return f"paused: {error.message}"
    if ended is not None:
        return ended
    with transaction.atomic():
        enqueue_generation(job.pk, in_seconds=wait)
    return f"next step in {wait:g} s"
