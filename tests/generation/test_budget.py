"""Raising a generation job's budget when resuming, and a person's cancel or resume that
takes effect at once, not at the next poll: against the fake provider through the SDK,
the job's steps run as the workers run them."""

from decimal import Decimal

import pytest
from django.utils import timezone
from procrastinate.contrib.django.models import ProcrastinateJob
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchItemStatus, BatchJob, BatchJobStatus
from devtools.demo.generator import scaffolding_paths
from generation import batches
from generation.accounting import usd
from generation.models import GenerationSettings
from generation.providers import get_provider
from tests.factories import UserFactory
from tests.generation.test_control import BODY, create, mark
from tests.jobs import queued, run_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    settings.GENERATION_POLL_SECONDS = 0
    import_scaffolding(scaffolding_paths())


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(username="dana"))
    return client


def resume(api, job, body=None):
    return api.post(f"/api/batch-jobs/{job.pk}/resume", body, format="json")


def settings_of(job) -> GenerationSettings:
    return GenerationSettings.objects.get(batch_job=job)


def budget_paused(api, fake_anthropic) -> BatchJob:
    """A job whose budget (its estimate) its first batch used up too far: the two items
    that succeeded wrote long conversations, the two others errored, and their new
    attempts would pass the budget."""
    fake_anthropic.configure(batch_polls=0)
    preview = api.post("/api/generation-jobs/preview", BODY, format="json").json()
    job = create(api, budgetUsd=preview["estimate"]["costUsd"])
    mark(job, [1, 2], "[[fake:turns=45]]")
    mark(job, [3, 4], "[[fake:errored-once]]")
    run_jobs()
    return job


def test_a_job_paused_for_its_budget_runs_to_its_end_once_the_budget_is_raised(api, fake_anthropic):
    job = budget_paused(api, fake_anthropic)
    settings = settings_of(job)
    spent, budget = settings.cost_usd, settings.budget_usd
    assert settings.paused_reason.startswith(f"Budget reached: {usd(spent)} USD spent of")
    assert list(job.items.order_by("position").values_list("status", flat=True)) == [
        BatchItemStatus.COMPLETED,
        BatchItemStatus.COMPLETED,
        BatchItemStatus.QUEUED,
        BatchItemStatus.QUEUED,
    ]
    assert len(fake_anthropic.batches()) == 1
    # Resuming without a new budget only pauses it again at the next submission.
    assert resume(api, job).json()["changed"] is True
    run_jobs()
    assert settings_of(job).paused_reason.startswith("Budget reached")
    assert len(fake_anthropic.batches()) == 1

    response = resume(api, job, {"budgetUsd": 0.2})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["changed"] is True
    assert body["message"].startswith("Budget: 0.2 USD. Resumed (it was paused: Budget reached")
    assert body["job"]["generation"]["budgetUsd"] == 0.2
    assert body["job"]["generation"]["pausedReason"] is None
    run_jobs()
    job.refresh_from_db()
    settings = settings_of(job)
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 4)
    assert len(fake_anthropic.batches()) == 2
    # The estimate of the next requests passed the old budget (it counts on long answers);
    # what they cost is within the new one.
    assert spent < settings.cost_usd <= Decimal("0.2")
    assert settings.budget_usd == Decimal("0.2") != budget


def test_a_budget_below_what_was_spent_is_refused_naming_the_amount(api, fake_anthropic):
    job = budget_paused(api, fake_anthropic)
    before = settings_of(job)

    refused = resume(api, job, {"budgetUsd": 0.01})

    assert refused.status_code == 400, refused.json()
    body = refused.json()
    assert body["code"] == "budget_below_cost" and body["success"] is False
    assert body["costUsd"] == float(before.cost_usd)
    assert f"below the {usd(before.cost_usd)} USD this job has spent" in body["error"]
    after = settings_of(job)
    assert (after.budget_usd, after.paused_reason) == (before.budget_usd, before.paused_reason)
    assert not queued("advance_generation_job", job_id=str(job.pk)).exists()
    # Exactly what was spent is enough to resume on (it pauses again at once).
    exact = resume(api, job, {"budgetUsd": float(before.cost_usd)})
    assert exact.status_code == 200, exact.json()


@pytest.mark.parametrize(
    "body",
    [{"budgetUsd": "1"}, {"budgetUsd": -1}, {"budgetUsd": True}, {"budget": 1}, [1]],
)
def test_a_bad_resume_body_is_refused_and_changes_nothing(api, fake_anthropic, body):
    job = create(api)
    api.post(f"/api/batch-jobs/{job.pk}/pause")

    refused = resume(api, job, body)

    assert refused.status_code == 400, refused.json()
    assert refused.json()["success"] is False
    settings = settings_of(job)
    assert settings.paused_reason == "Paused by dana." and settings.budget_usd is None


