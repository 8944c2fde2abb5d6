"""A background build whose worker stopped: when the watchdog counts it dead, how it is
restarted (a few times) or failed, and that a given-up attempt that was only slow
records nothing. The tasks run in this process, as a worker would run them; the
end-to-end test with a killed ``db_worker`` is ``test_training_build_recovery.py``."""

import json
from datetime import UTC, timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from tests.factories import UserFactory, enriched_conversation
from tests.training.helpers import stored
from training import builds, files, services
from training.models import TrainingFile
from training.recovery import LOST_BUILD_ERROR, watch_build, watch_every
from training.selection import Selection
from training.tasks import build_training_file, watch_training_build

pytestmark = pytest.mark.django_db

TIMEOUT = timedelta(seconds=60)  # TRAINING_BUILD_TIMEOUT_SECONDS as shipped


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def conversations(owner):
    return [enriched_conversation(created_by=owner) for _ in range(3)]


@pytest.fixture
def queued(owner, conversations, django_capture_on_commit_callbacks) -> TrainingFile:
    """A file whose background build is queued (its task and watchdog in the database)."""
    with django_capture_on_commit_callbacks(execute=True):
        change = services.create_training_file(
            name="Queued",
            user=owner,
            selection=Selection([c.pk for c in conversations]),
            background=True,
        )
    return change.training_file


def build_tasks(**filters):
    return DBTaskResult.objects.filter(task_path="training.tasks.build_training_file", **filters)


def watchdogs():
    return DBTaskResult.objects.filter(task_path="training.tasks.watch_training_build")


def taken_by_a_worker(task: DBTaskResult, *, ago: timedelta) -> None:
    task.status = TaskResultStatus.RUNNING
    task.started_at = timezone.now() - ago
    task.worker_ids = ["doomed"]
    task.save()


def silent(training_file: TrainingFile, *, for_: timedelta) -> None:
    """The attempt started, beat, then its worker stopped ``for_`` ago."""
    moment = timezone.now() - for_
    TrainingFile.objects.filter(pk=training_file.pk).update(
        build_started_at=moment, build_heartbeat_at=moment, build_done=1, updated_at=moment
    )


def watch(training_file: TrainingFile) -> str:
    """The watchdog task's body, as a worker runs it."""
    return watch_training_build.call(
        training_file_id=str(training_file.pk), generation=training_file.build_generation
    )


def test_a_build_that_beat_within_the_timeout_is_left_alone(queued):
    taken_by_a_worker(build_tasks().get(), ago=TIMEOUT * 2)
    silent(queued, for_=TIMEOUT - timedelta(seconds=5))

    verdict = watch_build(queued.pk, queued.build_generation)

    assert (verdict.restart, verdict.keep_watching) == (None, True)
    queued.refresh_from_db()
    assert (queued.status, queued.build_attempt, queued.build_done) == ("processing", 1, 1)
    assert build_tasks().get().status == TaskResultStatus.RUNNING


def test_a_silent_build_is_restarted_as_the_next_attempt_and_its_task_recorded_failed(
    queued, conversations
):
    first = build_tasks().get()
    taken_by_a_worker(first, ago=TIMEOUT * 2)
    silent(queued, for_=TIMEOUT + timedelta(seconds=1))
    check = watchdogs().get()
    taken_by_a_worker(check, ago=timedelta(0))  # the watchdog's check, running now
    before = timezone.now()

    assert watch(queued) == "restarted as attempt 2"

    queued.refresh_from_db()
    assert (queued.status, queued.build_attempt, queued.build_done) == ("processing", 2, 0)
    assert (queued.build_heartbeat_at, queued.build_started_at, queued.error) == (None, None, "")
    assert queued.build_restarted and not queued.build_is_silent()
    first.refresh_from_db()
    assert (first.status, first.exception_class_path) == ("FAILED", LOST_BUILD_ERROR)
    assert first.traceback.startswith("The worker running this build stopped (no sign of life")
    second = build_tasks(status=TaskResultStatus.READY).get()
    assert second.args_kwargs["kwargs"] == {
        "training_file_id": str(queued.pk),
        "generation": 1,
        "attempt": 2,
    }
    [next_look] = watchdogs().filter(status=TaskResultStatus.READY)  # the chain goes on
    assert before + watch_every() <= next_look.run_after <= timezone.now() + watch_every()

    assert build_training_file.call(**second.args_kwargs["kwargs"]) == "active"

    queued.refresh_from_db()
    assert (queued.status, queued.conversation_count, queued.build_attempt) == ("active", 3, 2)
    document = json.loads(stored(queued.json_file_path))
    assert [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]] == [
        str(c.conversation_id) for c in conversations
    ]
    assert watch(queued) == "done"


