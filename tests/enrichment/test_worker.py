"""Background runs end to end with real `manage.py db_worker` processes on PostgreSQL."""

import json
import signal
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from enrichment.models import (
    Conversation,
    EnrichmentRun,
    EnrichmentStatus,
    ItemOutcome,
    RunSource,
    RunStatus,
)
from enrichment.runs import lifecycle
from tests.factories import UserFactory, conversation_document
from tests.workers import run_state, seed, start, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.slow,
]


def assert_each_enriched_once(run: EnrichmentRun, expected_enriched: int) -> None:
    outcomes = list(run.items.values_list("outcome", flat=True))
    assert outcomes.count(ItemOutcome.PENDING) == 0
    assert run.enriched == expected_enriched
    # A conversation processed twice would show up as a skip (already enriched) or a
    # lost claim; neither may happen.
    assert run.skipped == 0
    assert not Conversation.objects.filter(enrichment_status=EnrichmentStatus.IN_PROGRESS).exists()


def test_a_run_of_1000_with_invalid_ones_counts_right(workers):
    owner = UserFactory()
    conversations = seed(owner, 1000, invalid_every=25)
    run = start(conversations)
    workers.start()

    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to finish")

    assert run.status == RunStatus.COMPLETED
    assert (run.total, run.enriched, run.failed, run.skipped) == (1000, 960, 40, 0)
    assert run.items.filter(outcome="failed", error_category="validation").count() == 40
    assert run.items.filter(duration_ms__isnull=True).count() == 0
    assert Conversation.objects.filter(enrichment_status="completed").count() == 960
    assert Conversation.objects.filter(enrichment_status="validation_failed").count() == 40


def test_two_workers_share_one_run_without_processing_anything_twice(workers):
    from django_tasks_db.models import DBTaskResult

    conversations = seed(UserFactory(), 600)
    # Both workers poll before the run's lanes are enqueued: a worker still starting up
    # when the other has finished the whole run would leave nothing to share.
    workers.wait_until_polling(workers.start("a"), workers.start("b"))
    run = start(conversations)

    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to finish")

    assert run.status == RunStatus.COMPLETED
    assert_each_enriched_once(run, 600)
    lanes = DBTaskResult.objects.filter(task_path__endswith="enrichment_run_lane")
    worker_ids = {wid for lane in lanes for wid in lane.worker_ids}
    assert worker_ids == {"a-0", "b-1"}


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(workers):
    conversations = seed(UserFactory(), 500)
    run = start(conversations)
    first = workers.start("doomed")
    wait_for(lambda: run_state(run).processed >= 60, timeout=120, what="some progress")

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    stalled_at = run_state(run).processed
    workers.start("rescuer")

    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to resume")

    assert stalled_at < 500
    assert run.status == RunStatus.COMPLETED
    assert_each_enriched_once(run, 500)


def test_sigterm_finishes_the_current_conversation_and_stops_cleanly(workers):
    conversations = seed(UserFactory(), 500)
    run = start(conversations)
    worker = workers.start()
    wait_for(lambda: run_state(run).processed >= 40, timeout=120, what="some progress")

    worker.send_signal(signal.SIGTERM)
    exit_code = worker.wait(timeout=60)

    run = run_state(run)
    assert exit_code == 0
    assert run.status == RunStatus.RUNNING
    assert 40 <= run.processed < 500
    # Nothing is left claimed: the rest is handed back for the next worker.
    assert not Conversation.objects.filter(enrichment_status="enrichment_in_progress").exists()
    assert run.items.filter(outcome="pending", claim_token__isnull=False).count() == 0
    completed = Conversation.objects.filter(enrichment_status="completed").count()
    assert completed == run.enriched

    workers.start()
    wait_for(lambda: run_state(run).is_finished, timeout=240, what="the run to resume")
    assert_each_enriched_once(run, 500)


def test_cancel_mid_run_keeps_processed_ones_and_leaves_the_rest(workers):
    conversations = seed(UserFactory(), 800)
    run = start(conversations)
    workers.start()
    wait_for(lambda: run_state(run).processed >= 40, timeout=120, what="some progress")

    lifecycle.cancel_run(run)
    time.sleep(2)  # let the lane notice and stop

    run = run_state(run)
    enriched = Conversation.objects.filter(enrichment_status="completed").count()
    untouched = Conversation.objects.filter(enrichment_status="not_started").count()
    assert run.status == RunStatus.CANCELLED
    assert enriched == run.enriched
    assert enriched + untouched == 800
    assert 40 <= enriched < 800
    assert run.items.filter(outcome="pending").count() == untouched
    time.sleep(1)
    assert Conversation.objects.filter(enrichment_status="completed").count() == enriched


def test_retry_failed_reruns_only_the_failed_ones(workers):
    conversations = seed(UserFactory(), 60, invalid_every=10)
    run = start(conversations)
    workers.start()
    wait_for(lambda: run_state(run).is_finished, timeout=120, what="the first run")
    assert run.failed == 6
    fixed = Conversation.objects.get(pk=conversations[0].pk)
    default_storage.save(fixed.file_path, ContentFile(json.dumps(conversation_document())))

    retry = lifecycle.retry_failed(run, user=None, source=RunSource.API).run
    wait_for(lambda: run_state(retry).is_finished, timeout=120, what="the retry")

    assert retry.total == 6
    assert (retry.enriched, retry.failed, retry.skipped) == (1, 5, 0)
    assert set(retry.items.values_list("conversation_id", flat=True)) == {
        c.pk for n, c in enumerate(conversations) if n % 10 == 0
    }


def test_a_job_that_completes_is_enriched_automatically(workers):
    from batches.lifecycle import finish_batch_job
    from batches.models import BatchItem, BatchJob

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

    assert (run.source, run.scope_id) == (RunSource.AUTO, job.pk)
    assert (run.enriched, run.failed, run.skipped) == (27, 3, 0)
    assert Conversation.objects.filter(enrichment_status="completed").count() == 27
