"""A job of thousands of items, fed through the API, finished and auto-enriched: the moment
its run completes, its page and its status say so (counts are kept with the outcomes, so
no number is shown as current that is not)."""

import pytest
from rest_framework.test import APIClient

from conversations.models import BatchJob
from enrichment.models import EnrichmentRun
from tests.factories import conversation_document
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db

ITEMS = 2_100  # above the 2,000 that a request once recounted itself
PER_CALL = 100


def test_a_finished_job_of_thousands_is_counted_right_the_moment_its_run_completes(
    client, user, media_root, relaxed_throttles
):
    api = APIClient()
    api.force_login(user)
    job_id = api.post("/api/batch-jobs", {"name": "Big run"}, format="json").json()["id"]
    for start in range(0, ITEMS, PER_CALL):
        items = [
            {"conversation": conversation_document(session_context=f"Case {n}.")}
            for n in range(start, min(start + PER_CALL, ITEMS))
        ]
        response = api.post(f"/api/batch-jobs/{job_id}/items", {"items": items}, format="json")
        assert response.status_code == 200, response.json()
    # Received, not enriched yet: that is what the status says, and it is true.
    before = api.get(f"/api/conversations/batch/{job_id}/status").json()["enrichment"]
    assert (before["conversations"], before["completed"], before["notEnriched"]) == (
        ITEMS,
        0,
        ITEMS,
    )

    assert api.post(f"/api/batch-jobs/{job_id}/complete").status_code == 200
    run_jobs()

    run = EnrichmentRun.objects.get(batch_job_id=job_id)
    assert (run.status, run.enriched, run.failed) == ("completed", ITEMS, 0)
    status = api.get(f"/api/conversations/batch/{job_id}/status").json()["enrichment"]
    assert status == {
        "conversations": ITEMS,
        "completed": ITEMS,
        "failed": 0,
        "notEnriched": 0,
    }
    job = BatchJob.objects.get(pk=job_id)
    assert (job.conversations_total, job.conversations_enriched) == (ITEMS, ITEMS)
    client.force_login(user)
    page = client.get(f"/batch-jobs/{job_id}/").content.decode()
    assert "not enriched yet" not in page
    assert f"{ITEMS:,}" in page or str(ITEMS) in page
