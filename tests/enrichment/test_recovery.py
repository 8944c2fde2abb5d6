"""Recovery from lost workers and lost databases, with real worker processes and the
settings as shipped: one proof per guarantee."""

import signal
import time

import pytest
from django.conf import settings
from django.db import connection

from conversations.models import Conversation, EnrichmentStatus
from enrichment.models import EnrichmentRun, ItemOutcome
from tests.factories import UserFactory
from tests.workers import run_state, seed, start, url_through, wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

# How long the database is away in the outage test: long enough for the worker process to
# give up on it and its supervisor (bin/worker) to restart it several times.
OUTAGE_SECONDS = 12


def assert_every_conversation_processed_once(run: EnrichmentRun, count: int) -> None:
    assert run.status == "completed"
    assert (run.total, run.enriched, run.failed, run.skipped) == (count, count, 0, 0)
    # A conversation processed twice would have been recorded twice: as a skip (already
    # enriched) the second time, or not at all (its claim gone).
    assert run.items.filter(outcome=ItemOutcome.ENRICHED).count() == count
    assert Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED).count() == (
        count
    )
    assert not Conversation.objects.filter(enrichment_claim_token__isnull=False).exists()
    assert not run.items.filter(claim_token__isnull=False).exists()


def test_a_killed_workers_share_is_done_within_60_seconds_with_default_settings(
    default_workers,
):
    assert (settings.WORKER_HEARTBEAT_SECONDS, settings.WORKER_STALLED_SECONDS) == (5, 20)
    conversations = seed(UserFactory(), 3000)
    run = start(conversations)
    doomed = default_workers.start("doomed")
    wait_for(lambda: run_state(run).processed >= 100, timeout=120, what="some progress")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    killed_at = time.monotonic()
    left = run_state(run).remaining
    default_workers.start("rescuer")

    wait_for(lambda: run_state(run).is_finished, timeout=60, what="the run to finish")

    print(f"finished {time.monotonic() - killed_at:.1f} s after the kill")
    assert left > 0
    assert_every_conversation_processed_once(run, 3000)
    # The killed worker's job was run again, its claims given back first.
    assert "was running on a worker that stopped" in default_workers.log_of(
        default_workers.processes[1]
    )


def test_work_goes_on_when_the_database_drops_every_connection(default_workers):
    conversations = seed(UserFactory(), 2000)
    run = start(conversations)
    worker = default_workers.start()
    wait_for(lambda: run_state(run).processed >= 100, timeout=120, what="some progress")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    # Well within the stalled-worker timeout: the same worker tries its job again.
    wait_for(lambda: run_state(run).is_finished, timeout=40, what="the run to finish")
    assert worker.poll() is None
    assert_every_conversation_processed_once(run, 2000)


def test_a_worker_that_loses_its_database_is_restarted_and_the_run_goes_on(
    default_workers, database_proxy
):
    # bin/worker, the supervised worker, through a relay the test can cut. The pool
    # gives up on a connection after 2 s instead of 10, so that the outage reaches the
    # worker within the cut.
    worker = default_workers.start(
        "patient",
        env={"DATABASE_URL": url_through(database_proxy), "DATABASE_POOL_TIMEOUT": "2"},
        supervised=True,
    )
    run = start(seed(UserFactory(), 3000))
    wait_for(lambda: run_state(run).processed >= 100, timeout=120, what="some progress")

    database_proxy.cut()
    time.sleep(OUTAGE_SECONDS)
    during = run_state(run).processed
    database_proxy.restore()
    restored_at = time.monotonic()

    wait_for(lambda: run_state(run).is_finished, timeout=90, what="the run to finish")
    print(f"finished {time.monotonic() - restored_at:.1f} s after the database came back")
    assert during < 3000
    assert worker.poll() is None  # the supervisor itself never stopped
    assert "starting it again" in default_workers.log_of(worker)
    assert_every_conversation_processed_once(run, 3000)
