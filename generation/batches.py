"""Batch mode: pending attempts go to the provider's batch API in chunks within its limits,
and ended batches' results are taken in.

**Never pay twice.** Before the create call, the intent is committed: a ``ProviderBatch``
in ``submitting`` holding its attempts, its creator's lock held (``generation.intents``).
The provider's answer then records its id. If the provider refused the call (429, 529, a
4xx), nothing was created: the intent ends ``not_created`` and its attempts wait again. If
the call's fate is unknown (a connection lost, a 5xx, the worker killed), the intent stays
``submitting`` with its attempts, so they are never sent again by this function: finding
the provider's batch created in that window and adopting it, or making sure there is none,
is ``generation.adoption``'s work.
"""

from django.db import transaction
from django.utils import timezone

from . import accounting, intents, pricing
from .document import CONVERSATION_SCHEMA, schema_chars
from .models import (
    AttemptStatus,
    GenerationAttempt,
    GenerationSettings,
    Mode,
    ProviderBatch,
    ProviderBatchStatus,
)
from .provider import (
    MAX_BATCH_BYTES,
    MAX_BATCH_REQUESTS,
    Provider,
    ProviderError,
    Request,
    Result,
    chunks,
)
from .results import scaffolding_cache, take_in_answer, take_in_failure

# Refusals after which the provider certainly created nothing.
NOT_CREATED = ("rate_limited", "overloaded", "bad_request", "auth", "billing", "not_found")


def attempt_request(attempt: GenerationAttempt, settings: GenerationSettings) -> Request:
    """What an attempt sends: its prompt as rendered at creation, the job's settings."""
    return Request(
        attempt.custom_id,
        attempt.model,
        settings.max_tokens,
        settings.system_prompt,
        attempt.prompt,
        CONVERSATION_SCHEMA,
        settings.temperature,
    )


