"""Generation jobs on real worker processes against the fake provider: realtime jobs of
two workers (two jobs at a time each) never have more than ``GENERATION_CONCURRENCY`` calls
in flight and do reach it, each item sent and billed once; a batch-mode job goes from
submission to its enrichment; a 429 with ``retry-after`` is sent again later, not
counted as an attempt; a worker killed during a call does not keep its slot."""

import signal
from decimal import Decimal

import pytest
from django.db.models import Sum
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from enrichment.models import EnrichmentRun
from generation import slots
from generation.models import AttemptStatus, GenerationAttempt, ProviderBatch
from tests.factories import UserFactory
from tests.workers import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

BODY = {
    "personaKeys": ["gig_juggler", "late_starter"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes"],
    "maxTokens": 8000,
}
# The workers' step looks at open batches every second.
FAST = {"GENERATION_POLL_SECONDS": "1"}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def api():
    client = APIClient()
    client.force_login(UserFactory())
    return client


def create(api, name: str, **fields) -> BatchJob:
    response = api.post("/api/generation-jobs", {**BODY, "name": name, **fields}, format="json")
    assert response.status_code == 201, response.json()
    return BatchJob.objects.get(pk=response.json()["id"])


def finished(*jobs: BatchJob) -> bool:
    return all(BatchJob.objects.get(pk=job.pk).is_finished for job in jobs)


def enriched(job: BatchJob) -> bool:
    run = EnrichmentRun.objects.filter(batch_job=job).first()
    return run is not None and run.is_finished


def assert_generated_once_and_billed_once(job: BatchJob) -> None:
    job.refresh_from_db()
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, job.total_items)
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    # One attempt per item, answered, billed: nothing sent or counted twice.
    assert attempts.count() == job.total_items
    assert set(attempts.values_list("number", "status", "billed")) == {
        (1, AttemptStatus.SUCCEEDED, True)
    }
    assert job.items.filter(conversation__isnull=False).count() == job.total_items
    totals = attempts.aggregate(cost=Sum("cost_usd"), tokens=Sum("input_tokens"))
    generation = job.generation
    assert generation.cost_usd == totals["cost"] > Decimal(0)
    assert generation.input_tokens == totals["tokens"]
    assert EnrichmentRun.objects.get(batch_job=job).status == "completed"


def test_realtime_jobs_on_two_workers_keep_to_the_concurrency_and_use_it(
    workers, fake_anthropic, api
):
    # Each call takes a second: calls of both jobs and both workers overlap unless held back.
    fake_anthropic.configure(message_seconds=1)
    env = {**FAST, "WORKER_CONCURRENCY": "2", "GENERATION_CONCURRENCY": "2"}
    a, b = workers.start("a", env=env), workers.start("b", env=env)
    workers.wait_until_polling(a, b)

    jobs = [create(api, f"Realtime {n}", mode="realtime", repeat=3) for n in range(2)]
    wait_for(lambda: finished(*jobs), timeout=240, what="both jobs to finish")
    wait_for(lambda: all(enriched(job) for job in jobs), timeout=120, what="their enrichment")

    calls = fake_anthropic.messages()
    assert calls["max_in_flight"] == 2
    assert calls["calls"] == 12
    for job in jobs:
        assert job.total_items == 6
        assert_generated_once_and_billed_once(job)
    # Both workers sent some.
    for process in (a, b):
        assert "send_generation_attempts" in workers.log_of(process)


def test_a_batch_job_goes_from_submission_to_its_enrichment_on_a_worker(
    workers, fake_anthropic, api
):
    # The batch runs until the test ends it.
    fake_anthropic.configure(batch_polls=1_000_000)
    worker = workers.start(env=FAST)
    job = create(api, "Batch", mode="batch")

    wait_for(
        lambda: ProviderBatch.objects.filter(batch_job=job, status="in_progress").exists(),
        timeout=120,
        what="the provider batch to be submitted",
    )
    (batch,) = fake_anthropic.batches()
    record = ProviderBatch.objects.get(batch_job=job)
    assert record.provider_batch_id == batch["id"]
    assert sorted(batch["custom_ids"]) == sorted(
        GenerationAttempt.objects.filter(item__batch_job=job).values_list("custom_id", flat=True)
    )
    assert not BatchJob.objects.get(pk=job.pk).is_finished

    fake_anthropic.end(batch["id"])
    wait_for(lambda: finished(job), timeout=120, what="the job to finish")
    wait_for(lambda: enriched(job), timeout=120, what="its enrichment")

    assert_generated_once_and_billed_once(job)
    record.refresh_from_db()
    assert (record.status, record.succeeded) == ("ended", 2)
    assert record.results_taken_at is not None
    assert len(fake_anthropic.batches()) == 1
    assert "advance_generation_job" in workers.log_of(worker)


def test_a_429_is_sent_again_after_its_retry_after_and_is_no_attempt(workers, fake_anthropic, api):
    fake_anthropic.fail(429, retry_after=1, path="/v1/messages")
    workers.start(env=FAST)

    job = create(api, "Rate limited", mode="realtime")
    wait_for(lambda: finished(job), timeout=120, what="the job to finish")
    wait_for(lambda: enriched(job), timeout=120, what="its enrichment")

    # Two items: three calls, one of them refused with 429 and sent again.
    assert fake_anthropic.messages()["calls"] == 3
    assert_generated_once_and_billed_once(job)


def test_the_slot_of_a_worker_killed_during_a_call_is_free_for_the_others(
    workers, fake_anthropic, api
):
    # One slot; the doomed worker's call is not answered while it lives.
    fake_anthropic.configure(message_seconds=300)
    env = {
        **FAST,
        "GENERATION_CONCURRENCY": "1",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "WORKER_STALLED_SECONDS": "3",
    }
    doomed = workers.start("doomed", env=env)
    job = create(api, "Realtime", mode="realtime")
    wait_for(
        lambda: fake_anthropic.messages()["in_flight"] == 1, timeout=120, what="a call in flight"
    )
    assert slots.slots_in_use() == 1

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    fake_anthropic.configure(message_seconds=0)
    rescuer = workers.start("rescuer", env=env)
    wait_for(lambda: finished(job), timeout=120, what="the job to finish")
    wait_for(lambda: enriched(job), timeout=120, what="its enrichment")

    assert_generated_once_and_billed_once(job)
    assert slots.slots_in_use() == 0
    # The killed call's answer reached nobody: its attempt was sent again (the call the
    # fake still holds is not counted until answered).
    assert fake_anthropic.messages()["calls"] == 2
    assert "was running on a worker that stopped" in workers.log_of(rescuer)
