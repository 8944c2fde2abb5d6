"""Background runs, driven in this process (real workers are in test_worker.py and
test_recovery.py)."""

import uuid

import pytest
from django.db import transaction

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, ItemOutcome, RunSource, RunStatus
from enrichment.runs import lanes, lifecycle
from tests.factories import ConversationFactory, a_run, conversation_document
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db


def invalid_document() -> dict:
    document = conversation_document()
    document["turns"][0]["role"] = "coach"
    return document


def start(conversations, **kwargs) -> EnrichmentRun:
    return a_run([c.pk for c in conversations], user=None, source=RunSource.CLI, **kwargs)


def test_a_run_processes_every_conversation_and_counts_outcomes():
    good = [ConversationFactory() for _ in range(5)]
    bad = ConversationFactory(document=invalid_document())
    done = ConversationFactory()
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([done.pk])
    run = start([*good, bad, done])

    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    assert (run.total, run.enriched, run.failed, run.skipped) == (7, 5, 1, 1)
    assert run.processed == 7
    assert run.finished_at is not None
    items = {i.conversation_id: i for i in run.items.all()}
    assert items[bad.pk].outcome == ItemOutcome.FAILED
    assert items[bad.pk].error_category == "validation"
    assert items[bad.pk].error.startswith("Validation failed: INVALID_ROLE")
    assert items[done.pk].outcome == ItemOutcome.SKIPPED
    assert items[done.pk].reason == "already_enriched"
    assert all(items[c.pk].outcome == ItemOutcome.ENRICHED for c in good)
    assert all(items[c.pk].duration_ms is not None for c in good)
    assert Conversation.objects.filter(enrichment_status="completed").count() == 6


def test_progress_is_committed_with_every_group_of_outcomes(settings, monkeypatch):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 4
    settings.ENRICHMENT_RUN_COMMIT_EVERY = 2
    conversations = [ConversationFactory() for _ in range(5)]
    run = start(conversations)
    from enrichment.pipeline import overlap
    from enrichment.pipeline import run as runner

    original = runner.stage
    seen = []

    def stage_after_looking_at_progress(*args, **kwargs):
        seen.append(EnrichmentRun.objects.get(pk=run.pk).processed)
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "stage", stage_after_looking_at_progress)
    # Each document written before the next conversation's stages (no writing behind),
    # so that what a group committed is seen at a known point.
    monkeypatch.setattr(overlap, "WRITE_BEHIND", 0)

    assert lanes.process_run(run.pk) == "done"

    # Before each conversation's stages: what the groups committed so far showed.
    assert seen == [0, 0, 2, 2, 4]
    run.refresh_from_db()
    assert (run.processed, run.enriched, run.status) == (5, 5, RunStatus.COMPLETED)


def test_a_run_and_its_lanes_are_stored_in_one_transaction(settings):
    settings.ENRICHMENT_RUN_LANES = 2
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 2

    run = start([ConversationFactory() for _ in range(5)])

    lane_jobs = queued("enrich_run_lane")
    assert [job.args for job in lane_jobs] == [{"run_id": str(run.pk)}] * 2


def test_a_run_smaller_than_a_chunk_gets_one_lane(settings):
    settings.ENRICHMENT_RUN_LANES = 4

    start([ConversationFactory() for _ in range(3)])

    assert queued("enrich_run_lane").count() == 1


def test_a_rolled_back_run_queues_nothing():
    conversation = ConversationFactory()

    try:
        with transaction.atomic():
            start([conversation])
            raise RuntimeError("the caller failed after starting the run")
    except RuntimeError:
        pass

    assert EnrichmentRun.objects.count() == 0
    assert not queued().exists()


def test_the_lanes_jobs_work_through_the_run_a_chunk_each_and_finish_it(settings):
    settings.ENRICHMENT_RUN_LANES = 2
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 2
    conversations = [ConversationFactory() for _ in range(5)]
    run = start(conversations)

    ran = run_jobs()

    run.refresh_from_db()
    # Two lanes; each job took a chunk of 2 and queued its lane's next job, until one
    # found nothing left and completed the run.
    assert ran.count("enrichment.tasks.enrich_run_lane") == 5
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 5)
    assert not queued().exists()


