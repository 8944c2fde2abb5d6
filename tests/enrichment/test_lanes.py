"""Lanes, driven in-process: heartbeats, takeover of silent lanes, and what the API and the
run page say about a stalled run (real workers: test_recovery.py)."""

import time
from datetime import timedelta

import pytest
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from enrichment import tasks
from enrichment.models import (
    Conversation,
    EnrichmentRun,
    EnrichmentRunLane,
    EnrichmentStatus,
    LaneStatus,
    RunSource,
    RunStatus,
)
from enrichment.pipeline.run import claim
from enrichment.runs import lanes
from enrichment.runs.takeover import take_over_lost_lanes
from tests.factories import ConversationFactory, a_run

pytestmark = pytest.mark.django_db


def a_lane(run: EnrichmentRun, *, silent_for: timedelta, **fields) -> EnrichmentRunLane:
    beat = timezone.now() - silent_for
    return EnrichmentRunLane.objects.create(run=run, started_at=beat, heartbeat_at=beat, **fields)


def a_running_lane_task(run: EnrichmentRun) -> DBTaskResult:
    """The task result a worker would have left behind when it was killed."""
    result = tasks.enrichment_run_lane.enqueue(run_id=str(run.pk))
    DBTaskResult.objects.filter(pk=result.id).update(status=TaskResultStatus.RUNNING)
    return DBTaskResult.objects.get(pk=result.id)


def holding_everything(lane: EnrichmentRunLane, conversations) -> None:
    lanes._claim_items(lane.run_id, lane.pk, len(conversations))
    claim([c.pk for c in conversations], token=lane.pk)


def test_the_watchdog_takes_over_a_silent_lane_and_fails_its_task():
    conversations = [ConversationFactory() for _ in range(3)]
    run = a_run([c.pk for c in conversations])
    EnrichmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    task = a_running_lane_task(run)
    dead = a_lane(run, silent_for=timedelta(seconds=31), task_result_id=str(task.pk))
    holding_everything(dead, conversations)

    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 1

    dead.refresh_from_db()
    task.refresh_from_db()
    assert dead.status == LaneStatus.LOST
    assert not run.items.filter(claim_token__isnull=False).exists()
    assert set(Conversation.objects.values_list("enrichment_status", flat=True)) == {
        EnrichmentStatus.NOT_STARTED
    }
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()
    assert (task.status, task.exception_class_path) == ("FAILED", "enrichment.runs.LaneLost")
    assert "stopped responding" in task.traceback
    waiting = DBTaskResult.objects.filter(
        task_path__endswith="enrichment_run_lane", status=TaskResultStatus.READY
    )
    assert waiting.count() == 1  # the replacement
    assert lanes.process_run(run.pk) == "done"
    run.refresh_from_db()
    assert (run.status, run.enriched, run.skipped) == (RunStatus.COMPLETED, 3, 0)


def test_a_lane_that_beat_within_the_timeout_is_left_alone():
    conversations = [ConversationFactory() for _ in range(2)]
    run = a_run([c.pk for c in conversations])
    EnrichmentRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    alive = a_lane(run, silent_for=timedelta(seconds=20))
    holding_everything(alive, conversations)

    assert take_over_lost_lanes(run.pk) == 0
    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 0

    alive.refresh_from_db()
    assert alive.status == LaneStatus.RUNNING
    assert run.items.filter(claim_token=alive.pk).count() == 2
    assert Conversation.objects.filter(enrichment_claim_token=alive.pk).count() == 2


def test_a_lane_taken_over_while_it_works_stops_and_nothing_is_processed_twice(
    settings, monkeypatch
):
    from enrichment.pipeline import overlap
    from enrichment.pipeline import run as runner

    settings.ENRICHMENT_RUN_CHUNK_SIZE = 10
    settings.ENRICHMENT_RUN_COMMIT_EVERY = 2
    monkeypatch.setattr(overlap, "WRITE_BEHIND", 0)
    run = a_run([ConversationFactory().pk for _ in range(6)], source=RunSource.CLI)
    original = runner.stage
    calls = {"n": 0}

    def stage_then_be_taken_over_at_the_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            # The lane looked dead to someone else (a long pause), who took it over.
            EnrichmentRunLane.objects.update(heartbeat_at=timezone.now() - timedelta(hours=1))
            assert take_over_lost_lanes(run.pk) == 1
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "stage", stage_then_be_taken_over_at_the_third)

    assert lanes.process_run(run.pk) == "lost"
    monkeypatch.setattr(runner, "stage", original)
    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    first, second = run.lanes.order_by("started_at")
    assert (run.status, run.enriched, run.failed, run.skipped) == ("completed", 6, 0, 0)
    assert (first.status, first.enriched) == (LaneStatus.LOST, 2)
    assert (second.status, second.enriched) == (LaneStatus.STOPPED, 4)


