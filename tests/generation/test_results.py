"""Results taken in through the intake code, once: answers from the fake provider (through
the SDK) become conversations linked to their items; failures get new attempts, then fail
the item."""

import json
from decimal import Decimal

import pytest

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJobStatus, EnrichmentStatus
from core import storage
from devtools.demo.generator import scaffolding_paths
from enrichment.pipeline.run import enrich_conversations
from generation import accounting, pricing
from generation.document import CONVERSATION_SCHEMA
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt
from generation.provider import Request
from generation.providers import get_provider
from generation.results import take_in_answer, take_in_failure
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(settings, fake_anthropic):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return create_generation_job(
        UserFactory(),
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            mode="realtime",
            max_tokens=8000,
        ),
    )


def send(attempt: GenerationAttempt, *, marker: str = ""):
    """The attempt's request, answered by the fake provider through the SDK."""
    settings = attempt.item.batch_job.generation
    return get_provider().create_message(
        Request(
            attempt.custom_id,
            attempt.model,
            settings.max_tokens,
            settings.system_prompt,
            attempt.prompt + marker,
            CONVERSATION_SCHEMA,
        )
    )


def first_attempt(job, position: int = 1) -> GenerationAttempt:
    return GenerationAttempt.objects.get(item__batch_job=job, item__position=position, number=1)


def test_an_answer_becomes_a_linked_enrichable_conversation_billed_once(job):
    attempt = first_attempt(job)
    answer = send(attempt)

    taken = take_in_answer(attempt.pk, answer)
    again = take_in_answer(attempt.pk, answer)

    assert (taken.taken, again.taken) == (True, False)
    attempt.refresh_from_db()
    item = attempt.item
    item.refresh_from_db()
    job.refresh_from_db()
    conversation = item.conversation
    assert (item.status, attempt.conversation) == (BatchItemStatus.COMPLETED, conversation)
    assert (attempt.stop_reason, attempt.outcome, attempt.parse_method) == (
        "end_turn",
        "parsed",
        "direct",
    )
    assert storage.read_file(conversation.raw_response_path) == answer.text.encode()
    parsed = json.loads(storage.read_file(conversation.file_path))
    assert parsed["input_parameters"]["persona_key"] == "gig_juggler"
    assert parsed["input_parameters"]["training_topic_key"] == "freelancer_quarterly_taxes"
    assert parsed["conversation_metadata"]["client_persona"] == "Tomás Reyes - The Gig Juggler"
    assert conversation.persona.persona_key == "gig_juggler"
    assert conversation.template.emotional_arc_type == "dread_to_relief"
    expected = pricing.cost(
        "claude-sonnet-5-5", answer.input_tokens, answer.output_tokens, batch=False
    )
    assert attempt.cost_usd == expected == job.generation.cost_usd
    assert (job.status, job.completed_items, job.successful_items) == (
        BatchJobStatus.PROCESSING,
        1,
        1,
    )
    assert job.conversations_total == 1
    (outcome,) = enrich_conversations([conversation.pk])
    conversation.refresh_from_db()
    assert conversation.enrichment_status == EnrichmentStatus.COMPLETED


def test_a_truncated_answer_is_kept_billed_and_fails_validation(job):
    attempt = first_attempt(job)
    answer = send(attempt, marker="\n[[fake:truncate]]")

    take_in_answer(attempt.pk, answer)

    attempt.refresh_from_db()
    item = attempt.item
    item.refresh_from_db()
    assert (attempt.outcome, attempt.parse_method, item.status) == (
        "truncated",
        None,
        BatchItemStatus.FAILED,
    )
    assert "cut off" in item.error_message
    assert storage.read_file(item.conversation.raw_response_path) == answer.text.encode()
    assert attempt.cost_usd > 0
    enrich_conversations([item.conversation.pk])
    item.conversation.refresh_from_db()
    assert item.conversation.enrichment_status == EnrichmentStatus.VALIDATION_FAILED
    codes = [b["code"] for b in item.conversation.validation_report["blockers"]]
    assert codes == ["INVALID_JSON_SYNTAX"]


