"""Real `manage.py db_worker` processes for tests, on the test database (PostgreSQL)."""

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection

from devtools.workers import start_db_worker
from enrichment import storage
from enrichment.models import Conversation, ProcessingStatus
from tests.factories import conversation_document

LEASE_SECONDS = 2


@pytest.fixture
def worker_env(on_postgres, media_root, settings):
    settings.ENRICHMENT_LEASE_SECONDS = LEASE_SECONDS
    return {"ENRICHMENT_LEASE_SECONDS": str(LEASE_SECONDS), "ENRICHMENT_RUN_CHUNK_SIZE": "20"}


class Workers:
    def __init__(self, env: dict, tmp_path: Path) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str = "w") -> subprocess.Popen:
        worker_id = f"{name}-{len(self.processes)}"
        process = start_db_worker(
            worker_id, env=self.env, log=self.tmp_path / f"worker-{worker_id}.log"
        )
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


@pytest.fixture
def workers(worker_env, tmp_path):
    pool = Workers(worker_env, tmp_path)
    yield pool
    pool.stop_all()
    connection.close()


def seed(owner, count: int, *, invalid_every: int = 0) -> list[Conversation]:
    """Many conversations with stored files, quickly (bulk insert)."""
    rows = []
    for n in range(count):
        document = conversation_document(turns=6)
        if invalid_every and n % invalid_every == 0:
            document["turns"][1]["role"] = "coach"
        business_id = uuid.uuid4()
        path = storage.parsed_path(str(owner.pk), str(business_id))
        content = json.dumps(document).encode()
        default_storage.save(path, ContentFile(content))
        rows.append(
            Conversation(
                conversation_id=business_id,
                created_by=owner,
                conversation_name=f"Seeded {n}",
                turn_count=6,
                file_path=path,
                file_size=len(content),
                processing_status=ProcessingStatus.COMPLETED,
            )
        )
    return Conversation.objects.bulk_create(rows)


def wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
