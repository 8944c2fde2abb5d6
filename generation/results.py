"""Taking in what the provider answered for an attempt, once.

An answer with text goes through the intake code: the raw text is stored exactly as it
came, the conversation is created (a truncated or unparseable one too: enriching it ends
``validation_failed`` with ``INVALID_JSON_SYNTAX``), with ``input_parameters`` and the
scaffolding links as the API's items get them, and linked to its item. A parsed document
makes the item ``completed``; anything else ``failed`` with the reason. The attempt's
usage is billed to the job.

A result without an answer (errored, expired, canceled) gets the item a new attempt, up to
``MAX_ATTEMPTS`` a round (a person's retry starts a new round: ``generation.control``);
then the item fails with the last reason. Once the job is cancelled, no new attempt is
made: the item ends ``cancelled``. A realtime answer that arrives for an attempt
withdrawn by the cancel while it was on its way is still taken in (it was paid for).

Taking in the same result again changes nothing: the attempt's row is locked and a result
is only taken in while the attempt waits for one.
"""

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from conversations import counts
from conversations.models import (
    BatchItem,
    BatchItemStatus,
    BatchJob,
    BatchJobStatus,
    EmotionalArc,
    Persona,
    PromptTemplate,
    TrainingTopic,
)
from core import storage
from intake.duplicates import Original, imported_before
from intake.sources import SourceFile, build_conversation, with_input_parameters

from . import accounting
from .models import AttemptStatus, GenerationAttempt, GenerationSettings
from .parsing import parse_answer
from .provider import Answer

MAX_ATTEMPTS = 3
WAITING = (AttemptStatus.PENDING, AttemptStatus.SUBMITTED)


@dataclass(frozen=True)
class TakenIn:
    attempt: GenerationAttempt
    taken: bool  # False: the result had been taken in before (nothing changed)
    next_attempt: GenerationAttempt | None = None


def take_in_answer(attempt_id, answer: Answer) -> TakenIn:
    """A succeeded batch result or a realtime answer."""
    written: list[str] = []
    try:
        with transaction.atomic():
            attempt = _locked(attempt_id)
            withdrawn = _withdrawn(attempt)
            if attempt.status not in WAITING and not withdrawn:
                return TakenIn(attempt, False)
            item, job = attempt.item, attempt.item.batch_job
            parsed = parse_answer(answer.stop_reason, answer.text)
            conversation = None
            if answer.text:
                source = SourceFile(
                    Path(attempt.custom_id),
                    answer.text.encode("utf-8"),
                    None,
                    parsed.error or "",
                )
                links = _links(item.parameters)
                if parsed.ok:
                    source.data = with_input_parameters(parsed.document, links)
                    original = _generated_before(source.content_hash, job.created_by)
                    if original is not None:
                        return _duplicate(attempt, answer, parsed, original, counted=withdrawn)
                conversation = build_conversation(
                    source,
                    owner=job.created_by,
                    name=f"{item.topic or job.name} #{item.position}",
                    tier=job.tier,
                    links=links,
                    written=written,
                    fingerprint=source.content_hash,
                )
                conversation.save()
            attempt.status = AttemptStatus.SUCCEEDED
            attempt.stop_reason = answer.stop_reason or ""
            attempt.outcome = parsed.outcome
            attempt.parse_method = parsed.parse_method
            attempt.message_id = answer.message_id
            attempt.conversation = conversation
            attempt.error = parsed.error or ""
            attempt.answered_at = timezone.now()
            accounting.charge(attempt, answer)
            attempt.save()
            _end_item(
                item, job, conversation, ok=parsed.ok, error=parsed.error or "", counted=withdrawn
            )
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                storage.default_storage.delete(path)
        raise
    return TakenIn(attempt, True)


