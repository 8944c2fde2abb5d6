"""A worker that starts re-arms the watchdogs a killed worker may have taken with it: an
unfinished run or a training-file build with no watchdog waiting gets one, checking now.
Without it such a run (or build) would wait forever: nothing else looks at it again."""

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from devtools.management.commands.bench_training_file import seed_enriched
from enrichment.models import EnrichmentRun, RunStatus, lane_timeout
from enrichment.runs.backend import worker_started
from enrichment.runs.watchdog import watch_every
from enrichment.tasks import enrichment_run_watchdog, rearm_run_watchdogs
from tests.factories import ConversationFactory, UserFactory, a_run, enriched_conversation
from tests.training.helpers import queued
from tests.workers import run_state, seed, start, wait_for
from training import services
from training.models import TrainingFile, TrainingFileStatus
from training.selection import Selection
from training.tasks import rearm_build_watchdogs

RUN_WATCHDOG = "enrichment.tasks.enrichment_run_watchdog"
BUILD_WATCHDOG = "training.tasks.watch_training_build"


def watchdogs(task_path: str):
    return DBTaskResult.objects.filter(task_path=task_path)


def a_run_without_tasks() -> EnrichmentRun:
    """A stored run whose tasks were never queued (outside a real transaction, the
    after-commit enqueue does not fire): as if its process died right after the commit."""
    run = a_run([ConversationFactory().pk])
    assert not DBTaskResult.objects.exists()
    return run


@pytest.mark.django_db
def test_an_unfinished_run_without_a_watchdog_gets_one_and_only_one():
    run = a_run_without_tasks()
    finished = a_run([ConversationFactory().pk])
    EnrichmentRun.objects.filter(pk=finished.pk).update(status=RunStatus.COMPLETED)

    assert rearm_run_watchdogs() == 1
    assert rearm_run_watchdogs() == 0  # one is waiting now

    [watchdog] = watchdogs(RUN_WATCHDOG)
    assert (watchdog.status, watchdog.args_kwargs["kwargs"]) == (
        TaskResultStatus.READY,
        {"run_id": str(run.pk)},
    )
    assert watchdog.task.run_after is None  # it checks now


@pytest.mark.django_db
def test_a_check_in_progress_gets_its_next_check_queued_in_case_its_worker_was_killed():
    """A supervisor restarts a killed worker within a second: the check that worker was
    running still shows as running. Its next check is queued as it would have queued it."""
    a_run_without_tasks()
    rearm_run_watchdogs()
    watchdog = watchdogs(RUN_WATCHDOG).get()
    watchdog.status = TaskResultStatus.RUNNING
    watchdog.started_at = timezone.now() - timedelta(seconds=1)
    watchdog.save()

    before = timezone.now()
    assert rearm_run_watchdogs() == 1
    assert rearm_run_watchdogs() == 0

    [queued] = watchdogs(RUN_WATCHDOG).filter(status=TaskResultStatus.READY)
    assert before + watch_every() <= queued.run_after <= timezone.now() + watch_every()


@pytest.mark.django_db
def test_a_check_running_longer_than_the_lane_timeout_was_lost_so_the_next_one_looks_at_once():
    a_run_without_tasks()
    rearm_run_watchdogs()
    watchdog = watchdogs(RUN_WATCHDOG).get()
    watchdog.status = TaskResultStatus.RUNNING
    watchdog.started_at = timezone.now() - lane_timeout() - timedelta(seconds=1)
    watchdog.save()

    assert rearm_run_watchdogs() == 1

    [queued] = watchdogs(RUN_WATCHDOG).filter(status=TaskResultStatus.READY)
    assert queued.task.run_after is None


@pytest.mark.django_db
def test_a_chain_started_twice_by_a_race_dies_out_at_its_next_check():
    run = a_run_without_tasks()
    rearm_run_watchdogs()
    # A second chain: a worker that started while the run's own watchdog was being
    # queued, say. Both run their checks; the one that comes second queues nothing.
    enrichment_run_watchdog.enqueue(run_id=str(run.pk))
    first, second = watchdogs(RUN_WATCHDOG)
    watchdogs(RUN_WATCHDOG).update(status=TaskResultStatus.RUNNING, started_at=timezone.now())

    for check in (first, second):
        check.task.call(**check.args_kwargs["kwargs"])

    assert watchdogs(RUN_WATCHDOG).filter(status=TaskResultStatus.READY).count() == 1


