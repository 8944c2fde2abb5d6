"""Realtime sending, ``GENERATION_CONCURRENCY`` calls at a time across all workers.

A realtime job is sent by lanes (``generation.tasks.send_generation_attempts``, up to
``GENERATION_CONCURRENCY`` per job, queued by the job's step): each run of a lane takes a
slot (``generation.slots``), claims the job's first waiting attempt nobody else is
sending, sends it and takes its answer in (``generation.realtime``), gives both back, and
queues the lane again. Several jobs' lanes share the same slots. A lane that finds no free
slot, or that the provider asks to wait (429, 529 with ``retry-after``), is queued again
after the wait instead of sleeping in the worker; ``manage.py generate --follow`` takes
the same steps one after another (``send_next``).
"""

from dataclasses import dataclass

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from intake.lifecycle import finish_batch_job

from . import realtime, slots
from .models import AttemptStatus, GenerationAttempt, GenerationSettings
from .provider import Provider

# How long a lane that found every slot taken waits before it looks again.
SLOT_WAIT_SECONDS = 2.0
# Attempts a lane tries to claim (more lanes than this of one job never run at once).
CANDIDATES = 64


@dataclass(frozen=True)
class Step:
    sent: bool = False  # an attempt was sent and what came back taken in
    wait: float = 0  # seconds before the next try (no free slot, or the provider's wait)
    why: str = ""  # why it waits, in words, to be followed by the seconds
    # Nothing of the job waits to be sent (``wait`` set: but what others are sending now).
    idle: bool = False
    paused: str = ""  # why the job is paused
    no_slot: bool = False  # every slot was in use


def send_next(job_id, provider: Provider, *, limit: int | None = None) -> Step:
    """Send the job's next waiting attempt while holding a slot (of ``limit``, by default
    ``GENERATION_CONCURRENCY``)."""
    with slots.slot(limit) as held:
        if held is None:
            why = "every realtime slot is in use: waiting"
            return Step(wait=SLOT_WAIT_SECONDS, why=why, no_slot=True)
        waiting = GenerationAttempt.objects.filter(
            item__batch_job_id=job_id, status=AttemptStatus.PENDING, provider_batch__isnull=True
        ).order_by("item__position", "number")
        candidates = list(waiting.values_list("pk", flat=True)[:CANDIDATES])
        with slots.claim(candidates) as attempt_id:
            if attempt_id is None and candidates:
                why = "the job's waiting attempts are being sent elsewhere: waiting"
                return Step(idle=True, wait=SLOT_WAIT_SECONDS, why=why)
            if attempt_id is None:
                return Step(idle=True)
            sent = realtime.send(attempt_id, provider)
    if sent.paused:
        return Step(paused=sent.paused)
    if sent.retry_after:
        return Step(wait=sent.retry_after, why="the provider asks to wait")
    return Step(sent=True)


def open_items(job: BatchJob) -> int:
    """Items of the job that have not ended."""
    return job.items.exclude(status__in=BatchItemStatus.ended()).count()


def finish_if_done(job: BatchJob) -> str | None:
    """Finish the job once every item has ended (its enrichment starts with auto-enrich;
    finishing twice changes nothing): what happened, in words, or ``None``."""
    if open_items(job):
        return None
    # A cancelled job (``generation.control``) ends cancelled once all came back.
    cancelled = GenerationSettings.objects.filter(batch_job=job, cancelled_at__isnull=False)
    run = finish_batch_job(job, status=BatchJobStatus.CANCELLED if cancelled.exists() else None)
    job.refresh_from_db()
    enrichment = f"; enrichment run {run.pk} started" if run else ""
    return f"{job.status}: {job.successful_items} of {job.total_items} generated{enrichment}"