def test_after_the_last_attempt_the_file_fails_with_the_reason(queued):
    TrainingFile.objects.filter(pk=queued.pk).update(build_attempt=3)
    silent(queued, for_=TIMEOUT + timedelta(seconds=1))
    heartbeat = TrainingFile.objects.get(pk=queued.pk).build_heartbeat_at

    assert watch(queued) == "done"

    queued.refresh_from_db()
    assert queued.status == "failed"
    assert queued.error == (
        "The worker building this file stopped (no sign of life since "
        f"{heartbeat.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
        " UTC); that was attempt 3 of 3. Rebuild to try again."
    )
    assert (
        not build_tasks(status=TaskResultStatus.READY)
        .exclude(args_kwargs__kwargs__attempt=1)
        .exists()
    )


def test_a_build_waiting_for_a_free_worker_is_not_dead_however_long_it_waits(queued):
    long_ago = timezone.now() - TIMEOUT * 10
    TrainingFile.objects.filter(pk=queued.pk).update(updated_at=long_ago)

    verdict = watch_build(queued.pk, queued.build_generation)

    assert (verdict.restart, verdict.keep_watching) == (None, True)
    assert TrainingFile.objects.get(pk=queued.pk).build_attempt == 1


def test_a_task_taken_by_a_worker_that_stopped_before_the_first_heartbeat_is_dead(queued):
    taken_by_a_worker(build_tasks().get(), ago=TIMEOUT + timedelta(seconds=1))

    verdict = watch_build(queued.pk, queued.build_generation)

    assert (verdict.restart, verdict.keep_watching) == (2, True)


def test_a_task_just_taken_by_a_worker_is_given_time_to_start(queued):
    taken_by_a_worker(build_tasks().get(), ago=timedelta(seconds=5))

    verdict = watch_build(queued.pk, queued.build_generation)

    assert (verdict.restart, verdict.keep_watching) == (None, True)


def test_a_build_nothing_holds_is_restarted_after_the_timeout(
    owner, conversations, django_capture_on_commit_callbacks
):
    # The command line builds in its own process (no build task); it was killed at once.
    with django_capture_on_commit_callbacks(execute=True):
        training_file = services.create_training_file(
            name="From the command line",
            user=owner,
            selection=Selection([c.pk for c in conversations]),
            background=True,
            enqueue=False,
        ).training_file
    assert not build_tasks().exists()
    assert watch_build(training_file.pk, 1).restart is None
    TrainingFile.objects.filter(pk=training_file.pk).update(
        updated_at=timezone.now() - TIMEOUT - timedelta(seconds=1)
    )

    assert watch(training_file) == "restarted as attempt 2"

    assert build_tasks().get().args_kwargs["kwargs"]["attempt"] == 2


def test_an_attempt_given_up_while_only_slow_stops_at_its_next_heartbeat_storing_nothing(
    queued, monkeypatch
):
    monkeypatch.setattr(files, "PROGRESS_EVERY", 0)  # a heartbeat at every member
    verdicts = []

    def stall_once(done: int, total: int) -> None:
        # After the first member, the worker looks dead to the watchdog for a while.
        if not verdicts:
            silent(queued, for_=TIMEOUT + timedelta(seconds=1))
            verdicts.append(watch_build(queued.pk, queued.build_generation))

    outcome = builds.run_build(
        queued.pk, queued.build_generation, attempt=1, on_progress=stall_once
    )

    assert outcome == "superseded"
    assert verdicts[0].restart == 2
    queued.refresh_from_db()
    assert (queued.status, queued.json_file_path, queued.build_attempt) == ("processing", "", 2)
    folder = f"training-files/{queued.pk}"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
    assert builds.run_build(queued.pk, queued.build_generation, attempt=1) == "superseded"


