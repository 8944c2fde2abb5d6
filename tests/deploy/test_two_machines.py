"""More than one machine: a web process (bin/serve) and two workers (bin/worker), each with
its own empty MEDIA_ROOT, sharing nothing but PostgreSQL and an S3 bucket (moto's
standalone server). Conversations are imported from a fourth "machine", some are enriched
through the API, the rest by a background run both workers share, and every enriched
file is downloaded through the API. No process writes a file to its local disk."""

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conversations.models import Conversation, EnrichmentStatus
from core.tokens import create_token
from tests.factories import TRUNCATED_REPLY, UserFactory, conversation_document
from tests.servers import ROOT, Server, production_env, s3_env, start_web

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

VALID, INVALID = 22, 2


class Machines:
    """Processes that share the database and the bucket, each on its own local folder."""

    def __init__(self, tmp_path: Path, static_root: Path, bucket) -> None:
        self.tmp_path = tmp_path
        self.static_root = static_root
        self.bucket = bucket
        self.media_roots: dict[str, Path] = {}
        self.servers: list[Server] = []

    def env(self, machine: str, **extra: str) -> dict[str, str]:
        media_root = self.tmp_path / machine / "media"
        media_root.mkdir(parents=True)
        self.media_roots[machine] = media_root
        return production_env(
            media_root=media_root,
            static_root=self.static_root,
            DJANGO_HTTPS="false",
            ENRICHMENT_RUN_CHUNK_SIZE="3",
            **s3_env(self.bucket.endpoint_url, self.bucket.name),
            **extra,
        )

    def web(self) -> Server:
        server = start_web(self.env("web"), self.tmp_path / "web.log")
        self.servers.append(server)
        return server

    def worker(self, name: str) -> Server:
        """bin/worker, started; ``.wait()`` for it to poll for jobs."""
        server = Server(
            [str(ROOT / "bin" / "worker"), "--name", name],
            env=self.env(name, WORKER_LOG_LEVEL="INFO"),
            log=self.tmp_path / f"{name}.log",
            announce=r"(Starting worker) on all queues",
            wait=False,
        )
        self.servers.append(server)
        return server

    def run_command(self, machine: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(machine),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def machines(s3_bucket, static_root, tmp_path):
    group = Machines(tmp_path, static_root, s3_bucket)
    yield group
    group.stop()


def call(url: str, token: str, method: str = "GET", body: dict | None = None):
    request = urllib.request.Request(
        url,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def finished(run: dict) -> dict | None:
    return run if run["status"] == "completed" else None


def wait_for(check, *, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_web_and_two_workers_share_only_the_database_and_the_bucket(machines, tmp_path, media_root):
    owner = UserFactory(username="dana")
    token = create_token(owner, name="test")[1]
    sources = tmp_path / "export"
    sources.mkdir()
    for n in range(VALID):
        # Each file its own content: identical ones would be skipped as duplicates.
        document = conversation_document(session_context=f"Session {n}.")
        (sources / f"chat-{n:02}.json").write_text(json.dumps(document))
    for n in range(INVALID):
        (sources / f"broken-{n}.json").write_bytes(TRUNCATED_REPLY + f"chat {n}".encode())
    workers = [machines.worker("w1"), machines.worker("w2")]
    web = machines.web()
    for worker in workers:
        worker.wait()

    output = machines.run_command(
        "importer",
        "import_conversations",
        *[str(p) for p in sorted(sources.glob("chat-*.json"))],
        *[str(p) for p in sorted(sources.glob("broken-*.json"))],
        "--owner",
        "dana",
        "--batch-name",
        "Two machines",
        "--no-auto-enrich",
    )
    imported = json.loads(output.strip().splitlines()[-1])
    ids = imported["conversationIds"]
    by_api = ids[:6]
    single = [call(f"{web.url}/api/conversations/{cid}/enrich", token, "POST") for cid in ids[:2]]
    bulk = call(
        f"{web.url}/api/conversations/bulk-enrich",
        token,
        "POST",
        {"conversationIds": by_api[2:], "sequential": False},
    )
    started = call(
        f"{web.url}/api/enrichment-runs", token, "POST", {"batchJobId": imported["batchJobId"]}
    )
    run_url = f"{web.url}{json.loads(started[2])['url']}"
    run = wait_for(
        lambda: finished(json.loads(call(run_url, token)[2])),
        timeout=180,
        what="the background run",
    )

    assert imported["imported"] == VALID + INVALID
    assert [(status, json.loads(body)["status"]) for status, _, body in single] == [
        (200, "enriched"),
        (200, "enriched"),
    ]
    assert bulk[0] == 200
    assert json.loads(bulk[2])["summary"] == {
        "total": 4,
        "successful": 4,
        "failed": 0,
        "skipped": 0,
    }
    assert started[0] == 202, started[2]
    assert (run["total"], run["enriched"], run["failed"], run["skipped"]) == (
        VALID + INVALID,
        VALID - len(by_api),
        INVALID,
        len(by_api),
    )
    # Both workers ran jobs of the run's lanes.
    for name in ("w1", "w2"):
        assert "enrich_run_lane" in (tmp_path / f"{name}.log").read_text(), name

    conversations = Conversation.objects.filter(conversation_id__in=ids)
    completed = [c for c in conversations if c.enrichment_status == EnrichmentStatus.COMPLETED]
    assert len(completed) == VALID
    for conversation in completed:
        status, headers, body = call(
            f"{web.url}/api/conversations/{conversation.conversation_id}/download/enriched", token
        )
        assert status == 200
        assert headers["Content-Length"] == str(conversation.enriched_file_size)
        assert body == machines.bucket.read(conversation.enriched_file_path)
        assert json.loads(body)["dataset_metadata"]["dataset_name"] == (
            f"fp_conversation_{conversation.conversation_id}"
        )
    expected_keys = sorted(
        path
        for c in conversations
        for path in (c.raw_response_path, c.file_path, c.enriched_file_path)
        if path
    )
    assert machines.bucket.keys() == expected_keys
    assert len(expected_keys) == 3 * VALID + INVALID  # raw, parsed, enriched; raw only
    for machine, folder in {**machines.media_roots, "tests": media_root}.items():
        assert not folder.exists() or list(folder.rglob("*")) == [], machine
