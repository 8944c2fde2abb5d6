"""Generation in the background: one job of ``advance_generation_job`` per generation job
takes a step (``generation.drive.advance``) and queues the next one, after the provider's
wait or ``GENERATION_POLL_SECONDS`` in batch mode, until the job ends (finished, with its
enrichment started when asked) or stops (paused with the reason). A per-job queueing lock
keeps one next step waiting; a worker that dies mid-step has its job retried by the
engine, and every step is safe to take again (results are taken in once). A person's
cancel, resume or retry replaces the waiting step with one that runs at once
(``step_now``).

In realtime mode the step queues lanes (``send_generation_attempts``, up to
``GENERATION_CONCURRENCY`` per job, ``generation.lanes``) that send the attempts, each call
holding one of the slots all workers share, and the last of them finishes the job; the
step looks again every ``GENERATION_POLL_SECONDS`` (at least ``RETRY_SECONDS``) and queues
lanes anew if some gave up (a provider failing past the retries)."""

import uuid

from django.conf import settings
from django.db import transaction
from procrastinate import JobContext
from procrastinate.contrib.django import app

from conversations.models import BatchJob
from core.background import (
    RETRY,
    defer,
    defer_many,
    defer_now,
    others_queued,
    queued_jobs,
    waiting_jobs,
)

from . import lanes
from .drive import RETRY_SECONDS, advance
from .models import AttemptStatus, GenerationAttempt, GenerationSettings
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


def step_now(job_id: uuid.UUID) -> None:
    """Queue the job's next step to run at once, in the current transaction, even when a
    step waits for later (the poll interval): a person's cancel, resume or retry takes
    effect now, not at the next poll. The waiting step is replaced, not added to."""
    defer_now(advance_generation_job, queueing_lock=_lock(job_id), job_id=str(job_id))


@app.task(pass_context=True, retry=RETRY)
def advance_generation_job(context: JobContext, *, job_id: str) -> str:
    job = BatchJob.objects.select_related("generation").get(pk=job_id)
    if job.is_finished:
        return f"{job.status} already"
    try:
        ended, wait = advance(
            job,
            get_provider(),
            poll_seconds=settings.GENERATION_POLL_SECONDS,
            fan_out=start_lanes,
        )
    except ProviderError as error:
        return _pause(job, error)
    if ended is not None:
        return ended
    with transaction.atomic():
        enqueue_generation(job.pk, in_seconds=wait)
    return f"next step in {wait:g} s"


def _pause(job: BatchJob, error: ProviderError) -> str:
    # Another try cannot mend it (a refused key, billing): the job waits, saying why.
    GenerationSettings.objects.filter(batch_job=job).update(paused_reason=error.message)
    return f"paused: {error.message}"


def start_lanes(job: BatchJob) -> float:
    """Lanes queued for the job's waiting attempts, up to ``GENERATION_CONCURRENCY``
    counting those queued or running already; seconds until the step looks again."""
    waiting = GenerationAttempt.objects.filter(
        item__batch_job=job, status=AttemptStatus.PENDING, provider_batch__isnull=True
    )[: settings.GENERATION_CONCURRENCY].count()
    running = waiting_jobs(send_generation_attempts.name, job_id=str(job.pk))
    with transaction.atomic():
        defer_many(send_generation_attempts, [{"job_id": str(job.pk)}] * (waiting - running))
    return max(settings.GENERATION_POLL_SECONDS, RETRY_SECONDS)


@app.task(pass_context=True, retry=RETRY)
def send_generation_attempts(context: JobContext, *, job_id: str) -> str:
    """One lane's turn: send one waiting attempt of the job holding a slot, then queue
    itself again: at once, or after the wait (no free slot, the provider's retry-after),
    or after a short wait when other jobs' lanes wait for a slot (so that jobs take turns).
    A 5xx or a lost connection raises, for the engine's retries with backoff."""
    job = BatchJob.objects.select_related("generation").get(pk=job_id)
    if job.is_finished:
        return f"{job.status} already"
    try:
        provider = get_provider()
    except ProviderError as error:
        return _pause(job, error)
    step = lanes.send_next(job.pk, provider)
    if step.paused:
        return f"paused: {step.paused}"
    if step.idle:
        return lanes.finish_if_done(job) or "nothing left to send here"
    if step.sent and (ended := lanes.finish_if_done(job)):
        return ended
    lane = send_generation_attempts.name
    if step.no_slot and queued_jobs(lane, job_id=job_id):
        # One lane of a job waiting for a slot is enough (the job's step queues more
        # when slots free up): waiting lanes do not crowd the workers.
        return "every realtime slot is in use; another lane of the job waits"
    wait = step.wait
    if not wait and others_queued(lane, job_id=job_id):
        wait = lanes.SLOT_WAIT_SECONDS
    with transaction.atomic():
        defer(send_generation_attempts, in_seconds=wait, job_id=job_id)
    return f"{'sent one' if step.sent else 'sent none'}; again in {wait:g} s"