@pytest.mark.django_db
def test_a_build_without_a_watchdog_gets_one_for_its_generation(media_root):
    owner = UserFactory()
    building = queued(owner, [enriched_conversation(created_by=owner)], name="Building")
    TrainingFile.objects.create(name="Done", created_by=owner, status=TrainingFileStatus.ACTIVE)

    assert rearm_build_watchdogs() == 1
    assert rearm_build_watchdogs() == 0

    [watchdog] = watchdogs(BUILD_WATCHDOG)
    assert watchdog.args_kwargs["kwargs"] == {
        "training_file_id": str(building.pk),
        "generation": building.build_generation,
    }


@pytest.mark.django_db
def test_a_starting_worker_re_arms_runs_and_builds(media_root):
    owner = UserFactory()
    a_run_without_tasks()
    queued(owner, [enriched_conversation(created_by=owner)], name="Building")

    worker_started.send(sender=None, worker_id="w")

    assert (watchdogs(RUN_WATCHDOG).count(), watchdogs(BUILD_WATCHDOG).count()) == (1, 1)


def a_worker():
    from enrichment.management.commands.db_worker import Worker

    return Worker(
        queue_names=["*"],
        interval=0.1,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="w",
        excluded_queue_names=[],
    )


@pytest.fixture
def extra_receiver():
    """Connects a worker_started receiver of the test's (after ours) until the test ends."""
    connected = []

    def connect(receiver):
        worker_started.connect(receiver, dispatch_uid=f"test-{len(connected)}")
        connected.append(f"test-{len(connected)}")

    yield connect
    for uid in connected:
        worker_started.disconnect(dispatch_uid=uid)


@pytest.mark.django_db
def test_a_failing_start_up_receiver_is_logged_and_the_worker_goes_on(extra_receiver, caplog):
    def broken(**kwargs):
        raise RuntimeError("broken receiver")

    extra_receiver(broken)
    a_run_without_tasks()
    worker = a_worker()

    worker.announce()

    assert worker.announced
    assert watchdogs(RUN_WATCHDOG).count() == 1
    assert "broken receiver" in caplog.text


@pytest.mark.django_db
def test_a_database_lost_at_start_up_is_raised_to_be_waited_out_and_sent_again(extra_receiver):
    def lost(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    extra_receiver(lost)
    worker = a_worker()

    with pytest.raises(OperationalError):
        worker.announce()

    assert not worker.announced  # so the worker sends it again once it has the database


def worker_test(function):
    """Real ``db_worker`` processes on PostgreSQL."""
    for mark in (
        pytest.mark.django_db(transaction=True),
        pytest.mark.postgres,
        pytest.mark.worker,
        pytest.mark.slow,
    ):
        function = mark(function)
    return function


@worker_test
def test_a_run_whose_tasks_were_lost_is_finished_by_the_next_worker_that_starts(workers):
    run = start(seed(UserFactory(), 200))
    # Its process was killed after the commit, before its tasks were queued (or a killed
    # worker took the run's last watchdog with it): nothing is queued for it.
    DBTaskResult.objects.all().delete()

    workers.start()

    wait_for(lambda: run_state(run).is_finished, timeout=120, what="the run to finish")
    assert (run.status, run.enriched) == (RunStatus.COMPLETED, 200)


@worker_test
def test_a_build_left_building_without_tasks_is_built_by_the_next_worker_that_starts(
    workers, media_root
):
    owner = UserFactory()
    training_file = services.create_training_file(
        name="Stuck", user=owner, selection=Selection(seed_enriched(owner, 20)), background=True
    ).training_file
    assert training_file.status == "processing"
    # "Building" for minutes with nothing queued: a build from before builds had
    # watchdogs, or one whose worker and watchdog were both lost.
    DBTaskResult.objects.all().delete()
    TrainingFile.objects.filter(pk=training_file.pk).update(
        updated_at=timezone.now() - timedelta(minutes=5)
    )

    workers.start()

    wait_for(
        lambda: TrainingFile.objects.get(pk=training_file.pk).status != "processing",
        timeout=120,
        what="the build to end",
    )
    training_file.refresh_from_db()
    assert (training_file.status, training_file.conversation_count) == ("active", 20)
    assert training_file.build_attempt == 2
