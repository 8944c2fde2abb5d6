"""A cancelled generation job's work winding down (``generation.control.cancel`` asks for
it): what was not sent is withdrawn and its items end ``cancelled``; the provider's open
batches are cancelled there, and what they finished before still comes back and is taken
in by the poll (``generation.batches.poll``), without new attempts (``generation.results``).

Each step of a cancelled job sweeps again (``generation.drive``), so that an attempt made
or a batch created while the cancel was being recorded is withdrawn or cancelled too.
"""

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.expressions import RawSQL

from conversations.models import BatchItemStatus, BatchJob

from . import slots
from .models import (
    AttemptStatus,
    GenerationAttempt,
    GenerationSettings,
    ProviderBatch,
    ProviderBatchStatus,
)
from .provider import Provider, ProviderError
from .results import WAITING, end_cancelled


def cancelled_text(settings: GenerationSettings) -> str:
    """What a cancelled item says (its ``error``)."""
    who = f" by {settings.cancelled_by}" if settings.cancelled_by else ""
    return f"Cancelled{who} before it was generated."


def withdraw(job: BatchJob, settings: GenerationSettings) -> int:
    """Withdraw the job's attempts not sent (the settings' row locked by the caller, so
    that no submission takes them meanwhile) and end the items left with nothing at the
    provider ``cancelled``; how many items ended.

    An attempt being sent by a realtime lane (claimed) or taken in right now (its row
    locked) is left to end its item; a realtime call that set off between this look and
    the withdrawal still has its answer taken in (``generation.results``)."""
    reason = cancelled_text(settings)
    unsent = (
        GenerationAttempt.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(item__batch_job=job, status=AttemptStatus.PENDING, provider_batch__isnull=True)
        .values_list("pk", flat=True)
    )
    claimed = _claimed()
    if claimed:
        # Being sent right now by a realtime lane: its answer is taken in as it comes.
        key = RawSQL("hashtext(generation_attempts.id::text)::bigint & 4294967295", [])
        unsent = unsent.annotate(claim_key=key).exclude(claim_key__in=claimed)
    GenerationAttempt.objects.filter(pk__in=list(unsent)).update(
        status=AttemptStatus.WITHDRAWN, error=reason
    )
    waiting = GenerationAttempt.objects.filter(item=OuterRef("pk"), status__in=WAITING)
    idle = (
        job.items.exclude(status__in=BatchItemStatus.ended())
        .exclude(Exists(waiting))
        .values_list("pk", flat=True)
    )
    return end_cancelled(job, list(idle), reason)


def _claimed() -> list[int]:
    """The keys of the attempts being sent by realtime lanes now (``generation.slots``:
    their claims, as ``pg_locks`` shows the second key, unsigned)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = %s::bigint::oid AND objsubid = 2 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            [slots.CLAIMS],
        )
        return [row[0] for row in cursor.fetchall()]


def sweep(job: BatchJob, provider: Provider) -> list[str]:
    """One step's share of a cancelled job: withdraw what was not sent, cancel the open
    batches at the provider; the ids of the batches cancelled. A batch the provider
    refuses to cancel (it ended meanwhile) is left to the poll; an error another try may
    mend is raised (the step is tried again)."""
    with transaction.atomic():
        settings = GenerationSettings.objects.select_for_update().get(batch_job=job)
        withdraw(job, settings)
    cancelled = []
    open_batches = ProviderBatch.objects.filter(
        batch_job=job, status=ProviderBatchStatus.IN_PROGRESS
    ).exclude(provider_batch_id="")
    for record in open_batches:
        try:
            batch = provider.cancel_batch(record.provider_batch_id)
        except ProviderError as error:
            if error.retryable or error.pauses_job:
                raise
            continue
        ProviderBatch.objects.filter(pk=record.pk, status=ProviderBatchStatus.IN_PROGRESS).update(
            status=batch.processing_status
        )
        cancelled.append(record.provider_batch_id)
    return cancelled
