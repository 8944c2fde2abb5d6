"""Realtime mode: one attempt sent through the Messages API and its answer taken in.

What the provider answers decides what follows (the caller, a background task, acts on
``Sent.retry_after``):

- an answer: taken in (``generation.results``);
- 429 and 529: nothing happened; the attempt waits and ``retry_after`` says when to send
  it again (the provider's ``retry-after``, else ``DEFAULT_RETRY_AFTER``);
- 5xx and connection errors: raised, for the task's retries with backoff;
- 400 and other refusals of the request: the item fails (final);
- 401/403 and billing errors: the whole job is paused with the reason.

A call that could pass the job's budget (counting, at their most, every call in flight
now) is not sent: the job is paused, "Budget reached", as in batch mode.
"""

from dataclasses import dataclass

from django.db import transaction

from . import accounting, pricing, slots
from .batches import attempt_request
from .document import schema_chars
from .models import AttemptStatus, GenerationAttempt, GenerationSettings, Mode
from .provider import Provider, ProviderError
from .results import TakenIn, take_in_answer, take_in_failure

DEFAULT_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class Sent:
    taken: TakenIn | None = None
    retry_after: float | None = None  # seconds to wait before sending it again
    paused: str = ""  # why the job was paused


def _over_budget(settings: GenerationSettings, request) -> bool:
    """Would this call, with every call in flight now (each realtime call holds a slot,
    this one too; at worst all are this job's), pass the job's budget? Each counts at its
    most: the whole prompt in, ``max_tokens`` out."""
    left = accounting.budget_left(settings)
    if left is None:
        return False
    estimate = pricing.estimate(
        settings.model,
        [(request.system, request.prompt, None)],
        max_tokens=settings.max_tokens,
        mode=Mode.REALTIME,
        overhead_chars=schema_chars(),
    )
    return estimate.cost_usd * max(slots.slots_in_use(), 1) > left


def send(attempt_id, provider: Provider) -> Sent:
    attempt = GenerationAttempt.objects.select_related("item").get(pk=attempt_id)
    if attempt.status != AttemptStatus.PENDING:
        return Sent()
    settings = GenerationSettings.objects.get(batch_job_id=attempt.item.batch_job_id)
    if settings.paused_reason:
        return Sent(paused=settings.paused_reason)
    request = attempt_request(attempt, settings)
    if _over_budget(settings, request):
        reason = accounting.budget_reason(settings)
        GenerationSettings.objects.filter(pk=settings.pk, paused_reason="").update(
            paused_reason=reason
        )
        return Sent(paused=reason)
    try:
        answer = provider.create_message(request)
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
