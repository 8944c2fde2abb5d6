"""Adopting provider batches whose creation was never confirmed, so that a crash never pays
twice.

``batches.submit`` commits the intent (a ``ProviderBatch`` in ``submitting`` holding its
attempts) before the create call, and its creator holds the intent's lock
(``generation.intents``) until the answer is recorded. An intent still ``submitting`` once
its creator is gone (killed between the call and recording it, or the call's answer lost:
a 5xx, a dropped connection) is settled at the job's next step, after ``GRACE``:

1. The provider's batches created since ``submitting_since`` (less ``CLOCK_MARGIN``, for
   clocks that disagree) and before the creator was first found gone (plus the margin:
   no batch of this intent can be made later) with as many requests as the intent are
   listed; those recorded already, by any job, are not candidates.
2. Unknown ones are recorded as candidates (``adopted_at``; the unique provider batch id
   keeps two jobs from recording one twice) and polled like any batch. The list does not
   show ``custom_id``s, so a candidate is **waited for until it ends**, not cancelled: in a
   workspace shared with other software a candidate may be someone else's batch, and
   cancelling it would break their work (and ours loses nothing by waiting: batch mode
   promises a day anyway). Its results are matched by ``custom_id`` to the attempts of any
   job's unsettled intent and taken in once (``generation.results``); the candidate then
   becomes that intent's record. A candidate that holds none of them is not ours: it is
   left alone and noted (``not_ours``).
3. Only when the provider lists no candidate, and no recorded candidate is still open, are
   the intent's attempts given back (the intent ends ``not_created``) to be sent again.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from . import batches, intents
from .models import AttemptStatus, GenerationAttempt, ProviderBatch, ProviderBatchStatus
from .provider import Batch, Provider

# How long an intent is left to its creator, and to the provider's list to show a batch
# just created, before it is settled.
GRACE = timedelta(seconds=30)
# How far the provider's clock may be behind ours.
CLOCK_MARGIN = timedelta(seconds=60)


def settle(job_id, provider: Provider) -> list[str]:
    """Settle the job's intents left ``submitting`` past the grace; what happened, in
    words. Open candidates recorded by another job that an intent of this one waits for
    are polled here too (their own job may have ended)."""
    notes: list[str] = []
    waited_for: set = set()
    due = timezone.now() - GRACE
    pending = ProviderBatch.objects.filter(
        batch_job_id=job_id, status=ProviderBatchStatus.SUBMITTING, submitting_since__lte=due
    ).values_list("pk", flat=True)
    for intent_pk in pending:
        note, candidates = _settle_intent(intent_pk, provider)
        if note:
            notes.append(note)
        waited_for.update(candidates)
    for record in ProviderBatch.objects.filter(pk__in=waited_for).exclude(batch_job_id=job_id):
        polled = poll(record.pk, provider)
        notes.append(f"candidate batch {polled.provider_batch_id}: {polled.status}")
    return notes


def waiting(job_id) -> bool:
    """Whether some of the job's attempts wait on an intent still to be settled."""
    return ProviderBatch.objects.filter(
        batch_job_id=job_id, status=ProviderBatchStatus.SUBMITTING
    ).exists()


