import uuid

import pytest

from enrichment.models import EnrichmentRun, RunStatus
from enrichment.runs import lanes
from tests.factories import (
    BatchItemFactory,
    BatchJobFactory,
    ConversationFactory,
    EnrichmentRunFactory,
    UserFactory,
    a_run,
)

pytestmark = pytest.mark.django_db

URL = "/api/enrichment-runs"


def test_starting_a_run_by_ids_answers_202_with_the_run(api, user):
    conversations = [ConversationFactory(created_by=user) for _ in range(3)]

    response = api.post(
        URL, {"conversationIds": [str(c.conversation_id) for c in conversations]}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    run = EnrichmentRun.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/enrichment-runs/{run.pk}"
    assert body["url"] == f"/api/enrichment-runs/{run.pk}"
    assert (body["status"], body["total"], body["processed"]) == ("queued", 3, 0)
    assert (body["enriched"], body["failed"], body["skipped"]) == (0, 0, 0)
    assert body["source"] == "api"
    assert run.created_by == user
    assert list(run.items.order_by("position").values_list("conversation_id", flat=True)) == [
        c.pk for c in conversations
    ]


def test_a_run_may_hold_more_than_the_bulk_limit(api, user):
    ids = [str(ConversationFactory(created_by=user, document=None).pk) for _ in range(150)]

    response = api.post(URL, {"conversationIds": ids}, format="json")

    assert response.status_code == 202
    assert response.json()["total"] == 150


def test_starting_a_run_for_a_batch_job_takes_its_completed_items(api, user):
    job = BatchJobFactory(created_by=user)
    done = BatchItemFactory(batch_job=job, status="completed")
    BatchItemFactory(batch_job=job, status="failed")

    response = api.post(URL, {"batchJobId": str(job.pk)}, format="json")

    assert response.status_code == 202
    body = response.json()
    run = EnrichmentRun.objects.get(pk=body["id"])
    assert run.batch_job_id == job.pk
    assert body["scope"] == {"kind": "batchJob", "id": str(job.pk)}
    assert body["description"] == f"Batch job “{job.name}”"
    assert list(run.items.values_list("conversation_id", flat=True)) == [done.conversation_id]


def test_starting_a_run_by_status(api, user):
    failed = ConversationFactory(created_by=user, enrichment_status="validation_failed")
    ConversationFactory(created_by=user)

    response = api.post(URL, {"status": "validation_failed"}, format="json")

    run = EnrichmentRun.objects.get(pk=response.json()["id"])
    assert list(run.items.values_list("conversation_id", flat=True)) == [failed.pk]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"conversationIds": [str(uuid.uuid4())], "status": "completed"},
        {"status": "done"},
        {"conversationIds": []},
        {"force": "yes", "status": "completed"},
    ],
)
def test_a_bad_run_request_is_400(api, body):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid request"


def test_an_empty_selection_is_409(api):
    response = api.post(URL, {"status": "validation_failed"}, format="json")

    assert response.status_code == 409
    assert response.json() == {
        "success": False,
        "error": "There are no conversations to enrich.",
        "code": "conflict",
    }


def test_another_users_ids_or_job_are_404(api):
    stranger = UserFactory()
    theirs = ConversationFactory(created_by=stranger, document=None)
    job = BatchJobFactory(created_by=stranger)

    by_ids = api.post(URL, {"conversationIds": [str(theirs.pk)]}, format="json")
    by_job = api.post(URL, {"batchJobId": str(job.pk)}, format="json")

    assert by_ids.status_code == 404
    assert by_ids.json()["missing"] == [str(theirs.pk)]
    assert by_job.status_code == 404
    assert EnrichmentRun.objects.count() == 0


def test_progress_of_a_processed_run(api, user):
    conversations = [ConversationFactory(created_by=user) for _ in range(2)]
    run = a_run([c.pk for c in conversations], user=user, source="api")
    lanes.process_run(run.pk)

    response = api.get(f"{URL}/{run.pk}")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "completed"
    assert body["processed"] == body["enriched"] + body["failed"] + body["skipped"] == 2
    assert body["progressPercent"] == 100
    assert body["etaSeconds"] is None


def test_run_items_list_failures_with_reasons(api, user):
    bad = ConversationFactory(created_by=user, document=b"{")
    run = a_run([bad.pk], user=user, source="api")
    lanes.process_run(run.pk)

    response = api.get(f"{URL}/{run.pk}/items?outcome=failed")

    [item] = response.json()["data"]
    assert item["conversationId"] == str(bad.conversation_id)
    assert item["outcome"] == "failed"
    assert item["errorCategory"] == "validation"
    assert item["error"].startswith("Validation failed: INVALID_JSON_SYNTAX")


def test_cancel_a_queued_run_then_cancel_again_is_409(api, user):
    run = a_run([ConversationFactory(created_by=user).pk], user=user, source="api")

    first = api.post(f"{URL}/{run.pk}/cancel")
    second = api.post(f"{URL}/{run.pk}/cancel")

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert second.status_code == 409
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert lanes.process_run(run.pk) == "finished"
    assert run.items.filter(outcome="pending").count() == 1


def test_retry_failed_answers_202_with_the_new_run(api, user):
    good = ConversationFactory(created_by=user)
    bad = ConversationFactory(created_by=user, document=b"{")
    run = a_run([good.pk, bad.pk], user=user, source="api")
    lanes.process_run(run.pk)

    response = api.post(f"{URL}/{run.pk}/retry-failed")

    assert response.status_code == 202
    assert response.json()["retryOf"] == str(run.pk)
    assert response.json()["total"] == 1


def test_another_users_run_is_404(api):
    run = a_run([ConversationFactory(document=None).pk], user=UserFactory(), source="api")

    assert api.get(f"{URL}/{run.pk}").status_code == 404
    assert api.post(f"{URL}/{run.pk}/cancel").status_code == 404
    assert api.post(f"{URL}/{run.pk}/retry-failed").status_code == 404
    assert api.get(f"{URL}/{run.pk}/items").status_code == 404


# Listing ---------------------------------------------------------------------------------


def test_listing_runs_shows_your_own_newest_first(api, user):
    older = EnrichmentRunFactory(created_by=user)
    newer = EnrichmentRunFactory(created_by=user)
    EnrichmentRunFactory(created_by=UserFactory())

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert [run["id"] for run in body["data"]] == [str(newer.pk), str(older.pk)]
    assert body["data"][0]["url"] == f"/api/enrichment-runs/{newer.pk}"
    assert body["pagination"] == {"limit": 50, "offset": 0, "nextOffset": None}


def test_staff_list_every_run_and_filter_by_status(staff_api):
    cancelled = EnrichmentRunFactory(status=RunStatus.CANCELLED)
    EnrichmentRunFactory(status=RunStatus.QUEUED)

    everyone = staff_api.get(URL).json()["data"]
    filtered = staff_api.get(URL, {"status": "cancelled"}).json()["data"]

    assert len(everyone) == 2
    assert [run["id"] for run in filtered] == [str(cancelled.pk)]


def test_listing_runs_refuses_an_unknown_status(api):
    response = api.get(URL, {"status": "done"})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "status": ["Must be one of: queued, running, completed, cancelled, failed."]
    }


def test_listing_runs_needs_credentials(client):
    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
