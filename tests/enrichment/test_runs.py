"""Background runs, driven in-process (the real worker is in test_worker.py)."""

import os
import signal
import uuid
from types import SimpleNamespace

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from enrichment import tasks
from enrichment.models import (
    Conversation,
    EnrichmentRun,
    EnrichmentStatus,
    ItemOutcome,
    RunSource,
    RunStatus,
    item_lease,
)
from enrichment.runs import lanes, lifecycle
from tests.factories import ConversationFactory, a_run, conversation_document

pytestmark = pytest.mark.django_db


def invalid_document() -> dict:
    document = conversation_document()
    document["turns"][0]["role"] = "coach"
    return document


def start(conversations, **kwargs) -> EnrichmentRun:
    return a_run([c.pk for c in conversations], user=None, source=RunSource.CLI, **kwargs)


def task_context(task_result_id: str = "") -> SimpleNamespace:
    """What django.tasks hands a task that takes its context (the parts lanes read)."""
    result = SimpleNamespace(id=task_result_id or str(uuid.uuid4()), worker_ids=["test-worker"])
    return SimpleNamespace(task_result=result)


def enqueued(task_name: str) -> int:
    return DBTaskResult.objects.filter(task_path__endswith=task_name).count()


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
    lane = run.lanes.get()
    assert (run.processed, run.enriched, run.status) == (5, 5, RunStatus.COMPLETED)
    assert (lane.status, lane.enriched, lane.failed, lane.skipped) == ("stopped", 5, 0, 0)


def test_the_run_is_enqueued_only_after_the_transaction_commits(
    django_capture_on_commit_callbacks, settings
):
    settings.ENRICHMENT_RUN_LANES = 2
    conversation = ConversationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        start([conversation])

    assert enqueued("enrichment_run_lane") == 2
    assert enqueued("enrichment_run_watchdog") == 1
    watchdog = DBTaskResult.objects.get(task_path__endswith="enrichment_run_watchdog")
    assert watchdog.run_after is not None


def test_a_rolled_back_run_enqueues_nothing(django_capture_on_commit_callbacks):
    conversation = ConversationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                start([conversation])
                raise RuntimeError("the caller failed after starting the run")
        except RuntimeError:
            pass

    assert EnrichmentRun.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


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


def test_a_stop_signal_finishes_the_current_conversation_and_hands_back_the_rest(
    settings, monkeypatch
):
    settings.ENRICHMENT_RUN_CHUNK_SIZE = 10
    conversations = [ConversationFactory() for _ in range(4)]
    run = start(conversations)
    from enrichment.pipeline import run as runner

    original = runner.stage

    def process_then_terminate(*args, **kwargs):
        fields = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # what a worker's supervisor sends
        return fields

    monkeypatch.setattr(runner, "stage", process_then_terminate)
    result = tasks.enrichment_run_lane.call(task_context(), run_id=str(run.pk))

    run.refresh_from_db()
    assert result == "interrupted"
    assert run.status == RunStatus.RUNNING
    assert run.enriched == 1
    assert [Conversation.objects.get(pk=c.pk).enrichment_status for c in conversations] == [
        "completed",
        "not_started",
        "not_started",
        "not_started",
    ]
    # A continuation is queued for the next worker.
    assert enqueued("enrichment_run_lane") == 1


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


def test_an_expired_item_claim_is_taken_over(settings):
    from django.utils import timezone

    run = start([ConversationFactory() for _ in range(2)])
    lanes._claim_items(run.pk, uuid.uuid4(), 2)
    run.items.update(claimed_until=timezone.now() - item_lease())

    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 2)


def test_the_watchdog_resumes_a_stalled_run_and_keeps_watching():
    from datetime import timedelta

    from django.utils import timezone

    run = start([ConversationFactory()])
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 1

    assert enqueued("enrichment_run_lane") == 1
    assert enqueued("enrichment_run_watchdog") == 1