def test_null_removes_the_budget_and_a_running_job_takes_a_new_one(api, fake_anthropic):
    fake_anthropic.configure(batch_polls=0)
    job = create(api, budgetUsd=1)

    raised = resume(api, job, {"budgetUsd": 2.5})

    # Not paused: the budget changes all the same, and the job runs on.
    assert raised.status_code == 200, raised.json()
    assert raised.json()["changed"] is True
    assert raised.json()["message"] == "Budget: 2.5 USD. The job was not paused."
    assert settings_of(job).budget_usd == Decimal("2.5")
    assert resume(api, job).json()["changed"] is False
    removed = resume(api, job, {"budgetUsd": None})
    assert removed.json()["job"]["generation"]["budgetUsd"] is None
    assert removed.json()["message"].startswith("No budget any more.")
    run_jobs()
    job.refresh_from_db()
    assert job.status == BatchJobStatus.COMPLETED


def test_cancel_reaches_the_provider_without_waiting_for_the_next_poll(
    api, fake_anthropic, settings
):
    settings.GENERATION_POLL_SECONDS = 3600
    fake_anthropic.configure(batch_polls=100)
    job = create(api)
    run_jobs()
    (batch,) = fake_anthropic.batches()
    # The job's next step waits an hour: running what is due runs nothing.
    (waiting,) = queued("advance_generation_job", job_id=str(job.pk))
    assert waiting.scheduled_at > timezone.now()
    assert run_jobs() == []

    assert api.post(f"/api/batch-jobs/{job.pk}/cancel").status_code == 200
    ran = run_jobs()

    assert ran and ran[0].endswith("advance_generation_job")
    cancels = [r["path"] for r in fake_anthropic.requests() if r["path"].endswith("/cancel")]
    assert cancels == [f"/v1/messages/batches/{batch['id']}/cancel"]
    # The waiting step was replaced, not joined by a second one.
    assert not ProcrastinateJob.objects.filter(pk=waiting.pk).exists()
    assert queued("advance_generation_job", job_id=str(job.pk)).count() <= 1


def test_resume_sends_at_once_while_a_step_waits_for_the_next_poll(api, fake_anthropic, settings):
    settings.GENERATION_POLL_SECONDS = 3600
    fake_anthropic.configure(batch_polls=100)
    job = create(api)
    mark(job, [3, 4], "[[fake:errored]]")
    provider = get_provider()
    first, second = batches.submit(job.pk, provider, max_requests=2)
    fake_anthropic.end(second.provider_batch_id)
    batches.poll(second.pk, provider)
    api.post(f"/api/batch-jobs/{job.pk}/pause")
    # The step polls the first batch (still open) and waits an hour; nothing is sent.
    run_jobs()
    (waiting,) = queued("advance_generation_job", job_id=str(job.pk))
    assert waiting.scheduled_at > timezone.now()
    assert len(fake_anthropic.batches()) == 2

    assert resume(api, job).status_code == 200
    run_jobs()

    # The two new attempts went at once, in a third batch.
    assert len(fake_anthropic.batches()) == 3
    assert queued("advance_generation_job", job_id=str(job.pk)).count() == 1


def test_a_realtime_job_stops_before_its_budget_and_goes_on_once_raised(api, fake_anthropic):
    preview = api.post("/api/generation-jobs/preview", {**BODY, "mode": "realtime"}, format="json")
    per_call = Decimal(str(preview.json()["estimate"]["costUsdRealtime"])) / 4
    job = create(api, mode="realtime")
    mark(job, [1, 2, 3, 4], "[[fake:turns=45]]")  # long answers: each costs near its most
    budget = (per_call * Decimal("1.5")).quantize(Decimal("0.000001"))
    GenerationSettings.objects.filter(batch_job=job).update(budget_usd=budget)

    for _ in range(20):
        run_jobs()
        if settings_of(job).paused_reason:
            break

    settings = settings_of(job)
    assert settings.paused_reason.startswith("Budget reached"), settings.paused_reason
    assert settings.cost_usd <= budget  # never passed: a call is sent only if it fits
    waiting = job.items.filter(status=BatchItemStatus.QUEUED).count()
    assert waiting >= 2
    sent = [r for r in fake_anthropic.requests() if r["path"] == "/v1/messages"]
    assert len(sent) == 4 - waiting

    assert resume(api, job, {"budgetUsd": None}).status_code == 200
    for _ in range(20):
        run_jobs()
        job.refresh_from_db()
        if job.is_finished:
            break
    assert (job.status, job.successful_items) == (BatchJobStatus.COMPLETED, 4)