def _generated_before(fingerprint: str, owner) -> Original | None:
    """The owner's conversation with this content, if any: the same document generated
    again (or imported before) is not stored twice. Two answers with the same content
    taken in at once wait for each other here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"content:{owner.pk if owner else ''}:{fingerprint}"],
        )
    return imported_before([fingerprint], owner=owner).get(fingerprint)


def _duplicate(
    attempt, answer: Answer, parsed, original: Original, *, counted: bool = False
) -> TakenIn:
    """The answer repeats ``original``: billed, and the item fails naming it (its text is
    the original's, so nothing is lost)."""
    error = f"Duplicate: the answer has the same content as {original.describe()}."
    attempt.status = AttemptStatus.SUCCEEDED
    attempt.stop_reason = answer.stop_reason or ""
    attempt.outcome = "duplicate"
    attempt.parse_method = parsed.parse_method
    attempt.message_id = answer.message_id
    attempt.error = error
    attempt.answered_at = timezone.now()
    accounting.charge(attempt, answer)
    attempt.save()
    item = attempt.item
    _end_item(item, item.batch_job, None, ok=False, error=error, counted=counted)
    return TakenIn(attempt, True)


def take_in_failure(attempt_id, result_type: str, error: str) -> TakenIn:
    """An errored, expired or canceled batch result, or a request the provider refused
    (``rejected``: final for the item). Costs nothing."""
    with transaction.atomic():
        attempt = _locked(attempt_id)
        if attempt.status not in WAITING:
            return TakenIn(attempt, False)
        attempt.status = result_type
        attempt.error = error
        attempt.answered_at = timezone.now()
        attempt.save(update_fields=["status", "error", "answered_at"])
        item, job = attempt.item, attempt.item.batch_job
        # Locked: a cancel of the job waits for this, or this sees it (``control.cancel``).
        (cancelled_at,) = (
            GenerationSettings.objects.select_for_update()
            .filter(batch_job_id=job.pk)
            .values_list("cancelled_at", flat=True)
        )
        tries = attempt.number - attempt.first_of_round + 1
        if result_type != AttemptStatus.REJECTED and tries < MAX_ATTEMPTS:
            if cancelled_at is None:
                return TakenIn(attempt, True, next_attempt(attempt))
            end_cancelled(job, [item.pk], f"Its job was cancelled; the last result: {error}")
            return TakenIn(attempt, True)
        _end_item(item, job, None, ok=False, error=error)
    return TakenIn(attempt, True)


def next_attempt(previous: GenerationAttempt) -> GenerationAttempt:
    attempt = following_attempt(previous)
    attempt.save(force_insert=True)
    return attempt


def following_attempt(previous: GenerationAttempt, *, new_round: bool = False):
    """The item's next attempt (not saved), sending the same prompt; ``new_round``: a
    person asked for it, and it may be followed by ``MAX_ATTEMPTS - 1`` automatic ones."""
    number = previous.number + 1
    return GenerationAttempt(
        item_id=previous.item_id,
        number=number,
        first_of_round=number if new_round else previous.first_of_round,
        custom_id=accounting.custom_id(previous.item_id, number),
        mode=previous.mode,
        model=previous.model,
        template_id=previous.template_id,
        prompt=previous.prompt,
        prompt_hash=previous.prompt_hash,
    )


def _locked(attempt_id) -> GenerationAttempt:
    return (
        GenerationAttempt.objects.select_for_update(of=("self",))
        .select_related("item", "item__batch_job__created_by")
        .get(pk=attempt_id)
    )


def _withdrawn(attempt: GenerationAttempt) -> bool:
    """Withdrawn by a cancel before the provider answered it (``control.cancel``): only a
    realtime call already on its way can still bring its answer."""
    return (
        attempt.status == AttemptStatus.WITHDRAWN
        and attempt.item.status == BatchItemStatus.CANCELLED
    )


def end_cancelled(job: BatchJob, item_ids: list, error: str) -> int:
    """End these items ``cancelled`` (those not ended yet); how many ended. They count as
    ended items of the job (``completed_items``), neither successful nor failed."""
    ended = (
        BatchItem.objects.filter(pk__in=item_ids)
        .exclude(status__in=BatchItemStatus.ended())
        .update(status=BatchItemStatus.CANCELLED, error_message=error, updated_at=timezone.now())
    )
    if ended:
        now = timezone.now()
        changes = {"completed_items": F("completed_items") + ended, "updated_at": now}
        if job.status == BatchJobStatus.QUEUED:
            changes.update(status=BatchJobStatus.PROCESSING, started_at=now)
        BatchJob.objects.filter(pk=job.pk).update(**changes)
    return ended


def _end_item(
    item, job: BatchJob, conversation, *, ok: bool, error: str, counted: bool = False
) -> None:
    """``counted``: the item had ended (cancelled) and counts among the ended already."""
    item.status = BatchItemStatus.COMPLETED if ok else BatchItemStatus.FAILED
    item.conversation = conversation
    item.error_message = "" if ok else error
    item.save(update_fields=["status", "conversation", "error_message", "updated_at"])
    now = timezone.now()
    changes = {
        "completed_items": F("completed_items") + int(not counted),
        "successful_items": F("successful_items") + int(ok),
        "failed_items": F("failed_items") + int(not ok),
        "updated_at": now,
    }
    if job.status == BatchJobStatus.QUEUED:
        changes.update(status=BatchJobStatus.PROCESSING, started_at=now)
    if ok:
        changes.update(counts.joined([conversation.enrichment_status]))
    BatchJob.objects.filter(pk=job.pk).update(**changes)


# Scaffolding rows read while taking in many results at once (``scaffolding_cache``).
_cache: ContextVar[dict | None] = ContextVar("scaffolding_cache", default=None)


@contextlib.contextmanager
def scaffolding_cache():
    """Within it, each persona, arc, topic and template is read once, not once per result
    (a batch's results share a few of each)."""
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _links(parameters: dict) -> dict:
    cache = _cache.get()

    def row(model, key):
        pk = parameters.get(key)
        if not pk:
            return None
        if cache is None:
            return model.objects.filter(pk=pk).first()
        if (model, pk) not in cache:
            cache[model, pk] = model.objects.filter(pk=pk).first()
        return cache[model, pk]

    return {
        "persona": row(Persona, "persona_id"),
        "emotional_arc": row(EmotionalArc, "emotional_arc_id"),
        "training_topic": row(TrainingTopic, "training_topic_id"),
        "template": row(PromptTemplate, "templateId"),
    }