def _settle_intent(intent_pk, provider: Provider) -> tuple[str | None, list]:
    """One intent: candidates recorded, or its attempts given back, or nothing yet (its
    creator still in the call). The note, and the open candidates it waits for."""
    with transaction.atomic():
        intent = (
            ProviderBatch.objects.select_for_update()
            .filter(pk=intent_pk, status=ProviderBatchStatus.SUBMITTING)
            .first()
        )
        if intent is None or not intents.creator_gone(intent.pk):
            return None, []
        intent.looked_for_at = intent.looked_for_at or timezone.now()
        since = (intent.submitting_since or intent.created_at) - CLOCK_MARGIN
        until = intent.looked_for_at + CLOCK_MARGIN
        listed = [
            batch
            for batch in provider.list_batches(created_after=since)
            if batch.requests == intent.requests and batch.created_at <= until
        ]
        recorded = ProviderBatch.objects.filter(provider_batch_id__in=[b.id for b in listed])
        known = {r.provider_batch_id: r for r in recorded}
        new = [batch for batch in listed if batch.id not in known]
        ProviderBatch.objects.bulk_create(
            [_candidate(intent, batch) for batch in new], ignore_conflicts=True
        )
        candidates = list(
            ProviderBatch.objects.filter(
                provider_batch_id__in=[b.id for b in listed],
                adopted_at__isnull=False,
                results_taken_at__isnull=True,
            ).values_list("pk", "provider_batch_id")
        )
        if candidates:
            names = ", ".join(name for _, name in candidates)
            intent.error = (
                f"The answer to its create call was lost; the provider's batch {names} may be "
                "it (adopted: its results will tell)."
            )
            intent.save(update_fields=["error", "looked_for_at"])
            return f"adopting provider batch {names} ({intent.requests} requests)", [
                pk for pk, _ in candidates
            ]
        intent.status = ProviderBatchStatus.NOT_CREATED
        intent.error = (
            "The answer to its create call was lost, and the provider lists no batch of "
            f"{intent.requests} requests created since {since:%Y-%m-%d %H:%M:%S} UTC: its "
            "attempts are sent again."
        )
        intent.save(update_fields=["status", "error", "looked_for_at"])
        released = intent.attempts.update(provider_batch=None)
        return f"no provider batch for {released} requests whose creation was lost: sent again", []


def _candidate(intent: ProviderBatch, batch: Batch) -> ProviderBatch:
    return ProviderBatch(
        batch_job_id=intent.batch_job_id,
        provider_batch_id=batch.id,
        status=batch.processing_status,
        requests=batch.requests,
        succeeded=batch.succeeded,
        errored=batch.errored,
        expired=batch.expired,
        canceled=batch.canceled,
        ended_at=batch.ended_at,
        adopted_at=timezone.now(),
    )


def poll(candidate_pk, provider: Provider) -> ProviderBatch:
    """Look at an adopted batch; once it ended, take in its results for the attempts of
    unsettled intents they name (again after a crash: a result is taken in once), then
    settle whose it was."""
    record = batches.refresh(candidate_pk, provider)
    if record.status != ProviderBatchStatus.ENDED or record.results_taken_at is not None:
        return record
    owners = set()
    for result in provider.batch_results(record.provider_batch_id):
        attempt = GenerationAttempt.objects.filter(
            custom_id=result.custom_id, provider_batch__status=ProviderBatchStatus.SUBMITTING
        ).first()
        if attempt is None:
            continue  # not a request of ours waiting for a batch
        owners.add(attempt.provider_batch_id)
        batches.take_in(result, attempt.pk)
    return _settle_candidate(record.pk, owners)


def _settle_candidate(candidate_pk, owners: set) -> ProviderBatch:
    """The candidate becomes the record of the intent its results named (the intent row
    goes; attempts the batch did not hold wait to be sent again), or is noted as not
    ours."""
    with transaction.atomic():
        record = ProviderBatch.objects.select_for_update().get(pk=candidate_pk)
        if record.results_taken_at is not None:
            return record
        record.results_taken_at = timezone.now()
        fields = ["results_taken_at", "error"]
        intents_of = list(ProviderBatch.objects.select_for_update().filter(pk__in=owners))
        if not intents_of:
            record.status = ProviderBatchStatus.NOT_OURS
            record.error = (
                f"Found at the provider while adopting, but none of its {record.requests} "
                "requests is ours: left alone."
            )
            record.save(update_fields=[*fields, "status"])
            return record
        GenerationAttempt.objects.filter(provider_batch__in=intents_of).update(
            provider_batch=record
        )
        record.attempts.filter(status=AttemptStatus.PENDING).update(provider_batch=None)
        record.batch_job_id = intents_of[0].batch_job_id
        record.submitting_since = intents_of[0].submitting_since
        record.error = ""
        record.save(update_fields=[*fields, "batch_job", "submitting_since"])
        ProviderBatch.objects.filter(pk__in=[i.pk for i in intents_of]).delete()
    return record
