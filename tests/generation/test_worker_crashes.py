"""Never paying twice, with real worker processes SIGKILLed at the worst moments: after the
provider made a batch and before the worker recorded the answer (another worker adopts the
batch the provider holds, without a second create call), and halfway through taking in a
batch's results (another worker takes in the rest, nothing twice)."""

import signal

import pytest
from django.db.models import Sum

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus, Conversation
from devtools.demo.generator import scaffolding_paths
from generation.jobs import GenerationRequest
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch, ProviderBatchStatus
from generation.starting import start_generation_job
from tests.factories import UserFactory
from tests.workers import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

CREATE = "/v1/messages/batches"
# Steps a second apart, and a killed worker's job taken up again within seconds.
ENV = {
    "GENERATION_POLL_SECONDS": "1",
    "WORKER_HEARTBEAT_SECONDS": "1",
    "WORKER_STALLED_SECONDS": "3",
}


@pytest.fixture
def job(settings):
    """Four items, the first step queued for the workers."""
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())
    return start_generation_job(
        UserFactory(),
        GenerationRequest(
            name="Tax season",
            persona_keys=["gig_juggler", "late_starter"],
            arc_keys=["dread_to_relief"],
            topic_keys=["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
            mode="batch",
            max_tokens=8000,
            auto_enrich=False,
        ),
    )


def finished(job) -> bool:
    return BatchJob.objects.get(pk=job.pk).is_finished


def assert_each_conversation_generated_and_billed_once(job) -> None:
    job.refresh_from_db()
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 4)
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    assert set(attempts.values_list("status", "billed")) == {(AttemptStatus.SUCCEEDED, True)}
    assert Conversation.objects.filter(created_by=job.created_by).count() == 4
    assert len(set(job.items.values_list("conversation_id", flat=True))) == 4
    generation = job.generation
    generation.refresh_from_db()
    assert generation.cost_usd == attempts.aggregate(total=Sum("cost_usd"))["total"] > 0


def test_a_worker_killed_between_the_create_call_and_recording_it_never_pays_twice(
    workers, fake_anthropic, job
):
    # The provider makes each batch but holds the answer: the worker waits in the call.
    fake_anthropic.configure(batch_polls=0, hold_creation=True)
    doomed = workers.start("doomed", env=ENV)
    wait_for(lambda: fake_anthropic.batches(), timeout=90, what="the provider to make a batch")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    fake_anthropic.release()
    (intent,) = ProviderBatch.objects.filter(batch_job=job)
    assert (intent.status, intent.provider_batch_id) == (ProviderBatchStatus.SUBMITTING, "")
    rescuer = workers.start("rescuer", env=ENV)

    wait_for(lambda: finished(job), timeout=180, what="the job to finish")

    (made,) = fake_anthropic.batches()
    creates = [r for r in fake_anthropic.requests() if (r["method"], r["path"]) == ("POST", CREATE)]
    assert len(creates) == 1
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    assert sorted(made["custom_ids"]) == sorted(attempts.values_list("custom_id", flat=True))
    assert len(made["custom_ids"]) == 4
    (record,) = ProviderBatch.objects.filter(batch_job=job)
    assert record.provider_batch_id == made["id"] and record.adopted_at
    assert record.results_taken_at and record.attempts.count() == 4
    assert_each_conversation_generated_and_billed_once(job)
    assert "was running on a worker that stopped" in workers.log_of(rescuer)


def test_a_worker_killed_halfway_through_taking_in_results_takes_nothing_in_twice(
    workers, fake_anthropic, job
):
    # The results download stops after two lines until released: the worker has taken
    # those two in and waits for the rest.
    fake_anthropic.configure(batch_polls=0, hold_results_after=2)
    doomed = workers.start("doomed", env=ENV)
    succeeded = GenerationAttempt.objects.filter(
        item__batch_job=job, status=AttemptStatus.SUCCEEDED
    )
    wait_for(lambda: succeeded.count() == 2, timeout=90, what="two results taken in")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    fake_anthropic.release()
    (record,) = ProviderBatch.objects.filter(batch_job=job)
    assert (record.status, record.results_taken_at) == (ProviderBatchStatus.ENDED, None)
    assert succeeded.count() == 2
    rescuer = workers.start("rescuer", env=ENV)

    wait_for(lambda: finished(job), timeout=180, what="the job to finish")

    downloads = [r for r in fake_anthropic.requests() if r["path"].endswith("/results")]
    assert len(downloads) == 2
    creates = [r for r in fake_anthropic.requests() if (r["method"], r["path"]) == ("POST", CREATE)]
    assert len(creates) == 1
    record.refresh_from_db()
    assert record.results_taken_at and record.succeeded == 4
    assert_each_conversation_generated_and_billed_once(job)
    assert "was running on a worker that stopped" in workers.log_of(rescuer)