def test_the_watchdog_leaves_a_progressing_run_alone():
    from django.utils import timezone

    run = start([ConversationFactory()])
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now()
    )

    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 0
    assert enqueued("enrichment_run_lane") == 0


def test_the_watchdog_stops_once_the_run_ended():
    run = start([ConversationFactory()])
    lanes.process_run(run.pk)

    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 0
    assert enqueued("enrichment_run_watchdog") == 0


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
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=1)
    )

    listing = StringIO()
    call_command("enrichment_doctor", stdout=listing)
    fixing = StringIO()
    call_command("enrichment_doctor", "--fix", stdout=fixing)
    after = StringIO()
    call_command("enrichment_doctor", stdout=after)

    assert f"stuck conversation {stuck.conversation_id}" in listing.getvalue()
    assert f"stuck run {run.pk}" in listing.getvalue()
    assert "Run with --fix to repair." in listing.getvalue()
    assert "released 1 conversations, resumed 1 runs" in fixing.getvalue()
    stuck.refresh_from_db()
    # Claimed without a recorded previous state (as the original left rows): not started.
    assert stuck.enrichment_status == EnrichmentStatus.NOT_STARTED
    assert stuck.enrichment_claim_token is None
    assert enqueued("enrichment_run_lane") == 1
    assert f"stuck conversation {stuck.conversation_id}" not in after.getvalue()


def test_a_run_that_does_not_retry_failures_skips_them():
    bad = ConversationFactory(document=invalid_document())
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([bad.pk])
    run = start([bad, ConversationFactory()], retry_failed=False)

    lanes.process_run(run.pk)

    run.refresh_from_db()
    assert (run.enriched, run.failed, run.skipped) == (1, 0, 1)
    assert run.items.get(conversation=bad).reason == "previously_failed"


def test_a_dead_lanes_claims_are_given_back_as_they_were_and_the_run_finishes_them(settings):
    from datetime import timedelta

    from django.utils import timezone

    from enrichment.pipeline.run import claim

    failed_before = ConversationFactory(document=invalid_document())
    from enrichment.pipeline.run import enrich_conversations

    enrich_conversations([failed_before.pk])
    fresh = ConversationFactory()
    run = start([fresh, failed_before], retry_failed=True)
    # A lane claimed both, then its worker died.
    lanes._claim_items(run.pk, uuid.uuid4(), 10)
    claim([fresh.pk, failed_before.pk])
    expired = timezone.now() - item_lease() - timedelta(seconds=1)
    Conversation.objects.update(enrichment_lease_expires_at=expired)
    run.items.update(claimed_until=expired)
    EnrichmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, heartbeat_at=expired)

    lifecycle.repair()

    assert Conversation.objects.get(pk=fresh.pk).enrichment_status == "not_started"
    assert Conversation.objects.get(pk=failed_before.pk).enrichment_status == "validation_failed"
    assert lanes.process_run(run.pk) == "done"
    run.refresh_from_db()
    assert (run.status, run.enriched, run.failed, run.skipped) == ("completed", 1, 1, 0)


def test_finishing_a_run_refreshes_counters_a_dead_lane_left_stale():
    run = start([ConversationFactory()])
    lanes.process_run(run.pk)
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, enriched=0, finished_at=None
    )

    lanes.finish_if_done(run.pk)

    run.refresh_from_db()
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 1)


def test_a_failed_enqueue_does_not_undo_the_stored_run(
    django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "tests.enrichment.test_runs.BrokenBackend"}}
    conversation = ConversationFactory()

    with django_capture_on_commit_callbacks(execute=True):
        run = start([conversation])

    assert EnrichmentRun.objects.filter(pk=run.pk, status=RunStatus.QUEUED).exists()


from django.tasks.backends.base import BaseTaskBackend  # noqa: E402


class BrokenBackend(BaseTaskBackend):
    supports_defer = True

    def enqueue(self, task, args, kwargs):
        raise ConnectionError("the queue is down")
