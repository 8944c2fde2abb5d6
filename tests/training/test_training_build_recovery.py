"""A background build whose worker is killed mid-build, with real worker processes and the
settings as shipped: the file is active again within a minute, its previous build served
meanwhile, and nothing is left behind."""

import json
import os
import signal
import time

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from conversations.models import Conversation
from devtools.management.commands.bench_training_file import seed_enriched
from tests.factories import UserFactory
from tests.training.helpers import create_through_api, stored
from tests.workers import wait_for
from training.models import TrainingFile

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

ADDED = 3000


def state(training_file: TrainingFile) -> TrainingFile:
    training_file.refresh_from_db()
    return training_file


def test_a_build_whose_worker_is_killed_is_done_by_another_within_60_seconds(
    default_workers, tmp_path
):
    owner = UserFactory()
    first, *rest = seed_enriched(owner, ADDED + 1)
    created = create_through_api(owner, [first], name="Growing")
    assert created.status_code == 201  # one conversation: built in the request
    training_file = TrainingFile.objects.get(pk=created.json()["trainingFile"]["id"])
    api = APIClient()
    api.force_login(owner)
    added = api.post(
        f"/api/training-files/{training_file.pk}/add-conversations",
        {"conversationIds": [str(pk) for pk in rest]},
        format="json",
    )
    assert added.status_code == 202, added.content
    machine_tmp = tmp_path / "tmp"  # the workers' local temporary folder
    machine_tmp.mkdir()
    tmp_env = {"TMPDIR": str(machine_tmp)}
    doomed = default_workers.start("doomed", env=tmp_env)
    wait_for(lambda: state(training_file).build_done > 0, timeout=120, what="the build to start")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=30)
    killed_at = time.monotonic()
    done_when_killed = state(training_file).build_done
    served_meanwhile = api.get(f"/api/training-files/{training_file.pk}/download?format=json")
    default_workers.start("rescuer", env=tmp_env)

    wait_for(lambda: not state(training_file).is_processing, timeout=60, what="the build to end")

    print(f"active {time.monotonic() - killed_at:.1f} s after the kill")
    assert 0 < done_when_killed < ADDED + 1  # killed mid-way, before storing anything
    # While it was being built again, the previous build (one conversation) was served.
    assert served_meanwhile.status_code == 200
    previous = json.loads(b"".join(served_meanwhile.streaming_content))
    assert previous["training_file_metadata"]["total_conversations"] == 1
    # The new build is whole: every member once, in the order they were added.
    business_ids = dict(
        Conversation.objects.filter(pk__in=[first, *rest]).values_list("pk", "conversation_id")
    )
    assert (training_file.status, training_file.error) == ("active", "")
    assert training_file.conversation_count == ADDED + 1
    document = json.loads(stored(training_file.json_file_path))
    assert [c["conversation_metadata"]["conversation_id"] for c in document["conversations"]] == [
        str(business_ids[pk]) for pk in [first, *rest]
    ]
    # Nothing left behind: no earlier build in the storage, nothing in the workers'
    # temporary folder (a build's scratch files have no name there, even while it runs).
    folders, loose = default_storage.listdir(f"training-files/{training_file.pk}")
    assert (folders, loose) == ([training_file.json_file_path.split("/")[2]], [])
    assert os.listdir(machine_tmp) == []
    assert "was running on a worker that stopped" in default_workers.log_of(
        default_workers.processes[1]
    )
