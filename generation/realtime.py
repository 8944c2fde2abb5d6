"""Realtime mode: one attempt sent through the Messages API and its answer taken in.

What the provider answers decides what follows (the caller, a background task, acts on
``Sent.retry_after``):

- an answer: taken in (``generation.results``);
- 429 and 529: nothing happened; the attempt waits and ``retry_after`` says when to send
  it again (the provider's ``retry-after``, else ``DEFAULT_RETRY_AFTER``);
- 5xx and connection errors: raised, for the task's retries with backoff;
- 400 and other refusals of the request: the item fails (final);
- 401/403 and billing errors: the whole job is paused with the reason.
"""

from dataclasses import dataclass

from django.db import transaction

from .batches import attempt_request
from .models import AttemptStatus, GenerationAttempt, GenerationSettings
from .provider import Provider, ProviderError
from .results import TakenIn, take_in_answer, take_in_failure

DEFAULT_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class Sent:
    taken: TakenIn | None = None
    retry_after: float | None = None  # seconds to wait before sending it again
    paused: str = ""  # why the job was paused


def send(attempt_id, provider: Provider) -> Sent:
    attempt = GenerationAttempt.objects.select_related("item").get(pk=attempt_id)
    if attempt.status != AttemptStatus.PENDING:
        return Sent()
    settings = GenerationSettings.objects.get(batch_job_id=attempt.item.batch_job_id)
    if settings.paused_reason:
        return Sent(paused=settings.paused_reason)
    try:
        answer = provider.create_message(attempt_request(attempt, settings))
    except ProviderError as error:
        if error.kind in ("rate_limited", "overloaded"):
            return Sent(retry_after=error.retry_after or DEFAULT_RETRY_AFTER)
        if error.pauses_job:
            with transaction.atomic():
                GenerationSettings.objects.filter(pk=settings.pk).update(
                    paused_reason=error.message
                )
            return Sent(paused=error.message)
        if error.retryable:
            raise
        return Sent(taken=take_in_failure(attempt.pk, AttemptStatus.REJECTED, error.message))
    return Sent(taken=take_in_answer(attempt.pk, answer))