def test_the_api_shows_a_stalled_lane_instead_of_an_eta(admin_client):
    run = a_run([ConversationFactory().pk for _ in range(4)])
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=5), enriched=2
    )
    silent = a_lane(run, silent_for=timedelta(minutes=2), worker_id="w-1", enriched=2)
    a_lane(run, silent_for=timedelta(seconds=1), worker_id="w-2")

    body = admin_client.get(f"/api/enrichment-runs/{run.pk}").json()

    assert body["status"] == "running"
    assert body["etaSeconds"] is None
    assert body["stall"] == {
        "since": silent.heartbeat_at.isoformat().replace("+00:00", "Z"),
        "message": "1 worker stopped responding; the conversations held will be taken over.",
        "silentLanes": [str(silent.pk)],
    }
    assert [(lane["workerId"], lane["silent"], lane["enriched"]) for lane in body["lanes"]] == [
        ("w-1", True, 2),
        ("w-2", False, 0),
    ]


def test_a_moving_run_has_an_eta_and_no_stall(admin_client):
    run = a_run([ConversationFactory().pk for _ in range(4)])
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - timedelta(minutes=3), enriched=3
    )
    a_lane(run, silent_for=timedelta(seconds=2))

    body = admin_client.get(f"/api/enrichment-runs/{run.pk}").json()

    assert body["stall"] is None
    assert body["etaSeconds"] == 60
    assert [lane["silent"] for lane in body["lanes"]] == [False]


def test_the_run_page_says_no_worker_works_on_a_run_whose_lanes_all_ended(admin_client):
    run = a_run([ConversationFactory().pk for _ in range(4)])
    quiet = timezone.now() - timedelta(minutes=2)
    EnrichmentRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=quiet, heartbeat_at=quiet, enriched=1
    )
    a_lane(run, silent_for=timedelta(minutes=2), status=LaneStatus.LOST)

    page = admin_client.get(f"/runs/{run.pk}/").content.decode()
    progress = admin_client.get(f"/runs/{run.pk}/progress/", headers={"HX-Request": "true"})
    progress = progress.content.decode()

    for content in (page, progress):
        assert "<dt>Time left</dt><dd>Stalled</dd>" in content
        assert "No worker is working on this run; it continues when one is free." in content


def test_a_run_whose_lanes_keep_failing_is_failed_instead_of_resumed_forever(monkeypatch):
    run = a_run([ConversationFactory().pk])

    def broken(*args, **kwargs):
        raise RuntimeError("the items table is broken")

    monkeypatch.setattr(lanes, "_claim_items", broken)
    for _ in range(3):
        with pytest.raises(RuntimeError):
            lanes.process_run(run.pk)

    assert tasks.enrichment_run_watchdog.call(run_id=str(run.pk)) == 0

    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error == (
        "Its last 3 lanes failed; the last one with: RuntimeError: the items table is broken"
    )
    assert [lane.status for lane in run.lanes.all()] == [LaneStatus.FAILED] * 3
    assert not DBTaskResult.objects.filter(task_path__endswith="enrichment_run_watchdog").exists()


@pytest.mark.django_db(transaction=True)
def test_a_lane_waiting_for_a_slow_write_keeps_beating_and_is_not_taken_over(
    on_postgres, settings, monkeypatch
):
    import os

    from django.db import connection

    from enrichment.pipeline import overlap

    settings.ENRICHMENT_LANE_TIMEOUT_SECONDS = 1
    monkeypatch.setattr(overlap, "KEEPALIVE_SECONDS", 0.05)
    run = a_run([ConversationFactory().pk for _ in range(2)])
    replace = os.replace
    taken_over = []

    def slow_replace(source, target):
        # Storage slower than the lane timeout; meanwhile, whoever watches looks.
        time.sleep(1.5)
        taken_over.append(take_over_lost_lanes(run.pk))
        connection.close()  # this I/O thread's own connection
        return replace(source, target)

    monkeypatch.setattr(os, "replace", slow_replace)

    assert lanes.process_run(run.pk) == "done"

    run.refresh_from_db()
    assert taken_over == [0, 0]
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 2)
    assert run.lanes.get().status == LaneStatus.STOPPED


@pytest.mark.django_db(transaction=True)
def test_two_lanes_recording_at_once_wait_for_each_other_instead_of_deadlocking(on_postgres):
    """Each lane's recording transaction holds the run unfinished (the cancel waits for
    it), then adds to the run's counters. Two at once must queue, not deadlock: a share
    lock held by both and upgraded by both is a deadlock, and the loser's work is lost."""
    import contextlib
    import threading

    from django.db import connection, transaction
    from django.db.models import F

    run = a_run([ConversationFactory().pk, ConversationFactory().pk])
    together = threading.Barrier(2, timeout=3)
    errors = []

    def record() -> None:
        try:
            with transaction.atomic():
                lanes._hold_running(run.pk)
                # Both hold the run at once if they can; else the other one waits for
                # this one's lock.
                with contextlib.suppress(threading.BrokenBarrierError):
                    together.wait()
                EnrichmentRun.objects.filter(pk=run.pk).update(enriched=F("enriched") + 1)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    run.refresh_from_db()
    assert run.enriched == 2
