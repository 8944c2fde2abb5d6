"""Background runs end to end with real worker processes."""

import signal

import pytest

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from tests.factories import UserFactory
from tests.workers import run_state, seed, start, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]


def assert_each_enriched_once(run: EnrichmentRun, expected_enriched: int) -> None:
    outcomes = list(run.items.values_list("outcome", flat=True))
    assert outcomes.count(ItemOutcome.PENDING) == 0
    assert run.enriched == expected_enriched
    # A conversation processed twice would show up as a skip (already enriched) or a
    # lost claim; neither may happen.
    assert run.skipped == 0
    assert not Conversation.objects.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS).exists()


def test_two_workers_share_a_run_of_600_with_invalid_ones_and_count_it_right(workers):
    conversations = seed(UserFactory(), 600, invalid_every=25)
    # Both workers poll before the run's lanes are queued: a worker still starting up
    # when the other has finished the whole run would leave nothing to share.
    a, b = workers.start("a"), workers.start("b")
    workers.wait_until_polling(a, b)
    run = start(conversations)

    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to finish")

    assert run.status == RunStatus.COMPLETED
    assert (run.total, run.enriched, run.failed, run.skipped) == (600, 576, 24, 0)
    assert run.items.filter(outcome="failed", error_category="validation").count() == 24
    assert run.items.filter(duration_ms__isnull=True).count() == 0
    assert Conversation.objects.filter(enrichment_status="completed").count() == 576
    assert Conversation.objects.filter(enrichment_status="validation_failed").count() == 24
    assert not Conversation.objects.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS).exists()
    # Each worker ran jobs of the run's lanes.
    for process in (a, b):
        assert "enrich_run_lane" in workers.log_of(process), workers.log_of(process)


def test_sigterm_finishes_the_job_in_hand_and_stops_cleanly(workers):
    conversations = seed(UserFactory(), 500)
    run = start(conversations)
    worker = workers.start()
    wait_for(lambda: run_state(run).processed >= 40, timeout=120, what="some progress")

    worker.send_signal(signal.SIGTERM)
    exit_code = worker.wait(timeout=60)

    run = run_state(run)
    assert exit_code == 0
    assert run.status == RunStatus.RUNNING
    # It finished its chunk (20 conversations here) and took no other.
    assert 40 <= run.processed < 500
    assert run.processed % 20 == 0
    # Nothing is left claimed: the rest waits for the next worker.
    assert not Conversation.objects.filter(enrichment_status="enrichment_in_progress").exists()
    assert run.items.filter(outcome="pending", claim_token__isnull=False).count() == 0
    completed = Conversation.objects.filter(enrichment_status="completed").count()
    assert completed == run.enriched

    workers.start()
    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to resume")
    assert_each_enriched_once(run, 500)


def test_a_job_that_completes_is_enriched_automatically(workers):
    from conversations.models import BatchItem, BatchJob
    from intake.lifecycle import finish_batch_job

    owner = UserFactory()
    conversations = seed(owner, 30, invalid_every=10)
    job = BatchJob.objects.create(name="Nightly", created_by=owner, status="processing")
    BatchItem.objects.bulk_create(
        BatchItem(batch_job=job, position=n, status="completed", conversation=c)
        for n, c in enumerate(conversations, start=1)
    )
    workers.start()

    run = finish_batch_job(job)
    wait_for(lambda: run_state(run).is_finished, timeout=120, what="the automatic run")

    assert (run.source, run.batch_job_id) == (RunSource.AUTO, job.pk)
    assert (run.enriched, run.failed, run.skipped) == (27, 3, 0)
    assert Conversation.objects.filter(enrichment_status="completed").count() == 27
