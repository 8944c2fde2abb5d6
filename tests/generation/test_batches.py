"""Batch mode against the fake provider through the SDK: chunks within the limits, the
intent recorded before the create call, refusals that create nothing, the budget, and
results taken in once."""

from decimal import Decimal

import pytest

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.jobs import GenerationRequest, create_generation_job
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch, ProviderBatchStatus
from generation.provider import ProviderError
from generation.providers import get_provider
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
            persona_keys=["gig_juggler", "late_starter"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            mode="batch",
            max_tokens=8000,
        ),
    )


def statuses(job) -> list[str]:
    return [
        a.status
        for a in GenerationAttempt.objects.filter(item__batch_job=job).order_by("item__position")
    ]


def test_pending_attempts_go_in_chunks_and_come_back_once(job, fake_anthropic):
    provider = get_provider()
    fake_anthropic.configure(batch_polls=1)

    sent = batches.submit(job.pk, provider, max_requests=3)
    again = batches.submit(job.pk, provider, max_requests=3)

    assert [b.requests for b in sent] == [3, 1] and again == []
    at_fake = {b["id"]: b["custom_ids"] for b in fake_anthropic.batches()}
    assert sorted(at_fake) == sorted(b.provider_batch_id for b in sent)
    assert sorted(sum(at_fake.values(), [])) == sorted(
        GenerationAttempt.objects.values_list("custom_id", flat=True)
    )
    assert statuses(job) == [AttemptStatus.SUBMITTED] * 4
    polled = [batches.poll(b.pk, provider) for b in sent]
    assert [(b.status, b.results_taken_at) for b in polled] == [("in_progress", None)] * 2
    assert statuses(job) == [AttemptStatus.SUBMITTED] * 4

    ended = [batches.poll(b.pk, provider) for b in sent]
    repeated = batches.poll(sent[0].pk, provider)

    assert [(b.status, b.succeeded) for b in ended] == [("ended", 3), ("ended", 1)]
    assert repeated.results_taken_at == ended[0].results_taken_at
    assert statuses(job) == [AttemptStatus.SUCCEEDED] * 4
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    job.refresh_from_db()
    assert (job.completed_items, job.successful_items, job.conversations_total) == (4, 4, 4)
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    assert job.generation.cost_usd == sum(a.cost_usd for a in attempts) > 0
    # Batch mode is billed at half the price.
    one = attempts.first()
    assert one.cost_usd == (Decimal(one.input_tokens) * 2 + Decimal(one.output_tokens) * 10) / (
        2 * 1_000_000
    )


def test_a_refused_create_call_creates_nothing_and_the_attempts_wait_again(job, fake_anthropic):
    fake_anthropic.fail(529, path="/v1/messages/batches")

    with pytest.raises(ProviderError) as error:
        batches.submit(job.pk, get_provider())

    assert error.value.kind == "overloaded"
    (intent,) = ProviderBatch.objects.all()
    assert (intent.status, intent.provider_batch_id) == (ProviderBatchStatus.NOT_CREATED, "")
    assert "529" in intent.error
    assert fake_anthropic.batches() == []
    assert statuses(job) == [AttemptStatus.PENDING] * 4
    assert not GenerationAttempt.objects.filter(provider_batch__isnull=False).exists()

    (sent,) = batches.submit(job.pk, get_provider())

    assert sent.requests == 4 and len(fake_anthropic.batches()) == 1


def test_a_create_call_of_unknown_fate_keeps_its_attempts_out_of_the_next_batch(
    job, fake_anthropic
):
    fake_anthropic.fail(500, path="/v1/messages/batches")

    with pytest.raises(ProviderError):
        batches.submit(job.pk, get_provider())
    again = batches.submit(job.pk, get_provider())

    (intent,) = ProviderBatch.objects.all()
    assert intent.status == ProviderBatchStatus.SUBMITTING and intent.submitting_since
    assert intent.attempts.count() == 4
    assert again == [] and fake_anthropic.batches() == []


def test_a_budget_the_next_chunk_would_pass_pauses_the_job_with_the_reason(job, fake_anthropic):
    settings = job.generation
    settings.budget_usd = Decimal("0.0001")
    settings.save()

    sent = batches.submit(job.pk, get_provider())

    settings.refresh_from_db()
    assert sent == [] and fake_anthropic.batches() == []
    assert settings.paused_reason.startswith("Budget reached")


def test_errored_results_are_sent_again_in_the_next_batch(job, fake_anthropic):
    provider = get_provider()
    fake_anthropic.configure(batch_polls=0)
    first = GenerationAttempt.objects.get(item__batch_job=job, item__position=1)
    first.prompt += "\n[[fake:errored-once]]"
    first.save()

    (batch,) = batches.submit(job.pk, provider)
    batches.poll(batch.pk, provider)
    (retry,) = batches.submit(job.pk, provider)
    batches.poll(retry.pk, provider)

    assert retry.requests == 1
    assert [(a.number, a.status) for a in first.item.generation_attempts.all()] == [
        (1, AttemptStatus.ERRORED),
        (2, AttemptStatus.SUCCEEDED),
    ]
    first.item.refresh_from_db()
    assert first.item.status == BatchItemStatus.COMPLETED
