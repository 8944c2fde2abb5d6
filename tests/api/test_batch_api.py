import uuid

import pytest

from conversations.models import BatchItemStatus
from tests.factories import BatchItemFactory, BatchJobFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_job(user, statuses):
    job = BatchJobFactory(created_by=user, total_items=len(statuses))
    items = [
        BatchItemFactory(batch_job=job, position=n, status=status)
        for n, status in enumerate(statuses, start=1)
    ]
    return job, items


def test_batch_items_lists_items_in_position_order_with_a_summary(api, user):
    job, items = make_job(
        user, [BatchItemStatus.COMPLETED, BatchItemStatus.FAILED, BatchItemStatus.COMPLETED]
    )
    items[1].error_message = "model timed out"
    items[1].conversation = None
    items[1].save()

    response = api.get(f"/api/conversations/batch/{job.pk}/items")

    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["jobId"] == str(job.pk)
    assert body["summary"] == {
        "total": 3,
        "completed": 2,
        "failed": 1,
        "cancelled": 0,
        "queued": 0,
        "processing": 0,
    }
    assert [row["position"] for row in body["data"]] == [1, 2, 3]
    assert body["data"][0]["conversation_id"] == str(items[0].conversation.pk)
    assert body["data"][0]["conversation_business_id"] == str(items[0].conversation.conversation_id)
    assert body["data"][0]["enrichment_status"] == "not_started"
    assert body["data"][1]["conversation_id"] is None
    assert body["data"][1]["error_message"] == "model timed out"
    assert body["pagination"] == {"limit": 500, "offset": 0, "nextOffset": None}


def test_batch_items_filters_by_status(api, user):
    job, _ = make_job(user, [BatchItemStatus.COMPLETED, BatchItemStatus.FAILED])

    response = api.get(f"/api/conversations/batch/{job.pk}/items?status=failed")

    assert [row["position"] for row in response.json()["data"]] == [2]
    assert response.json()["summary"]["total"] == 2


def test_batch_items_rejects_an_unknown_status_filter(api, user):
    job, _ = make_job(user, [BatchItemStatus.COMPLETED])

    response = api.get(f"/api/conversations/batch/{job.pk}/items?status=done")

    assert response.status_code == 400
    assert "status" in response.json()["details"]


def test_batch_items_pages_with_limit_and_offset(api, user):
    job, _ = make_job(user, [BatchItemStatus.COMPLETED] * 5)

    first = api.get(f"/api/conversations/batch/{job.pk}/items?limit=2")
    last = api.get(f"/api/conversations/batch/{job.pk}/items?limit=2&offset=4")
    bad = api.get(f"/api/conversations/batch/{job.pk}/items?limit=5000")

    assert [row["position"] for row in first.json()["data"]] == [1, 2]
    assert first.json()["pagination"]["nextOffset"] == 2
    assert [row["position"] for row in last.json()["data"]] == [5]
    assert last.json()["pagination"]["nextOffset"] is None
    assert bad.status_code == 400


@pytest.mark.parametrize("count", [1, 3])
def test_batch_items_query_count_does_not_grow_with_items(
    api, user, count, django_assert_num_queries
):
    job, _ = make_job(user, [BatchItemStatus.COMPLETED] * count)

    # session + user + job + page of items (conversation joined) + summary aggregate
    with django_assert_num_queries(5):
        response = api.get(f"/api/conversations/batch/{job.pk}/items")

    assert len(response.json()["data"]) == count


def test_another_users_batch_job_is_404(api):
    job, _ = make_job(UserFactory(), [BatchItemStatus.COMPLETED])

    items = api.get(f"/api/conversations/batch/{job.pk}/items")
    status = api.get(f"/api/conversations/batch/{job.pk}/status")
    unknown = api.get(f"/api/conversations/batch/{uuid.uuid4()}/status")

    assert (items.status_code, status.status_code, unknown.status_code) == (404, 404, 404)


def test_batch_status_reports_progress_and_enrichment_counts(api, user):
    job, items = make_job(user, [BatchItemStatus.COMPLETED] * 3)
    job.completed_items = job.successful_items = 3
    job.save()
    api.post(f"/api/conversations/{items[0].conversation.pk}/enrich")

    response = api.get(f"/api/conversations/batch/{job.pk}/status")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "completed"
    assert (body["totalItems"], body["completedItems"], body["remainingItems"]) == (3, 3, 0)
    assert body["progressPercent"] == 100
    assert body["enrichment"] == {
        "conversations": 3,
        "completed": 1,
        "failed": 0,
        "notEnriched": 2,
    }
