"""Taking in what the provider answered for an attempt, once.

An answer with text goes through the intake code: the raw text is stored exactly as it
came, the conversation is created (a truncated or unparseable one too: enriching it ends
``validation_failed`` with ``INVALID_JSON_SYNTAX``), with ``input_parameters`` and the
scaffolding links as the API's items get them, and linked to its item. A parsed document
makes the item ``completed``; anything else ``failed`` with the reason. The attempt's
usage is billed to the job.

A result without an answer (errored, expired, canceled) gets the item a new attempt, up to
``MAX_ATTEMPTS`` in all; then the item fails with the last reason.

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
from .models import AttemptStatus, GenerationAttempt
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
            if attempt.status not in WAITING:
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
                        return _duplicate(attempt, answer, parsed, original)
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
            _end_item(item, job, conversation, ok=parsed.ok, error=parsed.error or "")
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


def _duplicate(attempt, answer: Answer, parsed, original: Original) -> TakenIn:
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
    _end_item(attempt.item, attempt.item.batch_job, None, ok=False, error=error)
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
        if result_type != AttemptStatus.REJECTED and attempt.number < MAX_ATTEMPTS:
            return TakenIn(attempt, True, next_attempt(attempt))
        _end_item(item, job, None, ok=False, error=error)
    return TakenIn(attempt, True)


def next_attempt(previous: GenerationAttempt) -> GenerationAttempt:
    number = previous.number + 1
    return GenerationAttempt.objects.create(
        item=previous.item,
        number=number,
        custom_id=accounting.custom_id(previous.item_id, number),
        mode=previous.mode,
        model=previous.model,
        template=previous.template,
        prompt=previous.prompt,
        prompt_hash=previous.prompt_hash,
    )


def _locked(attempt_id) -> GenerationAttempt:
    return (
        GenerationAttempt.objects.select_for_update(of=("self",))
        .select_related("item", "item__batch_job")
        .get(pk=attempt_id)
    )


def _end_item(item, job: BatchJob, conversation, *, ok: bool, error: str) -> None:
    item.status = BatchItemStatus.COMPLETED if ok else BatchItemStatus.FAILED
    item.conversation = conversation
    item.error_message = "" if ok else error
    item.save(update_fields=["status", "conversation", "error_message", "updated_at"])
    now = timezone.now()
    changes = {
        "completed_items": F("completed_items") + 1,
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
