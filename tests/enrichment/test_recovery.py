"""Recovery from lost workers and lost databases, with real `db_worker` processes on
PostgreSQL and the settings as shipped."""

import signal
import time

import pytest
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from enrichment.models import (
    Conversation,
    EnrichmentRun,
    EnrichmentStatus,
    ItemOutcome,
    LaneStatus,
)
from tests.factories import UserFactory
from tests.workers import run_state, seed, start, url_through, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.slow,
]


def assert_every_conversation_processed_once(run: EnrichmentRun, count: int) -> None:
    assert run.status == "completed"
    assert (run.total, run.enriched, run.failed, run.skipped) == (count, count, 0, 0)
    assert run.items.filter(outcome=ItemOutcome.ENRICHED).count() == count
    # A conversation processed twice would have been skipped the second time (already
    # enriched), and counted by two lanes.
    assert sum(lane.processed for lane in run.lanes.all()) == count
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == (
        count
    )
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()
    # A lane's task result is settled too, if not at the same instant: a worker that lost
    # its connection records the interrupted task once it has the database back (after
    # about a second).
    running = DBTaskResult.objects.filter(
        task_path__endswith="enrichment_run_lane", status=TaskResultStatus.RUNNING
    )
    wait_for(lambda: not running.exists(), timeout=30, what="no lane task left running")


def test_a_killed_workers_share_is_taken_over_within_90_seconds_with_default_settings(
    default_workers, settings
):
    assert settings.ENRICHMENT_LEASE_SECONDS == 300  # as shipped: nothing shortened
    conversations = seed(UserFactory(), 3000)
    run = start(conversations)
    doomed = default_workers.start("doomed")
    wait_for(lambda: run_state(run).processed >= 100, timeout=120, what="some progress")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    killed_at = time.monotonic()
    left = run_state(run).remaining
    default_workers.start("rescuer")

    wait_for(lambda: run_state(run).is_finished, timeout=90, what="the run to finish")

    print(f"finished {time.monotonic() - killed_at:.1f} s after the kill")
    assert left > 0
    assert_every_conversation_processed_once(run, 3000)
    lost = run.lanes.get(status=LaneStatus.LOST)
    assert lost.worker_id == "doomed-0"
    result = DBTaskResult.objects.get(pk=lost.task_result_id)
    assert result.status == TaskResultStatus.FAILED
    assert result.exception_class_path == "enrichment.runs.LaneLost"


def test_a_lane_whose_connection_is_dropped_hands_its_work_back_at_once(default_workers):
    conversations = seed(UserFactory(), 2000)
    run = start(conversations)
    default_workers.start()
    wait_for(lambda: run_state(run).processed >= 100, timeout=120, what="some progress")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    # Well within the lane timeout: the lane gave its work back itself.
    wait_for(lambda: run_state(run).is_finished, timeout=25, what="the run to finish")
    assert_every_conversation_processed_once(run, 2000)
    assert not run.lanes.filter(status=LaneStatus.LOST).exists()


def test_a_worker_that_loses_its_database_waits_for_it_and_goes_on(default_workers, database_proxy):
    # The pool (on by default) gives up on a connection after 2 s instead of 10, so that
    # the outage reaches the worker within the cut.
    worker = default_workers.start(
        "patient",
        env={"DATABASE_URL": url_through(database_proxy), "DATABASE_POOL_TIMEOUT": "2"},
    )
    first = start(seed(UserFactory(), 20))
    wait_for(lambda: run_state(first).is_finished, timeout=60, what="the first run")

    database_proxy.cut()
    time.sleep(6)  # several retries
    alive_without_database = worker.poll() is None
    second = start(seed(UserFactory(), 50))
    database_proxy.restore()

    wait_for(lambda: run_state(second).is_finished, timeout=90, what="the second run")
    assert alive_without_database
    assert worker.poll() is None
    assert (second.status, second.enriched) == ("completed", 50)
    log = default_workers.log_of(worker)
    assert "lost the database" in log
    assert "has the database back" in log