def submit(
    job_id,
    provider: Provider,
    *,
    max_requests: int = MAX_BATCH_REQUESTS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[ProviderBatch]:
    """Send the job's pending batch-mode attempts, one provider batch per chunk; the
    batches created. A ``ProviderError`` stops it (what was sent before stays sent). A job
    whose budget the next chunk would pass is paused with the reason instead."""
    created = []
    while True:
        with transaction.atomic():
            settings = GenerationSettings.objects.select_for_update().get(batch_job_id=job_id)
            if settings.paused_reason:
                return created
            pending = list(
                GenerationAttempt.objects.filter(
                    item__batch_job_id=job_id,
                    mode=Mode.BATCH,
                    status=AttemptStatus.PENDING,
                    provider_batch__isnull=True,
                ).order_by("item__position", "number")[:max_requests]
            )
            if not pending:
                return created
            requests = next(
                chunks(
                    (attempt_request(a, settings) for a in pending),
                    max_requests=max_requests,
                    max_bytes=max_bytes,
                )
            )
            if _over_budget(settings, requests):
                settings.paused_reason = accounting.budget_reason(settings)
                settings.save(update_fields=["paused_reason", "updated_at"])
                return created
            intent = ProviderBatch.objects.create(
                batch_job_id=job_id,
                requests=len(requests),
                submitting_since=timezone.now(),
            )
            ids = [r.custom_id for r in requests]
            GenerationAttempt.objects.filter(custom_id__in=ids).update(provider_batch=intent)
            intents.hold(intent.pk)
        try:
            batch = _create(intent, requests, provider)
            recorded = _record(intent, batch)
        finally:
            intents.let_go(intent.pk)
        if recorded:
            created.append(intent)
        else:
            _settled_meanwhile(job_id, batch, provider)


def _create(intent: ProviderBatch, requests: list[Request], provider: Provider):
    try:
        return provider.create_batch(requests)
    except ProviderError as error:
        if error.kind in NOT_CREATED:
            with transaction.atomic():
                ProviderBatch.objects.filter(pk=intent.pk).update(
                    status=ProviderBatchStatus.NOT_CREATED, error=error.message
                )
                intent.attempts.update(provider_batch=None)
        else:
            ProviderBatch.objects.filter(pk=intent.pk).update(error=error.message)
        raise


def _record(intent: ProviderBatch, batch) -> bool:
    """The provider's answer on the intent, unless the intent was settled meanwhile."""
    with transaction.atomic():
        # Another job settling a lost intent may have listed this batch between its
        # creation and now, and adopted it as a candidate: it is this intent's.
        ProviderBatch.objects.filter(
            provider_batch_id=batch.id, adopted_at__isnull=False, results_taken_at__isnull=True
        ).delete()
        recorded = ProviderBatch.objects.filter(
            pk=intent.pk, status=ProviderBatchStatus.SUBMITTING
        ).update(provider_batch_id=batch.id, status=batch.processing_status)
        if recorded:
            intent.attempts.update(status=AttemptStatus.SUBMITTED, submitted_at=timezone.now())
    intent.provider_batch_id, intent.status = batch.id, batch.processing_status
    return bool(recorded)


def _settled_meanwhile(job_id, batch, provider: Provider) -> None:
    """Adoption settled the intent while this process was in the call, which it can only do
    once the creator's lock is gone: this process lost its database session meanwhile. If
    adoption found the batch, nothing is left to do. If it found none and gave the attempts
    back to be sent again, this batch is cancelled at once and recorded, its results not
    taken in (its attempts are another batch's now)."""
    if ProviderBatch.objects.filter(provider_batch_id=batch.id).exists():
        return  # adopted meanwhile
    canceled = provider.cancel_batch(batch.id)
    ProviderBatch.objects.create(
        batch_job_id=job_id,
        provider_batch_id=batch.id,
        status=canceled.processing_status,
        requests=canceled.requests,
        results_taken_at=timezone.now(),
        error="Created after its intent had been given up (the database was lost during "
        "the create call): cancelled, its results are not taken in.",
    )


def _over_budget(settings: GenerationSettings, requests: list[Request]) -> bool:
    left = accounting.budget_left(settings)
    if left is None:
        return False
    estimate = pricing.estimate(
        settings.model,
        ((r.system, r.prompt, None) for r in requests),
        max_tokens=settings.max_tokens,
        mode=Mode.BATCH,
        overhead_chars=schema_chars(),
    )
    return estimate.cost_usd > left


def refresh(provider_batch_pk, provider: Provider) -> ProviderBatch:
    """One provider batch's status and counts, as the provider tells them now."""
    record = ProviderBatch.objects.get(pk=provider_batch_pk)
    batch = provider.retrieve_batch(record.provider_batch_id)
    record.status = batch.processing_status
    record.succeeded, record.errored = batch.succeeded, batch.errored
    record.expired, record.canceled = batch.expired, batch.canceled
    record.ended_at = batch.ended_at
    record.save(update_fields=["status", "succeeded", "errored", "expired", "canceled", "ended_at"])
    return record


def take_in(result: Result, attempt_pk) -> None:
    """One batch result for its attempt (a second time changes nothing)."""
    if result.answer is not None:
        take_in_answer(attempt_pk, result.answer)
    else:
        take_in_failure(attempt_pk, result.type, result.error or result.type)


def poll(provider_batch_pk, provider: Provider) -> ProviderBatch:
    """Look at one provider batch: its counts and status; once it ended, take in every
    result (again after a crash, even partway: taking in a result twice changes nothing,
    and the batch counts as taken in only once its last result was)."""
    record = refresh(provider_batch_pk, provider)
    if record.status != ProviderBatchStatus.ENDED or record.results_taken_at is not None:
        return record
    with scaffolding_cache():
        for result in provider.batch_results(record.provider_batch_id):
            attempt = GenerationAttempt.objects.filter(
                custom_id=result.custom_id, item__batch_job_id=record.batch_job_id
            ).first()
            if attempt is None:
                continue  # not one of this job's requests
            take_in(result, attempt.pk)
    record.results_taken_at = timezone.now()
    record.save(update_fields=["results_taken_at"])
    return record
