"""Generation in the background: a job created through the API has its first step queued
with it, and the workers' steps (``generation.tasks``) take it to its end against the fake
provider, in batch and realtime mode, then start its enrichment; a provider that refuses
the key pauses the job with the reason instead of retrying forever."""

import json

import pytest
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from enrichment.models import EnrichmentRun
from generation.models import GenerationAttempt
from tests.factories import UserFactory
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db

BODY = {
    "name": "Tax season",
    "personaKeys": ["gig_juggler", "late_starter"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes"],
    "maxTokens": 8000,
}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_POLL_SECONDS = 0
    import_scaffolding(scaffolding_paths())


def create(mode: str, api: APIClient | None = None) -> BatchJob:
    if api is None:
        api = APIClient()
        api.force_login(UserFactory())
    response = api.post("/api/generation-jobs", {**BODY, "mode": mode}, format="json")
    assert response.status_code == 201, response.json()
    return BatchJob.objects.get(pk=response.json()["id"])


@pytest.mark.parametrize("mode", ["batch", "realtime"])
def test_the_workers_take_a_created_job_to_its_end_and_enrich_it(fake_anthropic, mode):
    fake_anthropic.configure(batch_polls=1)
    job = create(mode)
    assert queued("advance_generation_job", job_id=str(job.pk)).count() == 1

    ran = run_jobs()

    job.refresh_from_db()
    assert (job.status, job.successful_items, job.total_items) == (BatchJobStatus.COMPLETED, 2, 2)
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    assert ran.count("generation.tasks.advance_generation_job") >= 1
    assert EnrichmentRun.objects.get(batch_job=job).status == "completed"


def test_generated_conversations_go_into_a_training_file(fake_anthropic):
    """Generation → auto-enrich → a training file, each step on the workers."""
    fake_anthropic.configure(batch_polls=0)
    api = APIClient()
    api.force_login(UserFactory())
    job = create("batch", api)
    run_jobs()

    response = api.post(
        "/api/training-files", {"name": "Generated", "batchJobId": str(job.pk)}, format="json"
    )
    assert response.status_code in (201, 202), response.json()
    run_jobs()

    url = response["Location"]
    body = api.get(url).json()
    assert (body["status"], body["conversationCount"]) == ("active", 2), body
    whole = json.loads(b"".join(api.get(f"{url}/download?format=json").streaming_content))
    made = {
        entry["conversation_metadata"]["conversation_id"]: entry["conversation_metadata"][
            "generation"
        ]
        for entry in whole["conversations"]
    }
    for attempt in GenerationAttempt.objects.filter(item__batch_job=job):
        assert made[str(attempt.conversation.conversation_id)] == {
            "model": attempt.model,
            "template_name": attempt.template.name,
            "prompt_sha256": attempt.prompt_hash,
            "attempt": 1,
            "batch_job_id": str(job.pk),
        }
    download = api.get(f"{url}/download?format=chat-jsonl")
    assert download.status_code == 200
    lines = b"".join(download.streaming_content).decode().splitlines()
    conversations = [json.loads(line)["messages"] for line in lines]
    assert len(conversations) == 2
    # What the fake provider wrote for each prompt, as the model's turns.
    assert all(
        [m["role"] for m in messages[:3]] == ["system", "user", "assistant"]
        and "what should I look at first?" in messages[1]["content"]
        for messages in conversations
    )


def test_a_refused_key_pauses_the_job_with_the_reason(fake_anthropic):
    fake_anthropic.fail(401, path="/v1/messages/batches")
    job = create("batch")

    run_jobs()

    job.refresh_from_db()
    assert job.status != BatchJobStatus.COMPLETED
    assert job.generation.paused_reason
    assert not queued("advance_generation_job", job_id=str(job.pk)).exists()
