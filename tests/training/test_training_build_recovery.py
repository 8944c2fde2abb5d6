"""A background build whose worker is killed, or loses its database connection, mid-build:
real ``db_worker`` processes on PostgreSQL with the settings as shipped
(``TRAINING_BUILD_TIMEOUT_SECONDS`` 60)."""

import json
import signal
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from devtools.management.commands.bench_training_file import seed_enriched
from enrichment.models import Conversation
from tests.factories import UserFactory
from tests.training.helpers import create_through_api, stored
from tests.workers import wait_for
from training.models import TrainingFile
from training.recovery import LOST_BUILD_ERROR

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.worker,
    pytest.mark.slow,
]

CONVERSATIONS = 3000


@pytest.fixture
def queued(on_postgres, media_root) -> tuple[TrainingFile, list]:
    """A training file of many enriched conversations, its build queued through the API."""
    owner = UserFactory()
    pks = seed_enriched(owner, CONVERSATIONS)

    created = create_through_api(owner, pks, name="Big")

    assert created.status_code == 202
    return TrainingFile.objects.get(pk=created.json()["trainingFile"]["id"]), pks


def state(training_file: TrainingFile) -> TrainingFile:
    training_file.refresh_from_db()
    return training_file


def build_results(training_file: TrainingFile):
    return DBTaskResult.objects.filter(
        task_path="training.tasks.build_training_file",
        args_kwargs__kwargs__training_file_id=str(training_file.pk),
    ).order_by("enqueued_at")


def assert_built_whole(training_file: TrainingFile, pks: list) -> None:
    """Active, with every member once, in the order they were added, in all three files,
    and nothing else stored."""
    business_ids = dict(
        Conversation.objects.filter(pk__in=pks).values_list("pk", "conversation_id")
    )
    assert (training_file.status, training_file.error) == ("active", "")
    assert training_file.conversation_count == CONVERSATIONS
    document = json.loads(stored(training_file.json_file_path))
    assert document["training_file_metadata"]["total_conversations"] == CONVERSATIONS
    assert [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]] == [
        str(business_ids[pk]) for pk in pks
    ]
    jsonl = stored(training_file.jsonl_file_path).decode().split("\n")
    assert json.loads(jsonl[0])["_meta"]["total_pairs"] == training_file.total_training_pairs
    assert len(stored(training_file.chat_jsonl_file_path).decode().splitlines()) == CONVERSATIONS
    folders, loose = default_storage.listdir(f"training-files/{training_file.pk}")
    assert (folders, loose) == ([training_file.json_file_path.split("/")[2]], [])


def test_a_build_whose_worker_is_killed_is_restarted_on_another_worker_and_ends_whole(
    queued, default_workers, settings, tmp_path
):
    assert settings.TRAINING_BUILD_TIMEOUT_SECONDS == 60  # as shipped: nothing shortened
    training_file, pks = queued
    machine_tmp = tmp_path / "tmp"  # the workers' shared local temporary folder
    machine_tmp.mkdir()
    tmp_env = {"TMPDIR": str(machine_tmp)}
    doomed = default_workers.start("doomed", env=tmp_env)
    wait_for(lambda: state(training_file).build_done > 0, timeout=120, what="the build to start")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    killed_at = time.monotonic()
    done_when_killed = state(training_file).build_done
    left_by_the_kill = [p.name for p in machine_tmp.iterdir()]
    default_workers.start("rescuer", env=tmp_env)

    wait_for(lambda: not state(training_file).is_processing, timeout=150, what="the build to end")

    print(f"active {time.monotonic() - killed_at:.1f} s after the kill")
    assert 0 < done_when_killed < CONVERSATIONS  # killed mid-way, before storing anything
    assert training_file.build_attempt == 2
    assert_built_whole(training_file, pks)
    # The killed build's scratch folder was removed by the next build; the next one's own
    # when it ended.
    assert len(left_by_the_kill) == 1
    assert left_by_the_kill[0].startswith("training-file-")
    assert list(machine_tmp.iterdir()) == []
    first, second = build_results(training_file)
    assert (first.status, first.exception_class_path, first.worker_ids) == (
        TaskResultStatus.FAILED,
        LOST_BUILD_ERROR,
        ["doomed-0"],
    )
    assert (second.status, second.args_kwargs["kwargs"]["attempt"], second.worker_ids) == (
        TaskResultStatus.SUCCESSFUL,
        2,
        ["rescuer-1"],
    )


def test_a_build_whose_connection_is_dropped_is_restarted_at_once(queued, default_workers):
    training_file, pks = queued
    default_workers.start()
    wait_for(lambda: state(training_file).build_done > 0, timeout=120, what="the build to start")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    dropped_at = time.monotonic()

    # Well within the timeout: the attempt handed over itself.
    wait_for(lambda: not state(training_file).is_processing, timeout=45, what="the build to end")

    print(f"active {time.monotonic() - dropped_at:.1f} s after the connection was dropped")
    assert training_file.build_attempt == 2
    assert_built_whole(training_file, pks)
    first, second = build_results(training_file)
    assert (first.status, first.return_value) == (TaskResultStatus.SUCCESSFUL, "restarted")
    assert (second.status, second.return_value) == (TaskResultStatus.SUCCESSFUL, "active")
