"""A generation job driven to its end in one process (``manage.py generate --follow``):
batch mode submits and polls, realtime mode sends one attempt after another (each holding
one of the ``GENERATION_CONCURRENCY`` slots the workers share), honouring the provider's
waits; when every item has ended the job is finished (and, with auto-enrich,
its enrichment run starts). Background workers take the same steps (``advance``) as
tasks (``generation.tasks``)."""

import time
from collections.abc import Callable

from django.db.models import Q

from conversations.models import BatchJob

from . import adoption, batches, cancelling, lanes
from .models import AttemptStatus, GenerationAttempt, Mode, ProviderBatch, ProviderBatchStatus
from .provider import Provider, ProviderError

OPEN_BATCH = (ProviderBatchStatus.IN_PROGRESS, ProviderBatchStatus.CANCELING)
RETRY_SECONDS = 5.0


def unfinished_batches(job: BatchJob):
    """The job's provider batches still to look at: open ones, and ended ones whose results
    were not all taken in (a step that stopped partway)."""
    return ProviderBatch.objects.filter(batch_job=job).filter(
        Q(status__in=OPEN_BATCH)
        | Q(status=ProviderBatchStatus.ENDED, results_taken_at__isnull=True)
    )


def drive(
    job: BatchJob,
    provider: Provider,
    *,
    poll_seconds: float,
    retry_seconds: float = RETRY_SECONDS,
    say: Callable[[str], None] = lambda line: None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run ``job`` until it ends or stops; what happened, in words."""
    while True:
        ended, wait = advance(
            job, provider, poll_seconds=poll_seconds, retry_seconds=retry_seconds, say=say
        )
        if ended is not None:
            return ended
        if wait:
            sleep(wait)


def advance(
    job: BatchJob,
    provider: Provider,
    *,
    poll_seconds: float,
    retry_seconds: float = RETRY_SECONDS,
    say: Callable[[str], None] = lambda line: None,
    fan_out: Callable[[BatchJob], float] | None = None,
) -> tuple[str | None, float]:
    """One step of ``job`` (batch: send what waits, look at open batches; realtime: send
    waiting attempts, or with ``fan_out`` have lanes send them: it queues them and says
    when to look again): what ended or stopped it, in words, or ``None`` and how many
    seconds to wait before the next step. A provider error that pauses the job, or that
    another try cannot mend, is raised."""
    settings = job.generation
    try:
        wait = _step(job, settings, provider, say, fan_out)
    except ProviderError as error:
        if error.pauses_job or not error.retryable:
            raise
        wait = error.retry_after or retry_seconds
        say(f"{error.message}; trying again in {wait:g} s")
        return None, wait
    settings.refresh_from_db()
    if (ended := lanes.finish_if_done(job)) is not None:
        return ended, 0
    open_items = lanes.open_items(job)
    waiting = unfinished_batches(job).exists() or adoption.waiting(job.pk)
    if settings.paused_reason and not waiting:
        # Paused: nothing is sent, but what is at the provider is still polled until it ends.
        return f"paused: {settings.paused_reason}", 0
    sendable = GenerationAttempt.objects.filter(
        item__batch_job=job, status=AttemptStatus.PENDING, provider_batch__isnull=True
    ).exists()
    if not waiting and not sendable:
        return f"stopped: {open_items} items have no attempt to send or wait for", 0
    if settings.mode == Mode.BATCH:
        wait = max(wait, poll_seconds)
    return None, wait


def _step(job, settings, provider: Provider, say, fan_out=None) -> float:
    """Seconds to wait before the next step (the provider's wait, no free realtime slot;
    0: none)."""
    if settings.cancelled_at:
        # Cancelled (``generation.control``): withdraw what is not sent, cancel at the
        # provider what is open there; what it finished still comes back below.
        for cancelled in cancelling.sweep(job, provider):
            say(f"cancelled provider batch {cancelled}")
    if settings.mode == Mode.BATCH:
        # Intents whose create call's answer was lost first: their attempts are sent again
        # only once the provider clearly has no batch for them.
        for note in adoption.settle(job.pk, provider):
            say(note)
        for created in batches.submit(job.pk, provider):
            say(f"sent provider batch {created.provider_batch_id}: {created.requests} requests")
        for record in unfinished_batches(job):
            poll = adoption.poll if record.adopted_at else batches.poll
            polled = poll(record.pk, provider)
            say(
                f"provider batch {polled.provider_batch_id}: {polled.status}, "
                f"{polled.succeeded} succeeded, {polled.errored} errored, "
                f"{polled.expired} expired, {polled.canceled} canceled"
            )
        return 0
    if fan_out is not None:
        return fan_out(job)
    while True:
        step = lanes.send_next(job.pk, provider)
        if step.wait:
            say(f"{step.why} {step.wait:g} s")
            return step.wait
        if step.idle or step.paused:
            return 0