def test_an_empty_selection_is_refused():
    with pytest.raises(lifecycle.NothingToEnrich):
        a_run([], user=None, source=RunSource.CLI)


@pytest.mark.django_db(transaction=True)
def test_cancel_between_conversations_leaves_the_rest_untouched(settings, monkeypatch):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 10
    settings.ENRICHMENT_RUN_COMMIT_EVERY = 1
    monkeypatch.setattr(lanes, "CANCEL_CHECK_SECONDS", 0)
    conversations = [ConversationFactory() for _ in range(6)]
    run = start(conversations)
    from enrichment.pipeline import run as runner

    original = runner.stage
    calls = {"n": 0}

    def process_then_cancel_during_the_third(*args, **kwargs):
        fields = original(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:
            calls["at_cancel"] = lifecycle.cancel_run(EnrichmentRun.objects.get(pk=run.pk))
        return fields

    monkeypatch.setattr(runner, "stage", process_then_cancel_during_the_third)

    assert lanes.process_run(run.pk) == "cancelled"

    run.refresh_from_db()
    at_cancel = calls["at_cancel"]
    # What was committed before the cancel stays (at most the two finished before it;
    # with writes overlapped, a finished one may still have been on its way); nothing
    # is recorded after it, so the numbers the cancel showed are the final ones.
    enriched = run.enriched
    assert enriched <= 2
    assert (at_cancel.enriched, at_cancel.failed, at_cancel.skipped) == (enriched, 0, 0)
    assert (run.status, run.failed, run.skipped) == (RunStatus.CANCELLED, 0, 0)
    statuses = [Conversation.objects.get(pk=c.pk).enrichment_status for c in conversations]
    assert statuses == ["completed"] * enriched + ["not_started"] * (6 - enriched)
    pending = run.items.filter(outcome=ItemOutcome.PENDING, claim_token__isnull=True)
    assert pending.count() == 6 - enriched
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()


def test_retry_failed_starts_a_run_over_only_the_failed_ones():
    good = ConversationFactory()
    bad = [ConversationFactory(document=invalid_document()) for _ in range(2)]
    run = start([good, *bad])
    lanes.process_run(run.pk)
    run.refresh_from_db()

    retry = lifecycle.retry_failed(run, user=None, source=RunSource.API).run

    assert retry.retry_of == run
    assert retry.total == 2
    assert set(retry.items.values_list("conversation_id", flat=True)) == {b.pk for b in bad}


def test_retry_failed_refuses_a_run_without_failures():
    run = start([ConversationFactory()])
    lanes.process_run(run.pk)

    with pytest.raises(lifecycle.NothingToEnrich):
        lifecycle.retry_failed(run, user=None, source=RunSource.API)


def test_cancel_refuses_a_finished_run():
    run = start([ConversationFactory()])
    lanes.process_run(run.pk)

    with pytest.raises(lifecycle.RunNotCancellable):
        lifecycle.cancel_run(run)


def test_a_second_lane_takes_nothing_held_by_the_first(settings):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 3
    run = start([ConversationFactory() for _ in range(5)])
    held = lanes._claim_items(run.pk, uuid.uuid4(), 3)

    second = lanes._claim_items(run.pk, uuid.uuid4(), 3)

    assert len(held) == 3
    assert len(second) == 2
    assert not {pk for pk, _ in held} & {pk for pk, _ in second}


def test_a_try_gives_back_what_the_earlier_tries_of_its_job_held_and_finishes_it(settings):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 10
    failed_before = ConversationFactory(document=invalid_document())
    from enrichment.pipeline.run import claim, enrich_conversations

    enrich_conversations([failed_before.pk])
    fresh = ConversationFactory()
    run = start([fresh, failed_before], retry_failed=True)
    # The first try claimed both, then its worker died.
    dead_try = uuid.uuid4()
    lanes._claim_items(run.pk, dead_try, 10)
    claim([fresh.pk, failed_before.pk], token=dead_try)

    stopped = lanes.process_chunk(run.pk, token=uuid.uuid4(), earlier=[dead_try])

    assert stopped == lanes.MORE
    assert lanes.process_chunk(run.pk, token=uuid.uuid4()) == lanes.DONE
    run.refresh_from_db()
    assert (run.status, run.enriched, run.failed, run.skipped) == ("completed", 1, 1, 0)
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()


def test_a_slow_try_whose_work_was_given_back_records_nothing(settings):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 10
    conversation = ConversationFactory()
    run = start([conversation])
    slow_try = uuid.uuid4()
    lanes._claim_items(run.pk, slow_try, 10)
    from enrichment.pipeline.run import claim

    claim([conversation.pk], token=slow_try)
    # The engine ran the job again (it took the slow try's worker for dead): the new try
    # gave back and redid the work.
    assert lanes.process_chunk(run.pk, token=uuid.uuid4(), earlier=[slow_try]) == lanes.MORE
    item = run.items.get()

    # The slow try now records its outcome: fenced off by its claim token.
    lanes._recorder(run.pk, slow_try, {conversation.pk: item.pk})(
        [
            lanes.Outcome(
                conversation.pk, conversation.conversation_id, "failed", "enrichment_failed"
            )
        ]
    )

    item.refresh_from_db()
    run.refresh_from_db()
    assert (item.outcome, run.enriched, run.failed) == ("enriched", 1, 0)


def test_a_job_whose_workers_kept_dying_fails_the_run_with_the_reason():
    from procrastinate.contrib.django import app

    run = start([ConversationFactory()])
    job = queued("enrich_run_lane").get()
    from procrastinate import JobContext
    from procrastinate.jobs import Job

    context = JobContext(
        app=app,
        job=Job(
            id=job.id,
            queue="default",
            lock=None,
            queueing_lock=None,
            task_name=job.task_name,
            task_kwargs=job.args,
            attempts=5,
        ),
        start_timestamp=0.0,
        abort_reason=lambda: None,
    )

    from enrichment.tasks import enrich_run_lane

    assert enrich_run_lane(context, run_id=str(run.pk)) == "failed"

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == "Its worker stopped 5 times while working on it."


def test_doctor_lists_and_fixes_stuck_rows_and_runs():
    from datetime import timedelta
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    stuck = ConversationFactory(
        enrichment_status=EnrichmentStatus.IN_PROGRESS,
        enrichment_lease_expires_at=timezone.now() - timedelta(minutes=1),
    )
    run = start([ConversationFactory()])
    # Its jobs were lost (deleted by hand, or the database restored from a backup).
    queued().delete()

    listing = StringIO()
    call_command("enrichment_doctor", stdout=listing)
    fixing = StringIO()
    call_command("enrichment_doctor", "--fix", stdout=fixing)
    after = StringIO()
    call_command("enrichment_doctor", stdout=after)

    assert f"stuck conversation {stuck.conversation_id}" in listing.getvalue()
    assert f"run {run.pk} (queued, 0/1) has no job queued or running" in listing.getvalue()
    assert "Run with --fix to repair." in listing.getvalue()
    assert "released 1 conversations, resumed 1 runs" in fixing.getvalue()
    stuck.refresh_from_db()
    # Claimed without a recorded previous state (as the original left rows): not started.
    assert stuck.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert stuck.enrichment_claim_token is None
    assert queued("enrich_run_lane").count() == 1
    assert f"stuck conversation {stuck.conversation_id}" not in after.getvalue()
    assert "Nothing is stuck." in after.getvalue()


def test_a_run_that_does_not_retry_failures_skips_them():
    bad = ConversationFactory(document=invalid_document())
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([bad.pk])
    run = start([bad, ConversationFactory()], retry_failed=False)

    lanes.process_run(run.pk)

    run.refresh_from_db()
    assert (run.enriched, run.failed, run.skipped) == (1, 0, 1)
    assert run.items.get(conversation=bad).reason == "previously_failed"


def test_finishing_a_run_refreshes_counters_left_stale():
    run = start([ConversationFactory()])
    lanes.process_run(run.pk)
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, enriched=0, finished_at=None
    )

    lanes.finish_if_done(run.pk)

    run.refresh_from_db()
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 1)