def test_a_changed_file_is_no_longer_watched_for_the_old_generation(queued, owner):
    generation = queued.build_generation
    services.rebuild_training_file(queued, background=True, enqueue=False)
    silent(queued, for_=TIMEOUT * 2)

    verdict = watch_build(queued.pk, generation)

    assert (verdict.restart, verdict.keep_watching) == (None, False)
    assert TrainingFile.objects.get(pk=queued.pk).build_attempt == 1


def test_the_api_and_the_page_say_when_a_build_was_restarted_or_stalled(queued, owner):
    client = APIClient()
    client.force_login(owner)
    url = f"/api/training-files/{queued.pk}"
    silent(queued, for_=TIMEOUT + timedelta(seconds=1))
    heartbeat = TrainingFile.objects.get(pk=queued.pk).build_heartbeat_at

    stalled = client.get(url).json()["progress"]
    stalled_page = client.get(f"/training-files/{queued.pk}/").content.decode()
    watch_build(queued.pk, queued.build_generation)
    restarted = client.get(url).json()["progress"]
    restarted_page = client.get(f"/training-files/{queued.pk}/").content.decode()

    assert stalled == {
        "total": 3,
        "done": 1,
        "percent": 33,
        "attempt": 1,
        "maxAttempts": 3,
        "heartbeatAt": heartbeat.isoformat(),
        "stalled": True,
    }
    assert "No sign of life from the worker building this file" in stalled_page
    assert restarted == {
        "total": 3,
        "done": 0,
        "percent": 0,
        "attempt": 2,
        "maxAttempts": 3,
        "heartbeatAt": None,
        "stalled": False,
    }
    assert "Restarted after the worker stopped." in restarted_page
    assert "(attempt 2 of 3)" in restarted_page


def test_what_a_killed_attempt_stored_is_deleted_once_the_next_one_is_recorded(
    queued, django_capture_on_commit_callbacks
):
    # An attempt killed while storing left part of its files in a folder of its own.
    leftover = f"training-files/{queued.pk}/20000101T000000-deadbeef"
    default_storage.save(f"{leftover}/training.json", ContentFile(b'{"training_file_met'))
    silent(queued, for_=TIMEOUT + timedelta(seconds=1))
    watch(queued)
    retry = build_tasks(args_kwargs__kwargs__attempt=2).get()

    with django_capture_on_commit_callbacks(execute=True):
        assert build_training_file.call(**retry.args_kwargs["kwargs"]) == "active"

    queued.refresh_from_db()
    folders, loose = default_storage.listdir(f"training-files/{queued.pk}")
    assert (folders, loose) == ([queued.json_file_path.split("/")[2]], [])
    assert (
        json.loads(stored(queued.json_file_path))["training_file_metadata"]["total_conversations"]
        == 3
    )


def test_the_list_and_the_admin_say_a_build_was_restarted(queued, owner):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client = APIClient()
    client.force_login(staff)
    silent(queued, for_=TIMEOUT + timedelta(seconds=1))
    stalled_admin = client.get("/admin/training/trainingfile/").content.decode()
    watch_build(queued.pk, queued.build_generation)

    listed = client.get("/training-files/").content.decode()
    admin_list = client.get("/admin/training/trainingfile/").content.decode()
    admin_page = client.get(f"/admin/training/trainingfile/{queued.pk}/change/").content.decode()

    assert "Building — stalled" in stalled_admin
    assert "0 / 3 · restarted after the worker stopped" in listed
    assert "Building — restarted after the worker stopped" in admin_list
    assert (
        "0 of 3 conversations (0%); restarted after the worker stopped (attempt 2 of 3)"
        in admin_page
    )
