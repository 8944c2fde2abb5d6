"""A person's cancel and resume on a real worker process, against the fake provider: they
take effect at once, not at the job's next poll (here an hour away)."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from conversations.imports import import_scaffolding
from conversations.models import BatchJob
from devtools.demo.generator import scaffolding_paths
from generation.models import ProviderBatch
from tests.factories import UserFactory
from tests.jobs import queued
from tests.workers import wait_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.worker,
    pytest.mark.e2e,
]

BODY = {
    "name": "Slow poll",
    "personaKeys": ["gig_juggler", "late_starter"],
    "emotionalArcKeys": ["dread_to_relief"],
    "trainingTopicKeys": ["freelancer_quarterly_taxes"],
    "maxTokens": 8000,
    "mode": "batch",
}
# The worker's step looks at open batches once an hour: longer than any test waits.
HOURLY = {"GENERATION_POLL_SECONDS": "3600"}


@pytest.fixture(autouse=True)
def scaffolding(settings):
    settings.GENERATION_PRICES = {}
    import_scaffolding(scaffolding_paths())


def test_cancel_reaches_the_provider_at_once_on_a_worker(workers, fake_anthropic):
    fake_anthropic.configure(batch_polls=1_000_000)
    api = APIClient()
    api.force_login(UserFactory())
    workers.start(env=HOURLY)
    response = api.post("/api/generation-jobs", BODY, format="json")
    assert response.status_code == 201, response.json()
    job = BatchJob.objects.get(pk=response.json()["id"])
    wait_for(
        lambda: ProviderBatch.objects.filter(batch_job=job, status="in_progress").exists(),
        timeout=120,
        what="the provider batch to be submitted",
    )
    (batch,) = fake_anthropic.batches()
    # The step that sent it has queued the next one, an hour ahead.
    wait_for(
        lambda: (
            queued("advance_generation_job", job_id=str(job.pk))
            .filter(scheduled_at__gt=timezone.now())
            .exists()
        ),
        timeout=120,
        what="the job's next step to be queued",
    )

    assert api.post(f"/api/batch-jobs/{job.pk}/cancel").status_code == 200

    cancel = f"/v1/messages/batches/{batch['id']}/cancel"
    wait_for(
        lambda: any(r["path"] == cancel for r in fake_anthropic.requests()),
        timeout=120,
        what="the provider's batch to be cancelled (the next poll is an hour away)",
    )
    assert [r["path"] for r in fake_anthropic.requests()].count(cancel) == 1