def test_a_repairable_answer_is_repaired_and_its_raw_text_kept_as_it_came(job):
    attempt = first_attempt(job)
    answer = send(attempt, marker="\n[[fake:repairable]]")

    take_in_answer(attempt.pk, answer)

    attempt.refresh_from_db()
    assert (attempt.parse_method, attempt.item.status) == ("repaired", BatchItemStatus.COMPLETED)
    raw = storage.read_file(attempt.conversation.raw_response_path).decode()
    assert raw == answer.text and raw.startswith("```json")


def test_a_refusal_fails_the_item_naming_it(job):
    attempt = first_attempt(job)

    take_in_answer(attempt.pk, send(attempt, marker="\n[[fake:refuse]]"))

    attempt.refresh_from_db()
    assert (attempt.stop_reason, attempt.item.status) == ("refusal", BatchItemStatus.FAILED)
    assert "refused" in attempt.item.error_message


def test_errored_and_expired_results_get_new_attempts_then_fail_the_item(job):
    attempt = first_attempt(job)

    second = take_in_failure(attempt.pk, AttemptStatus.ERRORED, "api_error: boom").next_attempt
    third = take_in_failure(second.pk, AttemptStatus.EXPIRED, "The request expired.").next_attempt
    last = take_in_failure(third.pk, AttemptStatus.ERRORED, "api_error: again")
    repeated = take_in_failure(third.pk, AttemptStatus.ERRORED, "api_error: again")

    assert [a.number for a in (attempt, second, third)] == [1, 2, 3]
    assert accounting.parse_custom_id(third.custom_id) == (attempt.item_id, 3)
    assert third.prompt == attempt.prompt and third.prompt_hash == attempt.prompt_hash
    assert (last.next_attempt, repeated.taken) == (None, False)
    item = attempt.item
    item.refresh_from_db()
    job.refresh_from_db()
    assert (item.status, item.error_message) == (BatchItemStatus.FAILED, "api_error: again")
    assert (job.completed_items, job.failed_items) == (1, 1)
    assert job.generation.cost_usd == Decimal(0)


def test_a_rejected_request_fails_the_item_at_once(job):
    attempt = first_attempt(job)

    taken = take_in_failure(attempt.pk, AttemptStatus.REJECTED, "400: temperature")

    assert taken.next_attempt is None
    attempt.item.refresh_from_db()
    assert attempt.item.status == BatchItemStatus.FAILED


def test_a_batch_through_the_sdk_is_taken_in_by_custom_id(job, fake_anthropic):
    provider = get_provider()
    settings = job.generation
    attempts = list(GenerationAttempt.objects.filter(item__batch_job=job))
    fake_anthropic.configure(batch_polls=0)
    batch = provider.create_batch(
        [
            Request(
                a.custom_id,
                a.model,
                settings.max_tokens,
                settings.system_prompt,
                a.prompt + ("\n[[fake:errored]]" if a.item.position == 2 else ""),
                CONVERSATION_SCHEMA,
            )
            for a in attempts
        ]
    )
    provider.retrieve_batch(batch.id)

    for result in provider.batch_results(batch.id):
        item_id, number = accounting.parse_custom_id(result.custom_id)
        attempt = GenerationAttempt.objects.get(item_id=item_id, number=number)
        if result.answer is not None:
            take_in_answer(attempt.pk, result.answer)
        else:
            take_in_failure(attempt.pk, result.type, result.error)

    by_position = {
        a.item.position: a for a in GenerationAttempt.objects.select_related("item").all()
    }
    assert by_position[1].item.status == BatchItemStatus.COMPLETED
    assert [(a.number, a.status) for a in GenerationAttempt.objects.filter(item__position=2)] == [
        (1, AttemptStatus.ERRORED),
        (2, AttemptStatus.PENDING),
    ]
