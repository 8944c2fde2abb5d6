"""What a generator does, end to end, as a script would over HTTP: create a batch job, push
200 items (some of them the model's broken JSON) 100 at a time, complete the job, and watch
a real worker enrich it (PostgreSQL)."""

import json
import time
import urllib.error
import urllib.request

import pytest

from conversations.models import (
    BatchItemStatus,
    BatchJob,
    Conversation,
    EnrichmentStatus,
    ProcessingStatus,
)
from core.tokens import create_token
from tests.factories import (
    EmotionalArcFactory,
    PersonaFactory,
    TrainingTopicFactory,
    UserFactory,
    conversation_document,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]


class Client:
    """The few lines of HTTP a generator needs."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.base}{path}", data=data, headers=self.headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def generated_items(count: int, *, broken_every: int) -> list[dict]:
    items = []
    for n in range(count):
        if n % broken_every == broken_every - 1:
            # The model stopped mid-string: not JSON.
            items.append({"raw": f'{{"conversation_metadata": {{"client_persona": "Sam {n} Ort'})
            continue
        document = conversation_document(turns=6, session_context=f"Session {n}.")
        items.append(
            {
                "raw": json.dumps(document),
                "topic": "Building an Emergency Fund",
                "parameters": {
                    "personaKey": "careful_builder",
                    "emotionalArcKey": "worry_to_calm",
                    "trainingTopicKey": "emergency_fund",
                },
            }
        )
    return items


def test_a_generator_feeds_a_job_over_http_and_a_worker_enriches_it(live_server, workers):
    PersonaFactory(persona_key="careful_builder", name="Jordan Lee")
    EmotionalArcFactory(arc_key="worry_to_calm")
    TrainingTopicFactory(topic_key="emergency_fund")
    owner = UserFactory(username="generator")
    client = Client(live_server.url, create_token(owner, name="test")[1])
    workers.start()

    status, job = client.call("POST", "/api/batch-jobs", {"name": "Nightly generation"})
    assert status == 201
    items = generated_items(200, broken_every=10)
    for start in (0, 100):
        status, added = client.call(
            "POST", f"/api/batch-jobs/{job['id']}/items", {"items": items[start : start + 100]}
        )
        assert status == 200
        assert added["summary"] == {"added": 100, "completed": 90, "failed": 10, "skipped": 0}
    status, finished = client.call("POST", f"/api/batch-jobs/{job['id']}/complete")
    assert status == 200
    run = finished["enrichmentRun"]
    assert run["description"] == "Batch job “Nightly generation”"
    assert run["total"] == 180

    deadline = time.monotonic() + 240
    while run["status"] not in {"completed", "failed", "cancelled"}:
        assert time.monotonic() < deadline, f"the run did not finish: {run}"
        time.sleep(0.5)
        _, run = client.call("GET", run["url"])

    assert run["status"] == "completed"
    assert (run["enriched"], run["failed"], run["skipped"]) == (180, 0, 0)
    _, progress = client.call("GET", f"/api/conversations/batch/{job['id']}/status")
    assert progress["status"] == "completed"
    assert (progress["successfulItems"], progress["failedItems"]) == (180, 20)
    assert progress["enrichment"]["completed"] == 180
    stored = BatchJob.objects.get(pk=job["id"])
    assert stored.items.filter(status=BatchItemStatus.FAILED).count() == 20
    enriched = Conversation.objects.filter(enrichment_status=EnrichmentStatus.COMPLETED)
    assert enriched.count() == 180
    assert enriched.filter(persona__persona_key="careful_builder").count() == 180
    broken = Conversation.objects.filter(processing_status=ProcessingStatus.PARSE_FAILED)
    assert broken.count() == 20
    assert set(broken.values_list("enrichment_status", flat=True)) == {EnrichmentStatus.NOT_STARTED}
