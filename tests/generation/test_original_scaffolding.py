"""Issue 23's "done when", on the original's real scaffolding and templates: a person (the
command, batch mode) and an API client (the workers, realtime mode) each generate the
combinations whose placeholders resolve, against a provider that refuses and fails on the
way; every item ends once, is paid for once, and its conversation is enriched."""

import time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus, EnrichmentStatus
from generation import prompts
from generation.models import GenerationAttempt
from tests.factories import UserFactory
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db

ARC = "confusion_to_clarity"  # the original's template that renders whole
ENRICHED = {EnrichmentStatus.COMPLETED}


@pytest.fixture
def original(shared_data, settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_POLL_SECONDS = 0
    import_scaffolding(
        [
            *(
                shared_data / "scaffolding" / f"{kind}.ndjson"
                for kind in ("personas", "emotional_arcs", "training_topics")
            ),
            shared_data / "generation" / "prompt_templates.ndjson",
        ]
    )
    personas = ["overwhelmed_avoider", "anxious_planner", "pragmatic_optimist"]
    topics = ["hsa_vs_fsa", "roth_ira_conversion", "backdoor_roth", "ignored_401k"]
    resolvable = [
        (persona, topic)
        for persona in personas
        for topic in topics
        if not prompts.plan([persona], [ARC], [topic], system="s").problems
    ]
    chosen_personas = sorted({p for p, _ in resolvable})[:2]
    chosen_topics = sorted(t for t in topics if all((p, t) in resolvable for p in chosen_personas))[
        :2
    ]
    assert len(chosen_personas) == 2 and len(chosen_topics) == 2, resolvable
    return chosen_personas, chosen_topics


def assert_generated_and_enriched(job: BatchJob, items: int) -> None:
    job.refresh_from_db()
    assert (job.status, job.successful_items, job.total_items) == (
        BatchJobStatus.COMPLETED,
        items,
        items,
    )
    assert set(job.items.values_list("status", flat=True)) == {BatchItemStatus.COMPLETED}
    attempts = GenerationAttempt.objects.filter(item__batch_job=job)
    # Refused and failed calls are no attempts: one answered request per item, billed once.
    assert attempts.count() == items
    assert all(a.billed and a.cost_usd > 0 for a in attempts)
    assert job.generation.cost_usd == attempts.aggregate(total=Sum("cost_usd"))["total"]
    assert job.generation.cost_usd > Decimal(0)
    statuses = {item.conversation.enrichment_status for item in job.items.all()}
    assert statuses == ENRICHED, statuses
    template = {item.conversation.template.name for item in job.items.all()}
    assert template == {"Template - Confusion → Clarity - Education Focus"}


def test_a_person_generates_from_the_real_scaffolding_in_batch_mode(original, fake_anthropic):
    personas, topics = original
    fake_anthropic.fail(529, path="/v1/messages/batches", method="POST")
    fake_anthropic.fail(500, path="/v1/messages/batches/", method="GET")
    out = StringIO()
    owner = UserFactory(username="dana")

    call_command(
        "generate",
        "--persona", *personas, "--arc", ARC, "--topic", *topics,
        "--owner", owner.username, "--max-tokens", "8000",
        "--follow", "--poll-seconds", "0.05",
        stdout=out, stderr=StringIO(),
    )  # fmt: skip

    output = out.getvalue()
    assert output.count("trying again in 0.05 s") == 2, output
    assert "completed: 4 of 4 generated" in output
    created = [
        r
        for r in fake_anthropic.requests()
        if (r["method"], r["path"]) == ("POST", "/v1/messages/batches")
    ]
    assert len(created) == 2  # the refused one, then the one that made the batch
    run_jobs()  # the enrichment run the finished job started
    assert_generated_and_enriched(BatchJob.objects.get(created_by=owner), 4)


def test_an_api_client_generates_from_the_real_scaffolding_in_realtime(original, fake_anthropic):
    personas, topics = original
    fake_anthropic.fail(429, retry_after=0.05, path="/v1/messages")
    fake_anthropic.fail(529, retry_after=0.05, path="/v1/messages")
    api = APIClient()
    api.force_login(UserFactory())

    response = api.post(
        "/api/generation-jobs",
        {
            "name": "Real scaffolding",
            "personaKeys": personas,
            "emotionalArcKeys": [ARC],
            "trainingTopicKeys": topics,
            "mode": "realtime",
            "maxTokens": 8000,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    job = BatchJob.objects.get(pk=response.json()["id"])
    # The workers' steps, lanes and the enrichment run, until nothing is left to do (a
    # step the provider asked to wait for is due a moment later).
    for _ in range(100):
        run_jobs()
        job.refresh_from_db()
        if job.is_finished and job.conversations_enriched == 4:
            break
        time.sleep(0.05)

    assert_generated_and_enriched(job, 4)
    body = api.get(f"/api/batch-jobs/{job.pk}/items").json()
    assert {(row["attempts"], row["stopReason"], row["parseMethod"]) for row in body["data"]} == {
        (1, "end_turn", "direct")
    }
    calls = [r for r in fake_anthropic.requests() if r["path"] == "/v1/messages"]
    assert len(calls) == 6  # four answers, a 429 and a 529
