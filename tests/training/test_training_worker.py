"""Background builds end to end: the API queues them, a real worker (``bin/worker``)
builds them on PostgreSQL; a failed build keeps the previous files."""

import json
import subprocess
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from rest_framework.test import APIClient

from devtools.management.commands.bench_training_file import seed_enriched
from devtools.workers import start_worker
from tests.factories import UserFactory
from tests.training.helpers import create_through_api, stored
from training.models import TrainingFile

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]


@pytest.fixture
def worker(media_root, tmp_path):
    process = start_worker("training", log=tmp_path / "worker.log")
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(timeout=30)
    connection.close()


def wait_until_built(api: APIClient, url: str, worker: subprocess.Popen, *, timeout=120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = api.get(url).json()
        if shown["status"] != "processing":
            return shown
        assert worker.poll() is None, "the worker died"
        time.sleep(0.2)
    raise AssertionError(f"not built after {timeout}s")


def test_a_big_training_file_is_built_by_a_worker_and_a_failed_rebuild_keeps_its_files(worker):
    owner = UserFactory()
    api = APIClient()
    api.force_login(owner)
    pks = seed_enriched(owner, 150)

    created = create_through_api(owner, pks, name="Big")

    assert created.status_code == 202
    queued = created.json()["trainingFile"]
    assert (queued["status"], queued["progress"]["total"], queued["files"]) == (
        "processing",
        150,
        None,
    )
    built = wait_until_built(api, queued["url"], worker)
    assert (built["status"], built["error"], built["progress"]) == ("active", None, None)
    assert built["conversationCount"] == built["memberCount"] == 150
    training_file = TrainingFile.objects.get(pk=queued["id"])
    assert (training_file.build_done, training_file.build_total) == (150, 150)
    document = json.loads(stored(training_file.json_file_path))
    assert document["training_file_metadata"]["total_conversations"] == 150
    assert len(document["conversations"]) == 150
    jsonl = stored(training_file.jsonl_file_path).decode().split("\n")
    assert json.loads(jsonl[0])["_meta"]["total_pairs"] == training_file.total_training_pairs
    assert len(stored(training_file.chat_jsonl_file_path).decode().splitlines()) == 150

    # One member loses its enriched file: the background rebuild fails, says why, and
    # the previous files stay in place (and downloadable).
    previous = (training_file.json_file_path, stored(training_file.json_file_path))
    lost = training_file.memberships.order_by("id")[7].conversation
    default_storage.delete(lost.enriched_file_path)

    rebuilding = api.post(f"{queued['url']}/rebuild")

    assert rebuilding.status_code == 202
    failed = wait_until_built(api, queued["url"], worker)
    assert failed["status"] == "failed"
    assert failed["error"] == (
        f"The enriched file of conversation {lost.conversation_id} ({lost.enriched_file_path}) "
        "is missing from storage. Enrich it again (force), or remove it, then rebuild."
    )
    training_file.refresh_from_db()
    assert training_file.json_file_path == previous[0]
    download = api.get(f"{queued['url']}/download")
    assert b"".join(download.streaming_content) == previous[1]
