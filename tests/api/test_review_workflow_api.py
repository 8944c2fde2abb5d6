"""Issue 24's "Done when" through the API alone: a queue of a few hundred conversations
made from the original's real scaffolding, with the real truncated reply among them;
review actions; a new revision for the truncated one and one for a conversation sent back
for revision, each enriched again by the background run and back in the queue with its
history kept; approvals; an approved-only training file whose v4 metadata counts the
human-reviewed members."""

import json

import pytest

from conversations.models import ReviewStatus
from tests.jobs import run_jobs
from tests.review.workflow import seed_queue

pytestmark = pytest.mark.django_db

QUEUE = "/api/review/queue"
COUNT = 300


def _conversation(api, conversation, tail: str = "enrich") -> dict:
    response = api.get(f"/api/conversations/{conversation.conversation_id}/{tail}")
    assert response.status_code == 200, response.json()
    return response.json()


def _review(api, row_id: str, action: str, **fields):
    return api.post(
        f"/api/conversations/{row_id}/review", {"action": action, **fields}, format="json"
    )


def test_a_reviewer_works_through_the_queue_repairs_and_builds_an_approved_only_file(
    api, user, shared_data, tmp_path, relaxed_throttles
):
    seeded = seed_queue(shared_data, user, tmp_path, count=COUNT)
    truncated = seeded.truncated
    assert _conversation(api, truncated)["enrichmentStatus"] == "validation_failed"

    # The queue: every enriched conversation waits, the truncated one is not among them.
    listed = api.get(QUEUE, {"limit": 500})
    assert listed.status_code == 200, listed.json()
    body = listed.json()
    assert body["statistics"]["pending"] == COUNT
    queue = [row["id"] for row in body["data"]]
    assert len(queue) == COUNT
    assert str(truncated.pk) not in queue
    assert {row["reviewStatus"] for row in body["data"]} == {"pending_review"}

    # Review actions: two approved, one rejected with reasons, one sent back for revision.
    approved = queue[:2]
    for row_id in approved:
        response = _review(api, row_id, "approved", expectedStatus="pending_review")
        assert response.status_code == 200, response.json()
        assert response.json()["reviewStatus"] == "approved"
        assert response.json()["approvedBy"] == user.get_username()
    rejected = _review(
        api, queue[2], "rejected", comment="Lectures the client.", reasons=["tone", "other"]
    )
    assert rejected.status_code == 200, rejected.json()
    assert rejected.json()["reviewHistory"][0]["reasons"] == ["tone", "other"]
    sent_back = _review(api, queue[3], "revision_requested", reasons=["accuracy"])
    assert sent_back.json()["reviewStatus"] == "needs_revision"
    statistics = api.get(QUEUE).json()["statistics"]
    assert (statistics["pending"], statistics["approved"]) == (COUNT - 4, 2)
    assert (statistics["rejected"], statistics["needsRevision"]) == (1, 1)

    # Repair: the truncated reply replaced by the corrected document, and the one sent
    # back edited (its first turn reworded): each a new revision, enriched in the background.
    corrected = json.loads(seeded.corrected_text)
    replaced = api.post(
        f"/api/conversations/{truncated.conversation_id}/revisions?source=replace",
        corrected,
        format="json",
    )
    assert replaced.status_code == 201, replaced.json()
    assert replaced.json()["revision"]["number"] == 2
    revised = next(c for c in seeded.conversations if str(c.pk) == queue[3])
    raw = api.get(f"/api/conversations/{revised.conversation_id}/revisions/1/raw")
    document = json.loads(b"".join(raw.streaming_content))
    document["turns"][0]["content"] = "I want to start over, and get the numbers right."
    edited = api.post(
        f"/api/conversations/{revised.conversation_id}/revisions", document, format="json"
    )
    assert edited.status_code == 201, edited.json()
    for run_id in (replaced.json()["runId"], edited.json()["runId"]):
        assert api.get(f"/api/enrichment-runs/{run_id}").json()["status"] == "queued"

    run_jobs()

    fixed = _conversation(api, truncated)
    assert fixed["enrichmentStatus"] == "completed", fixed
    assert (fixed["revision"], fixed["reviewStatus"]) == (2, "pending_review")
    report = _conversation(api, truncated, "validation-report")
    assert report["validationReport"]["blockers"] == [], report
    again = _conversation(api, revised)
    assert (again["revision"], again["reviewStatus"]) == (2, "pending_review")
    # Its history is kept: the request for a revision, then the return to the queue.
    assert [a["action"] for a in again["reviewHistory"]] == [
        "moved_to_review",
        "revision_requested",
    ]
    assert again["reviewHistory"][1]["reasons"] == ["accuracy"]
    # Every revision is kept and downloads as it was stored.
    revisions = _conversation(api, truncated, "revisions")["data"]
    assert [(r["number"], r["source"]) for r in revisions] == [(1, "intake"), (2, "replace")]
    first = api.get(f"/api/conversations/{truncated.conversation_id}/revisions/1/raw")
    assert b"".join(first.streaming_content).decode() == seeded.truncated_text
    pending = [row["id"] for row in api.get(QUEUE, {"sort": "-age", "limit": 2}).json()["data"]]
    assert set(pending) == {str(truncated.pk), str(revised.pk)}
    assert api.get(QUEUE).json()["statistics"]["pending"] == COUNT - 4 + 2

    for row_id in (str(truncated.pk), str(revised.pk)):
        response = _review(api, row_id, "approved", expectedStatus="pending_review")
        assert response.status_code == 200, response.json()
    approved += [str(truncated.pk), str(revised.pk)]

    # An approved-only training file of the batch job: the approved members only.
    created = api.post(
        "/api/training-files",
        {"name": "Reviewed", "approvedOnly": True, "batchJobId": str(seeded.batch_job.pk)},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["leftOut"] == COUNT + 1 - len(approved)
    file_id = created.json()["trainingFile"]["id"]
    download = api.get(f"/api/training-files/{file_id}/download", {"format": "json"})
    assert download.status_code == 200
    v4 = json.loads(b"".join(download.streaming_content))
    metadata = v4["training_file_metadata"]
    summary = metadata["quality_summary"]
    assert metadata["total_conversations"] == len(approved)
    assert summary["human_reviewed_count"] == len(approved)
    assert summary["human_reviewed_percentage"] == 100
    members = {
        entry["conversation_metadata"]["conversation_id"]: entry["conversation_metadata"]
        for entry in v4["conversations"]
    }
    approved_ids = {
        str(c.conversation_id) for c in [*seeded.conversations, truncated] if str(c.pk) in approved
    }
    assert set(members) == approved_ids
    assert str(truncated.conversation_id) in members
    assert {m["review_status"] for m in members.values()} == {ReviewStatus.APPROVED}
