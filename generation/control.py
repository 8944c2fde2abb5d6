"""A person's say over a running generation job: cancel it, pause and resume its
submission, retry the items whose generation failed. The API (``generation.api.control``)
and the job page's Generation panel (``generation.control_views``) call these.

- **Cancel**: nothing more is sent; what was not sent is withdrawn and its items end
  ``cancelled`` (``generation.cancelling``); the provider's open batches are cancelled
  there by a step queued to run at once (not at the next poll), and what they finished
  before still comes back and is taken in (results the provider cancelled get no new
  attempt). The job ends ``cancelled`` once everything at the provider came back (at
  once if nothing was there).
  With ``autoEnrich``, its successful conversations are then enriched, as for any job
  that ends.
- **Pause** stops submission (``paused_reason`` "Paused by …"); what is at the provider
  still comes back in. **Resume** clears any reason (a person's pause, a refused key, the
  budget reached, once fixed) and queues the next step to run at once; it may set a new
  budget first (not below what was spent), which is how a job paused for its budget goes
  on.
- **Retry failed generations**: every item whose generation failed gets a new attempt
  (a new round of up to ``MAX_ATTEMPTS`` automatic ones), the job reopens if it had
  ended, and its next step is queued.

Asking again for what is already so changes nothing; a finished job refuses with
``JobNotOpen`` (409), as the batch-job endpoints do. The settings' row is locked first,
then the job's, in every function here (the order the take-in of results uses).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from core.errors import Conflict, DomainError
from enrichment.models import EnrichmentRun
from intake.items import JobNotOpen
from intake.lifecycle import finish_batch_job

from .accounting import usd
from .cancelling import withdraw
from .models import GenerationAttempt, GenerationSettings
from .results import following_attempt
from .tasks import step_now


class NotGenerationJob(Conflict):
    code = "not_generation_job"

    def __init__(self, job: BatchJob) -> None:
        super().__init__(
            "This batch job's items come from outside, not from a provider: only a "
            "generation job can be paused, resumed or have its generations retried.",
            subject=job,
        )


class JobCancelling(Conflict):
    code = "job_cancelling"

    def __init__(self, job: BatchJob) -> None:
        super().__init__(
            "The job is being cancelled: it ends once what is at the provider came back.",
            subject=job,
        )


class NothingToRetry(Conflict):
    code = "nothing_to_retry"

    def __init__(self, job: BatchJob) -> None:
        super().__init__(
            "No item of this job failed generation: there is nothing to retry.", subject=job
        )


class FedByTheProvider(Conflict):
    code = "generation_job"

    def __init__(self, job: BatchJob) -> None:
        super().__init__(
            "This is a generation job: the provider feeds its items, and it ends by itself "
            "once every item has. Pause or cancel it instead.",
            subject=job,
        )


def refuse_callers(job: BatchJob) -> None:
    """Intake's check (``intake.items.check_callers``): nobody adds items to a generation
    job, or completes or fails it, from outside."""
    if GenerationSettings.objects.filter(batch_job=job).exists():
        raise FedByTheProvider(job)


@dataclass(frozen=True)
class Done:
    """What an action did: the job as it is now, a sentence for people, and whether
    anything changed (asking again changes nothing)."""

    job: BatchJob
    message: str
    changed: bool = True
    enrichment_run: EnrichmentRun | None = None
    retried: int = 0


def _locked(job: BatchJob) -> tuple[BatchJob, GenerationSettings]:
    settings = GenerationSettings.objects.select_for_update().filter(batch_job_id=job.pk).first()
    if settings is None:
        raise NotGenerationJob(job)
    return BatchJob.objects.select_for_update().get(pk=job.pk), settings


def _open(job: BatchJob, settings: GenerationSettings) -> None:
    if job.is_finished:
        raise JobNotOpen(job)
    if settings.cancelled_at:
        raise JobCancelling(job)


def _items(count: int) -> str:
    return f"{count} item{'s' if count != 1 else ''}"


def cancel(job: BatchJob, user) -> Done:
    with transaction.atomic():
        job, settings = _locked(job)
        if job.status == BatchJobStatus.CANCELLED:
            return Done(job, "The job was cancelled already.", changed=False)
        if job.is_finished:
            raise JobNotOpen(job)
        if settings.cancelled_at:
            return Done(job, JobCancelling(job).message, changed=False)
        settings.cancelled_at = timezone.now()
        settings.cancelled_by = user.get_username()
        settings.save(update_fields=["cancelled_at", "cancelled_by", "updated_at"])
        cancelled = withdraw(job, settings)
        at_provider = job.items.exclude(status__in=BatchItemStatus.ended()).count()
        run = None
        if at_provider:
            # The next step cancels the provider's batches and polls them until they end.
            step_now(job.pk)
        else:
            run = finish_batch_job(job, status=BatchJobStatus.CANCELLED)
    job.refresh_from_db()
    if at_provider:
        message = (
            f"Cancelling: {_items(cancelled)} not sent yet cancelled; {_items(at_provider)} "
            "at the provider are being cancelled there, and what it finished before is "
            "still taken in. The job ends then."
        )
    else:
        message = f"Job cancelled: {_items(cancelled)} not generated yet cancelled."
    return Done(job, message, enrichment_run=run)


def pause(job: BatchJob, user) -> Done:
    with transaction.atomic():
        job, settings = _locked(job)
        _open(job, settings)
        if settings.paused_reason:
            return Done(job, f"The job is paused already: {settings.paused_reason}", False)
        settings.paused_reason = f"Paused by {user.get_username()}."
        settings.save(update_fields=["paused_reason", "updated_at"])
    return Done(
        job,
        "Paused: nothing more is sent to the provider; what is there still comes back in.",
    )


# ``resume``'s budget when the caller leaves it as it is.
KEEP = object()


class BudgetBelowCost(DomainError):
    code = "budget_below_cost"

    def __init__(self, budget: Decimal, cost: Decimal) -> None:
        super().__init__(
            f"The budget of {usd(budget)} USD is below the {usd(cost)} USD this job has "
            "spent already; nothing was changed."
        )
        self.cost = cost

    def fields(self) -> dict:
        return {"costUsd": self.cost}


def resume(job: BatchJob, user, budget_usd=KEEP) -> Done:
    """Clear the reason the job was paused and take its next step at once. With
    ``budget_usd`` (a ``Decimal`` at least what was spent, or None for no budget) the
    job's budget changes first, paused or not: raising it lets a job paused for its budget
    run on."""
    with transaction.atomic():
        job, settings = _locked(job)
        if job.is_finished:
            raise JobNotOpen(job)
        budget = ""
        if budget_usd is not KEEP:
            if budget_usd is not None and budget_usd < settings.cost_usd:
                raise BudgetBelowCost(budget_usd, settings.cost_usd)
            settings.budget_usd = budget_usd
            settings.save(update_fields=["budget_usd", "updated_at"])
            budget = (
                "No budget any more." if budget_usd is None else f"Budget: {usd(budget_usd)} USD."
            )
        if not settings.paused_reason:
            if budget:
                return Done(job, f"{budget} The job was not paused.")
            return Done(job, "The job is not paused.", changed=False)
        reason = settings.paused_reason
        settings.paused_reason = ""
        settings.save(update_fields=["paused_reason", "updated_at"])
        step_now(job.pk)
    return Done(job, " ".join(filter(None, [budget, f"Resumed (it was paused: {reason})."])))


def retry_failed(job: BatchJob, user) -> Done:
    """Every item whose generation failed gets a new attempt; not those whose enrichment
    failed (their generation succeeded)."""
    with transaction.atomic():
        job, settings = _locked(job)
        if job.status == BatchJobStatus.CANCELLED:
            raise JobNotOpen(job)
        if settings.cancelled_at:
            raise JobCancelling(job)
        failed = job.items.select_for_update().filter(status=BatchItemStatus.FAILED)
        ids = list(failed.values_list("pk", flat=True))
        if not ids:
            raise NothingToRetry(job)
        # Each item's last attempt (PostgreSQL's DISTINCT ON), followed by a new round.
        latest = (
            GenerationAttempt.objects.filter(item_id__in=ids)
            .order_by("item_id", "-number")
            .distinct("item_id")
        )
        new = GenerationAttempt.objects.bulk_create(
            [following_attempt(attempt, new_round=True) for attempt in latest]
        )
        retried = [attempt.item_id for attempt in new]
        job.items.filter(pk__in=retried).update(
            status=BatchItemStatus.QUEUED, error_message="", updated_at=timezone.now()
        )
        _reopen(job)
        step_now(job.pk)
    job.refresh_from_db()
    paused = ""
    if settings.paused_reason:
        paused = f" The job is paused ({settings.paused_reason}): resume it to send them."
    return Done(
        job,
        f"{_items(len(retried))} whose generation failed will be generated again.{paused}",
        retried=len(retried),
    )


def _reopen(job: BatchJob) -> None:
    """The job's counters from its items, and open again if it had ended."""
    counts = job.items.aggregate(
        ended=Count("pk", filter=Q(status__in=BatchItemStatus.ended())),
        successful=Count("pk", filter=Q(status=BatchItemStatus.COMPLETED)),
        failed=Count("pk", filter=Q(status=BatchItemStatus.FAILED)),
    )
    changes = {
        "completed_items": counts["ended"],
        "successful_items": counts["successful"],
        "failed_items": counts["failed"],
        "updated_at": timezone.now(),
    }
    if job.is_finished:
        changes.update(status=BatchJobStatus.PROCESSING, completed_at=None)
    BatchJob.objects.filter(pk=job.pk).update(**changes)
