"""The generation API: preview and create a generation job; the batch job's JSON shows
its generation (null for jobs fed from outside)."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItem, BatchJob
from devtools.demo.generator import scaffolding_paths
from generation.models import GenerationAttempt, ProviderBatch, ProviderBatchStatus
from tests.factories import BatchJobFactory, UserFactory

pytestmark = pytest.mark.django_db

BODY = {
    "name": "Tax season",
    "personaKeys": ["gig_juggler", "late_starter"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes", "emergency_fund_rebuild"],
    "repeat": 2,
}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_MODE = "batch"
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def api(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def with_key(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")


@pytest.fixture
def without_key(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)


def nothing_created() -> bool:
    return not (BatchJob.objects.exists() or BatchItem.objects.exists())


def test_preview_answers_the_count_the_first_prompts_and_the_estimate(api, without_key):
    response = api.post("/api/generation-jobs/preview", BODY, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["items"] == 8
    assert body["problems"] == []
    assert len(body["prompts"]) == 3
    first = body["prompts"][0]
    assert (first["personaKey"], first["emotionalArcKey"], first["trainingTopicKey"]) == (
        "gig_juggler",
        "dread_to_relief",
        "freelancer_quarterly_taxes",
    )
    assert first["prompt"] and "{{" not in first["prompt"] and first["system"]
    estimate = body["estimate"]
    assert estimate["costUsd"] == estimate["costUsdBatch"] < estimate["costUsdRealtime"]
    assert estimate["inputTokens"] > 0 and estimate["outputTokens"] > 0
    assert nothing_created()


def test_preview_names_each_unknown_key_and_needs_no_name(api):
    body = {**BODY, "personaKeys": ["gig_juggler", "nobody_at_all"]}
    del body["name"]

    response = api.post("/api/generation-jobs/preview", body, format="json")

    assert response.status_code == 200
    problems = response.json()["problems"]
    assert any(p.get("personaKey") == "nobody_at_all" for p in problems), problems


def test_create_answers_201_with_the_batch_job_and_its_generation(api, user, with_key):
    response = api.post(
        "/api/generation-jobs",
        {**BODY, "mode": "realtime", "budgetUsd": 5, "temperature": 0.5, "maxTokens": 9000},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    job = BatchJob.objects.get(pk=body["id"])
    assert job.created_by == user and job.total_items == 8
    assert response["Location"] == f"/api/batch-jobs/{job.pk}"
    assert body["totalItems"] == 8 and body["status"] == "queued"
    generation = body["generation"]
    assert generation["mode"] == "realtime" and generation["maxTokens"] == 9000
    assert generation["temperature"] == 0.5
    assert generation["budgetUsd"] == 5 and generation["costUsd"] == 0
    assert generation["providerBatches"] == [] and "templateName" not in generation
    assert GenerationAttempt.objects.filter(item__batch_job=job).count() == 8
    # The batch-job API shows the same.
    again = api.get(f"/api/batch-jobs/{job.pk}").json()
    assert again["generation"] == generation


def test_a_job_fed_from_outside_has_generation_null_in_the_job_and_the_list(api, user, with_key):
    outside = BatchJobFactory(created_by=user)
    created = api.post("/api/generation-jobs", BODY, format="json").json()
    job = BatchJob.objects.get(pk=created["id"])
    ProviderBatch.objects.create(
        batch_job=job,
        provider_batch_id="msgbatch_01",
        status=ProviderBatchStatus.IN_PROGRESS,
        requests=8,
        succeeded=3,
        errored=1,
    )

    single = api.get(f"/api/batch-jobs/{outside.pk}").json()
    listed = {row["id"]: row for row in api.get("/api/batch-jobs").json()["data"]}

    assert single["generation"] is None
    assert listed[str(outside.pk)]["generation"] is None
    assert listed[str(job.pk)]["generation"]["providerBatches"] == [
        {
            "id": "msgbatch_01",
            "status": "in_progress",
            "requests": 8,
            "succeeded": 3,
            "errored": 1,
            "expired": 0,
            "canceled": 0,
        }
    ]


def test_money_is_a_number_exact_to_the_nanodollar(api, with_key):
    created = api.post("/api/generation-jobs", {**BODY, "budgetUsd": 12.5}, format="json")
    job = BatchJob.objects.get(pk=created.json()["id"])
    job.generation.cost_usd = Decimal("0.123456789")
    job.generation.save()

    generation = api.get(f"/api/batch-jobs/{job.pk}").json()["generation"]

    assert generation["costUsd"] == 0.123456789 and generation["budgetUsd"] == 12.5


def test_without_the_key_creation_says_how_to_set_it_and_creates_nothing(api, without_key):
    response = api.post("/api/generation-jobs", BODY, format="json")

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "provider_not_configured"
    assert "export ANTHROPIC_API_KEY=" in body["error"]
    assert nothing_created()


def test_problems_answer_400_with_every_one_named_and_nothing_created(api, with_key):
    body = {**BODY, "emotionalArcKeys": ["dread_to_relief", "no_such_arc"]}

    response = api.post("/api/generation-jobs", body, format="json")

    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "generation_problems"
    assert any(p.get("emotionalArcKey") == "no_such_arc" for p in error["details"]["problems"])
    assert nothing_created()


def test_a_budget_below_the_estimate_answers_400_with_the_estimate(api, with_key):
    response = api.post("/api/generation-jobs", {**BODY, "budgetUsd": 0.0001}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "budget_too_low"
    assert response.json()["estimate"]["costUsd"] > 0.0001
    assert nothing_created()


def test_a_model_without_a_price_is_refused(api, with_key):
    response = api.post("/api/generation-jobs", {**BODY, "model": "gpt-9"}, format="json")

    assert response.status_code == 400
    assert "GENERATION_PRICES" in response.json()["error"]
    assert nothing_created()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"personaKeys": []}, "personaKeys"),
        ({"personaKeys": "gig_juggler"}, "personaKeys"),
        ({"repeat": 0}, "repeat"),
        ({"repeat": "2"}, "repeat"),
        ({"mode": "overnight"}, "mode"),
        ({"maxTokens": 0}, "maxTokens"),
        ({"temperature": 1.5}, "temperature"),
        ({"budgetUsd": -1}, "budgetUsd"),
        ({"budgetUsd": "5"}, "budgetUsd"),
        ({"autoEnrich": "yes"}, "autoEnrich"),
        ({"name": "   "}, "name"),
        ({"forse": True}, "forse"),
    ],
)
def test_bad_fields_are_named_and_create_nothing(api, with_key, change, field):
    response = api.post("/api/generation-jobs", {**BODY, **change}, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]
    assert nothing_created()


def test_the_api_needs_a_login():
    response = APIClient().post("/api/generation-jobs/preview", BODY, format="json")

    assert response.status_code in (401, 403)


@pytest.mark.parametrize("jobs", [1, 3])
def test_listing_generation_jobs_takes_the_same_queries_whatever_their_number(
    api, with_key, jobs, django_assert_num_queries
):
    for _ in range(jobs):
        created = api.post("/api/generation-jobs", BODY, format="json").json()
        ProviderBatch.objects.create(batch_job_id=created["id"], provider_batch_id=created["id"])

    # The session, its user, the page of jobs with their settings, their provider batches.
    with django_assert_num_queries(4):
        listed = api.get("/api/batch-jobs").json()["data"]

    assert [len(row["generation"]["providerBatches"]) for row in listed] == [1] * jobs


def test_a_budget_finer_than_a_nanodollar_is_rounded_down(api, with_key):
    created = api.post("/api/generation-jobs", {**BODY, "budgetUsd": 5.0000000019}, format="json")

    assert created.status_code == 201, created.json()
    assert BatchJob.objects.get().generation.budget_usd == Decimal("5.000000001")


@pytest.mark.parametrize("field", ["personaKeys", "templateName", "model"])
def test_text_with_nul_is_refused_before_it_reaches_the_database(api, with_key, field):
    value = ["gig\x00juggler"] if field == "personaKeys" else "x\x00y"

    response = api.post("/api/generation-jobs/preview", {**BODY, field: value}, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]
